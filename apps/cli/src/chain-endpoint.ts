// Which chain a command talks to, decided without starting anything:
//   1. SEALFOLD_CHAIN_RPC (any EVM chain; SEALFOLD_CHAIN_ID and SEALFOLD_CONTRACTS describe it), else
//   2. the embedded chain served by a running `sealfold chain start` on this data dir — found through its lock file
//      `<dataDir>/chain.lock` — else
//   3. the embedded chain started in this process for the duration of the command (its journal keeps the state).
// The lock file also keeps two processes from replaying and appending to the same journal at once.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT_INTERNAL } from './errors.js';

export interface ChainLockRecord {
  pid: number;
  rpcUrl: string;
  chainId: string;
  startedAt: string;
  /** `foreground`: a `sealfold chain start`; `command`: another CLI command's in-process chain (short-lived). */
  mode: 'foreground' | 'command';
}

export type ChainTarget =
  | { kind: 'rpc'; rpcUrl: string; source: 'SEALFOLD_CHAIN_RPC' | 'running-embedded'; record?: ChainLockRecord }
  | { kind: 'embedded'; dataDir: string };

export function chainLockPath(dataDir: string): string {
  return join(dataDir, 'chain.lock');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The live holder of the chain lock, or undefined (a lock left by a dead process counts as absent). A holder that is
 * still starting (replaying its journal) has no `rpcUrl` yet.
 */
export function readChainLock(dataDir: string): (Partial<ChainLockRecord> & { pid: number }) | undefined {
  const path = chainLockPath(dataDir);
  if (!existsSync(path)) return undefined;
  let record: Partial<ChainLockRecord>;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as Partial<ChainLockRecord>;
  } catch {
    return undefined; // being written right now, or garbage: treated as absent, and replaced by acquire
  }
  const pid = record.pid;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid === process.pid || !isAlive(pid)) return undefined;
  return { ...record, pid };
}

/**
 * Decides the target. Waits (up to `waitMs`) while another process is starting a `chain start` or runs a command on
 * its own in-process chain.
 */
export async function resolveChainTarget(
  dataDir: string,
  env: NodeJS.ProcessEnv,
  waitMs = 120_000,
): Promise<ChainTarget> {
  const rpc = env.SEALFOLD_CHAIN_RPC;
  if (rpc !== undefined && rpc !== '') {
    let url: URL;
    try {
      url = new URL(rpc);
    } catch {
      throw new CliError('CONFIG', `SEALFOLD_CHAIN_RPC is not a URL: ${rpc}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new CliError('CONFIG', `SEALFOLD_CHAIN_RPC must be an http(s) URL, got ${url.protocol}`);
    return { kind: 'rpc', rpcUrl: rpc, source: 'SEALFOLD_CHAIN_RPC' };
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const record = readChainLock(dataDir);
    if (record === undefined) return { kind: 'embedded', dataDir };
    // A `chain start` serves others; another command's in-process chain stops with that command, so wait for it
    // to finish and then start our own (this serialises CLI commands on one data dir).
    if (typeof record.rpcUrl === 'string' && record.mode === 'foreground')
      return { kind: 'rpc', rpcUrl: record.rpcUrl, source: 'running-embedded', record: record as ChainLockRecord };
    if (Date.now() > deadline)
      throw new CliError(
        'CHAIN_BUSY',
        `the embedded chain in ${dataDir} is in use by process ${record.pid}; try again when it has finished`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Takes the chain lock for this process (exclusive create). Returns a release function, or undefined when another
 * live process holds it (the caller then uses that process's RPC). A stale lock is removed and retried.
 */
export function acquireChainLock(
  dataDir: string,
): { release(): void; publish(record: ChainLockRecord): void } | undefined {
  mkdirSync(dataDir, { recursive: true });
  const path = chainLockPath(dataDir);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      // A placeholder until the RPC URL is known; readers treat an unparsable file as absent.
      writeSync(fd, JSON.stringify({ pid: process.pid }));
      closeSync(fd);
      return {
        publish(record) {
          // Rewrite in place (same inode): readers see either the placeholder or the full record.
          const out = openSync(path, 'r+');
          try {
            writeSync(out, JSON.stringify(record) + '\n', 0);
          } finally {
            closeSync(out);
          }
        },
        release() {
          try {
            const held = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number };
            if (held.pid === process.pid) rmSync(path, { force: true });
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: { pid?: number };
    try {
      holder = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number };
    } catch {
      holder = {};
    }
    if (typeof holder.pid === 'number' && isAlive(holder.pid)) return undefined;
    if (holder.pid === undefined && attempt < 4) {
      // Possibly a holder between create and first write: give it a moment before calling it stale.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      continue;
    }
    rmSync(path, { force: true });
  }
  throw new CliError('CHAIN_LOCK', `cannot take the chain lock ${path}`, EXIT_INTERNAL);
}
