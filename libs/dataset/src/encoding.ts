// How a schema's columns become model features. Computed from the public schema alone, so a buyer, the coordinator
// and every silo agree on the layout without seeing data: numbers and booleans give one feature, a date its parts, a
// categorical column with public levels one 0/1 feature per level, one without them `buckets` hashed slots (values.ts
// hashBucket), and the label and ignored/text columns none.
import { DEFAULT_DATE_PARTS, DEFAULT_HASH_BUCKETS, columnRole, type Column, type DatasetSchema } from './schema.js';

export interface ColumnLayout {
  /** The column's index in the schema (and the CSV). */
  readonly index: number;
  readonly column: Column;
  /** First feature of the column, and how many it contributes (0 for the label and ignored columns). */
  readonly offset: number;
  readonly width: number;
  /** Categorical only: 'one-hot' over the levels, or 'hash' into buckets. */
  readonly encoding?: 'one-hot' | 'hash';
}

/**
 * The encoding of a categorical feature: its `encoding`, else one-hot when it lists levels (a format-1/2 manifest's
 * schema, whose levels were published), else hashing. Public schemas always state it (privacy.ts publicSchemaOf).
 */
export function categoricalEncoding(column: Column): 'one-hot' | 'hash' {
  if (column.type !== 'categorical') throw new TypeError('not a categorical column');
  return column.encoding ?? (column.levels === undefined ? 'hash' : 'one-hot');
}

/** Feature layout of `schema`; `oneHot` false indexes one-hot columns with one feature (the level's index). */
export function featureLayout(
  schema: DatasetSchema,
  oneHot = true,
): { readonly columns: ColumnLayout[]; readonly featureNames: string[] } {
  const featureNames: string[] = [];
  const columns = schema.columns.map((column, index): ColumnLayout => {
    const offset = featureNames.length;
    const role = columnRole(schema, column);
    if (role !== 'feature') return { index, column, offset, width: 0 };
    switch (column.type) {
      case 'float':
      case 'integer':
      case 'boolean':
        featureNames.push(column.name);
        break;
      case 'date':
      case 'datetime':
        for (const p of column.parts ?? DEFAULT_DATE_PARTS) featureNames.push(`${column.name}.${p}`);
        break;
      case 'text':
        break;
      case 'categorical': {
        const encoding = categoricalEncoding(column);
        if (!oneHot) featureNames.push(column.name);
        else if (encoding === 'one-hot') for (const l of column.levels!) featureNames.push(`${column.name}=${l}`);
        else
          for (let b = 0; b < (column.buckets ?? DEFAULT_HASH_BUCKETS); b++) featureNames.push(`${column.name}#${b}`);
        return { index, column, offset, width: featureNames.length - offset, encoding };
      }
    }
    return { index, column, offset, width: featureNames.length - offset };
  });
  return { columns, featureNames };
}
