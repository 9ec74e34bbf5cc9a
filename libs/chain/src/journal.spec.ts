import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalWriter, encodeRecord, readJournal } from './journal.js';
import { JournalCorruptError } from './errors.js';

describe('journal framing (u32 length | u32 CRC-32 | JSON)', () => {
  let dir: string;
  let n = 0;
  const fresh = () => join(dir, `j${n++}.bin`);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-journal-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const record = fc.record({ t: fc.constantFrom('tx', 'mine', 'time'), v: fc.string(), n: fc.nat() });

  it('reads back exactly what was appended', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (records) => {
        const path = fresh();
        const w = new JournalWriter(path);
        for (const r of records) w.append(r);
        w.close();
        expect(readJournal(path)).toEqual({ records, droppedBytes: 0 });
      }),
      { numRuns: 50 },
    );
  });

  it('a file cut anywhere yields the intact prefix, drops the torn tail, and is repaired in place', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 10 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (records, at) => {
          const frames = records.map((r) => encodeRecord(r));
          const whole = Buffer.concat(frames);
          const cut = Math.floor(at * whole.length);
          const path = fresh();
          writeFileSync(path, whole.subarray(0, cut));
          // records wholly inside the cut survive
          let end = 0;
          let intact = 0;
          while (intact < frames.length && end + frames[intact].length <= cut) end += frames[intact++].length;
          const got = readJournal(path);
          expect(got.records).toEqual(records.slice(0, intact));
          expect(got.droppedBytes).toBe(cut - end);
          expect(statSync(path).size).toBe(end);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a flipped bit in the last record is a torn tail; in an earlier record it is corruption', () => {
    const path = fresh();
    const frames = [{ a: 1 }, { b: 2 }, { c: 3 }].map((r) => encodeRecord(r));
    const bytes = Buffer.concat(frames);
    const last = Buffer.from(bytes);
    last[bytes.length - 2] ^= 0x01;
    writeFileSync(path, last);
    expect(readJournal(path).records).toEqual([{ a: 1 }, { b: 2 }]);
    const first = Buffer.from(bytes);
    first[10] ^= 0x01;
    writeFileSync(path, first);
    expect(() => readJournal(path)).toThrow(JournalCorruptError);
    expect(readFileSync(path).length).toBe(bytes.length); // refused, not truncated
  });
});
