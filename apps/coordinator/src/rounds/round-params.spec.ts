import { describe, expect, it } from '@jest/globals';
import { deriveRoundParams } from '@sealfold/secagg';
import { roundParams } from './round-params.js';
import { JobStop } from './run-context.js';

/** The JobStop `fn` throws (fails the test when it throws nothing or something else). */
function stopOf(fn: () => unknown): JobStop {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(JobStop);
    return error as JobStop;
  }
  throw new Error('no JobStop thrown');
}

describe('roundParams', () => {
  it('is the derivation every silo repeats (libs/secagg deriveRoundParams)', () => {
    for (const [n, minContributors] of [
      [3, 0],
      [6, 3],
      [20, 5],
    ]) {
      const input = { n, d: 1234, clip: 0.5, maxWeight: 1000, minContributors };
      expect(roundParams(n, 1234, 0.5, 1000, minContributors)).toEqual(deriveRoundParams(input));
    }
    expect(roundParams(6, 10, 1, 1, 3)).toMatchObject({ n: 6, k: 5, t: 3, bits: 16 });
  });

  it('fails the job when the signed minimum cannot be met by this many members', () => {
    const tooFew = stopOf(() => roundParams(2, 10, 1, 1, 0));
    expect(tooFew).toMatchObject({ kind: 'failed', code: 'PARAMS_INFEASIBLE' });
    expect(tooFew.message).toMatch(/n must be an integer ≥ 3 \(got 2\)/);
    const threshold = stopOf(() => roundParams(3, 10, 1, 1, 4));
    expect(threshold).toMatchObject({ kind: 'failed', code: 'PARAMS_INFEASIBLE' });
    expect(threshold.message).toMatch(/threshold of 4 contributors/);
  });

  it('fails the job when n × maxWeight leave fewer than 8 quantisation bits', () => {
    expect(roundParams(3, 10, 1, 5_000_000, 0).bits).toBe(8);
    const stop = stopOf(() => roundParams(3, 10, 1, 10_000_000, 0));
    expect(stop).toMatchObject({ kind: 'failed', code: 'PARAMS_INFEASIBLE' });
    expect(stop.message).toBe('3 silos × maxWeight 10000000 leave 7 quantisation bits');
  });
});
