// Issue 16 §4: the byte-level fast paths of the parser and validator (tokenizer.ts, numbers.ts, the missing-token
// filter of inspector.ts) against a plain string-based reference: random tables with quoted fields, embedded commas,
// quotes and newlines, CRLF, empty fields, numbers in many forms, dates, missing tokens and bad rows must give the
// schema, statistics, commitment and first error the reference derives from the table itself.
import { expect, it } from '@jest/globals';
import fc from 'fast-check';
import { commitmentOfTable } from './commitment.js';
import { DatasetError } from './errors.js';
import { inspectCsv } from './inspect.js';
import { sortLevels } from './inspector.js';
import { classifyNumber } from './numbers.js';
import { DEFAULT_MISSING_TOKENS, type DatasetSchema } from './schema.js';
import { CsvTokenizer, FIELD_UNKNOWN } from './tokenizer.js';
import { chunked, serialiseCsv } from '../test/csv-tables.js';
import { describeScans } from '../test/scan-modes.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** numbers.ts grammar, as a regular expression: [+-]? ( digits [ '.' digits? ] | '.' digits ) ( [eE] [+-]? digits )? */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const refNumberClass = (v: string): 0 | 1 | 2 => (!NUMBER.test(v) ? 2 : /^[+-]?\d+$/.test(v) ? 0 : 1);

const K_INT = 0;
const K_FLOAT = 1;
const K_BOOL = 2;
const K_DATE = 3;
const K_DATETIME = 4;
const K_OTHER = 5;

/** Dates and date-times with their kinds, checked by hand against ISO 8601 / RFC 3339 (values.ts). */
const DATED: readonly [string, number][] = [
  ['2024-02-29', K_DATE],
  ['1999-12-31', K_DATE],
  ['2023-02-29', K_OTHER],
  ['2024-13-01', K_OTHER],
  ['2024-01-05T10:20Z', K_DATETIME],
  ['2024-01-05 10:20:30.5+01:00', K_DATETIME],
  ['2024-01-05T24:00', K_OTHER],
];

function refKind(v: string): number {
  const n = refNumberClass(v);
  if (n !== 2) return n;
  if (/^(true|false)$/i.test(v)) return K_BOOL;
  const dated = DATED.find(([d]) => d === v);
  return dated ? dated[1] : K_OTHER;
}

const numberLike = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((d) => d.toFixed(3)),
  fc.constantFrom('1e5', '.5', '5.', '+3', '-0', '1E-2', '1e', '1.2.3', '--1', '1e+', 'e5', '.', '+', '-.5e+7'),
  fc.string({ unit: fc.constantFrom('0', '1', '9', '.', '+', '-', 'e', 'E'), maxLength: 6 }),
);
const textLike = fc.constantFrom(
  'red',
  'blue',
  'na',
  'Nope',
  'nulls',
  'a,b',
  'say "hi"',
  'line\nbreak',
  'crlf\r\ninside',
  '"',
  'é',
  'TRUE',
  'false',
  ...DATED.map(([d]) => d),
);
/** Fields of 60 to 70 bytes: around the longest field the tokenizer classifies from its tally (63 bytes). */
const longLike = fc.oneof(
  fc
    .tuple(fc.constantFrom('', '-', '+'), fc.integer({ min: 59, max: 69 }), fc.boolean())
    .map(([sign, n, dot]) => sign + (dot ? '1'.repeat(n - 2) + '.5' : '7'.repeat(n))),
  fc.integer({ min: 60, max: 70 }).map((n) => 'x'.repeat(n)),
);
/** Extra missing tokens that are numbers: a number must then still be compared with the tokens. */
const NUMERIC_TOKENS = ['-1', '0.0', '99'];
const valueArb = fc.oneof(
  { arbitrary: numberLike, weight: 4 },
  { arbitrary: fc.constantFrom(...DEFAULT_MISSING_TOKENS), weight: 1 },
  { arbitrary: fc.constantFrom(...NUMERIC_TOKENS), weight: 1 },
  { arbitrary: textLike, weight: 2 },
  { arbitrary: longLike, weight: 1 },
);
const labelArb = fc.oneof({ arbitrary: fc.constantFrom('a', 'b', '7', '"q"', 'x,y'), weight: 20 }, fc.constant(''));

type Expected =
  | { error: { code: string; line: number; column?: number } }
  | {
      rows: number;
      commitment: string;
      classes: string[];
      missing: number[];
      types: string[];
    };

