// RFC 4180 §2 record tokenizer working on bytes and indices (no per-character string building).
//
//   file = [header CRLF] record *(CRLF record) [CRLF]
//   field = (escaped / non-escaped);  escaped = DQUOTE *(TEXTDATA / COMMA / CR / LF / 2DQUOTE) DQUOTE
//
// Accepted beyond the RFC: LF alone as a line break (CRLF or LF, mixed), a UTF-8 byte-order mark at the very start,
// and any non-control bytes in TEXTDATA (UTF-8). Refused: a quote inside a non-escaped field, anything between a
// closing quote and the next comma/line break, an unterminated quoted field, a CR not followed by LF outside quotes.
//
// Input is pushed in chunks of any size; a record that straddles chunks is carried over and the scan resumes where it
// stopped, so every input byte is scanned once (linear even for one huge quoted field).
//
// Two scans, same results: where WebAssembly SIMD is available, whole records without a quote or a lone CR are
// tokenized by the wasm scan (wasm/scan.wat, embedded by scan-wasm.ts) over the buffered bytes, 64 bytes per step; the
// state machine below takes over at the first record that needs it (it resumes across pushes, so a huge quoted field
// is still scanned once) and hands back to wasm at the next record boundary. The buffer lives in the wasm memory.
import { DatasetError } from './errors.js';
import { SCAN_WASM } from './scan-wasm.js';

const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/**
 * Receives each record. Its fields are the entries `first` to `first + count - 1` of starts/ends/classes (arrays shared
 * by a batch of records, so the wasm scan hands them over without a copy): `buf[starts[first + i]..ends[first + i])`
 * are the unescaped bytes of field i (escaped "" already folded). The views are only valid during the call (the buffer
 * moves when it grows). `line` is the 1-based physical line where the record starts.
 */
export type RecordSink = (
  buf: Buffer,
  starts: Int32Array,
  ends: Int32Array,
  count: number,
  line: number,
  raw: RawRecord,
  classes: Uint8Array,
  first: number,
) => void;

/**
 * The wasm scan's output for a batch of records, over the tokenizer's buffer (views remade when the memory grows, valid
 * only during a BatchSink call): record r's fields run from `firstFieldOf(recordEnds, r)` to
 * `fieldsEndOf(recordEnds, r)` (exclusive) of starts/ends/classes (as RecordSink's); bit 31 of `recordEnds[r]` is set
 * when the record ends in CRLF (else LF: then its raw bytes are canonical, RawRecord.plain). No record has a quote.
 */
export interface ScannedRecords {
  readonly buf: Buffer;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly classes: Uint8Array;
  readonly recordEnds: Int32Array;
}

/**
 * Optionally receives runs of whole records from the wasm scan at once, before `RecordSink` sees them one by one (the
 * inspector checks them column by column: inspector.ts): records `from` to `to - 1` of `scanned`, record `from`
 * starting at `buf[start]` on physical line `line`, each next one on the next line; `offset` is RawRecord.offset.
 * Returns how many records, from `from` on, it took (0 to `to - from`); the record after them goes to the RecordSink,
 * and the batch sink is offered the rest again.
 */
export type BatchSink = (
  scanned: ScannedRecords,
  from: number,
  to: number,
  start: number,
  line: number,
  offset: number,
) => number;

/** The index after record r's last field in ScannedRecords' arrays (recordEnds[r] without its CRLF bit). */
export const fieldsEndOf = (recordEnds: Int32Array, r: number): number => recordEnds[r] & 0x7fffffff;

/** The index of record r's first field in ScannedRecords' arrays. */
export const firstFieldOf = (recordEnds: Int32Array, r: number): number =>
  r === 0 ? 0 : fieldsEndOf(recordEnds, r - 1);

/** Where record r of ScannedRecords ends in `buf`: after its line break (LF, or CRLF when bit 31 is set). */
export const recordEndOf = ({ ends, recordEnds }: ScannedRecords, r: number): number =>
  ends[fieldsEndOf(recordEnds, r) - 1] + (recordEnds[r] < 0 ? 2 : 1);

/**
 * The number syntax of a field (numbers.ts), as far as the tokenizer's scan tells it: FIELD_INT and FIELD_FLOAT are
 * `classifyNumber` 0 and 1, FIELD_TEXT is 2 (not a number), FIELD_UNKNOWN means "not classified, ask classifyNumber"
 * (quoted fields, fields of 64 bytes or more, numbers with an exponent, a last field with no line break after it).
 */
