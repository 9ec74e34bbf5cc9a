// Shared reporting for benchmarks: every figure stands beside a baseline measured in the same run.
// `--json` prints one JSON object {bench, figures:[{name, value, unit, baseline, ratio, target}]}.

export interface Target {
  readonly op: '<=' | '>=';
  readonly of: 'value' | 'ratio';
  readonly value: number;
}

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The same-run baseline this figure is compared with (same unit), or null when the figure stands alone. */
  readonly baseline: number | null;
  readonly ratio: number | null;
  readonly target?: Target;
}

export function figure(name: string, value: number, unit: string, baseline: number | null, target?: Target): Figure {
  const ratio = baseline === null || baseline === 0 ? null : value / baseline;
  return { name, value, unit, baseline, ratio, ...(target ? { target } : {}) };
}

export function meets(f: Figure): boolean | null {
  if (!f.target) return null;
  const x = f.target.of === 'value' ? f.value : f.ratio;
  if (x === null) return null;
  return f.target.op === '<=' ? x <= f.target.value : x >= f.target.value;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs fn `runs` times (after `warmup` unmeasured runs) and returns the median wall time in milliseconds. */
export async function medianMs(fn: () => unknown, runs = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

export const wantsJson = (argv: readonly string[] = process.argv): boolean => argv.includes('--json');

const fmt = (x: number | null): string =>
  x === null ? '-' : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);

/** Prints the figures as a table (or as one JSON object with --json). */
export function report(bench: string, figures: readonly Figure[], argv: readonly string[] = process.argv): void {
  if (wantsJson(argv)) {
    process.stdout.write(JSON.stringify({ bench, figures }) + '\n');
    return;
  }
  const rows = figures.map((f) => {
    const ok = meets(f);
    const target = f.target ? `${f.target.of} ${f.target.op} ${f.target.value}` : '';
    return [
      f.name,
      `${fmt(f.value)} ${f.unit}`,
      f.baseline === null ? '-' : `${fmt(f.baseline)} ${f.unit}`,
      fmt(f.ratio),
      target,
      ok === null ? '' : ok ? 'ok' : 'MISSED',
    ];
  });
  const head = ['figure', 'value', 'baseline', 'ratio', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`bench ${bench}`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
