// The coordinator's port to its SQL engine: statements with `?` placeholders, answered asynchronously, and
// transactions whose body is async. Two adapters: node:sqlite (sqlite-connection.ts, the embedded default) and
// PostgreSQL through `pg` (postgres-connection.ts). Repositories write SQL that runs on both engines.
import type { SqlEngine } from '@sealfold/sqlite';

export type SqlValue = string | number | bigint | null | Uint8Array;
export type Row = Record<string, unknown>;

/** Statements on a connection or inside a transaction. */
export interface SqlExecutor {
  /** A statement without rows; `changes` is the number of rows it inserted, updated or deleted. */
  run(sql: string, ...params: SqlValue[]): Promise<{ changes: number }>;
  get<T = Row>(sql: string, ...params: SqlValue[]): Promise<T | undefined>;
  all<T = Row>(sql: string, ...params: SqlValue[]): Promise<T[]>;
  /** Statements without parameters, several allowed (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlConnection extends SqlExecutor {
  readonly engine: SqlEngine;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** `transaction`, and no other migrator runs beside it (see @sealfold/sqlite MigrationTarget). */
  exclusive<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A unique or primary-key constraint refused the write (SQLite SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY, PostgreSQL 23505). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown };
  return (
    e?.code === '23505' ||
    e?.errcode === 2067 ||
    e?.errcode === 1555 ||
    /UNIQUE constraint failed/.test(String(e?.message))
  );
}
