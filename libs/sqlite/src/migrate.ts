// Ordered schema migrations: the one mechanism of the coordinator's database (node:sqlite or PostgreSQL) and the
// silo's ε ledger (node:sqlite). Each migration runs once, in its own transaction, and is recorded in
// `schema_migrations`; a migration is never edited after release — a change is a new migration appended at the end.
// `migrate` runs on a node:sqlite handle (synchronous); `migrateAsync` on any engine through `MigrationTarget`. Both
// share the plan (validation, the versions to apply, the refusal of a newer schema).
import type { DatabaseSync } from 'node:sqlite';
import { SealfoldError } from '@sealfold/protocol';

export type SqlEngine = 'sqlite' | 'postgres';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** One text for every engine (see `migrationSql` for the column types), or one text per engine. */
  readonly sql: string | { readonly sqlite: string; readonly postgres: string };
}

export type MigrationErrorCode = 'BAD_MIGRATIONS' | 'SCHEMA_TOO_NEW';

export class MigrationError extends SealfoldError<MigrationErrorCode> {
  override readonly name = 'MigrationError';
}

const SCHEMA_TABLE =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT';
const RECORD = 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)';

/**
 * The text of `m` for `engine`. A shared text is written in SQLite's STRICT dialect and given to PostgreSQL with its
 * column types widened to what SQLite stores: INTEGER is 64-bit there (BIGINT), REAL is a double (DOUBLE PRECISION,
 * not PostgreSQL's 4-byte REAL), BLOB is BYTEA, and STRICT (a SQLite table option) is dropped.
 */
export function migrationSql(m: Pick<Migration, 'sql'>, engine: SqlEngine): string {
  if (typeof m.sql !== 'string') return m.sql[engine];
  if (engine === 'sqlite') return m.sql;
  return m.sql
    .replace(/\)\s*STRICT\b/g, ')')
    .replace(/\bINTEGER\b/g, 'BIGINT')
    .replace(/\bREAL\b/g, 'DOUBLE PRECISION')
    .replace(/\bBLOB\b/g, 'BYTEA');
}

/** Refuses migrations that are not numbered 1.. in strictly increasing order. */
export function checkMigrations(migrations: readonly Migration[]): void {
  for (let i = 0; i < migrations.length; i++) {
    const m = migrations[i];
    if (!Number.isInteger(m.version) || m.version < 1)
      throw new MigrationError('BAD_MIGRATIONS', `migration version must be a positive integer: ${m.version}`);
    if (i > 0 && m.version <= migrations[i - 1].version)
      throw new MigrationError('BAD_MIGRATIONS', 'migrations must be in strictly increasing version order');
  }
}

/** The migrations not yet applied, in order; refuses a database recorded at a version this code does not know. */
export function pendingMigrations(migrations: readonly Migration[], done: ReadonlySet<number>): Migration[] {
  const latest = Math.max(0, ...done);
  const known = migrations.length > 0 ? migrations[migrations.length - 1].version : 0;
  if (latest > known)
    throw new MigrationError(
      'SCHEMA_TOO_NEW',
      `database schema version ${latest} is newer than this code knows (${known})`,
    );
  return migrations.filter((m) => !done.has(m.version));
}

const versionsOf = (rows: readonly Record<string, unknown>[]): Set<number> =>
  new Set(rows.map((r) => Number(r.version)).filter((v) => Number.isInteger(v)));

/**
 * Applies the migrations `db` has not had, in order; returns the versions applied now. A database recorded at a
 * version this code does not know is refused (SCHEMA_TOO_NEW) before anything runs. A database that predates
 * `schema_migrations` and counted its migrations in `PRAGMA user_version` (the silo ledger did) is adopted: its
 * first `user_version` migrations are recorded as applied.
 */
export function migrate(db: DatabaseSync, migrations: readonly Migration[], now: () => number = Date.now): number[] {
  checkMigrations(migrations);
  const record = (m: Migration) => db.prepare(RECORD).run(m.version, m.name, now());
  const inTransaction = (fn: () => void) => {
    db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  };
  inTransaction(() => {
    const existed = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    db.exec(SCHEMA_TABLE);
    if (existed) return;
    const userVersion = db.prepare('PRAGMA user_version').get()?.user_version;
    const legacy = typeof userVersion === 'number' ? userVersion : 0;
    for (const m of migrations.slice(0, legacy)) record(m);
  });
  const applied: number[] = [];
  for (const m of pendingMigrations(
    migrations,
    versionsOf(db.prepare('SELECT version FROM schema_migrations').all()),
  )) {
    inTransaction(() => {
      db.exec(migrationSql(m, 'sqlite'));
      record(m);
    });
    applied.push(m.version);
  }
  return applied;
}

/** What `migrateAsync` needs of a database: statements with `?` placeholders, and transactions. */
export interface MigrationTarget {
  readonly engine: SqlEngine;
  /**
   * Runs `fn` in one transaction that no other migrator runs beside (SQLite: BEGIN IMMEDIATE; PostgreSQL: a
   * transaction-scoped advisory lock), so coordinators starting together on one database migrate it once.
   */
  exclusive<T>(fn: (tx: MigrationTransaction) => Promise<T>): Promise<T>;
}

export interface MigrationTransaction {
  exec(sql: string): Promise<void>;
  all(sql: string, ...params: (string | number)[]): Promise<Record<string, unknown>[]>;
  run(sql: string, ...params: (string | number)[]): Promise<unknown>;
}

/** `migrate` on any engine: each pending migration once, in its own exclusive transaction; returns those applied. */
export async function migrateAsync(
  target: MigrationTarget,
  migrations: readonly Migration[],
  now: () => number = Date.now,
): Promise<number[]> {
  checkMigrations(migrations);
  const schemaTable = migrationSql({ sql: SCHEMA_TABLE }, target.engine);
  const done = async (tx: MigrationTransaction) => versionsOf(await tx.all('SELECT version FROM schema_migrations'));
  const pending = await target.exclusive(async (tx) => {
    await tx.exec(schemaTable);
    return pendingMigrations(migrations, await done(tx));
  });
  const applied: number[] = [];
  for (const m of pending) {
    const ran = await target.exclusive(async (tx) => {
      // Another coordinator may have applied it since the plan was made.
      if ((await done(tx)).has(m.version)) return false;
      await tx.exec(migrationSql(m, target.engine));
      await tx.run(RECORD, m.version, m.name, now());
      return true;
    });
    if (ran) applied.push(m.version);
  }
  return applied;
}
