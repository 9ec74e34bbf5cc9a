// KeyJournal: small datastore values kept as records appended to one file instead of one file per key. Helia's pins
// write a record per pinned block (/pinned-block/<multihash>: pin count and pinners); as files that was one file
// created per 256 KiB block, which cost 0.1-1.7 ms of mostly kernel CPU each on ext4 (profiled: pinning took as long as
// the import of the add it followed). An append is a single write(2) of a few dozen bytes.
//
// Several processes may share a store directory, so the file is the truth and the in-memory map a cache of it: the
// file is opened O_APPEND (each record is one write at the end, never interleaved with another process's) and every
// operation first reads what was appended since it last looked. The last record of a key wins; a delete is a
// tombstone record.
//
// Record: MARK (4 bytes), op (u8: 1 put, 2 delete), key length (u16be), value length (u32be), key (UTF-8), value,
// CRC-32 (u32be, of op through value). A crash can leave at most a torn last record: it fails its CRC once later
// records follow it and is skipped by scanning for the next MARK; until then it is an incomplete tail, not read.
//
// Compaction: records a later one superseded are dead weight (a pin record per block pinned or unpinned, forever), so
// when the dead records outnumber the live ones by `compactMargin`, the journal is rewritten with one record per live
// key: written to <file>.compact.tmp, fsync'd, renamed over the file (atomic: a reader opens the old journal or the
// new one, whole), and the directory fsync'd. It only runs while no other journal is open on the file: every open
// journal registers itself (a file in <file>.users/ named by its pid), and the compactor holds <file>.compact.lock,
// created exclusively, and sees no other live registration; an opening journal registers first, then waits while
// a live compactor holds the lock. (Either the compactor sees the registration and gives up, or the opener sees the
// lock and waits: each writes its file before it looks for the other's.) Files of dead processes are removed.
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

const MARK = Buffer.from([0x53, 0x46, 0x4b, 0x4a]); // "SFKJ"
const HEAD = MARK.length + 1 + 2 + 4;
const TAIL = 4;
const PUT = 1;
const DELETE = 2;
/** Larger lengths than these are damage, not records (pin records are < 200 bytes). */
const MAX_KEY = 4096;
const MAX_VALUE = 1 << 20;

let registrations = 0;

export interface KeyJournalOptions {
  /** Compact once the records superseded by later ones outnumber the live ones by this many. */
  readonly compactMargin?: number;
  /**
   * Whether a compaction keeps the records of deleted keys: needed while they shadow older storage of the keys
   * (DataFiles: per-file pin records from before the journal).
   */
  readonly keepDeletes?: () => boolean;
}

export class KeyJournal {
  /** key → value, or null for a deleted key (which shadows any older storage of it). */
  private readonly entries = new Map<string, Uint8Array | null>();
  private fd: number | null = null;
  private readTo = 0;
  /** Records read from the file so far (live and superseded), and when next to consider compacting. */
  private records = 0;
  private compactCheckAt: number;
  private readonly compactMargin: number;
  private readonly keepDeletes: () => boolean;
  private registration: string | null = null;

  constructor(
    readonly file: string,
    options: KeyJournalOptions = {},
  ) {
    this.compactMargin = options.compactMargin ?? 100_000;
    this.keepDeletes = options.keepDeletes ?? (() => true);
    this.compactCheckAt = this.compactMargin;
  }

  private get usersDir(): string {
    return `${this.file}.users`;
  }

  private get lockFile(): string {
    return `${this.file}.compact.lock`;
  }

  open(): void {
    if (this.fd !== null) return;
    // Registered before looking at the lock (see the head of this file).
    mkdirSync(this.usersDir, { recursive: true, mode: 0o700 });
    const name = `${process.pid}.${(registrations++).toString(36)}`;
    writeFileSync(join(this.usersDir, name), '', { mode: 0o600 });
    this.registration = name;
    try {
      this.waitForCompaction();
      this.fd = openSync(this.file, 'a+', 0o600);
      // Read from the start: a closed journal may have been compacted (rewritten) since it last looked.
      this.entries.clear();
      this.readTo = 0;
      this.records = 0;
      this.refresh();
    } catch (e) {
      this.unregister();
      throw e;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.unregister();
  }

  private unregister(): void {
    if (this.registration !== null) rmSync(join(this.usersDir, this.registration), { force: true });
    this.registration = null;
  }

  /** Waits while a live process compacts the file; clears what a dead compactor left. */
  private waitForCompaction(): void {
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const holder = lockHolder(this.lockFile);
      if (holder === null) return;
      if (!processAlive(holder)) {
        rmSync(`${this.file}.compact.tmp`, { force: true });
        rmSync(this.lockFile, { force: true });
        return;
      }
      Atomics.wait(sleeper, 0, 0, 5);
    }
  }

