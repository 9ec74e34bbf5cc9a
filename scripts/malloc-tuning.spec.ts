import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';

const tuningUrl = new URL('./malloc-tuning.mjs', import.meta.url).href;
const { MALLOC_TUNABLES, tunedEnv } = (await import(tuningUrl)) as {
  MALLOC_TUNABLES: string;
  tunedEnv: (env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
};

// A stand-in for `sealfold silo start`: re-executes itself in place, then stops gracefully (300 ms) on its first SIGTERM.
const FIXTURE = `
import { ensureMallocTuning } from ${JSON.stringify(tuningUrl)};
ensureMallocTuning();
const say = (o) => process.stdout.write(JSON.stringify({ ...o, pid: process.pid, tunables: process.env.GLIBC_TUNABLES ?? null }) + '\\n');
process.once('SIGTERM', () => { say({ stopping: true }); setTimeout(() => process.exit(0), 300); });
say({ ready: true });
setInterval(() => {}, 1000);
`;

interface Line {
  pid: number;
  tunables: string | null;
  ready?: boolean;
  stopping?: boolean;
}

let dir: string;
let fixture: string;
const started: ChildProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealfold-malloc-'));
  fixture = join(dir, 'server.mjs');
  writeFileSync(fixture, FIXTURE);
});
afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the fixture and resolves with its first line; `lines` collects every line, `exit` its exit code. */
function start(env: NodeJS.ProcessEnv) {
  const proc = spawn(process.execPath, [fixture], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(proc);
  const lines: Line[] = [];
  let buffer = '';
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = new Promise<Line>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      for (let at = buffer.indexOf('\n'); at >= 0; at = buffer.indexOf('\n')) {
        const line = JSON.parse(buffer.slice(0, at)) as Line;
        buffer = buffer.slice(at + 1);
        lines.push(line);
        if (line.ready) resolve(line);
      }
    });
    void exit.then((code) => reject(new Error(`fixture exited ${code} before it was ready`)));
  });
  return { proc, lines, ready, exit };
}

const withoutTunables = () => {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  delete env.SEALFOLD_NO_MALLOC_TUNING;
  return env;
};

describe('malloc tuning (GLIBC_TUNABLES) for the server commands', () => {
  it('adds the settings to an environment, and leaves an operator-set GLIBC_TUNABLES alone', () => {
    expect(tunedEnv({ A: '1' })).toEqual({ A: '1', GLIBC_TUNABLES: MALLOC_TUNABLES });
    expect(tunedEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2');
    expect(MALLOC_TUNABLES).toMatch(/^glibc\.malloc\.mmap_threshold=\d+:glibc\.malloc\.trim_threshold=\d+$/);
  });

  it('re-executes in place (same pid) with the settings; a SIGTERM stops the server gracefully, once', async () => {
    const run = start(withoutTunables());
    const ready = await run.ready;
    expect(ready.tunables).toBe(MALLOC_TUNABLES);
    expect(ready.pid).toBe(run.proc.pid); // execve: no launcher process beside the server
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.lines.filter((l) => l.stopping)).toHaveLength(1);
    expect(run.lines.filter((l) => l.ready)).toHaveLength(1); // the command ran once, after the exec
  }, 20_000);

  it('leaves the process as it is when SEALFOLD_NO_MALLOC_TUNING=1', async () => {
    const run = start({ ...withoutTunables(), SEALFOLD_NO_MALLOC_TUNING: '1' });
    const ready = await run.ready;
    expect(ready.tunables).toBeNull();
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  }, 20_000);

  it('runs in place when the settings are already in effect', async () => {
    const run = start({ ...withoutTunables(), GLIBC_TUNABLES: MALLOC_TUNABLES });
    const ready = await run.ready;
    expect(ready.pid).toBe(run.proc.pid);
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  }, 20_000);
});
