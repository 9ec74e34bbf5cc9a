// The sealfold CLI as a process: help, usage errors, --json error shape, the Node version check, doctor.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { TEST_TIMEOUT_MS, createCliEnv, ROOT, type CliEnv } from './cli-harness.js';

jest.setTimeout(TEST_TIMEOUT_MS);

describe('sealfold CLI basics', () => {
  let cli: CliEnv;
  beforeAll(async () => {
    cli = await createCliEnv();
  });
  afterAll(async () => {
    await cli?.cleanup();
  });

  it('--help lists every command group and documents exit codes and the environment', async () => {
    const r = await cli.run(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['keys', 'dataset', 'licence', 'chain', 'funds', 'doctor', '--json', '--home', '--data-dir'])
      expect(r.stdout).toContain(word);
    expect(r.stdout).toMatch(/Exit codes: 0 ok, 1 user error .* 2 internal error/);
    expect(r.stdout).toContain('SEALFOLD_CHAIN_RPC');
  });

  it('a usage error exits 1 with one line on stderr, and with --json one error object on stdout', async () => {
    const plain = await cli.run(['frobnicate']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    expect(plain.stderr.trim().split('\n')).toEqual(["sealfold: unknown command 'frobnicate'"]);
    const json = await cli.json<{ error: { code: string; message: string } }>(['frobnicate']);
    expect(json.code).toBe(1);
    expect(json.body).toEqual({ error: { code: 'USAGE', message: "unknown command 'frobnicate'" } });
  });

  it('refuses Node < 22 with directions (exit 2)', () => {
    // The system node here is v20; skip the check where it is not (the message is what matters).
    const system = '/usr/bin/node';
    if (!existsSync(system)) return;
    const version = spawnSync(system, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (Number(version.slice(1).split('.')[0]) >= 22) return;
    const r = spawnSync(system, [`${ROOT}bin/sealfold.mjs`, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/needs Node\.js >= 22, this is v20/);
    expect(r.stderr).toMatch(/npm run sealfold/);
  });

  it("under `npm run sealfold`, relative paths mean the shell's directory, not the repository", () => {
    const shellDir = mkdtempSync(join(tmpdir(), 'sealfold-cwd-'));
    try {
      mkdirSync(join(shellDir, 'rel-home'));
      // npm runs the script from the repository root; the CLI must go back to where the user typed the command.
      const r = spawnSync(
        'npm',
        ['--prefix', ROOT, 'run', '--silent', 'sealfold', '--', 'doctor', '--json', '--home', 'rel-home'],
        { cwd: shellDir, encoding: 'utf8', env: { ...process.env, SEALFOLD_CLI_NO_BUILD: '1' } },
      );
      const checks = (JSON.parse(r.stdout) as { checks: { name: string; exists?: boolean }[] }).checks;
      expect(checks.find((c) => c.name === 'home')?.exists).toBe(true);
      expect(existsSync(join(ROOT, 'rel-home'))).toBe(false);
    } finally {
      rmSync(shellDir, { recursive: true, force: true });
    }
  });

  it('doctor reports node, the tfjs backend, age, dirs, chain and IPFS; --json has the documented shape', async () => {
    const r = await cli.json<{ ok: boolean; checks: { name: string; status: string; detail: string }[] }>(['doctor']);
    expect(r.code).toBe(0);
    expect(r.body.ok).toBe(true);
    const byName = Object.fromEntries(r.body.checks.map((c) => [c.name, c]));
    expect(Object.keys(byName)).toEqual([
      'node',
      'tfjs-backend',
      'age-cli',
      'home',
      'keystore',
      'data-dir',
      'chain',
      'ipfs',
    ]);
    expect(byName.node.detail).toBe(process.version);
    expect(byName['tfjs-backend'].detail).toMatch(/^(tensorflow|wasm|cpu)/);
    expect(byName.chain.detail).toMatch(/^embedded/);
    expect(byName.home.detail).toContain(cli.home);
  });

  it('doctor fails (exit 1) when the configured chain RPC is down, naming it', async () => {
    const r = await cli.run(['doctor'], { SEALFOLD_CHAIN_RPC: 'http://127.0.0.1:9/' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+chain\s+http:\/\/127\.0\.0\.1:9\/ \(SEALFOLD_CHAIN_RPC\) does not answer/);
  });
});
