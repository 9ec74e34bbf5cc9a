// Per-job escrow and model royalties through the typed client, on the real embedded EDR chain with the contracts
// deployed by `startEmbeddedChain`: three owners whose silos co-sign a JobReceipt (EIP-712) with the coordinator,
// the fallback path without it, refunds after the windows (clock moved with evm_increaseTime), a coordinator-only
// receipt that pays nothing, and a model registered from the job whose licence sale pays the parents' pot.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Wallet, hexlify } from 'ethers';
import { CID } from 'multiformats/cid';
import { connectChain, type SealfoldChain } from './client.js';
import { startEmbeddedChain } from './embedded.js';
import type { EmbeddedChain } from './embedded-chain.js';
import { ContractRevertError, InvalidArgumentError, SignatureError } from './errors.js';
import { escrowJobId, merkleProof, parentLeaf, parseReceiptBundle } from './escrow.js';
import { signJobReceipt, type JobReceipt } from './job-receipt.js';

const ETH = 10n ** 18n;
const DAY = 86_400;
const FEE_BPS = 250;
const RATE = 10n ** 12n; // wei per row per round
const ROWS = [100n, 200n, 300n];
const ROUNDS = 5;
const RUN_SECONDS = 3600;

const bytes32 = () => hexlify(randomBytes(32));
const cidOf = (text: string) => {
  const digest = createHash('sha256').update(text).digest();
  return CID.decode(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...digest])).toString();
};

async function revertName(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ContractRevertError) return err.errorName;
    throw err;
  }
  throw new Error('expected a revert');
}

