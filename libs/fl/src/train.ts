// Local training (optionally FedProx) and federated evaluation on the owner's machine.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { withBackendFor } from './backend.js';
import { type LocalData, validateLocalData } from './data.js';
import { FlError, assertArg } from './errors.js';
import { perSampleLoss } from './loss.js';
import { type BuiltModel, buildModel, flattenWeights } from './model.js';
import {
  type RecordDpOptions,
  assertRecordDpModel,
  clippedGradientSum,
  gaussianNoise,
  poissonSample,
} from './dp-sgd.js';
import { CryptoUniform, GaussianSampler, SeededRng, permutation } from './rng.js';
import { type ModelSpec, outputsProbabilities, parseModelSpec } from './spec.js';

export type OptimizerName = 'sgd' | 'adam';

export interface TrainLocalOptions {
  readonly modelSpec: unknown;
  readonly globalWeights: Float32Array;
  readonly data: LocalData;
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerName;
  readonly learningRate: number;
  /** FedProx μ ≥ 0 (Li et al. 2020, "Federated Optimization in Heterogeneous Networks", eq. 2); 0 or absent: FedAvg. */
  readonly fedProxMu?: number;
  /**
   * Label shift between this owner and the federation, one figure per model output: r_c = π_local(c) / π_global(c)
   * (0 for a class the owner lacks). The loss is then the prior-corrected cross-entropy of loss.ts, so an owner's
   * own class mix is not learnt into the shared model. Absent: plain cross-entropy.
   */
  readonly labelPriorRatio?: readonly number[];
  /** Seeds the per-epoch shuffle and dropout masks. */
  readonly seed: number | string;
  /**
   * Record-level DP: DP-SGD with Poisson sampling at q = batchSize/rows, ⌈rows/batchSize⌉ steps per epoch,
   * per-example clipping to C and N(0, σ²C²) on each step's clipped sum (see dp-sgd.ts); `recordLevelEpsilon`
   * accounts for exactly this schedule.
   */
  readonly dp?: RecordDpOptions;
}

export interface TrainLocalResult {
  /** Δ = local − global, layout order. */
  readonly update: Float32Array;
  readonly numSamples: number;
  /** Mean loss (cross-entropy + proximal term) over the last epoch. */
  readonly loss: number;
  readonly metrics: {
    readonly epochLosses: readonly number[];
    readonly backend: string;
    readonly seconds: number;
    readonly samplesPerSecond: number;
    /** DP-SGD only: steps taken, sampling rate, and the fraction of sampled examples whose gradient was clipped. */
    readonly dp?: { readonly steps: number; readonly sampleRate: number; readonly clippedFraction: number };
  };
}

function checkShapes(spec: ModelSpec, outputSize: number, data: LocalData): number {
  const n = validateLocalData(data);
  const inputSize = spec.inputShape.reduce((a, b) => a * b, 1);
  if (data.numFeatures !== inputSize)
    throw new FlError('INVALID_DATA', `data has ${data.numFeatures} features, the model takes ${inputSize}`);
  if (data.numClasses !== outputSize)
    throw new FlError('INVALID_DATA', `data has ${data.numClasses} classes, the model outputs ${outputSize}`);
  return n;
}

function batchTensors(
  spec: ModelSpec,
  data: LocalData,
  order: Uint32Array,
  start: number,
  end: number,
): { x: tf.Tensor; y: tf.Tensor } {
  const d = data.numFeatures;
  const b = end - start;
  const xs = new Float32Array(b * d);
  const ys = new Int32Array(b);
  for (let j = 0; j < b; j++) {
    const i = order[start + j];
    xs.set(data.features.subarray(i * d, (i + 1) * d), j * d);
    ys[j] = data.labels[i];
  }
  const x = tf.tensor(xs, [b, ...spec.inputShape], 'float32');
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(ys, 'int32'), data.numClasses));
  return { x, y };
}

/**
 * The prior ratios as a Float32Array over `classes` outputs, or undefined when they are all 1 (the plain loss).
 * Refuses a wrong length, a negative or non-finite ratio, or no positive one.
 */
