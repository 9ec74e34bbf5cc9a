// Stream front ends of the inspector: one pass over the bytes, optionally passing the raw bytes on (tee) so a caller
// can encrypt and store them in the same pass while the dataset is validated.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CommitmentReplay } from './commitment.js';
import { DatasetError, type DatasetErrorCode } from './errors.js';
import { CsvInspector, type InspectOptions, type InspectResult } from './inspector.js';
import type { CommitmentHandBack, InspectWorkerData, SerializedError } from './inspect-worker.js';
import { bytesOf, createDecoder, type ByteSource } from './source.js';

/** Parses and validates the whole source (plain or gzip CSV) and returns schema, rows, classes and commitment. */
export async function inspectCsv(source: ByteSource, options: InspectOptions): Promise<InspectResult> {
  const inspector = new CsvInspector(options);
  const decoder = createDecoder((b) => inspector.push(b));
  for await (const chunk of bytesOf(source)) {
    const wait = decoder.write(chunk);
    if (wait) await wait;
  }
  await decoder.end();
  return inspector.finish();
}

export interface InspectTee {
  /** The raw input bytes, unchanged (still gzip if the input was). Throws as soon as the dataset is refused. */
  readonly bytes: AsyncIterable<Uint8Array>;
  /**
   * Settles after `bytes` has been consumed to its end: the inspection result, or the DatasetError. Consumers must
   * treat their output as invalid until this resolves (`bytes` rethrows the same error, so a pipeline aborts).
   */
  readonly result: Promise<InspectResult>;
}

/**
 * Inspects while passing the raw bytes on: `for await (const c of tee.bytes) encrypt(c)`, then `await tee.result`.
 * The last raw chunk is yielded only after the whole input has been validated, so a consumer that reaches the end of
 * `bytes` without an error has a valid dataset.
 */
export function inspectCsvTee(source: ByteSource, options: InspectOptions): InspectTee {
  let resolve!: (r: InspectResult) => void;
  let reject!: (e: unknown) => void;
  const result = new Promise<InspectResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Don't let an unobserved rejection crash the process: `bytes` rethrows the same error to the consumer.
  result.catch(() => {});
  const worker = inspectWorkerUrl();
  if (worker) return { bytes: threadedBytes(source, options, worker, resolve, reject), result };
  const inspector = new CsvInspector(options);
  const decoder = createDecoder((b) => inspector.push(b));
  async function* bytes(): AsyncGenerator<Uint8Array> {
    try {
      let held: Uint8Array | null = null;
      for await (const chunk of bytesOf(source)) {
        const wait = decoder.write(chunk);
        if (wait) await wait;
        if (held) yield held;
        held = chunk;
      }
      await decoder.end();
      const r = inspector.finish();
      if (held) yield held;
      resolve(r);
    } catch (e) {
      reject(e);
      throw e;
    }
  }
  return { bytes: bytes(), result };
}

/**
 * Raw bytes the worker has been sent but not yet inspected, at most (bounds memory; then the tee waits). Enough to
 * keep the worker busy through the sealing thread's slower chunks (a store flush): 8 MiB gave ~10 % more end to end
 * than 4 over twelve interleaved 1 GB runs each, at the same peak RSS (bench ingest).
 */
const WORKER_MAX_IN_FLIGHT = 8 << 20;
const MIN_COPY_BUFFER = 64 << 10;

/**
 * The compiled worker beside this module, or null where there is none (jest runs the TypeScript sources) or a single
 * core: the tee then inspects on the calling thread, with the same results and errors.
 */
