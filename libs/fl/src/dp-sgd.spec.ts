import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs-core';
import { loadIris, loadMnist } from '../test/datasets.js';
import { initBackend } from './backend.js';
import { clippedGradientSum, poissonSample } from './dp-sgd.js';
import { selectSamples, splitTrainValidation } from './data.js';
import { perSampleLoss } from './loss.js';
import { type BuiltModel, buildModel, initialWeights } from './model.js';
import { SeededRng } from './rng.js';
import { type ModelSpec, outputsProbabilities } from './spec.js';
import { fedAvgStep } from './strategy.js';
import { combineEval, evaluateLocal, trainLocal } from './train.js';

const denseSpec: ModelSpec = {
  inputShape: [4],
  layers: [
    { type: 'dense', units: 8, activation: 'tanh' },
    { type: 'dense', units: 5, activation: 'relu', useBias: false },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
};
const convSpec: ModelSpec = {
  inputShape: [4, 4, 1],
  layers: [
    { type: 'conv2d', filters: 2, kernelSize: 3, activation: 'relu' },
    { type: 'flatten' },
    { type: 'dense', units: 3 },
  ],
};

const trainableOf = (built: BuiltModel): tf.Variable[] =>
  built.layout.entries.flatMap((e, k) => (e.trainable ? [built.variables[k].read() as tf.Variable] : []));

/** Each example's gradient, materialised by differentiating its own loss (the reference the trick must match). */
function perExampleGrads(built: BuiltModel, x: tf.Tensor, y: tf.Tensor): Float32Array[][] {
  const trainable = trainableOf(built);
  const out: Float32Array[][] = [];
  for (let i = 0; i < x.shape[0]; i++) {
    const { grads } = tf.variableGrads(
      () =>
        tf.sum(
          perSampleLoss(
            built.model.apply(tf.slice(x, i, 1), { training: true }) as tf.Tensor,
            tf.slice(y, i, 1),
            outputsProbabilities(built.spec),
          ),
        ),
      trainable,
    );
    out.push(trainable.map((v) => grads[v.name].dataSync() as Float32Array));
    for (const g of Object.values(grads)) g.dispose();
  }
  return out;
}

const norm = (parts: Float32Array[]): number =>
  Math.sqrt(parts.reduce((s, p) => s + p.reduce((a, b) => a + b * b, 0), 0));

function checkAgainstMaterialised(spec: ModelSpec, x: tf.Tensor, y: tf.Tensor): void {
  const built = buildModel(spec, { seed: 3 });
  try {
    const reference = perExampleGrads(built, x, y);
    const refNorms = reference.map(norm);
    const clipNorm = [...refNorms].sort((a, b) => a - b)[refNorms.length >> 1]; // C at the median: half get clipped
    const { norms, sum } = tf.tidy(() => {
      const r = clippedGradientSum(built, trainableOf(built), x, y, clipNorm, outputsProbabilities(built.spec));
      return { norms: r.norms.arraySync(), sum: r.grads.map((g) => g.dataSync() as Float32Array) };
    });
    // Norms equal the materialised per-example gradient norms.
    norms.forEach((n, i) => expect(n).toBeCloseTo(refNorms[i], 4));
    // Some examples were clipped, some not, and every clipped contribution has norm ≤ C.
    expect(refNorms.some((n) => n > clipNorm)).toBe(true);
    expect(refNorms.some((n) => n < clipNorm)).toBe(true);
    const scales = refNorms.map((n) => Math.min(1, clipNorm / n));
    refNorms.forEach((n, i) => expect(n * scales[i]).toBeLessThanOrEqual(clipNorm * (1 + 1e-6)));
    // The sum equals Σ_i min(1, C/‖g_i‖)·g_i of the materialised gradients.
    sum.forEach((part, k) => {
      for (let j = 0; j < part.length; j++) {
        const want = reference.reduce((s, g, i) => s + scales[i] * g[k][j], 0);
        expect(part[j]).toBeCloseTo(want, 4);
      }
    });
  } finally {
    built.model.dispose();
  }
}

describe('DP-SGD (record-level DP in the silo)', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('dense models: per-example norms from ‖a‖·‖g‖ (plus bias) equal materialised per-example gradients, and the clipped sum matches', () => {
    const iris = loadIris();
    const x = tf.tensor2d(iris.features.subarray(0, 12 * 4), [12, 4]);
    const y = tf.oneHot(tf.tensor1d(iris.labels.subarray(0, 12), 'int32'), 3);
    checkAgainstMaterialised(denseSpec, x, y);
    tf.dispose([x, y]);
  });

  it('conv models: materialised per-example clipping is correct too', async () => {
    await initBackend({ prefer: 'cpu' }); // the wasm backend has no conv gradients
    try {
      const rng = new SeededRng(4);
      const xs = Float32Array.from({ length: 6 * 16 }, () => rng.nextFloat());
      const x = tf.tensor4d(xs, [6, 4, 4, 1]);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
      checkAgainstMaterialised(convSpec, x, y);
      tf.dispose([x, y]);
    } finally {
      await initBackend({ prefer: 'wasm' });
    }
  });

  it('Poisson sampling includes each row with probability q (mean and variance of the lot size)', () => {
    const rng = new SeededRng('poisson');
    const sizes = Array.from({ length: 400 }, () => poissonSample(1000, 0.05, rng).length);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    const variance = sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / (sizes.length - 1);
    expect(Math.abs(mean - 50)).toBeLessThan(1.5);
    expect(variance / (1000 * 0.05 * 0.95)).toBeGreaterThan(0.8);
    expect(variance / (1000 * 0.05 * 0.95)).toBeLessThan(1.2);
    expect(poissonSample(10, 0, rng).length).toBe(0);
    expect(poissonSample(10, 1, rng).length).toBe(10);
  });

  it('adds N(0, σ²C²) to each step’s clipped sum, divided by the expected batch size', async () => {
    const spec: ModelSpec = {
      inputShape: [784],
      layers: [
        { type: 'dense', units: 32, activation: 'relu' },
        { type: 'dense', units: 10 },
      ],
    };
    const data = loadMnist(10, 0); // 100 rows, one step at q = 1
    const clipNorm = 0.01;
    const sigma = 50;
    const r = await trainLocal({
      modelSpec: spec,
      globalWeights: initialWeights(spec, 1),
      data,
      epochs: 1,
      batchSize: 100,
      optimizer: 'sgd',
      learningRate: 1,
      seed: 1,
      dp: { noiseMultiplier: sigma, clipNorm },
    });
    expect(r.metrics.dp).toMatchObject({ steps: 1, sampleRate: 1 });
    // update = −lr·(clipped sum + noise)/100; the clipped sum has norm ≤ 100·C, far below the noise.
    const scaled = Array.from(r.update, (u) => -u * 100);
    const mean = scaled.reduce((a, b) => a + b, 0) / scaled.length;
    const std = Math.sqrt(scaled.reduce((a, b) => a + (b - mean) ** 2, 0) / (scaled.length - 1));
    expect(std / (sigma * clipNorm)).toBeGreaterThan(0.98);
    expect(std / (sigma * clipNorm)).toBeLessThan(1.02);
    expect(Math.abs(mean)).toBeLessThan(0.05 * sigma * clipNorm);
  });

  it('learns iris under record-level DP (σ = 0.8, C = 1) and refuses batch normalisation', async () => {
    const iris = loadIris();
    const split = splitTrainValidation(iris.labels.length, { validationFraction: 0.2, seed: 'owner-iris' });
    const train = selectSamples(iris, split.train);
    const val = selectSamples(iris, split.validation);
    const spec: ModelSpec = {
      inputShape: [4],
      layers: [
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
    };
    const w0 = initialWeights(spec, 7);
    const r = await trainLocal({
      modelSpec: spec,
      globalWeights: w0,
      data: train,
      epochs: 30,
      batchSize: 24,
      optimizer: 'adam',
      learningRate: 0.03,
      seed: 1,
      dp: { noiseMultiplier: 0.8, clipNorm: 1, seed: 'iris-dp' },
    });
    expect(r.metrics.dp!.steps).toBe(30 * 5);
    const after = combineEval(await evaluateLocal(spec, fedAvgStep(w0, r.update, 1), val));
    expect(after.accuracy).toBeGreaterThanOrEqual(0.8);
    const bn: ModelSpec = { inputShape: [4], layers: [{ type: 'batchNormalization' }, { type: 'dense', units: 3 }] };
    await expect(
      trainLocal({
        modelSpec: bn,
        globalWeights: initialWeights(bn, 1),
        data: train,
        epochs: 1,
        batchSize: 24,
        optimizer: 'sgd',
        learningRate: 0.1,
        seed: 1,
        dp: { noiseMultiplier: 1, clipNorm: 1 },
      }),
    ).rejects.toThrow('batch statistics mix examples');
  });
});
