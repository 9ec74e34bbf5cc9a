// Byte sources and gzip detection (RFC 1952 §2.3.1: a gzip member starts with ID1 = 0x1f, ID2 = 0x8b).
import { bytesOf as sharedBytesOf, type ByteSource } from '@sealfold/protocol';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import { DatasetError } from './errors.js';

export type { ByteSource };

export const bytesOf = (source: ByteSource): AsyncGenerator<Uint8Array> =>
  sharedBytesOf(source, (message) => new DatasetError('INVALID_INPUT', message));

export const isGzip = (head: Uint8Array): boolean => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/**
 * Feeds raw bytes to `sink` after gunzip when the stream is gzip. `write` returns a promise to await before the next
 * chunk (backpressure); `end` resolves once every decompressed byte reached the sink, and rethrows its errors.
 */
export interface Decoder {
  write(chunk: Uint8Array): Promise<void> | void;
  end(): Promise<void>;
  /** 'plain': written bytes reach `sink` as they are; 'unknown' until the first two bytes tell gzip from plain. */
  readonly mode: 'unknown' | 'plain' | 'gzip';
}

/** A decoder that detects gzip from the first two bytes and otherwise passes bytes straight to `sink`. */
export function createDecoder(sink: (bytes: Uint8Array) => void): Decoder {
  let mode: 'unknown' | 'plain' | 'gzip' = 'unknown';
  let head: Uint8Array | null = null;
  let gunzip: ReturnType<typeof createGunzip> | null = null;
  let failure: unknown = null;
  let done: Promise<void> | null = null;

  const startGzip = () => {
    const g = createGunzip();
    g.on('data', (b: Buffer) => {
      if (failure) return;
      try {
        sink(b);
      } catch (e) {
        failure = e;
        g.destroy();
      }
    });
    done = new Promise<void>((resolve) => {
      g.once('end', resolve);
      g.once('close', resolve);
      g.once('error', (e) => {
        failure ??= new DatasetError('BAD_GZIP', `gzip stream is corrupt: ${e.message}`);
        resolve();
      });
    });
    gunzip = g;
  };

  const route = async (chunk: Uint8Array): Promise<void> => {
    if (failure) throw failure;
    if (mode === 'plain') sink(chunk);
    else if (gunzip && !gunzip.destroyed) {
      if (!gunzip.write(chunk)) await Promise.race([once(gunzip, 'drain'), done]);
    }
    if (failure) throw failure;
  };

  return {
    get mode() {
      return mode;
    },
    write(chunk) {
      if (mode === 'unknown') {
        head = head ? Buffer.concat([head, chunk]) : chunk;
        if (head.length < 2) return;
        mode = isGzip(head) ? 'gzip' : 'plain';
        if (mode === 'gzip') startGzip();
        const first = head;
        head = null;
        return route(first);
      }
      if (mode === 'plain') {
        sink(chunk);
        return;
      }
      return route(chunk);
    },
    async end() {
      if (mode === 'unknown') {
        mode = 'plain';
        if (head) sink(head);
        head = null;
      }
      if (gunzip) {
        gunzip.end();
        await done;
      }
      if (failure) throw failure;
    },
  };
}

/** Yields the decompressed bytes of a source (gzip detected by magic bytes), for consumers that want chunks. */
export async function* decodedBytes(source: ByteSource): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  const decoder = createDecoder((b) => queue.push(b));
  for await (const chunk of bytesOf(source)) {
    await decoder.write(chunk);
    while (queue.length) yield queue.shift()!;
  }
  await decoder.end();
  while (queue.length) yield queue.shift()!;
}
