// The job schema: what a set of datasets has in common, computed from their public manifests (issue 13 §3).
// Features are the non-label columns every dataset has, by name, with a compatible type (integer and float meet as
// float; date and date-time meet as a day count; a categorical column's levels are the union, sorted); classes are
// the union of the datasets' label levels in one fixed order (sorted by UTF-16 code units, so the order does not
// depend on which dataset was listed first).
// The buyer signs keccak256 of its canonical JSON (JobRequest.jobSchemaHash); each silo maps its rows onto it.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.js';
import { SealfoldError } from './errors.js';

export const JOB_SCHEMA_FORMAT = 'sealfold-job-schema/v1';

/** The column of a dataset schema as a manifest publishes it (libs/dataset ColumnSchema, structurally). */
export interface SchemaColumnInput {
  readonly name: string;
  readonly type: string;
  readonly levels?: readonly string[];
  readonly role?: string;
  readonly encoding?: string;
  /** A date or date-time column's numeric parts (libs/dataset DatePart; absent: all of them). */
  readonly parts?: readonly string[];
}

/** One dataset's public schema: its columns and the name of its label column. */
export interface DatasetSchemaInput {
  readonly columns: readonly SchemaColumnInput[];
  readonly label: string;
}

const name = z.string().min(1).max(256);
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortedDistinct = (l: readonly string[]) => l.every((x, i) => i === 0 || byCodeUnit(l[i - 1], x) < 0);

const finiteBound = z.number().refine(Number.isFinite, 'must be finite');

export const jobSchemaFeatureSchema = z.discriminatedUnion('type', [
  z.strictObject({
    name,
    type: z.literal('numeric'),
    /**
     * 'date': the column is an ISO 8601 date or date-time in every dataset, and the feature is its day count since
     * 1970-01-01 (UTC; fractional for a date-time) — libs/dataset's `epochDays` part — standardised like any number.
     */
    source: z.literal('date').optional(),
    /**
     * The feature's declared domain [min, max], chosen by the buyer and signed with the schema. With DP, each silo
     * clips its values into it before the noised statistics sum (the sensitivity of Σx and Σx² is bounded by it);
     * without a range a DP job releases no Σx or Σx² for the feature (it is not standardised). Unused without DP.
     */
    range: z
      .tuple([finiteBound, finiteBound])
      .refine(([lo, hi]) => lo < hi, 'range must be [min, max] with min < max')
      .optional(),
  }),
  z.strictObject({
    name,
    type: z.literal('categorical'),
    levels: z.array(z.string().max(1024)).min(1).max(65_536).refine(sortedDistinct, 'levels must be sorted, distinct'),
  }),
]);

export const jobSchemaSchema = z
  .strictObject({
    format: z.literal(JOB_SCHEMA_FORMAT),
    /** The label column's name (the same in every dataset). */
    label: name,
    /** Feature columns in model-input order (the first dataset's column order). */
    features: z.array(jobSchemaFeatureSchema).min(1).max(100_000),
    /** Class index i of every silo and of the model's output i is `classes[i]`. */
    classes: z
      .array(z.string().max(1024))
      .min(2)
      .max(65_536)
      .refine(sortedDistinct, 'classes must be sorted, distinct'),
  })
  .refine((s) => new Set(s.features.map((f) => f.name)).size === s.features.length, 'feature names must be distinct')
  .refine((s) => s.features.every((f) => f.name !== s.label), 'the label is not a feature');

export type JobSchemaFeature = z.infer<typeof jobSchemaFeatureSchema>;
export type JobSchema = z.infer<typeof jobSchemaSchema>;

/** Why a column of some dataset is not in the job schema. */
export interface DroppedColumn {
  readonly datasetId: string;
  readonly column: string;
  readonly reason: 'not-in-every-dataset' | 'type-conflict' | 'not-encodable';
}

export interface JobSchemaPlan {
  readonly schema: JobSchema;
  /** bytes32 (0x + 64 hex): what the buyer signs as JobRequest.jobSchemaHash. */
  readonly hash: string;
  readonly dropped: readonly DroppedColumn[];
  /** Per dataset, the classes of the job it has no row of (a silo lacking classes is fine). */
  readonly missingClasses: Readonly<Record<string, readonly string[]>>;
}

export class JobSchemaError extends SealfoldError<'INCOMPATIBLE_DATASETS' | 'INVALID_JOB_SCHEMA'> {
  override readonly name = 'JobSchemaError';
}

