// Row-level readers over the tokenizer: records as strings, and the dense numeric form for training.
import { DatasetError } from './errors.js';
import { featureLayout } from './encoding.js';
import { classifyNumber, numberValue } from './numbers.js';
import {
  DEFAULT_DATE_PARTS,
  DEFAULT_HASH_BUCKETS,
  missingTokens,
  parseSchema,
  type Column,
  type DatasetSchema,
} from './schema.js';
import { bytesOf, createDecoder, type ByteSource } from './source.js';
import { CsvTokenizer } from './tokenizer.js';
import { booleanValue, dateParts, dateValue, datetimeValue, hashBucket, isMissing } from './values.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Yields every RFC 4180 record as strings, the header first. Checks quoting, line endings, UTF-8 and that every
 * record has as many fields as the header (RAGGED_ROW); it does not check types (use `inspectCsv` for that).
 */
export async function* csvRecords(source: ByteSource): AsyncGenerator<string[]> {
  const queue: string[][] = [];
  let width = -1;
  const tokenizer = new CsvTokenizer((buf, starts, ends, count, line, _raw, _classes, first) => {
    if (width < 0) width = count;
    else if (count !== width)
      throw new DatasetError(
        'RAGGED_ROW',
        `row has ${count} fields, the header has ${width}`,
        line,
        Math.min(count, width) + 1,
      );
    const fields = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      try {
        fields[i] = strictUtf8.decode(buf.subarray(starts[first + i], ends[first + i]));
      } catch {
        throw new DatasetError('INVALID_UTF8', 'field is not valid UTF-8', line, i + 1);
      }
    }
    queue.push(fields);
  });
  const decoder = createDecoder((b) => tokenizer.push(b));
  for await (const chunk of bytesOf(source)) {
    const wait = decoder.write(chunk);
    if (wait) await wait;
    while (queue.length) yield queue.shift()!;
  }
  await decoder.end();
  tokenizer.finish();
  while (queue.length) yield queue.shift()!;
  if (width < 0) throw new DatasetError('EMPTY_FILE', 'the file is empty (no header row)');
}

/** A typed value: a number (float, integer, boolean 0/1, date/datetime as days since 1970-01-01) or a string. */
export type TypedValue = number | string;

export interface TypedRow {
  /** 1-based physical line of the row. */
  readonly line: number;
  /** Per column in schema order; `null` where the value is missing (see `missing`). */
  readonly values: readonly (TypedValue | null)[];
  /** Per column: 1 where the value was a missing token. */
  readonly missing: Uint8Array;
}

/**
 * Decodes one field of `column` (already known not to be missing): numbers for numeric, boolean, date and datetime
 * columns, the text for categorical and text columns. Throws the same errors as the inspector.
 */
function decodeField(column: Column, buf: Buffer, s: number, e: number, line: number, col: number): TypedValue {
  switch (column.type) {
    case 'float':
    case 'integer': {
      const cls = classifyNumber(buf, s, e);
      if (cls === 2)
        throw new DatasetError('NOT_NUMERIC', `value of numeric column "${column.name}" is not a number`, line, col);
      if (cls === 1 && column.type === 'integer')
        throw new DatasetError('NOT_INTEGER', `value of integer column "${column.name}" is not an integer`, line, col);
      return numberValue(buf, s, e);
    }
    case 'boolean': {
      const v = booleanValue(buf, s, e);
      if (v < 0) throw new DatasetError('NOT_BOOLEAN', `value of column "${column.name}" is not a boolean`, line, col);
      return v;
    }
    case 'date':
    case 'datetime': {
      let v = dateValue(buf, s, e);
      if (Number.isNaN(v) && column.type === 'datetime') v = datetimeValue(buf, s, e);
      if (Number.isNaN(v))
        throw new DatasetError('NOT_DATE', `value of column "${column.name}" is not an ISO 8601 date`, line, col);
      return v;
    }
    default:
      try {
        return strictUtf8.decode(buf.subarray(s, e));
      } catch {
        throw new DatasetError('INVALID_UTF8', 'field is not valid UTF-8', line, col);
      }
  }
}

