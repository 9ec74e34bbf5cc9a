// EmbeddedIpfsStore: Helia without networking (createHeliaLight: no libp2p, no block brokers, no routers) over
// blockstore-fs + datastore-fs (their on-disk layout, with a cheaper put: fs-stores.ts) and block packs (one file per
// add: pack-store.ts) in one directory, so content and pins persist across restarts.
import { car } from '@helia/car';
import { unixfs, type UnixFS } from '@helia/unixfs';
import { CarBlockIterator } from '@ipld/car/iterator';
import * as dagPb from '@ipld/dag-pb';
import type { Helia } from 'helia';
import { Key } from 'interface-datastore';
import type { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { identity } from 'multiformats/hashes/identity';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  bytesOf,
  parseCid,
  type AddOptions,
  type ByteSource,
  type ContentStat,
  type ContentStore,
} from './content-store.js';
import { StorageError } from './errors.js';
import { BlockFiles, DataFiles } from './fs-stores.js';
import {
  decodePinnedBlock,
  encodePinnedBlock,
  PIN_RECORD,
  pinKey,
  pinnedBlockKey,
  pinnedBlockRemoval,
  pinnedBlockUpdate,
  type PinnedBlock,
} from './pin-records.js';
import { importFile } from './unixfs-file.js';

const RAW_CODE = 0x55;
/** Pin records per journal write when pinning an added DAG. */
const PIN_BATCH = 1024;

type HeliaInit = { blockstore: BlockFiles; datastore: DataFiles };
let heliaLight: Promise<(init: HeliaInit) => Helia> | undefined;

/**
 * `createHeliaLight` is `new Helia({ name, version, ...init })`, but helia's main entry also statically imports
 * libp2p, bitswap and HTTP routing (~70 MB of resident memory for code this node never runs). The class lives in
 * helia/dist/src/helia.js, which the package does not export, so it is loaded by URL beside the resolved entry;
 * if that layout ever changes, the main entry is used instead (same node, more memory).
 */
function loadHeliaLight(): Promise<(init: HeliaInit) => Helia> {
  heliaLight ??= (async () => {
    try {
      const entry = import.meta.resolve('helia');
      const [{ Helia: HeliaClass }, { name, version }] = await Promise.all([
        import(new URL('./helia.js', entry).href) as Promise<{ Helia: new (init: object) => Helia }>,
        import(new URL('./version.js', entry).href) as Promise<{ name: string; version: string }>,
      ]);
      return (init: HeliaInit) => new HeliaClass({ name, version, ...init });
    } catch {
      const { createHeliaLight } = await import('helia');
      return (init: HeliaInit) => createHeliaLight(init) as unknown as Helia;
    }
  })();
  return heliaLight;
}

const isNotFound = (e: unknown): boolean => {
  const name = (e as { name?: string })?.name;
  // blockstore-fs: NotFoundError; Helia offline reads: BlockNotFoundWhileOfflineError.
  return typeof name === 'string' && /NotFound/.test(name);
};

export class EmbeddedIpfsStore implements ContentStore {
  private closed = false;

  private constructor(
    private readonly helia: Helia,
    private readonly fs: UnixFS,
    private readonly blockstore: BlockFiles,
    private readonly datastore: DataFiles,
  ) {}

  /**
   * Opens (creating if needed) a store in `dir`: added content in dir/packs, other blocks (CAR imports, stores written
   * before packs) in dir/blocks, pins and metadata in dir/datastore.
   */
  static async open(dir: string): Promise<EmbeddedIpfsStore> {
    if (typeof dir !== 'string' || dir.length === 0)
      throw new StorageError('INVALID_INPUT', 'a store directory is required');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const blockstore = new BlockFiles(join(dir, 'blocks'));
    const datastore = new DataFiles(join(dir, 'datastore'));
    await blockstore.open();
    await datastore.open();
    try {
      const helia = (await loadHeliaLight())({ blockstore, datastore });
      await helia.start();
      return new EmbeddedIpfsStore(helia, unixfs(helia), blockstore, datastore);
    } catch (e) {
      await blockstore.close();
      await datastore.close();
      throw new StorageError('BACKEND', `cannot start the embedded IPFS node: ${(e as Error).message}`, { cause: e });
    }
  }