/**
 * What a column is in a job schema (v1 encodes numbers and one-hot categorical features): numeric for float and
 * integer, date for a date or date-time column that has its `epochDays` part (a number, days since 1970-01-01; date
 * and date-time meet as date), categorical for a categorical column with published levels; undefined for what v1
 * does not encode (an ignored column, a feature-hashed categorical whose levels stay private, a date without its
 * day count, boolean, text), which the plan reports as dropped (`not-encodable`) instead of failing.
 */
const kindOf = (c: SchemaColumnInput): 'numeric' | 'date' | 'categorical' | undefined => {
  if (c.role === 'ignored') return undefined;
  if (c.type === 'float' || c.type === 'integer') return 'numeric';
  if ((c.type === 'date' || c.type === 'datetime') && (c.parts?.includes('epochDays') ?? true)) return 'date';
  if (c.type === 'categorical' && c.encoding !== 'hash' && (c.levels?.length ?? 0) > 0) return 'categorical';
  return undefined;
};

/**
 * The job schema of `datasets` (in request order): common features by name and compatible type, the union of
 * label classes, sorted. Throws INCOMPATIBLE_DATASETS naming the dataset and column when the label columns differ,
 * no feature is common to all, or fewer than 2 classes remain.
 */
export function computeJobSchema(
  datasets: readonly { readonly id: string; readonly schema: DatasetSchemaInput }[],
): JobSchemaPlan {
  const fail = (m: string): never => {
    throw new JobSchemaError('INCOMPATIBLE_DATASETS', m);
  };
  if (datasets.length === 0) fail('no datasets');
  const label = datasets[0].schema.label;
  const classSets = datasets.map((d) => {
    if (d.schema.label !== label)
      fail(`dataset ${d.id} labels column "${d.schema.label}", dataset ${datasets[0].id} labels "${label}"`);
    const col = d.schema.columns.find((c) => c.name === label);
    if (!col || col.type !== 'categorical' || !col.levels)
      return fail(`dataset ${d.id}: label column "${label}" is not categorical`);
    return col.levels;
  });
  const classes = [...new Set(classSets.flat())].sort(byCodeUnit);
  if (classes.length < 2) fail(`the datasets have ${classes.length} class(es) in all; a classifier needs 2`);

  const dropped: DroppedColumn[] = [];
  const features: JobSchemaFeature[] = [];
  const byName = datasets.map((d) => new Map(d.schema.columns.map((c) => [c.name, c] as const)));
  for (const col of datasets[0].schema.columns) {
    if (col.name === label) continue;
    const cols = byName.map((m) => m.get(col.name));
    if (cols.some((c) => c === undefined)) continue; // reported below, per dataset
    const kinds = new Set(cols.map((c) => kindOf(c!)));
    if (kinds.has(undefined)) {
      datasets.forEach((d) => dropped.push({ datasetId: d.id, column: col.name, reason: 'not-encodable' }));
      continue;
    }
    if (kinds.size !== 1) {
      datasets.forEach((d) => dropped.push({ datasetId: d.id, column: col.name, reason: 'type-conflict' }));
      continue;
    }
    if (kinds.has('numeric')) features.push({ name: col.name, type: 'numeric' });
    else if (kinds.has('date')) features.push({ name: col.name, type: 'numeric', source: 'date' });
    else
      features.push({
        name: col.name,
        type: 'categorical',
        levels: [...new Set(cols.flatMap((c) => c!.levels ?? []))].sort(byCodeUnit),
      });
  }
  const kept = new Set([...features.map((f) => f.name), label, ...dropped.map((d) => d.column)]);
  for (const d of datasets)
    for (const c of d.schema.columns)
      if (!kept.has(c.name)) dropped.push({ datasetId: d.id, column: c.name, reason: 'not-in-every-dataset' });
  if (features.length === 0) fail('the datasets have no feature column in common (same name, compatible type)');
  const schema = jobSchemaSchema.parse({ format: JOB_SCHEMA_FORMAT, label, features, classes });
  const missingClasses: Record<string, string[]> = {};
  datasets.forEach((d, i) => {
    const own = new Set(classSets[i]);
    missingClasses[d.id] = classes.filter((c) => !own.has(c));
  });
  return { schema, hash: jobSchemaHash(schema), dropped, missingClasses };
}

/**
 * The schema with signed ranges on some numeric features (`job create --feature-range name=min:max`): throws
 * INVALID_JOB_SCHEMA naming a feature that is not a numeric feature of the schema, or a range that is not min < max.
 */
