import { describe, expect, it } from '@jest/globals';
import { gaussianEpsilon } from '@sealfold/fl';
import { EPSILON_UNBOUNDED_MILLI, dpParamsFromFloats } from '@sealfold/protocol';
import type { JobRecord } from '../jobs/jobs.repository.js';
import { epsilonSpentMilli } from './models.service.js';

const jobWith = (dp: Parameters<typeof dpParamsFromFloats>[0]) =>
  ({ request: { dp: dpParamsFromFloats(dp), datasets: [1n, 2n, 3n] } }) as unknown as JobRecord;

describe('ε recorded in ModelRegistry', () => {
  it('owner level: the 2 · rounds releases every silo reserves and books (an update and an evaluation per round)', () => {
    const dp = { noiseMultiplier: 1.1, clipNorm: 1, delta: 1e-5, level: 'owner' as const };
    const recorded = epsilonSpentMilli(jobWith(dp), 5);
    expect(recorded).toBe(Math.ceil(gaussianEpsilon({ ...dp, rounds: 10 }).epsilon * 1000));
    expect(recorded).toBeGreaterThan(Math.ceil(gaussianEpsilon({ ...dp, rounds: 5 }).epsilon * 1000));
  });

  it('EPSILON_UNBOUNDED_MILLI for a job without noise (no finite guarantee), never 0', () => {
    expect(epsilonSpentMilli(jobWith({ noiseMultiplier: 0, clipNorm: 0, delta: 0, level: 'owner' }), 5)).toBe(
      EPSILON_UNBOUNDED_MILLI,
    );
    // Record level without the datasets' row counts: no finite bound to record either.
    expect(epsilonSpentMilli(jobWith({ noiseMultiplier: 1, clipNorm: 1, delta: 1e-5, level: 'record' }), 5)).toBe(
      EPSILON_UNBOUNDED_MILLI,
    );
  });
});
