// Writes dist/libs/dataset/src/inspector-flat.js: the compiled CsvInspector (run `npm run build` first) with `record`
// taking the flat sink's `first` argument (simd-tokenizer.mjs, flat mode): the fields of a record are at
// [first, first + count) of starts/ends/classes. Prototype only: measures what the inspector costs fed by scanFlat
// (bench.mjs inspectFlat), without editing libs/. Each replacement must apply exactly once.
import { readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('../../dist/libs/dataset/src/', import.meta.url);
let js = readFileSync(new URL('inspector.js', dir), 'utf8');
const replace = (from, to) => {
  const n = js.split(from).length - 1;
  if (n !== 1) throw new Error(`expected one ${JSON.stringify(from)}, found ${n}`);
  js = js.replace(from, to);
};
replace(
  `    record(buf, starts, ends, count, line, raw, classes) {
        if (this.ncols === 0) {`,
  `    record(buf, starts, ends, count, line, raw, classes, first = 0) {
        if (this.ncols === 0) {
            if (first !== 0) {
                starts = starts.subarray(first);
                ends = ends.subarray(first);
                classes = classes.subarray(first);
                first = 0;
            }`,
);
replace('const s = starts[i];', 'const s = starts[first + i];');
replace('const e = ends[i];', 'const e = ends[first + i];');
replace('const cls = classes[i];', 'const cls = classes[first + i];');
replace(
  `        this.commit(buf, starts, ends, count, raw);
        this.rows++;`,
  `        this.commit(buf, starts, ends, count, raw, first);
        this.rows++;`,
);
replace(
  `    commit(buf, starts, ends, count, raw) {
        // A lone empty field is the one plain record whose canonical form differs from its bytes (it is written "").
        if (raw.plain && (count > 1 || ends[0] > starts[0]))
            this.hasher.addPlain(buf, raw.start, raw.end, raw.offset);
        else
            this.hasher.addRecord(buf, starts, ends, count);`,
  `    commit(buf, starts, ends, count, raw, first = 0) {
        // A lone empty field is the one plain record whose canonical form differs from its bytes (it is written "").
        if (raw.plain && (count > 1 || ends[first] > starts[first]))
            this.hasher.addPlain(buf, raw.start, raw.end, raw.offset);
        else
            this.hasher.addRecord(buf, first ? starts.subarray(first) : starts, first ? ends.subarray(first) : ends, count);`,
);
writeFileSync(new URL('inspector-flat.js', dir), js);
console.log('wrote dist/libs/dataset/src/inspector-flat.js');