/** What the inspector must report, derived from the table alone (label = last column, no schema). */
function reference(table: string[][], lines: number[], cap: number, tokens: readonly string[]): Expected {
  const [header, ...data] = table;
  const ncols = header.length;
  const label = ncols - 1;
  for (let r = 0; r < data.length; r++) {
    const line = lines[r + 1];
    if (data[r].length !== ncols)
      return { error: { code: 'RAGGED_ROW', line, column: Math.min(data[r].length, ncols) + 1 } };
    if (data[r][label] === '') return { error: { code: 'MISSING_VALUE', line, column: label + 1 } };
  }
  const missing: number[] = [];
  const types: string[] = [];
  for (let i = 0; i < ncols; i++) {
    if (i === label) {
      missing.push(0);
      types.push('categorical');
      continue;
    }
    const present = data.map((row, r) => ({ v: row[i], line: lines[r + 1] })).filter(({ v }) => !tokens.includes(v));
    missing.push(data.length - present.length);
    if (present.length === 0) {
      types.push('text');
      continue;
    }
    const kinds = present.map(({ v }) => refKind(v));
    const count = (k: number) => kinds.filter((x) => x === k).length;
    const numbers = count(K_INT) + count(K_FLOAT);
    const others = present.length - numbers;
    if (numbers > 0 && others > 0) {
      // The first value of the minority side (ties: numbers are the minority only when strictly fewer).
      const minorityNumbers = numbers < others;
      const at = present.find((_, j) => kinds[j] <= K_FLOAT === minorityNumbers)!;
      return { error: { code: 'AMBIGUOUS_TYPE', line: at.line, column: i + 1 } };
    }
    const distinct = new Set(present.map(({ v }) => v)).size;
    if (numbers > 0) types.push(count(K_FLOAT) > 0 ? 'float' : 'integer');
    else if (count(K_BOOL) === present.length) types.push('boolean');
    else if (count(K_DATE) === present.length) types.push('date');
    else if (count(K_DATE) + count(K_DATETIME) === present.length) types.push('datetime');
    else if (distinct > cap || (distinct === present.length && present.length > 1)) types.push('text');
    else types.push('categorical');
  }
  return {
    rows: data.length,
    commitment: commitmentOfTable(table),
    classes: sortLevels(new Set(data.map((r) => r[label]))),
    missing,
    types,
  };
}

const tableArb = fc
  .record({
    width: fc.integer({ min: 2, max: 5 }),
    // Up to 60 rows, so that columns outgrow the level cap (then only each value's kind is counted).
    rows: fc.integer({ min: 1, max: 60 }),
    ragged: fc.boolean(),
  })
  .chain(({ width, rows, ragged }) =>
    fc.tuple(
      fc.constant(width),
      fc.array(
        fc.tuple(
          fc.array(valueArb, { minLength: width - 1, maxLength: width - 1 }),
          labelArb,
          // A bad row: a field more or fewer (rarely, and only when asked).
          ragged ? fc.oneof({ arbitrary: fc.constant(0), weight: 15 }, fc.constantFrom(-1, 1)) : fc.constant(0),
        ),
        { minLength: rows, maxLength: rows },
      ),
    ),
  )
  .map(([width, rows]) => {
    const header = Array.from({ length: width }, (_, i) => (i === width - 1 ? 'y' : `c${i}`));
    const data = rows.map(([values, label, delta]) => {
      const row = [...values, label];
      if (delta < 0) row.pop();
      if (delta > 0) row.push('extra');
      return row;
    });
    return [header, ...data];
  });