function priorRatio(ratio: readonly number[] | undefined, classes: number): Float32Array | undefined {
  if (ratio === undefined) return undefined;
  assertArg(
    ratio.length === classes && ratio.every((r) => Number.isFinite(r) && r >= 0) && ratio.some((r) => r > 0),
    `labelPriorRatio must be ${classes} finite ratios ≥ 0, one of them > 0`,
  );
  return ratio.every((r) => r === 1) ? undefined : Float32Array.from(ratio);
}

/**
 * Trains the spec's model from `globalWeights` on local data and returns the update. Minimises the mean
 * cross-entropy plus, when fedProxMu > 0, the proximal term (μ/2)·‖w − w_global‖² over trainable weights
 * (FedProx, Li et al. 2020, §3). Every tensor it makes is disposed before it returns.
 */
export async function trainLocal(options: TrainLocalOptions): Promise<TrainLocalResult> {
  const { epochs, batchSize, learningRate, seed } = options;
  const mu = options.fedProxMu ?? 0;
  assertArg(Number.isInteger(epochs) && epochs >= 1 && epochs <= 1000, 'epochs must be an integer in [1, 1000]');
  assertArg(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 65536, 'batchSize must be in [1, 65536]');
  assertArg(Number.isFinite(learningRate) && learningRate > 0 && learningRate <= 10, 'learningRate must be in (0, 10]');
  assertArg(Number.isFinite(mu) && mu >= 0, 'fedProxMu must be a finite number ≥ 0');
  assertArg(options.optimizer === 'sgd' || options.optimizer === 'adam', "optimizer must be 'sgd' or 'adam'");
  const { spec, layout } = parseModelSpec(options.modelSpec);
  const n = checkShapes(spec, layout.outputShape[0], options.data);
  if (n === 0) throw new FlError('INVALID_DATA', 'no training samples');
  const global = options.globalWeights;
  if (!(global instanceof Float32Array) || global.length !== layout.totalSize)
    throw new FlError('WEIGHTS_MISMATCH', `globalWeights must be a Float32Array of ${layout.totalSize}`);

  const ratio = priorRatio(options.labelPriorRatio, layout.outputShape[0]);
  const dp = options.dp;
  if (dp) {
    assertArg(Number.isFinite(dp.noiseMultiplier) && dp.noiseMultiplier >= 0, 'dp.noiseMultiplier must be ≥ 0');
    assertArg(Number.isFinite(dp.clipNorm) && dp.clipNorm > 0, 'dp.clipNorm must be > 0');
  }

  return withBackendFor(spec, async (backend) => {
    const started = performance.now();
    const built = buildModel(spec, { weights: global });
    if (dp) {
      try {
        assertRecordDpModel(built);
      } catch (e) {
        built.model.dispose();
        throw e;
      }
    }
    const optimizer: tf.Optimizer =
      options.optimizer === 'sgd' ? tf.train.sgd(learningRate) : tf.train.adam(learningRate);
    const trainableIdx = layout.entries.flatMap((e, k) => (e.trainable ? [k] : []));
    const trainable = trainableIdx.map((k) => built.variables[k].read() as tf.Variable);
    const anchors =
      mu > 0
        ? trainableIdx.map((k) => {
            const e = layout.entries[k];
            return tf.tensor(global.subarray(e.offset, e.offset + e.size), [...e.shape], 'float32');
          })
        : [];
    const dropouts = built.model.layers.filter((l) => l.getClassName() === 'Dropout');
    const probabilities = outputsProbabilities(spec);
    const ratioT = ratio && tf.tensor1d(ratio, 'float32');
    const rng = new SeededRng(seed, 'sealfold/fl/train');
    const epochLosses: number[] = [];
    const dpStats = { steps: 0, sampled: 0, clipped: 0 };
    try {
      if (dp) {
        // DP-SGD (Abadi et al. 2016, Alg. 1): Poisson lots of expected size L = qN, clipped per-example sum plus
        // N(0, σ²C²), divided by L. Sampling and noise draw from node:crypto unless a test seeds them.
        const uniform = dp.seed === undefined ? new CryptoUniform() : new SeededRng(dp.seed, 'sealfold/fl/dp-sgd');
        const sampler = dp.seed === undefined ? undefined : new GaussianSampler(uniform);
        const sampleRate = Math.min(1, batchSize / n);
        const expectedBatch = sampleRate * n;
        const stepsPerEpoch = Math.ceil(n / batchSize);
        const std = dp.noiseMultiplier * dp.clipNorm;
        for (let epoch = 0; epoch < epochs; epoch++) {
          let lossSum = 0;
          let seen = 0;
          for (let step = 0; step < stepsPerEpoch; step++) {
            const lot = poissonSample(n, sampleRate, uniform);
            for (const l of dropouts) (l as unknown as { seed?: number }).seed = rng.nextUint32();
            const noise = trainable.map((w) => gaussianNoise(w.size, std, sampler));
            const [lossT, clippedT] = tf.tidy(() => {
              let grads: tf.Tensor[];
              let lossT: tf.Scalar = tf.scalar(0);
              let clippedT: tf.Scalar = tf.scalar(0);
              if (lot.length > 0) {
                const { x, y } = batchTensors(spec, options.data, lot, 0, lot.length);
                const r = clippedGradientSum(built, trainable, x, y, dp.clipNorm, probabilities, ratioT);
                grads = r.grads;
                lossT = r.lossSum;
                clippedT = tf.sum(tf.cast(tf.greater(r.norms, dp.clipNorm), 'float32'));
              } else grads = trainable.map((w) => tf.zerosLike(w));
              const named = grads.map((g, k) => {
                let step = tf.div(tf.add(g, tf.tensor(noise[k], g.shape, 'float32')), expectedBatch);
                // The proximal term is data-independent: added after privatisation, it costs no privacy.
                if (mu > 0) step = tf.add(step, tf.mul(mu, tf.sub(trainable[k], anchors[k])));
                return { name: trainable[k].name, tensor: step };
              });
              optimizer.applyGradients(named);
              return [lossT, clippedT];
            });
            const batchLoss = lossT.dataSync()[0];
            dpStats.clipped += clippedT.dataSync()[0];
            lossT.dispose();
            clippedT.dispose();
            if (!Number.isFinite(batchLoss))
              throw new FlError('INVALID_ARGUMENT', 'training diverged (non-finite loss)');
            lossSum += batchLoss;
            seen += lot.length;
            dpStats.steps++;
            dpStats.sampled += lot.length;
          }
          epochLosses.push(seen > 0 ? lossSum / seen : NaN);
        }
      }
      for (let epoch = 0; epoch < (dp ? 0 : epochs); epoch++) {
        const order = permutation(n, rng);
        let lossSum = 0;
        for (let start = 0; start < n; start += batchSize) {
          const end = Math.min(n, start + batchSize);
          // tfjs Dropout draws its mask from its `seed` field; a fresh seed per step keeps masks reproducible
          // without repeating one mask every step.
          for (const l of dropouts) (l as unknown as { seed?: number }).seed = rng.nextUint32();
          const value = tf.tidy(() => {
            const { x, y } = batchTensors(spec, options.data, order, start, end);
            const { value: loss, grads } = tf.variableGrads(() => {
              const out = built.model.apply(x, { training: true }) as tf.Tensor;
              let total = tf.mean(perSampleLoss(out, y, probabilities, ratioT));
              if (mu > 0) {
                const prox = tf.addN(trainable.map((w, k) => tf.sum(tf.square(tf.sub(w, anchors[k])))));
                total = tf.add(total, tf.mul(mu / 2, prox));
              }
              return total as tf.Scalar;
            }, trainable);
            optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
            return loss;
          });
          const batchLoss = value.dataSync()[0];
          value.dispose();
          if (!Number.isFinite(batchLoss)) throw new FlError('INVALID_ARGUMENT', 'training diverged (non-finite loss)');
          lossSum += batchLoss * (end - start);
        }
        epochLosses.push(lossSum / n);
      }
      const local = flattenWeights(built);
      const update = new Float32Array(local.length);
      for (let i = 0; i < local.length; i++) update[i] = local[i] - global[i];
      const seconds = (performance.now() - started) / 1000;
      return {
        update,
        numSamples: n,
        loss: epochLosses[epochLosses.length - 1],
        metrics: {
          epochLosses,
          backend,
          seconds,
          samplesPerSecond: (n * epochs) / seconds,
          ...(dp
            ? {
                dp: {
                  steps: dpStats.steps,
                  sampleRate: Math.min(1, batchSize / n),
                  clippedFraction: dpStats.sampled ? dpStats.clipped / dpStats.sampled : 0,
                },
              }
            : {}),
        },
      };
    } finally {
      ratioT?.dispose();
      for (const a of anchors) a.dispose();
      optimizer.dispose();
      built.model.dispose();
    }
  });
}

