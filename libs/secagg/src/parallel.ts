// Mask expansion split across a persistent pool of worker_threads: each thread adds Σ sign·PRG(key) over one slice
// of the vector, the calling thread taking the first. AES-256-CTR is seekable: word w lies in counter block ⌊w/4⌋,
// so a slice starting at a multiple of 4 words starts at counter block start/4 (NIST SP 800-38A §6.5, standard
// incrementing function over the whole 128-bit block). The pool starts on first use and is idle-unref'd, so it never
// keeps a process alive; `closeMaskWorkers()` ends it.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { addMasks, type MaskTerm } from './prg.js';

// Plain CommonJS so it runs from any build (tsc output, ts-jest) without a separate file. The same kernel as
// addMasks in prg.ts (parallel.spec checks both give identical sums).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv } = require('node:crypto');
const CHUNK = 16384;
const zeros = Buffer.alloc(4 * CHUNK);
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const scratch = [0, 1, 2, 3].map(() => new Uint32Array(CHUNK));
const wordsOf = (bytes, words, out) => {
  if (littleEndian && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, words);
  for (let i = 0; i < words; i++) out[i] = bytes.readUInt32LE(4 * i);
  return out;
};
function add4(p, a, b, c, d, n) { for (let i = 0; i < n; i++) p[i] += a[i] + b[i] + c[i] + d[i]; }
function sub4(p, a, b, c, d, n) { for (let i = 0; i < n; i++) p[i] -= a[i] + b[i] + c[i] + d[i]; }
function add1(p, a, n) { for (let i = 0; i < n; i++) p[i] += a[i]; }
function sub1(p, a, n) { for (let i = 0; i < n; i++) p[i] -= a[i]; }
parentPort.on('message', ({ job, buffer, byteOffset, length, start, end, keys, signs }) => {
  try {
    const acc = new Uint32Array(buffer, byteOffset, length);
    const iv = Buffer.alloc(16);
    const block = start / 4;
    iv.writeUInt32BE(Math.floor(block / 4294967296), 8);
    iv.writeUInt32BE(block >>> 0, 12);
    const plus = [], minus = [];
    keys.forEach((k, j) => (signs[j] === 1 ? plus : minus).push(createCipheriv('aes-256-ctr', k, iv)));
    for (let s = start; s < end; s += CHUNK) {
      const words = Math.min(CHUNK, end - s);
      const part = acc.subarray(s, s + words);
      const input = zeros.subarray(0, 4 * words);
      for (const [ciphers, four, one] of [[plus, add4, add1], [minus, sub4, sub1]]) {
        let j = 0;
        for (; j + 4 <= ciphers.length; j += 4)
          four(part, wordsOf(ciphers[j].update(input), words, scratch[0]), wordsOf(ciphers[j + 1].update(input), words, scratch[1]),
            wordsOf(ciphers[j + 2].update(input), words, scratch[2]), wordsOf(ciphers[j + 3].update(input), words, scratch[3]), words);
        for (; j < ciphers.length; j++) one(part, wordsOf(ciphers[j].update(input), words, scratch[0]), words);
      }
    }
    parentPort.postMessage({ job, ok: true });
  } catch (err) {
    parentPort.postMessage({ job, ok: false, error: String(err) });
  }
});
`;

/** Below this many keystream words in total (16 MB), handing slices to the pool costs more than it saves. */
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
 * Same result as addMasks(acc, terms), computed by `threads` threads (this one included; 1 = in this thread only)
 * when the work is at least `minWords` keystream words.
 */
export async function addMasksParallel(
  acc: Uint32Array,
  terms: readonly MaskTerm[],
  threads: number,
  minWords = PARALLEL_MIN_WORDS,
): Promise<void> {
  const slices = Math.min(threads, Math.floor(acc.length / 4096));
  if (slices <= 1 || terms.length === 0 || terms.length * acc.length < minWords) return addMasks(acc, terms);
  // Workers write into shared memory: use acc directly when it already lives there (no copies).
  const inShared = acc.buffer instanceof SharedArrayBuffer;
  const target = inShared ? acc : new Uint32Array(new SharedArrayBuffer(4 * acc.length));
  if (!inShared) target.set(acc);
  const per = Math.ceil(acc.length / slices / 4) * 4; // every slice starts on a counter-block boundary
  const keys = terms.map((t) => {
    if (!(t.key instanceof Uint8Array) || t.key.length !== 32) throw new RangeError('AES-256 key must be 32 bytes');
    return Uint8Array.from(t.key);
  });
  const signs = terms.map((t) => t.sign);
  prestartMaskWorkers(slices);
  const jobs: Promise<void>[] = [];
  for (let i = 1; i < slices; i++) {
    const start = i * per;
    const end = Math.min(acc.length, start + per);
    if (start >= end) break;
    const message = {
      buffer: target.buffer,
      byteOffset: target.byteOffset,
      length: target.length,
      start,
      end,
      keys,
      signs,
    };
    jobs.push(run(pool[(i - 1) % pool.length], message));
  }
  // The calling thread takes slice 0 meanwhile; a failed worker slice rejects the whole call.
  let local: unknown = null;
  try {
    addMasks(target, terms, 0, Math.min(acc.length, per));
  } catch (err) {
    local = err;
  }
  await Promise.all(jobs);
  if (local) throw local;
  if (!inShared) acc.set(target);
}