  /**
   * Rewrites the journal with only its live records, if no other journal is open on the file and no one else
   * compacts. Returns whether it did.
   */
  compact(): boolean {
    this.handle();
    if (!takeLock(this.lockFile)) {
      const holder = lockHolder(this.lockFile);
      if (holder !== null && processAlive(holder)) return false;
      // A dead compactor's: clear it and try once more.
      rmSync(`${this.file}.compact.tmp`, { force: true });
      rmSync(this.lockFile, { force: true });
      return this.compact();
    }
    try {
      for (const name of readdirSync(this.usersDir)) {
        if (name === this.registration) continue;
        if (processAlive(Number(name.split('.')[0]))) return false;
        rmSync(join(this.usersDir, name), { force: true });
      }
      this.refresh();
      const keepDeletes = this.keepDeletes();
      const live: Buffer[] = [];
      for (const [key, value] of this.entries)
        if (value !== null) live.push(KeyJournal.record(PUT, key, value));
        else if (keepDeletes) live.push(KeyJournal.record(DELETE, key, new Uint8Array(0)));
      const bytes = Buffer.concat(live);
      const temp = `${this.file}.compact.tmp`;
      const fd = openSync(temp, 'w', 0o600);
      try {
        if (writeSync(fd, bytes) !== bytes.length) throw new Error(`short write to ${temp}`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, this.file);
      syncDir(dirname(this.file));
      closeSync(this.fd!);
      this.fd = openSync(this.file, 'a+', 0o600);
      this.readTo = bytes.length;
      this.records = live.length;
      if (!keepDeletes) for (const [key, value] of this.entries) if (value === null) this.entries.delete(key);
      return true;
    } finally {
      rmSync(this.lockFile, { force: true });
    }
  }

  /** Compacts when the superseded records outnumber the live ones by the margin (checked now and then: cheap). */
  private compactIfWorthwhile(): void {
    if (this.records < this.compactCheckAt) return;
    const dead = this.records - this.entries.size;
    if (dead >= this.entries.size + this.compactMargin && this.compact()) {
      this.compactCheckAt = this.records + this.entries.size + this.compactMargin;
    } else {
      // Not yet worth it, or another journal is open: look again after a quarter margin more records.
      this.compactCheckAt = this.records + Math.max(1, this.compactMargin >> 2);
    }
  }

  private handle(): number {
    if (this.fd === null) this.open();
    return this.fd!;
  }

  /** Reads the records appended since the last look (by this or another process). */
  private refresh(): void {
    const fd = this.handle();
    const size = fstatSync(fd).size;
    if (size <= this.readTo) return;
    const bytes = Buffer.allocUnsafe(size - this.readTo);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, this.readTo + got);
      if (n === 0) break;
      got += n;
    }
    this.readTo += this.apply(bytes.subarray(0, got));
  }

  /** Applies the complete records in `bytes`; returns how many bytes were consumed (an incomplete tail is not). */
  private apply(bytes: Buffer): number {
    let at = 0;
    while (at < bytes.length) {
      const end = recordEnd(bytes, at);
      if (end === INCOMPLETE) {
        // A record still being written, or a torn one that a later (valid) record follows: skip only the latter.
        const next = nextMark(bytes, at + 1);
        if (next < bytes.length && recordEnd(bytes, next) > 0) {
          at = next;
          continue;
        }
        break;
      }
      if (end === DAMAGED) {
        at = nextMark(bytes, at + 1);
        continue;
      }
      const op = bytes[at + 4];
      const keyLength = bytes.readUInt16BE(at + 5);
      const key = bytes.toString('utf8', at + HEAD, at + HEAD + keyLength);
      this.entries.set(key, op === PUT ? Uint8Array.from(bytes.subarray(at + HEAD + keyLength, end - TAIL)) : null);
      this.records++;
      at = end;
    }
    return at;
  }

  /** One record's bytes. */
  private static record(op: number, key: string, value: Uint8Array): Buffer {
    const keyBytes = Buffer.from(key, 'utf8');
    if (keyBytes.length > MAX_KEY || value.length > MAX_VALUE) throw new RangeError('key or value too large');
    const record = Buffer.allocUnsafe(HEAD + keyBytes.length + value.length + TAIL);
    MARK.copy(record, 0);
    record[4] = op;
    record.writeUInt16BE(keyBytes.length, 5);
    record.writeUInt32BE(value.length, 7);
    keyBytes.copy(record, HEAD);
    record.set(value, HEAD + keyBytes.length);
    record.writeUInt32BE(crc32(record.subarray(MARK.length, record.length - TAIL)), record.length - TAIL);
    return record;
  }

  /** Appends whole records with one write(2) on the O_APPEND fd: they land together at the end of the file. */
  private append(records: Buffer): void {
    if (writeSync(this.handle(), records) !== records.length) throw new Error(`short write to ${this.file}`);
  }

  /** The value, null when the journal deleted the key, undefined when the journal does not know it. */
  get(key: string): Uint8Array | null | undefined {
    this.refresh();
    return this.entries.get(key);
  }

  /** The values of several keys, as `get` gives them, after one look at the file. */
  getAll(keys: readonly string[]): (Uint8Array | null | undefined)[] {
    this.refresh();
    return keys.map((key) => this.entries.get(key));
  }

  put(key: string, value: Uint8Array): void {
    this.writeAll([[key, value]]);
  }

  delete(key: string): void {
    this.writeAll([[key, null]]);
  }

  /**
   * Puts (a value) and deletes (null) several keys with one write (a crash may keep a prefix of them: each record
   * stands alone). What Helia's pins write one block at a time, embedded.ts writes for a batch of blocks.
   */
  writeAll(entries: readonly (readonly [string, Uint8Array | null])[]): void {
    if (entries.length === 0) return;
    const records = Buffer.concat(
      entries.map(([key, value]) =>
        value === null ? KeyJournal.record(DELETE, key, new Uint8Array(0)) : KeyJournal.record(PUT, key, value),
      ),
    );
    this.refresh();
    this.append(records);
    // Read back by the next refresh, in file order with any other process's records.
    for (const [key, value] of entries) this.entries.set(key, value === null ? null : Uint8Array.from(value));
    this.compactIfWorthwhile();
  }

  /** Every key the journal knows, with its value (null: deleted). */
  all(): IterableIterator<[string, Uint8Array | null]> {
    this.refresh();
    return this.entries.entries();
  }
}