/** Counts and sums only, so that owners' results can be added (e.g. through SecAgg+) before dividing. */
export interface EvalSums {
  readonly count: number;
  readonly correct: number;
  /** Sum of per-sample cross-entropy. */
  readonly lossSum: number;
}

/** Evaluates `weights` on local (held-out) data. */
export async function evaluateLocal(
  modelSpec: unknown,
  weights: Float32Array,
  data: LocalData,
  options: { batchSize?: number } = {},
): Promise<EvalSums> {
  const batchSize = options.batchSize ?? 256;
  assertArg(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 65536, 'batchSize must be in [1, 65536]');
  const { spec, layout } = parseModelSpec(modelSpec);
  const n = checkShapes(spec, layout.outputShape[0], data);
  return withBackendFor(spec, async () => {
    const built: BuiltModel = buildModel(spec, { weights });
    const probabilities = outputsProbabilities(spec);
    const order = new Uint32Array(n).map((_, i) => i);
    let correct = 0;
    let lossSum = 0;
    try {
      for (let start = 0; start < n; start += batchSize) {
        const end = Math.min(n, start + batchSize);
        const [c, l] = tf.tidy(() => {
          const { x, y } = batchTensors(spec, data, order, start, end);
          const out = (built.model as tfl.Sequential).predict(x) as tf.Tensor;
          const hits = tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), tf.argMax(y, -1)), 'float32'));
          return [hits, tf.sum(perSampleLoss(out, y, probabilities))];
        });
        correct += c.dataSync()[0];
        lossSum += l.dataSync()[0];
        c.dispose();
        l.dispose();
      }
    } finally {
      built.model.dispose();
    }
    return { count: n, correct, lossSum };
  });
}

