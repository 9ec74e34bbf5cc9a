// `npm run bench -- <name> [--json] [args]`: builds (incrementally) and runs dist/bench/<name>.js.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { ingestNodeFlags } from './ingest-tuning.mjs';
import { tunedEnv } from './malloc-tuning.mjs';

const root = new URL('..', import.meta.url).pathname;
const [name, ...rest] = process.argv.slice(2);
const SERVER_BENCHES = new Set(['secagg', 'round', 'fl', 'tabular', 'scale']);
const available = existsSync(`${root}bench`)
  ? readdirSync(`${root}bench`)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3))
  : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [--json]\nbenchmarks: ${available.join(', ') || '(none)'}`);
  process.exit(1);
}
const build = spawnSync(
  process.execPath,
  [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`],
  {
    stdio: ['ignore', process.argv.includes('--json') ? 'ignore' : 'inherit', 'inherit'],
  },
);
// tsc emits even when some file fails to type-check; `npm run typecheck` is the gate for that, so a type error
// elsewhere in the tree does not stop a benchmark whose own files compiled.
if (build.status !== 0) console.error('bench: tsc reported errors (see above); running the compiled benchmark anyway');
if (!existsSync(`${root}dist/bench/${name}.js`)) process.exit(build.status ?? 2);
// The ingest bench measures its own process as `sealfold dataset add` of a large file runs: with the same V8 flags
// (scripts/ingest-tuning.mjs; SEALFOLD_NO_INGEST_TUNING=1 measures without them).
const nodeFlags = name === 'ingest' ? ingestNodeFlags() : [];
const run = spawnSync(
  process.execPath,
  [...nodeFlags, '--import', `${root}scripts/register-aliases.mjs`, `${root}dist/bench/${name}.js`, ...rest],
  // Benchmarks of what the silo and coordinator processes do run with their malloc settings
  // (scripts/malloc-tuning.mjs; tabular's silos and coordinator are child processes and inherit them); the others (ingest, age, chain: CLI work) with the defaults, as the CLI runs.
  { stdio: 'inherit', env: SERVER_BENCHES.has(name) ? tunedEnv() : process.env },
);
process.exit(run.status ?? 2);
