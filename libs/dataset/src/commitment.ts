// The dataset commitment: SHA-256 over a canonical serialisation of the table (header and rows), so the same table
// gives the same commitment whatever its line endings (CRLF/LF), quoting, trailing newline, BOM or gzip wrapping.
//
//   commitment = SHA-256( DOMAIN || canonical(header) || canonical(row_1) || ... || canonical(row_n) )
//   DOMAIN          = the 26 ASCII bytes "sealfold-csv-commitment-v1" followed by one 0x00 byte
//   canonical(rec)  = field_1 "," field_2 "," ... "," field_k LF          (LF = 0x0a, no CR)
//   field           = the value's UTF-8 bytes, unquoted, when it contains none of  ,  "  CR  LF  and the record has
//                     more than one field or the value is non-empty;
//                     otherwise DQUOTE value-with-every-DQUOTE-doubled DQUOTE   (RFC 4180 §2 rules 5-7)
//
// i.e. canonical RFC 4180 CSV with LF line ends and minimal quoting. It is injective (RFC 4180 parsing recovers the
// table), and for the common file (LF endings, no quotes) it is the input bytes themselves, so whole runs of records
// are hashed without being copied. Values are committed as written: numbers are not re-formatted ("1.0" and "1" are
// different data), because the commitment is computed in the same pass that infers the schema.
import { createHash, type Hash } from 'node:crypto';

export const COMMITMENT_DOMAIN = Buffer.from('sealfold-csv-commitment-v1\u0000', 'latin1');

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** What the inspector feeds a record's canonical form to: a hasher, or a plan hashed on another thread. */
export interface CommitmentSink {
  /**
   * Adds a record whose raw bytes `buf[start..end)` already are its canonical form (see RawRecord.plain); `offset` is
   * the input position of `buf[0]`.
   */
  addPlain(buf: Uint8Array, start: number, end: number, offset: number): void;
  /**
   * Adds one record given as (unescaped) byte ranges of `buf`, fields `first` to `first + count - 1` of starts/ends
   * (as RecordSink hands them), writing its canonical form.
   */
  addRecord(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number, first?: number): void;
  /**
   * Adds a record of more than one field whose bytes `buf[start..end)` are its canonical form but for its line end (no
   * quote, CR or LF in them: a CRLF record of the wasm scan); its canonical form is those bytes and LF.
   */
  addLine(buf: Uint8Array, start: number, end: number): void;
  /** Called before the caller's buffer changes (the tokenizer's region sink does). */
  flushRun(): void;
}

/** Bytes `canonical(record)` can take at most: every byte a quote (doubled), two quotes and a separator per field. */
function canonicalBound(starts: Int32Array, ends: Int32Array, count: number, first: number): number {
  let size = 1;
  for (let i = first; i < first + count; i++) size += 2 * (ends[i] - starts[i]) + 3;
  return size;
}

/** Writes `buf[start..end)` and LF at `out[o]` and returns the position after them (see CommitmentSink.addLine). */
function writeLine(out: Uint8Array, o: number, buf: Uint8Array, start: number, end: number): number {
  // A record is short: a byte loop is cheaper than a subarray and a native copy.
  if (end - start > 128) {
    out.set(buf.subarray(start, end), o);
    o += end - start;
  } else for (let j = start; j < end; j++) out[o++] = buf[j];
  out[o] = LF;
  return o + 1;
}

/** Writes canonical(record) at `out[o]` (room for canonicalBound bytes) and returns the position after it. */
function writeCanonical(
  out: Uint8Array,
  o: number,
  buf: Uint8Array,
  starts: Int32Array,
  ends: Int32Array,
  count: number,
  first: number,
): number {
  for (let i = first; i < first + count; i++) {
    if (i > first) out[o++] = COMMA;
    const s = starts[i];
    const e = ends[i];
    // Copied as it is while no byte needs quotes (a byte loop: fields are short, and a subarray per field costs more).
    const at = o;
    let j = s;
    for (; j < e; j++) {
      const c = buf[j];
      if (c === COMMA || c === QUOTE || c === LF || c === CR) break;
      out[o++] = c;
    }
    if (j === e && !(count === 1 && s === e)) continue;
    o = at;
    out[o++] = QUOTE;
    for (let j = s; j < e; j++) {
      const c = buf[j];
      out[o++] = c;
      if (c === QUOTE) out[o++] = QUOTE;
    }
    out[o++] = QUOTE;
  }
  out[o++] = LF;
  return o;
}

