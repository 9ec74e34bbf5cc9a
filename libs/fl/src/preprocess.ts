// Preprocessing onto a job schema (issue 13 §3–4): a silo maps its rows onto the signed job schema (feature order,
// categorical levels, class order); per-feature statistics are summed over the owners through SecAgg+ as exact
// fixed-point integers; every silo (and `model predict`) then standardises, imputes and one-hot encodes with the
// global figures — the model's input encoding, which travels in the model bundle.
//
// Statistics vector: each entry is a signed fixed-point number v·2^STATS_FRACTION_BITS in offset binary, split into
// STATS_DIGITS base-2^q digits (q = the SecAgg+ run's quantisation bits). A silo sends digit L as x = L − c with clip
// c = (2^q − 1)/2, so the quantiser's level (x + c)·(2^q − 1)/(2c) is exactly L and the sum is exact: Σ x + n·c = Σ L
// per digit; Σ over digits of (Σ L_k)·2^(qk) − n·offset is the exact sum of the silos' fixed-point values.
import {
  INPUT_ENCODING_FORMAT,
  SealfoldError,
  inputEncodingSchema,
  jobSchemaInputWidth,
  jobSchemaMismatch,
  type DatasetSchemaInput,
  type InputEncoding,
  type JobSchema,
} from '@sealfold/protocol';
import { dateValue, datetimeValue } from '@sealfold/dataset';
import type { LocalData } from './data.js';
import { clampNoisyStatistics } from './statistics-dp.js';

export class SchemaMappingError extends SealfoldError<'SCHEMA_MISMATCH'> {
  override readonly name = 'SchemaMappingError';
  constructor(
    /** The column the job schema cannot be mapped on (a feature, or the label). */
    readonly column: string,
    message: string,
  ) {
    super('SCHEMA_MISMATCH', message);
  }
}

export class PreprocessError extends SealfoldError<'INVALID_STATISTICS' | 'INVALID_ROWS' | 'OUT_OF_RANGE'> {
  override readonly name = 'PreprocessError';
}

/**
 * Rows in the job schema's raw layout, before any statistic is applied: `values[r·F + j]` is feature j's number (a
 * numeric feature) or level index in the job's levels (a categorical one); `missing[r·F + j]` is 1 when the value
 * is missing (then `values` holds 0). `labels[r]` is an index in the job's classes.
 */
export interface RawRows {
  readonly rows: number;
  readonly values: Float64Array;
  readonly missing: Uint8Array;
  readonly labels: Int32Array;
}

/** A silo's table as libs/dataset delivers it: dense features (categoricals one-hot), class indices, its schema. */
export interface SourceTable {
  readonly schema: DatasetSchemaInput;
  readonly rows: number;
  /** Row-major, rows × featureNames.length, as libs/dataset toDense lays it out (one-hot categoricals). */
  readonly features: Float32Array;
  readonly featureNames: readonly string[];
  readonly labels: Int32Array;
  readonly classes: readonly string[];
  /** Optional: 1 where a dense feature value is missing (same layout as `features`), from the silo's parser. */
  readonly missing?: Uint8Array;
}

/**
 * Maps a silo's table onto the job schema: every job feature must be one of its columns with a compatible type and
 * no level the job does not list; every class of its label must be a job class (classes it lacks are fine). Throws
 * SchemaMappingError naming the column otherwise.
 */
