// Per-job escrow end to end (issue 20) against REAL silos (apps/silo startSilo over the gateway, sealed Iris shards in
// an embedded Helia store, tfjs training) on the embedded EDR chain: the buyer signs the escrow terms in its request
// and locks the exact price; the silos train only for that escrow, co-sign the receipt at the end, and the
// coordinator settles it — each owner is paid rate × rows × rounds, and the buyer's model, registered from that
// receipt, pays its three parents a royalty on a licence sale. A receipt only the coordinator signed pays
// nothing; a silo that dies and never comes back is paid nothing and its share refunded; a job that never runs is
// refunded whole once its windows are over (chain clock moved with
// evm_increaseTime, never a wall-clock wait).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashJobRequest, sealfoldDomain, signJobReceipt, type JobReceipt, type SealfoldChain } from '@sealfold/chain';
import { X25519Identity } from '@sealfold/crypto';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { NO_ESCROW, jobEscrowTerms, jobTraining, type JobRequest, type JobSettlementView } from '@sealfold/protocol';
import { Wallet } from 'ethers';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import type { RunningSilo } from '../../apps/silo/src/bootstrap.js';
import { jobRequest, signedBody, startChainFixture, type ChainFixture } from './helpers/chain-fixture.js';
import { sealIrisOwners, startOwnerSilo, type SealedOwner } from './helpers/owners.js';
import { authed, signIn } from './helpers/session.js';

// Three owners in most jobs; six in the drop-out job: SecAgg+ over n = 6 (k = 5, t = 3) survives one silo lost in
// the middle of a round (n = 4 or 5 gives k = 3 = t, which would not).
const OWNERS = [1, 4, 5, 6, 7, 8];
const BUYER = 2;
const RATE = 10n ** 12n; // wei per row per round
const ROWS = 50n; // each owner's Iris shard (150 / 3)
const ROUNDS = 2;
const DAY = 86_400;

