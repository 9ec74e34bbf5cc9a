// The coordinator's state: node:sqlite (`<dataDir>/coordinator.db`, the embedded default) or PostgreSQL
// (`SEALFOLD_DATABASE_URL=postgres://…`, several coordinators on one database), behind one async SQL port, with one
// ordered list of migrations applied by @sealfold/sqlite `migrateAsync` on either engine.
import { migrateAsync, type Migration, type SqlEngine } from '@sealfold/sqlite';
import { DatabaseError } from './database-error.js';
import { MIGRATIONS } from './migrations.js';
import { PostgresConnection } from './postgres-connection.js';
import type { Row, SqlConnection, SqlExecutor, SqlValue } from './sql.js';
import { SqliteConnection } from './sqlite-connection.js';

export { DatabaseError };
export type { Row, SqlExecutor, SqlValue };

/** Where the state lives: a SQLite file path, or a `postgres://` / `postgresql://` URL. */
export type DatabaseLocation = string;

export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location);

export class CoordinatorDatabase implements SqlExecutor {
  private constructor(
    private readonly connection: SqlConnection,
    /** The file path or the URL (with its password removed), for logs. */
    readonly location: string,
  ) {}

  /** Opens (creating a SQLite file if needed) and migrates the database; returns the versions applied now. */
  static async open(
    location: DatabaseLocation,
    migrations: readonly Migration[] = MIGRATIONS,
  ): Promise<{ db: CoordinatorDatabase; applied: number[] }> {
    let connection: SqlConnection;
    let shown = location;
    if (isPostgresUrl(location)) {
      const pg = new PostgresConnection(location);
      connection = pg;
      shown = redactUrl(location);
      try {
        await pg.ping();
      } catch (error) {
        await pg.close();
        throw new DatabaseError(`cannot reach PostgreSQL at ${shown}: ${(error as Error).message}`, { cause: error });
      }
    } else connection = new SqliteConnection(location);
    const db = new CoordinatorDatabase(connection, shown);
    try {
      return { db, applied: await migrateAsync(connection, migrations) };
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  get engine(): SqlEngine {
    return this.connection.engine;
  }

  run(sql: string, ...params: SqlValue[]): Promise<{ changes: number }> {
    return this.connection.run(sql, ...params);
  }

  get<T = Row>(sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    return this.connection.get<T>(sql, ...params);
  }

  all<T = Row>(sql: string, ...params: SqlValue[]): Promise<T[]> {
    return this.connection.all<T>(sql, ...params);
  }

  exec(sql: string): Promise<void> {
    return this.connection.exec(sql);
  }

  /** Runs `fn` atomically: its statements go through `tx`; committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.connection.transaction(fn);
  }

  async meta(key: string): Promise<string | undefined> {
    return (await this.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', key))?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.run(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      key,
      value,
    );
  }

  /** Sets `key` unless it is set; returns the value that holds (the first writer's, when several race). */
  async metaOnce(key: string, value: string): Promise<string> {
    await this.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', key, value);
    return (await this.meta(key))!;
  }

  get isOpen(): boolean {
    return (this.connection as { isOpen?: boolean }).isOpen ?? true;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** The URL without its password (kept out of logs and errors). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