/** A record's fields are `first` to `first + count - 1` of starts/ends (RecordSink). */
type RowSink = (
  buf: Buffer,
  starts: Int32Array,
  ends: Int32Array,
  first: number,
  missing: Uint8Array,
  line: number,
) => void;

/**
 * The tokenizer shared by `typedRows` and `toDense`: checks the header against `schema` and calls `row` with each
 * data record's fields and its missing mask (per column, from the schema's missing tokens); a row without a label
 * is refused. `finish` ends the input.
 */
function schemaTokenizer(schema: DatasetSchema, row: RowSink): { push(b: Uint8Array): void; finish(): void } {
  const cols = schema.columns;
  const labelIndex = cols.findIndex((c) => c.name === schema.label);
  const tokens = cols.map((c) => missingTokens(schema, c).map((t) => new Uint8Array(Buffer.from(t, 'utf8'))));
  const missing = new Uint8Array(cols.length);
  let header = true;
  const tokenizer = new CsvTokenizer((buf, starts, ends, count, line, _raw, _classes, first) => {
    if (count !== cols.length)
      throw new DatasetError(
        'RAGGED_ROW',
        `row has ${count} fields, the schema has ${cols.length}`,
        line,
        Math.min(count, cols.length) + 1,
      );
    if (header) {
      for (let i = 0; i < count; i++)
        if (buf.toString('utf8', starts[first + i], ends[first + i]) !== cols[i].name)
          throw new DatasetError(
            'SCHEMA_MISMATCH',
            `header differs from the schema's column "${cols[i].name}"`,
            line,
            i + 1,
          );
      header = false;
      return;
    }
    for (let i = 0; i < count; i++) {
      missing[i] = isMissing(buf, starts[first + i], ends[first + i], tokens[i]) ? 1 : 0;
      if (i === labelIndex && (missing[i] === 1 || starts[first + i] === ends[first + i]))
        throw new DatasetError('MISSING_VALUE', `row has no label in column "${cols[i].name}"`, line, i + 1);
    }
    row(buf, starts, ends, first, missing, line);
  });
  return {
    push: (b) => tokenizer.push(b),
    finish() {
      tokenizer.finish();
      if (header) throw new DatasetError('EMPTY_FILE', 'the file is empty (no header row)');
    },
  };
}

/** Runs `source` (plain or gzip) through a schema tokenizer, yielding after each chunk is parsed. */
async function* drive(source: ByteSource, reader: { push(b: Uint8Array): void; finish(): void }): AsyncGenerator<void> {
  const decoder = createDecoder((b) => reader.push(b));
  for await (const chunk of bytesOf(source)) {
    const wait = decoder.write(chunk);
    if (wait) await wait;
    yield;
  }
  await decoder.end();
  reader.finish();
  yield;
}

/**
 * Reads a CSV that matches `schema` as typed rows with a missing mask per column (the row parser imputation and
 * standardisation build on), streaming. Values are checked against their column's type; missing values are `null`.
 */
export async function* typedRows(source: ByteSource, schema: DatasetSchema): AsyncGenerator<TypedRow> {
  parseSchema(schema);
  const queue: TypedRow[] = [];
  const cols = schema.columns;
  const reader = schemaTokenizer(schema, (buf, starts, ends, first, missing, line) => {
    const values = cols.map((c, i) =>
      missing[i] ? null : decodeField(c, buf, starts[first + i], ends[first + i], line, i + 1),
    );
    queue.push({ line, values, missing: missing.slice() });
  });
  for await (const _ of drive(source, reader)) while (queue.length) yield queue.shift()!;
}

export interface DenseOptions {
  /**
   * How one-hot categorical features become numbers. 'one-hot' (default): one 0/1 feature per level, in level order.
   * 'index': one feature holding the level's index in the schema's `levels` (a hashed column: its bucket).
   */
  readonly categorical?: 'one-hot' | 'index';
}

/**
 * The training form of a dataset: `features` is row-major (`rows × featureNames.length`), `labels[r]` is the class
 * index of row r in `classes`. Feature order follows the schema's column order (encoding.ts featureLayout): the
 * label and ignored columns contribute none, a one-hot column features named `column=level`, a hashed one
 * `column#bucket`, a date `column.part`.
 */
