import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { initBackend } from './backend.js';
import { buildModel, flattenWeights, initialWeights, setFlatWeights } from './model.js';
import { weightLayout } from './spec.js';

// Batch-norm before the dense layer: tfjs lists non-trainable weights last, the layout keeps layer order.
const spec = {
  inputShape: [6, 6, 2],
  layers: [
    { type: 'conv2d', filters: 3, kernelSize: 3 },
    { type: 'batchNormalization' },
    { type: 'flatten' },
    { type: 'dense', units: 5, activation: 'relu' },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
};

describe('initialWeights', () => {
  it('is a pure function of the seed', () => {
    const a = initialWeights(spec, 42);
    expect(Buffer.from(a.buffer).equals(Buffer.from(initialWeights(spec, 42).buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(initialWeights(spec, 43).buffer))).toBe(false);
    expect(Buffer.from(a.buffer).equals(Buffer.from(initialWeights(spec, '42').buffer))).toBe(true);
  });

  it('fills kernels Glorot-uniform within ±√(6/(fanIn+fanOut)) and biases/BN stats with 0/1', () => {
    const w = initialWeights(spec, 1);
    for (const e of weightLayout(spec).entries) {
      const v = w.subarray(e.offset, e.offset + e.size);
      if (e.init === 'glorotUniform') {
        const limit = Math.sqrt(6 / (e.fanIn + e.fanOut));
        expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(limit);
        expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(limit * 0.8);
        const mean = v.reduce((s, x) => s + x, 0) / v.length;
        expect(Math.abs(mean)).toBeLessThan(limit / 3);
      } else expect([...new Set(v)]).toEqual([e.init === 'ones' ? 1 : 0]);
    }
  });
});

describe('flat weights', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  it('loads and reads back any weight vector in layout order, across repeated builds', () => {
    const n = weightLayout(spec).totalSize;
    fc.assert(
      fc.property(fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true }), (w) => {
        const built = buildModel(spec, { weights: w });
        try {
          expect(Buffer.from(flattenWeights(built).buffer).equals(Buffer.from(w.buffer))).toBe(true);
        } finally {
          built.model.dispose();
        }
      }),
      { numRuns: 10 },
    );
  });

  it('maps each layout entry to the tfjs variable of that name and shape', () => {
    const built = buildModel(spec, { seed: 3 });
    try {
      const names = built.variables.map((v) => v.originalName);
      expect(names).toEqual(built.layout.entries.map((e) => e.name));
      const w = initialWeights(spec, 4);
      setFlatWeights(built, w);
      const gamma = built.layout.entries.find((e) => e.name === 'l1_batchNormalization/gamma')!;
      const v = built.variables[built.layout.entries.indexOf(gamma)];
      expect([...v.read().dataSync()]).toEqual([...w.subarray(gamma.offset, gamma.offset + gamma.size)]);
    } finally {
      built.model.dispose();
    }
  });

  it('refuses vectors of the wrong size or with non-finite values', () => {
    const built = buildModel(spec, { seed: 3 });
    try {
      expect(() => setFlatWeights(built, new Float32Array(5))).toThrow('WEIGHTS_MISMATCH');
      const w = initialWeights(spec, 1);
      w[7] = NaN;
      expect(() => setFlatWeights(built, w)).toThrow('not finite');
    } finally {
      built.model.dispose();
    }
  });
});
