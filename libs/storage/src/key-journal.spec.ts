import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyJournal } from './key-journal.js';

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
});
