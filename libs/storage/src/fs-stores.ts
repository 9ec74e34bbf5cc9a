// blockstore-fs / datastore-fs with a cheaper put and the same on-disk layout (stores written by either read back in
// the other). Their put creates the shard directory on every call and writes through steno (a fixed temp name per
// file); here a directory is created once per process, and each put writes a uniquely named temp file in the target
// directory and renames it over the final name, so a reader (or a crash) sees either no file or the whole file.
// Helia's per-block pin records are the exception: appended to one journal file (DataFiles, key-journal.ts).
import { FsBlockstore } from 'blockstore-fs';
import { NextToLast } from 'blockstore-fs/sharding';
import { FsDatastore } from 'datastore-fs';
import type { Pair } from 'interface-blockstore';
import { NotFoundError, PutFailedError } from 'interface-store';
import { Key, type KeyQuery, type Pair as DataPair, type Query } from 'interface-datastore';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KeyJournal } from './key-journal.js';
import { BlockPacks } from './pack-store.js';
import { PINNED_BLOCK_PREFIX } from './pin-records.js';

let tempSerial = 0;

/** Writes `bytes` to `file` atomically (temp file + rename), creating its directory unless `dirs` knows it. */
async function writeAtomic(dirs: Set<string>, file: string, bytes: Uint8Array, retry = true): Promise<void> {
  const dir = dirname(file);
  if (!dirs.has(dir)) {
    await mkdir(dir, { recursive: true });
    dirs.add(dir);
  }
  // Ends in .tmp, so the stores' queries (which match their extension) never list a leftover temp file.
  const temp = join(dir, `.${basename(file)}.${process.pid}.${tempSerial++}.tmp`);
  try {
    await writeFile(temp, bytes);
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true }).catch(() => {});
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && retry) {
      // The directory was removed behind our back: create it again, once.
      dirs.delete(dir);
      return writeAtomic(dirs, file, bytes, false);
    }
    throw new PutFailedError(String(e));
  }
}

/**
 * Blocks as files (blockstore-fs's layout: what `put` writes, e.g. a CAR import) and in packs (pack-store.ts: what an
 * add writes through a PackWriter). Reads look in both. A packed block is removed only with its whole pack, which
 * nothing does yet: `delete` removes block files only.
 */
export class BlockFiles extends FsBlockstore {
  /** blockstore-fs's default layout: base32 multihash file names in directories named by their last 2 chars. */
  private readonly sharding: NextToLast;
  private readonly dirs = new Set<string>();
  readonly packs: BlockPacks;

  constructor(location: string, packDir = join(dirname(location), 'packs')) {
    const sharding = new NextToLast();
    super(location, { shardingStrategy: sharding });
    this.sharding = sharding;
    this.packs = new BlockPacks(packDir);
  }

  override async open(): Promise<void> {
    await super.open();
    this.packs.open();
  }

  override async has(key: CID, options?: { signal?: AbortSignal }): Promise<boolean> {
    return this.packs.has(key) || super.has(key, options);
  }

  override async *get(key: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    options?.signal?.throwIfAborted();
    const packed = await this.packs.get(key).catch((e: unknown) => {
      throw new NotFoundError(String(e));
    });
    if (packed !== undefined) yield packed;
    else yield* super.get(key, options);
  }

  override async *getAll(options?: { signal?: AbortSignal }): AsyncGenerator<Pair> {
    yield* super.getAll(options);
    for (const [key] of this.packs.entries()) {
      // Listed by multihash, as blockstore-fs does (the codec is not stored): as raw CIDv1s.
      const cid = CID.createV1(0x55, Digest.decode(Buffer.from(key, 'base64')));
      yield { cid, bytes: this.get(cid, options) };
    }
  }

  override async put(
    key: CID,
    val: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    options?: { signal?: AbortSignal },
  ): Promise<CID> {
    if (!(val instanceof Uint8Array)) return super.put(key, val, options);
    options?.signal?.throwIfAborted();
    const { dir, file } = this.sharding.encode(key);
    await writeAtomic(this.dirs, join(this.path, dir, file), val);
    return key;
  }
}

/** Keys under this prefix (Helia's per-block pin records) live in the datastore's KeyJournal, not in files. */
export const JOURNALED_PREFIX = PINNED_BLOCK_PREFIX;
export const JOURNAL_FILE = 'pinned-blocks.journal';

