// Key derivation (HKDF-SHA256, RFC 5869) and the mask PRG: AES-256-CTR over zero bytes (NIST SP 800-38A §6.5)
// with a zero initial counter block. Every key is used for exactly one expansion, so the fixed IV is safe; this
// replaces Flower's numpy PRG seeded with 32 bits (flwrlabs/flower#7522).
import { createCipheriv, hkdfSync } from 'node:crypto';
import { maskKernel } from './mask-kernel.js';

const ZERO_IV = Buffer.alloc(16);
let zeros = Buffer.alloc(0);
const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `bytes` bytes of AES-256-CTR keystream under `key` from `initialCounter` (default: block 0). */
export function aesCtrKeystream(key: Uint8Array, bytes: number, initialCounter: Uint8Array = ZERO_IV): Buffer {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError('AES-256 key must be 32 bytes');
  if (initialCounter.length !== 16) throw new RangeError('the initial counter block must be 16 bytes');
  if (zeros.length < bytes) zeros = Buffer.alloc(bytes);
  const cipher = createCipheriv('aes-256-ctr', key, initialCounter);
  const out = cipher.update(zeros.subarray(0, bytes));
  cipher.final();
  return out;
}

/** The mask PRG: `words` uint32 words, little-endian, from AES-256-CTR under `key`. */
export function expandMask(key: Uint8Array, words: number): Uint32Array {
  const stream = aesCtrKeystream(key, 4 * words);
  if (isLittleEndian && stream.byteOffset % 4 === 0) return new Uint32Array(stream.buffer, stream.byteOffset, words);
  const out = new Uint32Array(words);
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  for (let i = 0; i < words; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

/** acc += sign · PRG(key), word-wise mod 2^32. */
export function addMask(acc: Uint32Array, key: Uint8Array, sign: 1 | -1): void {
  const mask = expandMask(key, acc.length);
  if (sign === 1) for (let i = 0; i < acc.length; i++) acc[i] += mask[i];
  else for (let i = 0; i < acc.length; i++) acc[i] -= mask[i];
}

/** A mask to add (sign 1) or subtract (sign −1): PRG(key) over the whole vector. */
export interface MaskTerm {
  readonly key: Uint8Array;
  readonly sign: 1 | -1;
}

/** The keys and signs of `terms`, each key checked. */
export function maskKeysAndSigns(terms: readonly MaskTerm[]): { keys: Uint8Array[]; signs: (1 | -1)[] } {
  for (const t of terms)
    if (!(t.key instanceof Uint8Array) || t.key.length !== 32) throw new RangeError('AES-256 key must be 32 bytes');
  return { keys: terms.map((t) => t.key), signs: terms.map((t) => t.sign) };
}

/** Checks a keystream word range: start on a 4-word counter block, inside the vector. */
function checkWordRange(length: number, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || start < 0 || start % 4 !== 0)
    throw new RangeError('a keystream slice must start on a 4-word counter block');
  if (!Number.isSafeInteger(end) || end > length) throw new RangeError('a keystream slice must end inside the vector');
}

/**
 * acc += Σ sign · PRG(key) mod 2^32 for many masks at once, over acc's words [start, end) of the keystreams
 * (start a multiple of 4; AES-CTR is seekable, NIST SP 800-38A §6.5). Streams one cipher per key chunk by chunk,
 * so each accumulator chunk is loaded once per four masks and no mask is ever materialised whole.
 */
export function addMasks(acc: Uint32Array, terms: readonly MaskTerm[], start = 0, end: number = acc.length): void {
  checkWordRange(acc.length, start, end);
  const { keys, signs } = maskKeysAndSigns(terms);
  if (end > start) maskKernel.addMasks(acc, keys, signs, start, end);
}

const utf8 = new TextEncoder();

/** Domain-separated HKDF `info`: label ‖ len(jobId) ‖ jobId ‖ round ‖ ids (uint32 big-endian). */
export function kdfInfo(label: string, jobId: string, round: number, ...ids: number[]): Uint8Array {
  const l = utf8.encode(label);
  const j = utf8.encode(jobId);
  const out = new Uint8Array(l.length + 1 + 1 + j.length + 4 + 4 * ids.length);
  const view = new DataView(out.buffer);
  out.set(l, 0);
  let o = l.length;
  out[o++] = 0; // label terminator
  out[o++] = j.length;
  out.set(j, o);
  o += j.length;
  view.setUint32(o, round);
  o += 4;
  for (const id of ids) {
    view.setUint32(o, id);
    o += 4;
  }
  return out;
}

/** HKDF-SHA256 (RFC 5869) with an empty salt to a 32-byte key. */
export function hkdf32(ikm: Uint8Array, info: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, new Uint8Array(0), info, 32));
}

export const LABELS = Object.freeze({
  pairwiseMask: 'sealfold/secagg/v1/pairwise-mask',
  selfMask: 'sealfold/secagg/v1/self-mask',
  shareEncryption: 'sealfold/secagg/v1/share-encryption',
  graph: 'sealfold/secagg/v1/graph',
});

/** Key of the pairwise mask between u and v: HKDF(X25519(s_u, s_v), info with both ids in increasing order). */
export const pairwiseMaskKey = (shared: Uint8Array, jobId: string, round: number, u: number, v: number) =>
  hkdf32(shared, kdfInfo(LABELS.pairwiseMask, jobId, round, Math.min(u, v), Math.max(u, v)));

/** Key of u's self mask from its seed b_u. */
export const selfMaskKey = (seed: Uint8Array, jobId: string, round: number, u: number) =>
  hkdf32(seed, kdfInfo(LABELS.selfMask, jobId, round, u));

/** AES-256-GCM key for the share bundles between u and v. */
export const shareEncryptionKey = (shared: Uint8Array, jobId: string, round: number, u: number, v: number) =>
  hkdf32(shared, kdfInfo(LABELS.shareEncryption, jobId, round, Math.min(u, v), Math.max(u, v)));

/** Pairwise mask sign: the smaller id adds, the larger subtracts, so the pair cancels in the sum. */
export const pairwiseSign = (self: number, peer: number): 1 | -1 => (self < peer ? 1 : -1);