export const FIELD_INT = 0;
export const FIELD_FLOAT = 1;
export const FIELD_TEXT = 2;
export const FIELD_UNKNOWN = 3;

/**
 * Per byte, what the unquoted scan adds to a field's tally, in 6-bit counters: digits (1), dots (0x40), signs '+' '-'
 * (0x1000), exponent marks 'e' 'E' (0x40000) and bytes no number has (0x1000000); -1 stops the scan (',', LF, CR,
 * '"'). For a field under 64 bytes no counter carries into the next (63 * 0x1000000 < 2^31), so the tally counts
 * exactly; longer fields wrap harmlessly (`| 0`) and are not classified from it.
 */
const TALLY = new Int32Array(256).fill(0x1000000);
for (let c = 0x30; c <= 0x39; c++) TALLY[c] = 1;
TALLY[0x2e] = 0x40;
TALLY[0x2b] = TALLY[0x2d] = 0x1000;
TALLY[0x65] = TALLY[0x45] = 0x40000;
for (const c of [0x2c, 0x0a, 0x0d, 0x22]) TALLY[c] = -1;
/** Longest field classified from its tally. */
const TALLY_MAX = 63;

/**
 * The class of a field of digits and dots only (tally < 0x1000), by tally: no digit or two dots is not a number, one
 * dot another number (`5.`, `.5`, `1.5`), none an integer.
 */
const DIGITS_AND_DOTS = Uint8Array.from({ length: 0x1000 }, (_, t) =>
  (t & 0x3f) === 0 || t >= 0x80 ? FIELD_TEXT : t >= 0x40 ? FIELD_FLOAT : FIELD_INT,
);

/**
 * The class of an unquoted field of under 64 bytes starting at `buf[start]`, from its tally: a byte no number has makes
 * it text, an exponent mark leaves it to classifyNumber; else a sign is allowed once and only first, and the digits and
 * dots decide (DIGITS_AND_DOTS).
 */
export function classOfTally(tally: number, buf: Uint8Array, start: number): number {
  if (tally < 0x1000) return DIGITS_AND_DOTS[tally];
  if (tally >= 0x1000000) return FIELD_TEXT;
  if (tally >= 0x40000) return FIELD_UNKNOWN;
  if (tally >= 0x2000 || (buf[start] !== 0x2b && buf[start] !== 0x2d)) return FIELD_TEXT;
  return DIGITS_AND_DOTS[tally & 0xfff];
}

/**
 * Where the record lies in `buf` before unescaping: `buf[start..end)` including its line break. `plain` is true when
 * those bytes are already the record's canonical form: no quoted field and a single LF as terminator. `offset` is
 * where `buf[0]` lies in the input (bytes pushed before it), so `offset + start` is the record's input position.
 */
export interface RawRecord {
  start: number;
  end: number;
  plain: boolean;
  offset: number;
}

/**
 * Receives, once per push, the raw bytes of the records completed by that push (`buf[start..end)`, starting on a
 * record boundary at physical line `line`), e.g. to validate UTF-8 in one native call per chunk.
 */
export type RegionSink = (buf: Buffer, start: number, end: number, line: number) => void;

/** Which scan a tokenizer uses: 'auto' the wasm scan where WebAssembly SIMD is available, 'js' the state machine only. */
export type ScanMode = 'auto' | 'js';

/** The part of the WebAssembly JS API used here (the project's TypeScript libs do not declare it; Node has it). */
interface WasmModule {
  readonly __brand: 'WebAssembly.Module';
}
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
};

/** The wasm scan's exports (wasm/scan.wat). */
interface ScanExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  /**
   * Tokenizes whole records from `start` (a record start) before `n`, at most `cap` fields, into the arrays at `out`
   * (starts i32, ends i32 at out + 4 cap, classes u8 at out + 8 cap, per record the index after its last field at
   * out + 9 cap, bit 31 set for CRLF); returns the number of records. Sets `consumed` (the offset after the last one)
   * and `status`: 0 no more complete record, 1 the record at `consumed` needs the state machine, 2 `cap` reached.
   */
  scanFlat(start: number, n: number, out: number, cap: number): number;
  consumed: { readonly value: number };
  status: { readonly value: number };
}

/** Fields per scanFlat call; its output arrays (13 bytes per field) sit at the top of the memory, above the buffer. */
const SCAN_FIELDS = 1 << 14;
const SCAN_OUT_BYTES = 13 * SCAN_FIELDS;
const WASM_PAGE = 65536;

