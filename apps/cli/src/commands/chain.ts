// `sealfold chain status|start`: where the chain is, and running the embedded chain in the foreground for operators.
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { toJson } from '../context.js';
import { openChain, startEmbedded } from '../chain-connect.js';
import { resolveChainTarget } from '../chain-endpoint.js';
import { CliError } from '../errors.js';
import { parseSmallInt } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';

async function status(ctx: Context, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const { client, mode } = await openChain(ctx, env);
  const block = await client.getBlockNumber();
  const a = client.addresses;
  const contracts = a
    ? {
        DatasetNFT: a.datasetNFT,
        DatasetLicence: a.datasetLicence,
        ModelRegistry: a.modelRegistry,
        // Deployments made before issue 20 have no job escrow.
        ...(a.jobEscrow !== undefined ? { JobEscrow: a.jobEscrow } : {}),
        ...(a.modelAsset !== undefined ? { ModelAsset: a.modelAsset } : {}),
      }
    : {};
  const json = {
    rpcUrl: mode === 'in-process' ? null : client.rpcUrl,
    mode,
    chainId: client.chainId,
    block,
    contracts,
  };
  const text = [
    `rpc        ${json.rpcUrl ?? '(in-process embedded chain, stopped after this command)'}`,
    `mode       ${mode}`,
    `chain id   ${client.chainId}`,
    `block      ${block}`,
    ...Object.entries(contracts).map(([name, address]) => `${name.padEnd(10)} ${address}`),
  ].join('\n');
  return { json, text };
}

async function start(ctx: Context, env: NodeJS.ProcessEnv, options: Record<string, unknown>): Promise<CommandResult> {
  if (env.SEALFOLD_CHAIN_RPC)
    throw new CliError('CONFIG', 'SEALFOLD_CHAIN_RPC is set: this command runs the embedded chain, unset it first');
  const port = parseSmallInt(String(options.port), '--port', 65535);
  const lib = await import('@sealfold/chain');
  const started = await startEmbedded(lib, ctx.paths.dataDir, port, 'foreground');
  if (started === undefined) {
    const running = await resolveChainTarget(ctx.paths.dataDir, {}, 0);
    throw new CliError(
      'CHAIN_RUNNING',
      `the embedded chain of ${ctx.paths.dataDir} is already running${running.kind === 'rpc' ? ` at ${running.rpcUrl}` : ''}`,
    );
  }
  const { chain } = started;
  const json = {
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    dataDir: ctx.paths.dataDir,
    replayedRecords: chain.replayed.records,
    contracts: chain.deployment?.contracts ?? {},
  };
  // Printed now (the command runs until stopped); scripts read this one line/object.
  if (ctx.json) process.stdout.write(`${toJson(json)}\n`);
  else
    process.stdout.write(
      `embedded chain ${chain.rpcUrl} (chain id ${chain.chainId}, ${chain.replayed.records} journal records replayed)\n` +
        Object.entries(json.contracts)
          .map(([name, address]) => `  ${name.padEnd(15)} ${address}\n`)
          .join('') +
        `data dir ${ctx.paths.dataDir}; Ctrl-C stops it (the journal keeps its state)\n`,
    );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await chain.close();
  started.release();
  return { json, text: '', printed: true };
}

export function registerChain(program: Command, runner: Runner): void {
  const chain = program.command('chain').description('the chain the CLI talks to');
  chain
    .command('status')
    .description('RPC URL, chain id, latest block and contract addresses of the chain in use')
    .addHelpText(
      'after',
      `${JSON_NOTE}
  {"rpcUrl": string|null, "mode": "rpc"|"running-embedded"|"in-process", "chainId", "block",
   "contracts": {"DatasetNFT", "DatasetLicence", "ModelRegistry", "JobEscrow"?, "ModelAsset"?}}`,
    )
    .action(runner.action((ctx) => status(ctx, runner.env)));
  chain
    .command('start')
    .description('run the embedded chain (EDR) in the foreground on 127.0.0.1, deploying the contracts on first start')
    .option('--port <n>', 'TCP port on 127.0.0.1 (0 picks a free one)', '8545')
    .addHelpText(
      'after',
      `
Other sealfold commands on the same --data-dir find it through <data-dir>/chain.lock and use its RPC.
With --json, one object is printed once the chain listens:
  {"rpcUrl", "chainId", "dataDir", "replayedRecords", "contracts": {...}}
Stops on SIGINT/SIGTERM; the state survives in <data-dir>/chain (journal replayed at the next start).`,
    )
    .action(runner.action((ctx, _args, options) => start(ctx, runner.env, options)));
}