describeScans('inspection fast paths against a string-based reference', () => {
  it('classifyNumber agrees with the grammar as a regular expression', () => {
    fc.assert(
      fc.property(fc.oneof(numberLike, fc.string({ maxLength: 8 })), fc.string({ maxLength: 3 }), (v, pad) => {
        const bytes = enc(pad + v + pad);
        const s = enc(pad).length;
        expect(classifyNumber(bytes, s, s + enc(v).length)).toBe(refNumberClass(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the schema, statistics, commitment and first error of the reference, whatever the quoting and line ends', async () => {
    await fc.assert(
      fc.asyncProperty(
        tableArb,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (table, crlf, quote, trailing, cap, sizes, numericTokens) => {
          const { text, lines } = serialiseCsv(table, { crlf, quote, trailing });
          const bytes = enc(text);
          // Pushed in chunks of random sizes, so records and fields straddle pushes.
          const chunks = chunked(bytes, sizes);
          const tokens = numericTokens ? [...DEFAULT_MISSING_TOKENS, ...NUMERIC_TOKENS] : DEFAULT_MISSING_TOKENS;
          const expected = reference(table, lines, cap, tokens);
          const options = {
            label: 'y',
            k: 1,
            maxCategoricalLevels: cap,
            ...(numericTokens ? { missing: tokens } : {}),
          };
          const got = await inspectCsv(chunks, options).catch((e: unknown) => e);
          if ('error' in expected) {
            expect(got).toBeInstanceOf(DatasetError);
            expect(got).toMatchObject(expected.error);
            return;
          }
          if (got instanceof Error) throw got;
          const r = got as Awaited<ReturnType<typeof inspectCsv>>;
          expect({
            rows: r.rows,
            commitment: r.commitment,
            classes: r.classes,
            missing: r.columns.map((c) => c.missing),
            types: r.privateSchema.columns.map((c) => c.type),
          }).toEqual(expected);
          expect(r.csvBytes).toBe(bytes.length);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the tokenizer classifies every unquoted field under 64 bytes without an exponent as classifyNumber does', () => {
    const fieldArb = fc.oneof(numberLike, textLike, longLike, fc.string({ maxLength: 5 }));
    fc.assert(
      fc.property(
        fc.array(fc.array(fieldArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 5 }),
        (table, crlf, quote, sizes) => {
          const { text } = serialiseCsv(table, { crlf, quote, trailing: true });
          const bytes = enc(text);
          let checked = 0;
          const tokenizer = new CsvTokenizer((buf, starts, ends, count, _line, _raw, classes, first) => {
            for (let i = first; i < first + count; i++) {
              const cls = classes[i];
              if (cls !== FIELD_UNKNOWN) expect(cls).toBe(classifyNumber(buf, starts[i], ends[i]));
              checked++;
            }
          });
          for (const c of chunked(bytes, sizes)) tokenizer.push(c);
          tokenizer.finish();
          expect(checked).toBe(table.flat().length);
          // The fast path is taken: an unquoted field under 64 bytes with no exponent mark is classified. Found in
          // the text: a field that needs no quotes and was written without them.
          let k = 0;
          const classified = table.flatMap((row) =>
            row.map((f) => {
              const needs = /[",\r\n]/.test(f) || (row.length === 1 && f === '');
              const quoted = needs || quote[k++ % quote.length];
              return !quoted && enc(f).length < 64 && !/[eE]/.test(f);
            }),
          );
          const got: number[] = [];
          const again = new CsvTokenizer((_b, _s, _e, count, _l, _r, classes, first) => {
            for (let i = first; i < first + count; i++) got.push(classes[i]);
          });
          for (const c of chunked(bytes, sizes)) again.push(c);
          again.finish();
          classified.forEach((fast, i) => {
            if (fast) expect(got[i]).not.toBe(FIELD_UNKNOWN);
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('validates declared integer and float columns as classifyNumber does (first bad value, its line and code)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.oneof(numberLike, longLike, fc.constantFrom('', 'NA', 'x')), numberLike), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.constantFrom('integer' as const, 'float' as const),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 5 }),
        async (rows, type, sizes) => {
          const table = [['a', 'b', 'y'], ...rows.map(([a, b]) => [a, b, 'c'])];
          const { text, lines } = serialiseCsv(table, { crlf: [false], quote: [false], trailing: true });
          const schema: DatasetSchema = {
            label: 'y',
            k: 1,
            columns: [
              { name: 'a', type },
              { name: 'b', type: 'text' },
              { name: 'y', type: 'categorical' },
            ],
          };
          const got = await inspectCsv(chunked(enc(text), sizes), { label: 'y', schema }).catch((e: unknown) => e);
          const bad = rows.findIndex(([a]) => {
            if (DEFAULT_MISSING_TOKENS.includes(a)) return false;
            return refNumberClass(a) > (type === 'integer' ? 0 : 1);
          });
          if (bad < 0) {
            expect(got).not.toBeInstanceOf(Error);
            return;
          }
          const code = refNumberClass(rows[bad][0]) === 2 ? 'NOT_NUMERIC' : 'NOT_INTEGER';
          expect(got).toBeInstanceOf(DatasetError);
          expect(got).toMatchObject({ code, line: lines[bad + 1], column: 1 });
        },
      ),
      { numRuns: 300 },
    );
  });
});
