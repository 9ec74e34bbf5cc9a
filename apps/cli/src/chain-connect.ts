// Opens the chain for a command (see chain-endpoint.ts for which one) and, on the embedded dev chain only, funds the
// user's fresh wallet from a public dev account so it can pay gas.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Wallet } from 'ethers';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { acquireChainLock, resolveChainTarget, type ChainLockRecord, type ChainTarget } from './chain-endpoint.js';

type ChainLib = typeof import('@sealfold/chain');
export type SealfoldChain = import('@sealfold/chain').SealfoldChain;
type EmbeddedChain = import('@sealfold/chain').EmbeddedChain;

export interface OpenChain {
  client: SealfoldChain;
  target: ChainTarget;
  /** How the chain was reached: `rpc` (SEALFOLD_CHAIN_RPC), `running-embedded`, or `in-process`. */
  mode: 'rpc' | 'running-embedded' | 'in-process';
  /** True on the Sealfold embedded dev chain (where the dev faucet exists). */
  dev: boolean;
}

const DEV_FUND_WEI = 100n * 10n ** 18n;
const DEV_FUND_BELOW_WEI = 1n * 10n ** 18n;

/** Contract addresses for an external chain: SEALFOLD_CONTRACTS names a JSON file {DatasetNFT, DatasetLicence, ModelRegistry}. */
function externalAddresses(lib: ChainLib, env: NodeJS.ProcessEnv) {
  const file = env.SEALFOLD_CONTRACTS;
  if (!file)
    throw new CliError(
      'CONFIG',
      'SEALFOLD_CHAIN_RPC is set but SEALFOLD_CONTRACTS (a JSON file of contract addresses) is not',
    );
  // Either a deployment.json as the embedded chain writes it, or a bare {DatasetNFT, DatasetLicence, ModelRegistry}.
  try {
    return lib.readDeploymentFile(file).addresses;
  } catch (cause) {
    throw new CliError('CONFIG', `SEALFOLD_CONTRACTS ${(cause as Error).message}`, 1, { cause });
  }
}

function externalChainId(env: NodeJS.ProcessEnv): bigint {
  const raw = env.SEALFOLD_CHAIN_ID;
  if (!raw || !/^[0-9]+$/.test(raw))
    throw new CliError('CONFIG', 'SEALFOLD_CHAIN_RPC needs SEALFOLD_CHAIN_ID (a decimal chain id)');
  return BigInt(raw);
}

function deploymentOf(lib: ChainLib, dataDir: string) {
  const path = join(dataDir, 'chain', 'deployment.json');
  if (!existsSync(path))
    throw new CliError('NOT_DEPLOYED', `the embedded chain in ${dataDir} has no deployment (${path})`);
  return lib.readDeploymentFile(path).addresses;
}

/** Starts the embedded chain (deploying the contracts on a fresh data dir) under the chain lock. */
export async function startEmbedded(
  lib: ChainLib,
  dataDir: string,
  port: number,
  mode: ChainLockRecord['mode'],
): Promise<{ chain: EmbeddedChain; release(): void } | undefined> {
  const lock = acquireChainLock(dataDir);
  if (lock === undefined) return undefined;
  try {
    const chain = await lib.startEmbeddedChain({ dataDir, port });
    lock.publish({
      pid: process.pid,
      rpcUrl: chain.rpcUrl,
      chainId: chain.chainId.toString(),
      startedAt: new Date().toISOString(),
      mode,
    });
    return { chain, release: () => lock.release() };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * Connects to the chain for one command. `wallet` signs writes (omit for read-only commands). The connection and an
 * in-process chain are closed when the command ends. `beforeFunding` validates the command against the chain before
 * the dev faucet funds the wallet: a command refused there leaves no trace on chain.
 */
export async function openChain(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  wallet?: Wallet,
  options: { beforeFunding?: (client: SealfoldChain) => Promise<void> } = {},
): Promise<OpenChain> {
  const lib = await import('@sealfold/chain');
  for (let attempt = 0; attempt < 3; attempt++) {
    const target = await resolveChainTarget(ctx.paths.dataDir, env);
    if (target.kind === 'rpc' && target.source === 'SEALFOLD_CHAIN_RPC') {
      const client = await lib.connectChain({
        rpcUrl: target.rpcUrl,
        chainId: externalChainId(env),
        addresses: externalAddresses(lib, env),
        ...(wallet ? { signer: wallet } : {}),
      });
      ctx.onClose(() => client.close());
      await options.beforeFunding?.(client);
      return { client, target, mode: 'rpc', dev: false };
    }
    if (target.kind === 'rpc') {
      const client = await lib.connectChain({
        rpcUrl: target.rpcUrl,
        chainId: BigInt(target.record!.chainId),
        addresses: deploymentOf(lib, ctx.paths.dataDir),
        ...(wallet ? { signer: wallet } : {}),
      });
      ctx.onClose(() => client.close());
      const open: OpenChain = { client, target, mode: 'running-embedded', dev: true };
      await options.beforeFunding?.(client);
      if (wallet) await fundFromDevAccount(lib, open, wallet.address, env);
      return open;
    }
    const started = await startEmbedded(lib, ctx.paths.dataDir, 0, 'command');
    if (started === undefined) continue; // another process took the lock first: use its RPC
    ctx.onClose(async () => {
      await started.chain.close();
      started.release();
    });
    const client = await lib.connectChain({ embedded: started.chain, ...(wallet ? { signer: wallet } : {}) });
    ctx.onClose(() => client.close());
    const open: OpenChain = { client, target, mode: 'in-process', dev: true };
    await options.beforeFunding?.(client);
    if (wallet) await fundFromDevAccount(lib, open, wallet.address, env);
    return open;
  }
  throw new CliError('CHAIN_BUSY', `could not reach or start the embedded chain in ${ctx.paths.dataDir}`);
}

/**
 * The embedded chain is a development chain: its dev accounts (from the public Hardhat mnemonic) hold all the ETH.
 * A keystore wallet below 1 ETH gets 100 ETH from the last dev account so it can pay gas. Never on an external chain.
 */
async function fundFromDevAccount(lib: ChainLib, open: OpenChain, address: string, env: NodeJS.ProcessEnv) {
  if (!open.dev || env.SEALFOLD_NO_DEV_FAUCET === '1') return;
  const provider = open.client.provider;
  if ((await open.client.getBalance(address)) >= DEV_FUND_BELOW_WEI) return;
  const { Wallet, isError } = await import('ethers');
  const accounts = lib.deriveDevAccounts(lib.DEV_MNEMONIC, 10);
  const faucet = new Wallet(accounts[accounts.length - 1].privateKey, provider);
  for (let attempt = 1; ; attempt++) {
    try {
      const tx = await faucet.sendTransaction({ to: address, value: DEV_FUND_WEI });
      await tx.wait();
      return;
    } catch (err) {
      // Several CLI processes funding their wallets at once (owners adding datasets side by side) read the faucet's
      // same pending nonce; all but one are refused. Ask for the nonce again after a short, jittered wait.
      const nonceTaken = isError(err, 'NONCE_EXPIRED') || isError(err, 'REPLACEMENT_UNDERPRICED');
      if (!nonceTaken || attempt >= 8) throw lib.decodeChainError(err, 'dev faucet transfer', provider);
      await new Promise((r) => setTimeout(r, 50 * attempt + Math.floor(Math.random() * 100)));
    }
  }
}
