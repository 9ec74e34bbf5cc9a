// Rényi-DP accounting for the Gaussian mechanism with full participation (every owner contributes every round).
import { assertArg } from './errors.js';

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
  const eps = (s: number): number =>
    gaussianEpsilon({ noiseMultiplier: s, rounds, delta, conversion: params.conversion }).epsilon;
  let lo = 1e-3;
  let hi = 1;
  while (eps(hi) > targetEpsilon) {
    hi *= 2;
    assertArg(hi < 1e7, 'target epsilon is unreachably small');
  }
  if (eps(lo) <= targetEpsilon) return lo;
  for (let i = 0; i < 100 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (eps(mid) > targetEpsilon) lo = mid;
    else hi = mid;
  }
  return hi;
}
