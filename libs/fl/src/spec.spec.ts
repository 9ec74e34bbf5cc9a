import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { FlError } from './errors.js';
import { MODEL_LIMITS, canonicalJson, modelSpecHash, parseModelSpec, weightLayout } from './spec.js';

const mlp = {
  inputShape: [784],
  layers: [
    { type: 'dense', units: 32, activation: 'relu' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};
const cnn = {
  inputShape: [28, 28, 1],
  layers: [
    { type: 'conv2d', filters: 8, kernelSize: 3, activation: 'relu' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'batchNormalization' },
    { type: 'conv2d', filters: 4, kernelSize: [3, 3], strides: 2, padding: 'same' },
    { type: 'activation', activation: 'relu' },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 10 },
  ],
};

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof FlError) return e.code;
    throw e;
  }
  return 'ok';
};

describe('model spec', () => {
  it('computes the layout of an MLP by hand', () => {
    const { entries, totalSize, outputShape } = weightLayout(mlp);
    expect(entries.map((e) => [e.name, e.shape, e.offset])).toEqual([
      ['l0_dense/kernel', [784, 32], 0],
      ['l0_dense/bias', [32], 25088],
      ['l1_dense/kernel', [32, 10], 25120],
      ['l1_dense/bias', [10], 25440],
    ]);
    expect(totalSize).toBe(25450);
    expect(outputShape).toEqual([10]);
  });

  it('infers conv, pooling and batch-norm shapes', () => {
    // 28→26 (3x3 valid) →13 (pool 2) ; 13→7 (3x3 stride 2 same); 7·7·4 = 196
    const { entries, totalSize } = weightLayout(cnn);
    const shapes = Object.fromEntries(entries.map((e) => [e.name, e.shape]));
    expect(shapes['l0_conv2d/kernel']).toEqual([3, 3, 1, 8]);
    expect(shapes['l2_batchNormalization/moving_variance']).toEqual([8]);
    expect(shapes['l3_conv2d/kernel']).toEqual([3, 3, 8, 4]);
    expect(shapes['l7_dense/kernel']).toEqual([196, 10]);
    expect(totalSize).toBe(72 + 8 + 4 * 8 + 288 + 4 + 1960 + 10);
    expect(entries.filter((e) => !e.trainable).map((e) => e.name)).toEqual([
      'l2_batchNormalization/moving_mean',
      'l2_batchNormalization/moving_variance',
    ]);
  });

  it.each([
    ['unknown layer type', { inputShape: [4], layers: [{ type: 'lstm', units: 3 }] }, 'INVALID_MODEL_SPEC'],
    [
      'unknown key',
      { inputShape: [4], layers: [{ type: 'dense', units: 3, kernelInitializer: 'x' }] },
      'INVALID_MODEL_SPEC',
    ],
    [
      'unknown activation',
      { inputShape: [4], layers: [{ type: 'dense', units: 3, activation: 'gelu2' }] },
      'INVALID_MODEL_SPEC',
    ],
    ['no layers', { inputShape: [4], layers: [] }, 'INVALID_MODEL_SPEC'],
    ['fractional units', { inputShape: [4], layers: [{ type: 'dense', units: 2.5 }] }, 'INVALID_MODEL_SPEC'],
    [
      'too many units',
      { inputShape: [4], layers: [{ type: 'dense', units: MODEL_LIMITS.maxUnits + 1 }] },
      'INVALID_MODEL_SPEC',
    ],
    ['dropout rate 1', { inputShape: [4], layers: [{ type: 'dropout', rate: 1 }] }, 'INVALID_MODEL_SPEC'],
    ['dense on an image', { inputShape: [8, 8, 1], layers: [{ type: 'dense', units: 3 }] }, 'INVALID_MODEL_SPEC'],
    [
      'conv on a vector',
      { inputShape: [64], layers: [{ type: 'conv2d', filters: 2, kernelSize: 3 }] },
      'INVALID_MODEL_SPEC',
    ],
    [
      'kernel larger than input',
      { inputShape: [2, 2, 1], layers: [{ type: 'conv2d', filters: 2, kernelSize: 3 }, { type: 'flatten' }] },
      'INVALID_MODEL_SPEC',
    ],
    [
      'image output',
      { inputShape: [8, 8, 1], layers: [{ type: 'conv2d', filters: 2, kernelSize: 3 }] },
      'INVALID_MODEL_SPEC',
    ],
    [
      'too many layers',
      {
        inputShape: [4],
        layers: Array.from({ length: MODEL_LIMITS.maxLayers + 1 }, () => ({ type: 'dense', units: 4 })),
      },
      'INVALID_MODEL_SPEC',
    ],
    ['too many parameters', { inputShape: [4096], layers: [{ type: 'dense', units: 4096 }] }, 'MODEL_LIMIT_EXCEEDED'],
    ['input too large', { inputShape: [1000, 1000, 3], layers: [{ type: 'flatten' }] }, 'MODEL_LIMIT_EXCEEDED'],
    ['not an object', 'dense', 'INVALID_MODEL_SPEC'],
  ])('rejects %s', (_name, spec, expected) => {
    expect(code(() => parseModelSpec(spec))).toBe(expected);
  });

  it('accepts the valid specs', () => {
    expect(code(() => parseModelSpec(mlp))).toBe('ok');
    expect(code(() => parseModelSpec(cnn))).toBe('ok');
  });
});

describe('modelSpecHash', () => {
  it('is SHA-256 of RFC 8785 canonical JSON', () => {
    const json = canonicalJson(mlp);
    expect(json).toBe(
      '{"inputShape":[784],"layers":[{"activation":"relu","type":"dense","units":32},{"activation":"softmax","type":"dense","units":10}]}',
    );
    expect(modelSpecHash(mlp)).toBe(`0x${createHash('sha256').update(json).digest('hex')}`);
  });

  it('ignores key order and changes with any field', () => {
    const reordered = {
      layers: mlp.layers.map((l) => Object.fromEntries(Object.entries(l).reverse())),
      inputShape: [784],
    };
    expect(modelSpecHash(reordered)).toBe(modelSpecHash(mlp));
    const changed = { ...mlp, layers: [mlp.layers[0], { ...mlp.layers[1], units: 11 }] };
    expect(modelSpecHash(changed)).not.toBe(modelSpecHash(mlp));
    expect(modelSpecHash(mlp)).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('refuses to hash an invalid spec', () => {
    expect(code(() => modelSpecHash({ inputShape: [4], layers: [{ type: 'lstm' }] }))).toBe('INVALID_MODEL_SPEC');
  });
});
