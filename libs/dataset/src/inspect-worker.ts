// The inspector's worker thread (inspect.ts inspectCsvTee): parses and validates the chunks the sealing thread posts
// while that thread encrypts and stores them. Messages in: { chunk } (raw bytes, still gzip if the input was), then
// { end: true }. Out: { ack, spare? } after each chunk was inspected (spare: its buffer, back for reuse), then { result } or { error } (a DatasetError as plain
// fields: structured clone drops its class).
//
// Module hooks registered by the parent (the `@sealfold/*` alias to the compiled libs) do not reach a worker, so the
// parent passes what `@sealfold/protocol` resolves to and this file registers that one mapping before importing the
// inspector (dynamic imports: static ones would resolve before the hook exists).
import { registerHooks } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { InspectOptions } from './inspector.js';

/** What the parent passes as workerData. */
export interface InspectWorkerData {
  readonly options: InspectOptions;
  /** Bare specifier → URL, as the parent resolves them. */
  readonly aliases: Readonly<Record<string, string>>;
}

/** A thrown value as plain fields (inspect.ts rebuilds the DatasetError). */
export interface SerializedError {
  readonly dataset: boolean;
  readonly code?: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export function serializeError(e: unknown): SerializedError {
  const d = e as { name?: string; code?: string; message?: string; line?: number; column?: number };
  if (d?.name === 'DatasetError')
    return { dataset: true, code: d.code, message: d.message ?? '', line: d.line, column: d.column };
  return { dataset: false, message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

async function run(port: NonNullable<typeof parentPort>, data: InspectWorkerData): Promise<void> {
  const aliases = data.aliases;
  // In-thread hooks (registerHooks): `register` would start one more thread, with its own heap, just to resolve this.
  if (Object.keys(aliases).length > 0)
    registerHooks({
      resolve: (specifier, context, next) =>
        Object.hasOwn(aliases, specifier) ? { url: aliases[specifier], shortCircuit: true } : next(specifier, context),
    });
  const { CsvInspector } = await import('./inspector.js');
  const { createDecoder } = await import('./source.js');
  const inspector = new CsvInspector(data.options);
  const decoder = createDecoder((b) => inspector.push(b));
  let failed = false;
  // One message at a time, in order: a chunk's gunzip may wait for drain.
  let queue = Promise.resolve();
  port.on('message', (m: { chunk?: Uint8Array; end?: true }) => {
    queue = queue.then(async () => {
      if (failed) return;
      try {
        if (m.chunk) {
          const wait = decoder.write(m.chunk);
          if (wait) {
            await wait;
            port.postMessage({ ack: m.chunk.length });
          } else if (m.chunk.length >= 2) {
            // Plain CSV: the tokenizer copied the chunk, so its buffer goes back for reuse. Not after gzip (zlib may
            // still hold it) nor a 1-byte first chunk (the decoder keeps it while sniffing for the gzip magic).
            port.postMessage({ ack: m.chunk.length, spare: m.chunk.buffer }, [m.chunk.buffer as ArrayBuffer]);
          } else port.postMessage({ ack: m.chunk.length });
        } else if (m.end) {
          await decoder.end();
          const result = inspector.finish();
          const { refusal, ...rest } = result;
          port.postMessage({ result: rest, ...(refusal ? { refusal: serializeError(refusal) } : {}) });
        }
      } catch (e) {
        failed = true;
        port.postMessage({ error: serializeError(e) });
      }
    });
  });
}

if (parentPort && (workerData as { inspectWorker?: InspectWorkerData } | null)?.inspectWorker)
  await run(parentPort, (workerData as { inspectWorker: InspectWorkerData }).inspectWorker);