/**
 * Creates `lock` holding this pid, unless it exists. Written beside it and hard-linked into place (link(2) fails
 * if the name exists), so a lock is never seen empty.
 */
function takeLock(lock: string): boolean {
  const temp = `${lock}.${process.pid}.${(registrations++).toString(36)}`;
  writeFileSync(temp, String(process.pid), { mode: 0o600 });
  try {
    linkSync(temp, lock);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** The pid in a compaction lock, null when there is none; 0 (no live process) when it is unreadable. */
function lockHolder(lock: string): number | null {
  try {
    const pid = Number(readFileSync(lock, 'utf8'));
    return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Whether a process id (of a lock, a registration, a temp pack's name) is a live process: files of dead processes are
 * cleared, those of live ones left alone. True for this process and a live one of another user (EPERM).
 */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0); // signal 0: an existence and permission check only (kill(2))
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync(2) of a directory: makes a rename in it durable. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const INCOMPLETE = -1;
const DAMAGED = -2;

/** Where the record at `at` ends, INCOMPLETE if `bytes` stops inside it, DAMAGED if it is not a valid record. */
function recordEnd(bytes: Buffer, at: number): number {
  if (bytes.length - at < HEAD + TAIL) {
    const have = bytes.subarray(at, Math.min(bytes.length, at + MARK.length));
    return MARK.subarray(0, have.length).equals(have) ? INCOMPLETE : DAMAGED;
  }
  if (!bytes.subarray(at, at + MARK.length).equals(MARK)) return DAMAGED;
  const op = bytes[at + 4];
  const keyLength = bytes.readUInt16BE(at + 5);
  const valueLength = bytes.readUInt32BE(at + 7);
  if ((op !== PUT && op !== DELETE) || keyLength > MAX_KEY || valueLength > MAX_VALUE) return DAMAGED;
  const end = at + HEAD + keyLength + valueLength + TAIL;
  if (end > bytes.length) return INCOMPLETE;
  return crc32(bytes.subarray(at + MARK.length, end - TAIL)) === bytes.readUInt32BE(end - TAIL) ? end : DAMAGED;
}

/** Where the next record can start at or after `from`. */
function nextMark(bytes: Buffer, from: number): number {
  const i = bytes.indexOf(MARK, from);
  // None: stop where a MARK cut short by the end of the bytes could begin.
  return i >= 0 ? i : Math.max(from, bytes.length - MARK.length + 1);
}
