// Ordered schema migrations for node:sqlite databases: the one mechanism of the coordinator's database and the
// silo's ε ledger. Each migration runs once, in its own transaction, and is recorded in `schema_migrations`; a
// migration is never edited after release — a change is a new migration appended at the end.
import type { DatabaseSync } from 'node:sqlite';
import { SealfoldError } from '@sealfold/protocol';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export type MigrationErrorCode = 'BAD_MIGRATIONS' | 'SCHEMA_TOO_NEW';

export class MigrationError extends SealfoldError<MigrationErrorCode> {
  override readonly name = 'MigrationError';
}

const SCHEMA_TABLE =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT';

function appliedVersions(db: DatabaseSync): Set<number> {
  const rows = db.prepare('SELECT version FROM schema_migrations').all();
  const out = new Set<number>();
  for (const row of rows) if (typeof row.version === 'number') out.add(row.version);
  return out;
}

/**
 * Applies the migrations `db` has not had, in order; returns the versions applied now. A database recorded at a
 * version this code does not know is refused (SCHEMA_TOO_NEW) before anything runs. A database that predates
 * `schema_migrations` and counted its migrations in `PRAGMA user_version` (the silo ledger did) is adopted: its
 * first `user_version` migrations are recorded as applied.
 */
export function migrate(db: DatabaseSync, migrations: readonly Migration[], now: () => number = Date.now): number[] {
  for (let i = 0; i < migrations.length; i++) {
    const m = migrations[i];
    if (!Number.isInteger(m.version) || m.version < 1)
      throw new MigrationError('BAD_MIGRATIONS', `migration version must be a positive integer: ${m.version}`);
    if (i > 0 && m.version <= migrations[i - 1].version)
      throw new MigrationError('BAD_MIGRATIONS', 'migrations must be in strictly increasing version order');
  }
  const record = (m: Migration) =>
    db
      .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(m.version, m.name, now());
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
  const done = appliedVersions(db);
  const latest = Math.max(0, ...done);
  const known = migrations.length > 0 ? migrations[migrations.length - 1].version : 0;
  if (latest > known)
    throw new MigrationError(
      'SCHEMA_TOO_NEW',
      `database schema version ${latest} is newer than this code knows (${known})`,
    );
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    inTransaction(() => {
      db.exec(m.sql);
      record(m);
    });
    applied.push(m.version);
  }
  return applied;
}
