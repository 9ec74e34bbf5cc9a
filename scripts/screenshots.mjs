// `node scripts/screenshots.mjs`: the README's screenshots, taken by the browser tests in headless Chromium
// (test/e2e/web-buyer and web-real-job save full-page PNGs when SEALFOLD_WEB_SCREENSHOTS names a directory) against a
// real coordinator, chain and silos. The ones the README shows are copied into docs/screenshots/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs', 'screenshots');
/** Saved by the tests → shown in the README. */
const KEEP = ['market.png', 'job-live.png', 'model.png', 'silo-page.png'];

const shots = mkdtempSync(join(tmpdir(), 'sealfold-screenshots-'));
try {
  const jest = spawnSync(
    process.execPath,
    [
      '--experimental-vm-modules',
      '--no-warnings=ExperimentalWarning',
      join(ROOT, 'node_modules/jest/bin/jest.js'),
      'test/e2e/web-buyer.e2e-spec.ts',
      'test/e2e/web-real-job.e2e-spec.ts',
      '--runInBand',
    ],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, SEALFOLD_WEB_SCREENSHOTS: shots } },
  );
  if (jest.status !== 0) throw new Error(`the browser tests failed (exit ${jest.status}); no screenshot was replaced`);
  mkdirSync(OUT, { recursive: true });
  for (const name of KEEP) copyFileSync(join(shots, name), join(OUT, name));
  console.log(`screenshots: ${KEEP.map((n) => `docs/screenshots/${n}`).join(', ')}`);
} finally {
  rmSync(shots, { recursive: true, force: true });
}
