// `npm test`: every test of the project — Solidity tests (Hardhat 3) when contracts exist, then the jest suites
// (unit, property, e2e) — and one closing line "tests: N passed, N failed, N skipped" over both. jest's counts come
// from its --json report, or from its own "Tests:" summary line when the report is missing (jest-summary.mjs): the
// closing line never shows fewer failures than happened.
// Extra arguments go to jest (e.g. `npm test -- libs/secagg`); then the Solidity tests are skipped.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jestCounts } from './jest-summary.mjs';

const root = new URL('..', import.meta.url).pathname;
const jestArgs = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
let ok = true;

const hasSolidityTests = (dir) =>
  existsSync(dir) &&
  readdirSync(dir, { recursive: true }).some(
    (f) => String(f).endsWith('.t.sol') && !String(f).includes('node_modules'),
  );

if (jestArgs.length === 0 && hasSolidityTests(join(root, 'contracts'))) {
  console.log('\n== Solidity tests (hardhat test solidity) ==');
  const sol = spawnSync(process.execPath, [join(root, 'node_modules/hardhat/dist/src/cli.js'), 'test', 'solidity'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.stdout.write(sol.stdout ?? '');
  // Hardhat's Solidity test reporter closes with "N passing" / "N failing" lines.
  const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(sol.stdout ?? '')?.[1] ?? 0);
  passed += count('passing');
  failed += count('failing');
  skipped += count('skipped');
  if (sol.status !== 0) {
    ok = false;
    if (count('failing') === 0) failed += 1; // the run itself failed (compile error): count it
  }
}

console.log('\n== jest (unit, property, e2e) ==');
const out = mkdtempSync(join(tmpdir(), 'sealfold-jest-'));
try {
  const reportPath = join(out, 'report.json');
  // jest's output is shown live and kept: its summary lines are the fallback when the json report is missing.
  let output = '';
  const child = spawn(
    process.execPath,
    [
      '--experimental-vm-modules',
      '--no-warnings=ExperimentalWarning',
      join(root, 'node_modules/jest/bin/jest.js'),
      '--json',
      `--outputFile=${reportPath}`,
      ...jestArgs,
    ],
    { cwd: root, stdio: ['inherit', 'pipe', 'pipe'] },
  );
  const tee = (stream, to) =>
    stream.on('data', (data) => {
      to.write(data);
      output += data.toString('utf8');
    });
  tee(child.stdout, process.stdout);
  tee(child.stderr, process.stderr);
  const exitCode = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
  let report = null;
  try {
    if (existsSync(reportPath)) report = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch (err) {
    console.log(`jest's json report is unreadable (${err.message}): counting from jest's summary line`);
  }
  const counts = jestCounts({ report, output, exitCode });
  if (!report) console.log(`jest wrote no json report: counts from ${counts.source}`);
  passed += counts.passed;
  failed += counts.failed;
  skipped += counts.skipped;
  if (!counts.ok) ok = false;
  const skips = (report?.testResults ?? []).flatMap((s) =>
    s.assertionResults.filter((a) => a.status === 'pending').map((a) => a.fullName),
  );
  if (skips.length) console.log(`\nskipped tests:\n${skips.map((s) => `  - ${s}`).join('\n')}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok && failed === 0 ? 0 : 1);
