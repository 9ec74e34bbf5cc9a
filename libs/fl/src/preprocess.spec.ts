import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { inspectCsv, toDense } from '@sealfold/dataset';
import { computeJobSchema, type DatasetSchemaInput } from '@sealfold/protocol';
import {
  STATS_BITS,
  STATS_CLIP,
  SchemaMappingError,
  addStatistics,
  encodeRows,
  labelCounts,
  labelPriorRatio,
  encodingFromStatistics,
  localStatistics,
  majorityBaseline,
  mapToJobSchema,
  rawRowsFromRecords,
  statisticsFromSum,
  statisticsInput,
  type SourceTable,
} from './preprocess.js';

/** A table with a numeric `w` (thousands), a numeric `s` (near 20), a categorical `o` and label `y`. */
function table(
  rows: { w: number; s: number; o: string; y: string }[],
  levels: string[],
  classes: string[],
): SourceTable {
  const schema: DatasetSchemaInput = {
    label: 'y',
    columns: [
      { name: 'w', type: 'float' },
      { name: 's', type: 'integer' },
      { name: 'o', type: 'categorical', levels },
      { name: 'y', type: 'categorical', levels: classes },
    ],
  };
  const width = 2 + levels.length;
  const features = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    features[i * width] = r.w;
    features[i * width + 1] = r.s;
    features[i * width + 2 + levels.indexOf(r.o)] = 1;
  });
  return {
    schema,
    rows: rows.length,
    features,
    featureNames: ['w', 's', ...levels.map((l) => `o=${l}`)],
    labels: Int32Array.from(rows.map((r) => classes.indexOf(r.y))),
    classes,
  };
}

/** What SecAgg+ computes for weight-1 inputs: L = (x + c)(2^q − 1)/(2c) per silo, then Σ L · step − c · n. */
function secureSum(inputs: { update: Float32Array }[]): Float64Array {
  const q = 2 ** STATS_BITS - 1;
  const out = new Float64Array(inputs[0].update.length);
  for (const { update } of inputs)
    update.forEach((x, i) => {
      const level = ((x + STATS_CLIP) * q) / (2 * STATS_CLIP);
      expect(Number.isInteger(level)).toBe(true); // the digit is an exact level: no rounding error
      out[i] += level;
    });
  const step = (2 * STATS_CLIP) / q;
  return out.map((s) => s * step - STATS_CLIP * inputs.length);
}

const a = table(
  [
    { w: 3504, s: 12, o: 'USA', y: 'four' },
    { w: 1835, s: 21, o: 'Japan', y: 'six' },
  ],
  ['Japan', 'USA'],
  ['six', 'four'],
);
const b = table([{ w: 2130, s: 14.5, o: 'Europe', y: 'eight' }], ['Europe'], ['eight']);

describe('mapToJobSchema', () => {
  const plan = computeJobSchema([
    { id: '1', schema: a.schema },
    { id: '2', schema: b.schema },
  ]);

  it('maps each silo onto the job order: class indices, level indices, feature order', () => {
    expect(plan.schema.classes).toEqual(['eight', 'four', 'six']);
    const raw = mapToJobSchema(a, plan.schema);
    expect(Array.from(raw.labels)).toEqual([1, 2]);
    expect(Array.from(raw.values)).toEqual([3504, 12, 2, 1835, 21, 1]); // o: Europe 0, Japan 1, USA 2
    expect(Array.from(mapToJobSchema(b, plan.schema).labels)).toEqual([0]);
  });

  it('refuses a schema it cannot map, naming the column', () => {
    const noW = { ...plan.schema, features: [...plan.schema.features, { name: 'mpg', type: 'numeric' as const }] };
    expect(() => mapToJobSchema(a, noW)).toThrow(SchemaMappingError);
    expect(() => mapToJobSchema(a, noW)).toThrow(/"mpg"/);
    const fewerLevels = {
      ...plan.schema,
      features: plan.schema.features.map((f) => (f.name === 'o' ? { ...f, levels: ['Europe'] } : f)),
    };
    expect(() => mapToJobSchema(a, fewerLevels)).toThrow(/column "o" has level "Japan"/);
    const fewerClasses = { ...plan.schema, classes: ['eight', 'four'] };
    try {
      mapToJobSchema(a, fewerClasses);
      throw new Error('mapped');
    } catch (error) {
      expect((error as SchemaMappingError).column).toBe('y');
    }
    const wrongType = {
      ...plan.schema,
      features: plan.schema.features.map((f) =>
        f.name === 'w' ? { name: 'w', type: 'categorical' as const, levels: ['x'] } : f,
      ),
    };
    expect(() => mapToJobSchema(a, wrongType)).toThrow(/column "w" is float here/);
  });

  it('reads the silo parser’s missing mask: a missing value is marked, and imputed from the global figures', () => {
    const missing = new Uint8Array(a.features.length);
    missing[2] = 1; // row 0, `o=Japan`: row 0 is USA, a mask on another level leaves it present
    missing[1] = 1; // row 0, `s`
    const raw = mapToJobSchema({ ...a, missing }, plan.schema);
    expect(Array.from(raw.missing)).toEqual([0, 1, 0, 0, 0, 0]);
    const stats = addStatistics(
      localStatistics(raw, plan.schema),
      localStatistics(mapToJobSchema(b, plan.schema), plan.schema),
    );
    const s = stats.features[1];
    expect(s).toEqual({ type: 'numeric', count: 2, missing: 1, sum: 35.5, sumSquares: 21 * 21 + 14.5 * 14.5 });
    const enc = encodingFromStatistics(plan.schema, stats);
    const encoded = encodeRows(raw, enc);
    expect(encoded.features[1]).toBe(0); // imputed with the mean: 0 after standardising
  });
});

