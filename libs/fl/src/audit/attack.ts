// Membership-inference attacks an owner runs against a released model with its own rows: the loss-threshold attack
// (Yeom et al. 2018, "Privacy Risk in Machine Learning", §3.2) and offline LiRA (Carlini et al. 2022, "Membership
// Inference Attacks From First Principles", §IV-C), with shadow models trained by trainLocal on halves of the rows.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { withBackendFor } from '../backend.js';
import { type LocalData, selectSamples, validateLocalData } from '../data.js';
import { FlError, assertArg } from '../errors.js';
import { perSampleLoss } from '../loss.js';
import { buildModel, initialWeights } from '../model.js';
import { SeededRng, permutation } from '../rng.js';
import { outputsProbabilities, parseModelSpec } from '../spec.js';
import { type TrainLocalOptions, trainLocal } from '../train.js';
import {
  type AucResult,
  type EpsilonLowerBound,
  type TprAtFpr,
  aucWithCi,
  empiricalEpsilonLowerBound,
  tprAtFpr,
} from './stats.js';

const EPS = 1e-7;

export interface MembershipSignals {
  /** Per-example cross-entropy (the training loss, loss.ts). */
  readonly loss: Float64Array;
  /**
   * Per-example logit-scaled confidence φ = log(p_y / (1 − p_y)) = z_y − log Σ_{j≠y} e^{z_j} (Carlini et al. 2022,
   * §IV-B: the logit makes the confidence approximately Gaussian across models).
   */
  readonly logitConfidence: Float64Array;
}

/** The model's loss and logit-scaled confidence on every row of `data`, in row order. */
export async function membershipSignals(
  modelSpec: unknown,
  weights: Float32Array,
  data: LocalData,
  options: { batchSize?: number } = {},
): Promise<MembershipSignals> {
  const batchSize = options.batchSize ?? 256;
  const { spec, layout } = parseModelSpec(modelSpec);
  const n = validateLocalData(data);
  const inputSize = spec.inputShape.reduce((a, b) => a * b, 1);
  if (data.numFeatures !== inputSize || data.numClasses !== layout.outputShape[0])
    throw new FlError(
      'INVALID_DATA',
      `the model maps ${inputSize} features to ${layout.outputShape[0]} classes; the data has ${data.numFeatures} features and ${data.numClasses} classes`,
    );
  const probabilities = outputsProbabilities(spec);
  return withBackendFor(spec, async () => {
    const built = buildModel(spec, { weights });
    const loss = new Float64Array(n);
    const logitConfidence = new Float64Array(n);
    try {
      for (let start = 0; start < n; start += batchSize) {
        const end = Math.min(n, start + batchSize);
        const [l, c] = tf.tidy(() => {
          const x = tf.tensor(
            data.features.subarray(start * data.numFeatures, end * data.numFeatures),
            [end - start, ...spec.inputShape],
            'float32',
          );
          const y = tf.oneHot(tf.tensor1d(data.labels.subarray(start, end), 'int32'), data.numClasses);
          const out = (built.model as tfl.Sequential).predict(x) as tf.Tensor;
          const logP = probabilities ? tf.log(tf.clipByValue(out, EPS, 1)) : tf.logSoftmax(out);
          const own = tf.sum(tf.mul(y, logP), -1);
          // log Σ_{j≠y} p_j: the true class masked to −∞ before the log-sum-exp.
          const others = tf.logSumExp(tf.where(tf.cast(y, 'bool'), tf.fill(logP.shape, -Infinity), logP), -1);
          return [perSampleLoss(out, y, probabilities), tf.sub(own, others)];
        });
        loss.set(l.dataSync(), start);
        logitConfidence.set(c.dataSync(), start);
        l.dispose();
        c.dispose();
      }
    } finally {
      built.model.dispose();
    }
    return { loss, logitConfidence };
  });
}

/** Training settings of the shadow models: the target's, as far as the owner knows them (trainLocal options). */
export type ShadowTraining = Pick<TrainLocalOptions, 'epochs' | 'batchSize' | 'optimizer' | 'learningRate' | 'dp'>;

export interface OfflineLiraResult {
  /** Per-row score (φ − μ_out)/σ_out: monotone in LiRA's one-sided likelihood Φ((φ − μ_out)/σ_out). */
  readonly scores: Float64Array;
  /** How many shadow models each row was OUT of (shadows / 2 for every row). */
  readonly outPerRow: number;
  /** The pooled σ_out used (see offlineLira). */
  readonly sigmaOut: number;
}

