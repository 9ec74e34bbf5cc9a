// `npm test`: every test of the project — Solidity tests (Hardhat 3) when contracts exist, then the jest suites
// (unit, property, e2e) — and one closing line "tests: N passed, N failed, N skipped" over both.
// Extra arguments go to jest (e.g. `npm test -- libs/secagg`); then the Solidity tests are skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  const report = join(out, 'report.json');
  const jest = spawnSync(
    process.execPath,
    [
      '--experimental-vm-modules',
      '--no-warnings=ExperimentalWarning',
      join(root, 'node_modules/jest/bin/jest.js'),
      '--json',
      `--outputFile=${report}`,
      ...jestArgs,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  if (jest.status !== 0) ok = false;
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
    skipped += r.numPendingTests + r.numTodoTests;
    const skips = r.testResults.flatMap((s) =>
      s.assertionResults.filter((a) => a.status === 'pending').map((a) => a.fullName),
    );
    if (skips.length) console.log(`\nskipped tests:\n${skips.map((s) => `  - ${s}`).join('\n')}`);
    if (r.numTotalTests === 0) ok = false;
  } else {
    ok = false;
    failed += 1;
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok && failed === 0 ? 0 : 1);