export function withFeatureRanges(
  schema: JobSchema,
  ranges: Readonly<Record<string, readonly [number, number]>>,
): JobSchema {
  for (const name of Object.keys(ranges)) {
    const f = schema.features.find((x) => x.name === name);
    if (!f || f.type !== 'numeric')
      throw new JobSchemaError('INVALID_JOB_SCHEMA', `"${name}" is not a numeric feature of the job schema`);
  }
  return parseJobSchema({
    ...schema,
    features: schema.features.map((f) =>
      f.type === 'numeric' && ranges[f.name] ? { ...f, range: [...ranges[f.name]] } : f,
    ),
  });
}

/** keccak256 of the schema's canonical JSON (RFC 8785 key order), as bytes32 hex. */
export function jobSchemaHash(schema: JobSchema): string {
  const valid = jobSchemaSchema.parse(schema);
  return `0x${bytesToHex(keccak_256(new TextEncoder().encode(canonicalJson(valid))))}`;
}

/** Validates a job schema received from another party; throws INVALID_JOB_SCHEMA naming the first bad field. */
export function parseJobSchema(value: unknown): JobSchema {
  const r = jobSchemaSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new JobSchemaError(
      'INVALID_JOB_SCHEMA',
      `invalid job schema: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return r.data;
}

/**
 * Why a dataset's rows cannot be mapped onto a job schema, naming the column; undefined when they can: every job
 * feature is one of its columns with a compatible type and no level the job does not list, its label column is the
 * job's, and each of its classes is a job class (classes it lacks, and extra columns, are fine).
 */
export function jobSchemaMismatch(
  job: JobSchema,
  dataset: DatasetSchemaInput,
): { readonly column: string; readonly message: string } | undefined {
  if (dataset.label !== job.label)
    return {
      column: job.label,
      message: `the job labels column "${job.label}"; this dataset labels "${dataset.label}"`,
    };
  for (const f of job.features) {
    const c = dataset.columns.find((x) => x.name === f.name);
    if (!c) return { column: f.name, message: `this dataset has no column "${f.name}" (the job schema needs it)` };
    const kind = kindOf(c);
    const expected = f.type === 'numeric' && f.source === 'date' ? 'date' : f.type;
    if (kind !== expected)
      return { column: f.name, message: `column "${f.name}" is ${c.type} here; the job schema has it ${expected}` };
    if (f.type === 'categorical') {
      const extra = (c.levels ?? []).find((l) => !f.levels.includes(l));
      if (extra !== undefined)
        return {
          column: f.name,
          message: `column "${f.name}" has level "${extra}", which the job schema does not list`,
        };
    }
  }
  const label = dataset.columns.find((c) => c.name === dataset.label);
  const extraClass = (label?.levels ?? []).find((l) => !job.classes.includes(l));
  if (extraClass !== undefined)
    return {
      column: job.label,
      message: `class "${extraClass}" of column "${job.label}" is not among the job's classes`,
    };
  return undefined;
}

/** Width of the model input the schema encodes to: 1 per numeric feature, one per level of a categorical one. */
export function jobSchemaInputWidth(schema: JobSchema): number {
  return schema.features.reduce((n, f) => n + (f.type === 'numeric' ? 1 : f.levels.length), 0);
}

// ---------------------------------------------------------------------------------------------- the encoding

export const INPUT_ENCODING_FORMAT = 'sealfold-encoding/v1';

const finiteNumber = z.number().refine(Number.isFinite, 'must be finite');
export const inputEncodingSchema = z.strictObject({
  format: z.literal(INPUT_ENCODING_FORMAT),
  label: z.string().min(1),
  /** Output i of the model is classes[i]. */
  classes: z.array(z.string()).min(2),
  /** Model input order: a numeric feature gives one input (x − mean)/std, a categorical one one-hot input per level. */
  features: z
    .array(
      z.discriminatedUnion('type', [
        z.strictObject({
          name: z.string().min(1),
          type: z.literal('numeric'),
          /** 'date': the raw value is an ISO 8601 date or date-time, read as days since 1970-01-01 (UTC). */
          source: z.literal('date').optional(),
          mean: finiteNumber,
          std: finiteNumber.refine((s) => s > 0),
          impute: finiteNumber,
        }),
        z.strictObject({
          name: z.string().min(1),
          type: z.literal('categorical'),
          levels: z.array(z.string()).min(1),
          /** The level a missing value becomes (the most frequent); null: all zeros. */
          impute: z.string().nullable(),
        }),
      ]),
    )
    .min(1),
});
export type InputEncoding = z.infer<typeof inputEncodingSchema>;
