import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SecAggError } from './errors.js';
import {
  defaultNeighbourhood,
  defaultThreshold,
  deriveRoundParams,
  makeParams,
  quantisationBits,
  validateParams,
} from './params.js';

const base = { n: 10, d: 5, clip: 1, bits: 8, maxWeight: 100 };

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof SecAggError ? err.code : `not a SecAggError: ${String(err)}`;
  }
  return undefined;
};

describe('params', () => {
  it('derives k = 2⌈log2 n⌉ + 1 capped at n − 1 (odd) and t = ⌊k/2⌋ + 1', () => {
    expect([3, 4, 5, 10, 11, 100, 1000].map(defaultNeighbourhood)).toEqual([3, 3, 3, 9, 9, 15, 21]);
    expect([3, 9, 15, 21].map(defaultThreshold)).toEqual([2, 5, 8, 11]);
    expect(makeParams({ ...base, n: 100 })).toMatchObject({ k: 15, t: 8 });
  });

  it('default k is odd, within [3, n] and t a strict majority, for every n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 65_535 }), (n) => {
        const p = makeParams({ ...base, n, maxWeight: 1 });
        expect(p.k % 2).toBe(1);
        expect(p.k).toBeGreaterThanOrEqual(3);
        expect(p.k).toBeLessThanOrEqual(Math.min(n, 255));
        expect(p.t * 2).toBeGreaterThan(p.k);
      }),
    );
  });

  it('refuses bad k, t, d, clip, bits, maxWeight', () => {
    const bad = [
      { n: 2 },
      { k: 4 },
      { k: 1 },
      { k: 11 },
      { t: 4, k: 9 }, // t ≤ k/2
      { t: 10, k: 9 },
      { d: 0 },
      { d: 1.5 },
      { clip: 0 },
      { clip: Number.POSITIVE_INFINITY },
      { clip: Number.NaN },
      { bits: 0 },
      { bits: 32 },
      { maxWeight: 0 },
      { maxWeight: 2.5 },
    ];
    for (const b of bad) expect([b, code(() => makeParams({ ...base, ...b }))]).toEqual([b, 'INVALID_PARAMS']);
  });

  it('allows exactly n·maxWeight·(2^q − 1) ≤ 2^32 − 1 and refuses one more', () => {
    // 2^32 − 1 = (2^8 − 1) · 257 · 65537: n = 257, maxWeight = 65537, q = 8 hits the bound exactly.
    const exact = { n: 257, k: 3, t: 2, d: 1, clip: 1, bits: 8, maxWeight: 65_537 };
    expect(257 * exact.maxWeight * (2 ** 8 - 1)).toBe(2 ** 32 - 1);
    expect(validateParams(exact)).toMatchObject(exact);
    expect(code(() => validateParams({ ...exact, maxWeight: exact.maxWeight + 1 }))).toBe('INVALID_PARAMS');
    expect(code(() => validateParams({ ...exact, n: 258 }))).toBe('INVALID_PARAMS');
    expect(code(() => validateParams({ ...exact, bits: 9 }))).toBe('INVALID_PARAMS');
  });

  it('quantisationBits is the largest q within the exactness bound (≤ 16)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 10_000 }), fc.integer({ min: 1, max: 1_000_000 }), (n, w) => {
        const q = quantisationBits(n, w);
        if (q < 1) return n * w > 2 ** 31; // not even one bit fits
        expect(n * w * (2 ** q - 1)).toBeLessThanOrEqual(2 ** 32 - 1);
        if (q < 16) expect(n * w * (2 ** (q + 1) - 1)).toBeGreaterThan(2 ** 32 - 1);
      }),
    );
  });

  it('deriveRoundParams: t is the largest of the majority, the signed and the owner minimum; never above k', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 2000 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        (n, signed, policy) => {
          const input = { n, d: 10, clip: 1, maxWeight: 100, minContributors: signed, policyMinContributors: policy };
          const k = defaultNeighbourhood(n);
          const t = Math.max(defaultThreshold(k), signed, policy);
          if (t > k) expect(code(() => deriveRoundParams(input))).toBe('INVALID_PARAMS');
          else expect(deriveRoundParams(input)).toMatchObject({ n, k, t, bits: quantisationBits(n, 100) });
        },
      ),
    );
    expect(code(() => deriveRoundParams({ n: 2, d: 1, clip: 1, maxWeight: 1, minContributors: 0 }))).toBe(
      'INVALID_PARAMS',
    );
  });
});
