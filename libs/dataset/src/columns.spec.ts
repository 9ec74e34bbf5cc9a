// Issue 13 §1–2: column types and roles, missing values as a masked state, and what the public schema holds.
import { expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { DatasetError } from './errors.js';
import { inspectCsv } from './inspect.js';
import { toDense, typedRows } from './records.js';
import { DEFAULT_MISSING_TOKENS, datasetSchemaJsonSchema, type DatasetSchema } from './schema.js';
import {
  booleanValue,
  dateParts,
  dateValue,
  datetimeValue,
  epochDays,
  isMissing,
  mayBeMissing,
  tokenLengths,
} from './values.js';
import { describeScans } from '../test/scan-modes.js';

const enc = (s: string) => new TextEncoder().encode(s);
/** A label column with two classes of `n` rows each, so k = 10 is met with n ≥ 10. */
const labels = (n: number) => Array.from({ length: 2 * n }, (_, i) => (i % 2 ? 'a' : 'b'));

describeScans('inference with missing values', () => {
  const numberArb = fc.oneof(
    fc.integer({ min: -1e6, max: 1e6 }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((d) => d.toFixed(3)),
  );
  it('never changes a column type because of missing tokens, and counts them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(numberArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...DEFAULT_MISSING_TOKENS)), { maxLength: 30 }),
        async (values, holes) => {
          const rows = (col: string[]) => col.map((v, i) => `${v},${i % 2 ? 'a' : 'b'}`).join('\n');
          const clean = await inspectCsv(enc(`x,y\n${rows(values)}\n`), { label: 'y', k: 1 });
          const holed = [...values];
          for (const [at, token] of holes) holed.splice(at % (holed.length + 1), 0, token);
          const withHoles = await inspectCsv(enc(`x,y\n${rows(holed)}\n`), { label: 'y', k: 1 });
          expect(withHoles.privateSchema.columns[0]).toEqual(clean.privateSchema.columns[0]);
          expect(withHoles.columns[0].missing).toBe(holes.length);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses a stray token in a numeric column with its line, column and what to do', async () => {
    const col = ['1.5', '2', 'n/a?', '4', '5'];
    const text = `x,y\n${col.map((v, i) => `${v},${labels(3)[i]}`).join('\n')}\n`;
    const err = (await inspectCsv(enc(text), { label: 'y', k: 1 }).catch((e: unknown) => e)) as DatasetError;
    expect(err).toBeInstanceOf(DatasetError);
    expect(err).toMatchObject({ code: 'AMBIGUOUS_TYPE', line: 4, column: 1 });
    expect(err.message).toMatch(/missing token/);
    expect(err.message).toMatch(/--schema/);
    expect(err.message).not.toContain('n/a?');
    // Declared as a missing token, it seals as a numeric column with one masked value.
    const schema: DatasetSchema = {
      label: 'y',
      k: 1,
      columns: [
        { name: 'x', type: 'float', missing: ['n/a?'] },
        { name: 'y', type: 'categorical' },
      ],
    };
    const r = await inspectCsv(enc(text), { label: 'y', schema });
    expect(r.columns[0]).toMatchObject({ type: 'float', missing: 1, firstMissingLine: 4 });
  });

  it('refuses a row without a label, naming line and column', async () => {
    await expect(inspectCsv(enc('x,y\n1,a\n2,\n'), { label: 'y', k: 1 })).rejects.toMatchObject({
      code: 'MISSING_VALUE',
      line: 3,
      column: 2,
    });
  });

  it('infers boolean, date, datetime and text columns; an all-missing column is ignored', async () => {
    const n = 12;
    const rows = Array.from({ length: 2 * n }, (_, i) =>
      [
        i % 3 ? 'true' : 'FALSE',
        `2024-02-${String((i % 28) + 1).padStart(2, '0')}`,
        i % 2 ? `2024-03-01T10:${String(i).padStart(2, '0')}Z` : '2024-03-02',
        `id-${i}`,
        i === 3 ? 'NA' : '',
        labels(n)[i],
      ].join(','),
    );
    const r = await inspectCsv(enc(`b,d,t,id,empty,y\n${rows.join('\n')}\n`), { label: 'y' });
    expect(r.schema.columns.map((c) => [c.type, c.role ?? 'feature'])).toEqual([
      ['boolean', 'feature'],
      ['date', 'feature'],
      ['datetime', 'feature'],
      ['text', 'ignored'],
      ['text', 'ignored'],
      ['categorical', 'label'],
    ]);
    const d = await toDense(enc(`b,d,t,id,empty,y\n${rows.join('\n')}\n`), r.schema);
    expect(d.featureNames).toEqual([
      'b',
      'd.epochDays',
      'd.year',
      'd.month',
      'd.dayOfWeek',
      't.epochDays',
      't.year',
      't.month',
      't.dayOfWeek',
    ]);
    // Row 0: FALSE, 2024-02-01 (a Thursday), 2024-03-02 (a Saturday).
    expect(Array.from(d.features.subarray(0, 9))).toEqual([0, 19754, 2024, 2, 4, 19784, 2024, 3, 6]);
    expect(d.missing).toBeUndefined();
  });

  it('hashes a declared categorical column without levels, however many values it has', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => `w${i % 280}x,${i % 2 ? 'a' : 'b'}`);
    const schema: DatasetSchema = {
      label: 'y',
      columns: [
        { name: 'word', type: 'categorical' },
        { name: 'y', type: 'categorical' },
      ],
    };
    const r = await inspectCsv(enc(`word,y\n${rows.join('\n')}\n`), { label: 'y', schema });
    expect(r.schema.columns[0]).toEqual({ name: 'word', type: 'categorical', encoding: 'hash', buckets: 16 });
    expect(r.columns[0].distinct).toBeNull();
  });

  it('turns a high-cardinality text column into an ignored one instead of refusing it', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => `w${i % 280}x,${i % 2 ? 'a' : 'b'}`);
    const r = await inspectCsv(enc(`word,y\n${rows.join('\n')}\n`), { label: 'y' });
    expect(r.schema.columns[0]).toEqual({ name: 'word', role: 'ignored', type: 'text' });
    expect(r.columns[0].published).toEqual([]);
  });
});

