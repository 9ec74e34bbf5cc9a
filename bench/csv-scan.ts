// `npm run bench -- csv-scan [--json] [--size MB] [--rounds N]` (default 64 MB, whole 8 MiB passes, x 9 rounds)
// The CSV tokenizer's two scans (libs/dataset/src/tokenizer.ts): the wasm SIMD scan and the JS state machine alone,
// in CPU time (process.cpuUsage, user + system) per input byte, ns/byte = CPU-s/GB. Two levels:
// - the tokenizer with a sink that does nothing;
// - the inspector as the inspect worker runs it (inspect-worker.ts: CsvInspector with deferCommitment, the
//   CommitmentPlan taken after every chunk), without the worker's messaging.
// The variants run interleaved (the order rotates every round) after a warm-up round; the figures are medians. The CSV
// is bench/ingest.ts's: ~60-byte rows of 4 floats, 1 integer, 1 categorical and a 3-class label, in 1 MiB chunks.
// It also guards against a V8 change undoing the scan's speed (README of the prototype, docs/simd-scan-prototype.md):
// the wasm tokenizer must stay well under the JS one.
import { CsvInspector, CsvTokenizer } from '@sealfold/dataset';
import { CommitmentPlan } from '../libs/dataset/src/commitment.js';
import { type Figure, figure, median, report, wantsJson } from './lib/report.js';
import { syntheticCsvHeader, syntheticCsvPool } from './lib/synthetic-csv.js';
import { positiveArg, positiveIntegerArg } from './lib/args.js';

const MIB = 1 << 20;
const target = Math.round(positiveArg('size', 64) * 1e6);
const rounds = positiveIntegerArg('rounds', 9);

const pool = syntheticCsvPool(8 * MIB);
const chunks: Uint8Array[] = [syntheticCsvHeader()];
// Whole passes over the pool (it ends on a row boundary), so the input ends with a complete row.
for (let sent = 0; sent < target; sent += pool.length)
  for (let at = 0; at < pool.length; at += MIB) chunks.push(pool.subarray(at, Math.min(at + MIB, pool.length)));
const bytes = chunks.reduce((n, c) => n + c.length, 0);

type Scan = 'wasm' | 'js';
function tokenize(scan: Scan): number {
  let records = 0;
  const t = new CsvTokenizer(() => void records++, undefined, scan === 'js' ? 'js' : 'auto');
  if (t.simd !== (scan === 'wasm')) throw new Error(`the ${scan} scan is not available here`);
  for (const c of chunks) t.push(c);
  t.finish();
  return records;
}
function inspect(scan: Scan): number {
  // The inspector's tokenizer takes its scan from the environment (tokenizer.ts defaultScanMode).
  if (scan === 'js') process.env.SEALFOLD_CSV_SCAN = 'js';
  else delete process.env.SEALFOLD_CSV_SCAN;
  const inspector = new CsvInspector({ label: 'species' });
  const plan = new CommitmentPlan();
  inspector.deferCommitment(plan);
  for (const c of chunks) {
    inspector.push(c);
    plan.take();
  }
  return inspector.finish().rows;
}

const variants: Record<string, () => number> = {
  'tokenizer, JS state machine': () => tokenize('js'),
  'tokenizer, wasm SIMD scan': () => tokenize('wasm'),
  'inspector as the worker runs it, JS state machine': () => inspect('js'),
  'inspector as the worker runs it, wasm SIMD scan': () => inspect('wasm'),
};
const names = Object.keys(variants);
const times = new Map<string, number[]>(names.map((n) => [n, []]));
const results = new Map<string, number>();
for (let round = 0; round <= rounds; round++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + round) % names.length];
    const c = process.cpuUsage();
    const result = variants[name]();
    const used = process.cpuUsage(c);
    if (round > 0) times.get(name)!.push(((used.user + used.system) * 1e3) / bytes);
    // Both scans must agree on what they counted (records, rows).
    const key = name.replace(/, .*$/, '');
    if (results.has(key) && results.get(key) !== result) throw new Error(`${name}: ${result} != ${results.get(key)}`);
    results.set(key, result);
  }
}
const ns = (n: string) => median(times.get(n)!);
if (!wantsJson())
  console.log(`${(bytes / 1e6).toFixed(0)} MB per run, ${rounds} interleaved rounds, medians (min..max):`);
const figures: Figure[] = [
  figure('tokenizer: wasm SIMD scan (baseline: JS state machine)', ns(names[1]), 'ns/byte', ns(names[0]), {
    op: '<=',
    of: 'ratio',
    value: 0.6,
  }),
  figure('inspector (worker): wasm SIMD scan (baseline: JS state machine)', ns(names[3]), 'ns/byte', ns(names[2])),
];
if (!wantsJson())
  for (const n of names) {
    const t = times.get(n)!;
    console.log(`  ${n}: ${ns(n).toFixed(3)} (${Math.min(...t).toFixed(3)}..${Math.max(...t).toFixed(3)}) ns/byte`);
  }
report('csv-scan', figures);