function inspectWorkerUrl(): URL | null {
  // With one core the worker only adds a copy per chunk and a thread's memory.
  if (availableParallelism() < 2) return null;
  const url = new URL('./inspect-worker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : null;
}

/** Rebuilds a DatasetError from its fields (its message already carries the "line L, column C: " prefix). */
function deserializeError(e: SerializedError): Error {
  if (!e.dataset) return new Error(`dataset inspector worker failed: ${e.message}`);
  const prefix = e.line === undefined ? '' : `line ${e.line}${e.column === undefined ? '' : `, column ${e.column}`}: `;
  const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return new DatasetError(e.code as DatasetErrorCode, message, e.line, e.column);
}

/**
 * The tee with the inspection on a worker thread: each chunk is copied to the worker, which parses and validates it
 * while this thread encrypts and stores the chunks before it (issue 16: parsing was the bound of `dataset add`). At
 * most WORKER_MAX_IN_FLIGHT bytes wait in the worker; the last chunk is yielded only after the worker's result, so the
 * guarantee of `inspectCsvTee` holds. A refusal surfaces at most that many bytes after the bad one was sent.
 */
async function* threadedBytes(
  source: ByteSource,
  options: InspectOptions,
  url: URL,
  resolve: (r: InspectResult) => void,
  reject: (e: unknown) => void,
): AsyncGenerator<Uint8Array> {
  const aliases: Record<string, string> = {};
  try {
    // Resolved by this thread's hooks (the `@sealfold/*` alias to dist/), which a worker does not inherit.
    aliases['@sealfold/protocol'] = import.meta.resolve('@sealfold/protocol');
  } catch {
    // resolvable by plain node resolution in the worker too
  }
  const data: InspectWorkerData = { options, aliases };
  const worker = new Worker(url, {
    workerData: { inspectWorker: data },
    // Not the parent's --import flags: the one hook it needs is registered by the worker itself.
    execArgv: [],
    // The parser allocates little per chunk: a small young generation keeps the thread's resident memory down.
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
  // Buffers the worker hands back after parsing (see inspect-worker.ts): reused for the next copies, so the worker's
  // heap is not left to collect one transferred buffer per chunk (V8 collects external memory only every ~64 MB).
  // Plain CSV: first the commitment is hashed from them here (this thread has spare CPU; the parse is the bound).
  const spare: ArrayBuffer[] = [];
  // The same for the commitment's literal bytes (CRLF and quoted records), hashed here: given back with the next chunk.
  const spareLiterals: Uint8Array[] = [];
  const replay = new CommitmentReplay();
  const replayed = (c: CommitmentHandBack) => {
    let at = c.at;
    for (const r of c.raw) {
      replay.add(at, r);
      at += r.length;
    }
    replay.apply(c.ops, c.literal);
    if (c.literal.byteLength > 0) spareLiterals.push(c.literal);
    for (const r of replay.release(c.pendingFrom)) spare.push(r.buffer as ArrayBuffer);
  };
  let acked = 0;
  let sent = 0;
  let failure: Error | null = null;
  let done: InspectResult | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  worker.on(
    'message',
    (m: {
      ack?: number;
      commitment?: CommitmentHandBack;
      result?: Omit<InspectResult, 'refusal'>;
      refusal?: SerializedError;
      error?: SerializedError;
    }) => {
      try {
        if (m.commitment) replayed(m.commitment);
      } catch (e) {
        failure ??= new Error(`dataset inspector worker: ${(e as Error).message}`, { cause: e });
      }
      if (m.ack !== undefined) acked += m.ack;
      else if (m.error) failure ??= deserializeError(m.error);
      else if (m.result) {
        // Plain CSV: the worker left the commitment to this thread (its last ranges came with the result).
        const r = m.commitment ? { ...m.result, commitment: replay.digestHex() } : m.result;
        done = m.refusal ? { ...r, refusal: deserializeError(m.refusal) as DatasetError } : r;
      }
      notify();
    },
  );
  worker.on('error', (e) => {
    failure ??= new Error(`dataset inspector worker failed: ${e.message}`, { cause: e });
    notify();
  });
  worker.on('exit', (code) => {
    if (done === null) failure ??= new Error(`dataset inspector worker exited (code ${code})`);
    notify();
  });
  const until = async (ready: () => boolean) => {
    for (;;) {
      if (failure) throw failure;
      if (ready()) return;
      await new Promise<void>((r) => (wake = r));
    }
  };
  try {
    let held: Uint8Array | null = null;
    for await (const chunk of bytesOf(source)) {
      if (failure) throw failure;
      // A copy the worker owns (this thread still encrypts `chunk`).
      let buffer = spare.pop();
      if (buffer === undefined || buffer.byteLength < chunk.length)
        buffer = new ArrayBuffer(Math.max(chunk.length, MIN_COPY_BUFFER));
      const copy = new Uint8Array(buffer, 0, chunk.length);
      copy.set(chunk);
      const literal = spareLiterals.pop();
      if (literal) worker.postMessage({ chunk: copy, literal }, [buffer, literal.buffer as ArrayBuffer]);
      else worker.postMessage({ chunk: copy }, [buffer]);
      sent += chunk.length;
      await until(() => sent - acked <= WORKER_MAX_IN_FLIGHT);
      if (held) yield held;
      held = chunk;
    }
    worker.postMessage({ end: true });
    await until(() => done !== null);
    if (held) yield held;
    resolve(done!);
  } catch (e) {
    reject(e);
    throw e;
  } finally {
    void worker.terminate();
  }
}

/**
 * A Node Transform that passes bytes through unchanged and inspects them; `result` settles when the stream ends.
 * The stream errors with the DatasetError when the data is refused (before its final chunk is pushed on).
 */
export function createInspectStream(options: InspectOptions): Transform & { readonly result: Promise<InspectResult> } {
  const inspector = new CsvInspector(options);
  const decoder = createDecoder((b) => inspector.push(b));
  let resolve!: (r: InspectResult) => void;
  let reject!: (e: unknown) => void;
  const result = new Promise<InspectResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  result.catch(() => {});
  let held: Uint8Array | null = null;
  const stream = new Transform({
    transform(chunk: Uint8Array, _enc: BufferEncoding, callback: TransformCallback) {
      Promise.resolve(decoder.write(chunk)).then(
        () => {
          const out = held;
          held = chunk;
          callback(null, out ?? undefined);
        },
        (e) => {
          reject(e);
          callback(e as Error);
        },
      );
    },
    flush(callback: TransformCallback) {
      decoder
        .end()
        .then(() => inspector.finish())
        .then(
          (r) => {
            if (held) this.push(held);
            resolve(r);
            callback();
          },
          (e) => {
            reject(e);
            callback(e as Error);
          },
        );
    },
  });
  return Object.assign(stream, { result });
}
