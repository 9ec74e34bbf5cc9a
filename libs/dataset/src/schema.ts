// The dataset schema: one entry per CSV column, in file order. Declared by the owner (a JSON file, `--schema`) or
// inferred; the manifest publishes its public form (see publicSchema in privacy.ts). Every field added since format 1
// is optional, so a format-1/2 schema ({name, type: float|integer|categorical (with levels)}) still parses.
import { z } from 'zod';
import { DatasetError } from './errors.js';

/** Column names: non-empty, no control characters, at most 256 characters. */
const ColumnName = z
  .string()
  .min(1)
  .max(256)
  // eslint-disable-next-line no-control-regex -- C0 controls and DEL are refused in column names
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters');

/** The fewest rows a value must occur in before it may be published (k-anonymity threshold on published values). */
export const DEFAULT_K = 10;
/** Tokens read as "missing" unless a column (or the schema) lists its own. Compared with the whole field, exactly. */
export const DEFAULT_MISSING_TOKENS: readonly string[] = ['', 'NA', 'N/A', 'NaN', 'null'];
/** Buckets of a hashed categorical feature unless the column says otherwise. */
export const DEFAULT_HASH_BUCKETS = 16;

/**
 * What a column is for. `feature`: an input of the model. `label`: the class (exactly one column, also named by the
 * schema's `label`). `ignored`: sealed with the data but never a feature and never published beyond its name.
 */
export const ColumnRole = z.enum(['feature', 'label', 'ignored']);
export type ColumnRole = z.infer<typeof ColumnRole>;

/** Missing-value tokens of one column; replaces the schema's (or the default) list. */
const MissingTokens = z
  .array(z.string().max(64))
  .max(64)
  .refine((l) => new Set(l).size === l.length, 'missing tokens must be distinct');

const common = {
  name: ColumnName,
  /** Default: `label` for the schema's label column, `ignored` for text, else `feature`. */
  role: ColumnRole.optional(),
  missing: MissingTokens.optional(),
};

export const FloatColumnSchema = z.strictObject({ ...common, type: z.literal('float') });
export const IntegerColumnSchema = z.strictObject({ ...common, type: z.literal('integer') });
/** `true`/`false` (any case) — 1/0 as a feature. */
export const BooleanColumnSchema = z.strictObject({ ...common, type: z.literal('boolean') });

/** Numeric features derived from an ISO 8601 date: days since 1970-01-01 (UTC), year, month 1-12, ISO weekday 1-7. */
export const DatePart = z.enum(['epochDays', 'year', 'month', 'dayOfWeek']);
export type DatePart = z.infer<typeof DatePart>;
export const DEFAULT_DATE_PARTS: readonly DatePart[] = ['epochDays', 'year', 'month', 'dayOfWeek'];
const dateParts = z
  .array(DatePart)
  .min(1)
  .max(4)
  .refine((l) => new Set(l).size === l.length, 'date parts must be distinct');
/** ISO 8601 calendar date YYYY-MM-DD. */
export const DateColumnSchema = z.strictObject({ ...common, type: z.literal('date'), parts: dateParts.optional() });
/** ISO 8601 date-time YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM] (no offset = UTC); parts as for a date, in UTC. */
export const DatetimeColumnSchema = z.strictObject({
  ...common,
  type: z.literal('datetime'),
  parts: dateParts.optional(),
});
/** Free text or an identifier: never a feature and never published (role is always `ignored`). */
export const TextColumnSchema = z.strictObject({ ...common, type: z.literal('text') });

/**
 * A categorical column. `levels` (optional when declaring: inferred from the data) lists the allowed values; a value
 * outside them is refused. Levels are published only when `public` is true. A categorical feature whose levels are
 * not public is encoded by feature hashing into `buckets` one-hot slots (a public hash of the value, so owners align
 * without publishing anything). The label's levels are its classes (see privacy.ts for when they may be published).
 */
export const CategoricalColumnSchema = z.strictObject({
  ...common,
  type: z.literal('categorical'),
  levels: z
    .array(z.string().max(1024))
    .min(1)
    .max(65536)
    .refine((l) => new Set(l).size === l.length, 'levels must be distinct')
    .optional(),
  public: z.boolean().optional(),
  encoding: z.enum(['one-hot', 'hash']).optional(),
  buckets: z.number().int().min(2).max(4096).optional(),
});
export const ColumnSchema = z.discriminatedUnion('type', [
  FloatColumnSchema,
  IntegerColumnSchema,
  BooleanColumnSchema,
  CategoricalColumnSchema,
  DateColumnSchema,
  DatetimeColumnSchema,
  TextColumnSchema,
]);

/**
 * `columns` lists every CSV column in header order, the label column included. The label column is categorical;
 * its levels are the classes, and a class index is a position in that list.
 */
