// The dataset commitment: SHA-256 over a canonical serialisation of the header and the rows, so the same table gives
// the same commitment whatever its line endings (CRLF/LF), quoting, trailing newline, BOM or gzip wrapping.
//
//   commitment = SHA-256( DOMAIN || record(header) || record(row_1) || ... || record(row_n) )
//   DOMAIN     = the 26 ASCII bytes "sealfold-csv-commitment-v1" followed by one 0x00 byte
//   record(f)  = u32be(number of fields) || field(f_1) || ... || field(f_k)
//   field(x)   = u32be(byte length of x) || x
//
// where x is the field's content after RFC 4180 unquoting ("" folded to "), as the UTF-8 bytes written in the file.
// Values are committed as written: numbers are not re-formatted ("1.0" and "1" are different data), because the
// commitment is computed in the same single pass that infers the schema, before any column's type is known.
import { createHash, type Hash } from 'node:crypto';

export const COMMITMENT_DOMAIN = Buffer.from('sealfold-csv-commitment-v1\u0000', 'latin1');

/** Streams records into SHA-256 through a 256 KiB staging buffer (one hash update per ~256 KiB, not per field). */
export class CommitmentHasher {
  private readonly hash: Hash = createHash('sha256');
  private out = Buffer.allocUnsafe(1 << 18);
  private o = 0;

  constructor() {
    this.hash.update(COMMITMENT_DOMAIN);
  }

  /** Adds one record given as byte ranges of `buf` (the tokenizer's view). */
  addRecord(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number): void {
    let size = 4;
    for (let i = 0; i < count; i++) size += 4 + ends[i] - starts[i];
    if (this.o + size > this.out.length) {
      this.flush();
      if (size > this.out.length) this.out = Buffer.allocUnsafe(size);
    }
    const out = this.out;
    let o = this.o;
    out.writeUInt32BE(count, o);
    o += 4;
    for (let i = 0; i < count; i++) {
      const s = starts[i];
      const e = ends[i];
      const n = e - s;
      out[o] = n >>> 24;
      out[o + 1] = (n >>> 16) & 0xff;
      out[o + 2] = (n >>> 8) & 0xff;
      out[o + 3] = n & 0xff;
      o += 4;
      if (n < 24) for (let j = s; j < e; j++) out[o++] = buf[j];
      else {
        out.set(buf.subarray(s, e), o);
        o += n;
      }
    }
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

  private flush(): void {
    if (this.o > 0) this.hash.update(this.out.subarray(0, this.o));
    this.o = 0;
  }

  /** Lowercase hex SHA-256. */
  digestHex(): string {
    this.flush();
    return this.hash.digest('hex');
  }
}

/** The commitment of a table given as strings (header first); the reference form used by tests and tools. */
export function commitmentOfTable(records: readonly (readonly string[])[]): string {
  const h = new CommitmentHasher();
  for (const r of records) h.addFields(r);
  return h.digestHex();
}
