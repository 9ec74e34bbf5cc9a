// Single-pass CSV inspection: parse (RFC 4180), infer or validate the schema, count rows, missing values and how
// often each categorical value occurs, and compute the commitment, all from one stream of bytes (see commitment.ts
// for the canonical form). What of it may be published is decided in privacy.ts.
import { isUtf8 } from 'node:buffer';
import { CommitmentHasher, type CommitmentPlan, type CommitmentSink } from './commitment.js';
import { DatasetError } from './errors.js';
import { LevelTable } from './levels.js';
import { classifyNumber } from './numbers.js';
import { publicSchemaOf, refuseRareClasses, type ColumnReport, columnReports } from './privacy.js';
import {
  DEFAULT_K,
  DEFAULT_MISSING_TOKENS,
  missingTokens,
  parseSchema,
  type Column,
  type DatasetSchema,
} from './schema.js';
import {
  type BatchSink,
  CsvTokenizer,
  FIELD_FLOAT,
  FIELD_TEXT,
  FIELD_UNKNOWN,
  fieldsEndOf,
  firstFieldOf,
  type RawRecord,
  recordEndOf,
  type ScannedRecords,
} from './tokenizer.js';
import { booleanValue, dateValue, datetimeValue, isMissing, mayBeToken, tokenLengths } from './values.js';

export interface InspectOptions {
  /** Name of the label column (required: a dataset is for supervised learning). */
  readonly label: string;
  /** A declared schema: the file must match it (columns, order, types, levels, classes). */
  readonly schema?: DatasetSchema;
  /** Inference: a categorical column with more distinct values than this becomes text (ignored). Default 256. */
  readonly maxCategoricalLevels?: number;
  /** Most distinct label values. Default 1024. */
  readonly maxClasses?: number;
  /** k: no value occurring in fewer rows is published. Overrides the schema's `k`; default DEFAULT_K. */
  readonly k?: number;
  /** Inference: missing-value tokens of every column but the label (default DEFAULT_MISSING_TOKENS). */
  readonly missing?: readonly string[];
  /**
   * True: refuse (RARE_VALUE) a dataset whose classes or public levels include a value occurring in fewer than k
   * rows. Default false: return that refusal in `refusal` (a preview; re-checking sealed data against its manifest,
   * which must keep working for manifests sealed before k existed). `sealDataset`, the one place that publishes,
   * always sets it.
   */
  readonly refuseRare?: boolean;
}

export interface InspectResult {
  /**
   * The public schema: what the manifest publishes (privacy.ts publicSchemaOf). Categorical levels appear only where
   * the owner marked them public, and the label's classes only when each occurs in at least k rows (or is public).
   */
  readonly schema: DatasetSchema;
  /** The owner's full schema (inferred levels included): never published; e.g. a template for `--schema`. */
  readonly privateSchema: DatasetSchema;
  /** Data rows (the header not counted). */
  readonly rows: number;
  /** Levels of the label column; a label's class index is its position here. */
  readonly classes: readonly string[];
  /** Lowercase hex SHA-256 commitment (commitment.ts). */
  readonly commitment: string;
  /** CSV bytes parsed (after gzip decompression). */
  readonly csvBytes: number;
  /** The k applied. */
  readonly k: number;
  /** Per column, in file order: type, role, missing values, levels, what becomes public. For the owner's eyes. */
  readonly columns: readonly ColumnReport[];
  /** Without `refuseRare`: why sealing would refuse this dataset (a RARE_VALUE error), else absent. */
  readonly refusal?: DatasetError;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A level table holding the UTF-8 bytes of `levels`. */
function tableOf(levels: readonly string[]): LevelTable {
  const t = new LevelTable(levels.length);
  for (const l of levels) {
    const b = Buffer.from(l, 'utf8');
    t.findOrAdd(b, 0, b.length, Infinity);
  }
  return t;
}

/** Integers ascending when every level is an integer, else by UTF-16 code units (JS default sort). */
export function sortLevels(levels: Iterable<string>): string[] {
  const all = [...levels];
  if (all.every((l) => /^[+-]?\d+$/.test(l))) return all.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : 1));
  return all.sort();
}

/** What a non-missing value looks like, for inference. */
const K_INT = 0;
const K_FLOAT = 1;
const K_BOOL = 2;
const K_DATE = 3;
const K_DATETIME = 4;
const K_OTHER = 5;
const KINDS = 6;
/** Stride of a column's counters in the flat kind arrays (a power of two >= KINDS). */
const KIND_STRIDE = 8;
const KIND_NAMES = ['an integer', 'a number', 'a boolean', 'a date', 'a date-time', 'text'];

