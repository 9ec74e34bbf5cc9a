// Quantisation to 2^q levels over the clipping range [−c, c] with stochastic rounding (unbiased: E[L] = exact
// level), then weighting by the client's sample count. Level L = (clip(x) + c) · (2^q − 1) / (2c) ∈ [0, 2^q − 1].
import { randomBytes } from 'node:crypto';
import type { SecAggParams } from '@sealfold/protocol';
import { refuse } from './errors.js';
import { expandMask } from './prg.js';

type QuantParams = Pick<SecAggParams, 'clip' | 'bits' | 'd' | 'maxWeight'>;

/**
 * Writes weight · L(update[i]) into out[i] for i < d and the weight into out[d].
 * `random` supplies one uniform uint32 per coordinate (default: AES-256-CTR under a fresh random key — a CSPRNG
 * several times faster than randomFillSync for megabytes).
 */
export function quantiseWeighted(
  update: ArrayLike<number>,
  weight: number,
  p: QuantParams,
  out: Uint32Array = new Uint32Array(p.d + 1),
  random: Uint32Array = expandMask(randomBytes(32), p.d),
): Uint32Array {
  if (update.length !== p.d) refuse('INVALID_MESSAGE', `update has ${update.length} values, expected ${p.d}`);
  if (!Number.isInteger(weight) || weight < 0 || weight > p.maxWeight)
    refuse('INVALID_MESSAGE', `weight must be an integer in [0, ${p.maxWeight}]`);
  if (out.length !== p.d + 1 || random.length < p.d) refuse('INVALID_MESSAGE', 'buffer sizes do not match d');
  const c = p.clip;
  const levels = 2 ** p.bits - 1;
  const scale = levels / (2 * c);
  const inv32 = 2 ** -32;
  for (let i = 0; i < p.d; i++) {
    let x = update[i];
    if (!(x >= -c))
      x = x !== x ? 0 : -c; // NaN → 0, −∞ / below range → −c
    else if (x > c) x = c;
    const y = (x + c) * scale;
    let level = Math.floor(y + random[i] * inv32);
    if (level > levels) level = levels;
    out[i] = weight * level;
  }
  out[p.d] = weight;
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
