// Single-pass CSV inspection: parse (RFC 4180), infer or validate the schema, count rows, collect the label classes
// and compute the commitment, all from one stream of bytes (see commitment.ts for the canonical form).
import { isUtf8 } from 'node:buffer';
import { CommitmentHasher } from './commitment.js';
import { DatasetError } from './errors.js';
import { LevelTable } from './levels.js';
import { classifyNumber } from './numbers.js';
import { parseSchema, type Column, type DatasetSchema } from './schema.js';
import { CsvTokenizer, type RawRecord } from './tokenizer.js';

export interface InspectOptions {
  /** Name of the label column (required: a dataset is for supervised learning). */
  readonly label: string;
  /** A declared schema: the file must match it exactly (columns, order, types, levels, classes). */
  readonly schema?: DatasetSchema;
  /** Inference: a non-numeric column with more distinct values than this is refused. Default 256. */
  readonly maxCategoricalLevels?: number;
  /** Inference: most distinct label values. Default 1024. */
  readonly maxClasses?: number;
}

export interface InspectResult {
  /** The declared schema, or the inferred one (levels and classes sorted, see `sortLevels`). */
  readonly schema: DatasetSchema;
  /** Data rows (the header not counted). */
  readonly rows: number;
  /** Levels of the label column; a label's class index is its position here. */
  readonly classes: readonly string[];
  /** Lowercase hex SHA-256 commitment (commitment.ts). */
  readonly commitment: string;
  /** CSV bytes parsed (after gzip decompression). */
  readonly csvBytes: number;
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

const KIND_INT = 0;
const KIND_FLOAT = 1;
const KIND_CAT = 2;

/**
 * Push-based inspector: feed it CSV bytes (already decompressed) with `push`, then call `finish`. Throws a
 * DatasetError at the first bad byte, field or row. Use `inspectCsv` / `inspectCsvTee` for streams and gzip.
 */
export class CsvInspector {
  private readonly tokenizer: CsvTokenizer;
  private readonly hasher = new CommitmentHasher();
  private readonly maxLevels: number;
  private readonly maxClasses: number;
  private names: string[] = [];
  private ncols = 0;
  private labelIndex = -1;
  /** Per column: KIND_INT / KIND_FLOAT (numeric candidates or declared) or KIND_CAT. */
  private kinds = new Uint8Array(0);
  /** Per column: distinct values while tracked; null once a numeric column exceeded the level cap. */
  private levels: (LevelTable | null)[] = [];
  /** Declared schema: per categorical column the allowed levels. */
  private declaredLevels: (LevelTable | null)[] = [];
  private rows = 0;
  private result: InspectResult | undefined;

  constructor(private readonly options: InspectOptions) {
    if (typeof options.label !== 'string' || options.label.length === 0)
      throw new DatasetError('INVALID_INPUT', 'a label column name is required');
    this.maxLevels = options.maxCategoricalLevels ?? 256;
    this.maxClasses = options.maxClasses ?? 1024;
    if (options.schema) {
      parseSchema(options.schema);
      if (options.schema.label !== options.label)
        throw new DatasetError(
          'SCHEMA_MISMATCH',
          `label "${options.label}" differs from the schema's label "${options.schema.label}"`,
        );
    }
    this.tokenizer = new CsvTokenizer(
      (buf, starts, ends, count, line, raw) => this.record(buf, starts, ends, count, line, raw),
      (buf, start, end, line) => {
        this.checkUtf8(buf, start, end, line);
        this.hasher.flushRun();
      },
    );
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
    const schema = this.options.schema ?? this.inferredSchema();
    const label = schema.columns[this.labelIndex];
    const classes = label.type === 'categorical' ? label.levels : [];
    this.result = {
      schema,
      rows: this.rows,
      classes,
      commitment: this.hasher.digestHex(),
      csvBytes: this.tokenizer.bytes,
    };
    return this.result;
  }

