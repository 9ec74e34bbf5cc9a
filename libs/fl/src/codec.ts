// Binary codec for flat weight vectors: a fixed 16-byte header, then raw little-endian float32 values.
import { createHash } from 'node:crypto';
import { FlError } from './errors.js';

/** 'SFWT' */
const MAGIC = 0x54574653;
const VERSION = 1;
export const WEIGHTS_HEADER_BYTES = 16;

/**
 * Layout: magic u32 LE 'SFWT' ‖ version u16 LE ‖ reserved u16 (0) ‖ count u32 LE ‖ reserved u32 (0) ‖
 * count × f32 LE. The layout descriptor is not carried: both sides derive it from the signed model spec.
 */
export function encodeWeights(weights: Float32Array): Uint8Array {
  if (!(weights instanceof Float32Array)) throw new FlError('WEIGHTS_CODEC', 'weights must be a Float32Array');
  const out = new Uint8Array(WEIGHTS_HEADER_BYTES + 4 * weights.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, VERSION, true);
  view.setUint32(8, weights.length, true);
  for (let i = 0; i < weights.length; i++) view.setFloat32(WEIGHTS_HEADER_BYTES + 4 * i, weights[i], true);
  return out;
}

/** Decodes `encodeWeights` output; with `expectedLength`, refuses a vector of another size. */
export function decodeWeights(bytes: Uint8Array, expectedLength?: number): Float32Array {
  if (!(bytes instanceof Uint8Array)) throw new FlError('WEIGHTS_CODEC', 'input must be a Uint8Array');
  if (bytes.length < WEIGHTS_HEADER_BYTES) throw new FlError('WEIGHTS_CODEC', 'truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new FlError('WEIGHTS_CODEC', 'bad magic');
  const version = view.getUint16(4, true);
  if (version !== VERSION) throw new FlError('WEIGHTS_CODEC', `unsupported version ${version}`);
  if (view.getUint16(6, true) !== 0 || view.getUint32(12, true) !== 0)
    throw new FlError('WEIGHTS_CODEC', 'reserved header fields must be zero');
  const count = view.getUint32(8, true);
  if (bytes.length !== WEIGHTS_HEADER_BYTES + 4 * count)
    throw new FlError('WEIGHTS_CODEC', `length ${bytes.length} does not match ${count} weights`);
  if (expectedLength !== undefined && count !== expectedLength)
    throw new FlError('WEIGHTS_CODEC', `expected ${expectedLength} weights, got ${count}`);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(WEIGHTS_HEADER_BYTES + 4 * i, true);
  return out;
}

/**
 * SHA-256 of a model's float32 values in memory order (64 hex, no 0x): what a silo books for each model it
 * trains from or evaluates, and the per-round and final model digests of a job receipt (issue 20).
 */
export function weightsDigest(weights: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength))
    .digest('hex');
}
