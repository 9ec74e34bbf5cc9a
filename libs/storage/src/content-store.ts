// The content-addressed store behind sealed datasets: the same interface over embedded Helia and a Kubo daemon.
import { bytesOf as sharedBytesOf, type ByteSource } from '@sealfold/protocol';
import { CID } from 'multiformats/cid';
import { StorageError } from './errors.js';

/** Bytes to add: an async or sync iterable of chunks (a Node Readable without encoding works), or one buffer. */
export type { ByteSource };

export interface AddOptions {
  readonly signal?: AbortSignal;
  /** Called with the number of bytes consumed so far. */
  readonly onProgress?: (bytes: number) => void;
}

export interface ContentStat {
  /** The CID in canonical string form. */
  readonly cid: string;
  /** File size in bytes (UnixFS file size, or the block size of a raw CID). */
  readonly size: number;
  /** Blocks in the DAG, when the backend reports it. */
  readonly blocks?: number;
}

export interface ContentStore {
  /** Adds the bytes as one UnixFS file with Kubo's `ipfs add --cid-version 1` settings, pins it, returns its CID. */
  add(source: ByteSource, options?: AddOptions): Promise<string>;
  /** Streams the file's bytes. Throws StorageError NOT_FOUND (fast, no network wait) when a block is not present. */
  cat(cid: string, options?: { signal?: AbortSignal }): AsyncIterable<Uint8Array>;
  /** Whether the root block is present locally. */
  has(cid: string): Promise<boolean>;
  stat(cid: string): Promise<ContentStat>;
  /** Pins the DAG (all its blocks must be present). */
  pin(cid: string): Promise<void>;
  unpin(cid: string): Promise<void>;
  isPinned(cid: string): Promise<boolean>;
  /** The DAG as a CARv1 stream with `cid` as its single root. */
  exportCar(cid: string): AsyncIterable<Uint8Array>;
  /** Imports a CARv1 stream (every block's hash verified), pins its roots and returns them. */
  importCar(source: ByteSource): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Kubo's `ipfs add --cid-version 1` importer settings (Kubo's legacy "unixfs-v0-2015" profile with CIDv1, which
 * implies raw leaves): fixed-size 262144-byte chunks, balanced DAG layout with at most 174 links per node, raw leaves,
 * and a single-chunk file stored as its raw leaf alone (reduceSingleLeafToSelf).
 */
export const KUBO_CHUNK_SIZE = 262_144;
export const KUBO_MAX_CHILDREN = 174;

export function parseCid(cid: string): CID {
  if (typeof cid !== 'string') throw new StorageError('INVALID_CID', 'a CID string is required');
  try {
    return CID.parse(cid);
  } catch (e) {
    throw new StorageError('INVALID_CID', `not a CID: ${JSON.stringify(cid.slice(0, 100))}`, { cause: e });
  }
}

export const bytesOf = (source: ByteSource): AsyncGenerator<Uint8Array> =>
  sharedBytesOf(source, (message) => new StorageError('INVALID_INPUT', message));
