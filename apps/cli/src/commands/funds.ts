// `sealfold funds balance|withdraw`: ETH owed to a dataset owner from licence sales (pull payments).
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { openChain } from '../chain-connect.js';
import { loadOwner } from '../owner.js';
import { formatEth } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';

async function balance(ctx: Context, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env);
  const [owedWei, balanceWei] = await Promise.all([client.owedEth(owner.address), client.getBalance(owner.address)]);
  return {
    json: { address: owner.address, owedWei, balanceWei },
    text: `${owner.address}\nowed from licence sales  ${formatEth(owedWei)}\nwallet balance           ${formatEth(balanceWei)}`,
  };
}

async function withdraw(ctx: Context, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, owner.wallet);
  const r = await client.withdraw();
  return {
    json: {
      address: owner.address,
      amountWei: r.amount,
      txHash: r.hash,
      blockNumber: r.blockNumber,
      gasUsed: r.gasUsed,
    },
    text: `withdrew ${formatEth(r.amount)} to ${owner.address}\ntx ${r.hash} (gas ${r.gasUsed})`,
  };
}

export function registerFunds(program: Command, runner: Runner): void {
  const funds = program.command('funds').description('ETH owed to you from licence sales');
  funds
    .command('balance')
    .description('ETH owed to your wallet from licence sales, and the wallet balance')
    .addHelpText('after', `${JSON_NOTE}\n  {"address", "owedWei", "balanceWei"}`)
    .action(runner.action((ctx) => balance(ctx, runner.env)));
  funds
    .command('withdraw')
    .description('withdraw the ETH owed to your wallet (fails with "nothing to withdraw" when none is owed)')
    .addHelpText('after', `${JSON_NOTE}\n  {"address", "amountWei", "txHash", "blockNumber", "gasUsed"}`)
    .action(runner.action((ctx) => withdraw(ctx, runner.env)));
}
