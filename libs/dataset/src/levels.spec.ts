import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { LevelTable } from './levels.js';

describe('LevelTable', () => {
  it('gives each distinct byte string one index in insertion order, like a Map (packed keys up to 4 bytes, two words up to 8, FNV beyond)', () => {
    fc.assert(
      fc.property(
        // Many keys over few byte values: keys of one length that share their first (or last) four bytes are common.
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 12, max: 2 }), { minLength: 20, maxLength: 400 }),
        fc.integer({ min: 1, max: 500 }),
        (keys, cap) => {
          const table = new LevelTable();
          const reference = new Map<string, number>();
          // All keys in one buffer at odd offsets, as the tokenizer hands them over.
          const buf = Buffer.concat(keys.map((k) => Buffer.concat([Buffer.from([9]), k])));
          let at = 0;
          for (const k of keys) {
            const s = at + 1;
            const e = s + k.length;
            at = e;
            const name = Buffer.from(k).toString('hex');
            const known = reference.get(name);
            const expected = known ?? (reference.size < cap ? reference.size : -1);
            if (known === undefined && expected >= 0) reference.set(name, expected);
            // indexOf: the index of a present key of up to 8 bytes with 8 bytes to read from its start (this buffer was
            // read by findOrAdd), else -1.
            const before = table.indexOf(buf, s, e);
            expect(before).toBe(known !== undefined && k.length <= 8 && s + 8 <= buf.length ? known : -1);
            expect(table.findOrAdd(buf, s, e, cap)).toBe(expected);
            expect(table.find(buf, s, e)).toBe(expected);
          }
          expect(table.size).toBe(reference.size);
          expect(table.entries().map((b) => b.toString('hex'))).toEqual([...reference.keys()]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tells apart short keys that differ only in length (zero bytes)', () => {
    const t = new LevelTable();
    const zeros = Buffer.alloc(8);
    expect([0, 1, 2, 3, 4, 5].map((n) => t.findOrAdd(zeros, 0, n, Infinity))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(t.find(zeros, 2, 5)).toBe(3);
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => t.indexOf(zeros, 0, n))).toEqual([0, 1, 2, 3, 4, 5, -1]);
    // A buffer findOrAdd has not read words from yet: indexOf leaves the key to findOrAdd.
    expect(t.indexOf(Buffer.alloc(8), 0, 2)).toBe(-1);
  });
});
