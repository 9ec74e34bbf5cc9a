// node:sqlite behind the async SQL port: WAL journal, foreign keys. node:sqlite is synchronous and one handle is
// one connection, so a transaction holds the handle (a FIFO lock) until its async body settles: statements of other
// callers wait for it instead of joining it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { DatabaseError } from './database-error.js';
import type { SqlConnection, SqlExecutor, SqlValue } from './sql.js';

export class SqliteConnection implements SqlConnection {
  readonly engine = 'sqlite' as const;
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private tail: Promise<void> = Promise.resolve();
  private readonly direct: SqlExecutor;
  /** Set inside a transaction body: a statement there that bypasses `tx` would wait for the body forever. */
  private readonly inTransaction = new AsyncLocalStorage<true>();

  constructor(readonly path: string) {
    this.db = new DatabaseSync(path);
    // WAL: readers do not block the writer and a crash never leaves a torn page (https://sqlite.org/wal.html).
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
    this.db.exec('PRAGMA busy_timeout = 5000;');
    const statement = (sql: string) => {
      let s = this.statements.get(sql);
      if (!s) {
        s = this.db.prepare(sql);
        this.statements.set(sql, s);
      }
      return s;
    };
    const params = (values: SqlValue[]) => values as SQLInputValue[];
    this.direct = {
      run: async (sql, ...values) => ({ changes: Number(statement(sql).run(...params(values)).changes) }),
      get: async <T>(sql: string, ...values: SqlValue[]) => statement(sql).get(...params(values)) as T | undefined,
      all: async <T>(sql: string, ...values: SqlValue[]) => statement(sql).all(...params(values)) as T[],
      exec: async (sql) => this.db.exec(sql),
    };
  }

  /** Holds the handle for `fn` (after everything queued before it). */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction.getStore())
      throw new DatabaseError('a statement inside a transaction body must go through its `tx`, not the connection');
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  run(sql: string, ...params: SqlValue[]): Promise<{ changes: number }> {
    return this.locked(() => this.direct.run(sql, ...params));
  }
  get<T>(sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    return this.locked(() => this.direct.get<T>(sql, ...params));
  }
  all<T>(sql: string, ...params: SqlValue[]): Promise<T[]> {
    return this.locked(() => this.direct.all<T>(sql, ...params));
  }
  exec(sql: string): Promise<void> {
    return this.locked(() => this.direct.exec(sql));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.locked(async () => {
      // IMMEDIATE: the write lock is taken at BEGIN, so two processes on one file serialise instead of deadlocking.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.inTransaction.run(true, () => fn(this.direct));
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  exclusive<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(fn);
  }

  get isOpen(): boolean {
    return this.db.isOpen;
  }

  async close(): Promise<void> {
    await this.locked(async () => {
      if (this.db.isOpen) this.db.close();
    });
  }
}
