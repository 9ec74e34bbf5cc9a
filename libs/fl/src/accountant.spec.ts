import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  RDP_ORDERS,
  dpSgdSchedule,
  epsilonFromRdp,
  exactGaussianEpsilon,
  gaussianEpsilon,
  gaussianRdp,
  jobEpsilon,
  noiseMultiplierFor,
  rdpToEpsilon,
  recordLevelEpsilon,
  recordLevelNoiseMultiplier,
  sampledGaussianEpsilon,
  sampledGaussianRdp,
  releasesEpsilon,
  releasesPerJob,
} from './accountant.js';

describe('Rényi-DP accountant', () => {
  it('gives α/(2σ²) per round (TF Privacy compute_rdp(q=1, σ=10, steps=1, α=20) = 0.1)', () => {
    expect(gaussianRdp(10, 20)).toBeCloseTo(0.1, 15);
    expect(gaussianRdp(2.71828, 3.14159)).toBeCloseTo(3.14159 / (2 * 2.71828 ** 2), 15);
  });

  it('matches dp_accounting: constant RDP 1.1 over orders 2..32 at δ=1e-5 → ε = 1.32783806176 at α = 32', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const { epsilon, order } = epsilonFromRdp(
      orders,
      orders.map(() => 1.1),
      1e-5,
    );
    expect(epsilon).toBeCloseTo(1.32783806176, 10);
    expect(order).toBe(32);
  });

  it('matches dp_accounting: σ = 4.530877117, one full-participation round, δ = 1e-6 → ε = 1', () => {
    expect(gaussianEpsilon({ noiseMultiplier: 4.530877117, rounds: 1, delta: 1e-6 }).epsilon).toBeCloseTo(1, 6);
  });

  it('matches the closed form of Mironov Prop. 3: ε = R/(2σ²) + 2√(R·ln(1/δ)/(2σ²))', () => {
    for (const [sigma, rounds, delta] of [
      [1, 1, 1e-5],
      [2.5, 50, 1e-6],
      [0.8, 10, 1e-3],
    ]) {
      const a = rounds / (2 * sigma * sigma);
      const closed = a + 2 * Math.sqrt(a * Math.log(1 / delta));
      const { epsilon, order } = gaussianEpsilon({ noiseMultiplier: sigma, rounds, delta, conversion: 'mironov' });
      expect(epsilon).toBeCloseTo(closed, 8);
      expect(order).toBeCloseTo(1 + Math.sqrt(Math.log(1 / delta) / a), 3);
    }
    expect(gaussianEpsilon({ noiseMultiplier: 1, rounds: 1, delta: 1e-5, conversion: 'mironov' }).epsilon).toBeCloseTo(
      5.298525912188081,
      8,
    );
  });

  it('the improved conversion is tighter than Mironov’s, and both bound the exact ε of the analytic Gaussian mechanism', () => {
    for (const [sigma, rounds, delta] of [
      [1, 1, 1e-5],
      [4, 100, 1e-5],
      [10, 1000, 1e-6],
      [1.1, 20, 1e-5],
    ]) {
      const improved = gaussianEpsilon({ noiseMultiplier: sigma, rounds, delta }).epsilon;
      const mironov = gaussianEpsilon({ noiseMultiplier: sigma, rounds, delta, conversion: 'mironov' }).epsilon;
      const exact = exactGaussianEpsilon({ noiseMultiplier: sigma, rounds, delta });
      expect(improved).toBeLessThan(mironov);
      expect(exact).toBeLessThanOrEqual(improved);
      expect(improved).toBeLessThan(1.5 * exact);
    }
  });

  it('the exact ε solves Balle & Wang’s δ(ε) (μ = 1: δ at ε = 1 is 0.1269)', () => {
    // δ(1) = Φ(−0.5) − e·Φ(−1.5) = 0.308538 − 2.718282·0.066807 = 0.126936
    expect(exactGaussianEpsilon({ noiseMultiplier: 1, rounds: 1, delta: 0.126936 })).toBeCloseTo(1, 3);
    // composition: 4 rounds at σ = 2 equal 1 round at σ = 1
    expect(exactGaussianEpsilon({ noiseMultiplier: 2, rounds: 4, delta: 1e-5 })).toBeCloseTo(
      exactGaussianEpsilon({ noiseMultiplier: 1, rounds: 1, delta: 1e-5 }),
      9,
    );
  });

  it('composes additively and grows with rounds', () => {
    const e = (r: number): number => gaussianEpsilon({ noiseMultiplier: 3, rounds: r, delta: 1e-5 }).epsilon;
    expect(e(0)).toBe(0);
    expect(e(1)).toBeLessThan(e(10));
    expect(e(10)).toBeLessThan(e(100));
    expect(rdpToEpsilon(gaussianRdp(3, 8) * 10, 8, 1e-5)).toBeGreaterThanOrEqual(e(10));
  });

  it('noiseMultiplierFor inverts gaussianEpsilon', () => {
    for (const [target, rounds, delta] of [
      [8, 20, 1e-5],
      [1, 1, 1e-6],
      [3, 200, 1e-5],
    ]) {
      const sigma = noiseMultiplierFor({ targetEpsilon: target, rounds, delta });
      const eps = gaussianEpsilon({ noiseMultiplier: sigma, rounds, delta }).epsilon;
      expect(eps).toBeLessThanOrEqual(target);
      expect(eps).toBeGreaterThan(target * 0.9999);
    }
    expect(noiseMultiplierFor({ targetEpsilon: 1, rounds: 1, delta: 1e-6 })).toBeCloseTo(4.530877117, 5);
    expect(() => noiseMultiplierFor({ targetEpsilon: 0, rounds: 1, delta: 1e-5 })).toThrow('targetEpsilon');
  });
});

