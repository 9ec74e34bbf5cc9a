// Dataset owners for e2e tests against REAL silos: each seals its Iris shard (age to its own key) into the content
// store and registers it on chain; `startOwnerSilo` starts that owner's silo (apps/silo startSilo).
import { mkdir } from 'node:fs/promises';
import type { SealfoldChain } from '@sealfold/chain';
import { X25519Identity } from '@sealfold/crypto';
import type { SealingStore } from '@sealfold/dataset';
import { Wallet } from 'ethers';
import { pino } from 'pino';
import { startSilo, type RunningSilo, type StartSiloOptions } from '../../../apps/silo/src/bootstrap.js';
import type { ChainFixture } from './chain-fixture.js';
import { irisShard } from './iris.js';
import { sealAndRegisterShard, shardSchema } from './sealed-shard.js';

export interface SealedOwner {
  readonly wallet: Wallet;
  readonly chain: SealfoldChain;
  readonly identity: X25519Identity;
  readonly datasetId: bigint;
}

/** Owner k (chain account `accounts[k]`) seals Iris shard k of accounts.length: noiseless terms, `maxJobs` jobs. */
export async function sealIrisOwners(
  fixture: ChainFixture,
  accounts: readonly number[],
  store: SealingStore,
  maxJobs = 10,
): Promise<SealedOwner[]> {
  const owners: SealedOwner[] = [];
  for (const [i, account] of accounts.entries()) {
    const identity = X25519Identity.generate();
    const wallet = new Wallet(fixture.chain.accounts[account].privateKey);
    const chain = await fixture.client(account);
    // Unlimited ε (sealAndRegisterShard's terms): these jobs add no DP noise.
    const { datasetId } = await sealAndRegisterShard({
      data: irisShard(i, accounts.length),
      schema: shardSchema(4, 3, (j) => `f${j}`),
      name: `iris-${i}`,
      description: `Iris shard ${i}`,
      owner: { address: wallet.address, identity, chain },
      store,
      maxJobs,
      // Six owners of public Iris hold ~8 rows of a class each: they accept publishing class names at k = 5.
      k: 5,
    });
    owners.push({ wallet, chain, identity, datasetId });
  }
  return owners;
}

/** The owner's real silo, serving its one dataset; its private state (cache, ε ledger) under `stateDir`. */
export async function startOwnerSilo(
  owner: SealedOwner,
  options: Pick<StartSiloOptions, 'coordinatorUrl' | 'store' | 'stateDir'> &
    Partial<Pick<StartSiloOptions, 'allowPlainAggregation' | 'logger' | 'minIndependentOwners' | 'ownerPage'>>,
): Promise<RunningSilo> {
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  return startSilo({
    wallet: owner.wallet,
    identities: [owner.identity],
    chain: owner.chain,
    datasets: [owner.datasetId],
    logger: pino({ level: 'silent' }),
    ...options,
  });
}