describe('secure statistics', () => {
  const plan = computeJobSchema([
    { id: '1', schema: a.schema },
    { id: '2', schema: b.schema },
  ]);
  const raws = [a, b, a].map((t) => mapToJobSchema(t, plan.schema));

  it('the SecAgg+ sum of the silos’ inputs decodes to exactly the sum of their statistics', () => {
    const locals = raws.map((r) => localStatistics(r, plan.schema));
    const summed = statisticsFromSum(secureSum(locals.map((s) => statisticsInput(s, plan.schema))), 3, plan.schema);
    expect(summed).toEqual(locals.reduce(addStatistics));
    expect(majorityBaseline(summed)).toEqual({ classIndex: 1, accuracy: 2 / 5 });
  });

  it('property: exact for any values in range, signs and magnitudes mixed', () => {
    const value = fc.oneof(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.integer({ min: -30, max: 30 }).map((e) => 2 ** e),
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(value, { minLength: 1, maxLength: 8 }), { minLength: 3, maxLength: 6 }),
        (silos) => {
          const job = computeJobSchema([{ id: '1', schema: a.schema }]).schema;
          const locals = silos.map((vs) =>
            localStatistics(
              {
                rows: vs.length,
                values: Float64Array.from(vs.flatMap((v) => [v, 0, 0])),
                missing: new Uint8Array(vs.length * 3),
                labels: new Int32Array(vs.length),
              },
              job,
            ),
          );
          const summed = statisticsFromSum(secureSum(locals.map((s) => statisticsInput(s, job))), silos.length, job);
          const exact = locals.reduce(addStatistics);
          const w = summed.features[0];
          const e = exact.features[0];
          if (w.type !== 'numeric' || e.type !== 'numeric') throw new Error('layout');
          expect(w.count).toBe(e.count);
          expect(summed.labelCounts).toEqual(exact.labelCounts);
          // Fixed point at 2^-16 per silo and per row-sum, plus float64 rounding of large sums.
          expect(Math.abs(w.sum - e.sum)).toBeLessThanOrEqual(silos.length * 2 ** -16 + Math.abs(e.sum) * 1e-15);
          expect(Math.abs(w.sumSquares - e.sumSquares)).toBeLessThanOrEqual(
            silos.length * 2 ** -16 + e.sumSquares * 1e-15,
          );
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses a sum that is not an exact digit sum (a coordinator that tampers with it)', () => {
    const inputs = raws.map((r) => statisticsInput(localStatistics(r, plan.schema), plan.schema));
    const sum = secureSum(inputs);
    sum[3] += 0.5;
    expect(() => statisticsFromSum(sum, 3, plan.schema)).toThrow(/exact level sum/);
    expect(() => statisticsFromSum(secureSum(inputs), 2, plan.schema)).toThrow();
  });
});

describe('the encoding', () => {
  it('standardises with the pooled figures: the pooled encoded features have mean 0 and std 1', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.double({ min: 500, max: 5000, noNaN: true }), fc.double({ min: 8, max: 25, noNaN: true })),
          {
            minLength: 6,
            maxLength: 40,
          },
        ),
        (pairs) => {
          const rows = pairs.map(([w, s], i) => ({ w, s, o: i % 2 ? 'USA' : 'Japan', y: i % 3 ? 'four' : 'six' }));
          const t = table(rows, ['Japan', 'USA'], ['four', 'six']);
          const job = computeJobSchema([{ id: '1', schema: t.schema }]).schema;
          const raw = mapToJobSchema(t, job);
          const enc = encodingFromStatistics(job, localStatistics(raw, job));
          const x = encodeRows(raw, enc);
          for (const col of [0, 1]) {
            const v = Array.from({ length: raw.rows }, (_, r) => x.features[r * x.numFeatures + col]);
            const mean = v.reduce((p, q) => p + q, 0) / v.length;
            const sd = Math.sqrt(v.reduce((p, q) => p + (q - mean) ** 2, 0) / v.length);
            expect(Math.abs(mean)).toBeLessThan(1e-4);
            if (new Set(v.map((q) => q.toFixed(3))).size > 1) expect(Math.abs(sd - 1)).toBeLessThan(1e-3);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a date column is a day count: the sealed dense rows and raw rows given to predict read the same numbers', async () => {
    const csv = ['when,hp,y', '1970-01-01,130,a', '1976-07-04,,b', '1982-12-31,90,a', ',75,b', '1980-02-29,110,a'].join(
      '\n',
    );
    const bytes = new TextEncoder().encode(`${csv}\n`);
    const { schema } = await inspectCsv(bytes, { label: 'y' });
    expect(schema.columns[0].type).toBe('date');
    const dense = await toDense(bytes, schema);
    const source: SourceTable = { schema, ...dense };
    const job = computeJobSchema([{ id: '1', schema }]).schema;
    expect(job.features[0]).toEqual({ name: 'when', type: 'numeric', source: 'date' });
    const raw = mapToJobSchema(source, job);
    const days = [0, 2376, 4747, 0, 3711];
    expect(Array.from({ length: 5 }, (_, r) => raw.values[r * 2])).toEqual(days);
    expect(Array.from({ length: 5 }, (_, r) => raw.missing[r * 2])).toEqual([0, 0, 0, 1, 0]);
    const enc = encodingFromStatistics(job, localStatistics(raw, job));
    expect(enc.features[0]).toMatchObject({ name: 'when', type: 'numeric', source: 'date' });
    expect(enc.features[0].type === 'numeric' && enc.features[0].mean).toBeCloseTo((2376 + 4747 + 3711) / 4, 9);
    // model predict reads the raw strings (a date-time too) into the same layout and encodes them alike.
    const records = csv.split('\n').map((l) => l.split(','));
    const predicted = rawRowsFromRecords(records, enc);
    expect(Array.from(predicted.values)).toEqual(Array.from(raw.values));
    expect(Array.from(predicted.missing)).toEqual(Array.from(raw.missing));
    expect(encodeRows(predicted, enc).features).toEqual(encodeRows(raw, enc).features);
    const noon = rawRowsFromRecords(
      [
        ['hp', 'when'],
        ['1', '1970-01-02T12:00:00Z'],
      ],
      enc,
    );
    expect(noon.values[0]).toBe(1.5);
    expect(() =>
      rawRowsFromRecords(
        [
          ['hp', 'when'],
          ['1', '04/07/1976'],
        ],
        enc,
      ),
    ).toThrow(/row 2, column "when": "04\/07\/1976" is not an ISO 8601 date/);
  });

  it('encodes CSV records by column name for prediction and names a value it cannot read', () => {
    const job = computeJobSchema([{ id: '1', schema: a.schema }]).schema;
    const enc = encodingFromStatistics(job, localStatistics(mapToJobSchema(a, job), job));
    const raw = rawRowsFromRecords(
      [
        ['o', 'y', 's', 'w'],
        ['USA', 'six', '12', '3504'],
        ['', 'six', 'NA', '1835'],
      ],
      enc,
    );
    expect(Array.from(raw.values)).toEqual([3504, 12, 1, 1835, 0, 0]);
    expect(Array.from(raw.missing)).toEqual([0, 0, 0, 0, 1, 1]);
    expect(() =>
      rawRowsFromRecords(
        [
          ['w', 's', 'o'],
          ['1', '2', 'Mars'],
        ],
        enc,
      ),
    ).toThrow(/row 2, column "o"/);
    expect(() =>
      rawRowsFromRecords(
        [
          ['w', 'o'],
          ['1', 'USA'],
        ],
        enc,
      ),
    ).toThrow(/no column "s"/);
  });
});

describe('label shift', () => {
  it('labelPriorRatio: π_local/π_global per class, 0 for a class the owner lacks, all 1 for a matching mix', () => {
    // The owner: 30 of class 0, 10 of class 2; the federation: 100, 50, 50.
    const local = labelCounts(Int32Array.from([...Array(30).fill(0), ...Array(10).fill(2)]), 3);
    expect(local).toEqual([30, 0, 10]);
    const r = labelPriorRatio(local, [100, 50, 50]);
    expect(r[0]).toBeCloseTo(0.75 / 0.5, 12);
    expect(r[1]).toBe(0);
    expect(r[2]).toBeCloseTo(0.25 / 0.25, 12);
    expect(labelPriorRatio([5, 5], [50, 50])).toEqual([1, 1]);
    // Noised global counts below the owner's own are floored at them (finite ratios).
    expect(labelPriorRatio([4, 4], [-3, 8]).every(Number.isFinite)).toBe(true);
    expect(() => labelPriorRatio([1, 2], [1, 2, 3])).toThrow(/differ in length/);
  });
});
