import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from '@jest/globals';
import { MigrationError, migrate, migrationSql, type Migration } from './migrate.js';

const M: Migration[] = [
  { version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER) STRICT' },
  { version: 2, name: 'b', sql: 'CREATE TABLE b (y INTEGER) STRICT' },
];
const tables = (db: DatabaseSync) =>
  db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name);

describe('sqlite migrations (one mechanism for the coordinator and the silo ledger)', () => {
  it('applies each migration once, in order, and records it', () => {
    const db = new DatabaseSync(':memory:');
    expect(migrate(db, M.slice(0, 1))).toEqual([1]);
    expect(migrate(db, M)).toEqual([2]);
    expect(migrate(db, M)).toEqual([]);
    expect(tables(db)).toEqual(['a', 'b', 'schema_migrations']);
    db.close();
  });

  it('a failing migration leaves nothing behind and is retried next time', () => {
    const db = new DatabaseSync(':memory:');
    const broken: Migration[] = [...M, { version: 3, name: 'c', sql: 'CREATE TABLE c (z INTEGER); SELECT nope()' }];
    expect(() => migrate(db, broken)).toThrow();
    expect(tables(db)).toEqual(['a', 'b', 'schema_migrations']);
    expect(migrate(db, [...M, { version: 3, name: 'c', sql: 'CREATE TABLE c (z INTEGER)' }])).toEqual([3]);
    db.close();
  });

  it('refuses a database newer than the code and migrations out of order', () => {
    const db = new DatabaseSync(':memory:');
    migrate(db, M);
    expect(() => migrate(db, M.slice(0, 1))).toThrow(MigrationError);
    expect(() => migrate(db, M.slice(0, 1))).toThrow(/newer than this code knows/);
    expect(() => migrate(new DatabaseSync(':memory:'), [M[1], M[0]])).toThrow(/strictly increasing/);
    db.close();
  });

  it('adopts a database that counted its migrations in PRAGMA user_version', () => {
    const db = new DatabaseSync(':memory:');
    db.exec(migrationSql(M[0], 'sqlite'));
    db.exec('PRAGMA user_version = 1');
    expect(migrate(db, M)).toEqual([2]);
    expect(
      db
        .prepare('SELECT version FROM schema_migrations ORDER BY version')
        .all()
        .map((r) => r.version),
    ).toEqual([1, 2]);
    db.close();
  });
});
