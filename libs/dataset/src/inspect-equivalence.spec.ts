// Issue 16 §4: the byte-level fast paths of the parser and validator (tokenizer.ts, numbers.ts, the missing-token
// filter of inspector.ts) against a plain string-based reference: random tables with quoted fields, embedded commas,
// quotes and newlines, CRLF, empty fields, numbers in many forms, dates, missing tokens and bad rows must give the
// schema, statistics, commitment and first error the reference derives from the table itself.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { commitmentOfTable } from './commitment.js';
import { DatasetError } from './errors.js';
import { inspectCsv } from './inspect.js';
import { sortLevels } from './inspector.js';
import { classifyNumber } from './numbers.js';
import { DEFAULT_MISSING_TOKENS } from './schema.js';
import { chunked, serialiseCsv } from '../test/csv-tables.js';

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
const valueArb = fc.oneof(
  { arbitrary: numberLike, weight: 4 },
  { arbitrary: fc.constantFrom(...DEFAULT_MISSING_TOKENS), weight: 1 },
  { arbitrary: textLike, weight: 2 },
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
function reference(table: string[][], lines: number[], cap: number): Expected {
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
    const present = data
      .map((row, r) => ({ v: row[i], line: lines[r + 1] }))
      .filter(({ v }) => {
        return !DEFAULT_MISSING_TOKENS.includes(v);
      });
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
    rows: fc.integer({ min: 1, max: 25 }),
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

describe('inspection fast paths against a string-based reference', () => {
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
        async (table, crlf, quote, trailing, cap, sizes) => {
          const { text, lines } = serialiseCsv(table, { crlf, quote, trailing });
          const bytes = enc(text);
          // Pushed in chunks of random sizes, so records and fields straddle pushes.
          const chunks = chunked(bytes, sizes);
          const expected = reference(table, lines, cap);
          const options = { label: 'y', k: 1, maxCategoricalLevels: cap };
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
});
