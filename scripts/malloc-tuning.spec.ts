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

// A stand-in for `sealfold silo start`: re-executes itself, then stops gracefully (300 ms) on its first SIGTERM.
const FIXTURE = `
import { ensureMallocTuning } from ${JSON.stringify(tuningUrl)};
await ensureMallocTuning();
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
const childPids: number[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealfold-malloc-'));
  fixture = join(dir, 'server.mjs');
  writeFileSync(fixture, FIXTURE);
});
afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const pid of childPids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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
        if (line.ready) {
          childPids.push(line.pid);
          resolve(line);
        }
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

  it('re-executes once with the settings; a SIGTERM to the launcher stops the server gracefully, once', async () => {
    const run = start(withoutTunables());
    const ready = await run.ready;
    expect(ready.tunables).toBe(MALLOC_TUNABLES);
    expect(ready.pid).not.toBe(run.proc.pid);
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.lines.filter((l) => l.stopping)).toHaveLength(1);
    expect(alive(ready.pid)).toBe(false);
  }, 20_000);

  it('a signal sent to both processes (Ctrl-C, a systemd stop) is handled once, not twice', async () => {
    const run = start(withoutTunables());
    const ready = await run.ready;
    process.kill(ready.pid, 'SIGTERM');
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0); // a second, unhandled SIGTERM would have ended it with 143 before the 300 ms
    expect(run.lines.filter((l) => l.stopping)).toHaveLength(1);
  }, 20_000);

  it('the server stops by itself when its launcher is killed outright', async () => {
    const run = start(withoutTunables());
    const ready = await run.ready;
    run.proc.kill('SIGKILL');
    const until = Date.now() + 10_000;
    while (alive(ready.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(alive(ready.pid)).toBe(false);
  }, 20_000);

  it('runs in place when the settings are already in effect', async () => {
    const run = start({ ...withoutTunables(), GLIBC_TUNABLES: MALLOC_TUNABLES });
    const ready = await run.ready;
    expect(ready.pid).toBe(run.proc.pid);
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  }, 20_000);
});