export const DatasetSchemaSchema = z
  .strictObject({
    columns: z.array(ColumnSchema).min(2).max(100_000),
    label: ColumnName,
    /** Schema-wide missing-value tokens (default DEFAULT_MISSING_TOKENS); a column's `missing` replaces them. */
    missing: MissingTokens.optional(),
    /** No value occurring in fewer than k rows is published (default DEFAULT_K). */
    k: z.number().int().min(1).max(1_000_000).optional(),
  })
  .superRefine((s, ctx) => {
    const names = new Set<string>();
    for (const c of s.columns) {
      if (names.has(c.name)) ctx.addIssue({ code: 'custom', message: `duplicate column name "${c.name}"` });
      names.add(c.name);
      if (c.role === 'label' && c.name !== s.label)
        ctx.addIssue({ code: 'custom', message: `column "${c.name}" has role label but the label is "${s.label}"` });
      if (c.type === 'text' && c.role !== undefined && c.role !== 'ignored')
        ctx.addIssue({ code: 'custom', message: `text column "${c.name}" can only be ignored` });
      if (c.type === 'categorical' && c.public === true && c.levels === undefined)
        ctx.addIssue({ code: 'custom', message: `public categorical column "${c.name}" must list its levels` });
      if (c.type === 'categorical' && c.encoding === 'one-hot' && c.levels === undefined)
        ctx.addIssue({ code: 'custom', message: `one-hot column "${c.name}" must list its levels` });
    }
    const label = s.columns.find((c) => c.name === s.label);
    if (!label) ctx.addIssue({ code: 'custom', message: `label column "${s.label}" is not among the columns` });
    else if (label.type !== 'categorical')
      ctx.addIssue({
        code: 'custom',
        message: `label column "${s.label}" must be categorical (its levels are the classes)`,
      });
    else if (label.role !== undefined && label.role !== 'label')
      ctx.addIssue({ code: 'custom', message: `label column "${s.label}" must have role label` });
  })
  .meta({
    title: 'Sealfold dataset schema',
    description: 'One entry per CSV column in header order (`sealfold dataset add --schema`).',
  });

export type FloatColumn = z.infer<typeof FloatColumnSchema>;
export type IntegerColumn = z.infer<typeof IntegerColumnSchema>;
export type BooleanColumn = z.infer<typeof BooleanColumnSchema>;
export type CategoricalColumn = z.infer<typeof CategoricalColumnSchema>;
export type DateColumn = z.infer<typeof DateColumnSchema>;
export type DatetimeColumn = z.infer<typeof DatetimeColumnSchema>;
export type TextColumn = z.infer<typeof TextColumnSchema>;
export type Column = z.infer<typeof ColumnSchema>;
export type ColumnType = Column['type'];
export type DatasetSchema = z.infer<typeof DatasetSchemaSchema>;

/** Validates a schema object (e.g. parsed from the owner's schema file). */
export function parseSchema(value: unknown): DatasetSchema {
  const r = DatasetSchemaSchema.safeParse(value);
  if (!r.success) throw new DatasetError('INVALID_SCHEMA', `invalid dataset schema: ${z.prettifyError(r.error)}`);
  return r.data;
}

/** Parses a schema file's bytes (UTF-8 JSON) and validates it. */
export function parseSchemaJson(bytes: Uint8Array | string): DatasetSchema {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new DatasetError('INVALID_SCHEMA', `schema is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  return parseSchema(value);
}

/** The role a column plays under `schema` (defaults filled in). */
export function columnRole(schema: DatasetSchema, column: Column): ColumnRole {
  if (column.name === schema.label) return 'label';
  if (column.type === 'text') return 'ignored';
  return column.role ?? 'feature';
}

/** The missing-value tokens of a column. The label column has none by default: a row without a class is refused. */
export function missingTokens(schema: DatasetSchema, column: Column): readonly string[] {
  if (column.missing) return column.missing;
  if (column.name === schema.label) return [];
  return schema.missing ?? DEFAULT_MISSING_TOKENS;
}

/** The k of a schema (DEFAULT_K when unset). */
export const schemaK = (schema: DatasetSchema): number => schema.k ?? DEFAULT_K;

/** The classes of a schema: the levels of its label column. */
export function schemaClasses(schema: DatasetSchema): readonly string[] {
  const label = schema.columns.find((c) => c.name === schema.label);
  if (!label || label.type !== 'categorical' || !label.levels)
    throw new DatasetError('INVALID_SCHEMA', 'schema has no categorical label with levels');
  return label.levels;
}

/** JSON Schema (draft 2020-12) of the dataset schema file; committed as libs/dataset/dataset-schema.schema.json. */
export function datasetSchemaJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(DatasetSchemaSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
}