/**
 * LiRA's shadow models (Carlini et al. 2022, Alg. 1, lines 3–7 without the IN models): `shadows` models trained, in
 * complementary pairs, on a seeded random half of `data` and its other half, so every row is OUT of exactly
 * shadows/2 of them. Returns one array per shadow: its logit-scaled confidence on every row it did not train on, NaN
 * on the rows it trained on. They depend only on the rows and the training settings, never on the target model, so
 * one set serves every model trained with those settings and audited on those rows (offlineLira's `outConfidences`).
 */
export async function trainShadowModels(options: {
  readonly modelSpec: unknown;
  readonly data: LocalData;
  readonly shadows: number;
  readonly training: ShadowTraining;
  readonly seed: number | string;
  readonly onShadow?: (done: number, total: number) => void;
}): Promise<Float64Array[]> {
  const { data, shadows } = options;
  const n = validateLocalData(data);
  assertArg(Number.isInteger(shadows) && shadows >= 2 && shadows % 2 === 0, 'shadows must be an even integer ≥ 2');
  assertArg(n >= 4, 'LiRA needs at least 4 rows');
  const { spec } = parseModelSpec(options.modelSpec);
  const outs: Float64Array[] = [];
  const rng = new SeededRng(options.seed, 'sealfold/fl/audit/lira');
  for (let pair = 0; pair < shadows / 2; pair++) {
    const perm = permutation(n, rng);
    const half = Math.floor(n / 2);
    const halves = [perm.slice(0, half), perm.slice(half)];
    for (const [side, inRows] of halves.entries()) {
      const k = 2 * pair + side;
      const init = initialWeights(spec, `${String(options.seed)}/shadow/${k}`);
      const trained = await trainLocal({
        modelSpec: spec,
        globalWeights: init,
        data: selectSamples(data, inRows),
        seed: `${String(options.seed)}/shadow/${k}`,
        ...options.training,
      });
      const w = new Float32Array(init.length);
      for (let i = 0; i < w.length; i++) w[i] = init[i] + trained.update[i];
      const { logitConfidence } = await membershipSignals(spec, w, data);
      const out = Float64Array.from(logitConfidence);
      for (const i of inRows) out[i] = NaN;
      outs.push(out);
      options.onShadow?.(k + 1, shadows);
    }
  }
  return outs;
}

/**
 * Offline LiRA (Carlini et al. 2022, §IV-C, Alg. 1 without the IN models): shadow models as trainShadowModels makes
 * them (trained here, or given as `outConfidences`), every row OUT of exactly shadows/2 of them; fit
 * N(μ_out, σ²_out) to each row's OUT logit-scaled confidences and score the target's confidence φ by the one-sided
 * test Φ((φ − μ_out)/σ_out). With few shadows the paper uses one global variance (§VI-A, "fixed variance"): σ_out is
 * pooled over rows unless `perExampleVariance` is set (sensible from ~64 shadows).
 */
export async function offlineLira(options: {
  readonly modelSpec: unknown;
  readonly data: LocalData;
  /** The target model's logit-scaled confidence on every row of `data`. */
  readonly targetConfidence: ArrayLike<number>;
  readonly shadows: number;
  readonly training: ShadowTraining;
  readonly seed: number | string;
  /** Shadow models already trained on these rows with these settings (trainShadowModels); else they are trained. */
  readonly outConfidences?: readonly Float64Array[];
  readonly perExampleVariance?: boolean;
  readonly onShadow?: (done: number, total: number) => void;
}): Promise<OfflineLiraResult> {
  const { data, shadows } = options;
  const n = validateLocalData(data);
  assertArg(Number.isInteger(shadows) && shadows >= 2 && shadows % 2 === 0, 'shadows must be an even integer ≥ 2');
  assertArg(n >= 4, 'LiRA needs at least 4 rows');
  assertArg(options.targetConfidence.length === n, 'targetConfidence must have one value per row');
  const outs = options.outConfidences ?? (await trainShadowModels(options));
  assertArg(outs.length === shadows, `expected ${shadows} shadow models, got ${outs.length}`);
  const outSum = new Float64Array(n);
  const outSq = new Float64Array(n);
  const outCount = new Uint32Array(n);
  for (const out of outs) {
    assertArg(out.length === n, 'every shadow model must score every row');
    for (let i = 0; i < n; i++)
      if (!Number.isNaN(out[i])) {
        assertArg(Number.isFinite(out[i]), 'shadow confidences must be finite or NaN (IN)');
        outSum[i] += out[i];
        outSq[i] += out[i] ** 2;
        outCount[i]++;
      }
  }
  assertArg(
    outCount.every((c) => c === shadows / 2),
    'every row must be OUT of exactly half the shadow models',
  );
  const outPerRow = shadows / 2;
  const mu = outSum.map((s) => s / outPerRow);
  // Pooled within-row variance (divisor: observations − rows), the "global variance" of §VI-A.
  let pooled = 0;
  for (const out of outs) for (let i = 0; i < n; i++) if (!Number.isNaN(out[i])) pooled += (out[i] - mu[i]) ** 2;
  const dof = n * (outPerRow - 1);
  // One OUT model per row (2 shadows) leaves no within-row spread: fall back to the spread of the row means.
  let sigmaOut: number;
  if (dof > 0) sigmaOut = Math.sqrt(pooled / dof);
  else {
    const m = mu.reduce((a, b) => a + b, 0) / n;
    sigmaOut = Math.sqrt(mu.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  }
  const floor = 1e-6;
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sigma =
      options.perExampleVariance && outPerRow > 1
        ? Math.sqrt(Math.max(0, (outSq[i] - outPerRow * mu[i] ** 2) / (outPerRow - 1)))
        : sigmaOut;
    scores[i] = (options.targetConfidence[i] - mu[i]) / Math.max(sigma, floor);
  }
  return { scores, outPerRow, sigmaOut };
}

