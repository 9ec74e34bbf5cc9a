// Stream front ends of the inspector: one pass over the bytes, optionally passing the raw bytes on (tee) so a caller
// can encrypt and store them in the same pass while the dataset is validated.
import { Transform, type TransformCallback } from 'node:stream';
import { CsvInspector, type InspectOptions, type InspectResult } from './inspector.js';
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