describeScans('the public schema', () => {
  it('publishes no categorical level unless public, and hashes the column', async () => {
    const colour = Array.from({ length: 40 }, (_, i) => (i === 7 ? 'ultraviolet' : i % 2 ? 'red' : 'blue'));
    const text = `colour,y\n${colour.map((c, i) => `${c},${i % 2 ? 'a' : 'b'}`).join('\n')}\n`;
    const r = await inspectCsv(enc(text), { label: 'y' });
    expect(r.schema.columns[0]).toEqual({ name: 'colour', type: 'categorical', encoding: 'hash', buckets: 16 });
    expect(JSON.stringify(r.schema)).not.toMatch(/red|blue|ultraviolet/);
    expect(r.columns[0]).toMatchObject({ distinct: 3, rare: 1, published: [] });
  });

  it('publishes declared public levels, and refuses one occurring in fewer than k rows', async () => {
    const colour = Array.from({ length: 40 }, (_, i) => (i === 7 ? 'ultraviolet' : i % 2 ? 'red' : 'blue'));
    const text = `colour,y\n${colour.map((c, i) => `${c},${i % 2 ? 'a' : 'b'}`).join('\n')}\n`;
    const schema = (levels: string[]): DatasetSchema => ({
      label: 'y',
      columns: [
        { name: 'colour', type: 'categorical', levels, public: true },
        { name: 'y', type: 'categorical' },
      ],
    });
    await expect(
      inspectCsv(enc(text), { label: 'y', refuseRare: true, schema: schema(['blue', 'red', 'ultraviolet']) }),
    ).rejects.toMatchObject({ code: 'RARE_VALUE', line: 9, column: 1 });
    const ok = await inspectCsv(enc(text.replace('ultraviolet', 'red')), {
      label: 'y',
      schema: schema(['blue', 'red', 'green']),
    });
    // 'green' occurs in no row: the owner's vocabulary, not data.
    expect(ok.schema.columns[0]).toMatchObject({ levels: ['blue', 'red', 'green'], encoding: 'one-hot' });
  });

  it('refuses a label class occurring in fewer than k rows with refuseRare, and previews it without', async () => {
    const y = [...labels(10), 'rare'];
    const text = `x,y\n${y.map((c, i) => `${i},${c}`).join('\n')}\n`;
    await expect(inspectCsv(enc(text), { label: 'y', refuseRare: true })).rejects.toMatchObject({
      code: 'RARE_VALUE',
      line: 22,
      column: 2,
    });
    const preview = await inspectCsv(enc(text), { label: 'y' });
    expect(preview.refusal?.code).toBe('RARE_VALUE');
    expect(preview.refusal?.message).not.toContain('rare');
    expect((await inspectCsv(enc(text), { label: 'y', k: 1 })).classes).toEqual(['a', 'b', 'rare']);
  });
});