export function mapToJobSchema(table: SourceTable, job: JobSchema): RawRows {
  const mismatch = jobSchemaMismatch(job, table.schema);
  if (mismatch) throw new SchemaMappingError(mismatch.column, mismatch.message);
  const cols = table.schema.columns;
  // Where each job feature sits in the dense rows, found by the names libs/dataset toDense gives its features (a
  // number: its column name; a one-hot level: `column=level`), so columns the job does not use (hashed buckets, date
  // parts, ignored columns) need no layout knowledge here.
  const index = new Map(table.featureNames.map((name, i) => [name, i] as const));
  const width = table.featureNames.length;
  const position = (name: string): number => {
    const at = index.get(name);
    if (at === undefined)
      throw new PreprocessError('INVALID_ROWS', `the table has no feature "${name}" (its schema says it should)`);
    return at;
  };
  const F = job.features.length;
  // A numeric feature: its position. A categorical one: per level of this dataset, the job's level index and the
  // position of its one-hot feature.
  type Placement = { readonly at: number } | { readonly levels: number[]; readonly positions: number[] };
  const plan = job.features.map((f): Placement => {
    // A date feature is its column's day count (libs/dataset date part `epochDays`).
    if (f.type === 'numeric') return { at: position(f.source === 'date' ? `${f.name}.epochDays` : f.name) };
    const own = cols.find((x) => x.name === f.name)!.levels ?? [];
    return { levels: own.map((l) => f.levels.indexOf(l)), positions: own.map((l) => position(`${f.name}=${l}`)) };
  });
  const classMap = table.classes.map((cls) => job.classes.indexOf(cls));
  const n = table.rows;
  const values = new Float64Array(n * F);
  const missing = new Uint8Array(n * F);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * width;
    labels[r] = classMap[table.labels[r]];
    for (let j = 0; j < F; j++) {
      const p = plan[j];
      const out = r * F + j;
      if ('at' in p) {
        if (table.missing?.[base + p.at]) missing[out] = 1;
        else values[out] = table.features[base + p.at];
        continue;
      }
      const { levels, positions } = p;
      let hot = -1;
      for (let k = 0; k < levels.length; k++)
        if (table.features[base + positions[k]] === 1 && !table.missing?.[base + positions[k]]) hot = k;
      if (hot < 0) missing[out] = 1;
      else values[out] = levels[hot];
    }
  }
  return { rows: n, values, missing, labels };
}

// ---------------------------------------------------------------------------------------------- statistics

export type FeatureStatistics =
  | { readonly type: 'numeric'; count: number; missing: number; sum: number; sumSquares: number }
  | { readonly type: 'categorical'; missing: number; levelCounts: number[] };

/** Per-feature figures over some rows (one silo's, or all owners' after the secure sum), and the label counts. */
export interface JobStatistics {
  rows: number;
  labelCounts: number[];
  features: FeatureStatistics[];
}

/** The exact statistics of one silo's mapped rows. */
export function localStatistics(raw: RawRows, job: JobSchema): JobStatistics {
  const F = job.features.length;
  const features: FeatureStatistics[] = job.features.map((f) =>
    f.type === 'numeric'
      ? { type: 'numeric', count: 0, missing: 0, sum: 0, sumSquares: 0 }
      : { type: 'categorical', missing: 0, levelCounts: new Array<number>(f.levels.length).fill(0) },
  );
  const labelCounts = new Array<number>(job.classes.length).fill(0);
  for (let r = 0; r < raw.rows; r++) {
    labelCounts[raw.labels[r]]++;
    for (let j = 0; j < F; j++) {
      const s = features[j];
      const i = r * F + j;
      if (raw.missing[i]) s.missing++;
      else if (s.type === 'numeric') {
        const v = raw.values[i];
        s.count++;
        s.sum += v;
        s.sumSquares += v * v;
      } else s.levelCounts[raw.values[i]]++;
    }
  }
  return { rows: raw.rows, labelCounts, features };
}

/** Fractional bits of the fixed-point statistics (2^-16 resolution on Σx and Σx²). */
export const STATS_FRACTION_BITS = 16;
/** Digits per entry: 6 × STATS_BITS = 96 bits, offset binary, so |v| < 2^79 (Σx² of 10^9 rows of 10^7 fits). */
export const STATS_DIGITS = 6;
const TOTAL_BITS = 96n;
const OFFSET = 1n << (TOTAL_BITS - 1n);
const LIMIT = 2 ** Number(TOTAL_BITS - 1n - BigInt(STATS_FRACTION_BITS));

/** Number of statistics entries for a job schema: rows, label counts, per feature its figures. */
export function statisticsEntries(job: JobSchema): number {
  return (
    1 + job.classes.length + job.features.reduce((n, f) => n + (f.type === 'numeric' ? 4 : 1 + f.levels.length), 0)
  );
}

/** Length d of the statistics SecAgg+ vector. */
export const statisticsLength = (job: JobSchema): number => statisticsEntries(job) * STATS_DIGITS;

