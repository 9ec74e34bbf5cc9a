// The coordinator's state in node:sqlite (`<dataDir>/coordinator.db`): WAL journal, foreign keys, ordered migrations.
// node:sqlite is synchronous; statements are short, so the event loop is held for microseconds per call.
import { SealfoldError } from '@sealfold/protocol';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { migrate, type Migration } from '@sealfold/sqlite';
import { MIGRATIONS } from './migrations.js';

export type SqlValue = SQLInputValue;
export type Row = Record<string, SqlValue>;

export class DatabaseError extends SealfoldError<'DATABASE'> {
  override readonly name = 'DatabaseError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATABASE', message, options);
  }
}

export class CoordinatorDatabase {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private depth = 0;

  private constructor(readonly path: string) {
    this.db = new DatabaseSync(path);
    // WAL: readers do not block the writer and a crash never leaves a torn page (https://sqlite.org/wal.html).
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
    this.db.exec('PRAGMA busy_timeout = 5000;');
  }

  /** Opens (creating if needed) and migrates the database; returns the versions applied now. */
  static open(
    path: string,
    migrations: readonly Migration[] = MIGRATIONS,
  ): { db: CoordinatorDatabase; applied: number[] } {
    const db = new CoordinatorDatabase(path);
    try {
      return { db, applied: db.migrate(migrations) };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** The shared mechanism (@sealfold/sqlite): each migration once, in its own transaction. */
  private migrate(migrations: readonly Migration[]): number[] {
    return migrate(this.db, migrations);
  }

  private statement(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  run(sql: string, ...params: SqlValue[]): { changes: number } {
    const r = this.statement(sql).run(...params);
    return { changes: Number(r.changes) };
  }

  get<T = Row>(sql: string, ...params: SqlValue[]): T | undefined {
    return this.statement(sql).get(...params) as T | undefined;
  }

  all<T = Row>(sql: string, ...params: SqlValue[]): T[] {
    return this.statement(sql).all(...params) as T[];
  }

  /** Runs `fn` atomically (nested calls join the outer transaction via savepoints). `fn` must be synchronous. */
  transaction<T>(fn: () => T): T {
    const savepoint = `sp${this.depth}`;
    this.db.exec(this.depth === 0 ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
    this.depth++;
    try {
      const result = fn();
      if (result instanceof Promise) throw new DatabaseError('transaction bodies must be synchronous');
      this.depth--;
      this.db.exec(this.depth === 0 ? 'COMMIT' : `RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      this.depth--;
      this.db.exec(this.depth === 0 ? 'ROLLBACK' : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      throw error;
    }
  }

  meta(key: string): string | undefined {
    return this.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.run(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      key,
      value,
    );
  }

  get isOpen(): boolean {
    return this.db.isOpen;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