export interface DenseDataset {
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly rows: number;
  readonly featureNames: readonly string[];
  readonly classes: readonly string[];
  /**
   * Row-major like `features`: 1 where the feature's source value was missing (its feature is then 0, to be imputed
   * by the caller). Absent when no value was missing.
   */
  readonly missing?: Uint8Array;
}

/**
 * Reads a CSV (plain or gzip) that matches `schema` into the dense form, validating every value as it goes. Values
 * become float32 (integers above 2^24 lose precision). Run `inspectCsv` first when the schema is not declared.
 */
export async function toDense(
  source: ByteSource,
  schema: DatasetSchema,
  options: DenseOptions = {},
): Promise<DenseDataset> {
  parseSchema(schema);
  const oneHot = (options.categorical ?? 'one-hot') === 'one-hot';
  const cols = schema.columns;
  const labelIndex = cols.findIndex((c) => c.name === schema.label);
  const labelCol = cols[labelIndex];
  if (labelCol.type !== 'categorical' || !labelCol.levels)
    throw new DatasetError('INVALID_SCHEMA', 'label column must be categorical with levels');
  const keyOf = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
  const levelIndex = cols.map((c) =>
    c.type === 'categorical' && c.levels ? new Map(c.levels.map((l, i) => [keyOf(l), i] as const)) : null,
  );
  const { columns: layout, featureNames } = featureLayout(schema, oneHot);
  const width = featureNames.length;
  let features = new Float32Array(width * 1024);
  let labels = new Int32Array(1024);
  let mask: Uint8Array | null = null;
  let rows = 0;
  const reader = schemaTokenizer(schema, (buf, starts, ends, first, missing, line) => {
    if (rows === labels.length) {
      const f = new Float32Array(features.length * 2);
      f.set(features);
      features = f;
      const l = new Int32Array(labels.length * 2);
      l.set(labels);
      labels = l;
      if (mask) {
        const m = new Uint8Array(mask.length * 2);
        m.set(mask);
        mask = m;
      }
    }
    const base = rows * width;
    for (const { index: i, column: c, offset, width: w, encoding } of layout) {
      const s = starts[first + i];
      const e = ends[first + i];
      if (i === labelIndex) {
        const idx = levelIndex[i]!.get(buf.toString('latin1', s, e));
        if (idx === undefined)
          throw new DatasetError('UNKNOWN_LEVEL', `value of column "${c.name}" is not one of its levels`, line, i + 1);
        labels[rows] = idx;
        continue;
      }
      if (w === 0) continue;
      if (missing[i]) {
        mask ??= new Uint8Array(features.length);
        mask.fill(1, base + offset, base + offset + w);
        continue;
      }
      if (c.type === 'categorical') {
        let idx: number;
        if (encoding === 'hash') idx = hashBucket(buf, s, e, c.buckets ?? DEFAULT_HASH_BUCKETS);
        else {
          const found = levelIndex[i]!.get(buf.toString('latin1', s, e));
          if (found === undefined)
            throw new DatasetError(
              'UNKNOWN_LEVEL',
              `value of column "${c.name}" is not one of its levels`,
              line,
              i + 1,
            );
          idx = found;
        }
        if (oneHot) features[base + offset + idx] = 1;
        else features[base + offset] = idx;
        continue;
      }
      const v = decodeField(c, buf, s, e, line, i + 1) as number;
      if (c.type === 'date' || c.type === 'datetime') {
        const parts = dateParts(v);
        (c.parts ?? DEFAULT_DATE_PARTS).forEach((p, j) => (features[base + offset + j] = parts[p]));
      } else features[base + offset] = v;
    }
    rows++;
  });
  for await (const _ of drive(source, reader));
  const m = mask as Uint8Array | null;
  return {
    features: features.slice(0, rows * width),
    labels: labels.slice(0, rows),
    rows,
    featureNames,
    classes: labelCol.levels,
    ...(m ? { missing: m.slice(0, rows * width) } : {}),
  };
}
