// `sealfold funds balance|withdraw`: ETH owed to you (pull payments): a dataset owner's sale proceeds, which vest over
// each licence's paid time and are released from escrow, and a buyer's refunds of revoked licences.
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { openChain } from '../chain-connect.js';
import { loadOwner } from '../owner.js';
import { formatEth } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';

async function balance(ctx: Context, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env);
  const [owedWei, releasableWei, balanceWei] = await Promise.all([
    client.owedEth(owner.address),
    client.releasableEth(owner.address),
    client.getBalance(owner.address),
  ]);
  return {
    json: { address: owner.address, owedWei, releasableWei, balanceWei },
    text:
      `${owner.address}\nowed to you (withdrawable)       ${formatEth(owedWei)}\n` +
      `vested sale proceeds in escrow  ${formatEth(releasableWei)} (released by \`funds withdraw\`)\n` +
      `wallet balance                  ${formatEth(balanceWei)}`,
  };
}

async function withdraw(ctx: Context, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, owner.wallet);
  // Vested proceeds of your datasets' sales leave escrow first (one transaction), then everything owed is paid.
  const released = (await client.releasableEth(owner.address)) > 0n ? (await client.releaseProceeds()).released : 0n;
  const r = await client.withdraw();
  return {
    json: {
      address: owner.address,
      amountWei: r.amount,
      releasedWei: released,
      txHash: r.hash,
      blockNumber: r.blockNumber,
      gasUsed: r.gasUsed,
    },
    text: `withdrew ${formatEth(r.amount)} to ${owner.address}\ntx ${r.hash} (gas ${r.gasUsed})`,
  };
}

export function registerFunds(program: Command, runner: Runner): void {
  const funds = program.command('funds').description('ETH owed to you: licence sale proceeds and refunds');
  funds
    .command('balance')
    .description('ETH owed to your wallet, vested sale proceeds still in escrow, and the wallet balance')
    .addHelpText('after', `${JSON_NOTE}\n  {"address", "owedWei", "releasableWei", "balanceWei"}`)
    .action(runner.action((ctx) => balance(ctx, runner.env)));
  funds
    .command('withdraw')
    .description(
      'release your vested sale proceeds and withdraw the ETH owed to your wallet (fails with "nothing to withdraw" when none is owed)',
    )
    .addHelpText('after', `${JSON_NOTE}\n  {"address", "amountWei", "releasedWei", "txHash", "blockNumber", "gasUsed"}`)
    .action(runner.action((ctx) => withdraw(ctx, runner.env)));
}
