// Prototype: CsvTokenizer (libs/dataset/src/tokenizer.ts) with its byte loop replaced by scan.wasm (build.mjs), for
// measuring. Same sink calls (buffer, starts, ends, count, line, raw, classes), same classes, same errors; positions
// are offsets in the wasm memory (raw.offset is set so that raw.offset + raw.start is still the input position).
// Whole records without a quote or a lone CR are tokenized by wasm; the record at which it stops (a quote, a CR not
// followed by LF) goes through a scalar one-record parser (scalarRecord), then wasm resumes at the next record.
// Not done here (prototype): an exact pendingFrom (this one is the pending record's start, earlier than tokenizer.ts
// once that record has a quoted field: conservative), and resuming scalarRecord inside a record (a quoted field
// spanning many pushes is rescanned from its record start on each push: quadratic; see README.md).
/* global WebAssembly */
import { readFileSync } from 'node:fs';
import { classOfTally, FIELD_TEXT, FIELD_UNKNOWN } from '../../dist/libs/dataset/src/tokenizer.js';
import { DatasetError } from '../../dist/libs/dataset/src/errors.js';

const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
/** Entry area: CAP i32 entries at offset 0; the data follows. */
const CAP = 1 << 20;
const DATA = CAP * 4;
const END_BITS = 0x0fffffff;
/** Flat mode (scanFlat): fields per wasm call, and the offset of its arrays (in the entry area). */
const FCAP = 1 << 14;

const TALLY = new Int32Array(256).fill(0x1000000);
for (let c = 0x30; c <= 0x39; c++) TALLY[c] = 1;
TALLY[0x2e] = 0x40;
TALLY[0x2b] = TALLY[0x2d] = 0x1000;
TALLY[0x65] = TALLY[0x45] = 0x40000;
for (const c of [0x2c, 0x0a, 0x0d, 0x22]) TALLY[c] = -1;

const wasmBytes = readFileSync(new URL('scan.wasm', import.meta.url));
export const wasmModule = new WebAssembly.Module(wasmBytes);
export function newInstance() {
  return new WebAssembly.Instance(wasmModule, {}).exports;
}

export class SimdTokenizer {
  /**
   * `flat`: the sink is called with one more argument, `first`: the record's fields are at [first, first + count) of
   * starts/ends/classes, arrays that wasm wrote for a batch of records (scanFlat), so no field is copied in JS.
   */
  constructor(sink, regionSink, exports = newInstance(), flat = false) {
    this.sink = sink;
    this.flat = flat;
    this.regionSink = regionSink;
    this.w = exports;
    this.len = 0;
    this.pos = DATA;
    this.offset = -DATA;
    this.line = 1;
    this.bomChecked = false;
    this.finished = false;
    this.totalBytes = 0;
    this.starts = new Int32Array(64);
    this.ends = new Int32Array(64);
    this.classes = new Uint8Array(64);
    this.escaped = new Uint8Array(64);
    this.raw = { start: 0, end: 0, plain: true, offset: 0 };
    this.views();
  }

  get bytes() {
    return this.totalBytes;
  }

  get pendingFrom() {
    return this.offset + this.pos;
  }

  views() {
    const b = this.w.memory.buffer;
    this.u8 = new Uint8Array(b);
    this.buf = Buffer.from(b);
    this.out = new Int32Array(b, 0, CAP);
    this.fStarts = new Int32Array(b, 0, FCAP);
    this.fEnds = new Int32Array(b, 4 * FCAP, FCAP);
    this.fClasses = new Uint8Array(b, 8 * FCAP, FCAP);
    this.fRecords = new Int32Array(b, 9 * FCAP, FCAP);
  }

  /** Copies the chunk after the pending bytes (the copy CsvTokenizer.append also makes), growing the memory. */
  append(chunk) {
    const need = DATA + this.len + chunk.length + 64;
    const have = this.w.memory.buffer.byteLength;
    if (need > have) {
      this.w.memory.grow(Math.max(Math.ceil((need - have) / 65536), have >>> 16));
      this.views();
    }
    this.u8.set(chunk, DATA + this.len);
    this.len += chunk.length;
  }

