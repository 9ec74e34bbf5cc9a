// Property-style comparison of SimdTokenizer with CsvTokenizer (dist/ build of libs/dataset/src/tokenizer.ts): random
// CSV (numbers of every class, text, quoted fields with commas, LF, CRLF and "", empty fields, blank lines, fields of
// 60..300 bytes, CRLF or LF, BOM, no final line break) and malformed CSV, pushed in random chunks; the sink calls
// (line, input positions, plain, field bytes, classes) and the error (code, message, line, column) must be equal.
// Both SimdTokenizer modes are compared (entries + JS copy into the sink's arrays, and flat: scanFlat's own arrays).
// Usage: node bench/simd-proto/verify.mjs [cases] [seed]
import { CsvTokenizer } from '../../dist/libs/dataset/src/tokenizer.js';
import { SimdTokenizer, newInstance } from './simd-tokenizer.mjs';

const cases = Number(process.argv[2] ?? 3000);
let seed = Number(process.argv[3] ?? 1) >>> 0 || 1;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
const int = (n) => Math.floor(rnd() * n);
const pick = (a) => a[int(a.length)];

const digits = (n) => Array.from({ length: n }, () => int(10)).join('');
const unquoted = () =>
  pick([
    () => digits(1 + int(6)),
    () => `${digits(int(4))}.${digits(int(4))}`,
    () => `${pick(['-', '+'])}${digits(int(5))}.${digits(int(3))}`,
    () => `${pick(['-', '+', ''])}${digits(1 + int(3))}${pick(['e', 'E'])}${pick(['', '-', '+'])}${digits(int(3))}`,
    () => pick(['', '.', '..', '-', '+-1', '1-', '1.2.3', '-.5', '5.', 'e', 'NaN', 'red', 'x1', '1 ', ' 1', '1/2']),
    () => digits(55 + int(20)), // around the 63-byte classification limit
    () => `${digits(30 + int(40))}.${digits(int(10))}`,
    () => 'ab'.repeat(30 + int(120)), // long text
    () => pick(['red', 'green', 'blue', 'amber', 'violet', 'héllo', 'naïve']),
  ])();
const quoted = () => {
  const parts = [];
  for (let i = int(5); i > 0; i--) parts.push(pick(['a', ',', '\n', '\r\n', '""', '1.5', 'x'.repeat(int(80)), ' ']));
  return `"${parts.join('')}"`;
};
function csv(wild) {
  const eol = pick(['\n', '\r\n', 'mixed']);
  const rows = [];
  const cols = 1 + int(8);
  for (let r = int(30); r >= 0; r--) {
    if (rnd() < 0.03) {
      rows.push('');
      continue;
    }
    const n = rnd() < 0.9 ? cols : 1 + int(10);
    rows.push(Array.from({ length: n }, () => (rnd() < wild ? quoted() : unquoted())).join(','));
  }
  let text = '';
  for (const row of rows) text += row + (eol === 'mixed' ? pick(['\n', '\r\n']) : eol);
  if (rnd() < 0.3) text = text.replace(/\r?\n$/, '');
  if (rnd() < 0.05) text = '\ufeff' + text;
  return text;
}
/** Breaks a valid CSV: a stray quote, a lone CR, text after a closing quote, an unterminated quote. */
function malformed(text) {
  const at = int(text.length + 1);
  const bad = pick(['"', '\r', 'x"y', '"a"b', '"open', '\rz']);
  return text.slice(0, at) + bad + text.slice(at);
}

function run(Tok, bytes, cuts, makeArg) {
  const seen = [];
  const tok = new Tok(
    (buf, starts, ends, count, line, raw, classes, first = 0) => {
      const fields = [];
      for (let i = first; i < first + count; i++) fields.push(`${classes[i]}:${buf.latin1Slice(starts[i], ends[i])}`);
      seen.push(`${line}|${raw.offset + raw.start}|${raw.offset + raw.end}|${raw.plain}|${fields.join('\u0001')}`);
    },
    // Regions: compared by their bytes and line (their positions are in each tokenizer's own buffer).
    (buf, start, end, line) => seen.push(`region ${line} ${buf.latin1Slice(start, end)}`),
    ...(makeArg?.() ?? []),
  );
  try {
    let at = 0;
    for (const c of cuts) {
      tok.push(bytes.subarray(at, c));
      at = c;
    }
    tok.push(bytes.subarray(at));
    tok.finish();
  } catch (e) {
    seen.push(`error ${e.code} ${e.message} ${e.line} ${e.column}`);
  }
  return seen;
}

const instance = newInstance();
let mismatches = 0;
let errors = 0;
let records = 0;
for (let i = 0; i < cases; i++) {
  let text = csv(pick([0, 0.05, 0.3, 0.8]));
  if (i % 4 === 3) text = malformed(text);
  const bytes = Buffer.from(text, 'utf8');
  const cuts = [];
  const mode = int(3);
  for (let at = 0; ;) {
    at += mode === 0 ? 1 + int(8) : mode === 1 ? 1 + int(200) : 1 + int(5000);
    if (at >= bytes.length) break;
    cuts.push(at);
  }
  const a = run(CsvTokenizer, bytes, cuts);
  const b = run(SimdTokenizer, bytes, cuts, () => [instance, false]);
  const c = run(SimdTokenizer, bytes, cuts, () => [instance, true]);
  records += a.length;
  if (a.at(-1)?.startsWith('error')) errors++;
  if (a.join('\n') !== b.join('\n') || a.join('\n') !== c.join('\n')) {
    mismatches++;
    if (mismatches <= 3) {
      const j = a.findIndex((x, k) => x !== b[k]);
      console.log(
        `case ${i}: first difference at sink call ${j}\n  js:   ${JSON.stringify(a[j])}\n  simd: ${JSON.stringify(b[j])}`,
      );
      console.log(`  input ${JSON.stringify(text.slice(0, 400))} cuts ${cuts.slice(0, 20)}`);
    }
  }
}
console.log(
  `${cases} cases (${errors} ending in an error), ${records} sink calls/errors compared, ${mismatches} mismatches`,
);
process.exitCode = mismatches === 0 ? 0 : 1;