  private inferredSchema(): DatasetSchema {
    const columns: Column[] = this.names.map((name, i) => {
      if (this.kinds[i] === KIND_INT && i !== this.labelIndex) return { name, type: 'integer' };
      if (this.kinds[i] === KIND_FLOAT && i !== this.labelIndex) return { name, type: 'float' };
      const levels = this.levels[i];
      if (!levels) throw new DatasetError('TOO_MANY_LEVELS', `column "${name}" has too many levels`);
      const text = levels.entries().map((b) => strictUtf8.decode(b));
      return { name, type: 'categorical', levels: sortLevels(text) };
    });
    return parseSchema({ columns, label: this.options.label });
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
    this.kinds = new Uint8Array(count);
    this.levels = new Array(count).fill(null);
    this.declaredLevels = new Array(count).fill(null);
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
        this.kinds[i] = c.type === 'integer' ? KIND_INT : c.type === 'float' ? KIND_FLOAT : KIND_CAT;
        if (c.type === 'categorical') this.declaredLevels[i] = tableOf(c.levels);
      });
    }
    const labelIndex = seen.get(this.options.label);
    if (labelIndex === undefined)
      throw new DatasetError('MISSING_LABEL', `label column "${this.options.label}" is not in the header`, line);
    if (count < 2)
      throw new DatasetError('NO_FEATURES', 'a dataset needs at least one feature column besides the label', line);
    if (!schema) {
      for (let i = 0; i < count; i++) this.levels[i] = new LevelTable();
      this.kinds[labelIndex] = KIND_CAT;
    }
    this.names = names;
    this.ncols = count;
    this.labelIndex = labelIndex;
  }

  private record(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number, line: number, raw: RawRecord): void {
    if (this.ncols === 0) {
      this.header(buf, starts, ends, count, line);
      this.commit(buf, starts, ends, count, raw);
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
    const kinds = this.kinds;
    if (this.options.schema) {
      const declared = this.declaredLevels;
      for (let i = 0; i < ncols; i++) {
        const kind = kinds[i];
        if (kind === KIND_CAT) {
          if (declared[i]!.find(buf, starts[i], ends[i]) < 0)
            throw new DatasetError(
              'UNKNOWN_LEVEL',
              i === this.labelIndex
                ? `label of column "${this.names[i]}" is not one of the declared classes`
                : `value of column "${this.names[i]}" is not one of its declared levels`,
              line,
              i + 1,
            );
        } else {
          const cls = classifyNumber(buf, starts[i], ends[i]);
          if (cls > kind) this.badNumber(cls, line, i, starts[i] === ends[i]);
        }
      }
    } else {
      const levels = this.levels;
      for (let i = 0; i < ncols; i++) {
        const s = starts[i];
        const e = ends[i];
        let kind = kinds[i];
        if (kind !== KIND_CAT) {
          const cls = classifyNumber(buf, s, e);
          if (cls > kind) {
            kinds[i] = kind = cls;
            if (kind === KIND_CAT && levels[i] === null)
              throw new DatasetError(
                'TOO_MANY_LEVELS',
                `column "${this.names[i]}" has a non-numeric value and more than ${this.maxLevels} distinct values` +
                  ' (declare it in a schema, or clean the column)',
                line,
                i + 1,
              );
          }
        }
        const table = levels[i];
        if (table !== null) {
          const cap = i === this.labelIndex ? this.maxClasses : this.maxLevels;
          if (table.findOrAdd(buf, s, e, cap) < 0) {
            if (kind === KIND_CAT)
              throw new DatasetError(
                'TOO_MANY_LEVELS',
                i === this.labelIndex
                  ? `label column "${this.names[i]}" has more than ${cap} classes`
                  : `categorical column "${this.names[i]}" has more than ${cap} levels`,
                line,
                i + 1,
              );
            else levels[i] = null;
          }
        }
      }
    }
    this.commit(buf, starts, ends, count, raw);
    this.rows++;
  }

  private commit(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number, raw: RawRecord): void {
    // A lone empty field is the one plain record whose canonical form differs from its bytes (it is written "").
    if (raw.plain && (count > 1 || ends[0] > starts[0])) this.hasher.addPlain(buf, raw.start, raw.end);
    else this.hasher.addRecord(buf, starts, ends, count);
  }

  private badNumber(cls: number, line: number, i: number, empty: boolean): never {
    const name = this.names[i];
    if (cls === 2)
      throw new DatasetError(
        'NOT_NUMERIC',
        empty ? `empty value in numeric column "${name}"` : `value of numeric column "${name}" is not a number`,
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