/** Sums owners' EvalSums (or takes one already-summed value) and returns accuracy and mean loss. */
export function combineEval(sums: EvalSums | readonly EvalSums[]): { accuracy: number; loss: number; count: number } {
  const list = Array.isArray(sums) ? sums : [sums as EvalSums];
  let count = 0;
  let correct = 0;
  let lossSum = 0;
  for (const s of list) {
    assertArg(
      Number.isFinite(s.count) && s.count >= 0 && Number.isFinite(s.correct) && s.correct >= 0 && s.correct <= s.count,
      'eval sums must have 0 ≤ correct ≤ count',
    );
    assertArg(Number.isFinite(s.lossSum), 'lossSum must be finite');
    count += s.count;
    correct += s.correct;
    lossSum += s.lossSum;
  }
  assertArg(count > 0, 'no evaluated samples');
  return { accuracy: correct / count, loss: lossSum / count, count };
}

/**
 * Class probabilities of every row of `data` (labels ignored) under `weights`: row-major n × classes. A spec whose
 * last layer has no softmax outputs logits; they are turned into probabilities here.
 */
export async function predictLocal(
  modelSpec: unknown,
  weights: Float32Array,
  data: LocalData,
  options: { batchSize?: number } = {},
): Promise<Float32Array> {
  const batchSize = options.batchSize ?? 256;
  assertArg(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 65536, 'batchSize must be in [1, 65536]');
  const { spec, layout } = parseModelSpec(modelSpec);
  const classes = layout.outputShape[0];
  const n = checkShapes(spec, classes, data);
  return withBackendFor(spec, async () => {
    const built: BuiltModel = buildModel(spec, { weights });
    const probabilities = outputsProbabilities(spec);
    const order = new Uint32Array(n).map((_, i) => i);
    const out = new Float32Array(n * classes);
    try {
      for (let start = 0; start < n; start += batchSize) {
        const end = Math.min(n, start + batchSize);
        const p = tf.tidy(() => {
          const { x } = batchTensors(spec, data, order, start, end);
          const y = (built.model as tfl.Sequential).predict(x) as tf.Tensor;
          return probabilities ? y : tf.softmax(y);
        });
        out.set(p.dataSync(), start * classes);
        p.dispose();
      }
    } finally {
      built.model.dispose();
    }
    return out;
  });
}
