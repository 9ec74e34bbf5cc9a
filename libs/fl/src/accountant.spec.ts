import { describe, expect, it } from '@jest/globals';
import {
  epsilonFromRdp,
  exactGaussianEpsilon,
  gaussianEpsilon,
  gaussianRdp,
  noiseMultiplierFor,
  rdpToEpsilon,
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
