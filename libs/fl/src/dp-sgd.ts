// Record-level DP inside the silo: DP-SGD (Abadi et al. 2016, "Deep Learning with Differential Privacy", Alg. 1)
// with Poisson sampling, whose privacy the sampled-Gaussian RDP accountant (accountant.ts) bounds.
import { randomFillSync } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FlError, assertArg } from './errors.js';
import { perSampleLoss } from './loss.js';
import type { BuiltModel } from './model.js';
import { GaussianSampler, type UniformSource } from './rng.js';

export interface RecordDpOptions {
  /** σ: the noise std on the summed clipped gradients is σ·C. */
  readonly noiseMultiplier: number;
  /** C: every example's gradient is clipped to L2 norm ≤ C. */
  readonly clipNorm: number;
  /** Seeds batch sampling and noise — tests only: seeded noise and sampling are not private. */
  readonly seed?: number | string;
}

/**
 * Poisson sampling (Abadi et al. 2016 §3.1 "lot" of expected size qN; the accountant's sampled Gaussian assumes
 * exactly this): each index enters independently with probability q. The batch may be empty.
 */
export function poissonSample(n: number, sampleRate: number, uniform: UniformSource): Uint32Array {
  assertArg(Number.isInteger(n) && n >= 0, 'n must be a non-negative integer');
  assertArg(sampleRate >= 0 && sampleRate <= 1, 'sampleRate must be in [0, 1]');
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (uniform.nextFloat() < sampleRate) out.push(i);
  return Uint32Array.from(out);
}

/** True when every trainable layer is dense, so the per-example norm trick applies (no per-example gradients). */
export function supportsNormTrick(built: BuiltModel): boolean {
  return built.spec.layers.every((l) => l.type !== 'conv2d' && l.type !== 'batchNormalization');
}

export function assertRecordDpModel(built: Pick<BuiltModel, 'spec'>): void {
  if (built.spec.layers.some((l) => l.type === 'batchNormalization'))
    throw new FlError(
      'INVALID_MODEL_SPEC',
      'record-level DP cannot train batchNormalization: batch statistics mix examples, so per-example clipping bounds nothing',
    );
}

export interface ClippedSum {
  /** Σ_i min(1, C/‖∇ℓ_i‖)·∇ℓ_i, one tensor per variable of `trainable` (same order). */
  readonly grads: tf.Tensor[];
  /** ‖∇ℓ_i‖₂ before clipping, per example. */
  readonly norms: tf.Tensor1D;
  /** Σ_i ℓ_i. */
  readonly lossSum: tf.Scalar;
}

/**
 * Sum of per-example clipped gradients of the cross-entropy over the batch (x, y). Dense-only models take the
 * per-example norm trick (Goodfellow 2015, "Efficient Per-Example Gradient Computations"): for a dense layer
 * z = a·W + b, ∇_W ℓ_i = a_iᵀ g_i with g_i = ∂ℓ_i/∂z_i, so ‖∇_W ℓ_i‖² = ‖a_i‖²·‖g_i‖² and ‖∇_b ℓ_i‖² = ‖g_i‖²;
 * one backward pass to the layer outputs gives every g_i, and the clipped sum is Σ_l a_lᵀ·(c ⊙ g_l) with
 * c_i = min(1, C/‖∇ℓ_i‖) — no per-example gradient is materialised. Other models (conv2d) materialise each
 * example's gradient (correct, slower). Call inside tf.tidy; `training` applies dropout.
 */
export function clippedGradientSum(
  built: BuiltModel,
  trainable: readonly tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor,
  clipNorm: number,
  probabilities: boolean,
  priorRatio?: tf.Tensor,
): ClippedSum {
  assertArg(Number.isFinite(clipNorm) && clipNorm > 0, 'clipNorm must be > 0');
  assertRecordDpModel(built);
  return supportsNormTrick(built)
    ? denseClippedSum(built, trainable, x, y, clipNorm, probabilities, priorRatio)
    : materialisedClippedSum(built, trainable, x, y, clipNorm, probabilities, priorRatio);
}

interface DenseStep {
  readonly layer: tfl.layers.Layer;
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly activation: tfl.layers.Layer | null;
  readonly units: number;
}

const activationLayers = new WeakMap<tfl.layers.Layer, tfl.layers.Layer | null>();

function denseSteps(built: BuiltModel): (DenseStep | tfl.layers.Layer)[] {
  return built.spec.layers.map((l, i) => {
    const layer = built.model.layers[i];
    if (l.type !== 'dense') return layer;
    const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    let activation = activationLayers.get(layer);
    if (activation === undefined) {
      const name = l.activation ?? 'linear';
      activation = name === 'linear' ? null : tfl.layers.activation({ activation: name });
      activationLayers.set(layer, activation);
    }
    return { layer, kernel, bias: bias ?? null, activation, units: l.units };
  });
}

