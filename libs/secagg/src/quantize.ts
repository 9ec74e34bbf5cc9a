// Quantisation to 2^q levels over the clipping range [−c, c] with stochastic rounding (unbiased: E[L] = exact
// level), then weighting by the client's sample count. Level L = (clip(x) + c) · (2^q − 1) / (2c) ∈ [0, 2^q − 1].
import { randomBytes } from 'node:crypto';
import type { SecAggParams } from '@sealfold/protocol';
import { refuse } from './errors.js';
import { maskKernel } from './mask-kernel.js';

type QuantParams = Pick<SecAggParams, 'clip' | 'bits' | 'd' | 'maxWeight'>;

/** Refuses an update whose length is not d or a weight that is not an integer in [0, maxWeight]. */
export function checkWeightedUpdate(update: ArrayLike<number>, weight: number, p: QuantParams): void {
  if (update.length !== p.d) refuse('INVALID_MESSAGE', `update has ${update.length} values, expected ${p.d}`);
  if (!Number.isInteger(weight) || weight < 0 || weight > p.maxWeight)
    refuse('INVALID_MESSAGE', `weight must be an integer in [0, ${p.maxWeight}]`);
}

/**
 * Writes weight · L(update[i]) into out[i] for i < d and the weight into out[d].
 * `random` supplies one uniform uint32 per coordinate; by default the draws stream from AES-256-CTR under a fresh
 * random key — a CSPRNG several times faster than randomFillSync for megabytes.
 */
export function quantiseWeighted(
  update: ArrayLike<number>,
  weight: number,
  p: QuantParams,
  out: Uint32Array = new Uint32Array(p.d + 1),
  random?: Uint32Array,
): Uint32Array {
  checkWeightedUpdate(update, weight, p);
  if (out.length !== p.d + 1 || (random !== undefined && random.length < p.d))
    refuse('INVALID_MESSAGE', 'buffer sizes do not match d');
  if (random) {
    maskKernel.quantiseRange(update, weight, out, random, 0, p.d, p.clip, p.bits);
    out[p.d] = weight;
  } else maskKernel.maskedInput(update, weight, p.clip, p.bits, out, [], [], randomBytes(32), 0, p.d + 1);
  return out;
}

/** Σ w_i x_i from the quantised sum S: S · 2c/(2^q − 1) − c · W, with W = Σ w_i in sum[d]. */
export function dequantiseSum(sum: Uint32Array, p: Pick<SecAggParams, 'clip' | 'bits' | 'd'>): Float64Array {
  if (sum.length !== p.d + 1) refuse('INVALID_MESSAGE', 'sum length does not match d');
  const step = (2 * p.clip) / (2 ** p.bits - 1);
  const offset = p.clip * sum[p.d];
  const out = new Float64Array(p.d);
  for (let i = 0; i < p.d; i++) out[i] = sum[i] * step - offset;
  return out;
}
