import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { addGaussianNoise, clipL2, l2Norm, noiseShareStd, privatizeUpdate } from './dp.js';
import { CryptoUniform, GaussianSampler, SeededRng } from './rng.js';

const moments = (xs: Float32Array | number[]): { mean: number; variance: number } => {
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / xs.length;
  let v = 0;
  for (const x of xs) v += (x - mean) ** 2;
  return { mean, variance: v / (xs.length - 1) };
};

describe('clipL2', () => {
  it('bounds the norm by C, keeps the direction, and leaves small updates alone', () => {
    fc.assert(
      fc.property(
        fc.float32Array({ minLength: 1, maxLength: 200, min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true }),
        fc.double({ min: 1e-3, max: 100, noNaN: true }),
        (u, c) => {
          const { clipped, norm, scale } = clipL2(u, c);
          expect(l2Norm(clipped)).toBeLessThanOrEqual(c);
          if (norm <= c) expect([...clipped]).toEqual([...u]);
          else {
            expect(l2Norm(clipped)).toBeCloseTo(c, 3);
            let worst = 0;
            for (let i = 0; i < u.length; i++) worst = Math.max(worst, Math.abs(clipped[i] - u[i] * scale));
            expect(worst).toBeLessThan(1e-5);
          }
        },
      ),
    );
  });

  it('clips a hand example: [3, 4] to norm 1 → [0.6, 0.8]', () => {
    const { clipped, norm } = clipL2(Float32Array.from([3, 4]), 1);
    expect(norm).toBe(5);
    expect(clipped[0]).toBeCloseTo(0.6, 5);
    expect(clipped[1]).toBeCloseTo(0.8, 5);
    expect(() => clipL2(Float32Array.from([1]), 0)).toThrow('clipNorm');
    expect(() => clipL2(Float32Array.from([Infinity]), 1)).toThrow('non-finite');
  });
});

describe('Gaussian noise', () => {
  it('seeded samples have mean 0 and variance 1 (loose), and repeat for the same seed', () => {
    const g = new GaussianSampler(new SeededRng(11));
    const xs = Array.from({ length: 200_000 }, () => g.next());
    const { mean, variance } = moments(xs);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    // tails: P(|Z| > 2) = 0.0455
    const tail = xs.filter((x) => Math.abs(x) > 2).length / xs.length;
    expect(Math.abs(tail - 0.0455)).toBeLessThan(0.003);
    const h = new GaussianSampler(new SeededRng(11));
    expect(h.next()).toBe(xs[0]);
  });

  it('crypto samples have variance 1 and differ run to run', () => {
    const a = addGaussianNoise(new Float32Array(100_000), 1);
    const b = addGaussianNoise(new Float32Array(100_000), 1);
    expect(Math.abs(moments(a).variance - 1)).toBeLessThan(0.03);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(false);
    const u = new CryptoUniform();
    const xs = Array.from({ length: 1000 }, () => u.nextFloat());
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('m owners’ shares of σC/√m sum to variance σ²C² (and s > m contributors to more)', () => {
    const sigma = 1.2;
    const c = 0.5;
    const t = 4;
    const std = noiseShareStd(sigma, c, t);
    expect(std).toBeCloseTo((1.2 * 0.5) / 2, 12);
    const dim = 50_000;
    const sumOf = (owners: number): Float32Array => {
      const acc = new Float32Array(dim);
      for (let o = 0; o < owners; o++) {
        const n = addGaussianNoise(new Float32Array(dim), std, { seed: `owner-${o}` });
        for (let i = 0; i < dim; i++) acc[i] += n[i];
      }
      return acc;
    };
    expect(moments(sumOf(t)).variance / (sigma * c) ** 2).toBeCloseTo(1, 1);
    expect(moments(sumOf(6)).variance / (sigma * c) ** 2).toBeCloseTo(1.5, 1);
  });

  it('privatizeUpdate clips then adds the share (seeded for the test)', () => {
    const u = Float32Array.from({ length: 1000 }, (_, i) => (i % 2 ? 1 : -1));
    const { noised, norm, std } = privatizeUpdate(u, { clipNorm: 1, noiseMultiplier: 0, minContributors: 3 });
    expect(norm).toBeCloseTo(Math.sqrt(1000), 6);
    expect(std).toBe(0);
    expect(l2Norm(noised)).toBeLessThanOrEqual(1);
    const seeded = privatizeUpdate(u, { clipNorm: 1, noiseMultiplier: 2, minContributors: 4, seed: 5 });
    expect(seeded.std).toBe(1);
    const residual = seeded.noised.map((x, i) => x - noised[i]);
    expect(moments(residual).variance).toBeGreaterThan(0.8);
    expect(moments(residual).variance).toBeLessThan(1.2);
  });
});
