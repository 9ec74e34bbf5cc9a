import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FlError } from './errors.js';
import { EVAL_LOSS_CAP, evalFromSum, evalVector } from './secure-eval.js';
import { combineEval, type EvalSums } from './train.js';

const sumsArb = fc
  .record({ count: fc.integer({ min: 1, max: 5000 }), hit: fc.double({ min: 0, max: 1, noNaN: true }) })
  .chain(({ count, hit }) =>
    fc.record({
      count: fc.constant(count),
      correct: fc.constant(Math.floor(hit * count)),
      lossSum: fc.double({ min: 0, max: EVAL_LOSS_CAP * count, noNaN: true }),
    }),
  );

describe('secure federated evaluation vector', () => {
  it('the weighted sum of the silos’ vectors gives combineEval’s accuracy and loss', () => {
    fc.assert(
      fc.property(fc.array(sumsArb, { minLength: 1, maxLength: 12 }), (silos: EvalSums[]) => {
        const sum = [0, 0];
        let totalWeight = 0;
        for (const s of silos) {
          const { update, weight } = evalVector(s, 10_000);
          expect(weight).toBe(s.count);
          for (const x of update) expect(Math.abs(x)).toBeLessThanOrEqual(1);
          sum[0] += weight * update[0];
          sum[1] += weight * update[1];
          totalWeight += weight;
        }
        const expected = combineEval(silos);
        const got = evalFromSum(sum, totalWeight)!;
        expect(got.count).toBe(expected.count);
        expect(got.accuracy).toBeCloseTo(expected.accuracy, 5);
        expect(got.loss).toBeCloseTo(expected.loss, 4);
      }),
    );
  });

  it('caps the loss, bounds the weight, and refuses malformed sums', () => {
    const big = evalVector({ count: 10, correct: 4, lossSum: 10 * 100 }, 4);
    expect(big.weight).toBe(4);
    expect(evalFromSum(big.update, 1)).toEqual({ accuracy: expect.closeTo(0.4, 6), loss: EVAL_LOSS_CAP, count: 1 });
    expect(evalVector({ count: 0, correct: 0, lossSum: 0 }, 5)).toEqual({ update: new Float32Array(2), weight: 0 });
    expect(evalFromSum([0, 0], 0)).toBeUndefined();
    expect(() => evalVector({ count: 2, correct: 3, lossSum: 0 }, 5)).toThrow(FlError);
    expect(() => evalVector({ count: 2, correct: 1, lossSum: Number.NaN }, 5)).toThrow(FlError);
    expect(() => evalVector({ count: 2, correct: 1, lossSum: 1 }, 0)).toThrow(FlError);
    expect(() => evalFromSum([0], 1)).toThrow(FlError);
  });
});