/** The kind (K_INT .. K_OTHER) of a non-missing value whose number class (tokenizer.ts FIELD_*) is `cls`. */
function kindOf(buf: Buffer, s: number, e: number, cls: number): number {
  if (cls === FIELD_UNKNOWN) cls = classifyNumber(buf, s, e);
  if (cls !== FIELD_TEXT) return cls;
  if (booleanValue(buf, s, e) >= 0) return K_BOOL;
  if (!Number.isNaN(dateValue(buf, s, e))) return K_DATE;
  if (!Number.isNaN(datetimeValue(buf, s, e))) return K_DATETIME;
  return K_OTHER;
}

// Per column, the work a value needs in the hot loop (CsvInspector.record).
/** Inference, distinct values still counted: level table, then the value's kind (once per distinct value). */
const MODE_LEVELS = 0;
/** Inference past the level cap: the value's kind only. */
const MODE_KINDS = 1;
/** Declared integer / float: number syntax only (MODE_FLOAT - MODE_INT is the highest number class allowed). */
const MODE_INT = 2;
const MODE_FLOAT = 3;
/** Declared text, or a declared categorical past the level cap: nothing. */
const MODE_FREE = 4;
/** Any other declared column: checkDeclared. */
const MODE_DECLARED = 5;

/** Counts of the values of one categorical column (or of any column while inferring), up to a cap of levels. */
export class LevelCounts {
  counts = new Int32Array(16);
  firstLines = new Int32Array(16);
  /** Inference: each level's kind + 1 (0: not classified yet), so a repeated value is classified once. */
  kinds = new Int8Array(16);
  constructor(readonly table: LevelTable) {}
  /** Counts `b[s..e)`; false when it is a new level beyond `cap`. */
  add(b: Uint8Array, s: number, e: number, cap: number, line: number): boolean {
    const idx = this.table.findOrAdd(b, s, e, cap);
    if (idx < 0) return false;
    this.bump(idx, line);
    return true;
  }
  bump(idx: number, line: number): void {
    if (idx >= this.counts.length) this.grow();
    if (this.counts[idx]++ === 0) this.firstLines[idx] = line;
  }
  /** Doubles the per-level arrays (kept out of bump so that bump stays small enough to inline). */
  private grow(): void {
    const c = new Int32Array(this.counts.length * 2);
    c.set(this.counts);
    this.counts = c;
    const f = new Int32Array(this.firstLines.length * 2);
    f.set(this.firstLines);
    this.firstLines = f;
    const k = new Int8Array(this.kinds.length * 2);
    k.set(this.kinds);
    this.kinds = k;
  }
  /** Level text → (rows it occurs in, first line), in insertion order. */
  entries(): { level: string; count: number; firstLine: number }[] {
    return this.table
      .entries()
      .map((b, i) => ({ level: strictUtf8.decode(b), count: this.counts[i], firstLine: this.firstLines[i] }));
  }
}

/** Per-column statistics gathered in the single pass (never published as such; privacy.ts decides). */
export interface ColumnStats {
  missing: number;
  firstMissingLine: number;
  /** Values by kind (inference only). */
  readonly kinds: Int32Array;
  readonly kindFirstLine: Int32Array;
  /** Distinct values and their counts; null once more than the cap were seen. */
  levels: LevelCounts | null;
}

/**
 * Push-based inspector: feed it CSV bytes (already decompressed) with `push`, then call `finish`. Throws a
 * DatasetError at the first bad byte, field or row. Use `inspectCsv` / `inspectCsvTee` for streams and gzip.
 */
export class CsvInspector {
  private readonly tokenizer: CsvTokenizer;
  /** A CommitmentHasher, or the CommitmentPlan given to deferCommitment. */
  private hasher: CommitmentSink = new CommitmentHasher();
  private readonly maxLevels: number;
  private readonly maxClasses: number;
  private names: string[] = [];
  private ncols = 0;
  private labelIndex = -1;
  /** Declared columns (schema given), else null. */
  private declared: (Column | null)[] = [];
  /** Declared categorical levels as a table (validation), else null. */
  private declaredLevels: (LevelTable | null)[] = [];
  private tokens: Uint8Array[][] = [];
  /** Per column, the lengths of its missing tokens (values.ts tokenLengths). */
  private tokenLengths = new Int32Array(0);
  /** Per column, 256 flags: 1 at [column * 256 + b] when one of its missing tokens begins with byte b. */
  private tokenFirstBytes = new Uint8Array(0);
  /**
   * Per column, the number classes (tokenizer FIELD_*) above which a value may be a missing token: FIELD_FLOAT when no
   * token is a number (a number is never missing), -1 when one is (any value may be), 255 without tokens (none is).
   */
  private missingAbove = new Int32Array(0);
  private stats: ColumnStats[] = [];
  /** Every column's ColumnStats.kinds and .kindFirstLine, flat (column i at i * KIND_STRIDE), for the hot loop. */
  private kindCounts = new Int32Array(0);
  private kindFirstLines = new Int32Array(0);
  /** Per column, what each value needs (MODE_*), settled from the schema and updated when a level table overflows. */
  private modes = new Uint8Array(0);
  private rows = 0;
  private result: InspectResult | undefined;

