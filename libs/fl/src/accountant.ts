// Rényi-DP accounting for the Gaussian mechanism: full participation (owner level, every owner every round) and the
// Poisson-subsampled Gaussian of DP-SGD (record level, Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy of
// the Sampled Gaussian Mechanism", §3).
import { FlError, assertArg } from './errors.js';

/** ε_RDP(α) of one Gaussian mechanism with noise multiplier σ (Mironov 2017, "Rényi Differential Privacy", Cor. 3). */
export function gaussianRdp(noiseMultiplier: number, order: number): number {
  assertArg(Number.isFinite(noiseMultiplier) && noiseMultiplier > 0, 'noiseMultiplier must be > 0');
  assertArg(order > 1, 'order must be > 1');
  return order / (2 * noiseMultiplier * noiseMultiplier);
}

export type RdpConversion = 'mironov' | 'improved';

/**
 * (α, ε_RDP)-RDP → (ε, δ)-DP at one order.
 * 'mironov': ε = ε_RDP + log(1/δ)/(α−1) (Mironov 2017, Prop. 3).
 * 'improved': ε = ε_RDP + log((α−1)/α) − (log δ + log α)/(α−1) (Canonne, Kamath & Steinke 2020, Prop. 12;
 * Balle et al. 2020, Thm. 21) — the conversion used by Google's dp_accounting.
 */
export function rdpToEpsilon(
  rdp: number,
  order: number,
  delta: number,
  conversion: RdpConversion = 'improved',
): number {
  assertArg(order > 1, 'order must be > 1');
  assertArg(rdp >= 0, 'rdp must be ≥ 0');
  assertArg(delta > 0 && delta < 1, 'delta must be in (0, 1)');
  const eps =
    conversion === 'mironov'
      ? rdp + Math.log(1 / delta) / (order - 1)
      : rdp + Math.log1p(-1 / order) - (Math.log(delta) + Math.log(order)) / (order - 1);
  return Math.max(0, eps);
}

/** Smallest ε over the given orders, for a list of composed RDP values (one per order). */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: RdpConversion = 'improved',
): { epsilon: number; order: number } {
  assertArg(orders.length > 0 && orders.length === rdp.length, 'orders and rdp must be non-empty and equally long');
  let best = { epsilon: Infinity, order: NaN };
  orders.forEach((a, i) => {
    const e = rdpToEpsilon(rdp[i], a, delta, conversion);
    if (e < best.epsilon) best = { epsilon: e, order: a };
  });
  return best;
}

/**
 * (ε, δ) after `rounds` compositions of the Gaussian mechanism with noise multiplier σ (sensitivity-normalised):
 * RDP composes additively (Mironov 2017, Prop. 1), ε_RDP(α) = R·α/(2σ²); the conversion is minimised over the
 * continuous order α > 1 (it is unimodal in α): golden-section search on log(α−1).
 */
export function gaussianEpsilon(params: {
  noiseMultiplier: number;
  rounds: number;
  delta: number;
  conversion?: RdpConversion;
}): { epsilon: number; order: number } {
  const { noiseMultiplier: sigma, rounds, delta } = params;
  assertArg(Number.isFinite(sigma) && sigma > 0, 'noiseMultiplier must be > 0');
  assertArg(Number.isInteger(rounds) && rounds >= 0, 'rounds must be a non-negative integer');
  assertArg(delta > 0 && delta < 1, 'delta must be in (0, 1)');
  if (rounds === 0) return { epsilon: 0, order: Infinity };
  const conversion = params.conversion ?? 'improved';
  const f = (u: number): number => {
    const a = 1 + Math.exp(u);
    return rdpToEpsilon(gaussianRdp(sigma, a) * rounds, a, delta, conversion);
  };
  let lo = Math.log(1e-6);
  let hi = Math.log(1e8);
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let f1 = f(x1);
  let f2 = f(x2);
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = f(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = f(x2);
    }
  }
  const u = (lo + hi) / 2;
  return { epsilon: f(u), order: 1 + Math.exp(u) };
}

/** Standard normal CDF via erfc (W. J. Cody's rational approximations are overkill here; see erfc below). */
function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** erfc with relative error < 1.2e-7 everywhere (Numerical Recipes, 2nd ed., §6.2, Chebyshev fit). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * log erfc(x), from the same Chebyshev fit as `erfc` but kept in log space, so that it stays finite where erfc(x)
 * underflows (x ≳ 27): log erfc(z) = log t − z² + P(t) for z ≥ 0.
 */
function logErfc(x: number): number {
  if (x < 0) return Math.log(erfc(x));
  const t = 1 / (1 + 0.5 * x);
  const p =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + p;
}

