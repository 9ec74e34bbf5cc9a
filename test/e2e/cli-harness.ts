// Runs the real `sealfold` CLI (bin/sealfold.mjs → dist/) as a child process against a temporary home and data dir.
// The first call builds the CLI if needed; later calls skip the staleness check (SEALFOLD_CLI_NO_BUILD=1) so that
// other files being edited during the run cannot trigger a rebuild between assertions.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/sealfold.mjs');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliEnv {
  home: string;
  dataDir: string;
  root: string;
  env: NodeJS.ProcessEnv;
  /** Runs one command; resolves when the process exits. */
  run(args: readonly string[], extraEnv?: NodeJS.ProcessEnv): Promise<CliRun>;
  /** Runs with --json and parses stdout, which must be exactly one JSON object. */
  json<T = Record<string, unknown>>(
    args: readonly string[],
    extraEnv?: NodeJS.ProcessEnv,
  ): Promise<CliRun & { body: T }>;
  spawn(args: readonly string[], extraEnv?: NodeJS.ProcessEnv): ChildProcess;
  cleanup(): Promise<void>;
}

/** Spawning the CLI costs seconds (more on a loaded machine): suites use this instead of jest's 60 s default. */
export const TEST_TIMEOUT_MS = 600_000;

let built = false;
/** Builds the CLI once per test file (no-op when dist is current). */
export function ensureBuilt(): void {
  if (built) return;
  const r = spawnSync(process.execPath, [BIN, '--version'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the CLI failed:\n${r.stderr}`);
  built = true;
}

export async function createCliEnv(prefix = 'sealfold-cli-'): Promise<CliEnv> {
  ensureBuilt();
  const root = await mkdtemp(join(tmpdir(), prefix));
  const home = join(root, 'home');
  const dataDir = join(root, 'data');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SEALFOLD_HOME: home,
    SEALFOLD_DATA_DIR: dataDir,
    SEALFOLD_CLI_NO_BUILD: '1',
  };
  // Never inherit an operator's external chain or Kubo into the tests.
  delete env.SEALFOLD_CHAIN_RPC;
  delete env.SEALFOLD_IPFS_API;
  const children = new Set<ChildProcess>();
  const spawnCli = (args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: root,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  const run = (args: readonly string[], extraEnv?: NodeJS.ProcessEnv) =>
    new Promise<CliRun>((resolve, reject) => {
      const child = spawnCli(args, extraEnv);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  return {
    home,
    dataDir,
    root,
    env,
    run,
    async json<T>(args: readonly string[], extraEnv?: NodeJS.ProcessEnv) {
      const r = await run([...args, '--json'], extraEnv);
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      if (lines.length !== 1)
        throw new Error(`expected one JSON line on stdout, got ${lines.length}:\n${r.stdout}\nstderr:\n${r.stderr}`);
      return { ...r, body: JSON.parse(lines[0]) as T };
    },
    spawn: spawnCli,
    async cleanup() {
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A long-running CLI command (`chain start`, `coordinator start`, `silo start`) started with --json. */
export interface Service {
  child: ChildProcess;
  ready: Record<string, unknown>;
  stderr: () => string;
}

/** Starts a long-running command and resolves with its first stdout line (JSON) once it is printed. */
export function startService(cli: CliEnv, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Service> {
  const child = cli.spawn([...args, '--json'], env);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0)
        resolve({ child, ready: JSON.parse(out.slice(0, nl)) as Record<string, unknown>, stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

/** Stops a service process (SIGTERM) and waits for it to exit; a no-op when it already exited. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
