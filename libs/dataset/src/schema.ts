// The dataset schema: one entry per CSV column, in file order. Declared by the owner (a JSON file) or inferred.
import { z } from 'zod';
import { DatasetError } from './errors.js';

/** Column names: non-empty, no control characters, at most 256 characters. */
const ColumnName = z
  .string()
  .min(1)
  .max(256)
  // eslint-disable-next-line no-control-regex -- C0 controls and DEL are refused in column names
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters');

export const FloatColumnSchema = z.strictObject({ name: ColumnName, type: z.literal('float') });
export const IntegerColumnSchema = z.strictObject({ name: ColumnName, type: z.literal('integer') });
/** A categorical column lists its levels; values outside them are refused. Levels are distinct. */
export const CategoricalColumnSchema = z.strictObject({
  name: ColumnName,
  type: z.literal('categorical'),
  levels: z
    .array(z.string().max(1024))
    .min(1)
    .max(65536)
    .refine((l) => new Set(l).size === l.length, 'levels must be distinct'),
});
export const ColumnSchema = z.discriminatedUnion('type', [
  FloatColumnSchema,
  IntegerColumnSchema,
  CategoricalColumnSchema,
]);

/**
 * `columns` lists every CSV column in header order, the label column included. The label column is categorical;
 * its levels are the classes, and a class index is a position in that list.
 */
export const DatasetSchemaSchema = z
  .strictObject({
    columns: z.array(ColumnSchema).min(2).max(100_000),
    label: ColumnName,
  })
  .superRefine((s, ctx) => {
    const names = new Set<string>();
    for (const c of s.columns) {
      if (names.has(c.name)) ctx.addIssue({ code: 'custom', message: `duplicate column name "${c.name}"` });
      names.add(c.name);
    }
    const label = s.columns.find((c) => c.name === s.label);
    if (!label) ctx.addIssue({ code: 'custom', message: `label column "${s.label}" is not among the columns` });
    else if (label.type !== 'categorical')
      ctx.addIssue({
        code: 'custom',
        message: `label column "${s.label}" must be categorical (its levels are the classes)`,
      });
  });

export type FloatColumn = z.infer<typeof FloatColumnSchema>;
export type IntegerColumn = z.infer<typeof IntegerColumnSchema>;
export type CategoricalColumn = z.infer<typeof CategoricalColumnSchema>;
export type Column = z.infer<typeof ColumnSchema>;
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

/** The classes of a schema: the levels of its label column. */
export function schemaClasses(schema: DatasetSchema): readonly string[] {
  const label = schema.columns.find((c) => c.name === schema.label);
  if (!label || label.type !== 'categorical')
    throw new DatasetError('INVALID_SCHEMA', 'schema has no categorical label');
  return label.levels;
}

/** JSON Schema (draft 2020-12) of the dataset schema file. */
export function datasetSchemaJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(DatasetSchemaSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
}
