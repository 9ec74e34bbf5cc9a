// V8 settings for a process that streams one large file through: `sealfold dataset add` of a large file, `sealfold
// dataset reseal`, and `npm run bench -- ingest` (issue 16: peak RSS ≤ 200 MB for a 1 GB file).
//
// Ingest allocates many short-lived objects (chunks, cipher blocks, IPFS blocks); V8 grows each young-generation
// semi-space up to 16 MiB, and once grown that memory stays resident although little of it is live at a time. With
// 2 MiB semi-spaces the ingesting process's peak RSS drops by ~30 MB at the same throughput (numbers in
// docs/ARCHITECTURE.md, "Ingest"). The semi-space size is read only when V8 starts: v8.setFlagsFromString at run time
// leaves the new space as it is. So the CLI re-executes itself once with the flag, and the bench starts its measured
// process with the same flags. Plain JavaScript with no imports beyond node: (bin/sealfold.mjs loads it before building).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { reexecSelf } from './reexec.mjs';

/** Node flags for an ingesting process. */
export const INGEST_NODE_FLAGS = ['--max-semi-space-size=2'];

/** `dataset add` of a file at least this large re-executes with INGEST_NODE_FLAGS; a smaller one is not worth it. */
export const LARGE_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * The flags to add for a process started with `execArgv` and `env`: none when SEALFOLD_NO_INGEST_TUNING=1, or when
 * the operator chose a semi-space size already (on the command line or in NODE_OPTIONS).
 */
export function ingestNodeFlags(execArgv = process.execArgv, env = process.env) {
  if (env.SEALFOLD_NO_INGEST_TUNING === '1') return [];
  const chosen = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
    a.startsWith('--max-semi-space-size'),
  );
  return chosen ? [] : INGEST_NODE_FLAGS;
}

/**
 * The bytes an ingest of `path` (a file of `size` bytes) streams: for a gzip file, the larger of its size and its
 * trailer's ISIZE, "the size of the original (uncompressed) input data modulo 2^32" (RFC 1952 §2.3.1; the last
 * member's, so a lower bound for a multi-member file). Else the file's size.
 */
export function ingestBytes(path, size) {
  if (size < 18) return size; // a gzip member is at least a 10-byte header and an 8-byte trailer
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    readSync(fd, head, 0, 2, 0);
    if (head[0] !== 0x1f || head[1] !== 0x8b) return size; // ID1, ID2 (RFC 1952 §2.3.1)
    const trailer = Buffer.alloc(4);
    readSync(fd, trailer, 0, 4, size - 4);
    return Math.max(size, trailer.readUInt32LE(0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether CLI arguments ask for an ingest that benefits from INGEST_NODE_FLAGS: `dataset reseal` (the input's size is
 * known only once its manifest is fetched), or `dataset add` naming a file (relative to `cwd`) whose ingest streams at
 * least LARGE_INPUT_BYTES (ingestBytes: a gzip file counts its uncompressed size). Options may sit anywhere, so every
 * word after `add` that is an existing file counts.
 */
export function isLargeIngest(args, cwd = process.cwd()) {
  const words = args.filter((a) => !a.startsWith('-'));
  const at = words.findIndex((w, i) => w === 'dataset' && (words[i + 1] === 'add' || words[i + 1] === 'reseal'));
  if (at < 0) return false;
  if (words[at + 1] === 'reseal') return true;
  return words.slice(at + 2).some((w) => {
    try {
      const path = resolve(cwd, w);
      const s = statSync(path);
      return s.isFile() && ingestBytes(path, s.size) >= LARGE_INPUT_BYTES;
    } catch {
      return false;
    }
  });
}

/**
 * Re-executes this process in place (scripts/reexec.mjs) with the ingest flags, unless they (or the operator's own
 * choice) are in effect already. Call it before anything else runs.
 */
export function ensureIngestTuning() {
  const flags = ingestNodeFlags();
  if (flags.length > 0) reexecSelf({ flags });
}
