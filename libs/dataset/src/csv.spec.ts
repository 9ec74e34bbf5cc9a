import { expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { commitmentOfTable } from './commitment.js';
import { DatasetError } from './errors.js';
import { createInspectStream, inspectCsv, inspectCsvTee } from './inspect.js';
import { csvRecords, toDense } from './records.js';
import type { DatasetSchema } from './schema.js';
import { hashBucket } from './values.js';
import { chunked, serialiseCsv } from '../test/csv-tables.js';
import { describeScans } from '../test/scan-modes.js';

const enc = (s: string) => new TextEncoder().encode(s);

async function collect(source: AsyncIterable<string[]>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const r of source) out.push(r);
  return out;
}

const fieldArb = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', ' ', 'é', '😀', '1', '.') }),
  fc.string(),
  fc.integer().map(String),
);

const tableArb = fc
  .integer({ min: 1, max: 5 })
  .chain((w) => fc.array(fc.array(fieldArb, { minLength: w, maxLength: w }), { minLength: 1, maxLength: 20 }))
  // The last record may not be a single empty field without quotes (it would read as "no record"); serialise quotes it.
  .filter((t) => t.every((r) => r.every((f) => !f.includes('\r') || f.includes('\r\n'))));

describeScans('CSV reader (RFC 4180)', () => {
  it('round-trips random tables through random quoting, line endings and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        tableArb,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 5 }),
        async (table, crlf, quote, trailing, sizes) => {
          const bytes = enc(serialiseCsv(table, { crlf, quote, trailing }).text);
          const rows = await collect(csvRecords(chunked(bytes, sizes)));
          expect(rows).toEqual(table);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('parses quoted fields with "" escapes and embedded newlines, and reports lines after them', async () => {
    const text = 'a,b\r\n"x ""q"", y","line1\nline2"\n3,4\n';
    expect(await collect(csvRecords(enc(text)))).toEqual([
      ['a', 'b'],
      ['x "q", y', 'line1\nline2'],
      ['3', '4'],
    ]);
    // The ragged row starts on physical line 5 (the quoted newline takes a line).
    await expect(collect(csvRecords(enc(text + '5\n')))).rejects.toMatchObject({
      code: 'RAGGED_ROW',
      line: 5,
      column: 2,
    });
  });

  it('skips a UTF-8 BOM and accepts a missing trailing newline', async () => {
    expect(await collect(csvRecords(enc('\ufeffa,b\n1,2')))).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('reads gzip input (detected by magic bytes) split into small chunks', async () => {
    const text = 'x,y\n1,a\n2,b\n';
    const gz = gzipSync(enc(text));
    expect(await collect(csvRecords(chunked(gz, [1, 3])))).toEqual([
      ['x', 'y'],
      ['1', 'a'],
      ['2', 'b'],
    ]);
    expect((await inspectCsv(Readable.from(chunked(gz, [5])), { label: 'y', k: 1 })).commitment).toBe(
      (await inspectCsv(enc(text), { label: 'y', k: 1 })).commitment,
    );
  });

  it('refuses a corrupt gzip stream with a typed error', async () => {
    const gz = gzipSync(enc('x,y\n1,a\n'));
    gz[gz.length - 6] ^= 0xff; // CRC32 trailer
    await expect(inspectCsv(gz, { label: 'y', k: 1 })).rejects.toMatchObject({ code: 'BAD_GZIP' });
  });
});

describeScans('inspectCsv', () => {
  const iris =
    'sepal,petal,colour,count,species\n5.1,1.4,red,3,setosa\n4.9,1e-1,blue,4,virginica\n6,.5,red,-2,setosa\n';

  it('infers float, integer and categorical columns, the classes, rows and commitment', async () => {
    const r = await inspectCsv(enc(iris), { label: 'species', k: 1 });
    expect(r.rows).toBe(3);
    expect(r.classes).toEqual(['setosa', 'virginica']);
    // Public: the colour levels are not (the column is hashed); the classes are (k = 1 here).
    expect(r.schema).toEqual({
      label: 'species',
      k: 1,
      columns: [
        { name: 'sepal', type: 'float' },
        { name: 'petal', type: 'float' },
        { name: 'colour', type: 'categorical', encoding: 'hash', buckets: 16 },
        { name: 'count', type: 'integer' },
        { name: 'species', role: 'label', type: 'categorical', levels: ['setosa', 'virginica'] },
      ],
    });
    expect(r.privateSchema.columns[2]).toEqual({
      name: 'colour',
      type: 'categorical',
      levels: ['blue', 'red'],
      encoding: 'hash',
    });
    const table = iris
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    expect(r.commitment).toBe(commitmentOfTable(table));
    expect(r.csvBytes).toBe(enc(iris).length);
  });

  it('sorts integer-looking classes numerically', async () => {
    const r = await inspectCsv(enc('f,y\n1,10\n2,2\n3,1\n'), { label: 'y', k: 1 });
    expect(r.classes).toEqual(['1', '2', '10']);
  });

  it('gives the same commitment whatever the line endings, quoting, BOM or compression', async () => {
    await fc.assert(
      fc.asyncProperty(
        tableArb.filter(
          (t) =>
            t.length >= 2 &&
            t[0].length >= 2 &&
            new Set(t[0]).size === t[0].length &&
            // eslint-disable-next-line no-control-regex -- C0 controls and DEL are refused in column names
            t[0].every((h) => h !== '' && !/[\u0000-\u001f\u007f]/.test(h)) &&
            t.slice(1).every((r) => r[r.length - 1] !== ''),
        ),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.boolean(),
        async (table, crlf, quote, trailing, gzip) => {
          const label = table[0][table[0].length - 1];
          const plain = enc(serialiseCsv(table, { crlf: [false], quote: [false], trailing: true }).text);
          let other = enc((gzip ? '' : '\ufeff') + serialiseCsv(table, { crlf, quote, trailing }).text);
          if (gzip) other = gzipSync(other);
          // Every feature declared text (any value, no missing tokens): the commitment, not inference, is tested.
          const schema: DatasetSchema = {
            label,
            k: 1,
            missing: [],
            columns: table[0].map((name) =>
              name === label ? { name, type: 'categorical' as const } : { name, type: 'text' as const },
            ),
          };
          const opts = { label, schema, maxClasses: 1000 };
          const a = await inspectCsv(plain, opts);
          const b = await inspectCsv(chunked(other, [3, 11]), opts);
          expect(b.commitment).toBe(a.commitment);
          expect(a.commitment).toBe(commitmentOfTable(table));
          expect(b.rows).toBe(table.length - 1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('changes the commitment when any field changes', async () => {
    const a = await inspectCsv(enc('x,y\n1,a\n'), { label: 'y', k: 1 });
    for (const t of ['x,y\n1,b\n', 'x,y\n1.0,a\n', 'x,z\n1,a\n', 'x,y\n1,a\n1,a\n', 'y,x\na,1\n'])
      expect((await inspectCsv(enc(t), { label: t.startsWith('x,z') ? 'z' : 'y', k: 1 })).commitment).not.toBe(
        a.commitment,
      );
    // Field boundaries are length-prefixed: moving a comma changes the commitment.
    expect(commitmentOfTable([['ab', 'c']])).not.toBe(commitmentOfTable([['a', 'bc']]));
  });

  const bad: [string, string, { code: string; line?: number; column?: number }, object?][] = [
    ['empty file', '', { code: 'EMPTY_FILE' }],
    ['header only', 'a,b\n', { code: 'EMPTY_FILE' }],
    ['ragged row (short)', 'a,b\n1,x\n2\n', { code: 'RAGGED_ROW', line: 3, column: 2 }],
    ['ragged row (long)', 'a,b\n1,x\n2,y,3\n', { code: 'RAGGED_ROW', line: 3, column: 3 }],
    ['quote inside an unquoted field', 'a,b\n1,x"y\n', { code: 'BAD_QUOTING', line: 2, column: 2 }],
    ['text after a closing quote', 'a,b\n"1"2,x\n', { code: 'BAD_QUOTING', line: 2, column: 1 }],
    ['unterminated quote', 'a,b\n1,x\n2,"y\nz\n', { code: 'BAD_QUOTING', line: 3, column: 2 }],
    ['bare carriage return', 'a,b\r1,x\n', { code: 'BAD_LINE_ENDING', line: 1, column: 2 }],
    ['invalid UTF-8', 'a,b\n1,x\n2,\xff\n', { code: 'INVALID_UTF8', line: 3 }],
    ['invalid UTF-8 inside an escaped quoted field', 'a,b\n1,x\n2,"\xc3""\xa9"\n', { code: 'INVALID_UTF8', line: 3 }],
    ['random bytes (NUL among them)', 'a\u0000\xfe\x9c,b\n1,x\n', { code: 'NOT_CSV' }],
    ['a header line that is not UTF-8', '\xff\xfe,b\n1,x\n', { code: 'NOT_CSV' }],
    ['an age-encrypted file', 'age-encryption.org/v1\n-> X25519 abc\n', { code: 'NOT_CSV' }],
    ['an armored age file', '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n', { code: 'NOT_CSV' }],
    ['missing label column', 'a,b\n1,x\n', { code: 'MISSING_LABEL', line: 1 }, { label: 'y', k: 1 }],
    ['duplicate header names', 'a,b,a\n1,x,2\n', { code: 'DUPLICATE_HEADER', line: 1, column: 3 }],
    ['a label column alone', 'b\nx\n', { code: 'NO_FEATURES', line: 1 }],
    [
      'a control character in a header name',
      'a,"b\nc",d\n1,2,x\n',
      { code: 'BAD_HEADER', line: 1, column: 2 },
      { label: 'd' },
    ],
    ['empty header name', 'a,,b\n1,2,x\n', { code: 'EMPTY_HEADER', line: 1, column: 2 }],
    [
      'non-numeric value in a numeric column (declared)',
      'a,b\n1,x\n2.5,x\nfoo,x\n',
      { code: 'NOT_NUMERIC', line: 4, column: 1 },
      { schema: 'float' },
    ],
    [
      'empty value in a numeric column declared without missing tokens',
      'a,b\n1,x\n,x\n',
      { code: 'NOT_NUMERIC', line: 3, column: 1 },
      { schema: 'float-no-missing' },
    ],
    [
      'fraction in an integer column',
      'a,b\n1,x\n2.5,x\n',
      { code: 'NOT_INTEGER', line: 3, column: 1 },
      { schema: 'integer' },
    ],
    ['unknown class', 'a,b\n1,x\n2,z\n', { code: 'UNKNOWN_LEVEL', line: 3, column: 2 }, { schema: 'float' }],
    [
      'header differs from the schema',
      'a,c\n1,x\n',
      { code: 'SCHEMA_MISMATCH', line: 1, column: 2 },
      { schema: 'float' },
    ],
    ['fewer columns than the schema', 'a\n1\n', { code: 'SCHEMA_MISMATCH', line: 1, column: 2 }, { schema: 'float' }],
    [
      'a numeric column with one non-numeric value (never silently categorical)',
      'a,b\n1,x\n2,x\n3,x\nq,x\n',
      { code: 'AMBIGUOUS_TYPE', line: 5, column: 1 },
      { maxCategoricalLevels: 2 },
    ],
    ['too many classes', 'a,b\n1,x\n2,y\n3,z\n', { code: 'TOO_MANY_LEVELS', line: 4, column: 2 }, { maxClasses: 2 }],
  ];
  const declared = (type: 'float' | 'integer' | 'float-no-missing'): DatasetSchema => ({
    label: 'b',
    columns: [
      type === 'float-no-missing' ? { name: 'a', type: 'float', missing: [] } : { name: 'a', type },
      { name: 'b', type: 'categorical', levels: ['x', 'y'] },
    ],
  });

  it.each(bad)('refuses %s with a typed error naming line and column', async (_name, text, want, extra = {}) => {
    const { schema, ...rest } = extra as { schema?: 'float' | 'integer' | 'float-no-missing' };
    const options = { label: 'b', k: 1, ...rest, ...(schema ? { schema: declared(schema) } : {}) };
    const bytes = Buffer.from(text, 'latin1');
    const err = await inspectCsv(bytes, options).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatasetError);
    expect(err).toMatchObject(want);
    const e = err as DatasetError;
    if (want.line !== undefined) expect(e.message).toContain(`line ${want.line}`);
    if (want.column !== undefined) expect(e.message).toContain(`column ${want.column}`);
    // Same verdict when the bytes arrive one at a time.
    await expect(inspectCsv(chunked(bytes, [1]), options)).rejects.toMatchObject(want);
  });

  it('never puts a data value into an error message', async () => {
    const err = (await inspectCsv(enc('a,b\nsecret-value-42,x\n'), {
      label: 'b',
      k: 1,
      schema: declared('float'),
    }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(DatasetError);
    expect(err.message).not.toContain('secret-value-42');
  });

  it('validates against a declared schema and returns it', async () => {
    const r = await inspectCsv(enc('a,b\n1,x\n2.5,y\n'), { label: 'b', k: 1, schema: declared('float') });
    expect(r.privateSchema).toEqual({ ...declared('float'), k: 1 });
    expect(r.schema).toEqual({
      label: 'b',
      k: 1,
      columns: [
        { name: 'a', type: 'float' },
        { name: 'b', role: 'label', type: 'categorical', levels: ['x', 'y'] },
      ],
    });
    expect(r.classes).toEqual(['x', 'y']);
  });

  it('refuses an invalid declared schema', async () => {
    await expect(
      inspectCsv(enc('a,b\n1,x\n'), {
        label: 'b',
        schema: {
          label: 'b',
          columns: [
            { name: 'a', type: 'float' },
            { name: 'b', type: 'float' },
          ],
        },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_SCHEMA' });
  });
});

describeScans('inspectCsvTee and createInspectStream', () => {
  const text = 'a,b\n1,x\n2,y\n';

  it('pass the raw bytes through unchanged and resolve the same result', async () => {
    const gz = gzipSync(enc(text));
    const tee = inspectCsvTee(chunked(gz, [4]), { label: 'b', k: 1 });
    const seen: Uint8Array[] = [];
    for await (const c of tee.bytes) seen.push(c);
    expect(Buffer.concat(seen)).toEqual(Buffer.from(gz));
    const want = await inspectCsv(enc(text), { label: 'b', k: 1 });
    expect(await tee.result).toEqual(want);

    const stream = createInspectStream({ label: 'b', k: 1 });
    const out: Buffer[] = [];
    stream.on('data', (c: Buffer) => out.push(c));
    const ended = new Promise((r) => stream.on('end', r));
    for (const c of chunked(enc(text), [3])) stream.write(c);
    stream.end();
    await ended;
    expect(Buffer.concat(out).toString()).toBe(text);
    expect(await stream.result).toEqual(want);
  });

  it('throw from the byte stream before its last chunk when the data is refused', async () => {
    const tee = inspectCsvTee(chunked(enc(text + '3\n'), [4]), { label: 'b', k: 1 });
    const seen: Uint8Array[] = [];
    await expect(
      (async () => {
        for await (const c of tee.bytes) seen.push(c);
      })(),
    ).rejects.toMatchObject({ code: 'RAGGED_ROW', line: 4 });
    expect(Buffer.concat(seen).length).toBeLessThan(text.length + 2);
    await expect(tee.result).rejects.toMatchObject({ code: 'RAGGED_ROW' });
  });
});

describeScans('toDense', () => {
  const text = 'f,c,n,y\n1.5,red,3,b\n-2,blue,4,a\n0,red,5,b\n';
  const schema: DatasetSchema = {
    label: 'y',
    columns: [
      { name: 'f', type: 'float' },
      { name: 'c', type: 'categorical', levels: ['blue', 'red'] },
      { name: 'n', type: 'integer' },
      { name: 'y', type: 'categorical', levels: ['a', 'b'] },
    ],
  };

  it('one-hot encodes categorical features and indexes the labels', async () => {
    const d = await toDense(enc(text), schema);
    expect(d.featureNames).toEqual(['f', 'c=blue', 'c=red', 'n']);
    expect(Array.from(d.features)).toEqual([1.5, 0, 1, 3, -2, 1, 0, 4, 0, 0, 1, 5]);
    expect(Array.from(d.labels)).toEqual([1, 0, 1]);
    expect(d.rows).toBe(3);
    expect(d.classes).toEqual(['a', 'b']);
  });

  it('index-encodes categorical features on request, and agrees with the inferred schema', async () => {
    const d = await toDense(enc(text), schema, { categorical: 'index' });
    expect(d.featureNames).toEqual(['f', 'c', 'n']);
    expect(Array.from(d.features)).toEqual([1.5, 1, 3, -2, 0, 4, 0, 1, 5]);
    // The inferred (public) schema hashes c: its feature is the value's bucket.
    const inferred = (await inspectCsv(enc(text), { label: 'y', k: 1 })).schema;
    const h = inferred.columns[1].type === 'categorical' ? inferred.columns[1].buckets! : 0;
    const bucket = (v: string) => hashBucket(Buffer.from(v), 0, v.length, h);
    const i = await toDense(enc(text), inferred, { categorical: 'index' });
    expect(Array.from(i.features)).toEqual([1.5, bucket('red'), 3, -2, bucket('blue'), 4, 0, bucket('red'), 5]);
  });

  it('grows past its initial capacity', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => `${i},red,${i % 7},${i % 2 ? 'a' : 'b'}`);
    const d = await toDense(enc(`f,c,n,y\n${rows.join('\n')}\n`), schema);
    expect(d.rows).toBe(3000);
    expect(d.features[2999 * 4]).toBe(2999);
    expect(d.labels[2999]).toBe(0);
  });

  it('refuses values that do not match the schema', async () => {
    await expect(toDense(enc('f,c,n,y\n1,green,3,a\n'), schema)).rejects.toMatchObject({
      code: 'UNKNOWN_LEVEL',
      line: 2,
      column: 2,
    });
  });
});
