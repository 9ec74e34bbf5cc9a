// The masking kernel: stochastic quantisation and AES-256-CTR mask expansion over a range of words, in one
// self-contained factory so that the same code runs in the calling thread and, through its source text, in the
// worker pool (parallel.ts). The factory body must reference nothing outside itself but its parameter and the
// global Buffer: the worker evaluates `createMaskKernel.toString()`. (So do not run it under a coverage
// instrumenter that rewrites function bodies; parallel.spec would fail loudly if one did.)
//
// PRG: AES-256-CTR over zero bytes (NIST SP 800-38A §6.5) with a zero initial counter block; the standard
// incrementing function runs over the whole 128-bit block, so word w of a keystream lies in block ⌊w/4⌋ and a range
// starting at a multiple of 4 words starts at counter block start/4. Every key is used for exactly one expansion.
import { createCipheriv } from 'node:crypto';

/** The kernel's operations; arguments are checked by the callers in prg.ts, quantize.ts and parallel.ts. */
export interface MaskKernel {
  /** Words per chunk: the accumulator chunk stays in cache while every mask is added to it. */
  readonly chunkWords: number;
  /** The initial counter block of keystream word `word` (a multiple of 4): block ⌊word/4⌋, big-endian 128-bit. */
  counterBlock(word: number): Buffer;
  /** acc[start, end) += Σ_j sign_j · PRG(key_j)[start, end) mod 2^32, with start a multiple of 4. */
  addMasks(acc: Uint32Array, keys: readonly Uint8Array[], signs: readonly number[], start: number, end: number): void;
  /**
   * out[i] = weight · L(update[i]) for i in [from, to), with random[i − from] the uniform uint32 rounding draw:
   * L(x) = ⌊(clip(x) + c) · (2^q − 1)/(2c) + u⌋ with u = random/2^32 ∈ [0, 1) (stochastic rounding, unbiased).
   */
  quantiseRange(
    update: ArrayLike<number>,
    weight: number,
    out: Uint32Array,
    random: Uint32Array,
    from: number,
    to: number,
    clip: number,
    bits: number,
  ): void;
  /**
   * Words [start, end) of the masked input y = (w·L(x) ‖ w) + Σ_j sign_j · PRG(key_j) mod 2^32, where
   * d = out.length − 1 and the rounding draws are the AES-256-CTR keystream of `roundingKey` (word i for
   * coordinate i), so any split of [0, d + 1) into ranges gives the same vector as one pass.
   */
  /**
   * Calls work(start, end) for ranges [i·claimWords, (i + 1)·claimWords) ∩ [0, length), taking i from the shared
   * counter (Atomics.add) until none is left: the threads that share `counter` split the vector between them, and a
   * faster thread (one that is not also collecting garbage, say) takes more of it.
   */
  claimRanges(
    counter: Int32Array,
    length: number,
    claimWords: number,
    work: (start: number, end: number) => void,
  ): void;
  maskedInput(
    update: ArrayLike<number>,
    weight: number,
    clip: number,
    bits: number,
    out: Uint32Array,
    keys: readonly Uint8Array[],
    signs: readonly number[],
    roundingKey: Uint8Array,
    start: number,
    end: number,
  ): void;
}