describe('sampled-Gaussian RDP accountant (record level, Mironov, Talwar & Zhang 2019 §3)', () => {
  it('matches TF Privacy rdp_accountant_test: compute_rdp(q=0.1, σ=2, steps=10, α=5) = 0.07737', () => {
    expect(10 * sampledGaussianRdp(0.1, 2, 5)).toBeCloseTo(0.07737, 5);
  });

  it('matches TF Privacy / dp_accounting: q=0.01, σ=2.5, 50 steps at α = 1.5, 2.5, 5, 50, 100, ∞', () => {
    // tensorflow/privacy rdp_accountant_test.py test_compute_rdp_sequence: [0.00065, 0.001085, 0.00218075, 0.023846,
    // 167.416307, inf] to 1e-5; google/differential-privacy rdp_privacy_accountant_test.py
    // test_compute_rdp_poisson_sampled_gaussian gives 1.08548710e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2 to
    // rtol 1e-4 (its α = 1.5 value, 6.7058e-4, is a looser upper bound: numerical integration of A_α gives 6.50071e-4).
    const rdp = (a: number): number => 50 * sampledGaussianRdp(0.01, 2.5, a);
    expect(Math.abs(rdp(1.5) - 0.00065)).toBeLessThan(1e-5);
    expect(rdp(1.5)).toBeCloseTo(6.50071e-4, 8);
    for (const [a, want] of [
      [2.5, 1.0854871e-3],
      [5, 2.18075656e-3],
      [50, 2.38460375e-2],
      [100, 1.67416308e2],
    ])
      expect(Math.abs(rdp(a) - want) / want).toBeLessThan(1e-4);
    expect(rdp(Infinity)).toBe(Infinity);
  });

  it('matches Abadi et al. 2016 §3.1: q = 0.01, σ = 4, T = 10000, δ = 1e-5 → ε ≈ 1.26 (moments accountant)', () => {
    // The moments accountant is RDP at integer orders with Mironov's conversion.
    const orders = Array.from({ length: 63 }, (_, i) => i + 2);
    const { epsilon } = sampledGaussianEpsilon({
      sampleRate: 0.01,
      noiseMultiplier: 4,
      steps: 10000,
      delta: 1e-5,
      orders,
      conversion: 'mironov',
    });
    expect(epsilon).toBeCloseTo(1.26, 2);
    // The improved conversion over denser orders is tighter.
    expect(
      sampledGaussianEpsilon({ sampleRate: 0.01, noiseMultiplier: 4, steps: 10000, delta: 1e-5 }).epsilon,
    ).toBeLessThan(epsilon);
  });

  it('q = 1 is the plain Gaussian at every order, and its ε matches the continuous-order optimum', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.3, max: 50, noNaN: true }), fc.constantFrom(...RDP_ORDERS), (sigma, a) => {
        expect(sampledGaussianRdp(1, sigma, a)).toBe(gaussianRdp(sigma, a));
      }),
    );
    const discrete = sampledGaussianEpsilon({ sampleRate: 1, noiseMultiplier: 3, steps: 10, delta: 1e-5 }).epsilon;
    const continuous = gaussianEpsilon({ noiseMultiplier: 3, rounds: 10, delta: 1e-5 }).epsilon;
    expect(discrete).toBeGreaterThanOrEqual(continuous);
    expect(discrete).toBeLessThan(continuous * 1.001);
  });

  it('subsampling amplifies: the sampled RDP is at most the plain Gaussian RDP and grows with q', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 20, noNaN: true }),
        fc.double({ min: 1e-4, max: 0.99, noNaN: true }),
        fc.constantFrom(1.5, 2, 3.7, 8, 32),
        (sigma, q, a) => {
          const r = sampledGaussianRdp(q, sigma, a);
          expect(r).toBeLessThanOrEqual(gaussianRdp(sigma, a) * (1 + 1e-9));
          expect(sampledGaussianRdp(Math.min(1, q * 1.5), sigma, a)).toBeGreaterThanOrEqual(r * (1 - 1e-9));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('ε is monotone: non-decreasing in steps, non-increasing in σ', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.8, max: 10, noNaN: true }),
        fc.double({ min: 0.001, max: 0.5, noNaN: true }),
        fc.integer({ min: 1, max: 5000 }),
        (sigma, q, steps) => {
          const e = (s: number, t: number): number =>
            sampledGaussianEpsilon({ sampleRate: q, noiseMultiplier: s, steps: t, delta: 1e-5 }).epsilon;
          const base = e(sigma, steps);
          expect(e(sigma, steps + 1 + (steps >> 1))).toBeGreaterThanOrEqual(base);
          expect(e(sigma * 1.2, steps)).toBeLessThanOrEqual(base);
        },
      ),
      { numRuns: 15 },
    );
    expect(sampledGaussianEpsilon({ sampleRate: 0.1, noiseMultiplier: 1, steps: 0, delta: 1e-5 }).epsilon).toBe(0);
  });

  it('the schedule composes steps × local epochs × rounds with q = batch/rows', () => {
    expect(dpSgdSchedule({ rows: 180, batchSize: 32, localEpochs: 2, rounds: 15 })).toEqual({
      sampleRate: 32 / 180,
      stepsPerEpoch: 6,
      steps: 180,
    });
    expect(dpSgdSchedule({ rows: 10, batchSize: 32, localEpochs: 1, rounds: 1 }).sampleRate).toBe(1);
  });

  it('refuses δ ≥ 1/rows (a δ that large allows releasing a row outright)', () => {
    expect(() =>
      recordLevelEpsilon({ noiseMultiplier: 1, delta: 1e-2, rows: 200, batchSize: 32, localEpochs: 1, rounds: 1 }),
    ).toThrow('delta must be below 1/rows');
  });

  it('calibration: the proposed σ meets the target ε and is the smallest that does (to 1e-4)', () => {
    for (const target of [8, 2, 0.5]) {
      const p = { delta: 1e-5, rows: 1800, batchSize: 32, localEpochs: 2, rounds: 15 };
      const sigma = recordLevelNoiseMultiplier({ targetEpsilon: target, ...p });
      expect(recordLevelEpsilon({ ...p, noiseMultiplier: sigma })).toBeLessThanOrEqual(target);
      expect(recordLevelEpsilon({ ...p, noiseMultiplier: sigma * (1 - 2e-4) })).toBeGreaterThan(target);
    }
    expect(() =>
      recordLevelNoiseMultiplier({
        targetEpsilon: 0,
        delta: 1e-5,
        rows: 100,
        batchSize: 10,
        localEpochs: 1,
        rounds: 1,
      }),
    ).toThrow('targetEpsilon');
  });
});

describe('job ε (one definition for the silo ledger and ModelRegistry)', () => {
  it('a job of R rounds composes 2·R releases (training update and evaluation vector per round)', () => {
    const dp = { noiseMultiplier: 1.1, delta: 1e-5 };
    expect(releasesPerJob(3)).toBe(6);
    expect(jobEpsilon(dp, 3)).toBe(releasesEpsilon(dp, 6));
    expect(jobEpsilon(dp, 3)).toBe(gaussianEpsilon({ ...dp, rounds: 6 }).epsilon);
  });

  it('is unbounded without noise or with δ = 0 (the Gaussian mechanism gives no pure ε-DP)', () => {
    expect(jobEpsilon({ noiseMultiplier: 0, delta: 1e-5 }, 2)).toBe(Infinity);
    expect(jobEpsilon({ noiseMultiplier: 1, delta: 0 }, 2)).toBe(Infinity);
  });
});
