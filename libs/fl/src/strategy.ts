// Server-side strategy steps: pure functions over Float32Arrays (no tfjs), so the coordinator can run them on the
// unmasked SecAgg+ sum. FedProx differs from FedAvg only on the client (trainLocal's fedProxMu); its server step is
// fedAvgStep.
import { FlError, assertArg } from './errors.js';

function checkPair(global: Float32Array, sum: Float32Array, totalWeight: number): void {
  if (!(global instanceof Float32Array) || !(sum instanceof Float32Array))
    throw new FlError('INVALID_ARGUMENT', 'weights and sum must be Float32Arrays');
  if (global.length !== sum.length) throw new FlError('WEIGHTS_MISMATCH', `lengths ${global.length} ≠ ${sum.length}`);
  assertArg(Number.isFinite(totalWeight) && totalWeight > 0, 'totalWeight must be a positive number');
}

/**
 * Plain (unmasked) weighted sum Σ wᵢ·Δᵢ and Σ wᵢ — what SecAgg+ yields when owners submit wᵢ·Δᵢ and wᵢ. With
 * `clip`, each coordinate is first clipped to [−clip, clip], as the SecAgg+ quantiser does before it quantises.
 */
export function weightedSum(
  updates: readonly { update: Float32Array; weight: number }[],
  options: { readonly clip?: number } = {},
): {
  sum: Float32Array;
  totalWeight: number;
} {
  assertArg(updates.length > 0, 'no updates');
  const c = options.clip ?? Infinity;
  assertArg(c > 0, 'clip must be > 0');
  const dim = updates[0].update.length;
  const acc = new Float64Array(dim);
  let totalWeight = 0;
  for (const { update, weight } of updates) {
    if (update.length !== dim) throw new FlError('WEIGHTS_MISMATCH', 'updates differ in length');
    assertArg(Number.isFinite(weight) && weight >= 0, 'weights must be finite and ≥ 0');
    for (let i = 0; i < dim; i++) acc[i] += weight * Math.min(c, Math.max(-c, update[i]));
    totalWeight += weight;
  }
  return { sum: Float32Array.from(acc), totalWeight };
}

/** The aggregated update Σ wᵢΔᵢ / Σ wᵢ. */
export function meanUpdate(sum: Float32Array, totalWeight: number): Float32Array {
  assertArg(Number.isFinite(totalWeight) && totalWeight > 0, 'totalWeight must be a positive number');
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i] / totalWeight;
  return out;
}

/**
 * FedAvg (McMahan et al. 2017, Algorithm 1), weighted by sample count: w ← w + Σ nᵢΔᵢ / Σ nᵢ.
 * Under DP the owners use weight 1 each (the sensitivity of Σ Δᵢ is then the clip norm C).
 */
export function fedAvgStep(global: Float32Array, sum: Float32Array, totalWeight: number): Float32Array {
  checkPair(global, sum, totalWeight);
  const out = new Float32Array(global.length);
  for (let i = 0; i < global.length; i++) out[i] = global[i] + sum[i] / totalWeight;
  return out;
}

export interface FedAdamParams {
  /** Server learning rate η. */
  readonly eta: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Adaptivity τ (Reddi et al. §3: controls the algorithm's degree of adaptivity). */
  readonly tau: number;
}

/** Persistable FedAdam state: plain typed arrays and numbers. */
export interface FedAdamState extends FedAdamParams {
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly round: number;
}

/** Defaults from Reddi et al. 2021 §5 (β₁ = 0.9, β₂ = 0.99, τ = 1e-3); tune η per task. */
export const FEDADAM_DEFAULTS: FedAdamParams = { eta: 1e-2, beta1: 0.9, beta2: 0.99, tau: 1e-3 };

export function fedAdamInit(dimension: number, params: Partial<FedAdamParams> = {}): FedAdamState {
  assertArg(Number.isInteger(dimension) && dimension > 0, 'dimension must be a positive integer');
  const p = { ...FEDADAM_DEFAULTS, ...params };
  assertArg(Number.isFinite(p.eta) && p.eta > 0, 'eta must be > 0');
  assertArg(p.beta1 >= 0 && p.beta1 < 1 && p.beta2 >= 0 && p.beta2 < 1, 'beta1, beta2 must be in [0, 1)');
  assertArg(Number.isFinite(p.tau) && p.tau > 0, 'tau must be > 0');
  // Reddi et al. initialise v₋₁ ≥ τ² (Algorithm 2); we use τ².
  return { ...p, m: new Float32Array(dimension), v: new Float32Array(dimension).fill(p.tau * p.tau), round: 0 };
}

/**
 * One FedAdam server step (Reddi et al. 2021, "Adaptive Federated Optimization", Algorithm 2), with the mean client
 * update Δ = Σ wᵢΔᵢ / Σ wᵢ as pseudo-gradient:
 *   mₜ = β₁mₜ₋₁ + (1−β₁)Δ;  vₜ = β₂vₜ₋₁ + (1−β₂)Δ²;  xₜ₊₁ = xₜ + η·mₜ/(√vₜ + τ).
 * Pure: returns the new weights and a new state; the inputs are not modified.
 */
export function fedAdamStep(
  global: Float32Array,
  sum: Float32Array,
  totalWeight: number,
  state: FedAdamState,
): { weights: Float32Array; state: FedAdamState } {
  checkPair(global, sum, totalWeight);
  if (state.m.length !== global.length || state.v.length !== global.length)
    throw new FlError('WEIGHTS_MISMATCH', 'FedAdam state does not match the model size');
  const { eta, beta1, beta2, tau } = state;
  const m = new Float32Array(global.length);
  const v = new Float32Array(global.length);
  const weights = new Float32Array(global.length);
  for (let i = 0; i < global.length; i++) {
    const d = sum[i] / totalWeight;
    m[i] = beta1 * state.m[i] + (1 - beta1) * d;
    v[i] = beta2 * state.v[i] + (1 - beta2) * d * d;
    weights[i] = global[i] + (eta * m[i]) / (Math.sqrt(v[i]) + tau);
  }
  return { weights, state: { ...state, m, v, round: state.round + 1 } };
}
