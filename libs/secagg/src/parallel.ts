// Masking split across a persistent pool of worker_threads: each thread quantises and masks (client) or adds
// Σ sign·PRG(key) (server) over ranges of the vector it claims from a shared counter, the calling thread included.
// AES-256-CTR is seekable: word w lies in counter block ⌊w/4⌋, so a range starting at a multiple of 4 words starts at
// counter block start/4 (NIST SP 800-38A §6.5, standard incrementing function over the whole 128-bit block). The pool
// starts on first use and is idle-unref'd, so it never keeps a process alive; `closeMaskWorkers()` ends it.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SecAggParams } from '@sealfold/protocol';
import { MASK_KERNEL_SOURCE, maskKernel } from './mask-kernel.js';
import { addMasks, maskKeysAndSigns, type MaskTerm } from './prg.js';
import { checkWeightedUpdate } from './quantize.js';

// Plain CommonJS around the kernel's own source (mask-kernel.ts), so this thread and the workers run one code.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const kernel = (${MASK_KERNEL_SOURCE})(require('node:crypto').createCipheriv);
parentPort.on('message', (m) => {
  try {
    const out = new Uint32Array(m.buffer, m.byteOffset, m.length);
    const update = m.update ? new Float32Array(m.update) : null;
    kernel.claimRanges(new Int32Array(m.counter), m.length, m.claimWords, (start, end) => {
      if (update) kernel.maskedInput(update, m.weight, m.clip, m.bits, out, m.keys, m.signs, m.roundingKey, start, end);
      else kernel.addMasks(out, m.keys, m.signs, start, end);
    });
    parentPort.postMessage({ job: m.job, ok: true });
  } catch (err) {
    parentPort.postMessage({ job: m.job, ok: false, error: String(err) });
  }
});
`;

/** Below this many keystream words in total (16 MB), handing ranges to the pool costs more than it saves. */
export const PARALLEL_MIN_WORDS = 4_000_000;

/** Default thread count (the calling thread included) for mask expansion. */
export const defaultMaskThreads = (): number => Math.max(1, Math.min(availableParallelism(), 8));

interface PooledWorker {
  readonly worker: Worker;
  busy: number;
  readonly pending: Map<number, { resolve: () => void; reject: (e: Error) => void }>;
}

const pool: PooledWorker[] = [];
let nextJob = 1;

function spawn(): PooledWorker {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  const entry: PooledWorker = { worker, busy: 0, pending: new Map() };
  worker.unref();
  const fail = (err: Error) => {
    const at = pool.indexOf(entry);
    if (at >= 0) pool.splice(at, 1);
    for (const p of entry.pending.values()) p.reject(err);
    entry.pending.clear();
  };
  worker.on('message', (m: { job: number; ok: boolean; error?: string }) => {
    const p = entry.pending.get(m.job);
    if (!p) return;
    entry.pending.delete(m.job);
    if (--entry.busy === 0) worker.unref();
    if (m.ok) p.resolve();
    else p.reject(new Error(`mask worker failed: ${m.error}`));
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`mask worker exited with ${code}`)));
  pool.push(entry);
  return entry;
}

function run(entry: PooledWorker, message: Record<string, unknown>): Promise<void> {
  const job = nextJob++;
  return new Promise<void>((resolve, reject) => {
    entry.pending.set(job, { resolve, reject });
    if (entry.busy++ === 0) entry.worker.ref();
    entry.worker.postMessage({ job, ...message });
  });
}

/** Starts the pool ahead of the first parallel call (e.g. when a silo joins a job). */
export function prestartMaskWorkers(threads: number = defaultMaskThreads()): void {
  while (pool.length < threads - 1) spawn();
}

/** Ends every pool worker. */
export async function closeMaskWorkers(): Promise<void> {
  const all = pool.splice(0);
  await Promise.all(all.map((e) => e.worker.terminate()));
}

/**
 * Words per claimed range: a multiple of 4 (ranges start on counter blocks) and large enough that opening one cipher
 * per key per range (a few µs each) stays small next to the range's work.
 */
const CLAIM_WORDS = 4 * maskKernel.chunkWords;

/**
 * Runs `work(start, end)` over claimed ranges of [0, length) (kernel.claimRanges) on this thread and `threads − 1`
 * pool workers, each sent `message(counter, claimWords)`. A failed range rejects the whole call, after every thread
 * has stopped.
 */
async function runClaimed(
  length: number,
  threads: number,
  work: (start: number, end: number) => void,
  message: (counter: SharedArrayBuffer, claimWords: number) => Record<string, unknown>,
): Promise<void> {
  const counter = new SharedArrayBuffer(4);
  prestartMaskWorkers(threads);
  const jobs: Promise<void>[] = [];
  for (let i = 1; i < threads; i++) jobs.push(run(pool[(i - 1) % pool.length], message(counter, CLAIM_WORDS)));
  let failure: unknown = null;
  try {
    maskKernel.claimRanges(new Int32Array(counter), length, CLAIM_WORDS, work);
  } catch (err) {
    failure = err;
    Atomics.store(new Int32Array(counter), 0, 0x3fffffff); // nothing left to claim: the workers stop early
  }
  // Wait for every thread, even after a failure: the shared buffers go back to the pool only when no one writes.
  const settled = await Promise.allSettled(jobs);
  if (failure) throw failure;
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
}

// A fresh SharedArrayBuffer costs more than the work on it: measured here, +18 ms for 4 MB (it is mapped, zeroed and
// faulted in page by page, and only unmapped at a later GC). The buffers the workers share are scratch space, taken
// from and given back to this pool; callers always get their own plain ArrayBuffer back.
const scratchPool: SharedArrayBuffer[] = [];
const SCRATCH_POOL_BYTES = 128 * 1024 * 1024;
function takeScratch(bytes: number): SharedArrayBuffer {
  const at = scratchPool.findIndex((b) => b.byteLength === bytes);
  return at >= 0 ? scratchPool.splice(at, 1)[0] : new SharedArrayBuffer(bytes);
}
function giveBackScratch(buffer: SharedArrayBuffer): void {
  const held = scratchPool.reduce((sum, b) => sum + b.byteLength, 0);
  if (held + buffer.byteLength <= SCRATCH_POOL_BYTES) scratchPool.push(buffer);
}

// A key that is a view into a larger buffer (a pooled Buffer, say) would post that whole buffer: send copies.
const own = (keys: readonly Uint8Array[]) => keys.map((k) => Uint8Array.from(k));

/**
 * Same result as addMasks(acc, terms), computed by `threads` threads (this one included; 1 = in this thread only)
 * when the work is at least `minWords` keystream words.
 */
export async function addMasksParallel(
  acc: Uint32Array,
  terms: readonly MaskTerm[],
  threads: number,
  minWords = PARALLEL_MIN_WORDS,
): Promise<void> {
  const used = Math.min(threads, Math.ceil(acc.length / CLAIM_WORDS));
  if (used <= 1 || terms.length === 0 || terms.length * acc.length < minWords) return addMasks(acc, terms);
  const { keys, signs } = maskKeysAndSigns(terms);
  // Workers write into shared memory: use acc directly when it already lives there (no copies).
  const scratch = acc.buffer instanceof SharedArrayBuffer ? null : takeScratch(4 * acc.length);
  const target = scratch ? new Uint32Array(scratch) : acc;
  if (scratch) target.set(acc);
  const shared = {
    buffer: target.buffer,
    byteOffset: target.byteOffset,
    length: target.length,
    keys: own(keys),
    signs,
  };
  try {
    await runClaimed(
      acc.length,
      used,
      (start, end) => maskKernel.addMasks(target, keys, signs, start, end),
      (counter, claimWords) => ({ ...shared, counter, claimWords }),
    );
    if (scratch) acc.set(target);
  } finally {
    if (scratch) giveBackScratch(scratch);
  }
}

/**
 * The masked input of SecAgg+ stage 2 (Bonawitz et al. CCS 2017 §4, round 2; Bell et al. CCS 2020 §3):
 * y = (w·L(x) ‖ w) + PRG(b_u) + Σ_v ±PRG(s_{u,v}) mod 2^32, with L the stochastic quantisation of quantize.ts.
 * Quantisation and masking run fused, chunk by chunk, on `threads` threads (this one included) when the work is at
 * least `minWords` keystream words. `roundingKey` (default:
 * fresh random bytes) keys the rounding draws, so one key gives the same vector on any number of threads.
 */
export async function maskedInputParallel(
  update: ArrayLike<number>,
  weight: number,
  params: Pick<SecAggParams, 'clip' | 'bits' | 'd' | 'maxWeight'>,
  terms: readonly MaskTerm[],
  threads: number,
  options: { minWords?: number; roundingKey?: Uint8Array } = {},
): Promise<Uint32Array> {
  checkWeightedUpdate(update, weight, params);
  const { keys, signs } = maskKeysAndSigns(terms);
  const roundingKey = options.roundingKey ?? new Uint8Array(randomBytes(32));
  if (!(roundingKey instanceof Uint8Array) || roundingKey.length !== 32)
    throw new RangeError('the rounding key must be 32 bytes');
  const { clip, bits, d } = params;
  const words = d + 1;
  const used = Math.min(threads, Math.ceil(words / CLAIM_WORDS));
  if (used <= 1 || (terms.length + 1) * words < (options.minWords ?? PARALLEL_MIN_WORDS)) {
    const out = new Uint32Array(words);
    maskKernel.maskedInput(update, weight, clip, bits, out, keys, signs, roundingKey, 0, words);
    return out;
  }
  // The workers read the update from and write the vector to pooled shared memory; the caller gets a plain copy.
  const updateScratch = takeScratch(4 * d);
  const outScratch = takeScratch(4 * words);
  try {
    const sharedUpdate = new Float32Array(updateScratch);
    sharedUpdate.set(update);
    const shared = new Uint32Array(outScratch);
    const message = {
      buffer: outScratch,
      byteOffset: 0,
      length: words,
      update: updateScratch,
      weight,
      clip,
      bits,
      keys: own(keys),
      signs,
      roundingKey: Uint8Array.from(roundingKey),
    };
    await runClaimed(
      words,
      used,
      (start, end) =>
        maskKernel.maskedInput(sharedUpdate, weight, clip, bits, shared, keys, signs, roundingKey, start, end),
      (counter, claimWords) => ({ ...message, counter, claimWords }),
    );
    return shared.slice(); // a memcpy into a plain ArrayBuffer
  } finally {
    giveBackScratch(updateScratch);
    giveBackScratch(outScratch);
  }
}
