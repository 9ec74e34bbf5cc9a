// CPU time (process.cpuUsage, user + system) per input byte of: the JS tokenizer (CsvTokenizer), the wasm mask pass
// alone, the wasm scan (masks + walk, entries in wasm memory, no JS), the prototype tokenizer (copy into wasm memory +
// scan + JS dispatch to the sink), the copy alone, and the inspector (CsvInspector with deferCommitment, as the inspect
// worker runs it) with either tokenizer. Input: bench/ingest.ts's synthetic CSV (makePool, copied below), `MIB` MiB in
// 1 MiB chunks. Variants run interleaved, `ROUNDS` rounds after one warm-up round; medians reported.
// Usage: node --import ./scripts/register-aliases.mjs bench/simd-proto/bench.mjs [MiB=64] [rounds=11]
import { CsvTokenizer } from '../../dist/libs/dataset/src/tokenizer.js';
import { CsvInspector } from '../../dist/libs/dataset/src/inspector.js';
import { CommitmentPlan } from '../../dist/libs/dataset/src/commitment.js';
import { SimdTokenizer, newInstance } from './simd-tokenizer.mjs';

// The inspector with record(…, first) for the flat sink: written by make-flat-inspector.mjs from the build.
const { CsvInspector: CsvInspectorFlat } = await import('../../dist/libs/dataset/src/inspector-flat.js');

const MIB = 1 << 20;
const target = Number(process.argv[2] ?? 64) * MIB;
const ROUNDS = Number(process.argv[3] ?? 11);
const HEADER = 'sepal_length,sepal_width,petal_length,petal_width,count,colour,species\n';

function makePool(bytes) {
  const colours = ['red', 'green', 'blue', 'amber', 'violet'];
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const pool = Buffer.allocUnsafe(bytes + 256);
  let size = 0;
  while (size < bytes) {
    const row =
      `${(next() % 1_000_000) / 10_000},${(next() % 100_000) / 1000},-${(next() % 99_999) / 1000},` +
      `${(next() % 1_000_000) / 100_000},${next() % 100},${colours[next() % 5]},${next() % 3}\n`;
    size += pool.write(row, size, 'latin1');
  }
  return pool.subarray(0, size);
}
const pool = makePool(8 * MIB);
const lastRowEnd = pool.lastIndexOf(0x0a, pool.length - 1) + 1;
function* csv() {
  const header = Buffer.from(HEADER, 'latin1');
  yield header;
  let emitted = header.length;
  while (emitted < target) {
    for (let at = 0; at < lastRowEnd && emitted < target; at += MIB) {
      let end = Math.min(at + MIB, lastRowEnd);
      if (emitted + (end - at) >= target) end = pool.indexOf(0x0a, at + (target - emitted)) + 1 || lastRowEnd;
      yield pool.subarray(at, end);
      emitted += end - at;
    }
  }
}
const chunks = [...csv()];
const bytes = chunks.reduce((s, c) => s + c.length, 0);

let acc = 0;
const sink = (buf, starts, ends, count, line, raw, classes) => {
  acc = (acc + count + classes[count - 1] + ends[count - 1] - starts[0] + buf[starts[0]]) | 0;
};

const flatSink = (buf, starts, ends, count, line, raw, classes, first) => {
  const last = first + count - 1;
  acc = (acc + count + classes[last] + ends[last] - starts[first] + buf[starts[first]]) | 0;
};

/** The wasm instance the wasm-only variants use, with the pool copied in once (at DATA = 4 MiB). */
const w = newInstance();
const DATA = 4 * MIB;
w.memory.grow(Math.ceil((DATA + pool.length + 64 - w.memory.buffer.byteLength) / 65536));
new Uint8Array(w.memory.buffer).set(pool.subarray(0, lastRowEnd), DATA);
const poolEnd = DATA + lastRowEnd;
const rounds = Math.ceil(target / lastRowEnd);