  private live(): void {
    if (this.closed) throw new StorageError('CLOSED', 'the store is closed');
  }

  /**
   * Imports with Kubo's settings and pins. The blocks go to one pack (pack-store.ts), appended as the importer makes
   * them and made visible at once when the import completes; a failed add (bad source, abort) drops the pack, so
   * nothing half-written is ever visible.
   */
  async add(source: ByteSource, options: AddOptions = {}): Promise<string> {
    this.live();
    const pack = this.blockstore.packs.writer();
    let consumed = 0;
    const counted = async function* () {
      for await (const chunk of bytesOf(source)) {
        options.signal?.throwIfAborted();
        consumed += chunk.length;
        options.onProgress?.(consumed);
        yield chunk;
      }
    };
    let cid: CID;
    try {
      // The blocks ipfs-unixfs-importer would make with Kubo's settings (unixfs-file.ts), appended to the pack.
      cid = await importFile(counted(), (c, block) => pack.put(c, block));
      await pack.commit();
    } catch (e) {
      pack.abort();
      // Errors from the source (e.g. a refused dataset, an abort) pass through unchanged.
      throw e;
    }
    await this.pinAdded(cid);
    return cid.toString();
  }

  async *cat(cid: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    this.live();
    const c = parseCid(cid);
    try {
      // offline: never ask a block broker (there are none; this keeps a missing block from waiting at all).
      yield* this.fs.cat(c, { offline: true, signal: options.signal });
    } catch (e) {
      if (isNotFound(e))
        throw new StorageError('NOT_FOUND', `${cid} (or one of its blocks) is not in the local store`, { cause: e });
      throw e;
    }
  }

  async has(cid: string): Promise<boolean> {
    this.live();
    return this.helia.blockstore.has(parseCid(cid));
  }

  async stat(cid: string): Promise<ContentStat> {
    this.live();
    return this.statOf(parseCid(cid));
  }

  private async statOf(c: CID): Promise<ContentStat> {
    const cid = c.toString();
    try {
      const s = await this.fs.stat(c, { extended: true, offline: true });
      return { cid, size: Number(s.size), blocks: Number(s.blocks) };
    } catch (e) {
      if (isNotFound(e))
        throw new StorageError('NOT_FOUND', `${cid} (or one of its blocks) is not in the local store`, { cause: e });
      throw e;
    }
  }

  private async pinCid(c: CID, knownComplete = false): Promise<void> {
    if (await this.helia.pins.isPinned(c)) return;
    // Helia's pin walker reports a missing block from a background job (an unhandled rejection), so check the whole
    // DAG is present first (unless this store just wrote it).
    if (!knownComplete) await this.assertComplete(c);
    await this.heliaPin(c);
  }

  private async heliaPin(c: CID): Promise<void> {
    try {
      for await (const _ of this.helia.pins.add(c, { offline: true, walker: this.linkWalker } as object)) void _;
    } catch (e) {
      if (isNotFound(e))
        throw new StorageError('NOT_FOUND', `${c} (or one of its blocks) is not in the local store`, { cause: e });
      throw e;
    }
  }

  /**
   * Pins a DAG this store just wrote: the records Helia's `pins.add` would write (pin-records.ts), for the same blocks
   * in the same order, a batch of blocks per journal write. Helia's own path takes over where a record is not in the
   * form pin-records.ts knows, the store still holds per-file records from before the journal, or the root has a pin
   * record already (Helia then refuses, as before).
   */
  private async pinAdded(root: CID): Promise<void> {
    if (await this.helia.pins.isPinned(root)) return;
    const rootKey = new Key(pinKey(root));
    if (!this.datastore.journalsAllPinnedBlocks() || (await this.datastore.has(rootKey))) return this.heliaPin(root);
    const rootBytes = root.bytes;
    // Records of a batch of blocks, read together and written together (one journal read and one write per batch).
    const pinBatch = (keys: string[]): boolean => {
      const updates = this.pinRecordUpdates(keys, (record) => pinnedBlockUpdate(record, rootBytes));
      if (updates !== null) this.datastore.putJournaled(updates);
      return updates !== null;
    };
    let keys: string[] = [];
    for await (const { block } of this.walkLinks(root)) {
      keys.push(pinnedBlockKey(block.cid));
      if (keys.length < PIN_BATCH) continue;
      // Blocks written so far list the root already, and Helia skips those.
      if (!pinBatch(keys)) return this.heliaPin(root);
      keys = [];
    }
    if (!pinBatch(keys)) return this.heliaPin(root);
    await this.datastore.put(rootKey, PIN_RECORD);
  }

