// Mask removal split across worker_threads: each worker adds Σ sign·PRG(key) over one slice of the vector.
// AES-256-CTR is seekable: word w lies in counter block ⌊w/4⌋, so a slice starting at a multiple of 4 words starts
// at counter block start/4 (NIST SP 800-38A §6.5, standard incrementing function over the whole 128-bit block).
import { Worker } from 'node:worker_threads';
import { addMasks, type MaskTerm } from './prg.js';

// Plain CommonJS so it runs from any build (tsc output, ts-jest) without a separate file.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv } = require('node:crypto');
const CHUNK = 16384;
const zeros = Buffer.alloc(4 * CHUNK);
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
parentPort.on('message', ({ buffer, start, end, keys, signs }) => {
  const acc = new Uint32Array(buffer, 4 * start, end - start);
  const iv = Buffer.alloc(16);
  const block = start / 4;
  iv.writeUInt32BE(Math.floor(block / 4294967296), 8);
  iv.writeUInt32BE(block >>> 0, 12);
  const ciphers = keys.map((k) => createCipheriv('aes-256-ctr', k, iv));
  for (let s = 0; s < acc.length; s += CHUNK) {
    const words = Math.min(CHUNK, acc.length - s);
    const part = acc.subarray(s, s + words);
    for (let j = 0; j < keys.length; j++) {
      const bytes = ciphers[j].update(zeros.subarray(0, 4 * words));
      let mask;
      if (littleEndian && bytes.byteOffset % 4 === 0) mask = new Uint32Array(bytes.buffer, bytes.byteOffset, words);
      else { mask = new Uint32Array(words); for (let i = 0; i < words; i++) mask[i] = bytes.readUInt32LE(4 * i); }
      if (signs[j] === 1) for (let i = 0; i < words; i++) part[i] += mask[i];
      else for (let i = 0; i < words; i++) part[i] -= mask[i];
    }
  }
  parentPort.postMessage(true);
});
`;

/** Below this many keystream words in total, starting workers costs more than it saves. */
export const PARALLEL_MIN_WORDS = 50_000_000;

/**
 * Same result as addMasks(acc, terms), computed by `workers` threads (1 = in this thread) when the work is at least
 * `minWords` keystream words.
 */
export async function addMasksParallel(
  acc: Uint32Array,
  terms: readonly MaskTerm[],
  workers: number,
  minWords = PARALLEL_MIN_WORDS,
): Promise<void> {
  const slices = Math.min(workers, Math.floor(acc.length / 4096));
  if (slices <= 1 || terms.length === 0 || terms.length * acc.length < minWords) return addMasks(acc, terms);
  const shared = new Uint32Array(new SharedArrayBuffer(4 * acc.length));
  shared.set(acc);
  const per = Math.ceil(acc.length / slices / 4) * 4; // slice starts on a counter-block boundary
  const keys = terms.map((t) => Uint8Array.from(t.key));
  const signs = terms.map((t) => t.sign);
  const pool: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: slices }, (_, i) => {
        const start = i * per;
        const end = Math.min(acc.length, start + per);
        const worker = new Worker(WORKER_SOURCE, { eval: true });
        pool.push(worker);
        return new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`mask worker exited with ${code}`)));
          worker.postMessage({ buffer: shared.buffer, start, end, keys, signs });
        });
      }),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  acc.set(shared);
}