  push(chunk) {
    if (this.finished) throw new DatasetError('INVALID_INPUT', 'push after finish');
    if (chunk.length === 0) return;
    this.totalBytes += chunk.length;
    this.append(chunk);
    if (!this.bomChecked) {
      const b = this.u8;
      const isBomPrefix =
        b[DATA] === 0xef && (this.len < 2 || b[DATA + 1] === 0xbb) && (this.len < 3 || b[DATA + 2] === 0xbf);
      if (isBomPrefix && this.len < 3) return;
      this.bomChecked = true;
      if (isBomPrefix) this.pos = DATA + 3;
    }
    this.run(false);
    this.compact();
  }

  finish() {
    if (this.finished) return;
    this.finished = true;
    this.bomChecked = true;
    this.run(true);
  }

  compact() {
    const shift = this.pos - DATA;
    if (shift === 0) return;
    this.u8.copyWithin(DATA, this.pos, DATA + this.len);
    this.offset += shift;
    this.len -= shift;
    this.pos = DATA;
  }

  run(atEnd) {
    const n = DATA + this.len;
    const start = this.pos;
    const line = this.line;
    let p = start;
    for (;;) {
      const k = this.flat ? this.w.scanFlat(p, n, 0, FCAP) : this.w.scan(p, n, 0, CAP);
      if (k > 0) {
        if (this.flat) this.dispatchFlat(p, k);
        else this.dispatch(p, k);
      }
      p = this.w.consumed.value;
      const status = this.w.status.value;
      if (status === 2 && k > 0) continue;
      if (status !== 0 || (atEnd && p < n)) {
        const next = this.scalarRecord(p, n, atEnd);
        if (next < 0) break;
        p = next;
        if (p < n || !atEnd) continue;
      }
      break;
    }
    this.pos = p;
    if (this.regionSink && p > start) this.regionSink(this.buf, start, p, line);
  }

  /** Hands the k fields wasm wrote (records from `from`) to the sink, record by record. */
  dispatch(from, k) {
    const out = this.out;
    let { starts, ends, classes } = this;
    const raw = this.raw;
    raw.offset = this.offset;
    let rec = from;
    let s = from;
    let f = 0;
    for (let i = 0; i < k; i++) {
      const e = out[i];
      const end = e & END_BITS;
      if (f === starts.length) {
        this.grow();
        ({ starts, ends, classes } = this);
      }
      starts[f] = s;
      ends[f] = end;
      classes[f] = (e >>> 28) & 3;
      f++;
      if ((e & 0x40000000) !== 0) {
        const next = e < 0 ? end + 2 : end + 1;
        raw.start = rec;
        raw.end = next;
        raw.plain = e >= 0;
        this.sink(this.buf, starts, ends, f, this.line, raw, classes);
        this.line++;
        rec = s = next;
        f = 0;
      } else s = end + 1;
    }
  }

  /** Hands the r records wasm wrote with scanFlat (from `from`) to the sink. */
  dispatchFlat(from, r) {
    const { fStarts, fEnds, fClasses, fRecords, raw } = this;
    raw.offset = this.offset;
    let rec = from;
    let first = 0;
    for (let j = 0; j < r; j++) {
      const x = fRecords[j];
      const after = x & 0x7fffffff;
      const next = fEnds[after - 1] + (x < 0 ? 2 : 1);
      raw.start = rec;
      raw.end = next;
      raw.plain = x >= 0;
      this.sink(this.buf, fStarts, fEnds, after - first, this.line, raw, fClasses, first);
      this.line++;
      rec = next;
      first = after;
    }
  }

  grow() {
    const g = (A, a) => {
      const x = new A(a.length * 2);
      x.set(a);
      return x;
    };
    this.starts = g(Int32Array, this.starts);
    this.ends = g(Int32Array, this.ends);
    this.classes = g(Uint8Array, this.classes);
    this.escaped = g(Uint8Array, this.escaped);
  }

  fail(message, rec, at, code = 'BAD_QUOTING', column) {
    let line = this.line;
    for (let i = rec; i < at && i < DATA + this.len; i++) if (this.u8[i] === LF) line++;
    throw new DatasetError(code, message, line, column);
  }

