import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  ok: boolean;
  source: string;
}
const { parseJestSummary, jestCounts } = (await import(new URL('./jest-summary.mjs', import.meta.url).href)) as {
  parseJestSummary: (output: string) => {
    passed: number;
    failed: number;
    skipped: number;
    total: number;
    suitesFailedToRun: number;
  } | null;
  jestCounts: (run: { report: unknown; output: string; exitCode: number | null }) => Counts;
};

const root = new URL('..', import.meta.url).pathname;

// jest's closing block, as it prints it to stderr (colour codes included when forced).
const FAILED_RUN = [
  '\u001b[1mTest Suites: \u001b[22m\u001b[1m\u001b[31m1 failed\u001b[39m\u001b[22m, 52 passed, 53 total',
  'Tests:       15 failed, 2 skipped, 447 passed, 464 total',
  'Snapshots:   0 total',
  'Time:        80.1 s',
].join('\n');

describe("jest's summary line", () => {
  it('parses failed, skipped and passed counts (with or without colour codes)', () => {
    expect(parseJestSummary(FAILED_RUN)).toEqual({
      passed: 447,
      failed: 15,
      skipped: 2,
      total: 464,
      suitesFailedToRun: 0,
    });
    expect(parseJestSummary('Tests:       \u001b[32m3 passed\u001b[39m, 3 total\n')).toMatchObject({ passed: 3 });
    expect(parseJestSummary('no summary here')).toBeNull();
  });

  it('counts suites that failed to run, which the Tests: line omits', () => {
    const out = `  ● Test suite failed to run\n\n    SyntaxError\n${FAILED_RUN}`;
    expect(parseJestSummary(out)?.suitesFailedToRun).toBe(1);
  });
});

describe('jestCounts: the closing line stays true when jest fails', () => {
  it('the json report crashed (issue 12: 447 passes and 15 failures were lost)', () => {
    const c = jestCounts({ report: null, output: FAILED_RUN, exitCode: 1 });
    expect(c).toEqual({
      passed: 447,
      failed: 15,
      skipped: 2,
      ok: false,
      source: "jest's summary line (no json report)",
    });
  });

  it('never fewer failures than either source shows', () => {
    const report = {
      numPassedTests: 447,
      numFailedTests: 3,
      numRuntimeErrorTestSuites: 0,
      numPendingTests: 2,
      numTodoTests: 0,
      numTotalTests: 452,
    };
    expect(jestCounts({ report, output: FAILED_RUN, exitCode: 1 }).failed).toBe(15);
  });

  it('jest failed with no report and no summary: one failure, not zero', () => {
    expect(jestCounts({ report: null, output: 'Error: boom', exitCode: 1 })).toMatchObject({ failed: 1, ok: false });
    expect(jestCounts({ report: null, output: '', exitCode: null })).toMatchObject({ failed: 1, ok: false });
  });

  it('a clean run counts from the report and is ok', () => {
    const report = {
      numPassedTests: 5,
      numFailedTests: 0,
      numRuntimeErrorTestSuites: 0,
      numPendingTests: 1,
      numTodoTests: 0,
      numTotalTests: 6,
    };
    expect(jestCounts({ report, output: 'Tests: 1 skipped, 5 passed, 6 total', exitCode: 0 })).toMatchObject({
      passed: 5,
      failed: 0,
      skipped: 1,
      ok: true,
    });
  });
});

describe('npm test end to end on a failing suite whose error jest cannot serialise', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-jest-summary-'));
    // A failure carrying a circular object: jest's --json writer throws "Converting circular structure to JSON".
    writeFileSync(
      join(dir, 'circular.test.mjs'),
      [
        "it('passes', () => expect(1).toBe(1));",
        "it('passes too', () => expect(2).toBe(2));",
        "it('fails with a circular error', () => { const e = new Error('boom'); e.self = e; e.matcherResult = { e }; e.matcherResult.actual = e.matcherResult; throw e; });",
        "it('fails plainly', () => expect(1).toBe(2));",
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the true counts and exits non-zero', () => {
    const config = JSON.stringify({ rootDir: dir, testMatch: ['**/*.test.mjs'], transform: {} });
    const run = spawnSync(process.execPath, [join(root, 'scripts/test.mjs'), '--config', config], {
      cwd: root,
      encoding: 'utf8',
    });
    const closing = run.stdout.trim().split('\n').at(-1);
    expect(closing).toBe('tests: 2 passed, 2 failed, 0 skipped');
    expect(run.status).toBe(1);
  });
});