  constructor(private readonly options: InspectOptions) {
    if (typeof options.label !== 'string' || options.label.length === 0)
      throw new DatasetError('INVALID_INPUT', 'a label column name is required');
    this.maxLevels = options.maxCategoricalLevels ?? 256;
    this.maxClasses = options.maxClasses ?? 1024;
    if (options.k !== undefined && (!Number.isInteger(options.k) || options.k < 1 || options.k > 1_000_000))
      throw new DatasetError('INVALID_INPUT', 'k must be an integer from 1 to 1000000');
    if (options.schema) {
      parseSchema(options.schema);
      if (options.schema.label !== options.label)
        throw new DatasetError(
          'SCHEMA_MISMATCH',
          `label "${options.label}" differs from the schema's label "${options.schema.label}"`,
        );
    }
    this.tokenizer = new CsvTokenizer(
      (buf, starts, ends, count, line, raw, classes, first) =>
        this.record(buf, starts, ends, count, line, raw, classes, first),
      (buf, start, end, line) => {
        this.checkUtf8(buf, start, end, line);
        this.hasher.flushRun();
      },
      undefined,
      (...batch) => this.batch(...batch),
    );
  }

  /**
   * Describes the commitment's input to `plan` instead of hashing it here (the worker thread does, for the thread that
   * sent it the bytes: inspect.ts); `finish` then returns an empty commitment. Only before the first push.
   */
  deferCommitment(plan: CommitmentPlan): void {
    if (this.tokenizer.bytes > 0) throw new DatasetError('INVALID_INPUT', 'deferCommitment after push');
    this.hasher = plan;
  }

  /** No later plain record takes bytes before this input position (tokenizer.ts; CommitmentReplay.release). */
  get pendingFrom(): number {
    return this.tokenizer.pendingFrom;
  }

  push(chunk: Uint8Array): void {
    if (this.tokenizer.bytes === 0 && chunk.length > 0) refuseNonCsv(chunk);
    this.tokenizer.push(chunk);
  }

  finish(): InspectResult {
    if (this.result) return this.result;
    this.tokenizer.finish();
    if (this.ncols === 0) throw new DatasetError('EMPTY_FILE', 'the file is empty (no header row)');
    if (this.rows === 0) throw new DatasetError('EMPTY_FILE', 'the file has a header but no data rows');
    // The columns still counting levels count their kinds now (once: finish may be called again after a refusal).
    for (let i = 0; i < this.ncols; i++) if (this.modes[i] === MODE_LEVELS && i !== this.labelIndex) this.foldKinds(i);
    this.modes.fill(MODE_FREE);
    const k = this.options.k ?? this.options.schema?.k ?? undefined;
    const privateSchema = this.resolvedSchema(k);
    const kk = privateSchema.k!;
    let refusal: DatasetError | undefined;
    try {
      refuseRareClasses(privateSchema, this.labelIndex, this.stats[this.labelIndex].levels!, kk, !!this.options.schema);
      publicSchemaOf(privateSchema, this.stats, kk, true);
    } catch (e) {
      if (this.options.refuseRare === true || !(e instanceof DatasetError)) throw e;
      refusal = e;
    }
    const schema = publicSchemaOf(privateSchema, this.stats, kk, false);
    const label = privateSchema.columns[this.labelIndex];
    const classes = label.type === 'categorical' ? (label.levels ?? []) : [];
    this.result = {
      schema,
      privateSchema,
      rows: this.rows,
      classes,
      commitment: this.hasher instanceof CommitmentHasher ? this.hasher.digestHex() : '',
      csvBytes: this.tokenizer.bytes,
      k: kk,
      columns: columnReports(privateSchema, schema, this.stats, kk),
      ...(refusal ? { refusal } : {}),
    };
    return this.result;
  }

  /** The declared schema with the label's levels filled in, or the inferred one (levels sorted, see sortLevels). */
  private resolvedSchema(k: number | undefined): DatasetSchema {
    const declaredSchema = this.options.schema;
    const columns: Column[] = this.names.map((name, i) => {
      const stats = this.stats[i];
      const declared = this.declared[i];
      if (declared) {
        if (declared.type === 'categorical' && declared.levels === undefined && stats.levels)
          return { ...declared, levels: sortLevels(stats.levels.entries().map((e) => e.level)) };
        return declared;
      }
      if (i === this.labelIndex)
        return {
          name,
          type: 'categorical',
          role: 'label',
          levels: sortLevels(stats.levels!.entries().map((e) => e.level)),
        };
      return this.inferredColumn(name, i);
    });
    const out: DatasetSchema = { ...(declaredSchema ?? {}), columns, label: this.options.label };
    if (!declaredSchema && this.options.missing) out.missing = [...this.options.missing];
    out.k = k ?? declaredSchema?.k ?? DEFAULT_K;
    return parseSchema(out);
  }

