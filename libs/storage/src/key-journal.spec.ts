import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyJournal, type KeyJournalOptions } from './key-journal.js';

const bytes = (...b: number[]) => new Uint8Array(b);

describe('KeyJournal', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-key-journal-'));
    file = join(dir, 'j');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the last record of a key wins; a delete shadows it; a restart reads the same', () => {
    const j = new KeyJournal(file);
    j.open();
    j.put('/a', bytes(1));
    j.put('/b', bytes(2));
    j.put('/a', bytes(3));
    j.delete('/b');
    expect(j.get('/a')).toEqual(bytes(3));
    expect(j.get('/b')).toBeNull();
    expect(j.get('/c')).toBeUndefined();
    j.close();
    const again = new KeyJournal(file);
    again.open();
    expect(again.get('/a')).toEqual(bytes(3));
    expect(again.get('/b')).toBeNull();
    again.close();
  });

  it('two writers on one file (two processes sharing a store) see each other, in file order', () => {
    const one = new KeyJournal(file);
    const two = new KeyJournal(file);
    one.open();
    two.open();
    one.put('/k', bytes(1));
    expect(two.get('/k')).toEqual(bytes(1));
    two.put('/k', bytes(2));
    expect(one.get('/k')).toEqual(bytes(2));
    one.delete('/k');
    expect(two.get('/k')).toBeNull();
    one.close();
    two.close();
  });

  it('an incomplete last record is not read until it is whole; a torn one is skipped once a record follows', () => {
    const j = new KeyJournal(file);
    j.open();
    j.put('/whole', bytes(1));
    j.close();
    const one = readFileSync(file);
    // A writer caught mid-record: the reader sees only the first record.
    appendFileSync(file, one.subarray(0, 7));
    const reader = new KeyJournal(file);
    reader.open();
    expect(reader.get('/whole')).toEqual(bytes(1));
    // The crash never finished that record; a later writer appends after it.
    const writer = new KeyJournal(file);
    writer.open();
    writer.put('/after', bytes(9));
    expect(reader.get('/after')).toEqual(bytes(9));
    writer.close();
    reader.close();
    const restarted = new KeyJournal(file);
    restarted.open();
    expect(restarted.get('/after')).toEqual(bytes(9));
    expect(restarted.get('/whole')).toEqual(bytes(1));
    restarted.close();
  });

  it('a damaged record (bit flip) is dropped, the records around it are kept', () => {
    const j = new KeyJournal(file);
    j.open();
    j.put('/first', bytes(1));
    const size = readFileSync(file).length;
    j.put('/second', bytes(2));
    j.put('/third', bytes(3));
    j.close();
    const all = readFileSync(file);
    all[size + 12] ^= 0x40; // inside /second's key
    writeFileSync(file, all);
    const r = new KeyJournal(file);
    r.open();
    expect(r.get('/first')).toEqual(bytes(1));
    expect(r.get('/second')).toBeUndefined();
    expect(r.get('/third')).toEqual(bytes(3));
    r.close();
  });

  it('property: any sequence of puts and deletes reads back as a Map would hold it, truncated tails included', () => {
    const op = fc.record({
      del: fc.boolean(),
      key: fc.constantFrom('/a', '/b', '/c', '/pinned-block/ü'),
      value: fc.uint8Array({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.nat(), (ops, cut) => {
        rmSync(file, { force: true });
        const j = new KeyJournal(file);
        j.open();
        const want = new Map<string, Uint8Array | null>();
        const sizes: number[] = [0];
        for (const o of ops) {
          if (o.del) j.delete(o.key);
          else j.put(o.key, o.value);
          want.set(o.key, o.del ? null : o.value);
          sizes.push(readFileSync(file).length);
        }
        j.close();
        const r = new KeyJournal(file);
        r.open();
        for (const [k, v] of want) expect(r.get(k)).toEqual(v);
        r.close();
        // Cut anywhere: exactly the records wholly before the cut are read.
        const at = sizes.length === 1 ? 0 : cut % (sizes[sizes.length - 1] + 1);
        truncateSync(file, at);
        const whole = sizes.filter((s) => s <= at).length - 1;
        const prefix = new Map<string, Uint8Array | null>();
        for (const o of ops.slice(0, whole)) prefix.set(o.key, o.del ? null : o.value);
        const t = new KeyJournal(file);
        t.open();
        for (const k of ['/a', '/b', '/c', '/pinned-block/ü']) expect(t.get(k)).toEqual(prefix.get(k));
        t.close();
      }),
      { numRuns: 100 },
    );
  });

  describe('compaction', () => {
    /** A pid no process has now (a child that has exited). */
    const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

    /** What a fresh journal on `file` reads, as a Map. */
    const contents = (f = file, options?: KeyJournalOptions): Map<string, Uint8Array | null> => {
      const j = new KeyJournal(f, options);
      j.open();
      const out = new Map(j.all());
      j.close();
      return out;
    };

    it('once superseded records outnumber live ones by the margin: the live set alone, in a smaller file', () => {
      const j = new KeyJournal(file, { compactMargin: 20, keepDeletes: () => false });
      j.open();
      const want = new Map<string, Uint8Array>();
      for (let i = 0; i < 40; i++) {
        j.put(`/k${i % 3}`, bytes(i));
        want.set(`/k${i % 3}`, bytes(i));
      }
      // Compacted when 3 keys were live and 23 records dead (a record is 19 bytes here): fewer than 20 are left.
      expect(readFileSync(file).length).toBeLessThan(19 * 20);
      j.put('/gone', bytes(7));
      j.delete('/gone');
      expect(j.get('/k0')).toEqual(want.get('/k0'));
      j.close();
      expect(contents()).toEqual(new Map([...want, ['/gone', null]]));
      // More churn: compacted again, the delete dropped (keepDeletes false) as if never written.
      const again = new KeyJournal(file, { compactMargin: 20, keepDeletes: () => false });
      again.open();
      for (let i = 0; i < 40; i++) again.put('/k0', bytes(i));
      again.close();
      want.set('/k0', bytes(39));
      expect(contents()).toEqual(want);
      expect(readdirSync(dir).sort()).toEqual(['j', 'j.users']);
      expect(readdirSync(join(dir, 'j.users'))).toEqual([]);
    });

    it('keeps deletes when told to (they shadow older storage of their keys)', () => {
      const j = new KeyJournal(file, { compactMargin: 5, keepDeletes: () => true });
      j.open();
      j.put('/a', bytes(1));
      j.delete('/a');
      for (let i = 0; i < 20; i++) j.put('/b', bytes(i));
      j.close();
      expect(readFileSync(file).length).toBeLessThan(5 * 25);
      expect(contents()).toEqual(
        new Map([
          ['/a', null],
          ['/b', bytes(19)],
        ]),
      );
    });

    it('property: a compaction killed at any point leaves a journal that reads as before, and compacts later', () => {
      const op = fc.record({
        del: fc.boolean(),
        key: fc.constantFrom('/a', '/b', '/c', '/pinned-block/ü'),
        value: fc.uint8Array({ maxLength: 40 }),
      });
      const dead = deadPid();
      fc.assert(
        fc.property(fc.array(op, { maxLength: 30 }), fc.nat(), fc.boolean(), (ops, cut, renamed) => {
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir);
          const j = new KeyJournal(file);
          j.open();
          for (const o of ops) {
            if (o.del) j.delete(o.key);
            else j.put(o.key, o.value);
          }
          j.close();
          const want = contents();
          // The compacted journal, made in another directory from a copy.
          const copyDir = mkdtempSync(join(tmpdir(), 'sealfold-key-journal-copy-'));
          try {
            copyFileSync(file, join(copyDir, 'j'));
            const c = new KeyJournal(join(copyDir, 'j'));
            c.open();
            expect(c.compact()).toBe(true);
            c.close();
            const compacted = readFileSync(join(copyDir, 'j'));
            // The state a process killed during compaction leaves: its lock, and the new journal written up to any
            // byte (not yet renamed) or renamed into place (fsync'd before the rename).
            writeFileSync(`${file}.compact.lock`, String(dead));
            if (renamed) writeFileSync(file, compacted);
            else writeFileSync(`${file}.compact.tmp`, compacted.subarray(0, cut % (compacted.length + 1)));
          } finally {
            rmSync(copyDir, { recursive: true, force: true });
          }
          expect(contents()).toEqual(want);
          expect(existsSync(`${file}.compact.lock`)).toBe(false);
          expect(existsSync(`${file}.compact.tmp`)).toBe(false);
          const k = new KeyJournal(file);
          k.open();
          expect(k.compact()).toBe(true);
          k.put('/after', bytes(1));
          k.close();
          expect(contents()).toEqual(new Map([...want, ['/after', bytes(1)]]));
        }),
        { numRuns: 60 },
      );
    });

    it('property: journals sharing the file (other processes) never lose a record; compaction waits for them', () => {
      const step = fc.record({
        who: fc.nat({ max: 2 }),
        act: fc.constantFrom('put', 'put', 'put', 'delete', 'reopen'),
        key: fc.constantFrom('/a', '/b', '/c'),
        value: fc.nat({ max: 255 }),
      });
      fc.assert(
        fc.property(fc.array(step, { minLength: 30, maxLength: 80 }), (steps) => {
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir);
          const journals = [0, 1, 2].map(() => new KeyJournal(file, { compactMargin: 4, keepDeletes: () => false }));
          const open = [true, true, true];
          for (const j of journals) j.open();
          const want = new Map<string, Uint8Array | null>();
          for (const { who, act, key, value } of steps) {
            const j = journals[who];
            if (act === 'reopen') {
              if (open[who]) j.close();
              else j.open();
              open[who] = !open[who];
              continue;
            }
            if (act === 'put') j.put(key, bytes(value));
            else j.delete(key);
            want.set(key, act === 'put' ? bytes(value) : null);
            // Every journal, open or reopened, reads the same values.
            for (const other of journals)
              for (const k of ['/a', '/b', '/c']) expect(other.get(k) ?? null).toEqual(want.get(k) ?? null);
          }
          for (const j of journals) j.close();
          const read = contents(file);
          for (const k of ['/a', '/b', '/c']) expect(read.get(k) ?? null).toEqual(want.get(k) ?? null);
        }),
        { numRuns: 60 },
      );
    });

    it('a journal open in another process keeps the file from being compacted until that process is gone', async () => {
      const child = spawn(
        process.execPath,
        [
          '--experimental-transform-types',
          '--no-warnings',
          '--input-type=module',
          '-e',
          `const { KeyJournal } = await import(${JSON.stringify(join(process.cwd(), 'libs/storage/src/key-journal.ts'))});
           const j = new KeyJournal(${JSON.stringify(file)});
           j.open();
           j.put('/child', new Uint8Array([42]));
           console.log('open');
           setInterval(() => {}, 1000);`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout!.once('data', () => resolve());
          child.once('exit', (code) => reject(new Error(`child exited (${code})`)));
        });
        const j = new KeyJournal(file, { compactMargin: 1_000_000 });
        j.open();
        for (let i = 0; i < 10; i++) j.put('/k', bytes(i));
        expect(j.get('/child')).toEqual(bytes(42));
        expect(j.compact()).toBe(false);
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
        // Its registration is left behind, but its pid is dead.
        expect(j.compact()).toBe(true);
        expect(j.get('/child')).toEqual(bytes(42));
        j.close();
        expect(contents()).toEqual(
          new Map([
            ['/child', bytes(42)],
            ['/k', bytes(9)],
          ]),
        );
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});