export interface AttackResult {
  readonly auc: AucResult;
  readonly tprAtLowFpr: TprAtFpr;
  readonly epsilonLowerBound: EpsilonLowerBound;
}

/** AUC (DeLong CI), TPR at `targetFpr` (Clopper–Pearson CI) and the empirical ε lower bound of one score. */
export function evaluateAttack(
  memberScores: ArrayLike<number>,
  nonMemberScores: ArrayLike<number>,
  options: { delta: number; targetFpr?: number; confidence?: number; epsilonConfidence?: number },
): AttackResult {
  const confidence = options.confidence ?? 0.95;
  return {
    auc: aucWithCi(memberScores, nonMemberScores, confidence),
    tprAtLowFpr: tprAtFpr(memberScores, nonMemberScores, options.targetFpr ?? 0.001, confidence),
    epsilonLowerBound: empiricalEpsilonLowerBound(memberScores, nonMemberScores, {
      delta: options.delta,
      confidence: options.epsilonConfidence ?? confidence,
    }),
  };
}

export interface MembershipAuditOptions {
  readonly modelSpec: unknown;
  /** The released model's weights (layout order). */
  readonly weights: Float32Array;
  /** The owner's rows. */
  readonly data: LocalData;
  /** Row indices the model trained on, and rows it never saw (disjoint). */
  readonly members: ArrayLike<number>;
  readonly nonMembers: ArrayLike<number>;
  /** LiRA shadow models (even; 0 runs only the loss-threshold attack). */
  readonly shadows: number;
  readonly shadowTraining: ShadowTraining;
  readonly seed: number | string;
  /** δ for the empirical ε bound (the accountant's δ). */
  readonly delta: number;
  readonly targetFpr?: number;
  readonly confidence?: number;
  /**
   * LiRA's shadow models trained beforehand by membershipShadows for these members, non-members, shadow count and
   * shadow training; else auditMembership trains them. One set audits every model trained with those settings.
   */
  readonly shadowModels?: MembershipShadows;
  readonly onShadow?: (done: number, total: number) => void;
}

/** LiRA's shadow models for one audit (membershipShadows): what they were trained for and their OUT confidences. */
export interface MembershipShadows {
  readonly members: Uint32Array;
  readonly nonMembers: Uint32Array;
  readonly shadowTraining: ShadowTraining;
  /** Per shadow model, its confidence on every audited row (members then non-members), NaN where it trained. */
  readonly outConfidences: readonly Float64Array[];
}

export interface MembershipAuditReport {
  readonly members: number;
  readonly nonMembers: number;
  readonly targetFpr: number;
  readonly confidence: number;
  readonly delta: number;
  readonly shadows: number;
  readonly lossThreshold: AttackResult;
  readonly lira: AttackResult | null;
}

function pick(values: ArrayLike<number>, rows: ArrayLike<number>): Float64Array {
  return Float64Array.from(rows, (i) => values[i]);
}

/** The audited rows of `options.data`, members then non-members, checked in range and disjoint. */
function auditedRows(options: Pick<MembershipAuditOptions, 'data' | 'members' | 'nonMembers'>): {
  rows: Uint32Array;
  members: number;
} {
  const n = validateLocalData(options.data);
  const seen = new Uint8Array(n);
  for (const [name, rows, mark] of [
    ['members', options.members, 1],
    ['nonMembers', options.nonMembers, 2],
  ] as const) {
    assertArg(rows.length > 0, `${name} must not be empty`);
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k];
      assertArg(Number.isInteger(i) && i >= 0 && i < n, `${name} row ${i} is outside [0, ${n})`);
      assertArg(seen[i] === 0, `row ${i} is listed twice (or as both a member and a non-member)`);
      seen[i] = mark;
    }
  }
  return {
    rows: Uint32Array.from([...Array.from(options.members), ...Array.from(options.nonMembers)]),
    members: options.members.length,
  };
}

