// `sealfold coordinator start`: the operator's coordinator (apps/coordinator) in the foreground. Its configuration is
// the coordinator's own (SEALFOLD_* variables, see `describeConfig`); this command fills in what the CLI knows: the
// data directory (--data-dir) and, when SEALFOLD_CHAIN_RPC is unset, the RPC of the embedded chain a running
// `sealfold chain start` serves on that data directory. On that embedded dev chain only, the coordinator's wallet is
// funded and given ModelRegistry's COORDINATOR_ROLE from the public dev admin account, as the dev faucet does.
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { toJson } from '../context.js';
import { resolveChainTarget } from '../chain-endpoint.js';
import { CliError } from '../errors.js';
import { parseSmallInt } from '../parse.js';
import { type Runner } from '../program.js';

const DEV_FUND_WEI = 100n * 10n ** 18n;

/** Dev chain only: gas money and the recorder role for the coordinator's key (admin = dev account 0). */
async function prepareDevCoordinator(rpcUrl: string, keyFile: string, deploymentFile: string): Promise<string> {
  const chainLib = await import('@sealfold/chain');
  const { loadOrCreateKey } = await import('../../../coordinator/src/chain/chain.adapter.js');
  const { Wallet } = await import('ethers');
  const deployment = chainLib.readDeploymentFile(deploymentFile);
  if (deployment.chainId === undefined)
    throw new CliError(
      'CONFIG',
      `${deploymentFile} names no chainId (a deployment.json as the embedded chain writes it)`,
    );
  const address = new Wallet(loadOrCreateKey(keyFile)).address;
  const [admin] = chainLib.deriveDevAccounts(chainLib.DEV_MNEMONIC, 1);
  const client = await chainLib.connectChain({
    rpcUrl,
    chainId: deployment.chainId,
    addresses: deployment.addresses,
    signer: admin.privateKey,
  });
  try {
    if ((await client.getBalance(address)) < 10n ** 18n) {
      const tx = await new Wallet(admin.privateKey, client.provider).sendTransaction({
        to: address,
        value: DEV_FUND_WEI,
      });
      await tx.wait();
    }
    await client.grantCoordinator(address); // idempotent (AccessControl.grantRole)
  } finally {
    client.close();
  }
  return address;
}

async function start(ctx: Context, env: NodeJS.ProcessEnv, o: Record<string, unknown>): Promise<CommandResult> {
  const { loadConfig, ConfigError } = await import('../../../coordinator/src/config/config.js');
  const overrides: Record<string, string> = { SEALFOLD_DATA_DIR: ctx.paths.dataDir };
  if (o.port !== undefined) overrides.SEALFOLD_PORT = String(parseSmallInt(String(o.port), '--port', 65535));
  if (o.host !== undefined) overrides.SEALFOLD_HOST = String(o.host);
  let devChain = false;
  if (!env.SEALFOLD_CHAIN_RPC) {
    const target = await resolveChainTarget(ctx.paths.dataDir, env, 0).catch(() => undefined);
    if (target?.kind !== 'rpc')
      throw new CliError(
        'NO_CHAIN',
        `no chain for the coordinator: run \`sealfold chain start\` on ${ctx.paths.dataDir} or set SEALFOLD_CHAIN_RPC`,
      );
    overrides.SEALFOLD_CHAIN_RPC = target.rpcUrl;
    devChain = true;
  }
  let config;
  try {
    config = loadConfig({ ...env, ...overrides });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError('CONFIG', error.message);
    throw error;
  }
  let coordinatorAddress: string | undefined;
  if (devChain && env.SEALFOLD_NO_DEV_FAUCET !== '1')
    coordinatorAddress = await prepareDevCoordinator(
      config.chainRpc,
      config.coordinatorKeyFile,
      config.chainDeployment,
    );

  const { startCoordinator } = await import('../../../coordinator/src/bootstrap.js');
  // The coordinator's JSON log lines go to stderr, keeping stdout for the one start record.
  const coordinator = await startCoordinator(config, {
    logDestination: process.stderr,
    // The web app's dev wallet (faucet + RPC proxy) exists on the embedded dev chain only.
    devChain: devChain && env.SEALFOLD_NO_DEV_FAUCET !== '1',
  });
  ctx.onClose(() => coordinator.close());
  const json = {
    url: coordinator.url,
    dataDir: config.dataDir,
    chainRpc: config.chainRpc,
    coordinatorAddress: coordinatorAddress ?? null,
    ipfs: config.ipfsApi || `${config.dataDir}/ipfs (embedded)`,
  };
  if (ctx.json) process.stdout.write(`${toJson({ event: 'listening', ...json })}\n`);
  else
    process.stdout.write(
      `coordinator ${coordinator.url} (REST, OpenAPI at /docs, silos at /silo)\n` +
        `chain ${config.chainRpc}; data dir ${config.dataDir}; Ctrl-C stops it\n`,
    );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  return { json, text: '', printed: true };
}

export function registerCoordinator(program: Command, runner: Runner): void {
  const coordinator = program.command('coordinator').description('the federated-training coordinator (operator)');
  coordinator
    .command('start')
    .description('run the coordinator in the foreground (REST + WebSocket for silos)')
    .option('--port <n>', 'TCP port (env SEALFOLD_PORT; default 8080; 0 picks a free one)')
    .option('--host <address>', 'interface to listen on (env SEALFOLD_HOST; default 127.0.0.1)')
    .addHelpText(
      'after',
      `
Configured by the coordinator's SEALFOLD_* variables (README: configuration). Without SEALFOLD_CHAIN_RPC it uses the
embedded chain of a running \`sealfold chain start\` on the same --data-dir, funds its wallet there and grants it
ModelRegistry's COORDINATOR_ROLE (dev chain only); there too the web app at its URL offers a dev wallet (a key made
in the browser, funded by POST /dev/faucet; SEALFOLD_NO_DEV_FAUCET=1 turns both off). Logs are JSON lines on stderr; once listening, one line on stdout
(with --json: {"event": "listening", "url", "dataDir", "chainRpc", "coordinatorAddress", "ipfs"}).
Stops gracefully on SIGINT/SIGTERM.`,
    )
    .action(runner.action((ctx, _args, o) => start(ctx, runner.env, o)));
}
