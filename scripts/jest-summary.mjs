// Counting jest's results for `npm test`'s closing line, so that the line stays true when jest fails.
//
// The --json report is the precise source, but it can be missing: jest crashes writing it when a failure carries a
// circular object ("Converting circular structure to JSON"), or jest dies before writing it. Jest's own summary
// ("Tests: 15 failed, 2 skipped, 447 passed, 464 total") is printed in every case, so it is the fallback, and a
// cross-check: the failures counted are never fewer than either source shows, and never zero when jest failed.

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * Parses the last "Tests:" summary line jest printed (and counts suites that failed to run, which that line omits).
 * Returns null when the output has no summary line.
 * @param {string} output jest's stdout and stderr
 */
export function parseJestSummary(output) {
  const text = output.replace(ANSI, '');
  const lines = [...text.matchAll(/^Tests:\s+(.*\d+ total)\s*$/gm)];
  if (lines.length === 0) return null;
  const line = lines.at(-1)[1];
  const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(line)?.[1] ?? 0);
  return {
    passed: count('passed'),
    failed: count('failed'),
    skipped: count('skipped') + count('todo'),
    total: count('total'),
    // A suite that cannot run (syntax error, failing import) has no tests, so "Tests:" does not count it.
    suitesFailedToRun: (text.match(/● Test suite failed to run/g) ?? []).length,
  };
}

/**
 * Counts from jest's --json report (numbers only; the report's shape is jest's AggregatedResult).
 * @param {any} report
 */
export function countsFromReport(report) {
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + report.numRuntimeErrorTestSuites,
    skipped: report.numPendingTests + report.numTodoTests,
    total: report.numTotalTests,
  };
}

/**
 * Jest's counts for the closing line from whatever is available.
 * @param {{ report: any | null, output: string, exitCode: number | null }} run
 * @returns {{ passed: number, failed: number, skipped: number, ok: boolean, source: string }}
 */
export function jestCounts({ report, output, exitCode }) {
  const summary = parseJestSummary(output);
  const fromSummary = summary && {
    passed: summary.passed,
    failed: summary.failed + summary.suitesFailedToRun,
    skipped: summary.skipped,
    total: summary.total,
  };
  const fromReport = report ? countsFromReport(report) : null;
  const base = fromReport ?? fromSummary ?? { passed: 0, failed: 0, skipped: 0, total: 0 };
  let failed = Math.max(fromReport?.failed ?? 0, fromSummary?.failed ?? 0);
  // Jest failed but neither source shows a failure (a crash before any summary, a failed coverage threshold…):
  // the run itself is one failure.
  if (exitCode !== 0 && failed === 0) failed = 1;
  const source = fromReport ? 'json report' : fromSummary ? "jest's summary line (no json report)" : 'none';
  return {
    passed: base.passed,
    failed,
    skipped: base.skipped,
    ok: exitCode === 0 && failed === 0 && base.total > 0,
    source,
  };
}
