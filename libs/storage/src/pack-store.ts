// Block packs: the blocks of one add appended to one file instead of one file per 256 KiB block. Creating a file is
// the dominant cost of a large add on ext4 (profiled: `open` was the top main-thread item with synchronous block files;
// with blockstore-fs's layout a 1 GB add creates ~3,800 files plus as many renames).
//
// One pack per add, written sequentially to `<dir>/.<id>.pack.tmp` and made visible only when the add completes:
// fdatasync, then rename to `<dir>/<id>.pack` (rename is atomic, POSIX rename(2)). A failed or interrupted add leaves
// at most a temp file, which is never read and is removed when the store next opens. A pack is immutable once
// renamed; the index (multihash → pack, offset, length) is rebuilt from the packs' record headers when the store
// opens, and re-read when a lookup misses (another process sharing the directory may have committed a pack since).
//
// File format: MAGIC, then records: u32be multihash length, u32be data length, multihash bytes, data bytes.
import type { CID } from 'multiformats/cid';
import {
  closeSync,
  fdatasync as fdatasyncCallback,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StorageError } from './errors.js';
import { processAlive } from './key-journal.js';

const MAGIC = Buffer.from('sealfold-block-pack-v1\n', 'latin1');
const RECORD_HEADER = 8;
const PACK = /^([0-9a-z]+)\.pack$/;

interface Location {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

const keyOf = (cid: CID): string => Buffer.from(cid.multihash.bytes).toString('base64');

let serial = 0;
/** A writer starts a background fdatasync each time this many bytes were appended since the last one began. */
const FLUSH_EVERY = 32 << 20;
const fdatasync = promisify(fdatasyncCallback);

/** Reads `length` bytes at `offset` of `file`. */
async function readAt(file: string, offset: number, length: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const out = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await handle.read(out, got, length - got, offset + got);
      if (bytesRead === 0) throw new Error(`${file} ends inside a block`);
      got += bytesRead;
    }
    return out;
  } finally {
    await handle.close();
  }
}

/** The committed packs of a directory, indexed by block multihash. */
export class BlockPacks {
  private readonly index = new Map<string, Location>();
  private readonly loaded = new Set<string>();

  constructor(readonly dir: string) {}

  /** Creates the directory, removes temp files of adds that never completed, and indexes the packs. */
  open(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // A temp pack of another live process (an add in progress) must survive: only those of dead processes go.
    for (const name of readdirSync(this.dir)) {
      const m = /^\.[0-9a-z]+\.(\d+)\.[0-9a-z]+\.pack\.tmp$/.exec(name);
      if (m && !processAlive(Number(m[1]))) rmSync(join(this.dir, name), { force: true });
    }
    this.refresh();
  }

  /** Indexes packs committed since the last look (by any process). */
  refresh(): void {
    for (const name of readdirSync(this.dir)) {
      if (!PACK.test(name) || this.loaded.has(name)) continue;
      this.indexPack(join(this.dir, name));
      this.loaded.add(name);
    }
  }

  private indexPack(file: string): void {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(Math.max(MAGIC.length, RECORD_HEADER));
      if (readSync(fd, head, 0, MAGIC.length, 0) !== MAGIC.length || !head.subarray(0, MAGIC.length).equals(MAGIC))
        throw new StorageError('BACKEND', `${file} is not a block pack`);
      const size = fstatSync(fd).size;
      let at = MAGIC.length;
      for (;;) {
        const n = readSync(fd, head, 0, RECORD_HEADER, at);
        if (n === 0) break;
        if (n < RECORD_HEADER) throw new StorageError('BACKEND', `${file} is truncated (a damaged disk?)`);
        const keyLength = head.readUInt32BE(0);
        const length = head.readUInt32BE(4);
        const key = Buffer.alloc(keyLength);
        if (readSync(fd, key, 0, keyLength, at + RECORD_HEADER) !== keyLength)
          throw new StorageError('BACKEND', `${file} is truncated (a damaged disk?)`);
        const offset = at + RECORD_HEADER + keyLength;
        if (offset + length > size) throw new StorageError('BACKEND', `${file} is truncated (a damaged disk?)`);
        const k = key.toString('base64');
        if (!this.index.has(k)) this.index.set(k, { file, offset, length });
        at = offset + length;
      }
    } finally {
      closeSync(fd);
    }
  }

  private locate(cid: CID): Location | undefined {
    const key = keyOf(cid);
    let where = this.index.get(key);
    if (where === undefined) {
      this.refresh();
      where = this.index.get(key);
    }
    return where;
  }

  has(cid: CID): boolean {
    return this.locate(cid) !== undefined;
  }

  /** The block's bytes, or undefined when no pack holds it. */
  async get(cid: CID): Promise<Uint8Array | undefined> {
    const where = this.locate(cid);
    return where && readAt(where.file, where.offset, where.length);
  }

  /** Multihashes and locations of every packed block (for getAll). */
  entries(): IterableIterator<[string, Location]> {
    this.refresh();
    return this.index.entries();
  }

  /** Starts a pack for one add; nothing of it is visible until `commit`. */
  writer(): PackWriter {
    return new PackWriter(this);
  }

  /** Called by a committed writer: its blocks join the index. */
  adopt(name: string, blocks: Map<string, { offset: number; length: number }>): void {
    const file = join(this.dir, name);
    for (const [key, { offset, length }] of blocks)
      if (!this.index.has(key)) this.index.set(key, { file, offset, length });
    this.loaded.add(name);
  }
}