const variants = {
  js: () => {
    const t = new CsvTokenizer(sink);
    for (const c of chunks) t.push(c);
    t.finish();
    return bytes;
  },
  simd: () => {
    const t = new SimdTokenizer(sink);
    for (const c of chunks) t.push(c);
    t.finish();
    return bytes;
  },
  simdFlat: () => {
    const t = new SimdTokenizer(flatSink, undefined, undefined, true);
    for (const c of chunks) t.push(c);
    t.finish();
    return bytes;
  },
  masks: () => {
    let n = 0;
    for (let r = 0; r < rounds; r++)
      for (let p = DATA; p < poolEnd; p += MIB) {
        const end = Math.min(p + MIB, poolEnd);
        acc ^= w.masks(p, end, 0);
        n += end - p;
      }
    return n;
  },
  scan: () => {
    let n = 0;
    for (let r = 0; r < rounds; r++)
      for (let p = DATA; p < poolEnd;) {
        acc ^= w.scan(p, Math.min(p + MIB, poolEnd), 0, 1 << 20);
        const next = w.consumed.value;
        n += next - p;
        p = next;
      }
    return n;
  },
  scanFlat: () => {
    let n = 0;
    for (let r = 0; r < rounds; r++)
      for (let p = DATA; p < poolEnd;) {
        acc ^= w.scanFlat(p, Math.min(p + MIB, poolEnd), 0, 1 << 14);
        const next = w.consumed.value;
        n += next - p;
        p = next;
      }
    return n;
  },
  copy: () => {
    const u8 = new Uint8Array(w.memory.buffer);
    let n = 0;
    // Into the entry area (0 .. 4 MiB), as append copies each chunk after the pending bytes.
    for (const c of chunks) {
      u8.set(c, 0);
      n += c.length;
    }
    return n;
  },
  inspectJs: () => inspect('js'),
  inspectSimd: () => inspect('simd'),
  inspectFlat: () => inspect('flat'),
};

/** Per inspector variant, its result and commitment plan (JSON) from the last run: must be equal across variants. */
const outcomes = {};
function inspect(mode) {
  const inspector = new (mode === 'flat' ? CsvInspectorFlat : CsvInspector)({ label: 'species' });
  const plan = new CommitmentPlan();
  inspector.deferCommitment(plan);
  if (mode === 'flat') {
    inspector.tokenizer = new SimdTokenizer(
      (buf, starts, ends, count, line, raw, classes, first) =>
        inspector.record(buf, starts, ends, count, line, raw, classes, first),
      (buf, start, end, line) => {
        inspector.checkUtf8(buf, start, end, line);
        inspector.hasher.flushRun();
      },
      undefined,
      true,
    );
  } else if (mode === 'simd') {
    // Swap the tokenizer for the prototype, with the inspector's own sinks (inspector.ts constructor).
    inspector.tokenizer = new SimdTokenizer(
      (buf, starts, ends, count, line, raw, classes) => inspector.record(buf, starts, ends, count, line, raw, classes),
      (buf, start, end, line) => {
        inspector.checkUtf8(buf, start, end, line);
        inspector.hasher.flushRun();
      },
    );
  }
  const ops = [];
  for (const c of chunks) {
    inspector.push(c);
    const t = plan.take();
    ops.push(Array.from(t.ops).join(), t.literal.length);
  }
  const result = inspector.finish();
  const t = plan.take();
  ops.push(Array.from(t.ops).join(), t.literal.length);
  acc ^= result.rows;
  outcomes[mode] = JSON.stringify(result) + ops.join(';');
  return bytes;
}

const names = process.env.ONLY ? process.env.ONLY.split(',') : Object.keys(variants);
const results = Object.fromEntries(names.map((k) => [k, []]));
for (let round = -1; round < ROUNDS; round++) {
  // Rotate the order each round so no variant always runs first (after GC) or after the same one.
  const order = names.map((_, i) => names[(i + round + 1) % names.length]);
  for (const k of order) {
    const c = process.cpuUsage();
    const n = variants[k]();
    const u = process.cpuUsage(c);
    if (round >= 0) results[k].push(((u.user + u.system) * 1e3) / n);
  }
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(
  `${(bytes / MIB).toFixed(0)} MiB per run, ${ROUNDS} interleaved rounds; CPU ns per input byte (= CPU-s/GB)`,
);
for (const k of names) {
  const r = results[k];
  console.log(
    `${k.padEnd(12)} median ${median(r).toFixed(3)}  min ${Math.min(...r).toFixed(3)}  max ${Math.max(...r).toFixed(3)}`,
  );
}
const inspected = Object.values(outcomes);
if (inspected.length > 1)
  console.log(
    `inspector results and commitment plans equal across ${Object.keys(outcomes)}: ${inspected.every((o) => o === inspected[0])}`,
  );
if (acc === 0.5) console.log(acc);
