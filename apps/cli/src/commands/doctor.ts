// `sealfold doctor`: checks the environment the other commands need and says what to fix.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { errorCode } from '@sealfold/protocol';
import type { CommandResult, Context } from '../context.js';
import { resolveChainTarget } from '../chain-endpoint.js';
import { JSON_NOTE, type Runner } from '../program.js';

type Status = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  status: Status;
  detail: string;
  [extra: string]: unknown;
}

const MIN_NODE_MAJOR = 22;

function nodeCheck(): Check {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? { name: 'node', status: 'ok', detail: process.version, version: process.version }
    : {
        name: 'node',
        status: 'fail',
        detail: `${process.version}: Node >= ${MIN_NODE_MAJOR} needed (use \`npm run sealfold\` or nvm install 22)`,
        version: process.version,
      };
}

async function backendCheck(): Promise<Check> {
  try {
    const { initBackend } = await import('@sealfold/fl');
    const info = await initBackend();
    const simd = info.simd === undefined ? '' : info.simd ? ' (SIMD)' : ' (no SIMD)';
    return {
      name: 'tfjs-backend',
      // cpu works but is slow; say so without failing.
      status: info.name === 'cpu' ? 'warn' : 'ok',
      detail: `${info.name}${simd}: ${info.reason}`,
      backend: info.name,
      ...(info.simd === undefined ? {} : { simd: info.simd }),
    };
  } catch (error) {
    return { name: 'tfjs-backend', status: 'fail', detail: (error as Error).message.split('\n')[0] };
  }
}

function ageCheck(): Check {
  const run = spawnSync('age', ['--version'], { encoding: 'utf8' });
  if (run.error || run.status !== 0)
    return {
      name: 'age-cli',
      status: 'warn',
      detail: 'the `age` tool is not on PATH (optional: to decrypt sealed data by hand; apt-get install age)',
    };
  return { name: 'age-cli', status: 'ok', detail: `age ${run.stdout.trim()}`, version: run.stdout.trim() };
}

function dirCheck(name: string, dir: string, privateDir: boolean): Check {
  if (!existsSync(dir)) return { name, status: 'ok', detail: `${dir} (will be created)`, path: dir, exists: false };
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) return { name, status: 'fail', detail: `${dir} is not a directory`, path: dir };
    accessSync(dir, constants.W_OK | constants.R_OK);
    if (privateDir && (st.mode & 0o077) !== 0)
      return {
        name,
        status: 'fail',
        detail: `${dir} is accessible by group/others (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it`,
        path: dir,
        exists: true,
      };
    return { name, status: 'ok', detail: dir, path: dir, exists: true };
  } catch (error) {
    return { name, status: 'fail', detail: `${dir}: ${(error as Error).message}`, path: dir };
  }
}

async function keystoreCheck(ctx: Context): Promise<Check> {
  const dir = ctx.paths.keystore;
  if (!existsSync(dir))
    return { name: 'keystore', status: 'warn', detail: `none in ${dir}: run \`sealfold keys init\``, path: dir };
  const check = dirCheck('keystore', dir, true);
  if (check.status !== 'ok') return check;
  try {
    const { readKeystoreInfo } = await import('@sealfold/crypto');
    const info = await readKeystoreInfo(dir);
    return { ...check, detail: `${dir}: ${info.address}, ${info.ageRecipient}`, address: info.address };
  } catch (error) {
    return { name: 'keystore', status: 'fail', detail: (error as Error).message, path: dir };
  }
}

async function rpcCall(url: string, method: string, timeoutMs = 3000): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(body.error.message);
  return body.result;
}

async function chainCheck(ctx: Context, env: NodeJS.ProcessEnv): Promise<Check> {
  let target;
  try {
    target = await resolveChainTarget(ctx.paths.dataDir, env, 0);
  } catch (error) {
    // CHAIN_BUSY: another command is using its in-process chain right now; that is not a fault.
    const busy = errorCode(error) === 'CHAIN_BUSY';
    return { name: 'chain', status: busy ? 'warn' : 'fail', detail: (error as Error).message };
  }
  if (target.kind === 'embedded')
    return {
      name: 'chain',
      status: 'ok',
      detail: `embedded (started per command; journal in ${ctx.paths.dataDir}/chain)`,
      mode: 'embedded',
    };
  try {
    const [chainId, block] = await Promise.all([
      rpcCall(target.rpcUrl, 'eth_chainId'),
      rpcCall(target.rpcUrl, 'eth_blockNumber'),
    ]);
    return {
      name: 'chain',
      status: 'ok',
      detail: `${target.rpcUrl} (${target.source}): chain id ${BigInt(chainId as string)}, block ${BigInt(block as string)}`,
      mode: target.source,
      rpcUrl: target.rpcUrl,
      chainId: BigInt(chainId as string).toString(),
      block: BigInt(block as string).toString(),
    };
  } catch (error) {
    return {
      name: 'chain',
      status: 'fail',
      detail: `${target.rpcUrl} (${target.source}) does not answer: ${(error as Error).message}`,
      mode: target.source,
      rpcUrl: target.rpcUrl,
    };
  }
}

async function ipfsCheck(ctx: Context, env: NodeJS.ProcessEnv): Promise<Check> {
  const api = env.SEALFOLD_IPFS_API;
  if (api) {
    try {
      const res = await fetch(new URL('/api/v0/version', api), { method: 'POST', signal: AbortSignal.timeout(3000) });
      const body = (await res.json()) as { Version?: string };
      return { name: 'ipfs', status: 'ok', detail: `Kubo ${body.Version ?? '?'} at ${api}`, mode: 'kubo', api };
    } catch (error) {
      return { name: 'ipfs', status: 'fail', detail: `Kubo at ${api} does not answer: ${(error as Error).message}` };
    }
  }
  const dir = `${ctx.paths.dataDir}/ipfs`;
  const check = dirCheck('ipfs', dir, false);
  return { ...check, detail: `embedded Helia store, ${check.detail}`, mode: 'embedded' };
}

export function registerDoctor(program: Command, runner: Runner): void {
  program
    .command('doctor')
    .description(
      'check Node, the tfjs backend, the age tool, the home dir and keystore, the data dir, the chain RPC and IPFS',
    )
    .addHelpText(
      'after',
      `${JSON_NOTE}
  {"ok": boolean, "checks": [{"name", "status": "ok"|"warn"|"fail", "detail", ...}]}
  checks: node, tfjs-backend, age-cli, home, keystore, data-dir, chain, ipfs. Exit 1 when any check fails.`,
    )
    .action(
      runner.action(async (ctx): Promise<CommandResult> => {
        const checks: Check[] = [
          nodeCheck(),
          await backendCheck(),
          ageCheck(),
          dirCheck('home', ctx.paths.home, false),
          await keystoreCheck(ctx),
          dirCheck('data-dir', ctx.paths.dataDir, false),
          await chainCheck(ctx, runner.env),
          await ipfsCheck(ctx, runner.env),
        ];
        const ok = checks.every((c) => c.status !== 'fail');
        const mark = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;
        const text = checks.map((c) => `${mark[c.status]}  ${c.name.padEnd(13)} ${c.detail}`).join('\n');
        return { json: { ok, checks }, text, exitCode: ok ? 0 : 1 };
      }),
    );
}