let scanModule: WasmModule | null | undefined;
/** The compiled scan, or null where WebAssembly SIMD is not available (e.g. V8 on an x64 CPU without SSE4.1). */
function scanModuleOrNull(): WasmModule | null {
  if (scanModule === undefined) {
    const bytes = Buffer.from(SCAN_WASM, 'base64');
    scanModule = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return scanModule;
}

/** `SEALFOLD_CSV_SCAN=js` forces the state machine (for comparisons and as a way out). */
function defaultScanMode(): ScanMode {
  return typeof process === 'object' && process.env?.SEALFOLD_CSV_SCAN === 'js' ? 'js' : 'auto';
}

/** Scan states between pushes. */
const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** Just read a quote inside a quoted field: either "" (escaped quote) or the closing quote. */
  QuoteInQuoted,
  /** After the closing quote: must see comma, CR or LF. */
  AfterQuoted,
}

export class CsvTokenizer {
  private buf: Buffer;
  /** The wasm scan; null: the state machine only. */
  private readonly scanner: ScanExports | null = null;
  private outAt = 0;
  private scanned: ScannedRecords | null = null;
  private len = 0;
  /** Where the scan resumes, and where the current (incomplete) record starts. */
  private pos = 0;
  private recordStart = 0;
  private state = State.FieldStart;
  private fieldStart = 0;
  /** The tally of the unquoted field being scanned when a push ended inside it (see TALLY). */
  private fieldTally = 0;
  /** True when the current field is quoted and contains "" escapes (needs folding). */
  private fieldEscaped = false;
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);
  private escaped = new Uint8Array(64);
  /** Per field, FIELD_INT .. FIELD_UNKNOWN. */
  private classes = new Uint8Array(64);
  private count = 0;
  /** Physical line of the current record's start, and newlines seen inside its quoted fields so far. */
  private line = 1;
  private innerNewlines = 0;
  private quotedSeen = false;
  private readonly raw: RawRecord = { start: 0, end: 0, plain: true, offset: 0 };
  /** Input bytes dropped from the front of `buf` by compact (the input position of `buf[0]`). */
  private offset = 0;
  private bomChecked = false;
  private totalBytes = 0;
  private finished = false;

  constructor(
    private readonly sink: RecordSink,
    private readonly regionSink?: RegionSink,
    mode: ScanMode = defaultScanMode(),
    private readonly batchSink?: BatchSink,
  ) {
    const module = mode === 'js' ? null : scanModuleOrNull();
    if (module === null) this.buf = Buffer.allocUnsafe(1 << 16);
    else {
      this.scanner = new WebAssembly.Instance(module, {}).exports as unknown as ScanExports;
      this.buf = this.views();
    }
  }

  /** True when this tokenizer uses the wasm scan. */
  get simd(): boolean {
    return this.scanner !== null;
  }

  /** (Re)makes the views of the wasm memory (memory.grow detaches the old ones); returns the buffer's. */
  private views(): Buffer {
    const memory = this.scanner!.memory.buffer;
    const at = (this.outAt = memory.byteLength - SCAN_OUT_BYTES);
    // The buffer is the memory below the output arrays (scanFlat reads up to 63 bytes past the data: harmless there).
    const buf = (this.buf = Buffer.from(memory, 0, at));
    this.scanned = {
      buf,
      starts: new Int32Array(memory, at, SCAN_FIELDS),
      ends: new Int32Array(memory, at + 4 * SCAN_FIELDS, SCAN_FIELDS),
      classes: new Uint8Array(memory, at + 8 * SCAN_FIELDS, SCAN_FIELDS),
      recordEnds: new Int32Array(memory, at + 9 * SCAN_FIELDS, SCAN_FIELDS),
    };
    return buf;
  }

  /** Bytes pushed so far. */
  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * The input position from which a later plain record (RawRecord.plain) may still take its bytes: where the record
   * not yet complete begins, or the end of the input so far once that record has a quoted field (it is not plain).
   */
  get pendingFrom(): number {
    return this.offset + (this.quotedSeen ? this.len : this.recordStart);
  }

  push(chunk: Uint8Array): void {
    if (this.finished) throw new DatasetError('INVALID_INPUT', 'push after finish');
    if (chunk.length === 0) return;
    this.totalBytes += chunk.length;
    this.append(chunk);
    if (!this.bomChecked) {
      // Skip a UTF-8 byte-order mark (EF BB BF) at the very start; wait until 3 bytes decide it.
      const b = this.buf;
      const isBomPrefix = b[0] === 0xef && (this.len < 2 || b[1] === 0xbb) && (this.len < 3 || b[2] === 0xbf);
      if (isBomPrefix && this.len < 3) return;
      this.bomChecked = true;
      if (isBomPrefix) this.pos = this.recordStart = this.fieldStart = 3;
    }
    this.scanWithRegion(false);
    this.compact();
  }

  /** Ends the input: emits a final record that has no trailing line break. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.bomChecked = true;
    this.scanWithRegion(true);
  }

  private scanWithRegion(atEnd: boolean): void {
    const start = this.recordStart;
    const line = this.line;
    this.scan(atEnd);
    if (this.regionSink && this.recordStart > start) this.regionSink(this.buf, start, this.recordStart, line);
  }

  private append(chunk: Uint8Array): void {
    const need = this.len + chunk.length;
    // One byte to spare for the scan's sentinel (see scan).
    if (need >= this.buf.length && this.scanner !== null) {
      // Grow in place (the bytes stay where they are), at least doubling; the output arrays move to the new top.
      const memory = this.scanner.memory;
      const pages = memory.buffer.byteLength / WASM_PAGE;
      memory.grow(Math.max(pages, Math.ceil((need + 1 + SCAN_OUT_BYTES) / WASM_PAGE) - pages));
      this.views();
    } else if (need >= this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap <= need) cap *= 2;
      const next = Buffer.allocUnsafe(cap);
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    this.buf.set(chunk, this.len);
    this.len = need;
  }

  /** Moves the incomplete record to the front of the buffer and rebases the saved offsets. */
  private compact(): void {
    const shift = this.recordStart;
    if (shift === 0) return;
    this.buf.copyWithin(0, shift, this.len);
    this.offset += shift;
    this.len -= shift;
    this.pos -= shift;
    this.fieldStart -= shift;
    for (let i = 0; i < this.count; i++) {
      this.starts[i] -= shift;
      this.ends[i] -= shift;
    }
    this.recordStart = 0;
  }

  private endField(end: number, escaped: boolean, cls = FIELD_UNKNOWN): void {
    if (this.count === this.starts.length) {
      const grow = (a: Int32Array) => {
        const n = new Int32Array(a.length * 2);
        n.set(a);
        return n;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      const e = new Uint8Array(this.escaped.length * 2);
      e.set(this.escaped);
      this.escaped = e;
      const c = new Uint8Array(this.classes.length * 2);
      c.set(this.classes);
      this.classes = c;
    }
    this.starts[this.count] = this.fieldStart;
    this.ends[this.count] = end;
    this.classes[this.count] = cls;
    // Only a quoted field with "" sets it; endRecord resets it, so every entry of the next record starts at 0.
    this.escaped[this.count] = escaped ? 1 : 0;
    this.count++;
  }

  private endRecord(next: number, lineBreaks: number, lfOnly = false): void {
    const { buf, starts, ends, escaped, count } = this;
    // Only a record with a quoted field can have "" to fold.
    for (let i = 0; this.quotedSeen && i < count; i++) {
      if (escaped[i] === 0) continue;
      // Back to 0 for the next record (the unquoted fast path in scan does not write `escaped`).
      escaped[i] = 0;
      // Fold "" into " in place (the buffer is ours; the field only shrinks).
      let w = starts[i];
      for (let r = starts[i]; r < ends[i]; r++) {
        buf[w++] = buf[r];
        if (buf[r] === QUOTE) r++;
      }
      // Overwrite the freed tail with ASCII quotes so the record's raw region stays valid UTF-8 exactly when the
      // input was (the region sink checks UTF-8 after this fold; dropping a quote of a pair never joins a sequence).
      buf.fill(QUOTE, w, ends[i]);
      ends[i] = w;
    }
    const raw = this.raw;
    raw.start = this.recordStart;
    raw.end = next;
    raw.plain = lfOnly && !this.quotedSeen;
    raw.offset = this.offset;
    this.quotedSeen = false;
    this.sink(buf, starts, ends, count, this.line, raw, this.classes, 0);
    this.line += this.innerNewlines + lineBreaks;
    this.innerNewlines = 0;
    this.count = 0;
    this.recordStart = this.fieldStart = next;
    this.state = State.FieldStart;
  }

  /**
   * Hands the whole records from `p` (a record start) that the wasm scan takes to the sink; returns where the state
   * machine goes on: the first record the scan leaves to it (a quote, a lone CR, an incomplete record), or `n`.
   */
  private scanRecords(p: number, n: number): number {
    const scanner = this.scanner!;
    for (;;) {
      const records = scanner.scanFlat(p, n, this.outAt, SCAN_FIELDS);
      if (records > 0) this.emitScanned(p, records);
      p = scanner.consumed.value;
      // Status 2 with no record: a record of more than SCAN_FIELDS fields, left to the state machine.
      if (scanner.status.value !== 2 || records === 0) return p;
    }
  }

  /**
   * Hands the `records` records the wasm scan wrote (the first at `from`: plain, unquoted, LF or CRLF) to the batch
   * sink, and those it leaves one by one to the sink.
   */
  private emitScanned(from: number, records: number): void {
    const { raw, sink, batchSink } = this;
    const scanned = this.scanned!;
    const { buf, starts, ends, classes, recordEnds } = scanned;
    raw.offset = this.offset;
    let start = from;
    for (let r = 0; r < records;) {
      if (batchSink !== undefined) {
        const taken = batchSink(scanned, r, records, start, this.line, this.offset);
        if (taken > 0) {
          r += taken;
          start = recordEndOf(scanned, r - 1);
          this.line += taken;
          this.recordStart = this.fieldStart = start;
          if (r === records) return;
        }
      }
      const first = firstFieldOf(recordEnds, r);
      const next = recordEndOf(scanned, r);
      raw.start = start;
      raw.end = next;
      raw.plain = recordEnds[r] >= 0;
      sink(buf, starts, ends, fieldsEndOf(recordEnds, r) - first, this.line, raw, classes, first);
      this.line++;
      this.recordStart = this.fieldStart = start = next;
      r++;
    }
  }

  private fail(
    message: string,
    at: number,
    code: 'BAD_QUOTING' | 'BAD_LINE_ENDING' = 'BAD_QUOTING',
    column = this.count + 1,
  ): never {
    // The line of the offending byte: record start line plus newlines between the record start and `at`.
    let line = this.line;
    for (let i = this.recordStart; i < at && i < this.len; i++) if (this.buf[i] === LF) line++;
    throw new DatasetError(code, message, line, column);
  }

  /** Handles a line break at p (CR or LF) outside quotes; returns the index after it, or -1 if more input is needed. */
  private lineBreak(p: number, atEnd: boolean): number {
    const buf = this.buf;
    if (buf[p] === LF) return p + 1;
    if (p + 1 < this.len) {
      if (buf[p + 1] === LF) return p + 2;
      this.fail('carriage return not followed by line feed', p, 'BAD_LINE_ENDING');
    }
    if (atEnd) this.fail('carriage return not followed by line feed', p, 'BAD_LINE_ENDING');
    return -1;
  }

  private scan(atEnd: boolean): void {
    const buf = this.buf;
    const n = this.len;
    // Sentinel: a stop byte just past the data, so the unquoted scan below needs no bounds test per byte (append keeps
    // a spare byte; the next append overwrites it).
    buf[n] = LF;
    const tally = TALLY;
    let p = this.pos;
    let state = this.state;
    for (;;) {
      switch (state) {
        case State.FieldStart: {
          // A record boundary: the wasm scan takes the records it can, the state machine goes on from there.
          if (this.scanner !== null && this.count === 0 && p < n) p = this.scanRecords(p, n);
          if (p >= n) {
            if (atEnd && (this.count > 0 || p > this.recordStart)) {
              // Input ends after a comma: the last field is empty.
              this.fieldStart = p;
              this.endField(p, false, FIELD_TEXT);
              this.endRecord(p, 0);
            }
            this.pos = p;
            this.state = State.FieldStart;
            return;
          }
          this.fieldStart = p;
          if (buf[p] === QUOTE) {
            this.fieldStart = p + 1;
            this.fieldEscaped = false;
            this.quotedSeen = true;
            p++;
            state = State.Quoted;
          } else {
            this.fieldTally = 0;
            state = State.Unquoted;
          }
          break;
        }
        case State.Unquoted: {
          let c = 0;
          let cls = FIELD_UNKNOWN;
          // The loop below keeps the field list in locals; it falls back to endField when the arrays are full.
          const { starts, ends, classes } = this;
          let k = this.count;
          let fieldStart = this.fieldStart;
          // A field resumed from the previous push goes on with its tally.
          let sum = this.fieldTally;
          /** Set when the loop ended a record and the next one must start in FieldStart (quoted, or no more data). */
          let recordEnded = false;
          for (;;) {
            // One table load per byte both finds the field's end (-1: ',', LF, CR, '"' or the sentinel) and tallies
            // its bytes, so a plain number is classified without a second pass (classOfTally).
            let t: number;
            while ((t = tally[buf[p]]) >= 0) {
              sum = (sum + t) | 0;
              p++;
            }
            if (p >= n) break;
            c = buf[p];
            cls = p - fieldStart <= TALLY_MAX ? classOfTally(sum, buf, fieldStart) : FIELD_UNKNOWN;
            // Fast path: a comma followed by an unquoted field (the common case) starts scanning it right here,
            // recording the field without a call (its `escaped` entry is already 0: see endRecord).
            if (c === COMMA && p + 1 < n && buf[p + 1] !== QUOTE && k < starts.length) {
              starts[k] = fieldStart;
              ends[k] = p;
              classes[k] = cls;
              k++;
              fieldStart = ++p;
              sum = 0;
              continue;
            }
            // Fast path: a LF ends the record here (a CR, or full field arrays, take the general path below).
            if (c === LF && k < starts.length) {
              starts[k] = fieldStart;
              ends[k] = p;
              classes[k] = cls;
              this.count = k + 1;
              this.endRecord(++p, 1, true);
              k = 0;
              fieldStart = p;
              sum = 0;
              // With the wasm scan, the next record goes back to it (FieldStart).
              if (p < n && buf[p] !== QUOTE && this.scanner === null) continue;
              recordEnded = true;
            }
            break;
          }
          this.count = k;
          this.fieldStart = fieldStart;
          this.fieldTally = sum;
          if (recordEnded) {
            state = State.FieldStart;
            break;
          }
          if (p >= n) {
            if (atEnd) {
              this.endField(p, false, FIELD_UNKNOWN);
              this.endRecord(p, 0);
              this.pos = p;
              this.state = State.FieldStart;
              return;
            }
            this.pos = p;
            this.state = state;
            return;
          }
          if (c === COMMA) {
            this.endField(p, false, cls);
            p++;
            state = State.FieldStart;
          } else if (c === QUOTE) {
            this.fail('quote inside an unquoted field', p);
          } else {
            const next = this.lineBreak(p, atEnd);
            if (next < 0) {
              this.pos = p;
              this.state = state;
              return;
            }
            this.endField(p, false, cls);
            this.endRecord(next, 1, next === p + 1);
            p = next;
            state = State.FieldStart;
          }
          break;
        }
        case State.Quoted: {
          const q = buf.indexOf(QUOTE, p);
          const stop = q < 0 || q >= n ? n : q;
          for (let i = p; i < stop; i++) if (buf[i] === LF) this.innerNewlines++;
          if (stop >= n) {
            if (atEnd) this.fail('unterminated quoted field', this.fieldStart - 1);
            this.pos = n;
            this.state = state;
            return;
          }
          p = q + 1;
          state = State.QuoteInQuoted;
          break;
        }
        case State.QuoteInQuoted: {
          if (p >= n) {
            if (atEnd) {
              this.endField(p - 1, this.fieldEscaped);
              this.endRecord(p, 0);
              this.pos = p;
              this.state = State.FieldStart;
              return;
            }
            this.pos = p;
            this.state = state;
            return;
          }
          if (buf[p] === QUOTE) {
            this.fieldEscaped = true;
            p++;
            state = State.Quoted;
          } else {
            this.endField(p - 1, this.fieldEscaped);
            state = State.AfterQuoted;
          }
          break;
        }
        case State.AfterQuoted: {
          if (p >= n) {
            if (atEnd) {
              this.endRecord(p, 0);
              this.pos = p;
              this.state = State.FieldStart;
              return;
            }
            this.pos = p;
            this.state = state;
            return;
          }
          const c = buf[p];
          if (c === COMMA) {
            p++;
            state = State.FieldStart;
            // A comma right at the end of input still opens an (empty) field; FieldStart handles it.
          } else if (c === LF || c === CR) {
            const next = this.lineBreak(p, atEnd);
            if (next < 0) {
              this.pos = p;
              this.state = state;
              return;
            }
            this.endRecord(next, 1, next === p + 1);
            p = next;
            state = State.FieldStart;
          } else {
            this.fail('characters after the closing quote of a quoted field', p, 'BAD_QUOTING', this.count);
          }
          break;
        }
      }
    }
  }
}
