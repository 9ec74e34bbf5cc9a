import { describe, expect, it } from '@jest/globals';
import { allReleases, datasetEpsilon, gaussianEpsilon, planDatasetDp, plannedDatasetEpsilon } from '@sealfold/fl';
import { EPSILON_UNBOUNDED_MILLI, dpParamsFromFloats } from '@sealfold/protocol';
import type { JobRecord } from '../jobs/jobs.repository.js';
import { epsilonSpentMilli } from './models.service.js';

const jobWith = (dp: Parameters<typeof dpParamsFromFloats>[0]) =>
  ({
    request: {
      dp: dpParamsFromFloats(dp),
      datasets: [1n, 2n, 3n],
      rounds: 5,
      training: { batchSize: 16, localEpochs: 2 },
    },
  }) as unknown as JobRecord;

describe('ε recorded in ModelRegistry', () => {
  it('owner level: the statistics and the 2 · rounds releases every silo reserves and books', () => {
    const dp = { noiseMultiplier: 1.1, clipNorm: 1, delta: 1e-5, level: 'owner' as const };
    const recorded = epsilonSpentMilli(jobWith(dp), 5);
    expect(recorded).toBe(Math.ceil(plannedDatasetEpsilon({ ...dp, rounds: 5 }) * 1000));
    expect(recorded).toBeGreaterThan(Math.ceil(gaussianEpsilon({ ...dp, rounds: 10 }).epsilon * 1000));
    // Fewer rounds run than signed: the noise multipliers stay those of the signed rounds.
    const plan = planDatasetDp({ ...dp, rounds: 5 });
    expect(epsilonSpentMilli(jobWith(dp), 3)).toBe(
      Math.ceil(datasetEpsilon(plan, { train: 3, eval: 3, statistics: 1 }) * 1000),
    );
  });

  it('record level: the largest dataset ε, from each manifest’s row count (the silos’ training split)', () => {
    const dp = { noiseMultiplier: 1.1, clipNorm: 1, delta: 1e-5, level: 'record' as const };
    const rows = new Map([
      [1n, 1000],
      [2n, 400],
      [3n, 5000],
    ]);
    const recorded = epsilonSpentMilli(jobWith(dp), 5, (id) => rows.get(id));
    // 400 rows, 40 held out: the smallest training split has the largest ε.
    const smallest = plannedDatasetEpsilon({ ...dp, rounds: 5, trainRows: 360, batchSize: 16, localEpochs: 2 });
    expect(recorded).toBe(Math.ceil(smallest * 1000));
    expect(
      datasetEpsilon(
        planDatasetDp({ ...dp, rounds: 5, trainRows: 360, batchSize: 16, localEpochs: 2 }),
        allReleases(5),
      ),
    ).toBe(smallest);
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