/**
 * Quantisation bits of the statistics run: SecAgg+ gives 16 (libs/secagg quantisationBits caps there) whenever the
 * weight bound is 1 and n ≤ 65 535, which is what the statistics run uses (every silo weighs 1).
 */
export const STATS_BITS = 16;
/** SecAgg+ weight bound of the statistics run. */
export const STATS_MAX_WEIGHT = 1;
/** The clip c = (2^q − 1)/2 that makes a digit's quantisation level exact (one level per unit). */
export const STATS_CLIP = (2 ** STATS_BITS - 1) / 2;

function flatten(stats: JobStatistics, job: JobSchema): number[] {
  const out = [stats.rows, ...stats.labelCounts];
  if (stats.labelCounts.length !== job.classes.length || stats.features.length !== job.features.length)
    throw new PreprocessError('INVALID_STATISTICS', 'statistics do not have the job schema layout');
  stats.features.forEach((s, j) => {
    const f = job.features[j];
    if (s.type !== f.type) throw new PreprocessError('INVALID_STATISTICS', `feature "${f.name}" has ${s.type} figures`);
    if (s.type === 'numeric') out.push(s.count, s.missing, s.sum, s.sumSquares);
    else {
      if (f.type !== 'categorical' || s.levelCounts.length !== f.levels.length)
        throw new PreprocessError('INVALID_STATISTICS', `feature "${f.name}" has the wrong number of level counts`);
      out.push(s.missing, ...s.levelCounts);
    }
  });
  return out;
}

function unflatten(values: readonly number[], job: JobSchema): JobStatistics {
  let i = 0;
  const next = () => values[i++];
  const rows = next();
  const labelCounts = job.classes.map(() => next());
  const features: FeatureStatistics[] = job.features.map((f) =>
    f.type === 'numeric'
      ? { type: 'numeric', count: next(), missing: next(), sum: next(), sumSquares: next() }
      : { type: 'categorical', missing: next(), levelCounts: f.levels.map(() => next()) },
  );
  return { rows, labelCounts, features };
}

/**
 * A silo's statistics as its SecAgg+ input (weight 1) for a run of STATS_BITS quantisation bits and clip
 * STATS_CLIP: each entry in fixed point, offset binary, STATS_DIGITS digits of 16 bits, sent as x = L − c.
 */
export function statisticsInput(stats: JobStatistics, job: JobSchema): { update: Float32Array; weight: number } {
  const values = flatten(stats, job);
  const update = new Float32Array(values.length * STATS_DIGITS);
  const base = 1n << BigInt(STATS_BITS);
  values.forEach((v, e) => {
    if (!Number.isFinite(v) || Math.abs(v) >= LIMIT)
      throw new PreprocessError('OUT_OF_RANGE', `statistic ${e} (${v}) is outside the fixed-point range ±2^79`);
    let fixed = BigInt(Math.round(v * 2 ** STATS_FRACTION_BITS)) + OFFSET;
    for (let k = 0; k < STATS_DIGITS; k++) {
      update[e * STATS_DIGITS + k] = Number(fixed % base) - STATS_CLIP;
      fixed /= base;
    }
  });
  return { update, weight: 1 };
}

/**
 * The summed statistics from a SecAgg+ result: `sum` is Σ x over the `contributors` silos (dequantised, weight 1
 * each, so totalWeight = contributors). Refuses a sum that is not an exact digit sum. `noisy`: the silos added DP
 * noise (a job with DP, statistics-dp.ts), so counts may be negative or not add up: they are clamped into valid
 * figures (clampNoisyStatistics) instead of refused.
 */
