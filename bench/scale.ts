// Many silos (issue 16 §3): one SecAgg+ round of n real silos (apps/silo, each its own WebSocket and wallet, several
// per worker process) against one real coordinator (`sealfold coordinator start`, its own process) at each n, with a
// tenth of the silos dropping out after their key shares (before their masked input), so the unmasking path runs.
// Prints the round's wall time, the coordinator's CPU time and RSS per silo (from /proc/<pid>), and its wire bytes per
// silo. Targets: the largest n completes (every silo that did not drop out is in the sum), and the coordinator's CPU
// per silo at the largest n is ≤ 2× that at the one before (SecAgg+ is O(log n) per client: k grows with log n).
// The machine is shared: compare figures within one run.
//
//   npm run bench -- scale [--json] [--silos 10,100,1000] [--workers W] [--dropout 0.1] [--cpu-prof DIR]
import { runScale, type ScaleResult } from './lib/scale-harness.js';
import { figure, report, wantsJson, type Figure } from './lib/report.js';

const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const SIZES = (argOf('silos') ?? '10,100,1000').split(',').map(Number);
if (SIZES.some((n) => !Number.isInteger(n) || n < 10 || n > 1024))
  throw new RangeError('--silos: comma-separated integers in 10..1024');
const WORKERS = argOf('workers') === undefined ? undefined : Number(argOf('workers'));
const DROPOUT = Number(argOf('dropout') ?? 0.1);
/** `--cpu-prof DIR`: a V8 CPU profile of the coordinator process per n, in DIR (open it in Chrome DevTools). */
const PROFILE_DIR = argOf('cpu-prof');
/** Progress and diagnostics: on stdout, or on stderr with --json (stdout then holds only the JSON object). */
const say = (s: string) => (wantsJson() ? console.error(s) : console.log(s));

const results: ScaleResult[] = [];
for (const n of SIZES) {
  say(`n = ${n}:`);
  const r = await runScale({
    silos: n,
    workers: WORKERS,
    dropoutRate: DROPOUT,
    log: say,
    coordinatorProfileDir: PROFILE_DIR && `${PROFILE_DIR}/n${n}`,
  });
  results.push(r);
  say(
    `  round ${r.roundMs.toFixed(0)} ms (job ${r.jobMs.toFixed(0)} ms), ${r.contributors} contributors, ` +
      `${r.dropouts} dropouts (${r.plannedDropouts} planned), ${r.workers} workers; coordinator CPU ` +
      `${r.coordinatorCpuMs.toFixed(0)} ms = ${r.cpuMsPerSilo.toFixed(2)} ms/silo (connecting: ` +
      `${r.connectCpuMsPerSilo.toFixed(2)} ms/silo); RSS idle ${(r.rssIdleBytes / 2 ** 20).toFixed(0)} MiB, ` +
      `connected ${(r.rssConnectedBytes / 2 ** 20).toFixed(0)} MiB, peak ${(r.rssPeakBytes / 2 ** 20).toFixed(0)} MiB; ` +
      `wire in ${r.bytesInPerSilo.toFixed(0)} B/silo, out ${r.bytesOutPerSilo.toFixed(0)} B/silo`,
  );
}

const figures: Figure[] = [];
for (const [i, r] of results.entries()) {
  const prev = i > 0 ? results[i - 1] : null;
  const last = i === results.length - 1;
  const vs = prev ? ` (baseline n = ${prev.silos})` : '';
  figures.push(
    // Completion: every silo that did not drop out is in the sum.
    figure(
      `n = ${r.silos}: contributors (${r.plannedDropouts} dropped after key shares)`,
      r.contributors,
      'silos',
      r.silos - r.plannedDropouts,
      last ? { op: '>=', of: 'ratio', value: 1 } : undefined,
    ),
    figure(`n = ${r.silos}: round wall time${vs}`, r.roundMs, 'ms', prev?.roundMs ?? null),
    figure(
      `n = ${r.silos}: coordinator CPU per silo, whole job${vs}`,
      r.cpuMsPerSilo,
      'ms',
      prev?.cpuMsPerSilo ?? null,
      prev && last ? { op: '<=', of: 'ratio', value: 2 } : undefined,
    ),
    figure(
      `n = ${r.silos}: coordinator CPU per silo, connecting${vs}`,
      r.connectCpuMsPerSilo,
      'ms',
      prev?.connectCpuMsPerSilo ?? null,
    ),
    figure(
      `n = ${r.silos}: coordinator RSS per silo, (peak − idle) / n${vs}`,
      r.rssPerSiloBytes,
      'B',
      prev?.rssPerSiloBytes ?? null,
    ),
    figure(`n = ${r.silos}: coordinator peak RSS${vs}`, r.rssPeakBytes, 'B', prev?.rssPeakBytes ?? null),
    figure(
      `n = ${r.silos}: wire bytes per silo, silo → coordinator${vs}`,
      r.bytesInPerSilo,
      'B',
      prev?.bytesInPerSilo ?? null,
    ),
    figure(
      `n = ${r.silos}: wire bytes per silo, coordinator → silo${vs}`,
      r.bytesOutPerSilo,
      'B',
      prev?.bytesOutPerSilo ?? null,
    ),
  );
}
report('scale', figures);
