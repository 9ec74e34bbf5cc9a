// A job escrow opened, settled and refunded on a real embedded chain, and the model it trained registered and sold
// (issue 20), through the typed client only: what the coordinator's escrow routes and the web app then show. Three
// owners (dev accounts 1–3) whose silo keys co-sign the receipt with the coordinator key; dataset 3 contributed 2 of
// 3 rounds, so the rest of its share is refunded to the buyer (account 4); account 5 buys a model licence and
// dataset 1's owner pulls its royalty. A second job is opened and never settled.
import { createHash, randomBytes } from 'node:crypto';
import { Wallet, hexlify } from 'ethers';
import { connectChain, signJobReceipt, type EmbeddedChain, type JobReceipt, type SealfoldChain } from '@sealfold/chain';
import { cidOf } from './chain-fixture.js';

export const ESCROW_RATE = 10n ** 12n; // wei per row per round
export const ESCROW_ROWS = [100n, 200n, 300n];
export const ESCROW_ROUNDS = 3;
/** Rounds each dataset contributed in the settled job. */
export const ESCROW_CONTRIBUTED = [3, 3, 2];
export const MODEL_PRICE = 10n ** 16n; // 0.01 ETH

export interface EscrowScenario {
  owners: SealfoldChain[];
  buyer: SealfoldChain;
  licensee: SealfoldChain;
  datasetIds: bigint[];
  /** Settled, refunded, its model registered and sold once. */
  settledJob: string;
  /** Opened, never settled. */
  openJob: string;
  /** What each dataset was paid in the settled job (before the fee). */
  paid: bigint[];
  refund: bigint;
  /** Model parents' shares (micros), dataset order. */
  shares: number[];
  upstream: bigint;
  /** Dataset 1's royalty, claimed. */
  claimed: bigint;
  close(): void;
}

const bytes32 = () => hexlify(randomBytes(32));

export async function escrowScenario(chain: EmbeddedChain): Promise<EscrowScenario> {
  const owners = await Promise.all(
    [1, 2, 3].map((i) => connectChain({ embedded: chain, signer: chain.accounts[i].privateKey })),
  );
  const buyer = await connectChain({ embedded: chain, signer: chain.accounts[4].privateKey });
  const licensee = await connectChain({ embedded: chain, signer: chain.accounts[5].privateKey });
  const silos = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
  const coordinator = Wallet.createRandom();
  const datasetIds: bigint[] = [];
  const licenceIds: bigint[] = [];
  for (const [i, owner] of owners.entries()) {
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf(`escrow-scenario-${i}-${Date.now()}`),
      commitment: `0x${createHash('sha256').update(`escrow-${i}`).digest('hex')}`,
      terms: { priceWei: 10n ** 15n },
    });
    await owner.setJobTerms(datasetId, {
      ratePerRowRound: ESCROW_RATE,
      rows: ESCROW_ROWS[i],
      derivativesAllowed: true,
      derivativeShareMicros: 100_000,
      siloSigner: silos[i].address,
    });
    datasetIds.push(datasetId);
    licenceIds.push((await buyer.purchaseLicence(datasetId)).licenceId);
  }
  const open = () =>
    buyer.openJobEscrow({
      requestDigest: bytes32(),
      coordinator: coordinator.address,
      threshold: 2,
      rounds: ESCROW_ROUNDS,
      datasets: datasetIds.map((datasetId, i) => ({ datasetId, licenceId: licenceIds[i] })),
      runSeconds: 3600,
    });
  const settledJob = (await open()).jobId;
  const receipt: JobReceipt = {
    jobId: settledJob,
    roundsCompleted: ESCROW_ROUNDS,
    modelDigest: bytes32(),
    modelCidDigest: bytes32(),
    transcriptRoot: bytes32(),
    roundsByDataset: ESCROW_CONTRIBUTED,
    epsilonSpentMilli: 2500,
    valuationDigest: bytes32(),
  };
  const domain = await buyer.receiptDomain();
  const siloSignatures: Record<string, string> = {};
  for (const [i, silo] of silos.entries())
    siloSignatures[String(datasetIds[i])] = await signJobReceipt(silo, domain, receipt);
  const settled = await owners[0].settleJob(settledJob, {
    receipt,
    siloSignatures,
    coordinatorSignature: await signJobReceipt(coordinator, domain, receipt),
  });
  const refund = (await owners[1].refundJob(settledJob)).amount;
  const model = await buyer.registerModel(settledJob, { price: MODEL_PRICE });
  const sale = await licensee.buyModelLicence(settledJob);
  const claimed = (await licensee.claimUpstream(settledJob, datasetIds[0])).amount;
  const openJob = (await open()).jobId;
  return {
    owners,
    buyer,
    licensee,
    datasetIds,
    settledJob,
    openJob,
    paid: settled.payments.map((p) => p.amount),
    refund,
    shares: model.parents.map((p) => p.shareMicros),
    upstream: sale.upstream,
    claimed,
    close() {
      for (const c of [...owners, buyer, licensee]) c.close();
    },
  };
}
