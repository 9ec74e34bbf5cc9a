// Differential privacy on the owner's side: L2 clipping and this owner's share of the Gaussian noise.
import { FlError, assertArg } from './errors.js';
import { CryptoUniform, GaussianSampler, SeededRng } from './rng.js';

export function l2Norm(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/**
 * Scales `update` so that ‖update‖₂ ≤ clipNorm (Abadi et al. 2016, §3.1 "Norm clipping"; McMahan et al. 2018,
 * "Learning Differentially Private Recurrent Language Models", per-user clipping). Returns a new array.
 */
export function clipL2(update: Float32Array, clipNorm: number): { clipped: Float32Array; norm: number; scale: number } {
  assertArg(Number.isFinite(clipNorm) && clipNorm > 0, 'clipNorm must be a positive number');
  const norm = l2Norm(update);
  if (!Number.isFinite(norm)) throw new FlError('INVALID_ARGUMENT', 'update has a non-finite norm');
  // Math.fround headroom: float32 rounding of the scaled values must not push the norm back above clipNorm.
  const scale = norm > clipNorm ? (clipNorm / norm) * (1 - 1e-6) : 1;
  const clipped = new Float32Array(update.length);
  for (let i = 0; i < update.length; i++) clipped[i] = update[i] * scale;
  return { clipped, norm, scale };
}

/**
 * Standard deviation of one owner's noise share: σ·C/√t.
 *
 * Guarantee (distributed Gaussian mechanism over SecAgg+): each owner adds independent N(0, σ²C²/t) per coordinate
 * to its clipped update. SecAgg+ reveals only the sum over the s ≥ t owners that survive the round, whose noise is
 * N(0, s·σ²C²/t) with s/t ≥ 1, i.e. at least the σC of the central Gaussian mechanism on a sum with L2
 * sensitivity C (one owner's clipped update, unit weights). The sum is therefore at least as private as the central
 * mechanism with noise multiplier σ, for which `gaussianEpsilon` gives (ε, δ) at owner level. Assumptions: the
 * coordinator colludes with no owner (k colluding owners can subtract their own shares, leaving (s−k)/t·σ²C², so
 * choose t with margin or scale shares by t/(t−k)); the owners draw real noise (crypto randomness); updates are
 * weighted equally. Noise added before quantisation is subject to the Mironov (2012) caveat noted in rng.ts.
 */
export function noiseShareStd(noiseMultiplier: number, clipNorm: number, threshold: number): number {
  assertArg(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0, 'noiseMultiplier must be ≥ 0');
  assertArg(Number.isFinite(clipNorm) && clipNorm > 0, 'clipNorm must be > 0');
  assertArg(Number.isInteger(threshold) && threshold >= 1, 'threshold must be a positive integer');
  return (noiseMultiplier * clipNorm) / Math.sqrt(threshold);
}

/**
 * Returns update + N(0, std²) per coordinate. Real noise comes from node:crypto; pass `seed` only for reproducible
 * tests and simulations (seeded noise is not private).
 */
export function addGaussianNoise(
  update: Float32Array,
  std: number,
  options: { seed?: number | string } = {},
): Float32Array {
  assertArg(Number.isFinite(std) && std >= 0, 'std must be ≥ 0');
  const sampler = new GaussianSampler(
    options.seed === undefined ? new CryptoUniform() : new SeededRng(options.seed, 'sealfold/fl/noise'),
  );
  const out = new Float32Array(update.length);
  for (let i = 0; i < update.length; i++) out[i] = update[i] + std * sampler.next();
  return out;
}

/** Clips to C and adds this owner's noise share σC/√t: the owner-side DP step before quantisation and SecAgg+. */
export function privatizeUpdate(
  update: Float32Array,
  params: { clipNorm: number; noiseMultiplier: number; threshold: number; seed?: number | string },
): { noised: Float32Array; norm: number; std: number } {
  const { clipped, norm } = clipL2(update, params.clipNorm);
  const std = noiseShareStd(params.noiseMultiplier, params.clipNorm, params.threshold);
  return { noised: addGaussianNoise(clipped, std, { seed: params.seed }), norm, std };
}