export function createMaskKernel(cipheriv: typeof createCipheriv): MaskKernel {
  const CHUNK = 16_384; // 64 KiB of keystream per cipher call: node's sweet spot for cipher.update
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const zeros = Buffer.alloc(4 * CHUNK);
  const scratch = [0, 1, 2, 3, 4].map(() => new Uint32Array(CHUNK));

  function counterBlock(word: number): Buffer {
    const iv = Buffer.alloc(16);
    const block = word / 4;
    iv.writeUInt32BE(Math.floor(block / 4294967296), 8);
    iv.writeUInt32BE(block >>> 0, 12);
    return iv;
  }
  /** The next `n` keystream words of `cipher`, as little-endian uint32 (a view when the platform allows). */
  function next(cipher: ReturnType<typeof cipheriv>, n: number, out: Uint32Array): Uint32Array {
    const bytes = cipher.update(zeros.subarray(0, 4 * n));
    if (littleEndian && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = bytes.readUInt32LE(4 * i);
    return out;
  }
  // Four keystreams per pass over the accumulator chunk quarter its loads and stores (the loop is memory-bound);
  // plus-streams come first and minus-streams last, so a group of four has its m minus-streams at its end.
  type Add4 = (p: Uint32Array, a: Uint32Array, b: Uint32Array, c: Uint32Array, d: Uint32Array, n: number) => void;
  const addGroup: Add4[] = [
    (p, a, b, c, d, n) => {
      for (let i = 0; i < n; i++) p[i] += a[i] + b[i] + c[i] + d[i];
    },
    (p, a, b, c, d, n) => {
      for (let i = 0; i < n; i++) p[i] += a[i] + b[i] + c[i] - d[i];
    },
    (p, a, b, c, d, n) => {
      for (let i = 0; i < n; i++) p[i] += a[i] + b[i] - c[i] - d[i];
    },
    (p, a, b, c, d, n) => {
      for (let i = 0; i < n; i++) p[i] += a[i] - b[i] - c[i] - d[i];
    },
    (p, a, b, c, d, n) => {
      for (let i = 0; i < n; i++) p[i] -= a[i] + b[i] + c[i] + d[i];
    },
  ];
  const zeroWords = new Uint32Array(CHUNK); // pads the stream count to a multiple of four
  type Ciphers = ReturnType<typeof cipheriv>[];
  function open(keys: readonly Uint8Array[], signs: readonly number[], start: number) {
    const iv = counterBlock(start);
    const plus: Ciphers = [];
    const minus: Ciphers = [];
    for (let j = 0; j < keys.length; j++) (signs[j] === 1 ? plus : minus).push(cipheriv('aes-256-ctr', keys[j], iv));
    return { plus, minus };
  }
  /** part += Σ PRG(plus) − Σ PRG(minus) over the ciphers' next `n` words, four streams per pass. */
  function maskChunk(part: Uint32Array, plus: Ciphers, minus: Ciphers, n: number) {
    const streams = plus.length + minus.length;
    const pad = (4 - (streams % 4)) % 4; // zero streams first, then plus, then minus
    const firstMinus = pad + plus.length;
    const stream = (k: number, slot: number) =>
      k < pad
        ? zeroWords
        : k < firstMinus
          ? next(plus[k - pad], n, scratch[slot])
          : next(minus[k - firstMinus], n, scratch[slot]);
    for (let k = 0; k < pad + streams; k += 4) {
      const minusInGroup = Math.max(0, Math.min(4, k + 4 - firstMinus));
      addGroup[minusInGroup](part, stream(k, 0), stream(k + 1, 1), stream(k + 2, 2), stream(k + 3, 3), n);
    }
  }
  function addMasks(
    acc: Uint32Array,
    keys: readonly Uint8Array[],
    signs: readonly number[],
    start: number,
    end: number,
  ) {
    if (keys.length === 0) return;
    const { plus, minus } = open(keys, signs, start);
    for (let s = start; s < end; s += CHUNK) {
      const n = Math.min(CHUNK, end - s);
      maskChunk(acc.subarray(s, s + n), plus, minus, n);
    }
  }
  const quantiseRange: MaskKernel['quantiseRange'] = (update, weight, out, random, from, to, clip, bits) => {
    const levels = 2 ** bits - 1;
    const scale = levels / (2 * clip);
    const offset = clip * scale;
    const inv32 = 2 ** -32;
    for (let i = from; i < to; i++) {
      let x = update[i];
      if (x !== x) x = 0; // NaN → 0
      // y = (x + c)·scale + u; outside [−c, c] the clamp below gives exactly the level of the clipped value
      // (x < −c: y < u < 1 → 0; x > c: y ≥ 2^q − 1 → 2^q − 1), and it keeps y | 0 within int32.
      const y = x * scale + offset + random[i - from] * inv32;
      out[i] = Math.imul(weight, y >= levels ? levels : y > 0 ? y | 0 : 0);
    }
  };
  const maskedInput: MaskKernel['maskedInput'] = (
    update,
    weight,
    clip,
    bits,
    out,
    keys,
    signs,
    roundingKey,
    start,
    end,
  ) => {
    const d = out.length - 1;
    const { plus, minus } = open(keys, signs, start);
    const rounding = cipheriv('aes-256-ctr', roundingKey, counterBlock(start));
    for (let s = start; s < end; s += CHUNK) {
      const n = Math.min(CHUNK, end - s);
      const coordinates = Math.min(n, d - s);
      if (coordinates > 0)
        quantiseRange(update, weight, out, next(rounding, coordinates, scratch[4]), s, s + coordinates, clip, bits);
      if (coordinates < n) out[d] = weight;
      maskChunk(out.subarray(s, s + n), plus, minus, n);
    }
  };
  function claimRanges(counter: Int32Array, length: number, claimWords: number, work: (s: number, e: number) => void) {
    for (;;) {
      const start = Atomics.add(counter, 0, 1) * claimWords;
      if (start >= length) return;
      work(start, Math.min(length, start + claimWords));
    }
  }
  return { chunkWords: CHUNK, counterBlock, addMasks, quantiseRange, maskedInput, claimRanges };
}

/** The kernel for this thread. */
export const maskKernel: MaskKernel = createMaskKernel(createCipheriv);

/** Source text of the factory, evaluated by the worker pool. */
export const MASK_KERNEL_SOURCE: string = createMaskKernel.toString();
