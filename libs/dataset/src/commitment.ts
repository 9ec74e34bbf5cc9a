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

export class CommitmentHasher {
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

  /** Adds one record given as (unescaped) byte ranges of `buf`, writing its canonical form. */
  addRecord(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number): void {
    this.flushRun();
    // Worst case: every byte a quote (doubled), two quotes and a separator per field.
    let size = 1;
    for (let i = 0; i < count; i++) size += 2 * (ends[i] - starts[i]) + 3;
    if (this.o + size > this.out.length) {
      this.flushOut();
      if (size > this.out.length) this.out = Buffer.allocUnsafe(size);
    }
    const out = this.out;
    let o = this.o;
    for (let i = 0; i < count; i++) {
      if (i > 0) out[o++] = COMMA;
      const s = starts[i];
      const e = ends[i];
      let needsQuotes = count === 1 && s === e;
      for (let j = s; j < e && !needsQuotes; j++) {
        const c = buf[j];
        needsQuotes = c === COMMA || c === QUOTE || c === LF || c === CR;
      }
      if (!needsQuotes) {
        out.set(buf.subarray(s, e), o);
        o += e - s;
        continue;
      }
      out[o++] = QUOTE;
      for (let j = s; j < e; j++) {
        const c = buf[j];
        out[o++] = c;
        if (c === QUOTE) out[o++] = QUOTE;
      }
      out[o++] = QUOTE;
    }
    out[o++] = LF;
    this.o = o;
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

/** The commitment of a table given as strings (header first); the reference form used by tests and tools. */
export function commitmentOfTable(records: readonly (readonly string[])[]): string {
  const h = new CommitmentHasher();
  for (const r of records) h.addFields(r);
  return h.digestHex();
}
