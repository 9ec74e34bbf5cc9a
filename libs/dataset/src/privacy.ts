// What of a dataset becomes public (issue 13 §2). The manifest is on IPFS and cannot be unpublished, so by default it
// holds nothing derived from individual rows: column names and types, the row count, and the label's classes. Rules:
//  - no value occurring in 1..k−1 rows is ever published (k per schema, DEFAULT_K = 10): a value that rare is close
//    to an identifier of the rows holding it;
//  - a categorical feature publishes its levels only when the owner declared them with `"public": true` (and none is
//    rare); otherwise it is feature-hashed, which needs no level list (encoding.ts);
//  - the label's classes are published (every owner in a job must name the same classes) when each occurs in at least
//    k rows; a declared class that occurs in no row is the owner's vocabulary, not data, and may be listed. A rarer
//    class is refused rather than hashed: a salted hash of a class name with a public salt is one dictionary lookup
//    from the name, and a secret salt would stop owners aligning their classes.
import { DatasetError } from './errors.js';
import { featureLayout } from './encoding.js';
import type { ColumnStats, LevelCounts } from './inspector.js';
import {
  DEFAULT_HASH_BUCKETS,
  columnRole,
  type Column,
  type ColumnRole,
  type ColumnType,
  type DatasetSchema,
} from './schema.js';

/** Levels (with their counts) that would be published but occur in 1..k−1 rows. */
function rareOf(levels: readonly string[], counts: LevelCounts, k: number) {
  const byLevel = new Map(counts.entries().map((e) => [e.level, e] as const));
  return levels.map((l) => byLevel.get(l)).filter((e) => e !== undefined && e.count > 0 && e.count < k);
}

/**
 * Refuses a dataset whose label classes (or public feature levels) include a value occurring in fewer than k rows.
 * The message names the count and the first line, never the value.
 */
export function refuseRareClasses(
  schema: DatasetSchema,
  labelIndex: number,
  labelCounts: LevelCounts,
  k: number,
  declared: boolean,
): void {
  const label = schema.columns[labelIndex];
  if (label.type !== 'categorical' || !label.levels) return;
  const rare = rareOf(label.levels, labelCounts, k);
  if (rare.length === 0) return;
  const first = rare.reduce((a, b) => (a!.firstLine <= b!.firstLine ? a : b))!;
  throw new DatasetError(
    'RARE_VALUE',
    `label column "${label.name}" has ${rare.length} class(es) occurring in fewer than k = ${k} rows (the first on ` +
      `this line); class names are published, so merge or drop those rows` +
      `${declared ? '' : ', or declare the label in a --schema file'}, or lower k (--k) if publishing them is acceptable`,
    first.firstLine,
    labelIndex + 1,
  );
}

function refuseRareLevels(column: Column, index: number, counts: LevelCounts | null, k: number): void {
  if (column.type !== 'categorical' || !column.levels || !counts) return;
  const rare = rareOf(column.levels, counts, k);
  if (rare.length === 0) return;
  const first = rare.reduce((a, b) => (a!.firstLine <= b!.firstLine ? a : b))!;
  throw new DatasetError(
    'RARE_VALUE',
    `public column "${column.name}" has ${rare.length} level(s) occurring in fewer than k = ${k} rows (the first ` +
      'on this line); remove "public" (the column is then hashed), merge those levels, or lower k',
    first.firstLine,
    index + 1,
  );
}

/** The schema as the manifest publishes it. */
export function publicSchemaOf(
  schema: DatasetSchema,
  stats: readonly ColumnStats[],
  k: number,
  refuseRare = true,
): DatasetSchema {
  const columns = schema.columns.map((c, i): Column => {
    const role = columnRole(schema, c);
    const base = { name: c.name, ...(c.role !== undefined || role !== 'feature' ? { role } : {}) };
    const missing = c.missing ? { missing: c.missing } : {};
    switch (c.type) {
      case 'categorical': {
        if (role === 'label')
          return { ...base, type: 'categorical', levels: c.levels!, ...(c.public ? { public: true } : {}), ...missing };
        if (role === 'ignored') return { ...base, type: 'categorical', ...missing };
        if (c.public === true && c.encoding !== 'hash') {
          if (refuseRare) refuseRareLevels(c, i, stats[i]?.levels ?? null, k);
          return { ...base, type: 'categorical', levels: c.levels!, public: true, encoding: 'one-hot', ...missing };
        }
        return {
          ...base,
          type: 'categorical',
          encoding: 'hash',
          buckets: c.buckets ?? DEFAULT_HASH_BUCKETS,
          ...missing,
        };
      }
      case 'date':
      case 'datetime':
        return { ...base, type: c.type, ...(c.parts ? { parts: c.parts } : {}), ...missing };
      default:
        return { ...base, type: c.type, ...missing };
    }
  });
  return {
    columns,
    label: schema.label,
    k,
    ...(schema.missing ? { missing: schema.missing } : {}),
  };
}

/** One column as `dataset inspect` shows it to the owner. */
export interface ColumnReport {
  readonly name: string;
  readonly type: ColumnType;
  readonly role: ColumnRole;
  /** Rows where the value is a missing token (masked, never a type change). */
  readonly missing: number;
  readonly firstMissingLine: number | null;
  /** Distinct non-missing values seen, when counted (categorical, or while inferring up to the level cap). */
  readonly distinct: number | null;
  /** Distinct values occurring in fewer than k rows. */
  readonly rare: number | null;
  /** The model features the column becomes (names from the public schema). */
  readonly features: readonly string[];
  /** Data values the manifest publishes for this column (levels or classes); empty when none. */
  readonly published: readonly string[];
}

export function columnReports(
  privateSchema: DatasetSchema,
  publicSchema: DatasetSchema,
  stats: readonly ColumnStats[],
  k: number,
): ColumnReport[] {
  const layout = featureLayout(publicSchema);
  return publicSchema.columns.map((c, i) => {
    const s = stats[i];
    const entries = s.levels?.entries().filter((e) => e.count > 0) ?? null;
    const l = layout.columns[i];
    return {
      name: c.name,
      type: privateSchema.columns[i].type,
      role: columnRole(publicSchema, c),
      missing: s.missing,
      firstMissingLine: s.missing > 0 ? s.firstMissingLine : null,
      distinct: entries ? entries.length : null,
      rare: entries ? entries.filter((e) => e.count < k).length : null,
      features: layout.featureNames.slice(l.offset, l.offset + l.width),
      published: c.type === 'categorical' ? (c.levels ?? []) : [],
    };
  });
}