  /**
   * Tokenizes the one record at `rec` as tokenizer.ts scan does (quoted fields, "" folding, CRLF, errors) and emits it;
   * returns the offset after it, or -1 when it needs more input.
   */
  scalarRecord(rec, n, atEnd) {
    const b = this.u8;
    b[n] = LF; // sentinel, as in tokenizer.ts scan
    let p = rec;
    let f = 0;
    let quoted = false;
    let inner = 0;
    const field = (s, e, cls, esc) => {
      if (f === this.starts.length) this.grow();
      this.starts[f] = s;
      this.ends[f] = e;
      this.classes[f] = cls;
      this.escaped[f] = esc ? 1 : 0;
      f++;
    };
    const lineBreak = (q) => {
      if (b[q] === LF) return q + 1;
      if (q + 1 < n) {
        if (b[q + 1] === LF) return q + 2;
        this.fail('carriage return not followed by line feed', rec, q, 'BAD_LINE_ENDING', f + 1);
      }
      if (atEnd) this.fail('carriage return not followed by line feed', rec, q, 'BAD_LINE_ENDING', f + 1);
      return -1;
    };
    const emit = (next, lineBreaks, lfOnly) => {
      const { buf, starts, ends, escaped } = this;
      for (let i = 0; quoted && i < f; i++) {
        if (escaped[i] === 0) continue;
        escaped[i] = 0;
        let w = starts[i];
        for (let r = starts[i]; r < ends[i]; r++) {
          buf[w++] = buf[r];
          if (buf[r] === QUOTE) r++;
        }
        buf.fill(QUOTE, w, ends[i]);
        ends[i] = w;
      }
      const raw = this.raw;
      raw.start = rec;
      raw.end = next;
      raw.plain = lfOnly && !quoted;
      raw.offset = this.offset;
      this.sink(buf, starts, ends, f, this.line, raw, this.classes, 0);
      this.line += inner + lineBreaks;
      return next;
    };
    for (;;) {
      // Field start.
      if (p >= n) {
        if (!atEnd) return -1;
        if (f > 0 || p > rec) {
          field(p, p, FIELD_TEXT, false);
          return emit(p, 0, false);
        }
        return p;
      }
      if (b[p] === QUOTE) {
        quoted = true;
        const fs = p + 1;
        let esc = false;
        p++;
        for (;;) {
          const q = this.buf.indexOf(QUOTE, p);
          const stop = q < 0 || q >= n ? n : q;
          for (let i = p; i < stop; i++) if (b[i] === LF) inner++;
          if (stop >= n) {
            if (atEnd) this.fail('unterminated quoted field', rec, fs - 1, 'BAD_QUOTING', f + 1);
            return -1;
          }
          p = q + 1;
          if (p >= n) {
            if (!atEnd) return -1;
            field(fs, p - 1, FIELD_UNKNOWN, esc);
            return emit(p, 0, false);
          }
          if (b[p] !== QUOTE) break;
          esc = true;
          p++;
        }
        field(fs, p - 1, FIELD_UNKNOWN, esc);
        if (p >= n) {
          if (!atEnd) return -1;
          return emit(p, 0, false);
        }
        const c = b[p];
        if (c === COMMA) {
          p++;
          continue;
        }
        if (c === LF || c === CR) {
          const next = lineBreak(p);
          if (next < 0) return -1;
          return emit(next, 1, next === p + 1);
        }
        this.fail('characters after the closing quote of a quoted field', rec, p, 'BAD_QUOTING', f);
      }
      const fs = p;
      let sum = 0;
      let t;
      while ((t = TALLY[b[p]]) >= 0) {
        sum = (sum + t) | 0;
        p++;
      }
      if (p >= n) {
        if (!atEnd) return -1;
        field(fs, p, FIELD_UNKNOWN, false);
        return emit(p, 0, false);
      }
      const cls = p - fs <= 63 ? classOfTally(sum, b, fs) : FIELD_UNKNOWN;
      const c = b[p];
      if (c === COMMA) {
        field(fs, p, cls, false);
        p++;
        continue;
      }
      if (c === QUOTE) this.fail('quote inside an unquoted field', rec, p, 'BAD_QUOTING', f + 1);
      const next = lineBreak(p);
      if (next < 0) return -1;
      field(fs, p, cls, false);
      return emit(next, 1, next === p + 1);
    }
  }
}
