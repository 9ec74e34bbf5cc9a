import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  withFeatureRanges,
  JobSchemaError,
  computeJobSchema,
  jobSchemaHash,
  jobSchemaInputWidth,
  jobSchemaMismatch,
  parseJobSchema,
  type DatasetSchemaInput,
} from './job-schema.js';

const iris = (classes: string[]): DatasetSchemaInput => ({
  label: 'species',
  columns: [
    { name: 'sepal_length', type: 'float' },
    { name: 'sepal_width', type: 'float' },
    { name: 'species', type: 'categorical', levels: classes },
  ],
});

describe('computeJobSchema', () => {
  it('takes the union of classes in one sorted order, whatever each owner holds', () => {
    const plan = computeJobSchema([
      { id: '1', schema: iris(['versicolor', 'setosa']) },
      { id: '2', schema: iris(['virginica', 'setosa']) },
      { id: '3', schema: iris(['virginica', 'versicolor']) },
    ]);
    expect(plan.schema.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(plan.missingClasses).toEqual({ '1': ['virginica'], '2': ['versicolor'], '3': ['setosa'] });
    expect(plan.schema.features.map((f) => f.name)).toEqual(['sepal_length', 'sepal_width']);
    expect(plan.hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(jobSchemaInputWidth(plan.schema)).toBe(2);
  });

  it('keeps common columns by name, merges integer with float and unions categorical levels', () => {
    const a: DatasetSchemaInput = {
      label: 'y',
      columns: [
        { name: 'hp', type: 'integer' },
        { name: 'origin', type: 'categorical', levels: ['USA', 'Japan'] },
        { name: 'only_a', type: 'float' },
        { name: 'y', type: 'categorical', levels: ['a', 'b'] },
      ],
    };
    const b: DatasetSchemaInput = {
      label: 'y',
      columns: [
        { name: 'y', type: 'categorical', levels: ['b', 'c'] },
        { name: 'origin', type: 'categorical', levels: ['Europe'] },
        { name: 'hp', type: 'float' },
      ],
    };
    const plan = computeJobSchema([
      { id: '7', schema: a },
      { id: '8', schema: b },
    ]);
    expect(plan.schema.features).toEqual([
      { name: 'hp', type: 'numeric' },
      { name: 'origin', type: 'categorical', levels: ['Europe', 'Japan', 'USA'] },
    ]);
    expect(plan.dropped).toEqual([{ datasetId: '7', column: 'only_a', reason: 'not-in-every-dataset' }]);
    expect(jobSchemaInputWidth(plan.schema)).toBe(4);
  });

  it('drops a column whose type differs between owners and names it', () => {
    const b = iris(['a', 'b']);
    const conflicting: DatasetSchemaInput = {
      ...b,
      columns: b.columns.map((c) =>
        c.name === 'sepal_width' ? { name: c.name, type: 'categorical', levels: ['x'] } : c,
      ),
    };
    const plan = computeJobSchema([
      { id: '1', schema: b },
      { id: '2', schema: conflicting },
    ]);
    expect(plan.schema.features.map((f) => f.name)).toEqual(['sepal_length']);
    expect(plan.dropped).toContainEqual({ datasetId: '2', column: 'sepal_width', reason: 'type-conflict' });
  });

  it('drops what job schema v1 cannot encode (a hashed categorical, a date without its day count, an ignored column) instead of failing', () => {
    const b = iris(['a', 'b']);
    const extra: DatasetSchemaInput = {
      ...b,
      columns: [
        ...b.columns,
        { name: 'site', type: 'categorical', encoding: 'hash' },
        { name: 'seen', type: 'date', parts: ['year', 'month'] },
        { name: 'note', type: 'float', role: 'ignored' },
      ],
    };
    const plan = computeJobSchema([
      { id: '1', schema: extra },
      { id: '2', schema: extra },
    ]);
    expect(plan.schema.features.map((f) => f.name)).toEqual(['sepal_length', 'sepal_width']);
    for (const column of ['site', 'seen', 'note'])
      expect(plan.dropped).toContainEqual({ datasetId: '1', column, reason: 'not-encodable' });
  });

  it('encodes a date or date-time column as its day count (date and date-time meet), covered by the hash', () => {
    const b = iris(['a', 'b']);
    const withDate = (type: string, parts?: string[]): DatasetSchemaInput => ({
      ...b,
      columns: [...b.columns, { name: 'seen', type, ...(parts ? { parts } : {}) }],
    });
    const plan = computeJobSchema([
      { id: '1', schema: withDate('date') },
      { id: '2', schema: withDate('datetime', ['epochDays', 'year']) },
    ]);
    expect(plan.schema.features.at(-1)).toEqual({ name: 'seen', type: 'numeric', source: 'date' });
    expect(plan.dropped).toEqual([]);
    expect(jobSchemaInputWidth(plan.schema)).toBe(3);
    // The hash covers what the feature is: the same name as a plain number is another schema.
    const asNumber = {
      ...plan.schema,
      features: plan.schema.features.map((f) => (f.name === 'seen' ? { name: 'seen', type: 'numeric' as const } : f)),
    };
    expect(jobSchemaHash(asNumber)).not.toBe(plan.hash);
    // A date meeting a number is a type conflict, and a silo whose column is a number cannot map the date feature.
    const conflict = computeJobSchema([
      { id: '1', schema: withDate('date') },
      { id: '2', schema: withDate('float') },
    ]);
    expect(conflict.dropped).toContainEqual({ datasetId: '2', column: 'seen', reason: 'type-conflict' });
    expect(jobSchemaMismatch(plan.schema, withDate('float'))).toEqual({
      column: 'seen',
      message: 'column "seen" is float here; the job schema has it date',
    });
    expect(jobSchemaMismatch(plan.schema, withDate('datetime'))).toBeUndefined();
  });

  it('refuses datasets whose label columns differ, naming both', () => {
    const other = { ...iris(['a', 'b']), label: 'sepal_width' };
    other.columns = [
      { name: 'sepal_length', type: 'float' },
      { name: 'species', type: 'float' },
      { name: 'sepal_width', type: 'categorical', levels: ['a', 'b'] },
    ];
    expect(() =>
      computeJobSchema([
        { id: '1', schema: iris(['a', 'b']) },
        { id: '2', schema: other },
      ]),
    ).toThrow(/dataset 2 labels column "sepal_width"/);
  });

  it('refuses datasets with no feature in common', () => {
    const b: DatasetSchemaInput = {
      label: 'species',
      columns: [
        { name: 'other', type: 'float' },
        { name: 'species', type: 'categorical', levels: ['a', 'b'] },
      ],
    };
    expect(() =>
      computeJobSchema([
        { id: '1', schema: iris(['a', 'b']) },
        { id: '2', schema: b },
      ]),
    ).toThrow(JobSchemaError);
  });

  it('property: the classes and the hash do not depend on the order of datasets or of their levels', () => {
    const level = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'Z', 'é');
    const dataset = fc.uniqueArray(level, { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(fc.array(dataset, { minLength: 1, maxLength: 5 }), fc.integer(), (sets, seed) => {
        const all = new Set(sets.flat());
        fc.pre(all.size >= 2);
        const inputs = sets.map((levels, i) => ({ id: String(i), schema: iris(levels) }));
        const plan = computeJobSchema(inputs);
        expect(plan.schema.classes).toEqual([...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        const shuffled = [...inputs]
          .map((d, i) => ({
            d: { ...d, schema: iris([...d.schema.columns[2].levels!].reverse()) },
            k: (i * 7919 + seed) % 13,
          }))
          .sort((x, y) => x.k - y.k)
          .map((x) => x.d);
        expect(computeJobSchema(shuffled).hash).toBe(plan.hash);
        // Every owner's classes map into the job's order, and each class index is its place in the union.
        for (const levels of sets) for (const l of levels) expect(plan.schema.classes).toContain(l);
      }),
    );
  });

  it('property: any change to the schema changes its hash; parseJobSchema accepts what compute makes', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 3, maxLength: 6 }), (cls) => {
        const plan = computeJobSchema([{ id: '1', schema: iris(cls) }]);
        expect(jobSchemaHash(parseJobSchema(JSON.parse(JSON.stringify(plan.schema))))).toBe(plan.hash);
        const fewer = { ...plan.schema, classes: plan.schema.classes.slice(1) };
        expect(jobSchemaHash(fewer)).not.toBe(plan.hash);
      }),
    );
  });

  it('signs numeric feature ranges into the schema (a new hash), refusing a non-numeric feature or min ≥ max', () => {
    const plan = computeJobSchema([{ id: '1', schema: iris(['a', 'b']) }]);
    const numeric = plan.schema.features.find((f) => f.type === 'numeric')!.name;
    const ranged = withFeatureRanges(plan.schema, { [numeric]: [0, 8] });
    expect(ranged.features.find((f) => f.name === numeric)).toMatchObject({ range: [0, 8] });
    expect(jobSchemaHash(ranged)).not.toBe(plan.hash);
    // Without ranges the schema (and its hash) is what it always was.
    expect(jobSchemaHash(withFeatureRanges(plan.schema, {}))).toBe(plan.hash);
    expect(() => withFeatureRanges(plan.schema, { nope: [0, 1] })).toThrow(/"nope" is not a numeric feature/);
    expect(() => withFeatureRanges(plan.schema, { [numeric]: [3, 3] })).toThrow(/min < max/);
    expect(() =>
      parseJobSchema({ ...ranged, features: [{ name: 'x', type: 'numeric', range: [0, Infinity] }] }),
    ).toThrow(/range\.1/);
  });

  it('parseJobSchema refuses unsorted classes and names the field', () => {
    const plan = computeJobSchema([{ id: '1', schema: iris(['a', 'b']) }]);
    expect(() => parseJobSchema({ ...plan.schema, classes: ['b', 'a'] })).toThrow(/classes/);
  });
});