function denseClippedSum(
  built: BuiltModel,
  trainable: readonly tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor,
  clipNorm: number,
  probabilities: boolean,
  priorRatio?: tf.Tensor,
): ClippedSum {
  const steps = denseSteps(built);
  const batch = x.shape[0];
  const dense = steps.filter((s): s is DenseStep => 'kernel' in s);
  // e_l = 0 added to each dense pre-activation: ∂(Σℓ)/∂e_l is the matrix of per-example output gradients g_l.
  const probes = dense.map((s) => tf.zeros([batch, s.units]));
  const inputs: tf.Tensor[] = [];
  const forward = (...es: tf.Tensor[]): tf.Scalar => {
    let a = x;
    let d = 0;
    for (const s of steps) {
      if ('kernel' in s) {
        inputs.push(a === x ? x : tf.keep(a)); // kept past the gradient tape's tidy; disposed below
        let z = tf.matMul(a, s.kernel);
        if (s.bias) z = tf.add(z, s.bias);
        z = tf.add(z, es[d++]);
        a = s.activation ? (s.activation.apply(z) as tf.Tensor) : z;
      } else a = s.apply(a, { training: true }) as tf.Tensor;
    }
    return tf.sum(perSampleLoss(a, y, probabilities, priorRatio));
  };
  const { value, grads: outGrads } = tf.valueAndGrads(forward)(probes);
  const sq = tf.addN(
    dense.map((s, l) => {
      const g2 = tf.sum(tf.square(outGrads[l]), 1);
      const a2 = tf.sum(tf.square(inputs[l]), 1);
      return s.bias ? tf.mul(g2, tf.add(a2, 1)) : tf.mul(g2, a2);
    }),
  );
  const norms = tf.sqrt(sq) as tf.Tensor1D;
  // c_i = C / max(‖∇ℓ_i‖, C) (Abadi et al. 2016, Alg. 1 "clip gradient").
  const scale = tf.reshape(tf.div(clipNorm, tf.maximum(norms, clipNorm)), [batch, 1]);
  const byVar = new Map<number, tf.Tensor>();
  dense.forEach((s, l) => {
    const g = tf.mul(outGrads[l], scale);
    byVar.set(s.kernel.id, tf.matMul(inputs[l], g, true, false));
    if (s.bias) byVar.set(s.bias.id, tf.sum(g, 0));
  });
  for (const a of inputs) if (a !== x) a.dispose();
  return { grads: collect(trainable, byVar), norms, lossSum: value };
}

function collect(trainable: readonly tf.Variable[], byVar: Map<number, tf.Tensor>): tf.Tensor[] {
  return trainable.map((v) => {
    const g = byVar.get(v.id);
    if (!g) throw new FlError('INVALID_MODEL_SPEC', `no per-example gradient for ${v.name}`);
    return g;
  });
}

function materialisedClippedSum(
  built: BuiltModel,
  trainable: readonly tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor,
  clipNorm: number,
  probabilities: boolean,
  priorRatio?: tf.Tensor,
): ClippedSum {
  const batch = x.shape[0];
  let sums: tf.Tensor[] = trainable.map((v) => tf.zerosLike(v));
  const norms: tf.Scalar[] = [];
  const losses: tf.Scalar[] = [];
  for (let i = 0; i < batch; i++) {
    const xi = tf.slice(x, i, 1);
    const yi = tf.slice(y, i, 1);
    const { value, grads } = tf.variableGrads(
      () =>
        tf.sum(perSampleLoss(built.model.apply(xi, { training: true }) as tf.Tensor, yi, probabilities, priorRatio)),
      trainable as tf.Variable[],
    );
    const list = trainable.map((v) => grads[v.name]);
    const norm = tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    const c = tf.div(clipNorm, tf.maximum(norm, clipNorm));
    sums = sums.map((s, k) => tf.add(s, tf.mul(list[k], c)));
    norms.push(norm);
    losses.push(value);
  }
  return {
    grads: sums,
    norms: batch ? (tf.stack(norms) as tf.Tensor1D) : tf.tensor1d([]),
    lossSum: batch ? tf.addN(losses) : tf.scalar(0),
  };
}

/**
 * A Float32Array of n draws of N(0, std²). From node:crypto by default, in bulk: Box–Muller (Box & Muller 1958) on
 * one 53-bit uniform for the radius and one 32-bit uniform for the angle (3 random words per pair; the per-draw
 * GaussianSampler spent ~10 ms per 50k draws, more than the DP-SGD step itself). A seeded `sampler` is for tests.
 */
export function gaussianNoise(n: number, std: number, sampler?: GaussianSampler): Float32Array {
  const out = new Float32Array(n);
  if (sampler) {
    for (let i = 0; i < n; i++) out[i] = std * sampler.next();
    return out;
  }
  const pairs = (n + 1) >> 1;
  const words = randomFillSync(new Uint32Array(3 * pairs));
  for (let p = 0; p < pairs; p++) {
    // u ∈ (0, 1]: never 0, so log(u) is finite.
    const u = ((words[3 * p] >>> 5) * 67108864 + (words[3 * p + 1] >>> 6) + 1) / 9007199254740992;
    const r = std * Math.sqrt(-2 * Math.log(u));
    const theta = (2 * Math.PI * words[3 * p + 2]) / 4294967296;
    out[2 * p] = r * Math.cos(theta);
    if (2 * p + 1 < n) out[2 * p + 1] = r * Math.sin(theta);
  }
  return out;
}
