// Row-level readers over the tokenizer: records as strings, and the dense numeric form for training.
import { DatasetError } from './errors.js';
import { classifyNumber, numberValue } from './numbers.js';
import { parseSchema, type DatasetSchema } from './schema.js';
import { bytesOf, createDecoder, type ByteSource } from './source.js';
import { CsvTokenizer } from './tokenizer.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Yields every RFC 4180 record as strings, the header first. Checks quoting, line endings, UTF-8 and that every
 * record has as many fields as the header (RAGGED_ROW); it does not check types (use `inspectCsv` for that).
 */
export async function* csvRecords(source: ByteSource): AsyncGenerator<string[]> {
  const queue: string[][] = [];
  let width = -1;
  const tokenizer = new CsvTokenizer((buf, starts, ends, count, line) => {
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
        fields[i] = strictUtf8.decode(buf.subarray(starts[i], ends[i]));
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

export interface DenseOptions {
  /**
   * How categorical feature columns become numbers. 'one-hot' (default): one 0/1 feature per level, in level order.
   * 'index': one feature holding the level's index in the schema's `levels`.
   */
  readonly categorical?: 'one-hot' | 'index';
}

/**
 * The training form of a dataset: `features` is row-major (`rows × featureNames.length`), `labels[r]` is the class
 * index of row r in `classes`. Feature order follows the schema's column order with the label column left out; a
 * one-hot column contributes features named `column=level`.
 */
export interface DenseDataset {
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly rows: number;
  readonly featureNames: readonly string[];
  readonly classes: readonly string[];
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
  if (labelCol.type !== 'categorical') throw new DatasetError('INVALID_SCHEMA', 'label column must be categorical');
  const keyOf = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
  const levelIndex = cols.map((c) =>
    c.type === 'categorical' ? new Map(c.levels.map((l, i) => [keyOf(l), i] as const)) : null,
  );
  const featureNames: string[] = [];
  const offsets = new Int32Array(cols.length);
  cols.forEach((c, i) => {
    if (i === labelIndex) return;
    offsets[i] = featureNames.length;
    if (c.type === 'categorical' && oneHot) for (const l of c.levels) featureNames.push(`${c.name}=${l}`);
    else featureNames.push(c.name);
  });
  const width = featureNames.length;
  let features = new Float32Array(width * 1024);
  let labels = new Int32Array(1024);
  let rows = 0;
  let header = true;
  const tokenizer = new CsvTokenizer((buf, starts, ends, count, line) => {
    if (count !== cols.length)
      throw new DatasetError(
        'RAGGED_ROW',
        `row has ${count} fields, the schema has ${cols.length}`,
        line,
        Math.min(count, cols.length) + 1,
      );
    if (header) {
      for (let i = 0; i < count; i++)
        if (buf.toString('utf8', starts[i], ends[i]) !== cols[i].name)
          throw new DatasetError(
            'SCHEMA_MISMATCH',
            `header differs from the schema's column "${cols[i].name}"`,
            line,
            i + 1,
          );
      header = false;
      return;
    }
    if (rows === labels.length) {
      const f = new Float32Array(features.length * 2);
      f.set(features);
      features = f;
      const l = new Int32Array(labels.length * 2);
      l.set(labels);
      labels = l;
    }
    const base = rows * width;
    for (let i = 0; i < count; i++) {
      const s = starts[i];
      const e = ends[i];
      const c = cols[i];
      if (c.type === 'categorical') {
        const idx = levelIndex[i]!.get(buf.toString('latin1', s, e));
        if (idx === undefined)
          throw new DatasetError('UNKNOWN_LEVEL', `value of column "${c.name}" is not one of its levels`, line, i + 1);
        if (i === labelIndex) labels[rows] = idx;
        else if (oneHot) features[base + offsets[i] + idx] = 1;
        else features[base + offsets[i]] = idx;
      } else {
        const cls = classifyNumber(buf, s, e);
        if (cls === 2)
          throw new DatasetError('NOT_NUMERIC', `value of numeric column "${c.name}" is not a number`, line, i + 1);
        if (cls === 1 && c.type === 'integer')
          throw new DatasetError('NOT_INTEGER', `value of integer column "${c.name}" is not an integer`, line, i + 1);
        features[base + offsets[i]] = numberValue(buf, s, e);
      }
    }
    rows++;
  });
  const decoder = createDecoder((b) => tokenizer.push(b));
  for await (const chunk of bytesOf(source)) {
    const wait = decoder.write(chunk);
    if (wait) await wait;
  }
  await decoder.end();
  tokenizer.finish();
  if (header) throw new DatasetError('EMPTY_FILE', 'the file is empty (no header row)');
  return {
    features: features.slice(0, rows * width),
    labels: labels.slice(0, rows),
    rows,
    featureNames,
    classes: labelCol.levels,
  };
}