export function statisticsFromSum(
  sum: ArrayLike<number>,
  contributors: number,
  job: JobSchema,
  options: { readonly noisy?: boolean } = {},
): JobStatistics {
  if (sum.length !== statisticsLength(job))
    throw new PreprocessError(
      'INVALID_STATISTICS',
      `the statistics sum has ${sum.length} values, expected ${statisticsLength(job)}`,
    );
  if (!Number.isInteger(contributors) || contributors < 1)
    throw new PreprocessError('INVALID_STATISTICS', 'the statistics sum has no contributor');
  const base = 1n << BigInt(STATS_BITS);
  const entries = sum.length / STATS_DIGITS;
  const values: number[] = [];
  for (let e = 0; e < entries; e++) {
    let total = 0n;
    for (let k = STATS_DIGITS - 1; k >= 0; k--) {
      const levels = sum[e * STATS_DIGITS + k] + contributors * STATS_CLIP;
      const rounded = Math.round(levels);
      if (!(Math.abs(levels - rounded) < 1e-3) || rounded < 0)
        throw new PreprocessError('INVALID_STATISTICS', `digit ${k} of statistic ${e} is not an exact level sum`);
      total = total * base + BigInt(rounded);
    }
    values.push(Number(total - BigInt(contributors) * OFFSET) / 2 ** STATS_FRACTION_BITS);
  }
  const stats = unflatten(values, job);
  if (options.noisy) return clampNoisyStatistics(stats);
  checkStatistics(stats);
  return stats;
}

/** Counts are non-negative integers, Σ labels = rows, count + missing = rows per feature, Σx² ≥ 0. */
function checkStatistics(s: JobStatistics): void {
  const bad = (m: string): never => {
    throw new PreprocessError('INVALID_STATISTICS', m);
  };
  const isCount = (x: number) => Number.isInteger(x) && x >= 0;
  if (!isCount(s.rows)) bad('rows is not a count');
  if (!s.labelCounts.every(isCount) || s.labelCounts.reduce((a, b) => a + b, 0) !== s.rows)
    bad('label counts do not add up to rows');
  for (const f of s.features) {
    if (f.type === 'numeric') {
      if (!isCount(f.count) || !isCount(f.missing) || f.count + f.missing !== s.rows)
        bad('feature counts do not add up');
      if (!(f.sumSquares >= 0)) bad('Σx² is negative');
    } else if (!f.levelCounts.every(isCount) || f.levelCounts.reduce((a, b) => a + b, f.missing) !== s.rows)
      bad('level counts do not add up');
  }
}

/** Adds statistics (what the secure sum computes; for centralised baselines and tests). */
export function addStatistics(a: JobStatistics, b: JobStatistics): JobStatistics {
  return {
    rows: a.rows + b.rows,
    labelCounts: a.labelCounts.map((x, i) => x + b.labelCounts[i]),
    features: a.features.map((f, j) => {
      const g = b.features[j];
      if (f.type === 'numeric' && g.type === 'numeric')
        return {
          type: 'numeric',
          count: f.count + g.count,
          missing: f.missing + g.missing,
          sum: f.sum + g.sum,
          sumSquares: f.sumSquares + g.sumSquares,
        };
      if (f.type === 'categorical' && g.type === 'categorical')
        return {
          type: 'categorical',
          missing: f.missing + g.missing,
          levelCounts: f.levelCounts.map((x, i) => x + g.levelCounts[i]),
        };
      throw new PreprocessError('INVALID_STATISTICS', 'statistics of different layouts');
    }),
  };
}