/** Appends the blocks of one add to a temp pack; `commit` makes them visible at once, `abort` drops them. */
export class PackWriter {
  private readonly id = `${Date.now().toString(36)}${process.pid.toString(36)}${(serial++).toString(36)}`;
  private readonly temp: string;
  private fd: number | null = null;
  private size = 0;
  private readonly blocks = new Map<string, { offset: number; length: number }>();
  private readonly header = Buffer.alloc(RECORD_HEADER);
  /** Bytes written when the last background flush started, and that flush (null when none runs). */
  private flushedTo = 0;
  private flushing: Promise<void> | null = null;

  constructor(private readonly packs: BlockPacks) {
    this.temp = join(packs.dir, `.${this.id}.${process.pid}.${(serial++).toString(36)}.pack.tmp`);
  }

  /** Appends a block (synchronously: one write call, no thread-pool round trip per block). */
  put(cid: CID, bytes: Uint8Array): void {
    const key = keyOf(cid);
    if (this.blocks.has(key)) return;
    if (this.fd === null) {
      this.fd = openSync(this.temp, 'wx', 0o600);
      writeAll(this.fd, [MAGIC]);
      this.size = MAGIC.length;
    }
    const mh = cid.multihash.bytes;
    this.header.writeUInt32BE(mh.length, 0);
    this.header.writeUInt32BE(bytes.length, 4);
    writeAll(this.fd, [this.header, mh, bytes]);
    this.blocks.set(key, { offset: this.size + RECORD_HEADER + mh.length, length: bytes.length });
    this.size += RECORD_HEADER + mh.length + bytes.length;
    if (this.flushing === null && this.size - this.flushedTo >= FLUSH_EVERY) this.flushInBackground(this.fd);
  }

  /**
   * Starts an fdatasync of what is written so far, in the thread pool, while the add goes on: the disk writes the
   * pack as it grows instead of all of it at `commit` (measured: the final fdatasync of a 256 MB pack took ~0.7 s of
   * wall time with nothing else to do), and the kernel's dirty-page throttling does not stall the writes. Durability
   * still comes from `commit`'s own fdatasync; this one only moves work earlier. Errors surface there too.
   */
  private flushInBackground(fd: number): void {
    this.flushedTo = this.size;
    this.flushing = fdatasync(fd).then(
      () => {
        this.flushing = null;
      },
      () => {
        this.flushing = null; // commit's fdatasync reports a failing disk
      },
    );
  }

  /** Closes the pack's fd once no background flush uses it (closing it under a running fdatasync could hit a reused fd). */
  private async closeWhenIdle(fd: number): Promise<void> {
    if (this.flushing) await this.flushing;
    closeSync(fd);
  }

  /**
   * Makes the pack durable (fdatasync, in the thread pool: flushing a large pack must not stall the event loop), then
   * visible (atomic rename), and indexes it.
   */
  async commit(): Promise<void> {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      if (this.flushing) await this.flushing;
      await fdatasync(fd);
    } finally {
      await this.closeWhenIdle(fd);
    }
    const name = `${this.id}.pack`;
    renameSync(this.temp, join(this.packs.dir, name));
    this.packs.adopt(name, this.blocks);
  }

  /** Drops everything this writer wrote. */
  abort(): void {
    if (this.fd !== null) void this.closeWhenIdle(this.fd);
    this.fd = null;
    rmSync(this.temp, { force: true });
  }
}

/** Writes the parts in order, with one writev(2) unless the kernel takes less (then the rest part by part). */
function writeAll(fd: number, parts: Uint8Array[]): void {
  let written = writevSync(fd, parts);
  for (const part of parts) {
    const from = Math.min(written, part.length);
    written -= from;
    for (let at = from; at < part.length;) at += writeSync(fd, part, at, part.length - at);
  }
}