/**
 * datastore-fs's layout, except for Helia's per-block pin records (JOURNALED_PREFIX): those are appended to one
 * journal file (key-journal.ts) instead of one file each. Pinning an add wrote one such record per 256 KiB block, and
 * creating those files cost as much as the import itself (profiled: ~1000 file creations per 256 MB, 0.1-1.7 ms of
 * CPU each). Records a store wrote as files before the journal existed are still read (the journal's entry for a
 * key, a delete included, takes precedence). Other keys (the pins themselves, metadata) stay files, written
 * atomically (unique temp file, then rename(2)).
 */
export class DataFiles extends FsDatastore {
  private readonly dirs = new Set<string>();
  // Deletes shadow per-file records from before the journal, so a compaction keeps them while such files exist.
  private readonly journal = new KeyJournal(join(this.path, JOURNAL_FILE), { keepDeletes: () => this.legacyRecords });
  /** Whether the store holds per-file pin records from before the journal (checked once, at open). */
  private legacyRecords = false;

  override async open(): Promise<void> {
    await super.open();
    this.journal.open();
    this.legacyRecords = existsSync(join(this.path, JOURNALED_PREFIX));
  }

  override async close(): Promise<void> {
    this.journal.close();
    await super.close();
  }

  /**
   * Whether every per-block pin record is in the journal (no files from before it), so `journaled` and `putJournaled`
   * see and write all of them.
   */
  journalsAllPinnedBlocks(): boolean {
    return !this.legacyRecords;
  }

  /** The journal's values for JOURNALED_PREFIX keys (null: deleted; undefined: never written), read at once. */
  journaledValues(keys: readonly string[]): (Uint8Array | null | undefined)[] {
    return this.journal.getAll(keys);
  }

  /** Puts (a value) or deletes (null) JOURNALED_PREFIX keys with one journal write (see KeyJournal.writeAll). */
  putJournaled(entries: readonly (readonly [string, Uint8Array | null])[]): void {
    for (const [k] of entries) if (!k.startsWith(JOURNALED_PREFIX)) throw new RangeError(`${k} is not a journaled key`);
    this.journal.writeAll(entries);
  }

  private static journaled(key: Key): string | null {
    const k = key.toString();
    return k.startsWith(JOURNALED_PREFIX) ? k : null;
  }

  override async put(key: Key, val: Uint8Array, options?: { signal?: AbortSignal }): Promise<Key> {
    options?.signal?.throwIfAborted();
    const k = DataFiles.journaled(key);
    if (k === null) await writeAtomic(this.dirs, this._encode(key).file, val);
    else this.journal.put(k, val);
    return key;
  }

  override async get(key: Key, options?: { signal?: AbortSignal }): Promise<Uint8Array> {
    options?.signal?.throwIfAborted();
    const k = DataFiles.journaled(key);
    if (k !== null) {
      const v = this.journal.get(k);
      if (v !== undefined || !this.legacyRecords) {
        if (!v) throw new NotFoundError(`${k} not found`);
        return v;
      }
    }
    return super.get(key, options);
  }

  override async has(key: Key, options?: { signal?: AbortSignal }): Promise<boolean> {
    options?.signal?.throwIfAborted();
    const k = DataFiles.journaled(key);
    if (k !== null) {
      const v = this.journal.get(k);
      if (v !== undefined || !this.legacyRecords) return !!v;
    }
    return super.has(key, options);
  }

  override async delete(key: Key, options?: { signal?: AbortSignal }): Promise<void> {
    options?.signal?.throwIfAborted();
    const k = DataFiles.journaled(key);
    if (k !== null) this.journal.delete(k);
    if (k === null || this.legacyRecords) await super.delete(key, options);
  }

  override async *_all(q: Query, options?: { signal?: AbortSignal }): AsyncGenerator<DataPair> {
    const journaled = new Map(this.journal.all());
    for await (const pair of super._all(q, options)) if (!journaled.has(pair.key.toString())) yield pair;
    for (const [k, value] of journaled) if (value) yield { key: new Key(k), value };
  }

  override async *_allKeys(q: KeyQuery, options?: { signal?: AbortSignal }): AsyncGenerator<Key> {
    const journaled = new Map(this.journal.all());
    for await (const key of super._allKeys(q, options)) if (!journaled.has(key.toString())) yield key;
    for (const [k, value] of journaled) if (value) yield new Key(k);
  }
}
