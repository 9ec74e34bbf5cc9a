import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SeededRng, permutation } from './rng.js';

describe('SeededRng (xoshiro128**)', () => {
  it('is reproducible per (seed, domain) and separates domains', () => {
    const draw = (r: SeededRng) => Array.from({ length: 8 }, () => r.nextUint32());
    expect(draw(new SeededRng(1))).toEqual(draw(new SeededRng(1)));
    expect(draw(new SeededRng(1))).not.toEqual(draw(new SeededRng(2)));
    expect(draw(new SeededRng(1, 'a'))).not.toEqual(draw(new SeededRng(1, 'b')));
    expect(() => new SeededRng(1.5)).toThrow(RangeError);
  });

  it('draws floats in [0, 1) and unbiased integers in [0, n)', () => {
    const r = new SeededRng('uniform');
    const counts = new Array<number>(7).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 70_000; i++) {
      const x = r.nextFloat();
      if (!(x >= 0 && x < 1)) outOfRange++;
      counts[r.nextInt(7)]++;
    }
    expect(outOfRange).toBe(0);
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('permutation returns each index exactly once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), (n, seed) => {
        const p = permutation(n, new SeededRng(seed));
        expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
    );
  });
});