/**
 * LiRA's shadow models for an audit of `members` against `nonMembers` (trainShadowModels on their union), to pass as
 * auditMembership's `shadowModels` when several models trained with the same settings are audited on the same rows
 * (a model and its null control, say): the shadows never see the target, so training them once changes nothing.
 */
export async function membershipShadows(
  options: Omit<MembershipAuditOptions, 'weights' | 'delta' | 'targetFpr' | 'confidence' | 'shadowModels'>,
): Promise<MembershipShadows> {
  const { rows, members } = auditedRows(options);
  const outConfidences = await trainShadowModels({
    modelSpec: options.modelSpec,
    data: selectSamples(options.data, rows),
    shadows: options.shadows,
    training: options.shadowTraining,
    seed: options.seed,
    ...(options.onShadow ? { onShadow: options.onShadow } : {}),
  });
  return {
    members: rows.slice(0, members),
    nonMembers: rows.slice(members),
    shadowTraining: { ...options.shadowTraining },
    outConfidences,
  };
}

const sameRows = (a: Uint32Array, b: Uint32Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Stable text of shadow training settings (keys sorted at every level), to compare two of them. */
function trainingKey(t: ShadowTraining): string {
  return JSON.stringify(t, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/**
 * The owner's membership audit of a released model: the loss-threshold attack (score −loss) and, with shadows > 0,
 * offline LiRA with shadow models trained on halves of members ∪ non-members (or given as `shadowModels`, which must
 * have been trained for the same rows, shadow count and training settings); each scored by evaluateAttack. The
 * larger of the two ε lower bounds holds at `confidence`.
 */
export async function auditMembership(options: MembershipAuditOptions): Promise<MembershipAuditReport> {
  const targetFpr = options.targetFpr ?? 0.001;
  const confidence = options.confidence ?? 0.95;
  const { rows, members: m } = auditedRows(options);
  const pre = options.shadowModels;
  if (pre) {
    assertArg(
      sameRows(pre.members, rows.subarray(0, m)) && sameRows(pre.nonMembers, rows.subarray(m)),
      'shadowModels were trained for other members or non-members',
    );
    assertArg(
      pre.outConfidences.length === options.shadows,
      `shadowModels holds ${pre.outConfidences.length} shadow models, not ${options.shadows}`,
    );
    assertArg(
      trainingKey(pre.shadowTraining) === trainingKey(options.shadowTraining),
      'shadowModels were trained with other shadow training settings',
    );
  }
  const audited = selectSamples(options.data, rows);
  const memberIdx = Uint32Array.from({ length: m }, (_, k) => k);
  const nonMemberIdx = Uint32Array.from({ length: rows.length - m }, (_, k) => m + k);
  const signals = await membershipSignals(options.modelSpec, options.weights, audited);
  const negLoss = signals.loss.map((l) => -l);
  // The report's ε bound is the larger of the attacks' bounds: each is computed at 1 − α/attacks so that the
  // maximum holds at the stated confidence (union bound).
  const attacks = options.shadows > 0 ? 2 : 1;
  const evalOptions = {
    delta: options.delta,
    targetFpr,
    confidence,
    epsilonConfidence: 1 - (1 - confidence) / attacks,
  };
  const lossThreshold = evaluateAttack(pick(negLoss, memberIdx), pick(negLoss, nonMemberIdx), evalOptions);
  let lira: AttackResult | null = null;
  if (options.shadows > 0) {
    const { scores } = await offlineLira({
      modelSpec: options.modelSpec,
      data: audited,
      targetConfidence: signals.logitConfidence,
      shadows: options.shadows,
      training: options.shadowTraining,
      seed: options.seed,
      ...(pre ? { outConfidences: pre.outConfidences } : {}),
      ...(options.onShadow ? { onShadow: options.onShadow } : {}),
    });
    lira = evaluateAttack(pick(scores, memberIdx), pick(scores, nonMemberIdx), evalOptions);
  }
  return {
    members: m,
    nonMembers: rows.length - m,
    targetFpr,
    confidence,
    delta: options.delta,
    shadows: options.shadows,
    lossThreshold,
    lira,
  };
}
