#!/usr/bin/env node
// `sealfold`: runs the compiled CLI (dist/apps/cli/src/main.js), building it first when dist/ is missing or older than
// the sources. The build compiles only what the CLI imports (apps/cli/tsconfig.app.json: apps/cli/src and the libs it
// reaches through @sealfold/* paths), like the coordinator's own tsconfig.app.json. Plain JavaScript with no imports beyond node: so it can check the Node version before anything else.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MIN_MAJOR = 22;
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= MIN_MAJOR)) {
  process.stderr.write(
    `sealfold: needs Node.js >= ${MIN_MAJOR}, this is ${process.version} (${process.execPath}).\n` +
      `  From the repository run \`npm run sealfold -- <command>\` (npm scripts use the project's own Node 22),\n` +
      `  or \`./node_modules/.bin/node bin/sealfold.mjs <command>\`, or install Node 22 LTS (e.g. \`nvm install 22\`).\n`,
  );
  process.exit(2);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// `npm run sealfold -- …` runs this script from the repository root; npm keeps the shell's directory in INIT_CWD.
// Relative paths (files, --home, --data-dir) must mean what they mean in the user's shell, not inside the repository
// (a relative --home there would put wallet keys where .gitignore does not cover them). The process moves there just
// before the CLI runs (below), after any re-execution, so that relative paths in node's own flags keep their meaning.
const userCwd =
  process.env.npm_lifecycle_event === 'sealfold' && process.env.INIT_CWD ? process.env.INIT_CWD : process.cwd();

// Ingesting a large file runs with a small V8 young generation, a flag read only at start (scripts/ingest-tuning.mjs):
// start once more with it, before anything else runs (the build, if any, then happens in the re-executed process).
{
  const { ensureIngestTuning, isLargeIngest } = await import('../scripts/ingest-tuning.mjs');
  if (isLargeIngest(process.argv.slice(2), userCwd)) ensureIngestTuning();
}
const entry = join(root, 'dist/apps/cli/src/main.js');
// Touched after every successful build: one stat against the newest source mtime keeps the no-op check fast.
const stamp = join(root, 'dist/.sealfold-cli.stamp');
const lock = join(root, 'dist/.sealfold-cli.build.lock');

/** Newest mtime (ms) of the TypeScript sources the CLI is compiled from (every app and lib, tests excluded). */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(path);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') && !e.name.endsWith('.e2e-spec.ts')) {
        newest = Math.max(newest, statSync(path).mtimeMs);
      }
    }
  };
  // The CLI imports the silo and the coordinator too (`silo start`, `coordinator start`): watch every app and lib.
  for (const top of ['apps', 'libs']) {
    for (const entry of readdirSync(join(root, top), { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(root, top, entry.name, 'src'));
    }
  }
  for (const f of ['tsconfig.json', 'apps/cli/tsconfig.app.json'])
    newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
  return newest;
}

function isStale() {
  if (!existsSync(entry) || !existsSync(stamp)) return true;
  return statSync(stamp).mtimeMs < newestSource();
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes the build lock (an exclusive-create file holding our pid); a lock left by a dead process is taken over. */
function acquireLock() {
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let holder;
    try {
      holder = Number(readFileSync(lock, 'utf8'));
    } catch {
      continue; // released between our open and read
    }
    let alive = Number.isInteger(holder) && holder > 0;
    if (alive) {
      try {
        process.kill(holder, 0);
      } catch (error) {
        alive = error.code === 'EPERM';
      }
    }
    if (!alive) rmSync(lock, { force: true });
    else sleep(200);
  }
}

function build() {
  acquireLock();
  try {
    if (!isStale()) return; // another sealfold process built it while we waited
    const started = Date.now();
    process.stderr.write('sealfold: compiling the CLI (tsc -p apps/cli/tsconfig.app.json)…\n');
    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'apps/cli/tsconfig.app.json'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    if (tsc.error) throw tsc.error;
    if (!existsSync(entry)) {
      process.stderr.write(tsc.stdout + tsc.stderr);
      process.stderr.write('sealfold: the build did not produce dist/apps/cli/src/main.js\n');
      process.exit(2);
    }
    if (tsc.status !== 0) {
      // tsc still emits JavaScript on type errors; say so once, and run what was built.
      process.stderr.write(tsc.stdout + tsc.stderr);
      process.stderr.write(
        'sealfold: warning: the TypeScript build reported errors (above); running the emitted code\n',
      );
    } else {
      process.stderr.write(`sealfold: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
    // The stamp takes the build's start time: a source saved during the build still counts as newer.
    closeSync(openSync(stamp, 'a'));
    utimesSync(stamp, new Date(started), new Date(started));
  } finally {
    rmSync(lock, { force: true });
  }
}

if (process.env.SEALFOLD_CLI_NO_BUILD !== '1' && isStale()) build();

// The long-running server commands run with glibc malloc settings that only take effect at process start
// (scripts/malloc-tuning.mjs): start once more with them, unless they are in effect already.
const words = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (words.some((w, i) => (w === 'silo' || w === 'coordinator') && words[i + 1] === 'start')) {
  const { ensureMallocTuning } = await import('../scripts/malloc-tuning.mjs');
  ensureMallocTuning(); // re-executes in place (same pid) when the settings are not in effect yet
}

process.chdir(userCwd);

await import('../scripts/register-aliases.mjs');
const { main } = await import(pathToFileURL(entry).href);
// main() closes what it opened; exit explicitly so a library's lingering timer cannot keep the process alive.
// (stdout/stderr writes are synchronous on Linux for files, pipes and TTYs, so nothing written is lost.)
process.exit(await main(process.argv.slice(2)));
