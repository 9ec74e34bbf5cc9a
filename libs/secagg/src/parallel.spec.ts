import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { addMasksParallel, closeMaskWorkers, maskedInputParallel } from './parallel.js';
import { addMask, addMasks, expandMask, type MaskTerm } from './prg.js';
import { quantiseWeighted } from './quantize.js';

const randomTerms = (count: number): MaskTerm[] =>
  Array.from({ length: count }, (_, i) => ({ key: new Uint8Array(randomBytes(32)), sign: i % 3 ? 1 : -1 }));

describe('mask removal', () => {
  afterAll(closeMaskWorkers);
  const terms = randomTerms(11); // groups of four and a remainder, of both signs

  it('addMasks (streamed, chunked, four masks per pass) equals adding each whole mask', () => {
    for (const length of [1, 3, 16_384, 16_385, 40_001]) {
      const start = Uint32Array.from({ length }, (_, i) => i * 2654435761);
      const a = Uint32Array.from(start);
      const b = Uint32Array.from(start);
      for (const t of terms) addMask(a, t.key, t.sign);
      addMasks(b, terms);
      expect(b).toEqual(a);
    }
  });

  it('addMasks over a word range seeks the keystream: ranges compose to the whole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 0, max: 20_000 }),
        (count, a, b) => {
          const ts = randomTerms(count);
          const length = 20_003;
          const cut = Math.min(4 * Math.floor(Math.min(a, b) / 4), length);
          const whole = new Uint32Array(length);
          const parts = new Uint32Array(length);
          addMasks(whole, ts);
          addMasks(parts, ts, 0, cut);
          addMasks(parts, ts, cut, length);
          expect(parts).toEqual(whole);
        },
      ),
      { numRuns: 20 },
    );
    expect(() => addMasks(new Uint32Array(8), terms, 2)).toThrow(RangeError);
  });

  it('the worker pool seeks the AES-CTR stream and gives the same sum, in place on shared memory too', async () => {
    for (const [length, threads] of [
      [8192, 2],
      [50_003, 3],
      [100_001, 2],
      [400_001, 3],
    ]) {
      const start = Uint32Array.from({ length }, (_, i) => i ^ 0x5a5a5a5a);
      const a = Uint32Array.from(start);
      const b = Uint32Array.from(start);
      const shared = new Uint32Array(new SharedArrayBuffer(4 * length));
      shared.set(start);
      addMasks(a, terms);
      await addMasksParallel(b, terms, threads, 0);
      await addMasksParallel(shared, terms, threads, 0);
      expect(b).toEqual(a);
      expect(Uint32Array.from(shared)).toEqual(a);
    }
  });

  it('rejects a malformed key in the pool path as in the thread', async () => {
    const bad: MaskTerm[] = [...terms, { key: new Uint8Array(16), sign: 1 }];
    await expect(addMasksParallel(new Uint32Array(100_000), bad, 2, 0)).rejects.toThrow(RangeError);
    expect(() => addMasks(new Uint32Array(10), bad)).toThrow(RangeError);
  });

  it("the fused masked input equals quantising with the rounding key's keystream, then adding every mask", async () => {
    for (const [d, threads] of [
      [5, 1],
      [16_383, 1],
      [16_384, 2],
      [40_000, 3],
      [100_003, 2],
      [300_001, 3],
    ]) {
      const params = { clip: 0.5, bits: 12, d, maxWeight: 9 };
      const update = Float32Array.from({ length: d }, (_, i) => (i % 7 === 3 ? Number.NaN : Math.sin(i) * 0.7));
      const roundingKey = new Uint8Array(randomBytes(32));
      const expected = quantiseWeighted(update, 7, params, undefined, expandMask(roundingKey, d));
      addMasks(expected, terms);
      const fused = await maskedInputParallel(update, 7, params, terms, threads, { minWords: 0, roundingKey });
      expect(Uint32Array.from(fused)).toEqual(expected);
    }
  });

  it('the fused masked input refuses a bad weight, length or key before any work', async () => {
    const params = { clip: 1, bits: 8, d: 3, maxWeight: 5 };
    await expect(maskedInputParallel([0, 0, 0], 6, params, terms, 2)).rejects.toThrow(/weight/);
    await expect(maskedInputParallel([0, 0], 1, params, terms, 2)).rejects.toThrow(/expected 3/);
    await expect(maskedInputParallel([0, 0, 0], 1, params, [{ key: new Uint8Array(31), sign: 1 }], 2)).rejects.toThrow(
      RangeError,
    );
  });
});