describeScans('typed rows and the dense form with missing values', () => {
  const text = 'mass,sex,y\n3750,MALE,a\nNA,,b\n3250,FEMALE,a\n,MALE,b\n';
  it('gives typed values with a missing mask per column', async () => {
    const r = await inspectCsv(enc(text), { label: 'y', k: 1 });
    const rows = [];
    for await (const row of typedRows(enc(text), r.schema)) rows.push(row);
    expect(rows.map((x) => x.values)).toEqual([
      [3750, 'MALE', 'a'],
      [null, null, 'b'],
      [3250, 'FEMALE', 'a'],
      [null, 'MALE', 'b'],
    ]);
    expect(rows.map((x) => Array.from(x.missing))).toEqual([
      [0, 0, 0],
      [1, 1, 0],
      [0, 0, 0],
      [1, 0, 0],
    ]);
    expect(rows.map((x) => x.line)).toEqual([2, 3, 4, 5]);
  });

  it('masks every feature of a missing value and leaves it 0', async () => {
    const r = await inspectCsv(enc(text), { label: 'y', k: 1 });
    const d = await toDense(enc(text), r.schema);
    const w = d.featureNames.length;
    expect(w).toBe(17); // mass + 16 hashed buckets of sex
    expect(Array.from(d.missing!.subarray(w, 2 * w))).toEqual(new Array<number>(w).fill(1));
    expect(Array.from(d.features.subarray(w, 2 * w))).toEqual(new Array<number>(w).fill(0));
    expect(d.missing![3 * w]).toBe(1);
    expect(d.missing![3 * w + 1]).toBe(0);
  });
});

describeScans('ISO 8601 values', () => {
  it('agrees with Date.UTC on random calendar dates and date-times', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        (d) => {
          const iso = d.toISOString();
          if (!/^\d{4}-/.test(iso)) return;
          const day = Math.floor(d.getTime() / 86_400_000);
          expect(dateValue(enc(iso.slice(0, 10)), 0, 10)).toBe(day);
          expect(datetimeValue(enc(iso), 0, iso.length)).toBeCloseTo(d.getTime() / 86_400_000, 6);
          const p = dateParts(day);
          expect([p.year, p.month, p.dayOfWeek % 7]).toEqual([d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDay()]);
        },
      ),
    );
    expect(epochDays(1970, 1, 1)).toBe(0);
    for (const bad of ['2023-02-29', '2024-13-01', '2024-1-01', '20240101'])
      expect(dateValue(enc(bad), 0, bad.length)).toBeNaN();
    for (const bad of ['2024-01-01T25:00', '2024-01-01T10:00+5', '2024-01-01T10:00:00.Z'])
      expect(datetimeValue(enc(bad), 0, bad.length)).toBeNaN();
    expect(datetimeValue(enc('2024-01-01T01:00+01:00'), 0, 22)).toBe(epochDays(2024, 1, 1));
  });
});

describeScans('the schema file', () => {
  it('publishes a current JSON Schema (SEALFOLD_UPDATE_SCHEMA=1 rewrites it) and the README example parses', async () => {
    const file = new URL('../dataset-schema.schema.json', import.meta.url);
    const { parseSchemaJson } = await import('./schema.js');
    const current = `${JSON.stringify(datasetSchemaJsonSchema(), null, 2)}\n`;
    if (process.env.SEALFOLD_UPDATE_SCHEMA === '1') {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, current);
    }
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(current));
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const example = /<!-- schema-example -->\s*```json\n([\s\S]*?)```/.exec(readme);
    expect(example).not.toBeNull();
    expect(parseSchemaJson(example![1]).label).toBe('species');
  });
});

describeScans('byte-level value helpers (the inspector hot loop: no string per value)', () => {
  const bytes = fc.uint8Array({ maxLength: 40 });
  it('booleanValue is "true"/"false" in any letter case, as the lower-cased string says', () => {
    const word = fc.constantFrom('true', 'false', 'TRUE', 'False', 'tRuE', 'truE', 'fals', 'falsey', 'ture');
    fc.assert(
      fc.property(
        fc.oneof(
          word.map((w) => Buffer.from(w, 'latin1')),
          bytes,
        ),
        (b) => {
          const lower = Buffer.from(b).toString('latin1').toLowerCase();
          // Only ASCII letters fold: a byte whose lower case is a letter of the word only through Unicode is not it.
          const ascii = [...b].every((c) => c < 0x80);
          const expected = ascii && lower === 'true' ? 1 : ascii && lower === 'false' ? 0 : -1;
          expect(booleanValue(b, 0, b.length)).toBe(expected);
        },
      ),
    );
  });
  it('a token length set never rules out a value that is a missing token', () => {
    const token = fc.uint8Array({ maxLength: 40 });
    fc.assert(
      fc.property(fc.array(token, { maxLength: 6 }), bytes, fc.nat(5), (tokens, other, pick) => {
        const lengths = tokenLengths(tokens);
        const value = tokens.length > 0 && pick < tokens.length ? tokens[pick] : other;
        const missing = isMissing(value, 0, value.length, tokens);
        if (missing) expect(mayBeMissing(lengths, value.length)).toBe(true);
        if (!mayBeMissing(lengths, value.length)) expect(missing).toBe(false);
      }),
    );
  });
});