  /**
   * The graph walker Helia's pins use to list a DAG's blocks (they only need each block's CID). Helia's default
   * walker reads every block, raw leaves included, which re-reads the whole file after an add; this one reads only
   * the dag-pb nodes (one per up to 174 leaves) and yields raw leaves by CID. Callers check completeness first.
   */
  private readonly linkWalker = (): { walk: (root: CID) => AsyncGenerator<{ block: { cid: CID } }> } => ({
    walk: (root: CID) => this.walkLinks(root),
  });

  private async *walkLinks(root: CID): AsyncGenerator<{ block: { cid: CID }; depth: number; path: CID[] }> {
    const stack: { cid: CID; depth: number }[] = [{ cid: root, depth: 0 }];
    // A block that repeats in the file (same chunk bytes) is listed once, so a pin counts it once.
    const seen = new Set<string>();
    let listed = 0;
    while (stack.length > 0) {
      // The pin records are written synchronously (DataFiles): let timers and I/O run now and then on a large DAG.
      if (++listed % 256 === 0) await new Promise(setImmediate);
      const { cid, depth } = stack.pop()!;
      const key = cid.toString();
      if (seen.has(key)) continue;
      seen.add(key);
      if (cid.code === dagPb.code) {
        const parts: Uint8Array[] = [];
        for await (const part of this.helia.blockstore.get(cid, { offline: true })) parts.push(part);
        const links = dagPb.decode(parts.length === 1 ? parts[0] : Buffer.concat(parts)).Links;
        // Pushed in reverse so blocks come out in DAG order (depth first, left to right).
        for (let i = links.length - 1; i >= 0; i--) stack.push({ cid: links[i].Hash, depth: depth + 1 });
      } else if (cid.code !== RAW_CODE) {
        throw new StorageError('BACKEND', `block ${cid} uses codec 0x${cid.code.toString(16)}, not dag-pb or raw`);
      }
      yield { block: { cid }, depth, path: [] };
    }
  }

  /** Walks the DAG (dag-pb links; raw leaves are only checked for presence) and throws NOT_FOUND at a gap. */
  private async assertComplete(root: CID): Promise<void> {
    const queue: CID[] = [root];
    while (queue.length > 0) {
      const c = queue.pop()!;
      if (c.code === dagPb.code) {
        let bytes: Uint8Array;
        try {
          const parts: Uint8Array[] = [];
          for await (const part of this.blockstore.get(c)) parts.push(part);
          bytes = Buffer.concat(parts);
        } catch (e) {
          if (isNotFound(e))
            throw new StorageError('NOT_FOUND', `block ${c} of ${root} is not in the local store`, { cause: e });
          throw e;
        }
        for (const link of dagPb.decode(bytes).Links) queue.push(link.Hash);
      } else if (!(await this.blockstore.has(c))) {
        throw new StorageError('NOT_FOUND', `block ${c} of ${root} is not in the local store`);
      }
    }
  }

  async pin(cid: string): Promise<void> {
    this.live();
    await this.pinCid(parseCid(cid));
  }

  async unpin(cid: string): Promise<void> {
    this.live();
    const c = parseCid(cid);
    if (!(await this.helia.pins.isPinned(c))) return;
    await this.unpinRoot(c);
  }

  /**
   * The journal writes that apply `change` to the pin records of `keys` (pin-records.ts: a new record, 'delete', or
   * null for none), or null when a record is not in the form pin-records.ts reads (the caller then takes Helia's path).
   */
  private pinRecordUpdates(
    keys: readonly string[],
    change: (record: PinnedBlock | undefined) => PinnedBlock | 'delete' | null,
  ): [string, Uint8Array | null][] | null {
    const stored = this.datastore.journaledValues(keys);
    const updates: [string, Uint8Array | null][] = [];
    for (let i = 0; i < keys.length; i++) {
      const record = stored[i] ? decodePinnedBlock(stored[i]!) : undefined;
      if (record === null) return null;
      const changed = change(record);
      if (changed !== null) updates.push([keys[i], changed === 'delete' ? null : encodePinnedBlock(changed)]);
    }
    return updates;
  }