describe('per-job escrow with real silos (embedded chain)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let coordinatorKey: string;
  let coordinatorAddress: string;
  let store: EmbeddedIpfsStore;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  let token: string | undefined;
  const read = async (url: string) => authed((token ??= await signIn(coordinator.url, buyer)))(url);
  const owners: SealedOwner[] = [];
  const silos: RunningSilo[] = [];
  const recipient = X25519Identity.generate();
  let nonce = 1n;

  const advance = async (seconds: number) => {
    await fixture.chain.request('evm_increaseTime', [seconds]);
    await fixture.chain.request('evm_mine', []);
  };

  /** A request over the three owners' datasets that signs escrow terms (a 1 h run from the chain's clock). */
  const escrowRequest = async (
    inJob = owners.slice(0, 3),
    rounds = ROUNDS,
  ): Promise<{ req: JobRequest; requestDigest: string }> => {
    const licences: bigint[] = [];
    for (const o of inJob) licences.push((await buyerClient.purchaseLicence(o.datasetId)).licenceId);
    const req = jobRequest(buyer.address, {
      coordinator: coordinatorAddress,
      recipient: recipient.recipient.toString(),
      training: jobTraining({ localEpochs: 1, batchSize: 16, learningRate: 0.05, optimizer: 'adam', maxWeight: 1000 }),
      datasets: inJob.map((o) => o.datasetId),
      licences,
      rounds,
      nonce: nonce++,
      escrow: jobEscrowTerms({
        now: await buyerClient.latestTimestamp(),
        feeBps: await buyerClient.escrowFeeBps(),
        runSeconds: 3600,
      }),
    });
    const domain = sealfoldDomain(buyerClient.chainId, buyerClient.addresses!.datasetLicence);
    return { req, requestDigest: hashJobRequest(domain, req) };
  };

  /** The buyer locks the price on exactly the signed terms (what `job open` does from the request). */
  const openEscrow = (req: JobRequest, requestDigest: string) =>
    buyerClient.openJobEscrow({
      requestDigest,
      coordinator: req.coordinator,
      threshold: req.secagg.minContributors,
      rounds: req.rounds,
      datasets: req.datasets.map((datasetId, i) => ({ datasetId, licenceId: req.licences[i] })),
      runDeadline: req.escrow.runDeadline,
      confirmWindow: req.escrow.confirmWindow,
      fallbackWindow: req.escrow.fallbackWindow,
      feeBps: req.escrow.feeBps,
    });

  /**
   * Silo `i` dies when round `round` asks for its masked input (it trained, released nothing): it contributed to the
   * rounds before exactly. Returns what waits for it to be closed.
   */
  const killSiloAtRound = (i: number, round: number) => {
    let killed: Promise<void> | undefined;
    const runner = silos[i].runner;
    const prepareRound = runner.prepareRound.bind(runner);
    runner.prepareRound = async (jobId, r, weights) => {
      const prepared = await prepareRound(jobId, r, weights);
      if (r !== round) return prepared;
      return {
        contribution: prepared.contribution,
        charge: () => {
          killed = silos[i].close();
          throw new Error('silo killed');
        },
      };
    };
    return () => killed;
  };

  const owed = () => Promise.all(owners.map((o) => o.chain.escrowOwed(o.wallet.address).then((x) => x.jobEscrow)));

  const jobView = async (id: string) =>
    (await (await read(`${coordinator.url}/jobs/${id}`)).json()) as {
      status: string;
      reason: string | null;
      currentRound: number;
      settlement: JobSettlementView | null;
    };
  const waitFor = async (
    id: string,
    done = (j: Awaited<ReturnType<typeof jobView>>) => j.status !== 'pending' && j.status !== 'running',
    pollMs = 250,
  ) => {
    const until = Date.now() + 240_000;
    for (;;) {
      const j = await jobView(id);
      if (done(j)) return j;
      if (Date.now() > until) throw new Error(`job ${id} still ${j.status} at round ${j.currentRound}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };
  const submit = async (req: JobRequest) => {
    const res = await fetch(`${coordinator.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await signedBody(buyerClient, buyer, req)),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-escrow-flow-'));
    coordinatorKey = loadOrCreateKey(join(dir, 'coordinator', 'coordinator.key'));
    coordinatorAddress = new Wallet(coordinatorKey).address;
    fixture = await startChainFixture(join(dir, 'chain-data'), [coordinatorAddress]);
    await fixture.fund(coordinatorAddress);
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    store = await EmbeddedIpfsStore.open(join(dir, 'silo-ipfs'));
    owners.push(...(await sealIrisOwners(fixture, OWNERS, store)));
    // Each owner charges a job rate; receipts are co-signed by its silo's wallet (the default silo signer).
    // Derivatives allowed, 10 % of a derived model's licence sales owed upstream (split by rows × rounds).
    for (const o of owners)
      await o.chain.setJobTerms(o.datasetId, {
        ratePerRowRound: RATE,
        rows: ROWS,
        derivativesAllowed: true,
        derivativeShareMicros: 100_000,
      });
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_STAGE_TIMEOUT_MS: '15000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '90000',
        SEALFOLD_MIN_SILOS: '3',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough() },
    );
    for (const [i, o] of owners.entries())
      silos.push(await startOwnerSilo(o, { coordinatorUrl: coordinator.url, store, stateDir: join(dir, `silo-${i}`) }));
    await Promise.all(silos.map((s) => s.client.ready(30_000)));
  }, 240_000);

  afterAll(async () => {
    // The drop-out test closes one silo itself (closing it twice would fail).
    for (const s of silos.splice(0)) await s.close().catch(() => undefined);
    await coordinator?.close();
    await store?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('pays each of three owners rate × rows × rounds from the receipt their silos co-signed', async () => {
    const { req, requestDigest } = await escrowRequest();
    const opened = await openEscrow(req, requestDigest);
    expect(opened.locked).toBe(3n * RATE * ROWS * BigInt(ROUNDS));
    const before = await owed();
    const id = await submit(req);
    const done = await waitFor(id);
    expect({ status: done.status, reason: done.reason, round: done.currentRound }).toEqual({
      status: 'completed',
      reason: null,
      round: ROUNDS,
    });
    const s = done.settlement!;
    expect(s).toMatchObject({ escrowJobId: opened.jobId, error: null, unsigned: {} });
    expect(s.receipt).toMatchObject({ roundsCompleted: ROUNDS, roundsByDataset: [ROUNDS, ROUNDS, ROUNDS] });
    expect(Object.keys(s.siloSignatures).sort()).toEqual(
      owners
        .slice(0, 3)
        .map((o) => String(o.datasetId))
        .sort(),
    );
    expect(s.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(s.paidWei).toBe(String(opened.locked));
    // Paid into each owner's credit (fee 0 on this deployment), nothing left for the buyer.
    const after = await owed();
    after.forEach((a, i) => expect(a - before[i]).toBe(i < 3 ? RATE * ROWS * BigInt(ROUNDS) : 0n));
    const escrow = await buyerClient.getEscrow(opened.jobId);
    expect(escrow).toMatchObject({ paid: escrow.locked, paidIndices: [0, 1, 2] });
    // Every silo kept its signature: an owner can settle without the coordinator's records.
    for (const [i, o] of owners.slice(0, 3).entries())
      expect(silos[i].ledger.signedReceipt(opened.jobId, o.datasetId)?.signature).toBe(
        s.siloSignatures[String(o.datasetId)],
      );

    // The model is a licensed derivative of exactly these three datasets: the buyer registers it from the receipt
    // the silos co-signed (read back from the settle transaction), and a licence sale pays its parents' pot.
    const price = 10n ** 16n;
    const model = await buyerClient.registerModel(opened.jobId, { price });
    expect(model.parents.map((p) => p.datasetId)).toEqual(owners.slice(0, 3).map((o) => o.datasetId));
    // share_i = ⌊10 % × w_i / W⌋ with equal rows × rounds: a third of 10 % each.
    expect(model.parents.map((p) => p.shareMicros)).toEqual([33_333, 33_333, 33_333]);
    const licensee = owners[5].chain; // an owner whose dataset is not a parent buys a licence of the model
    const sale = await licensee.buyModelLicence(opened.jobId);
    expect(sale.upstream).toBe((price * BigInt(model.stackMicros)) / 1_000_000n);
    const royaltiesBefore = await Promise.all(
      owners.slice(0, 3).map((o) => o.chain.escrowOwed(o.wallet.address).then((x) => x.modelAsset)),
    );
    let pulled = 0n;
    for (const [i, o] of owners.slice(0, 3).entries()) {
      const claim = await licensee.claimUpstream(opened.jobId, o.datasetId);
      expect(claim.account).toBe(o.wallet.address);
      expect(claim.amount).toBe((price * 33_333n) / 1_000_000n);
      expect((await o.chain.escrowOwed(o.wallet.address)).modelAsset - royaltiesBefore[i]).toBe(claim.amount);
      pulled += claim.amount;
    }
    expect(pulled).toBeLessThanOrEqual(sale.upstream);
  }, 300_000);

  it('a silo killed in round 3 of 5 and restarted after the job signs for its 2 rounds, is paid for them; the rest is refunded', async () => {
    const { req, requestDigest } = await escrowRequest(owners, 5);
    const opened = await openEscrow(req, requestDigest);
    const dropped = owners[5];
    const before = await owed();
    const id = await submit(req);
    // The sixth owner's silo dies when round 3 asks for its masked input (trained, released nothing): it contributed
    // to rounds 1 and 2 exactly; the other five finish the job.
    const killed = killSiloAtRound(5, 3);
    const done = await waitFor(id);
    await killed();
    expect({ status: done.status, round: done.currentRound, reason: done.reason }).toEqual({
      status: 'completed',
      round: 5,
      reason: null,
    });
    const index = opened.pinned.findIndex((p) => p.datasetId === dropped.datasetId);
    const s = done.settlement!;
    const roundsOfDropped = s.receipt.roundsByDataset[index];
    expect(roundsOfDropped).toBe(2);
    expect(s.unsigned).toEqual({ [String(dropped.datasetId)]: 'silo offline' });
    expect(BigInt(s.paidWei!)).toBe(5n * RATE * ROWS * 5n);

    // Back after the job: asked again on its announce, it signs for its own rounds only and is paid for them.
    silos[5] = await startOwnerSilo(dropped, { coordinatorUrl: coordinator.url, store, stateDir: join(dir, 'silo-5') });
    await silos[5].client.ready(30_000);
    const late = await waitFor(id, (j) => Object.keys(j.settlement?.unsigned ?? { x: 1 }).length === 0);
    expect(late.settlement!.lateSettlements).toHaveLength(1);
    const paid = RATE * ROWS * BigInt(roundsOfDropped);
    expect(BigInt(late.settlement!.paidWei!)).toBe(5n * RATE * ROWS * 5n + paid);
    const after = await owed();
    after.forEach((a, i) => expect(a - before[i]).toBe(i < 5 ? RATE * ROWS * 5n : paid));
    // The rest goes back to the buyer once the windows are over.
    await advance(3600 + DAY + 2 * DAY + 1);
    const refund = await buyerClient.refundJob(opened.jobId);
    expect(refund.amount).toBe(opened.locked - 5n * RATE * ROWS * 5n - paid);
  }, 400_000);

  it('a request that signs no escrow over datasets with a job rate is refused at submission, naming them', async () => {
    const { req } = await escrowRequest();
    const res = await fetch(`${coordinator.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await signedBody(buyerClient, buyer, { ...req, escrow: NO_ESCROW })),
    });
    expect(res.status).toBe(409);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('ESCROW_REQUIRED');
    expect(body.message).toContain(
      owners
        .slice(0, 3)
        .map((o) => o.datasetId)
        .join(', '),
    );
  });

  it('a receipt only the coordinator signed pays nothing; a job that never ran is refunded whole after its windows', async () => {
    const { req, requestDigest } = await escrowRequest();
    const opened = await openEscrow(req, requestDigest);
    const before = await owed();
    // The coordinator forges a full transcript for a job that never ran: without the silos' keys it pays nothing.
    const forged: JobReceipt = {
      jobId: opened.jobId,
      roundsCompleted: ROUNDS,
      modelDigest: `0x${'aa'.repeat(32)}`,
      modelCidDigest: `0x${'bb'.repeat(32)}`,
      transcriptRoot: `0x${'cc'.repeat(32)}`,
      roundsByDataset: [ROUNDS, ROUNDS, ROUNDS],
      epsilonSpentMilli: 0,
      valuationDigest: `0x${'00'.repeat(32)}`,
    };
    const domain = await buyerClient.receiptDomain();
    const settled = await buyerClient.settleJob(opened.jobId, {
      receipt: forged,
      coordinatorSignature: await signJobReceipt(new Wallet(coordinatorKey), domain, forged),
      siloSignatures: {},
    });
    expect(settled.payments).toEqual([]);
    expect(await owed()).toEqual(before);
    // A silo asked to sign it refuses: it never admitted the job.
    await expect(
      silos[0].runner.signReceipt({
        jobId: requestDigest.slice(2),
        datasetId: owners[0].datasetId,
        receipt: forged,
        transcript: [],
      }),
    ).rejects.toMatchObject({ reason: 'receipt-refused' });
    // No refund before the windows close; after them, the whole price back to the buyer.
    await expect(buyerClient.refundJob(opened.jobId)).rejects.toThrow(/RefundNotYet|refund/i);
    await advance(3600 + DAY + 2 * DAY + 1);
    const buyerBefore = (await buyerClient.escrowOwed(buyer.address)).jobEscrow;
    const refund = await buyerClient.refundJob(opened.jobId);
    expect(refund.amount).toBe(opened.locked);
    expect((await buyerClient.escrowOwed(buyer.address)).jobEscrow - buyerBefore).toBe(opened.locked);
  }, 300_000);
  it('a silo killed in round 2 that never comes back is paid nothing, and its whole share is refunded', async () => {
    const { req, requestDigest } = await escrowRequest(owners, 3);
    const opened = await openEscrow(req, requestDigest);
    const gone = owners[5];
    const before = await owed();
    const id = await submit(req);
    const killed = killSiloAtRound(5, 2);
    const done = await waitFor(id);
    await killed();
    expect({ status: done.status, round: done.currentRound }).toEqual({ status: 'completed', round: 3 });
    const s = done.settlement!;
    const index = opened.pinned.findIndex((p) => p.datasetId === gone.datasetId);
    expect(s.receipt.roundsByDataset[index]).toBe(1); // it contributed to round 1, but never signs for it
    expect(s.unsigned).toEqual({ [String(gone.datasetId)]: 'silo offline' });
    // After the windows: the five that signed were paid, the one that never came back nothing, and its whole share
    // (all 3 rounds, not only the 2 it missed) goes back to the buyer.
    await advance(3600 + DAY + 2 * DAY + 1);
    const refund = await buyerClient.refundJob(opened.jobId);
    expect(refund.amount).toBe(RATE * ROWS * 3n);
    const after = await owed();
    after.forEach((a, i) => expect(a - before[i]).toBe(i < 5 ? RATE * ROWS * 3n : 0n));
  }, 400_000);
});