  private inferredColumn(name: string, i: number): Column {
    const { kinds, kindFirstLine, levels } = this.stats[i];
    const present = this.rows - this.stats[i].missing;
    if (present === 0) return { name, type: 'text', role: 'ignored' };
    const numbers = kinds[K_INT] + kinds[K_FLOAT];
    const others = present - numbers;
    if (numbers > 0 && others > 0) {
      // The hazard of issue 13: one stray token must not silently turn a numeric column categorical (which would
      // publish its values). Refuse, pointing at the first value of the minority kind.
      let at = -1;
      let atKind = K_OTHER;
      const minorityNumbers = numbers < others;
      for (let kk = 0; kk < KINDS; kk++) {
        const isNumber = kk === K_INT || kk === K_FLOAT;
        if (kinds[kk] === 0 || isNumber !== minorityNumbers) continue;
        if (at < 0 || kindFirstLine[kk] < at) {
          at = kindFirstLine[kk];
          atKind = kk;
        }
      }
      const tokens = (this.options.missing ?? DEFAULT_MISSING_TOKENS).map((t) => JSON.stringify(t)).join(', ');
      throw new DatasetError(
        'AMBIGUOUS_TYPE',
        `column "${name}" holds ${minorityNumbers ? 'mostly text' : 'numbers'}, but this value is ${KIND_NAMES[atKind]}` +
          ` (not a missing token: ${tokens}). Fix the value, list it as a missing token ("missing" in a --schema` +
          ` file), or declare the column's type there ("float", "categorical", "text", ...)`,
        at,
        i + 1,
      );
    }
    if (numbers > 0) return { name, type: kinds[K_FLOAT] > 0 ? 'float' : 'integer' };
    if (kinds[K_BOOL] === present) return { name, type: 'boolean' };
    if (kinds[K_DATE] === present) return { name, type: 'date' };
    if (kinds[K_DATE] + kinds[K_DATETIME] === present) return { name, type: 'datetime' };
    // Text: categorical when it has few enough distinct values and is not an identifier (every value distinct).
    if (levels === null || (levels.table.size === present && present > 1))
      return { name, type: 'text', role: 'ignored' };
    return { name, type: 'categorical', levels: sortLevels(levels.entries().map((e) => e.level)), encoding: 'hash' };
  }

  private checkUtf8(buf: Buffer, start: number, end: number, line: number): void {
    if (isUtf8(buf.subarray(start, end))) return;
    // Slow path, only on failure: find the line (a line feed never splits a UTF-8 sequence).
    let from = start;
    for (let i = start; i <= end; i++) {
      if (i === end || buf[i] === 0x0a) {
        if (!isUtf8(buf.subarray(from, i))) {
          if (line === 1) throw notCsv('its first line is not UTF-8 text (a binary file?)');
          throw new DatasetError('INVALID_UTF8', 'bytes are not valid UTF-8', line);
        }
        line++;
        from = i + 1;
      }
    }
    throw new DatasetError('INVALID_UTF8', 'bytes are not valid UTF-8', line);
  }