describe('JobEscrow and ModelAsset through the client, on the embedded chain', () => {
  let dir: string;
  let chain: EmbeddedChain;
  let owners: SealfoldChain[];
  let buyer: SealfoldChain;
  let buyer2: SealfoldChain;
  const silos = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
  const coordinator = Wallet.createRandom();
  const datasetIds: bigint[] = [];
  const licenceIds: bigint[] = [];

  const advance = async (seconds: number) => {
    await chain.request('evm_increaseTime', [seconds]);
    await chain.request('evm_mine', []);
  };
  const open = (requestDigest = bytes32()) =>
    buyer.openJobEscrow({
      requestDigest,
      coordinator: coordinator.address,
      threshold: 2,
      rounds: ROUNDS,
      datasets: datasetIds.map((datasetId, i) => ({ datasetId, licenceId: licenceIds[i] })),
      runSeconds: RUN_SECONDS,
    });
  const receiptOf = (jobId: string, roundsByDataset: number[]): JobReceipt => ({
    jobId,
    roundsCompleted: ROUNDS,
    modelDigest: bytes32(),
    modelCidDigest: bytes32(),
    transcriptRoot: bytes32(),
    roundsByDataset,
    epsilonSpentMilli: 2500,
    valuationDigest: bytes32(),
  });
  const sign = async (receipt: JobReceipt, who: readonly number[], withCoordinator: boolean) => {
    const domain = await buyer.receiptDomain();
    const siloSignatures: Record<string, string> = {};
    for (const i of who) siloSignatures[String(datasetIds[i])] = await signJobReceipt(silos[i], domain, receipt);
    return {
      receipt,
      siloSignatures,
      ...(withCoordinator ? { coordinatorSignature: await signJobReceipt(coordinator, domain, receipt) } : {}),
    };
  };
  const pay = (i: number, rounds: number) => RATE * ROWS[i] * BigInt(rounds);
  const net = (amount: bigint) => amount - (amount * BigInt(FEE_BPS)) / 10_000n;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-escrow-'));
    chain = await startEmbeddedChain({ dataDir: dir, feeBps: FEE_BPS });
    owners = await Promise.all(
      [1, 2, 3].map((i) => connectChain({ embedded: chain, signer: chain.accounts[i].privateKey })),
    );
    buyer = await connectChain({ embedded: chain, signer: chain.accounts[4].privateKey });
    buyer2 = await connectChain({ embedded: chain, signer: chain.accounts[5].privateKey });
    for (const [i, owner] of owners.entries()) {
      const { datasetId } = await owner.registerDataset({
        manifestCid: cidOf(`escrow-${i}`),
        commitment: bytes32(),
        terms: { priceWei: ETH / 1000n },
      });
      await owner.setJobTerms(datasetId, {
        ratePerRowRound: RATE,
        rows: ROWS[i],
        derivativesAllowed: true,
        derivativeShareMicros: 100_000,
        siloSigner: silos[i].address,
      });
      datasetIds.push(datasetId);
      licenceIds.push((await buyer.purchaseLicence(datasetId)).licenceId);
    }
  });
  afterAll(async () => {
    for (const c of [...(owners ?? []), buyer, buyer2]) c?.close();
    await chain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploys JobEscrow and ModelAsset with the rest and names them in deployment.json', () => {
    expect(chain.deployment?.contracts.JobEscrow).toBe(buyer.addresses?.jobEscrow);
    expect(chain.deployment?.contracts.ModelAsset).toBe(buyer.addresses?.modelAsset);
    expect(buyer.addresses?.jobEscrow).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  let job1: string;
  let receipt1: JobReceipt;

  it('open locks the exact price and pins the terms; anyone reads them back from the chain', async () => {
    const requestDigest = bytes32();
    const opened = await open(requestDigest);
    job1 = opened.jobId;
    expect(job1).toBe(escrowJobId(buyer.signerAddress!, requestDigest));
    const price = [0, 1, 2].reduce((s, i) => s + pay(i, ROUNDS), 0n);
    expect(opened.price).toBe(price);
    expect(opened.locked).toBe(price);
    expect(opened.pinned.map((p) => p.signer)).toEqual(silos.map((s) => s.address));
    expect(opened.pinned.map((p) => p.payee)).toEqual(owners.map((o) => o.signerAddress));
    const info = await owners[0].getEscrow(job1);
    expect(info).toMatchObject({
      buyer: buyer.signerAddress,
      locked: price,
      paid: 0n,
      paidIndices: [],
      refunded: false,
    });
    const terms = await owners[2].escrowTerms(job1);
    expect(terms.header).toEqual(opened.header);
    expect(terms.pinned).toEqual(opened.pinned);
    expect(terms.requestDigest).toBe(requestDigest);
    // Same request twice: refused by name; input errors never reach the chain.
    expect(await revertName(open(requestDigest))).toBe('JobExists');
    await expect(
      buyer.openJobEscrow({
        requestDigest: bytes32(),
        coordinator: coordinator.address,
        threshold: 4,
        rounds: ROUNDS,
        datasets: datasetIds.map((datasetId, i) => ({ datasetId, licenceId: licenceIds[i] })),
        runSeconds: RUN_SECONDS,
      }),
    ).rejects.toThrow(InvalidArgumentError);
    expect(await revertName(owners[0].getEscrow(bytes32()))).toBe('UnknownJob');
  });

  it('a receipt signed by the coordinator alone pays nothing', async () => {
    receipt1 = receiptOf(job1, [5, 5, 2]);
    const before = await Promise.all(owners.map((o) => o.escrowOwed(o.signerAddress!)));
    const r = await owners[0].settleJob(job1, await sign(receipt1, [], true));
    expect(r.paidNow).toBe(0n);
    expect(r.payments).toEqual([]);
    expect(r.byCoordinator).toBe(true);
    expect(await Promise.all(owners.map((o) => o.escrowOwed(o.signerAddress!)))).toEqual(before);
    expect((await buyer.getEscrow(job1)).paid).toBe(0n);
  });

  it('a silo signature from another key is refused before anything is sent', async () => {
    const bundle = await sign(receipt1, [0], true);
    bundle.siloSignatures[String(datasetIds[1])] = bundle.siloSignatures[String(datasetIds[0])];
    await expect(owners[0].settleJob(job1, bundle)).rejects.toThrow(SignatureError);
    expect(() => parseReceiptBundle({ receipt: { ...receipt1, jobId: '0x12' }, siloSignatures: {} })).toThrow(
      /jobId must be 32 bytes/,
    );
  });

  it('settle with three silo signatures and the coordinator pays rate × rows × rounds; earnings and withdraw', async () => {
    const r = await owners[1].settleJob(job1, await sign(receipt1, [0, 1, 2], true));
    expect(r.payments.map((p) => [p.datasetId, p.rounds, p.amount])).toEqual([
      [datasetIds[0], 5, pay(0, 5)],
      [datasetIds[1], 5, pay(1, 5)],
      [datasetIds[2], 2, pay(2, 2)],
    ]);
    expect(r.paidNow).toBe(pay(0, 5) + pay(1, 5) + pay(2, 2));
    // Settling again pays nobody twice (already-paid datasets are skipped, not reverted).
    expect((await owners[2].settleJob(job1, await sign(receipt1, [0, 1, 2], true))).paidNow).toBe(0n);
    for (const [i, owner] of owners.entries()) {
      const earnings = await owner.earningsOf(owner.signerAddress!);
      expect(earnings).toHaveLength(1);
      expect(earnings[0]).toMatchObject({ jobId: job1, datasetId: datasetIds[i], amount: r.payments[i].amount });
      expect(earnings[0].net).toBe(net(r.payments[i].amount));
      expect((await owner.escrowOwed(owner.signerAddress!)).jobEscrow).toBe(earnings[0].net);
    }
    const me = owners[0].signerAddress!;
    const balance = await owners[0].getBalance(me);
    const w = await owners[0].withdrawEarnings();
    expect(w.jobEscrow).toBe(net(pay(0, 5)));
    const gas = w.transactions.reduce((s, t) => s + t.gasUsed * t.effectiveGasPrice, 0n);
    expect(await owners[0].getBalance(me)).toBe(balance + net(pay(0, 5)) - gas);
    expect(await revertName(owners[0].withdrawEarnings())).toBe('NothingToWithdraw');
  });

  it('once every dataset is paid, the unpaid rest is refunded to the buyer at once, and only once', async () => {
    const r = await owners[0].refundJob(job1);
    expect(r.buyer).toBe(buyer.signerAddress);
    expect(r.amount).toBe(pay(2, 3)); // dataset 3 contributed 2 of 5 rounds
    expect(await revertName(owners[0].refundJob(job1))).toBe('JobClosed');
    expect((await buyer.escrowOwed(buyer.signerAddress!)).jobEscrow).toBe(pay(2, 3));
  });

  it('registers the model from the confirmed receipt; a licence sale pays the parents’ pot, which they pull', async () => {
    expect(await revertName(buyer2.registerModel(job1))).toBe('NotBuyer');
    const model = await buyer.registerModel(job1, { price: ETH / 100n });
    expect(model.modelId).toBe(BigInt(job1));
    // share_i = ⌊s_i × w_i / W⌋ with s = 10%, w = rows × rounds: 500, 1000, 600 of 2100.
    expect(model.parents).toEqual([
      { datasetId: datasetIds[0], shareMicros: 23_809 },
      { datasetId: datasetIds[1], shareMicros: 47_619 },
      { datasetId: datasetIds[2], shareMicros: 28_571 },
    ]);
    expect(model.stackMicros).toBe(23_809 + 47_619 + 28_571);
    const info = await buyer2.getModelAsset(job1);
    expect(info).toMatchObject({ owner: buyer.signerAddress, price: ETH / 100n, gross: 0n });
    expect(merkleProof(model.parents.map(parentLeaf), 0).root).toBe(info.parentsRoot);
    expect(await revertName(buyer.registerModel(job1))).toBe('ERC721InvalidSender');

    const sale = await buyer2.buyModelLicence(job1);
    const price = ETH / 100n;
    const upstream = (price * BigInt(model.stackMicros)) / 1_000_000n;
    const fee = (price * BigInt(FEE_BPS)) / 10_000n;
    expect(sale).toMatchObject({ price, fee, upstream, owner: buyer.signerAddress });
    expect(await buyer.isModelLicensed(job1, buyer2.signerAddress!)).toBe(true);
    expect((await buyer.escrowOwed(buyer.signerAddress!)).modelAsset).toBe(price - fee - upstream);

    // Each parent pulls its share; Σ pulled ≤ the pot.
    let pulled = 0n;
    for (const [i, owner] of owners.entries()) {
      const claim = await buyer2.claimUpstream(job1, datasetIds[i]);
      expect(claim.account).toBe(owner.signerAddress);
      expect(claim.amount).toBe((price * BigInt(model.parents[i].shareMicros)) / 1_000_000n);
      expect((await owner.escrowOwed(owner.signerAddress!)).modelAsset).toBe(claim.amount);
      pulled += claim.amount;
    }
    expect(pulled).toBeLessThanOrEqual(upstream);
    expect((await buyer2.claimUpstream(job1, datasetIds[0])).amount).toBe(0n);
    // The buyer withdraws the refund (escrow) and the licence proceeds (model asset) together.
    const w = await buyer.withdrawEarnings();
    expect(w).toMatchObject({ jobEscrow: pay(2, 3), modelAsset: price - fee - upstream });
  });

  let job2: string;
  let job3: string;

  it('fallback: without the coordinator, t silos settle only after its window; a job never settled is refunded whole after settleEnd', async () => {
    job2 = (await open()).jobId;
    const opened3 = await open();
    job3 = opened3.jobId;
    const receipt3 = receiptOf(job3, [5, 5, 0]);
    expect(await revertName(owners[0].settleJob(job3, await sign(receipt3, [0, 1], false)))).toBe(
      'CoordinatorWindowOpen',
    );
    expect(await revertName(owners[0].refundJob(job2))).toBe('RefundNotYet');
    await advance(RUN_SECONDS + DAY + 1);
    // After the coordinator's window: its signature is refused, one silo is below t = 2, two silos settle.
    expect(await revertName(owners[0].settleJob(job3, await sign(receipt3, [0, 1], true)))).toBe(
      'CoordinatorWindowClosed',
    );
    expect(await revertName(owners[0].settleJob(job3, await sign(receipt3, [0], false)))).toBe('BelowThreshold');
    const r = await owners[0].settleJob(job3, await sign(receipt3, [0, 1], false));
    expect(r).toMatchObject({ paidNow: pay(0, 5) + pay(1, 5), byQuorum: true, byCoordinator: false });
    expect(await revertName(owners[0].refundJob(job2))).toBe('RefundNotYet');

    await advance(2 * DAY);
    expect(await revertName(owners[2].settleJob(job3, await sign(receipt3, [2], false)))).toBe('SettlementClosed');
    const before = (await buyer.escrowOwed(buyer.signerAddress!)).jobEscrow;
    const refund2 = await owners[1].refundJob(job2);
    expect(refund2.amount).toBe(opened3.price); // same terms: the whole price
    const refund3 = await owners[1].refundJob(job3);
    expect(refund3.amount).toBe(opened3.price - r.paidNow);
    expect((await buyer.escrowOwed(buyer.signerAddress!)).jobEscrow).toBe(before + refund2.amount + refund3.amount);
    expect((await buyer.getEscrow(job2)).refunded).toBe(true);
  });
});