/** log(e^a + e^b) without overflow. */
function logAdd(a: number, b: number): number {
  const m = Math.max(a, b);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/** log(e^a − e^b) for a ≥ b. */
function logSub(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (a <= b) return -Infinity; // rounding: the difference is zero to working precision
  return a + Math.log1p(-Math.exp(b - a));
}

/**
 * log A_α of the sampled Gaussian mechanism for an integer order α (Mironov, Talwar & Zhang 2019, §3.3, eq. for
 * integer α): A_α = Σ_{k=0}^{α} C(α,k)·(1−q)^{α−k}·q^k·exp((k²−k)/(2σ²)).
 */
function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0; // log C(α, 0)
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logBinom += Math.log(alpha - k + 1) - Math.log(k);
    const term = logBinom + k * Math.log(q) + (alpha - k) * Math.log1p(-q) + (k * k - k) / (2 * sigma * sigma);
    logA = logAdd(logA, term);
  }
  return logA;
}

/**
 * log A_α for a fractional order α (Mironov, Talwar & Zhang 2019, §3.3, the two series A_α = A_α,0 + A_α,1 split
 * at z₀ = σ²·log(1/q − 1) + 1/2; the generalised binomial coefficients alternate in sign past ⌊α⌋, hence the
 * signed log-space sums). Summed past i = α until both new terms fall below e^−30, as Opacus and dp_accounting do.
 */
function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let coef = 1; // generalised binomial C(α, i), built incrementally
  for (let i = 0; i < 100000; i++) {
    if (i > 0) coef *= (alpha - i + 1) / i;
    const logCoef = Math.log(Math.abs(coef));
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * Math.log1p(-q);
    const logT1 = logCoef + j * Math.log(q) + i * Math.log1p(-q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (coef > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (i > alpha && Math.max(logS0, logS1) < -30) return logAdd(logA0, logA1);
  }
  throw new FlError(
    'INVALID_ARGUMENT',
    `sampled-Gaussian RDP series did not converge (q=${q}, σ=${sigma}, α=${alpha})`,
  );
}

/**
 * ε_RDP(α) of one step of the Poisson-subsampled Gaussian mechanism: each record enters the batch independently with
 * probability q, the sum of clipped contributions (sensitivity 1 after dividing by C) gets N(0, σ²). Add-or-remove-one
 * adjacency. ε_RDP(α) = log(A_α)/(α−1) (Mironov, Talwar & Zhang 2019, §3, Thm. 4 with §3.3's computation); q = 1 is
 * the plain Gaussian α/(2σ²); α = ∞ gives ∞ for q > 0.
 */
export function sampledGaussianRdp(sampleRate: number, noiseMultiplier: number, order: number): number {
  assertArg(Number.isFinite(sampleRate) && sampleRate >= 0 && sampleRate <= 1, 'sampleRate must be in [0, 1]');
  assertArg(Number.isFinite(noiseMultiplier) && noiseMultiplier > 0, 'noiseMultiplier must be > 0');
  assertArg(order > 1, 'order must be > 1');
  if (sampleRate === 0) return 0;
  if (sampleRate === 1) return order === Infinity ? Infinity : gaussianRdp(noiseMultiplier, order);
  if (order === Infinity) return Infinity;
  const logA = Number.isInteger(order)
    ? logAInt(sampleRate, noiseMultiplier, order)
    : logAFrac(sampleRate, noiseMultiplier, order);
  return Math.max(0, logA / (order - 1));
}

/**
 * RDP orders the record-level accountant minimises over (Opacus's defaults, 1.1…10.9 in steps of 0.1 and 12…63,
 * plus dp_accounting's 128, 256, 512 for tiny ε).
 */
export const RDP_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, i) => Math.round(10 * (1 + (i + 1) / 10)) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
  128,
  256,
  512,
];

/**
 * (ε, δ) of `steps` compositions of the Poisson-subsampled Gaussian (DP-SGD, Abadi et al. 2016, with the RDP
 * analysis of Mironov, Talwar & Zhang 2019): ε_RDP composes additively over steps (Mironov 2017, Prop. 1), then the
 * conversion is minimised over `orders`.
 */
export function sampledGaussianEpsilon(params: {
  sampleRate: number;
  noiseMultiplier: number;
  steps: number;
  delta: number;
  orders?: readonly number[];
  conversion?: RdpConversion;
}): { epsilon: number; order: number } {
  const { sampleRate, noiseMultiplier, steps, delta } = params;
  assertArg(Number.isInteger(steps) && steps >= 0, 'steps must be a non-negative integer');
  assertArg(delta > 0 && delta < 1, 'delta must be in (0, 1)');
  if (steps === 0 || sampleRate === 0) return { epsilon: 0, order: Infinity };
  const orders = params.orders ?? RDP_ORDERS;
  const rdp = orders.map((a) => steps * sampledGaussianRdp(sampleRate, noiseMultiplier, a));
  const finite = orders.flatMap((a, i) => (Number.isFinite(rdp[i]) ? [i] : []));
  assertArg(finite.length > 0, 'no finite RDP order');
  return epsilonFromRdp(
    finite.map((i) => orders[i]),
    finite.map((i) => rdp[i]),
    delta,
    params.conversion,
  );
}

