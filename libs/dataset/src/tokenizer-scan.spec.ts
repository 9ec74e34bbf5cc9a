// The wasm SIMD scan against the JS state machine (tokenizer.ts): the same tokenizer, once with the wasm scan and once
// with the state machine alone, on the same input cut in the same chunks, must make the same calls: every record
// (line, position, `plain`, each field's bytes and class), every region, `pendingFrom` after each push, and the same
// error (code, message, line, column). The classification rules exist twice (classOfTally and the class-mask algebra of
// scripts/build-scan-wasm.mjs), and so do the line-ending rules: this spec is what keeps them equal.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CommitmentPlan } from './commitment.js';
import { DatasetError } from './errors.js';
import { CsvInspector } from './inspector.js';
import type { DatasetSchema } from './schema.js';
import { CsvTokenizer, type ScanMode } from './tokenizer.js';
import { chunked, serialiseCsv } from '../test/csv-tables.js';

const digits = (minLength: number, maxLength: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength, maxLength }).map((d) => d.join(''));
const join = (parts: readonly string[]) => parts.join('');

/** Unquoted fields: every number class and the near misses, text, UTF-8, and lengths around the 64-byte limit. */
const unquoted = fc.oneof(
  digits(1, 6),
  fc.tuple(digits(0, 3), fc.constant('.'), digits(0, 3)).map(join),
  fc.tuple(fc.constantFrom('-', '+'), digits(0, 4), fc.constantFrom('.', ''), digits(0, 3)).map(join),
  fc
    .tuple(
      fc.constantFrom('-', '+', ''),
      digits(1, 3),
      fc.constantFrom('e', 'E'),
      fc.constantFrom('', '-', '+'),
      digits(0, 3),
    )
    .map(join),
  fc.constantFrom(
    '',
    '.',
    '..',
    '-',
    '+',
    '+-1',
    '1-',
    '1.2.3',
    '-.5',
    '5.',
    'e',
    'NaN',
    'red',
    'x1',
    '1 ',
    ' 1',
    '1/2',
  ),
  fc.constantFrom('héllo', 'naïve', '日本', '\u00a0', '\t', '1\u00002'),
  digits(55, 75),
  fc.tuple(digits(30, 70), fc.constant('.'), digits(0, 10)).map(join),
  fc.tuple(fc.constantFrom('-', '+'), digits(58, 66)).map(join),
  fc.integer({ min: 30, max: 150 }).map((n) => 'ab'.repeat(n)),
  fc.string({ maxLength: 12 }).map((s) => s.replace(/[",\r\n]/g, '')),
);
/** Quoted fields with commas, LF, CRLF, "" and long runs. */
const quoted = fc
  .array(fc.constantFrom('a', ',', '\n', '\r\n', '""', '1.5', ' ', 'x'.repeat(70), ''), { maxLength: 5 })
  .map((parts) => `"${parts.join('')}"`);

/** A CSV text: LF, CRLF or mixed line ends, blank lines, ragged rows, a BOM, maybe no final line break. */
const csvText = fc
  .constantFrom(0, 1, 6, 40)
  .chain((quoteWeight) => {
    const field = fc.oneof({ arbitrary: unquoted, weight: 20 }, { arbitrary: quoted, weight: quoteWeight });
    const row = fc.oneof(
      { arbitrary: fc.array(field, { minLength: 1, maxLength: 9 }).map((f) => f.join(',')), weight: 30 },
      { arbitrary: fc.constant(''), weight: 1 },
    );
    return fc.record({
      rows: fc.array(fc.tuple(row, fc.constantFrom('\n', '\r\n')), { maxLength: 30 }),
      crlf: fc.constantFrom<'lf' | 'crlf' | 'mixed'>('lf', 'crlf', 'mixed'),
      trailing: fc.boolean(),
      bom: fc.oneof({ arbitrary: fc.constant(false), weight: 10 }, { arbitrary: fc.constant(true), weight: 1 }),
    });
  })
  .map(({ rows, crlf, trailing, bom }) => {
    let text = rows.map(([r, eol]) => r + (crlf === 'mixed' ? eol : crlf === 'lf' ? '\n' : '\r\n')).join('');
    if (!trailing) text = text.replace(/\r?\n$/, '');
    return (bom ? '\ufeff' : '') + text;
  });

/** A quarter of the inputs broken: a stray quote, a lone CR, text after a closing quote, an unterminated quote. */
const input = fc
  .tuple(
    csvText,
    fc.option(fc.tuple(fc.nat(), fc.constantFrom('"', '\r', 'x"y', '"a"b', '"open', '\rz', '\r')), { freq: 3 }),
  )
  .map(([text, bad]) => {
    if (bad === null) return text;
    const at = bad[0] % (text.length + 1);
    return text.slice(0, at) + bad[1] + text.slice(at);
  });

/** Chunk sizes: bytes, records or many records per push. */
const chunkSizes = fc
  .constantFrom(8, 200, 5000)
  .chain((max) => fc.array(fc.integer({ min: 1, max }), { minLength: 1, maxLength: 20 }));

interface Trace {
  calls: string[];
  /** Records handed over from a wasm batch past its first (`first` > 0): the wasm scan was used. */
  batched: number;
}

/** Everything a tokenizer tells its sinks for `chunks`, and its error. */
function trace(chunks: readonly Uint8Array[], mode: ScanMode): Trace {
  const calls: string[] = [];
  let batched = 0;
  const tokenizer = new CsvTokenizer(
    (buf, starts, ends, count, line, raw, classes, first) => {
      if (first > 0) batched++;
      const fields: string[] = [];
      for (let i = first; i < first + count; i++)
        fields.push(`${classes[i]}:${buf.toString('latin1', starts[i], ends[i])}`);
      calls.push(`record ${line} ${raw.offset} ${raw.start} ${raw.end} ${raw.plain} ${fields.join('\u0001')}`);
    },
    (buf, start, end, line) => calls.push(`region ${line} ${start} ${end} ${buf.toString('latin1', start, end)}`),
    mode,
  );
  try {
    for (const chunk of chunks) {
      tokenizer.push(chunk);
      calls.push(`pushed ${tokenizer.bytes} ${tokenizer.pendingFrom}`);
    }
    tokenizer.finish();
  } catch (e) {
    if (!(e instanceof DatasetError)) throw e;
    calls.push(`error ${e.code} ${e.message} ${e.line} ${e.column}`);
  }
  return { calls, batched };
}

/** Equal traces, reported at the first difference (a failing diff of 100,000 calls would take minutes to print). */
function expectSameCalls(wasm: readonly string[], js: readonly string[]): void {
  const at = wasm.findIndex((call, i) => call !== js[i]);
  expect({ at, call: wasm[at] ?? null }).toEqual({ at, call: js[at] ?? null });
  expect(wasm.length).toBe(js.length);
}

const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

describe('CsvTokenizer: the wasm SIMD scan gives what the state machine gives', () => {
  it('WebAssembly SIMD is available here, so the wasm scan is what the other specs run', () => {
    expect(new CsvTokenizer(() => {}).simd).toBe(true);
    expect(new CsvTokenizer(() => {}, undefined, 'js').simd).toBe(false);
  });

  it('same records, fields, classes, lines, positions, plain flags, regions, pendingFrom and errors, in any chunking', () => {
    let batched = 0;
    let errors = 0;
    fc.assert(
      fc.property(input, chunkSizes, (text, sizes) => {
        const chunks = chunked(bytesOf(text), sizes);
        const wasm = trace(chunks, 'auto');
        const js = trace(chunks, 'js');
        expectSameCalls(wasm.calls, js.calls);
        batched += wasm.batched;
        if (js.calls.at(-1)?.startsWith('error')) errors++;
      }),
      { numRuns: 3000 },
    );
    // The comparison covered both the wasm batches and malformed inputs.
    expect(batched).toBeGreaterThan(300);
    expect(errors).toBeGreaterThan(100);
  });

  it('a quoted field over many pushes, a record of more fields than a wasm batch, and a buffer past the initial memory', () => {
    const cases = [
      // A 3 MB quoted field pushed in 4 KB chunks (the state machine resumes: no rescan per push), between plain rows.
      ['a,b\n1,2\n"' + 'x,\n'.repeat(1 << 20) + '",3\n4,5\n', 4096],
      // A 3 MB unquoted field, in 4 KB chunks.
      ['a,b\n1,' + '7'.repeat(3 << 20) + '\n4,5\n', 4096],
      // 20,000 fields in one record (more than one scanFlat call holds), then plain rows, in one push.
      ['1,'.repeat(20_000) + '2\n' + '3,4\n'.repeat(10_000), 1 << 30],
      // 100,000 rows of 4 fields (many full batches), and 12 MB in a single push (the wasm memory grows).
      ['1.5,-2,abc,7e3\r\n'.repeat(100_000), 65536],
      ['12.5,-3,text,8\n'.repeat(800_000), 1 << 30],
    ] as const;
    for (const [text, size] of cases) {
      const chunks = chunked(bytesOf(text), [size]);
      expectSameCalls(trace(chunks, 'auto').calls, trace(chunks, 'js').calls);
    }
  });

  it('a declared schema: the first bad value in file order is the one refused, though wasm batches go column by column', () => {
    // Per column: values it accepts, and values it refuses (with a column-specific code). The label refuses missing.
    const columns = [
      { column: { name: 'n', type: 'integer' }, good: ['0', '-12', '7', 'NA'], bad: ['1.5', 'x'] },
      { column: { name: 'f', type: 'float' }, good: ['1.25', '-3', '.5', '', '1e3'], bad: ['abc', '1.2.3'] },
      { column: { name: 'b', type: 'boolean' }, good: ['true', 'FALSE', 'null'], bad: ['yes', '2'] },
      { column: { name: 'd', type: 'date' }, good: ['2024-02-29', '1999-12-31', 'N/A'], bad: ['2023-02-29', 'x'] },
      {
        column: { name: 'c', type: 'categorical', levels: ['a', 'bb', 'green'] },
        good: ['a', 'bb', 'green', 'NaN'],
        bad: ['d', 'greener'],
      },
      { column: { name: 't', type: 'text' }, good: ['free', '', 'x y'], bad: [] },
      {
        column: { name: 'label', type: 'categorical', levels: ['yes', 'no'] },
        good: ['yes', 'no'],
        bad: ['', 'NA', 'maybe'],
      },
    ] as const;
    const schema = { label: 'label', columns: columns.map((c) => c.column) } as unknown as DatasetSchema;
    const header = columns.map((c) => c.column.name).join(',');
    const row = fc.tuple(
      ...columns.map(({ good, bad }) =>
        bad.length === 0
          ? fc.constantFrom(...good).map((v) => ({ v, bad: false }))
          : fc.oneof(
              { arbitrary: fc.constantFrom(...good).map((v) => ({ v, bad: false })), weight: 25 },
              { arbitrary: fc.constantFrom(...bad).map((v) => ({ v, bad: true })), weight: 1 },
            ),
      ),
    );
    const saved = process.env.SEALFOLD_CSV_SCAN;
    const refusal = (chunks: readonly Uint8Array[], mode: ScanMode): string => {
      if (mode === 'js') process.env.SEALFOLD_CSV_SCAN = 'js';
      else delete process.env.SEALFOLD_CSV_SCAN;
      try {
        const inspector = new CsvInspector({ label: 'label', schema });
        for (const chunk of chunks) inspector.push(chunk);
        return `rows ${inspector.finish().rows}`;
      } catch (e) {
        if (!(e instanceof DatasetError)) throw e;
        return `at ${e.line}:${e.column} ${e.code}`;
      }
    };
    let twoColumnsBad = 0;
    try {
      fc.assert(
        fc.property(
          fc.array(row, { minLength: 1, maxLength: 150, size: 'large' }),
          chunkSizes,
          fc.boolean(),
          (rows, sizes, crlf) => {
            const eol = crlf ? '\r\n' : '\n';
            const text = [header, ...rows.map((r) => r.map((c) => c.v).join(','))].join(eol) + eol;
            const chunks = chunked(bytesOf(text), sizes);
            // The oracle: the first row with a bad value, and its first bad column (line 1 is the header).
            const r = rows.findIndex((cells) => cells.some((c) => c.bad));
            const expected =
              r < 0
                ? `rows ${rows.length}`
                : expect.stringMatching(`^at ${r + 2}:${rows[r].findIndex((c) => c.bad) + 1} `);
            const badColumns = new Set(rows.flatMap((cells) => cells.flatMap((c, i) => (c.bad ? [i] : []))));
            if (badColumns.size > 1) twoColumnsBad++;
            const js = refusal(chunks, 'js');
            expect(js).toEqual(expected);
            expect(refusal(chunks, 'auto')).toBe(js);
          },
        ),
        { numRuns: 400 },
      );
    } finally {
      if (saved === undefined) delete process.env.SEALFOLD_CSV_SCAN;
      else process.env.SEALFOLD_CSV_SCAN = saved;
    }
    // Most inputs had bad values in several columns (so the order between columns was tested).
    expect(twoColumnsBad).toBeGreaterThan(200);
  });

  it('inference: a column of text with a few numbers is refused at its first number, in either scan', () => {
    // Past the level cap the column counts kinds (MODE_KINDS): the scan's number classes in a fast loop, the others
    // (an exponent: FIELD_UNKNOWN) one by one; the first number is the fast loop's 1.5 on line 9, not 1e3 on line 10.
    const rows = ['c,label', ...'abcdefg'.split('').map((t) => `${t},x`), '1.5,x', '1e3,y', 'h,x', 'i,y'];
    const saved = process.env.SEALFOLD_CSV_SCAN;
    try {
      for (const mode of ['auto', 'js'] as const) {
        if (mode === 'js') process.env.SEALFOLD_CSV_SCAN = 'js';
        else delete process.env.SEALFOLD_CSV_SCAN;
        const inspector = new CsvInspector({ label: 'label', maxCategoricalLevels: 4 });
        inspector.push(bytesOf(rows.join('\n') + '\n'));
        expect(() => inspector.finish()).toThrow(expect.objectContaining({ code: 'AMBIGUOUS_TYPE', line: 9 }));
      }
    } finally {
      if (saved === undefined) delete process.env.SEALFOLD_CSV_SCAN;
      else process.env.SEALFOLD_CSV_SCAN = saved;
    }
  });

  it('the inspector as the worker runs it: same result or error, same CommitmentPlan after every push', () => {
    const value = fc.oneof({ arbitrary: unquoted, weight: 10 }, fc.constantFrom('', 'NA', 'a,b', 'x"y', '1\n2'));
    const table = fc
      .integer({ min: 1, max: 5 })
      .chain((cols) =>
        fc
          .array(fc.array(value, { minLength: cols, maxLength: cols }), { maxLength: 25 })
          .map((rows) => [
            [...Array.from({ length: cols - 1 }, (_, i) => `c${i}`), 'label'],
            ...rows.map((r) => [...r.slice(0, -1), r[r.length - 1] === '' ? 'x' : r[r.length - 1]]),
          ]),
      );
    const saved = process.env.SEALFOLD_CSV_SCAN;
    /** The inspector's tokenizer takes its scan from SEALFOLD_CSV_SCAN when it is made. */
    const inspect = (chunks: readonly Uint8Array[], mode: ScanMode): string[] => {
      if (mode === 'js') process.env.SEALFOLD_CSV_SCAN = 'js';
      else delete process.env.SEALFOLD_CSV_SCAN;
      const out: string[] = [];
      try {
        const inspector = new CsvInspector({ label: 'label', maxCategoricalLevels: 4 });
        const plan = new CommitmentPlan();
        inspector.deferCommitment(plan);
        for (const chunk of chunks) {
          inspector.push(chunk);
          const { ops, literal } = plan.take();
          out.push(`plan ${ops.join(',')} ${Buffer.from(literal).toString('hex')} ${inspector.pendingFrom}`);
        }
        out.push(JSON.stringify(inspector.finish()));
      } catch (e) {
        if (!(e instanceof DatasetError)) throw e;
        out.push(`error ${e.code} ${e.message} ${e.line} ${e.column}`);
      }
      return out;
    };
    try {
      fc.assert(
        fc.property(
          table,
          fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
          fc.boolean(),
          chunkSizes,
          (rows, crlf, quote, trailing, sizes) => {
            const chunks = chunked(bytesOf(serialiseCsv(rows, { crlf, quote, trailing }).text), sizes);
            expectSameCalls(inspect(chunks, 'auto'), inspect(chunks, 'js'));
          },
        ),
        { numRuns: 500 },
      );
    } finally {
      if (saved === undefined) delete process.env.SEALFOLD_CSV_SCAN;
      else process.env.SEALFOLD_CSV_SCAN = saved;
    }
  });
});