export class CommitmentHasher implements CommitmentSink {
  private readonly hash: Hash = createHash('sha256');
  private out = Buffer.allocUnsafe(1 << 16);
  private o = 0;
  /** A pending run of plain records in the caller's buffer, hashed as one range. */
  private runBuf: Uint8Array | null = null;
  private runStart = 0;
  private runEnd = 0;

  constructor() {
    this.hash.update(COMMITMENT_DOMAIN);
  }

  /** Adds a record whose raw bytes `buf[start..end)` already are its canonical form (see RawRecord.plain). */
  addPlain(buf: Uint8Array, start: number, end: number): void {
    if (this.runBuf === buf && this.runEnd === start) {
      this.runEnd = end;
      return;
    }
    this.flushRun();
    this.runBuf = buf;
    this.runStart = start;
    this.runEnd = end;
  }

  /** Hashes the pending run; call before the caller's buffer changes (the tokenizer's region sink does). */
  flushRun(): void {
    if (this.runBuf === null) return;
    this.flushOut();
    this.hash.update(this.runBuf.subarray(this.runStart, this.runEnd));
    this.runBuf = null;
  }

  addRecord(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number, first = 0): void {
    this.room(canonicalBound(starts, ends, count, first));
    this.o = writeCanonical(this.out, this.o, buf, starts, ends, count, first);
  }

  addLine(buf: Uint8Array, start: number, end: number): void {
    this.room(end - start + 1);
    this.o = writeLine(this.out, this.o, buf, start, end);
  }

  /** Hashes the pending run, and what `out` holds when `size` more bytes would not fit (growing it if need be). */
  private room(size: number): void {
    this.flushRun();
    if (this.o + size > this.out.length) {
      this.flushOut();
      if (size > this.out.length) this.out = Buffer.allocUnsafe(size);
    }
  }

  /** Adds one record given as strings (encoded as UTF-8). */
  addFields(fields: readonly string[]): void {
    const bytes = fields.map((f) => Buffer.from(f, 'utf8'));
    const joined = Buffer.concat(bytes);
    const starts = new Int32Array(bytes.length);
    const ends = new Int32Array(bytes.length);
    let at = 0;
    bytes.forEach((b, i) => {
      starts[i] = at;
      at += b.length;
      ends[i] = at;
    });
    this.addRecord(joined, starts, ends, bytes.length);
  }

  private flushOut(): void {
    if (this.o > 0) this.hash.update(this.out.subarray(0, this.o));
    this.o = 0;
  }

  /** Lowercase hex SHA-256. */
  digestHex(): string {
    this.flushRun();
    this.flushOut();
    return this.hash.digest('hex');
  }
}

/**
 * The commitment's input described for a thread that holds the raw bytes (the inspector's worker parses a copy; the
 * thread that sent it hashes: inspect.ts): ranges of input positions whose bytes are canonical as they are, and the
 * canonical bytes of the other records. `take` hands over what was added since the last take; CommitmentReplay hashes
 * it. Same digest as CommitmentHasher over the same records (commitment.spec.ts).
 */
export class CommitmentPlan implements CommitmentSink {
  /** Pairs: [start, end) input positions, or [-1, n]: the next n bytes of `literal`. Adjacent ones are merged. */
  private ops: number[] = [];
  private literal: Uint8Array = new Uint8Array(1 << 12);
  private literalLen = 0;
  /** Buffers handed out by `take` and given back (`reuse`): the next literal bytes go there. */
  private readonly spare: Uint8Array[] = [];

  /** The range addPlain is extending (runEnd < 0: none); it goes to `ops` when something else comes. */
  private runStart = 0;
  private runEnd = -1;

  addPlain(_buf: Uint8Array, start: number, end: number, offset: number): void {
    if (this.runEnd === offset + start) {
      this.runEnd = offset + end;
      return;
    }
    this.endRun();
    this.runStart = offset + start;
    this.runEnd = offset + end;
  }

  private endRun(): void {
    if (this.runEnd < 0) return;
    this.ops.push(this.runStart, this.runEnd);
    this.runEnd = -1;
  }

  addRecord(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number, first = 0): void {
    const from = this.literalRoom(canonicalBound(starts, ends, count, first));
    this.literalAdded(from, writeCanonical(this.literal, from, buf, starts, ends, count, first));
  }

