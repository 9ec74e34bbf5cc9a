// The inspector's worker thread (inspect.ts inspectCsvTee): parses and validates the chunks the sealing thread posts
// while that thread encrypts and stores them. Messages in: { chunk, literal? } (raw bytes, still gzip if the input
// was; `literal` gives back the buffer of an earlier hand-back's literal), then { end: true }. Out: { ack, commitment? }
// after each chunk was inspected, then { result, commitment? } or { error } (a DatasetError as plain fields:
// structured clone drops its class). For plain CSV the commitment's SHA-256 runs on the sealing thread, which has spare
// CPU while this one is the bound: `commitment` hands back the chunks parsed (the tokenizer copied them) with the
// CommitmentPlan taken since the last message; that thread replays it over those bytes (commitment.ts
// CommitmentReplay) and reuses the buffers, the literal's too. gzip input is hashed here, as it is decompressed here.
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

/** Plain CSV: what the sealing thread hashes (CommitmentPlan.take) and the raw chunks it hashes it against. */
export interface CommitmentHandBack {
  /** Input position of `raw[0]`; the others follow on. */
  readonly at: number;
  /** The chunks received since the last hand-back, in order (their buffers transferred back). */
  readonly raw: Uint8Array[];
  readonly ops: Float64Array;
  readonly literal: Uint8Array;
  /** No later range starts before this input position (CommitmentReplay.release). */
  readonly pendingFrom: number;
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
  const { CommitmentPlan } = await import('./commitment.js');
  const { createDecoder } = await import('./source.js');
  const inspector = new CsvInspector(data.options);
  const plan = new CommitmentPlan();
  let started = false;
  const decoder = createDecoder((b) => {
    // The first bytes the inspector sees tell whether the input is plain (decided before them).
    if (!started && decoder.mode === 'plain') inspector.deferCommitment(plan);
    started = true;
    inspector.push(b);
  });
  /** Plain or undecided input: the chunks received and not handed back yet, and the input position of the first. */
  let held: Uint8Array[] = [];
  let heldAt = 0;
  const handBack = (): [{ commitment?: CommitmentHandBack }, ArrayBuffer[]] => {
    if (decoder.mode !== 'plain') {
      // gzip: zlib may still hold the chunks, and the commitment is hashed here.
      if (decoder.mode === 'gzip') held = [];
      return [{}, []];
    }
    const raw = held;
    const at = heldAt;
    for (const r of raw) heldAt += r.length;
    held = [];
    const { ops, literal } = plan.take();
    const commitment = { at, raw, ops, literal, pendingFrom: inspector.pendingFrom };
    return [{ commitment }, [...raw.map((r) => r.buffer as ArrayBuffer), literal.buffer as ArrayBuffer]];
  };
  let failed = false;
  // One message at a time, in order: a chunk's gunzip may wait for drain.
  let queue = Promise.resolve();
  port.on('message', (m: { chunk?: Uint8Array; literal?: Uint8Array; end?: true }) => {
    queue = queue.then(async () => {
      if (failed) return;
      try {
        // A literal buffer handed back after its bytes were hashed (CRLF and quoted records): reused for the next.
        if (m.literal) plan.reuse(m.literal);
        if (m.chunk) {
          held.push(m.chunk);
          const wait = decoder.write(m.chunk);
          if (wait) await wait;
          // Plain CSV: the tokenizer copied the chunk, so it goes back (to be hashed, then reused). Not after gzip
          // (zlib may still hold it), nor while the decoder still sniffs for the gzip magic (it keeps a 1-byte start).
          const [extra, transfer] = handBack();
          port.postMessage({ ack: m.chunk.length, ...extra }, transfer);
        } else if (m.end) {
          await decoder.end();
          const result = inspector.finish();
          const { refusal, ...rest } = result;
          const [extra, transfer] = handBack();
          port.postMessage(
            { result: rest, ...(refusal ? { refusal: serializeError(refusal) } : {}), ...extra },
            transfer,
          );
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
