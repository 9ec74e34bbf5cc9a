import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FlError } from './errors.js';
import { fedAdamInit, fedAdamStep, fedAvgStep, meanUpdate, weightedSum } from './strategy.js';

const f32 = (...xs: number[]): Float32Array => Float32Array.from(xs);
const near = (actual: Float32Array, expected: number[], digits = 6): void => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));
};

describe('FedAvg', () => {
  it('weights updates by sample count (hand-computed)', () => {
    // owner A: 10 samples, Δ=[1, 0, -2]; owner B: 30 samples, Δ=[-1, 4, 2]
    const { sum, totalWeight } = weightedSum([
      { update: f32(1, 0, -2), weight: 10 },
      { update: f32(-1, 4, 2), weight: 30 },
    ]);
    near(sum, [-20, 120, 40]);
    expect(totalWeight).toBe(40);
    near(meanUpdate(sum, totalWeight), [-0.5, 3, 1]);
    near(fedAvgStep(f32(1, 1, 1), sum, totalWeight), [0.5, 4, 2]);
  });

  it('with one owner applies its update; with equal weights averages', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 1000 }),
        (xs, n) => {
          const g = new Float32Array(xs.length);
          const u = Float32Array.from(xs);
          near(
            fedAvgStep(
              g,
              Float32Array.from(xs, (x) => x * n),
              n,
            ),
            Array.from(u),
            4,
          );
        },
      ),
    );
  });

  it('rejects mismatched lengths and non-positive total weight', () => {
    expect(() => fedAvgStep(f32(1, 2), f32(1), 1)).toThrow(FlError);
    expect(() => fedAvgStep(f32(1), f32(1), 0)).toThrow(FlError);
    expect(() =>
      weightedSum([
        { update: f32(1), weight: 1 },
        { update: f32(1, 2), weight: 1 },
      ]),
    ).toThrow(FlError);
  });
});

describe('FedAdam (Reddi et al. 2021, Algorithm 2)', () => {
  it('matches two hand-computed steps and leaves its inputs untouched', () => {
    const s0 = fedAdamInit(2, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 0.01 });
    near(s0.v, [1e-4, 1e-4], 9);
    const g0 = f32(1, 2);
    // Δ = [0.4, -0.2] / 2
    const sum = f32(0.4, -0.2);
    const r1 = fedAdamStep(g0, sum, 2, s0);
    near(r1.state.m, [0.02, -0.01], 7);
    near(r1.state.v, [0.000499, 0.000199], 8);
    near(r1.weights, [1.0618461549, 1.9585178184]);
    expect(r1.state.round).toBe(1);
    const r2 = fedAdamStep(r1.weights, f32(0.3, 0.3), 3, r1.state);
    near(r2.state.m, [0.028, 0.001], 7);
    near(r2.state.v, [0.00059401, 0.00029701], 8);
    near(r2.weights, [1.1433070505, 1.9621897021]);
    expect([...g0]).toEqual([1, 2]);
    expect([...s0.m]).toEqual([0, 0]);
    expect(r1.state.round).toBe(1);
  });

  it('refuses state of another size', () => {
    expect(() => fedAdamStep(f32(1, 2, 3), f32(0, 0, 0), 1, fedAdamInit(2))).toThrow('WEIGHTS_MISMATCH');
    expect(() => fedAdamInit(2, { beta1: 1 })).toThrow(FlError);
  });
});
