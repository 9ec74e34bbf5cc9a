import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs-core';
import { loadIris, loadMnist } from '../test/datasets.js';
import { createRequire } from 'node:module';
import { initBackend, missingKernels } from './backend.js';
import { selectSamples, splitTrainValidation } from './data.js';
import { l2Norm } from './dp.js';
import { FlError } from './errors.js';
import { initialWeights } from './model.js';
import { type ModelSpec, parseModelSpec } from './spec.js';
import { fedAvgStep } from './strategy.js';
import { combineEval, evaluateLocal, trainLocal } from './train.js';

const irisSpec: ModelSpec = {
  inputShape: [4],
  layers: [
    { type: 'dense', units: 16, activation: 'relu' },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
};
const mnistSpec: ModelSpec = {
  inputShape: [784],
  layers: [
    { type: 'dense', units: 32, activation: 'relu' },
    { type: 'dropout', rate: 0.1 },
    { type: 'dense', units: 10 },
  ],
};

const iris = loadIris();
const irisSplit = splitTrainValidation(iris.labels.length, { validationFraction: 0.2, seed: 'owner-iris' });
const irisTrain = selectSamples(iris, irisSplit.train);
const irisVal = selectSamples(iris, irisSplit.validation);

/** tfjs-node is an optional dependency whose install fails where libtensorflow cannot be downloaded (as here). */
const hasTfjsNode = ((): boolean => {
  try {
    createRequire(`${process.cwd()}/`).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();
const expectedBackend = hasTfjsNode ? 'tensorflow' : 'wasm';

describe('backend', () => {
  it('selects tfjs-node when installed, else wasm with SIMD, and reports why', async () => {
    const info = await initBackend();
    expect(info.name).toBe(expectedBackend);
    if (!hasTfjsNode) {
      expect(info.simd).toBe(true);
      expect(info.reason).toContain('unavailable: tensorflow (');
    }
    expect(tf.getBackend()).toBe(expectedBackend);
  });

  it('honours a preference and keeps its choice until another is preferred', async () => {
    expect((await initBackend({ prefer: 'cpu' })).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect((await initBackend()).name).toBe('cpu'); // idempotent without a preference
    expect((await initBackend({ prefer: expectedBackend })).name).toBe(expectedBackend);
  });
});

describe('trainLocal', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('reduces loss and reaches high accuracy on iris', async () => {
    const w0 = initialWeights(irisSpec, 7);
    const before = combineEval(await evaluateLocal(irisSpec, w0, irisVal));
    const r = await trainLocal({
      modelSpec: irisSpec,
      globalWeights: w0,
      data: irisTrain,
      epochs: 25,
      batchSize: 24,
      optimizer: 'adam',
      learningRate: 0.03,
      seed: 1,
    });
    expect(r.numSamples).toBe(120);
    expect(r.metrics.epochLosses[24]).toBeLessThan(r.metrics.epochLosses[0] / 3);
    const after = combineEval(await evaluateLocal(irisSpec, fedAvgStep(w0, r.update, 1), irisVal));
    expect(after.loss).toBeLessThan(before.loss / 3);
    expect(after.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(after.count).toBe(30);
  });

  it('learns MNIST digits from a few hundred samples (held-out accuracy far above chance)', async () => {
    const train = loadMnist(40, 0); // 400 images
    const test = loadMnist(20, 500); // 200 other images
    const w0 = initialWeights(mnistSpec, 3);
    const before = combineEval(await evaluateLocal(mnistSpec, w0, test));
    const r = await trainLocal({
      modelSpec: mnistSpec,
      globalWeights: w0,
      data: train,
      epochs: 5,
      batchSize: 32,
      optimizer: 'sgd',
      learningRate: 0.1,
      seed: 2,
    });
    expect(r.metrics.backend).toBe(expectedBackend);
    expect(r.loss).toBeLessThan(r.metrics.epochLosses[0]);
    const after = combineEval(await evaluateLocal(mnistSpec, fedAvgStep(w0, r.update, 1), test));
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.accuracy).toBeGreaterThan(0.6);
  });

  it('is deterministic from its seed (shuffle and dropout masks), and another seed differs', async () => {
    const data = loadMnist(8, 0);
    const opts = {
      modelSpec: mnistSpec,
      globalWeights: initialWeights(mnistSpec, 5),
      data,
      epochs: 2,
      batchSize: 16,
      optimizer: 'adam' as const,
      learningRate: 0.01,
      seed: 'job-1/owner-a/round-3',
    };
    const a = await trainLocal(opts);
    const b = await trainLocal(opts);
    const c = await trainLocal({ ...opts, seed: 'job-1/owner-a/round-4' });
    expect(Buffer.from(a.update.buffer).equals(Buffer.from(b.update.buffer))).toBe(true);
    expect(a.loss).toBe(b.loss);
    expect(Buffer.from(a.update.buffer).equals(Buffer.from(c.update.buffer))).toBe(false);
  });

  it('FedProx μ pulls the local model towards the global one', async () => {
    const base = {
      modelSpec: irisSpec,
      globalWeights: initialWeights(irisSpec, 9),
      data: irisTrain,
      epochs: 10,
      batchSize: 16,
      optimizer: 'sgd' as const,
      learningRate: 0.1,
      seed: 4,
    };
    const plain = await trainLocal(base);
    const prox = await trainLocal({ ...base, fedProxMu: 1 });
    expect(l2Norm(prox.update)).toBeLessThan(0.8 * l2Norm(plain.update));
  });

  it('labelPriorRatio: an owner lacking a class leaves that class’s outputs alone (FedRS/logit adjustment); plain CE pushes them down', async () => {
    // The owner holds setosa and versicolor only; the job has three classes.
    const held = Uint32Array.from(Array.from(irisTrain.labels).flatMap((l, i) => (l === 2 ? [] : [i])));
    const data = selectSamples(irisTrain, held);
    const logitsSpec: ModelSpec = { ...irisSpec, layers: [irisSpec.layers[0], { type: 'dense', units: 3 }] };
    for (const spec of [irisSpec, logitsSpec]) {
      const { layout } = parseModelSpec(spec);
      const [, , kernel, bias] = layout.entries;
      const lacked = (u: Float32Array) => [
        ...Array.from({ length: 16 }, (_, i) => u[kernel.offset + i * 3 + 2]),
        u[bias.offset + 2],
      ];
      const base = {
        modelSpec: spec,
        globalWeights: initialWeights(spec, 3),
        data,
        epochs: 3,
        batchSize: 16,
        optimizer: 'adam' as const,
        learningRate: 0.05,
        seed: 5,
      };
      const plain = await trainLocal(base);
      expect(plain.update[bias.offset + 2]).toBeLessThan(-0.05); // plain CE: "virginica is rare"
      const shifted = await trainLocal({ ...base, labelPriorRatio: [1.4, 1.6, 0] });
      // Zero in exact arithmetic; float rounding in the softmax backward pass, scaled up by Adam, leaves ~1 % of it.
      const moved = (u: Float32Array) => Math.max(...lacked(u).map(Math.abs));
      expect(moved(shifted.update)).toBeLessThan(0.02 * moved(plain.update));
      expect(l2Norm(shifted.update)).toBeGreaterThan(0);
      // DP-SGD (σ = 0 here, to see the gradient alone): the same loss, per example.
      const dp = await trainLocal({
        ...base,
        labelPriorRatio: [1, 1, 0],
        dp: { noiseMultiplier: 0, clipNorm: 1, seed: 1 },
      });
      expect(moved(dp.update)).toBeLessThan(0.02 * moved(plain.update));
    }
    await expect(
      trainLocal({
        ...{
          modelSpec: irisSpec,
          globalWeights: initialWeights(irisSpec, 3),
          data,
          epochs: 1,
          batchSize: 16,
          optimizer: 'adam' as const,
          learningRate: 0.05,
          seed: 5,
        },
        labelPriorRatio: [1, 1],
      }),
    ).rejects.toThrow(/labelPriorRatio must be 3/);
  });

  it('leaks no tensors across rounds', async () => {
    const data = loadMnist(4, 0);
    let w = initialWeights(mnistSpec, 1);
    const round = async (seed: number) => {
      const r = await trainLocal({
        modelSpec: mnistSpec,
        globalWeights: w,
        data,
        epochs: 1,
        batchSize: 8,
        optimizer: 'adam',
        learningRate: 0.01,
        seed,
      });
      w = fedAvgStep(w, r.update, 1);
      await evaluateLocal(mnistSpec, w, data);
    };
    await round(0);
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let s = 1; s <= 3; s++) await round(s);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numBytes).toBe(bytes);
  });

  it('trains conv models on cpu when the backend lacks conv gradient kernels (wasm), then switches back', async () => {
    const convSpec: ModelSpec = {
      inputShape: [28, 28, 1],
      layers: [
        { type: 'conv2d', filters: 2, kernelSize: 3, strides: 2, activation: 'relu' },
        { type: 'maxPooling2d', poolSize: 2 },
        { type: 'batchNormalization' },
        { type: 'flatten' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ],
    };
    const data = loadMnist(3, 0);
    const r = await trainLocal({
      modelSpec: convSpec,
      globalWeights: initialWeights(convSpec, 1),
      data,
      epochs: 2,
      batchSize: 10,
      optimizer: 'adam',
      learningRate: 0.03,
      seed: 1,
    });
    const convBackend = missingKernels(parseModelSpec(convSpec).spec, expectedBackend).length ? 'cpu' : expectedBackend;
    if (!hasTfjsNode) expect(convBackend).toBe('cpu'); // wasm lacks Conv2DBackpropFilter
    expect(r.metrics.backend).toBe(convBackend);
    expect(r.loss).toBeLessThan(r.metrics.epochLosses[0]);
    // batch-norm moving statistics (non-trainable) moved during training and are part of the update
    expect(l2Norm(r.update)).toBeGreaterThan(0);
    expect(tf.getBackend()).toBe(convBackend);
    await trainLocal({
      modelSpec: irisSpec,
      globalWeights: initialWeights(irisSpec, 1),
      data: irisTrain,
      epochs: 1,
      batchSize: 32,
      optimizer: 'sgd',
      learningRate: 0.1,
      seed: 1,
    });
    expect(tf.getBackend()).toBe(expectedBackend);
  });

  it('refuses data that does not fit the model', async () => {
    const base = {
      modelSpec: irisSpec,
      globalWeights: initialWeights(irisSpec, 1),
      data: irisTrain,
      epochs: 1,
      batchSize: 8,
      optimizer: 'sgd' as const,
      learningRate: 0.1,
      seed: 1,
    };
    await expect(trainLocal({ ...base, data: loadMnist(1, 0) })).rejects.toThrow(FlError);
    await expect(trainLocal({ ...base, globalWeights: new Float32Array(3) })).rejects.toThrow('WEIGHTS_MISMATCH');
    const badLabels = { ...irisTrain, labels: irisTrain.labels.map((l) => l + 3) };
    await expect(trainLocal({ ...base, data: badLabels })).rejects.toThrow('INVALID_DATA');
    await expect(trainLocal({ ...base, epochs: 0 })).rejects.toThrow('INVALID_ARGUMENT');
  });
});

describe('federated evaluation', () => {
  it('sums counts across owners and divides once', async () => {
    await initBackend();
    const w = initialWeights(irisSpec, 2);
    const halves = [
      selectSamples(
        iris,
        Array.from({ length: 75 }, (_, i) => i),
      ),
      selectSamples(
        iris,
        Array.from({ length: 75 }, (_, i) => i + 75),
      ),
    ];
    const parts = await Promise.all(halves.map((h) => evaluateLocal(irisSpec, w, h)));
    const whole = await evaluateLocal(irisSpec, w, iris);
    const combined = combineEval(parts);
    expect(combined.count).toBe(150);
    expect(combined.accuracy).toBeCloseTo(whole.correct / 150, 10);
    expect(combined.loss).toBeCloseTo(whole.lossSum / 150, 4);
    expect(combineEval({ count: 4, correct: 3, lossSum: 2 })).toEqual({ accuracy: 0.75, loss: 0.5, count: 4 });
    expect(() => combineEval({ count: 2, correct: 3, lossSum: 0 })).toThrow(FlError);
    expect(() => combineEval([])).toThrow(FlError);
  });
});
