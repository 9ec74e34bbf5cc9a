// Quantisation to 2^q levels over the clipping range [−c, c] with stochastic rounding (unbiased: E[L] = exact
// level), then weighting by the client's sample count. Level L = (clip(x) + c) · (2^q − 1) / (2c) ∈ [0, 2^q − 1].
import { createCipheriv, randomBytes } from 'node:crypto';
import type { SecAggParams } from '@sealfold/protocol';
import { refuse } from './errors.js';

type QuantParams = Pick<SecAggParams, 'clip' | 'bits' | 'd' | 'maxWeight'>;

const CHUNK = 16_384;

/**
 * Writes weight · L(update[i]) into out[i] for i < d and the weight into out[d].
 * `random` supplies one uniform uint32 per coordinate; by default it streams, 64 KiB at a time, from AES-256-CTR
 * under a fresh random key — a CSPRNG several times faster than randomFillSync for megabytes.
 */
export function quantiseWeighted(
  update: ArrayLike<number>,
  weight: number,
  p: QuantParams,
  out: Uint32Array = new Uint32Array(p.d + 1),
  random?: Uint32Array,
): Uint32Array {
  if (update.length !== p.d) refuse('INVALID_MESSAGE', `update has ${update.length} values, expected ${p.d}`);
  if (!Number.isInteger(weight) || weight < 0 || weight > p.maxWeight)
    refuse('INVALID_MESSAGE', `weight must be an integer in [0, ${p.maxWeight}]`);
  if (out.length !== p.d + 1 || (random !== undefined && random.length < p.d))
    refuse('INVALID_MESSAGE', 'buffer sizes do not match d');
  const c = p.clip;
  const levels = 2 ** p.bits - 1;
  const scale = levels / (2 * c);
  if (random) quantiseRange(update, weight, out, random, 0, p.d, c, levels, scale);
  else {
    const stream = createCipheriv('aes-256-ctr', randomBytes(32), Buffer.alloc(16));
    const zeros = Buffer.alloc(4 * CHUNK);
    const scratch = new Uint32Array(CHUNK);
    for (let s = 0; s < p.d; s += CHUNK) {
      const n = Math.min(CHUNK, p.d - s);
      const bytes = stream.update(zeros.subarray(0, 4 * n));
      let r: Uint32Array;
      if (isLittleEndian && bytes.byteOffset % 4 === 0) r = new Uint32Array(bytes.buffer, bytes.byteOffset, n);
      else {
        for (let i = 0; i < n; i++) scratch[i] = bytes.readUInt32LE(4 * i);
        r = scratch;
      }
      quantiseRange(update, weight, out, r, s, s + n, c, levels, scale);
    }
  }
  out[p.d] = weight;
  return out;
}

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** out[i] = weight · L(update[i]) for i in [from, to), with random[i − from] as the rounding draw. */
function quantiseRange(
  update: ArrayLike<number>,
  weight: number,
  out: Uint32Array,
  random: Uint32Array,
  from: number,
  to: number,
  c: number,
  levels: number,
  scale: number,
) {
  const inv32 = 2 ** -32;
  for (let i = from; i < to; i++) {
    let x = update[i];
    if (!(x >= -c))
      x = x !== x ? 0 : -c; // NaN → 0, −∞ / below range → −c
    else if (x > c) x = c;
    const y = (x + c) * scale;
    let level = Math.floor(y + random[i - from] * inv32);
    if (level > levels) level = levels;
    out[i] = weight * level;
  }
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