  private header(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number, line: number): void {
    const names: string[] = [];
    const seen = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      let name: string;
      try {
        name = strictUtf8.decode(buf.subarray(starts[i], ends[i]));
      } catch {
        throw notCsv('its header line is not UTF-8 text (a binary file?)');
      }
      if (count === 1 && AGE_FIRST_LINES.includes(name)) throw notCsv('it is an age-encrypted file; decrypt it first');
      if (name.length === 0) throw new DatasetError('EMPTY_HEADER', 'empty column name in the header', line, i + 1);
      // eslint-disable-next-line no-control-regex -- C0 controls and DEL are refused in column names
      if (name.length > 256 || /[\u0000-\u001f\u007f]/.test(name))
        throw new DatasetError(
          'BAD_HEADER',
          'column names have at most 256 characters and no control characters',
          line,
          i + 1,
        );
      const first = seen.get(name);
      if (first !== undefined)
        throw new DatasetError('DUPLICATE_HEADER', `column name "${name}" repeats column ${first + 1}`, line, i + 1);
      seen.set(name, i);
      names.push(name);
    }
    const schema = this.options.schema;
    this.declared = new Array<Column | null>(count).fill(null);
    this.declaredLevels = new Array<LevelTable | null>(count).fill(null);
    if (schema) {
      if (schema.columns.length !== count)
        throw new DatasetError(
          'SCHEMA_MISMATCH',
          `header has ${count} columns, the schema declares ${schema.columns.length}`,
          line,
          Math.min(count, schema.columns.length) + 1,
        );
      schema.columns.forEach((c, i) => {
        if (c.name !== names[i])
          throw new DatasetError(
            'SCHEMA_MISMATCH',
            `header "${names[i]}" where the schema declares "${c.name}"`,
            line,
            i + 1,
          );
        this.declared[i] = c;
        if (c.type === 'categorical' && c.levels) this.declaredLevels[i] = tableOf(c.levels);
      });
    }
    const labelIndex = seen.get(this.options.label);
    if (labelIndex === undefined)
      throw new DatasetError('MISSING_LABEL', `label column "${this.options.label}" is not in the header`, line);
    if (count < 2)
      throw new DatasetError('NO_FEATURES', 'a dataset needs at least one feature column besides the label', line);
    const encode = (l: readonly string[]) => l.map((t) => new Uint8Array(Buffer.from(t, 'utf8')));
    this.tokens = names.map((name, i) => {
      if (schema) return encode(missingTokens(schema, schema.columns[i]));
      if (i === labelIndex) return [];
      return encode(this.options.missing ?? DEFAULT_MISSING_TOKENS);
    });
    this.tokenLengths = Int32Array.from(this.tokens, tokenLengths);
    this.tokenFirstBytes = new Uint8Array(count * 256);
    this.tokens.forEach((ts, i) => ts.forEach((t) => t.length > 0 && (this.tokenFirstBytes[i * 256 + t[0]] = 1)));
    this.missingAbove = Int32Array.from(this.tokens, (ts) =>
      ts.length === 0 ? 255 : ts.some((t) => classifyNumber(t, 0, t.length) !== FIELD_TEXT) ? -1 : FIELD_FLOAT,
    );
    this.kindCounts = new Int32Array(count * KIND_STRIDE);
    this.kindFirstLines = new Int32Array(count * KIND_STRIDE);
    this.stats = names.map((_, i) => ({
      missing: 0,
      firstMissingLine: 0,
      kinds: this.kindCounts.subarray(i * KIND_STRIDE, i * KIND_STRIDE + KINDS),
      kindFirstLine: this.kindFirstLines.subarray(i * KIND_STRIDE, i * KIND_STRIDE + KINDS),
      levels:
        this.declaredLevels[i] !== null
          ? new LevelCounts(this.declaredLevels[i]!)
          : schema && schema.columns[i].type !== 'categorical'
            ? null
            : new LevelCounts(new LevelTable()),
    }));
    this.modes = Uint8Array.from(this.declared, (c) => {
      if (c === null) return MODE_LEVELS;
      if (c.type === 'integer') return MODE_INT;
      if (c.type === 'float') return MODE_FLOAT;
      if (c.type === 'text') return MODE_FREE;
      return MODE_DECLARED;
    });
    this.names = names;
    this.ncols = count;
    this.labelIndex = labelIndex;
  }

  private record(
    buf: Buffer,
    starts: Int32Array,
    ends: Int32Array,
    count: number,
    line: number,
    raw: RawRecord,
    classes: Uint8Array,
    first: number,
  ): void {
    if (this.ncols === 0) {
      this.header(buf, starts.subarray(first), ends.subarray(first), count, line);
      this.commit(buf, starts, ends, count, raw, first);
      return;
    }
    const ncols = this.ncols;
    if (count !== ncols)
      throw new DatasetError(
        'RAGGED_ROW',
        `row has ${count} fields, the header has ${ncols}`,
        line,
        Math.min(count, ncols) + 1,
      );
    // One record (the state machine's, or a wasm record the batch left): value by value, in file order.
    for (let i = 0; i < ncols; i++) this.value(i, buf, starts[first + i], ends[first + i], classes[first + i], line);
    this.commit(buf, starts, ends, count, raw, first);
    this.rows++;
  }

  /**
   * The wasm scan's records from `from` on (tokenizer.ts BatchSink), taken while they have the header's field count:
   * checked and counted column by column, then added to the commitment. Returns how many it took (0 before the header).
   */
  private batch(...[scanned, from, to, start, line, offset]: Parameters<BatchSink>): number {
    const ncols = this.ncols;
    if (ncols === 0) return 0;
    const { buf, recordEnds } = scanned;
    // Records of ncols fields each: record r's field i is field first + r * ncols + i.
    const first = firstFieldOf(recordEnds, from);
    let n = 0;
    while (from + n < to && fieldsEndOf(recordEnds, from + n) === first + (n + 1) * ncols) n++;
    if (n === 0) return 0;
    this.values(scanned, first, n, line);
    // Plain (LF) records are their canonical bytes: runs of them go to the commitment as ranges (ncols >= 2, so none
    // is the lone empty field of commit); a CRLF record is its bytes but the CR.
    const hasher = this.hasher;
    let runStart = start;
    let at = start;
    for (let r = from; r < from + n; r++) {
      const end = recordEndOf(scanned, r);
      if (recordEnds[r] < 0) {
        // CRLF: the bytes before the CR, then LF (no field of the wasm scan's records needs quotes).
        if (at > runStart) hasher.addPlain(buf, runStart, at, offset);
        hasher.addLine(buf, at, end - 2);
        runStart = end;
      }
      at = end;
    }
    if (at > runStart) hasher.addPlain(buf, runStart, at, offset);
    this.rows += n;
    return n;
  }

  /**
   * Checks and counts the values of `n` records of ncols fields each, record r's field i at `first + r * ncols + i` of
   * starts/ends/classes, record r on line `line + r`; throws the first bad value in file order. Column by column: a
   * value's checks read and update only its own column's state, so the columns are independent and each loop
   * (`column`) keeps one column's state at hand. A column that fails limits the later ones to the rows before it (one
   * of them may fail earlier in the file).
   */
  private values(scanned: ScannedRecords, first: number, n: number, line: number): void {
    let failure: DatasetError | undefined;
    for (let i = 0; i < this.ncols && n > 0; i++) {
      try {
        this.column(i, scanned, first + i, n, line);
      } catch (e) {
        if (!(e instanceof DatasetError) || e.line === undefined) throw e;
        failure = e;
        n = e.line - line;
      }
    }
    if (failure) throw failure;
  }

  /**
   * Column i's values: fields `at`, `at + ncols`, ... (`n` of them, the first on `line`). The common values of the
   * column's mode take a loop of their own with the column's state at hand (numbers the scan classified, levels
   * already seen); any other value, and a column whose mode has no such loop, goes to `value`. A mode can change
   * mid-column (a level table filling up), so each loop stops there and the next one goes on.
   */
  private column(i: number, scanned: ScannedRecords, at: number, n: number, line: number): void {
    const stride = this.ncols;
    const end = at + n * stride;
    for (let f = at; f < end;) {
      const fLine = line + (f - at) / stride;
      const mode = this.modes[i];
      if (mode === MODE_KINDS) f = this.kindsRun(i, scanned, f, end, fLine);
      else if (mode === MODE_LEVELS) f = this.levelsRun(i, scanned, f, end, fLine);
      else if (mode === MODE_INT || mode === MODE_FLOAT) f = this.numbersRun(i, scanned, f, end, fLine);
      else {
        const { buf, starts, ends, classes } = scanned;
        for (let l = fLine; f < end; f += stride, l++) this.value(i, buf, starts[f], ends[f], classes[f], l);
      }
    }
  }

  /**
   * MODE_KINDS: a value the scan classified as a number no missing token can be (missingAbove) is counted as its class,
   * in locals; the others go to `value`. Returns `end` (the mode does not change).
   */
  private kindsRun(i: number, scanned: ScannedRecords, f: number, end: number, line: number): number {
    const { buf, starts, ends, classes } = scanned;
    const stride = this.ncols;
    // Classes up to `fast` are counted here (FIELD_INT = K_INT, FIELD_FLOAT = K_FLOAT).
    const fast = Math.min(FIELD_FLOAT, this.missingAbove[i]);
    const { kindCounts, kindFirstLines } = this;
    const at = i * KIND_STRIDE;
    let ints = 0;
    let floats = 0;
    for (; f < end; f += stride, line++) {
      const cls = classes[f];
      if (cls > fast) {
        // value may count a kind itself: the counts so far go first, so that it sees whether one is its first.
        kindCounts[at + K_INT] += ints;
        kindCounts[at + K_FLOAT] += floats;
        ints = floats = 0;
        this.value(i, buf, starts[f], ends[f], cls, line);
      } else if (cls === FIELD_FLOAT) {
        if (floats++ === 0 && kindCounts[at + K_FLOAT] === 0) kindFirstLines[at + K_FLOAT] = line;
      } else if (ints++ === 0 && kindCounts[at + K_INT] === 0) kindFirstLines[at + K_INT] = line;
    }
    kindCounts[at + K_INT] += ints;
    kindCounts[at + K_FLOAT] += floats;
    return end;
  }

  /**
   * MODE_LEVELS: a value that is not missing and already a level of up to 8 bytes (LevelTable.indexOf, inlined here)
   * only adds to its level's count (its kind is counted from the levels' counts: foldKinds); the others go to `value`.
   * Returns where the mode changed (the level table filled up), or `end`.
   */
  private levelsRun(i: number, scanned: ScannedRecords, f: number, end: number, line: number): number {
    const { buf, starts, ends, classes } = scanned;
    const stride = this.ncols;
    const tokenFirstBytes = this.tokenFirstBytes;
    const tokens = this.tokens[i];
    const tokenLength = this.tokenLengths[i];
    const missingAbove = this.missingAbove[i];
    const firstBytes = i * 256;
    const levels = this.stats[i].levels!;
    const table = levels.table;
    for (; f < end; f += stride, line++) {
      const s = starts[f];
      const e = ends[f];
      const cls = classes[f];
      const idx =
        s === e ||
        (cls > missingAbove &&
          mayBeToken(tokenLength, tokenFirstBytes, firstBytes, buf, s, e) &&
          isMissing(buf, s, e, tokens))
          ? -1
          : table.indexOf(buf, s, e);
      if (idx < 0) {
        this.value(i, buf, s, e, cls, line);
        if (this.modes[i] !== MODE_LEVELS) return f + stride;
      } else levels.counts[idx]++; // a level value added with its first line (counts grows with the table: read here)
    }
    return end;
  }

  /**
   * Inference: counts the kinds of column i's values from its levels (each level's kind was classified once, when it
   * was added) when the column stops counting levels (levelsFull) or at the end; until then MODE_LEVELS counts levels
   * only.
   */
  private foldKinds(i: number): void {
    const levels = this.stats[i].levels!;
    const { kindCounts, kindFirstLines } = this;
    for (let idx = 0; idx < levels.table.size; idx++) {
      const k = i * KIND_STRIDE + levels.kinds[idx] - 1;
      if (kindCounts[k] === 0 || levels.firstLines[idx] < kindFirstLines[k]) kindFirstLines[k] = levels.firstLines[idx];
      kindCounts[k] += levels.counts[idx];
    }
  }

  /**
   * MODE_INT / MODE_FLOAT: a value the scan classified as a number allowed here that no missing token can be needs
   * nothing; the others go to `value`. Returns `end`.
   */
  private numbersRun(i: number, scanned: ScannedRecords, f: number, end: number, line: number): number {
    const { buf, starts, ends, classes } = scanned;
    const stride = this.ncols;
    const fast = Math.min(this.modes[i] - MODE_INT, this.missingAbove[i]);
    for (; f < end; f += stride, line++) {
      const cls = classes[f];
      if (cls > fast) this.value(i, buf, starts[f], ends[f], cls, line);
    }
    return end;
  }

  /**
   * One value of column i, `buf[s..e)` of number class `cls` (tokenizer FIELD_*) on `line`: a missing token is ruled
   * out by the class, its length and first byte before any comparison; then what the column's mode needs.
   */
  private value(i: number, buf: Buffer, s: number, e: number, cls: number, line: number): void {
    if (
      cls > this.missingAbove[i] &&
      mayBeToken(this.tokenLengths[i], this.tokenFirstBytes, i * 256, buf, s, e) &&
      isMissing(buf, s, e, this.tokens[i])
    ) {
      if (i === this.labelIndex) this.missingLabel(line, i);
      const stats = this.stats[i];
      if (stats.missing++ === 0) stats.firstMissingLine = line;
      return;
    }
    if (i === this.labelIndex && s === e) this.missingLabel(line, i);
    const mode = this.modes[i];
    if (mode === MODE_KINDS) this.countKind(i, kindOf(buf, s, e, cls), line);
    else if (mode === MODE_LEVELS) {
      // Inference while distinct values are still counted: each value's kind is computed once per distinct value,
      // kept beside its count (foldKinds).
      const levels = this.stats[i].levels!;
      // A value seen before: the lookup V8 inlines (levels.ts indexOf); a new or long one: findOrAdd.
      let idx = levels.table.indexOf(buf, s, e);
      if (idx < 0) idx = levels.table.findOrAdd(buf, s, e, i === this.labelIndex ? this.maxClasses : this.maxLevels);
      if (idx < 0) this.levelsFull(buf, s, e, line, i, cls);
      else {
        levels.bump(idx, line);
        if (i !== this.labelIndex && levels.kinds[idx] === 0) levels.kinds[idx] = kindOf(buf, s, e, cls) + 1;
      }
    } else if (mode === MODE_INT || mode === MODE_FLOAT) {
      const c = cls === FIELD_UNKNOWN ? classifyNumber(buf, s, e) : cls;
      if (c > mode - MODE_INT) this.badNumber(c, line, i, s === e);
    } else if (mode === MODE_DECLARED) this.checkDeclared(this.declared[i]!, this.stats[i], buf, s, e, line, i);
  }

  private countKind(i: number, kind: number, line: number): void {
    const k = i * KIND_STRIDE + kind;
    if (this.kindCounts[k]++ === 0) this.kindFirstLines[k] = line;
  }

  private missingLabel(line: number, i: number): never {
    throw new DatasetError(
      'MISSING_VALUE',
      `row has no label in column "${this.names[i]}": drop the row or fill in its class`,
      line,
      i + 1,
    );
  }

  /**
   * Validates one value against its declared column and counts categorical values (MODE_DECLARED: declared integer,
   * float and text columns are checked in record itself).
   */
  private checkDeclared(
    c: Column,
    stats: ColumnStats,
    buf: Buffer,
    s: number,
    e: number,
    line: number,
    i: number,
  ): void {
    switch (c.type) {
      case 'boolean':
        if (booleanValue(buf, s, e) < 0) this.badValue('NOT_BOOLEAN', 'true or false', line, i);
        return;
      case 'date':
        if (Number.isNaN(dateValue(buf, s, e))) this.badValue('NOT_DATE', 'an ISO 8601 date (YYYY-MM-DD)', line, i);
        return;
      case 'datetime':
        if (Number.isNaN(datetimeValue(buf, s, e)) && Number.isNaN(dateValue(buf, s, e)))
          this.badValue('NOT_DATE', 'an ISO 8601 date-time (YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM])', line, i);
        return;
      case 'categorical': {
        const levels = stats.levels;
        if (levels === null) return; // a hashed column past the level cap: counts no longer needed (MODE_FREE)
        if (c.levels) {
          const idx = levels.table.find(buf, s, e);
          if (idx < 0)
            throw new DatasetError(
              'UNKNOWN_LEVEL',
              i === this.labelIndex
                ? `label of column "${this.names[i]}" is not one of the declared classes`
                : `value of column "${this.names[i]}" is not one of its declared levels`,
              line,
              i + 1,
            );
          levels.bump(idx, line);
        } else if (!levels.add(buf, s, e, i === this.labelIndex ? this.maxClasses : this.maxLevels, line)) {
          if (i === this.labelIndex)
            throw new DatasetError(
              'TOO_MANY_LEVELS',
              `label column "${this.names[i]}" has more than ${this.maxClasses} classes`,
              line,
              i + 1,
            );
          stats.levels = null;
          this.modes[i] = MODE_FREE;
        }
        return;
      }
    }
  }

  /**
   * Inference, a value new to a column whose level table is full (record counts the others in MODE_LEVELS): the
   * label refuses it; another column stops counting levels (MODE_KINDS from now on) and counts this value's kind.
   */
  private levelsFull(buf: Buffer, s: number, e: number, line: number, i: number, cls: number): void {
    if (i === this.labelIndex)
      throw new DatasetError(
        'TOO_MANY_LEVELS',
        `label column "${this.names[i]}" has more than ${this.maxClasses} classes`,
        line,
        i + 1,
      );
    this.foldKinds(i);
    this.stats[i].levels = null;
    this.modes[i] = MODE_KINDS;
    this.countKind(i, kindOf(buf, s, e, cls), line);
  }

  private commit(
    buf: Buffer,
    starts: Int32Array,
    ends: Int32Array,
    count: number,
    raw: RawRecord,
    first: number,
  ): void {
    // A lone empty field is the one plain record whose canonical form differs from its bytes (it is written "").
    if (raw.plain && (count > 1 || ends[first] > starts[first]))
      this.hasher.addPlain(buf, raw.start, raw.end, raw.offset);
    else this.hasher.addRecord(buf, starts, ends, count, first);
  }

  private badValue(code: 'NOT_BOOLEAN' | 'NOT_DATE', what: string, line: number, i: number): never {
    throw new DatasetError(
      code,
      `value of column "${this.names[i]}" is not ${what} nor a missing token; fix it or list it in the column's "missing"`,
      line,
      i + 1,
    );
  }

  private badNumber(cls: number, line: number, i: number, empty: boolean): never {
    const name = this.names[i];
    if (cls === 2)
      throw new DatasetError(
        'NOT_NUMERIC',
        empty
          ? `empty value in numeric column "${name}" (not one of its missing tokens)`
          : `value of numeric column "${name}" is not a number nor a missing token; fix it or list it in the column's "missing"`,
        line,
        i + 1,
      );
    throw new DatasetError('NOT_INTEGER', `value of integer column "${name}" is not an integer`, line, i + 1);
  }
}

const notCsv = (why: string) => new DatasetError('NOT_CSV', `not a CSV file: ${why}`);
/** A binary file (a NUL byte among the first bytes: CSV is text, RFC 4180 §2 TEXTDATA) is named as such at once. */
function refuseNonCsv(first: Uint8Array): void {
  if (first.subarray(0, 8192).includes(0)) throw notCsv('it contains NUL bytes (a binary file?)');
}

/** age ciphertext (a sealed dataset, e.g. from `dataset cat --sealed`) begins with one of these lines. */
const AGE_FIRST_LINES = ['age-encryption.org/v1', '-----BEGIN AGE ENCRYPTED FILE-----'];
