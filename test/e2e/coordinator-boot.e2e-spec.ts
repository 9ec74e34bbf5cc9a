import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';

describe('coordinator boot (in process, ephemeral port)', () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-boot-'));
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => logs.push(...chunk.toString().split('\n').filter(Boolean)));
    coordinator = await startCoordinator(loadConfig({ SEALFOLD_PORT: '0', SEALFOLD_DATA_DIR: join(dir, 'data') }), {
      logDestination: sink,
    });
  });

  afterAll(async () => {
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('GET /health answers 200 with liveness and readiness', async () => {
    const res = await fetch(`${coordinator.url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; live: boolean; ready: boolean; checks: object };
    expect(body).toMatchObject({ status: 'ok', live: true, ready: true, checks: { dataDir: { ok: true } } });
    expect((await fetch(`${coordinator.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${coordinator.url}/health/ready`)).status).toBe(200);
  });

  it('GET /metrics serves Prometheus text with process metrics and request histograms', async () => {
    await fetch(`${coordinator.url}/health`);
    const res = await fetch(`${coordinator.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# HELP sealfold_process_cpu_user_seconds_total/m);
    expect(text).toMatch(/sealfold_http_request_duration_seconds_count\{[^}]*route="\/health"[^}]*\} [1-9]/);
  });

  it('serves the OpenAPI UI at /docs and the document at /docs-json', async () => {
    const ui = await fetch(`${coordinator.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/swagger-ui/i);
    const doc = (await (await fetch(`${coordinator.url}/docs-json`)).json()) as { openapi: string; paths: object };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/metrics']));
  });

  it('writes JSON log lines', () => {
    const listening = logs
      .map((l) => JSON.parse(l) as { msg: string; url?: string })
      .find((l) => l.msg === 'coordinator listening');
    expect(listening?.url).toBe(coordinator.url);
  });

  it('answers unknown routes with 404', async () => {
    expect((await fetch(`${coordinator.url}/no-such-route`)).status).toBe(404);
  });
});

describe('coordinator process', () => {
  const root = new URL('../../', import.meta.url).pathname;
  const run = (env: Record<string, string>) =>
    spawn(
      process.execPath,
      ['--import', `${root}scripts/register-aliases.mjs`, `${root}dist/apps/coordinator/src/main.js`],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  const collect = (stream: NodeJS.ReadableStream) => {
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    return () => text;
  };

  beforeAll(async () => {
    // The process tests run the compiled coordinator, as `npm start` does.
    const build = spawn(
      process.execPath,
      [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`],
      {
        stdio: 'inherit',
      },
    );
    const code = await new Promise<number | null>((resolve) => build.on('exit', resolve));
    expect(code).toBe(0);
  }, 180_000);

  it('exits 1 naming the variable and the expected form when the configuration is invalid', async () => {
    const child = run({ SEALFOLD_PORT: 'eighty' });
    const stderr = collect(child.stderr!);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr()).toContain('SEALFOLD_PORT must be an integer 0-65535 (got "eighty")');
  });

  it('shuts down gracefully on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealfold-proc-'));
    const child = run({ SEALFOLD_PORT: '0', SEALFOLD_DATA_DIR: dir });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const stdout = collect(child.stdout!);
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line: ${stdout()}`)), 150_000);
        child.stdout!.on('data', () => {
          const m = /"url":"(http:[^"]+)"/.exec(stdout());
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout()).toMatch(/"msg":"stopped"/);
    } finally {
      // A failed assertion must not leave the coordinator running (it would recreate its data dir).
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