/** Accuracy of always predicting the most frequent class: the floor a model must beat to have learnt anything. */
export function majorityBaseline(stats: Pick<JobStatistics, 'labelCounts' | 'rows'>): {
  classIndex: number;
  accuracy: number;
} {
  // Noised counts may be negative: each counts as 0 (for exact counts Σ max(0, c) = rows).
  const counts = stats.labelCounts.map((c) => Math.max(0, c));
  let classIndex = 0;
  counts.forEach((c, i) => {
    if (c > counts[classIndex]) classIndex = i;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  return { classIndex, accuracy: total > 0 ? counts[classIndex] / total : 0 };
}

/**
 * An owner's label shift against the federation, per class: r_c = π_local(c) / π_global(c), from its own label
 * counts (never released) and the securely summed ones — the `labelPriorRatio` of trainLocal (loss.ts). A class it
 * has no row of gets 0. Noised global counts (a DP job) are floored at the owner's own count, so a ratio stays
 * finite; every ratio is 1 when the owner holds no row at all.
 */
export function labelPriorRatio(localCounts: readonly number[], globalCounts: readonly number[]): number[] {
  if (localCounts.length !== globalCounts.length || localCounts.length < 2)
    throw new PreprocessError('INVALID_STATISTICS', 'local and global label counts differ in length');
  const local = localCounts.reduce((a, b) => a + b, 0);
  if (!(local > 0)) return localCounts.map(() => 1);
  const floored = globalCounts.map((g, c) => Math.max(g, localCounts[c]));
  const total = floored.reduce((a, b) => a + b, 0);
  return localCounts.map((n, c) => (n > 0 ? n / local / (floored[c] / total) : 0));
}

/** The label counts of rows' class indices over `classes` classes. */
export function labelCounts(labels: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

// ---------------------------------------------------------------------------------------------- the encoding

export { INPUT_ENCODING_FORMAT, inputEncodingSchema, type InputEncoding };

/** Under noised statistics, no value inside a feature's signed range standardises beyond ±this (see below). */
export const NOISY_MAX_STANDARDISED = 10;

/**
 * The encoding from the job schema and the global statistics: numeric features standardised with the pooled mean
 * and population standard deviation (std 1 when the feature is constant), a missing value imputed with the mean;
 * categorical features one-hot, a missing value imputed with the most frequent level.
 *
 * Noised statistics (a DP job) can be inconsistent: no count, Σx² below (Σx)²/n. The encoding stays valid: with
 * no count the mean is the range's centre (0 without a range); a feature with a signed range [lo, hi] has its mean
 * clamped into it and its std to at most (hi − lo)/2 (the largest std values in the range can have), and a
 * non-positive variance gives std (hi − lo)/2 (1 without a range). With `noisy` (the statistics were noised) a
 * ranged feature's std is also at least (hi − lo)/NOISY_MAX_STANDARDISED: a constant feature (an MNIST border
 * pixel, true variance 0) gets a noised variance that is as often a tiny positive figure as a negative one, and
 * std = √(tiny) standardised in-range values far beyond that (up to ~80 on bench fl's MNIST pixels, 19–50 of them
 * with std < 0.1 per draw); floored, none goes beyond ±NOISY_MAX_STANDARDISED. Exact statistics keep their std.
 */
export function encodingFromStatistics(
  job: JobSchema,
  stats: JobStatistics,
  options: { readonly noisy?: boolean } = {},
): InputEncoding {
  flatten(stats, job); // layout check
  return {
    format: INPUT_ENCODING_FORMAT,
    label: job.label,
    classes: [...job.classes],
    features: job.features.map((f, j) => {
      const s = stats.features[j];
      if (f.type === 'numeric' && s.type === 'numeric') {
        const [lo, hi] = f.range ?? [-Infinity, Infinity];
        const halfWidth = f.range ? (hi - lo) / 2 : 1;
        const centre = f.range ? (lo + hi) / 2 : 0;
        const raw = s.count > 0 ? s.sum / s.count : centre;
        const mean = Math.min(hi, Math.max(lo, raw));
        const variance = s.count > 0 ? s.sumSquares / s.count - raw * raw : 0;
        // Below float rounding of E[x²] the variance is noise: treat the feature as constant.
        const floor = options.noisy && f.range ? (hi - lo) / NOISY_MAX_STANDARDISED : 0;
        const std =
          variance > 1e-12 * Math.max(1, s.sumSquares / Math.max(1, s.count))
            ? Math.min(Math.max(Math.sqrt(variance), floor), f.range ? halfWidth : Infinity)
            : halfWidth;
        return {
          name: f.name,
          type: 'numeric' as const,
          ...(f.source === 'date' ? { source: 'date' as const } : {}),
          mean,
          std,
          impute: mean,
        };
      }
      if (f.type === 'categorical' && s.type === 'categorical') {
        const top = s.levelCounts.reduce((best, c, i) => (c > s.levelCounts[best] ? i : best), 0);
        return {
          name: f.name,
          type: 'categorical' as const,
          levels: [...f.levels],
          impute: s.levelCounts[top] > 0 ? f.levels[top] : null,
        };
      }
      throw new PreprocessError('INVALID_STATISTICS', `feature "${f.name}" has ${s.type} figures`);
    }),
  };
}

/** Width of the encoded model input. */
export const encodedWidth = (enc: InputEncoding): number =>
  enc.features.reduce((n, f) => n + (f.type === 'numeric' ? 1 : f.levels.length), 0);

/** Encodes raw rows (job layout, with their missing mask) into model inputs: LocalData for training. */
export function encodeRows(raw: RawRows, enc: InputEncoding): LocalData {
  const F = enc.features.length;
  if (raw.values.length !== raw.rows * F || raw.missing.length !== raw.rows * F)
    throw new PreprocessError('INVALID_ROWS', `rows do not have the encoding's ${F} features`);
  const width = encodedWidth(enc);
  const out = new Float32Array(raw.rows * width);
  for (let r = 0; r < raw.rows; r++) {
    let o = r * width;
    for (let j = 0; j < F; j++) {
      const f = enc.features[j];
      const i = r * F + j;
      if (f.type === 'numeric') {
        out[o++] = ((raw.missing[i] ? f.impute : raw.values[i]) - f.mean) / f.std;
        continue;
      }
      const k = raw.missing[i] ? (f.impute === null ? -1 : f.levels.indexOf(f.impute)) : raw.values[i];
      if (k >= 0) out[o + k] = 1;
      o += f.levels.length;
    }
  }
  return { features: out, labels: raw.labels, numFeatures: width, numClasses: enc.classes.length };
}

/** Field values read as missing in a CSV row given to `model predict`. */
export const MISSING_TOKENS: ReadonlySet<string> = new Set(['', 'NA', 'N/A', 'NaN', 'null', '?']);

/**
 * The day count of an ISO 8601 date (`YYYY-MM-DD`) or date-time, as libs/dataset reads it when it seals a file;
 * NaN when the text is neither.
 */
function isoDays(text: string): number {
  const b = new TextEncoder().encode(text);
  const date = dateValue(b, 0, b.length);
  return Number.isNaN(date) ? datetimeValue(b, 0, b.length) : date;
}

/**
 * Raw rows from CSV records (strings, header first) for prediction: columns by name (any order, extra columns such
 * as the label ignored), numbers parsed, dates read as days since 1970-01-01, levels looked up; a missing token is
 * marked missing. Throws INVALID_ROWS
 * naming the row and column of a value it cannot read.
 */
export function rawRowsFromRecords(records: readonly (readonly string[])[], enc: InputEncoding): RawRows {
  if (records.length === 0) throw new PreprocessError('INVALID_ROWS', 'no header row');
  const header = records[0];
  const at = enc.features.map((f) => {
    const i = header.indexOf(f.name);
    if (i < 0) throw new PreprocessError('INVALID_ROWS', `the rows have no column "${f.name}" (the model needs it)`);
    return i;
  });
  const rows = records.length - 1;
  const F = enc.features.length;
  const values = new Float64Array(rows * F);
  const missing = new Uint8Array(rows * F);
  for (let r = 0; r < rows; r++) {
    const rec = records[r + 1];
    if (rec.length !== header.length)
      throw new PreprocessError('INVALID_ROWS', `row ${r + 2} has ${rec.length} fields, the header ${header.length}`);
    enc.features.forEach((f, j) => {
      const text = rec[at[j]].trim();
      if (MISSING_TOKENS.has(text)) {
        missing[r * F + j] = 1;
        return;
      }
      const date = f.type === 'numeric' && f.source === 'date';
      const v = f.type === 'numeric' ? (date ? isoDays(text) : Number(text)) : f.levels.indexOf(text);
      if (f.type === 'numeric' ? !Number.isFinite(v) : v < 0)
        throw new PreprocessError(
          'INVALID_ROWS',
          `row ${r + 2}, column "${f.name}": ${f.type === 'categorical' ? `level "${text}" is not one the model knows` : date ? `"${text}" is not an ISO 8601 date (YYYY-MM-DD) or date-time` : 'not a number'}`,
        );
      values[r * F + j] = v;
    });
  }
  return { rows, values, missing, labels: new Int32Array(rows) };
}

/** The encoding is the job schema's (same features, levels and classes) and its width is the model's input. */
export function checkEncodingFits(enc: InputEncoding, job: JobSchema): void {
  if (encodedWidth(enc) !== jobSchemaInputWidth(job) || enc.classes.join('\u0000') !== job.classes.join('\u0000'))
    throw new PreprocessError('INVALID_STATISTICS', 'the encoding does not match the job schema');
}
