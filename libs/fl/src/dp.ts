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
 * Standard deviation of one owner's noise share: σ·C/√m, where m is the fewest contributors whose sum the
 * coordinator may release: the SecAgg+ threshold t at least (the server cannot unmask with fewer), or a larger
 * minimum it enforces (then fewer owners each add more noise: with SecAgg+ neighbourhoods t ≪ n, and m = t would
 * put n/t times the needed noise into a full round).
 *
 * Guarantee (distributed Gaussian mechanism over SecAgg+): each owner adds independent N(0, σ²C²/m) per coordinate
 * to its clipped update. SecAgg+ reveals only the sum over the s ≥ m contributing owners, whose noise has variance
 * s·σ²C²/m ≥ σ²C², at least that of the central Gaussian mechanism with noise multiplier σ on a sum of L2
 * sensitivity C (one owner's clipped update, unit weights). The sum is therefore at least as private as that
 * mechanism, for which `gaussianEpsilon` gives (ε, δ) at owner level. Assumptions: the coordinator colludes with no
 * owner (k colluding owners can subtract their own shares, leaving (s−k)/m·σ²C²: choose m with margin); the
 * coordinator discards a sum with fewer than m contributors; owners draw real noise (crypto randomness) and submit
 * weight 1; the quantiser's range leaves the noise unclipped. Noise added before quantisation is subject to the
 * Mironov (2012) caveat noted in rng.ts.
 */
export function noiseShareStd(noiseMultiplier: number, clipNorm: number, minContributors: number): number {
  assertArg(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0, 'noiseMultiplier must be ≥ 0');
  assertArg(Number.isFinite(clipNorm) && clipNorm > 0, 'clipNorm must be > 0');
  assertArg(Number.isInteger(minContributors) && minContributors >= 1, 'minContributors must be a positive integer');
  return (noiseMultiplier * clipNorm) / Math.sqrt(minContributors);
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

/** Clips to C and adds this owner's noise share σC/√m: the owner-side DP step before quantisation and SecAgg+. */
export function privatizeUpdate(
  update: Float32Array,
  params: { clipNorm: number; noiseMultiplier: number; minContributors: number; seed?: number | string },
): { noised: Float32Array; norm: number; std: number } {
  const { clipped, norm } = clipL2(update, params.clipNorm);
  const std = noiseShareStd(params.noiseMultiplier, params.clipNorm, params.minContributors);
  return { noised: addGaussianNoise(clipped, std, { seed: params.seed }), norm, std };
}
