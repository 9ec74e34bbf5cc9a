// PostgreSQL behind the async SQL port, through node-postgres (`pg`): a pool of connections; a transaction takes one
// connection for its whole body. Statements are written with `?` placeholders (the SQLite form) and numbered here
// ($1, $2, …); BIGINT comes back as a JavaScript number (the coordinator's integers — ms timestamps, fencing tokens,
// counts — stay far below 2^53; a larger one is an error, never a silent rounding).
import pg from 'pg';
import type { SqlConnection, SqlExecutor, SqlValue } from './sql.js';
import { DatabaseError } from './database-error.js';

const INT8_OID = 20;

function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new DatabaseError(`integer ${text} does not fit a JavaScript number`);
  return n;
}

const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** `?` → `$n`, outside quoted strings and identifiers. */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = undefined;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else out += ch === '?' ? `$${++n}` : ch;
  }
  return out;
}

const values = (params: SqlValue[]) => params.map((v) => (typeof v === 'bigint' ? v.toString() : v));

/** Statements on a pool or on one client. */
function executor(q: pg.Pool | pg.PoolClient): SqlExecutor {
  const query = (sql: string, params: SqlValue[]) => q.query(numberPlaceholders(sql), values(params));
  return {
    run: async (sql, ...params) => ({ changes: (await query(sql, params)).rowCount ?? 0 }),
    get: async <T>(sql: string, ...params: SqlValue[]) => (await query(sql, params)).rows[0] as T | undefined,
    all: async <T>(sql: string, ...params: SqlValue[]) => (await query(sql, params)).rows as T[],
    exec: async (sql) => {
      await q.query(sql);
    },
  };
}

/** Key of the advisory lock migrators take (any constant; "sealfold" in ASCII). */
const MIGRATION_LOCK = 0x7365616c666f6c64n;

export class PostgresConnection implements SqlConnection {
  readonly engine = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly direct: SqlExecutor;
  private closed = false;

  constructor(url: string, options: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, types });
    // An idle client's error (e.g. the server restarting) must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.direct = executor(this.pool);
  }

  /** Connects once (so a wrong URL or a server that is down fails at start, with the server's reason). */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  run(sql: string, ...params: SqlValue[]): Promise<{ changes: number }> {
    return this.direct.run(sql, ...params);
  }
  get<T>(sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    return this.direct.get<T>(sql, ...params);
  }
  all<T>(sql: string, ...params: SqlValue[]): Promise<T[]> {
    return this.direct.all<T>(sql, ...params);
  }
  exec(sql: string): Promise<void> {
    return this.direct.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, lock?: bigint): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      if (lock !== undefined) await client.query('SELECT pg_advisory_xact_lock($1)', [lock.toString()]);
      try {
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }

  exclusive<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(fn, MIGRATION_LOCK);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
