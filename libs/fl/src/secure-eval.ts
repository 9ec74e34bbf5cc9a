// Federated evaluation through secure aggregation: each silo's (accuracy, mean loss) on its held-out split becomes a
// 2-vector in [−1, 1]² weighted by its example count, so a sum over silos (SecAgg+ returns Σ w·x and Σ w) gives
// the weighted means and nothing about any one silo. x₁ = 2·accuracy − 1; x₂ = 2·min(loss, cap)/cap − 1.
import { addGaussianNoise } from './dp.js';
import { assertArg } from './errors.js';
import type { EvalSums } from './train.js';

/** Mean losses above this are reported as the cap (cross-entropy of a useless 10-class model is ln 10 ≈ 2.3). */
export const EVAL_LOSS_CAP = 16;
/** The clipping range c of the evaluation vector: its coordinates lie in [−c, c]. */
export const EVAL_VECTOR_CLIP = 1;

/**
 * The input a silo contributes: x = (2·accuracy − 1, 2·min(loss, cap)/cap − 1) and the weight min(count, maxWeight)
 * (a silo with more held-out examples than maxWeight counts as maxWeight: its means are unchanged).
 */
export function evalVector(sums: EvalSums, maxWeight: number): { update: Float32Array; weight: number } {
  assertArg(Number.isInteger(maxWeight) && maxWeight >= 1, 'maxWeight must be a positive integer');
  assertArg(
    Number.isInteger(sums.count) && sums.count >= 0 && sums.correct >= 0 && sums.correct <= sums.count,
    'eval sums must have 0 ≤ correct ≤ count',
  );
  assertArg(Number.isFinite(sums.lossSum) && sums.lossSum >= 0, 'lossSum must be finite and non-negative');
  if (sums.count === 0) return { update: new Float32Array([0, 0]), weight: 0 };
  const accuracy = sums.correct / sums.count;
  const loss = Math.min(sums.lossSum / sums.count, EVAL_LOSS_CAP);
  return {
    update: new Float32Array([2 * accuracy - 1, (2 * loss) / EVAL_LOSS_CAP - 1]),
    weight: Math.min(sums.count, maxWeight),
  };
}

/** The weighted means back from Σ w·x (length 2) and Σ w; undefined when no example was evaluated. */
export function evalFromSum(
  sum: ArrayLike<number>,
  totalWeight: number,
): { accuracy: number; loss: number; count: number } | undefined {
  assertArg(sum.length === 2, 'the evaluation sum has two coordinates');
  if (!(totalWeight > 0)) return undefined;
  const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
  return {
    accuracy: clamp01((sum[0] / totalWeight + 1) / 2),
    loss: clamp01((sum[1] / totalWeight + 1) / 2) * EVAL_LOSS_CAP,
    count: totalWeight,
  };
}

/**
 * L2 sensitivity of a silo's weighted evaluation vector w·x to one held-out row (add or remove; the row count itself
 * is public in the manifest). While count < maxWeight, w = count and w·x = (2·correct − count,
 * 2·min(lossSum, cap·count)/cap − count): one row moves each coordinate by at most 1 (the capped loss term by at most
 * 2, less the 1 of count), so √2. At or above maxWeight, w·x = maxWeight·(means) moves by < 2 per coordinate: 2√2.
 */
export function recordEvalSensitivity(count: number, maxWeight: number): number {
  return count < maxWeight ? Math.SQRT2 : 2 * Math.SQRT2;
}

/**
 * The record-level evaluation input (Gaussian mechanism, Dwork & Roth 2014, Thm. A.1): evalVector with its count
 * weight, N(0, (σ_eval·Δ)²) on w·x (so N(0, (σ_eval·Δ/w)²) on x). Each silo adds the whole noise for its own rows;
 * it does not lean on other silos' noise. `seed` for tests only.
 */
export function recordLevelEvalInput(
  sums: EvalSums,
  maxWeight: number,
  evalNoiseMultiplier: number,
  options: { seed?: number | string } = {},
): { update: Float32Array; weight: number } {
  assertArg(Number.isFinite(evalNoiseMultiplier) && evalNoiseMultiplier > 0, 'evalNoiseMultiplier must be > 0');
  const plain = evalVector(sums, maxWeight);
  if (plain.weight === 0) return plain;
  const std = (evalNoiseMultiplier * recordEvalSensitivity(sums.count, maxWeight)) / plain.weight;
  return { update: addGaussianNoise(plain.update, std, options), weight: plain.weight };
}