  /**
   * Removes `root`'s pin: its pin record, then `root` from each block's record (pin-records.ts pinnedBlockRemoval), a
   * batch of blocks per journal write. Not through `helia.pins.rm`, which lists only `root` in what it leaves (see
   * pinnedBlockRemoval). Every record is read and checked before anything is written; Helia's path remains for records
   * in another form and stores with per-file records. The pin record goes first, as Helia orders it: a crash in
   * between leaves blocks counted too high (kept), never too low.
   */
  private async unpinRoot(root: CID): Promise<void> {
    const rootKey = new Key(pinKey(root));
    const heliaUnpin = async () => {
      for await (const _ of this.helia.pins.rm(root, { offline: true, walker: this.linkWalker } as object)) void _;
    };
    if (!this.datastore.journalsAllPinnedBlocks() || !(await this.datastore.has(rootKey))) return heliaUnpin();
    const keys: string[] = [];
    for await (const { block } of this.walkLinks(root)) keys.push(pinnedBlockKey(block.cid));
    const rootBytes = root.bytes;
    const updates = this.pinRecordUpdates(keys, (record) => pinnedBlockRemoval(record, rootBytes));
    if (updates === null) return heliaUnpin();
    await this.datastore.delete(rootKey);
    for (let at = 0; at < updates.length; at += PIN_BATCH)
      this.datastore.putJournaled(updates.slice(at, at + PIN_BATCH));
  }

  async isPinned(cid: string): Promise<boolean> {
    this.live();
    return this.helia.pins.isPinned(parseCid(cid));
  }

  async *exportCar(cid: string): AsyncGenerator<Uint8Array> {
    this.live();
    const c = parseCid(cid);
    if (!(await this.helia.blockstore.has(c))) throw new StorageError('NOT_FOUND', `${cid} is not in the local store`);
    try {
      yield* car(this.helia).export(c, { offline: true } as object);
    } catch (e) {
      if (isNotFound(e))
        throw new StorageError('NOT_FOUND', `a block of ${cid} is not in the local store`, { cause: e });
      throw e;
    }
  }

  async importCar(source: ByteSource): Promise<string[]> {
    this.live();
    let reader: CarBlockIterator;
    try {
      reader = await CarBlockIterator.fromIterable(bytesOf(source));
    } catch (e) {
      throw new StorageError('BAD_CAR', `not a CAR stream: ${(e as Error).message}`, { cause: e });
    }
    const roots = await reader.getRoots();
    if (roots.length === 0) throw new StorageError('BAD_CAR', 'the CAR has no roots');
    const created: CID[] = [];
    try {
      for await (const { cid, bytes } of reader) {
        // Verify each block against its CID before storing it (a CAR is untrusted input).
        const hasher =
          cid.multihash.code === sha256.code ? sha256 : cid.multihash.code === identity.code ? identity : null;
        if (!hasher) throw new StorageError('BAD_CAR', `block ${cid} uses an unsupported hash function`);
        const digest = await hasher.digest(bytes);
        if (!equalBytes(digest.bytes, cid.multihash.bytes))
          throw new StorageError('BAD_CAR', `block ${cid} does not match its hash`);
        if (!(await this.helia.blockstore.has(cid))) {
          await this.helia.blockstore.put(cid, bytes);
          created.push(cid);
        }
      }
      for (const root of roots) await this.pinCid(root);
    } catch (e) {
      for (const cid of created) await Promise.resolve(this.helia.blockstore.delete(cid)).catch(() => {});
      if (e instanceof StorageError) throw e;
      throw new StorageError('BAD_CAR', `cannot import the CAR: ${(e as Error).message}`, { cause: e });
    }
    return roots.map((r) => r.toString());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.helia.stop();
    await this.blockstore.close();
    await this.datastore.close();
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