/**
 * The record-level DP-SGD schedule of one silo for one job: Poisson sampling with rate q = batchSize/rows (expected
 * batch = batchSize), ⌈rows/batchSize⌉ steps per local epoch, composed over localEpochs × rounds.
 */
export function dpSgdSchedule(params: { rows: number; batchSize: number; localEpochs: number; rounds: number }): {
  sampleRate: number;
  stepsPerEpoch: number;
  steps: number;
} {
  const { rows, batchSize, localEpochs, rounds } = params;
  assertArg(Number.isInteger(rows) && rows >= 1, 'rows must be a positive integer');
  assertArg(Number.isInteger(batchSize) && batchSize >= 1, 'batchSize must be a positive integer');
  assertArg(Number.isInteger(localEpochs) && localEpochs >= 1, 'localEpochs must be a positive integer');
  assertArg(Number.isInteger(rounds) && rounds >= 0, 'rounds must be a non-negative integer');
  const sampleRate = Math.min(1, batchSize / rows);
  const stepsPerEpoch = Math.ceil(rows / batchSize);
  return { sampleRate, stepsPerEpoch, steps: stepsPerEpoch * localEpochs * rounds };
}

/** Record-level ε of a silo after `rounds` rounds of DP-SGD at noise multiplier σ (δ must be < 1/rows). */
export function recordLevelEpsilon(params: {
  noiseMultiplier: number;
  delta: number;
  rows: number;
  batchSize: number;
  localEpochs: number;
  rounds: number;
}): number {
  assertArg(params.delta < 1 / params.rows, `delta must be below 1/rows = ${1 / params.rows}`);
  const { sampleRate, steps } = dpSgdSchedule(params);
  return sampledGaussianEpsilon({ sampleRate, noiseMultiplier: params.noiseMultiplier, steps, delta: params.delta })
    .epsilon;
}

/**
 * The smallest noise multiplier σ (to 1e-4 relative) whose record-level ε over the whole job is ≤ targetEpsilon:
 * bisection on `recordLevelEpsilon`, which decreases in σ.
 */
export function recordLevelNoiseMultiplier(params: {
  targetEpsilon: number;
  delta: number;
  rows: number;
  batchSize: number;
  localEpochs: number;
  rounds: number;
}): number {
  const { targetEpsilon } = params;
  assertArg(Number.isFinite(targetEpsilon) && targetEpsilon > 0, 'targetEpsilon must be > 0');
  assertArg(Number.isInteger(params.rounds) && params.rounds >= 1, 'rounds must be a positive integer');
  return smallestNoiseMultiplier((s) => recordLevelEpsilon({ ...params, noiseMultiplier: s }), targetEpsilon, {
    floor: 0.05,
    ceiling: 1e5,
    tolerance: 1e-4,
    steps: 60,
  });
}

/**
 * The smallest σ ≥ `floor` whose ε (decreasing in σ) is at most `target`, to a relative `tolerance`: doubling from 1
 * until ε fits (refused past `ceiling`), then bisection. Never returns a σ whose ε exceeds the target.
 */
