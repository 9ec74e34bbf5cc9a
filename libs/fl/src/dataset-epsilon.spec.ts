import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { gaussianEpsilon, recordLevelEpsilon, recordLevelJobEpsilon, releasesEpsilon } from './accountant.js';
import {
  allReleases,
  datasetEpsilon,
  datasetNoiseMultiplier,
  planDatasetDp,
  plannedDatasetEpsilon,
  type DatasetDpTerms,
} from './dataset-epsilon.js';
import { STATISTICS_EPSILON_SHARE } from './statistics-dp.js';

const RECORD: DatasetDpTerms = {
  level: 'record',
  noiseMultiplier: 1.1,
  delta: 1e-5,
  rounds: 3,
  trainRows: 900,
  batchSize: 32,
  localEpochs: 2,
};
const OWNER: DatasetDpTerms = { level: 'owner', noiseMultiplier: 3, delta: 1e-5, rounds: 3 };

describe('the ε a dataset is charged for a job (statistics ∘ training ∘ evaluations)', () => {
  it('no noise: no plan, Infinity', () => {
    expect(planDatasetDp({ ...RECORD, noiseMultiplier: 0 })).toBeUndefined();
    expect(planDatasetDp({ ...OWNER, delta: 0 })).toBeUndefined();
    expect(datasetEpsilon(undefined, allReleases(3))).toBe(Infinity);
    expect(plannedDatasetEpsilon({ ...RECORD, noiseMultiplier: 0 })).toBe(Infinity);
  });

  it('without the statistics release it is exactly the accountant ε the silo charged before', () => {
    const plan = planDatasetDp(RECORD)!;
    const schedule = { ...RECORD, rows: 900, batchSize: 32, localEpochs: 2 };
    expect(datasetEpsilon(plan, { train: 2, eval: 1, statistics: 0 })).toBe(
      recordLevelJobEpsilon({
        ...schedule,
        evalNoiseMultiplier: plan.evalNoiseMultiplier,
        trainRounds: 2,
        evalRounds: 1,
      }),
    );
    expect(datasetEpsilon(plan, { train: 3, eval: 0, statistics: 0 })).toBe(recordLevelEpsilon(schedule));
    const owner = planDatasetDp(OWNER)!;
    expect(datasetEpsilon(owner, { train: 3, eval: 2, statistics: 0 })).toBe(releasesEpsilon(OWNER, 5));
  });

  it('the statistics alone cost their share of the training ε; the composed total is below the plain sum', () => {
    for (const terms of [RECORD, OWNER]) {
      const plan = planDatasetDp(terms)!;
      const stats = datasetEpsilon(plan, { train: 0, eval: 0, statistics: 1 });
      // Alone, on the RDP orders grid (record) or continuously (owner): within 2 % of the share.
      expect(stats).toBeLessThanOrEqual(STATISTICS_EPSILON_SHARE * plan.trainEpsilon * 1.02);
      expect(stats).toBeGreaterThan(0);
      const withoutStats = datasetEpsilon(plan, { ...allReleases(terms.rounds), statistics: 0 });
      const total = plannedDatasetEpsilon(terms);
      expect(total).toBeGreaterThan(withoutStats);
      expect(total).toBeLessThan(withoutStats + stats * 1.02);
    }
  });

  it('owner level composes the statistics as one more Gaussian of σ_stats', () => {
    const plan = planDatasetDp(OWNER)!;
    const sigma = 1 / Math.sqrt(6 / 9 + 1 / plan.statisticsNoiseMultiplier ** 2);
    expect(datasetEpsilon(plan, allReleases(3))).toBeCloseTo(
      gaussianEpsilon({ noiseMultiplier: sigma, rounds: 1, delta: 1e-5 }).epsilon,
      9,
    );
  });

  it('property: ε never falls when a release is added, and falls as σ grows', () => {
    const terms = fc.record({
      level: fc.constantFrom('record' as const, 'owner' as const),
      noiseMultiplier: fc.double({ min: 0.5, max: 4, noNaN: true }),
      rounds: fc.integer({ min: 1, max: 4 }),
      trainRows: fc.integer({ min: 200, max: 5000 }),
      batchSize: fc.integer({ min: 8, max: 64 }),
      localEpochs: fc.integer({ min: 1, max: 2 }),
    });
    fc.assert(
      fc.property(terms, fc.constantFrom('train', 'eval', 'statistics'), (t, kind) => {
        const dp = { ...t, delta: 1e-4 };
        const plan = planDatasetDp(dp)!;
        const before = { train: 1, eval: 1, statistics: 0 };
        const after = { ...before, [kind]: before[kind as keyof typeof before] + 1 };
        expect(datasetEpsilon(plan, after)).toBeGreaterThanOrEqual(datasetEpsilon(plan, before) * (1 - 1e-9));
        const noisier = plannedDatasetEpsilon({ ...dp, noiseMultiplier: dp.noiseMultiplier * 1.5 });
        expect(noisier).toBeLessThan(plannedDatasetEpsilon(dp));
      }),
      { numRuns: 25 },
    );
  });

  it('the planner’s σ meets the target with the statistics included, and a σ just below misses it', () => {
    for (const level of ['record', 'owner'] as const) {
      const { noiseMultiplier: _, ...rest } = level === 'record' ? RECORD : OWNER;
      const sigma = datasetNoiseMultiplier({ ...rest, targetEpsilon: 4 });
      expect(plannedDatasetEpsilon({ ...rest, noiseMultiplier: sigma })).toBeLessThanOrEqual(4);
      expect(plannedDatasetEpsilon({ ...rest, noiseMultiplier: sigma * (1 - 1e-3) })).toBeGreaterThan(4);
    }
  });
});
