import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { quantisationStep } from './params.js';
import { dequantiseSum, quantiseWeighted } from './quantize.js';

describe('quantisation', () => {
  const arb = fc.record({
    clip: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
    bits: fc.integer({ min: 1, max: 20 }),
    weight: fc.integer({ min: 0, max: 2000 }),
    xs: fc.array(fc.double({ min: -2e3, max: 2e3, noNaN: true }), { minLength: 1, maxLength: 64 }),
  });

  it('error after dequantisation is below one step per unit weight, on the clipped value', () => {
    fc.assert(
      fc.property(arb, ({ clip, bits, weight, xs }) => {
        const p = { clip, bits, d: xs.length, maxWeight: 2000 };
        const q = quantiseWeighted(xs, weight, p);
        expect(q[xs.length]).toBe(weight);
        const back = dequantiseSum(q, p);
        const step = quantisationStep(p);
        xs.forEach((x, i) => {
          const clipped = Math.min(clip, Math.max(-clip, x));
          expect(q[i] % Math.max(weight, 1)).toBe(0);
          expect(q[i] / Math.max(weight, 1)).toBeLessThanOrEqual(2 ** bits - 1);
          expect(Math.abs(back[i] - weight * clipped)).toBeLessThanOrEqual(weight * step * (1 + 1e-9) + 1e-9 * clip);
        });
      }),
    );
  });

  it('stochastic rounding is unbiased: the mean over an even grid of random words is the exact level', () => {
    const p = { clip: 1, bits: 4, d: 1024, maxWeight: 1 };
    const x = 0.123456;
    const xs = new Array(p.d).fill(x);
    const grid = Uint32Array.from({ length: p.d }, (_, i) => Math.floor(((i + 0.5) / p.d) * 2 ** 32));
    const q = quantiseWeighted(xs, 1, p, undefined, grid);
    const mean = dequantiseSum(q, p).reduce((s, v) => s + v, 0) / p.d;
    expect(Math.abs(mean - x)).toBeLessThan(quantisationStep(p) / p.d + 1e-12);
  });

  it('maps NaN to 0 and ±∞ to the clipping bounds', () => {
    const p = { clip: 2, bits: 3, d: 3, maxWeight: 1 };
    const back = dequantiseSum(quantiseWeighted([Number.NaN, Infinity, -Infinity], 1, p), p);
    expect(back[1]).toBeCloseTo(2, 12);
    expect(back[2]).toBeCloseTo(-2, 12);
    expect(Math.abs(back[0])).toBeLessThanOrEqual(quantisationStep(p));
  });

  it('refuses a weight above maxWeight or a wrong length', () => {
    const p = { clip: 1, bits: 8, d: 2, maxWeight: 5 };
    expect(() => quantiseWeighted([0, 0], 6, p)).toThrow(/weight/);
    expect(() => quantiseWeighted([0, 0], 1.5, p)).toThrow(/weight/);
    expect(() => quantiseWeighted([0], 1, p)).toThrow(/expected 2/);
  });
});