  addLine(buf: Uint8Array, start: number, end: number): void {
    const from = this.literalRoom(end - start + 1);
    this.literalAdded(from, writeLine(this.literal, from, buf, start, end));
  }

  /** Ends the plain run and makes room for `size` more literal bytes; returns where they go. */
  private literalRoom(size: number): number {
    this.endRun();
    if (this.literalLen + size > this.literal.length) {
      const next = new Uint8Array(Math.max(this.literal.length * 2, this.literalLen + size));
      next.set(this.literal.subarray(0, this.literalLen));
      this.literal = next;
    }
    return this.literalLen;
  }

  /** Literal bytes `from..to` were written: the last op takes them (a literal op), or a new one does. */
  private literalAdded(from: number, to: number): void {
    this.literalLen = to;
    const ops = this.ops;
    const n = ops.length;
    if (n > 0 && ops[n - 2] < 0) ops[n - 1] += to - from;
    else ops.push(-1, to - from);
  }

  flushRun(): void {}

  /**
   * What was added since the last take. The literal bytes are handed over with their buffer (free to transfer: this
   * plan writes the next ones elsewhere); give the buffer back with `reuse` once they are hashed, so that the
   * literals of a CRLF file cycle through a few buffers instead of leaving one to collect per take.
   */
  take(): { ops: Float64Array; literal: Uint8Array } {
    this.endRun();
    const ops = Float64Array.from(this.ops);
    let literal: Uint8Array = new Uint8Array(0);
    if (this.literalLen > 0) {
      literal = this.literal.subarray(0, this.literalLen);
      this.literal = this.spare.pop() ?? new Uint8Array(this.literal.length);
    }
    this.ops = [];
    this.literalLen = 0;
    return { ops, literal };
  }

  /** A literal `take` handed out, no longer needed: its whole buffer takes the next literal bytes. */
  reuse(literal: Uint8Array): void {
    if (literal.buffer.byteLength > 0) this.spare.push(new Uint8Array(literal.buffer));
  }
}

/**
 * Hashes CommitmentPlan output against the raw input: `add` the input's bytes in order (any chunking) and `apply` each
 * take. Holds the added bytes until `release` says no later range needs them.
 */
export class CommitmentReplay {
  private readonly hash: Hash = createHash('sha256').update(COMMITMENT_DOMAIN);
  /** Added input not yet released, in order: each chunk's input position and bytes. */
  private readonly held: { at: number; bytes: Uint8Array }[] = [];
  /** Input position after the last byte added. */
  private end = 0;

  /** The input bytes at position `at` (the position after the previous ones). */
  add(at: number, bytes: Uint8Array): void {
    if (at !== this.end) throw new RangeError(`commitment replay: input at ${at}, expected ${this.end}`);
    this.held.push({ at, bytes });
    this.end = at + bytes.length;
  }

  apply(ops: Float64Array, literal: Uint8Array): void {
    let l = 0;
    for (let k = 0; k < ops.length; k += 2) {
      if (ops[k] < 0) {
        this.hash.update(literal.subarray(l, l + ops[k + 1]));
        l += ops[k + 1];
      } else this.hashRange(ops[k], ops[k + 1]);
    }
    if (l !== literal.length) throw new RangeError('commitment replay: literal bytes left over');
  }

  private hashRange(start: number, end: number): void {
    let at = start;
    for (const { at: c, bytes } of this.held) {
      if (at >= end) break;
      if (c + bytes.length <= at) continue;
      if (c > at) break;
      const to = Math.min(end, c + bytes.length);
      this.hash.update(bytes.subarray(at - c, to - c));
      at = to;
    }
    if (at !== end) throw new RangeError(`commitment replay: input ${at}..${end} is not held`);
  }

  /** Drops the chunks that end at or before input position `from` (no later range starts before it); returns them. */
  release(from: number): Uint8Array[] {
    let n = 0;
    while (n < this.held.length && this.held[n].at + this.held[n].bytes.length <= from) n++;
    return this.held.splice(0, n).map((h) => h.bytes);
  }

  /** Lowercase hex SHA-256. */
  digestHex(): string {
    return this.hash.digest('hex');
  }
}

/** The commitment of a table given as strings (header first); the reference form used by tests and tools. */
export function commitmentOfTable(records: readonly (readonly string[])[]): string {
  const h = new CommitmentHasher();
  for (const r of records) h.addFields(r);
  return h.digestHex();
}