export function smallestNoiseMultiplier(
  epsilonOf: (sigma: number) => number,
  target: number,
  search: { floor: number; ceiling: number; tolerance: number; steps: number },
): number {
  let lo = search.floor;
  let hi = 1;
  while (epsilonOf(hi) > target) {
    hi *= 2;
    assertArg(hi < search.ceiling, 'target epsilon is unreachably small');
  }
  if (epsilonOf(lo) <= target) return lo;
  for (let i = 0; i < search.steps && hi - lo > search.tolerance * hi; i++) {
    const mid = (lo + hi) / 2;
    if (epsilonOf(mid) > target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The exact (tight) ε of R compositions of the Gaussian mechanism, for cross-checking the RDP bound: R Gaussian
 * mechanisms with multiplier σ compose to one with multiplier σ/√R (μ-GDP with μ = √R/σ, Dong, Roth & Su 2019,
 * Cor. 3.3), and δ(ε) = Φ(μ/2 − ε/μ) − e^ε·Φ(−μ/2 − ε/μ) (Balle & Wang 2018, "Improving the Gaussian Mechanism",
 * Thm. 8). Solved for ε by bisection. Accurate to the erfc approximation (relative 1.2e-7).
 */
export function exactGaussianEpsilon(params: { noiseMultiplier: number; rounds: number; delta: number }): number {
  const { noiseMultiplier: sigma, rounds, delta } = params;
  assertArg(Number.isFinite(sigma) && sigma > 0, 'noiseMultiplier must be > 0');
  assertArg(Number.isInteger(rounds) && rounds >= 1, 'rounds must be a positive integer');
  assertArg(delta > 0 && delta < 1, 'delta must be in (0, 1)');
  const mu = Math.sqrt(rounds) / sigma;
  const deltaOf = (eps: number): number => normalCdf(mu / 2 - eps / mu) - Math.exp(eps) * normalCdf(-mu / 2 - eps / mu);
  if (deltaOf(0) <= delta) return 0;
  let lo = 0;
  let hi = 1;
  while (deltaOf(hi) > delta) hi *= 2;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (deltaOf(mid) > delta) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The smallest noise multiplier σ whose `rounds`-fold Gaussian composition is (targetEpsilon, δ)-DP by
 * `gaussianEpsilon` (bisection; ε is decreasing in σ). Returned σ satisfies ε(σ) ≤ targetEpsilon.
 */
export function noiseMultiplierFor(params: {
  targetEpsilon: number;
  rounds: number;
  delta: number;
  conversion?: RdpConversion;
}): number {
  const { targetEpsilon, rounds, delta } = params;
  assertArg(Number.isFinite(targetEpsilon) && targetEpsilon > 0, 'targetEpsilon must be > 0');
  assertArg(Number.isInteger(rounds) && rounds >= 1, 'rounds must be a positive integer');
  return smallestNoiseMultiplier(
    (s) => gaussianEpsilon({ noiseMultiplier: s, rounds, delta, conversion: params.conversion }).epsilon,
    targetEpsilon,
    { floor: 1e-3, ceiling: 1e7, tolerance: 1e-9, steps: 100 },
  );
}

/**
 * The record-level ε of a silo after the releases it actually made: `trainRounds` rounds of DP-SGD (the sampled
 * Gaussian above) and `evalRounds` evaluation releases, each one Gaussian mechanism of multiplier σ_eval on the
 * held-out counts. Held-out rows never enter training, so each row is touched by one of the two mechanisms only
 * (training rows: the evaluations post-process the model; held-out rows: training does not read them) and their ε
 * combine by parallel composition (McSherry 2009, "Privacy Integrated Queries", §4.1): the maximum.
 */
export function recordLevelJobEpsilon(params: {
  noiseMultiplier: number;
  evalNoiseMultiplier: number;
  delta: number;
  rows: number;
  batchSize: number;
  localEpochs: number;
  trainRounds: number;
  evalRounds: number;
}): number {
  const train = recordLevelEpsilon({ ...params, rounds: params.trainRounds });
  const evaluation =
    params.evalRounds > 0
      ? gaussianEpsilon({ noiseMultiplier: params.evalNoiseMultiplier, rounds: params.evalRounds, delta: params.delta })
          .epsilon
      : 0;
  return Math.max(train, evaluation);
}

/**
 * σ_eval of a record-level job's evaluation releases: the smallest multiplier whose `rounds` Gaussian releases cost
 * no more than the job's training ε (`noiseMultiplierFor`), so by parallel composition the job's ε is its training ε.
 */
export function recordLevelEvalNoiseMultiplier(params: {
  trainEpsilon: number;
  rounds: number;
  delta: number;
}): number {
  return noiseMultiplierFor({ targetEpsilon: params.trainEpsilon, rounds: params.rounds, delta: params.delta });
}

/** Releases a job makes at most: one training update and one evaluation vector per round. */
export const releasesPerJob = (rounds: number): number => 2 * rounds;

/**
 * ε of `releases` Gaussian releases with noise multiplier σ at δ (RDP accountant above); Infinity when the job adds
 * no noise (σ = 0) or δ = 0 (the Gaussian mechanism gives no pure ε-DP).
 */
export function releasesEpsilon(dp: { noiseMultiplier: number; delta: number }, releases: number): number {
  if (dp.noiseMultiplier <= 0 || dp.delta <= 0) return Infinity;
  return gaussianEpsilon({ noiseMultiplier: dp.noiseMultiplier, rounds: releases, delta: dp.delta }).epsilon;
}

/** ε a job of `rounds` rounds spends at most (releasesPerJob of them): what the silo reserves and the registry records. */
export function jobEpsilon(dp: { noiseMultiplier: number; delta: number }, rounds: number): number {
  return releasesEpsilon(dp, releasesPerJob(rounds));
}
