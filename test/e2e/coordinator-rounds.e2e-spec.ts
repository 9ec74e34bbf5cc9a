// Federated jobs end to end over the real gateway: EDR chain, embedded IPFS, SecAgg+ server and clients, tfjs
// training on Iris shards. A silo killed mid-round is absorbed by dropout handling; fewer than t survivors abort the
// round and fail the job with that reason; a coordinator restarted mid-job resumes from its last committed model.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { X25519Identity, decrypt } from '@sealfold/crypto';
import { combineEval, decodeWeights, evaluateLocal, parseModelSpec } from '@sealfold/fl';
import { jobCancelMessage, jobTraining } from '@sealfold/protocol';
import { Wallet } from 'ethers';
import WebSocket from 'ws';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../../apps/coordinator/src/models/content-store.port.js';
import {
  TEST_MODEL_SPEC,
  cidOf,
  commitmentOf,
  coordinatorAddressOf,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { irisShard, startFlSilo, type FlSilo, type FlSiloOptions } from './helpers/fl-silo.js';
import { authed, signIn } from './helpers/session.js';

// Six owners for the dropout test: SecAgg+ t is at least 3 (the silos' owner policy, JobRequest v2's minimum), and a
// neighbourhood survives a dropout only when k > t (n = 6 gives k = 5).
const OWNERS = [1, 4, 5, 6, 7, 8];
const BUYER = 2;

describe('federated rounds (real chain, IPFS, SecAgg+, tfjs)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  // The buyer's read session (EIP-4361 sign-in), opened on first use.
  let token: string | undefined;
  const bearer = async () => (token ??= await signIn(coordinator.url, buyer));
  const read = async (url: string) => authed(await bearer())(url);
  /** The coordinator's chain account: ModelRegistry records are kept under it. */
  let coordinatorAddress: string;
  const datasets: bigint[] = [];
  const licences: bigint[] = [];
  const silos: FlSilo[] = [];
  const identity = X25519Identity.generate();
  let nonce = 1n;

  const start = async () => {
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_STAGE_TIMEOUT_MS: '8000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '60000',
        SEALFOLD_MIN_SILOS: '3',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough() },
    );
  };

  const connectSilos = async (indices: number[], vanish?: Map<number, FlSiloOptions['vanishAt']>) => {
    const out: FlSilo[] = [];
    for (const i of indices) {
      const silo = await startFlSilo({
        url: coordinator.url,
        wallet: new Wallet(fixture.chain.accounts[OWNERS[i]].privateKey),
        datasetId: datasets[i],
        data: irisShard(i, OWNERS.length),
        vanishAt: vanish?.get(i),
      });
      silos.push(silo);
      out.push(silo);
    }
    return out;
  };

  const submit = async (indices: number[], rounds: number) => {
    const req = jobRequest(buyer.address, {
      coordinator: await coordinatorAddressOf(coordinator.url),
      recipient: identity.recipient.toString(),
      training: jobTraining({
        localEpochs: 2,
        batchSize: 16,
        learningRate: 0.5,
        optimizer: 'sgd',
        updateClip: 2,
        maxWeight: 1000,
      }),
      datasets: indices.map((i) => datasets[i]),
      licences: indices.map((i) => licences[i]),
      rounds,
      nonce: nonce++,
    });
    const res = await fetch(`${coordinator.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await signedBody(buyerClient, buyer, req)),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };

  const job = async (id: string) =>
    (await (await read(`${coordinator.url}/jobs/${id}`)).json()) as {
      status: string;
      reasonCode: string | null;
      reason: string | null;
      currentRound: number;
    };

  const waitFor = async (id: string, statuses: string[], timeoutMs = 120_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const j = await job(id);
      if (statuses.includes(j.status)) return j;
      if (Date.now() > until) throw new Error(`job ${id} still ${j.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const closeSilos = async () => {
    for (const s of silos.splice(0)) await s.close();
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-rounds-'));
    // The coordinator's wallet must hold ModelRegistry's recorder role: create its key before the chain deploys.
    const coordinatorKey = loadOrCreateKey(join(dir, 'coordinator', 'coordinator.key'));
    coordinatorAddress = new Wallet(coordinatorKey).address;
    fixture = await startChainFixture(join(dir, 'chain-data'), [new Wallet(coordinatorKey).address]);
    // …and ETH for the gas of its ModelRegistry records.
    const funder = new Wallet(fixture.chain.accounts[0].privateKey, (await fixture.client(0)).provider);
    await (await funder.sendTransaction({ to: new Wallet(coordinatorKey).address, value: 10n ** 18n })).wait();
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    for (const [i, account] of OWNERS.entries()) {
      const owner = await fixture.client(account);
      const { datasetId } = await owner.registerDataset({
        manifestCid: cidOf(`iris-shard-${i}`),
        commitment: commitmentOf(`iris-${i}`),
        terms: { priceWei: 1000n, licenceDuration: 0n },
      });
      datasets.push(datasetId);
      licences.push((await buyerClient.purchaseLicence(datasetId)).licenceId);
    }
    await start();
  }, 120_000);

  afterAll(async () => {
    await closeSilos();
    await coordinator?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('trains a job to completion through a silo killed mid-round, and delivers the encrypted model', async () => {
    const vanish = new Map([[5, { round: 1, stage: 'masked-input' as const }]]);
    const connected = await connectSilos([0, 1, 2, 3, 4, 5], vanish);
    const id = await submit([0, 1, 2, 3, 4, 5], 2);
    const progress: { round: number; stage: string; accuracy?: number; status: string }[] = [];
    const ws = new WebSocket(`${coordinator.url.replace('http', 'ws')}/progress?job=${id}`, {
      headers: { authorization: `Bearer ${await bearer()}` },
    });
    ws.on('message', (data: Buffer) => progress.push(JSON.parse(data.toString())));
    const done = await waitFor(id, ['completed', 'failed']);
    ws.close();
    expect({ ...done, reason: done.status === 'failed' ? done.reason : null }).toMatchObject({
      status: 'completed',
      currentRound: 2,
      reason: null,
    });
    expect(connected[5].gone).toBe(true);
    // Round 1 went on without the killed silo; the other five contributed to both rounds.
    for (const s of connected.slice(0, 5)) expect(s.contributed).toEqual([1, 2]);
    expect(connected[5].contributed).toEqual([]);
    for (const s of connected.slice(0, 5))
      expect(s.ends).toEqual([expect.objectContaining({ jobId: id, status: 'completed' })]);
    // Live progress: stages, committed rounds with federated accuracy, and the final status.
    expect(progress.map((p) => p.stage)).toEqual(
      expect.arrayContaining(['advertise-keys', 'masked-input', 'evaluate', 'committed']),
    );
    const committed = progress.filter((p) => p.stage === 'committed');
    expect(committed.map((p) => p.round)).toEqual([1, 2]);
    for (const p of committed) expect(p.accuracy).toBeGreaterThanOrEqual(0);
    expect(progress.at(-1)?.status).toBe('completed');

    // The model: CID on IPFS, decryptable by the buyer's identity only, recorded on chain.
    const model = (await (await read(`${coordinator.url}/models/${id}`)).json()) as {
      cid: string;
      txHash: string;
      metadata: { rounds: number; metrics: { round: number; participants: number }[] };
    };
    expect(model.metadata.rounds).toBe(2);
    expect(model.metadata.metrics.map((m) => m.participants)).toEqual([5, 5]);
    const onChain = await buyerClient.getModel(coordinatorAddress, `0x${id}`);
    expect(onChain.modelCid).toBe(model.cid);
    expect(onChain.datasetIds).toEqual([...datasets].sort((a, b) => (a < b ? -1 : 1)));
    const store = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    const bundle = JSON.parse(new TextDecoder().decode(decrypt(await store.get(model.cid), [identity]))) as {
      format: string;
      jobId: string;
      modelSpec: unknown;
      weights: string;
    };
    expect(bundle).toMatchObject({ format: 'sealfold-model/v1', jobId: id, modelSpec: TEST_MODEL_SPEC });
    const weights = decodeWeights(new Uint8Array(Buffer.from(bundle.weights, 'base64')));
    expect(weights.length).toBe(parseModelSpec(TEST_MODEL_SPEC).layout.totalSize);
    // The last round's accuracy came out of a SecAgg+ sum of the five contributors' held-out counts: it equals
    // the example-weighted accuracy of the final model on their shards (up to the 16-bit quantisation).
    const direct = combineEval(
      await Promise.all(
        [0, 1, 2, 3, 4].map((i) => evaluateLocal(TEST_MODEL_SPEC, weights, irisShard(i, OWNERS.length))),
      ),
    );
    expect(committed.at(-1)!.accuracy).toBeCloseTo(direct.accuracy, 3);
    const ciphertext = await store.get(model.cid);
    expect(() => decrypt(ciphertext, [X25519Identity.generate()])).toThrow();
    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(/sealfold_round_duration_seconds_count\{[^}]*\} 2/);
    expect(metrics).toMatch(/sealfold_round_dropouts_total\{[^}]*stage="masked-input"[^}]*\} 1/);
    await closeSilos();
  }, 180_000);

  it('aborts the round and fails the job when fewer than t silos survive', async () => {
    const vanish = new Map([
      [1, { round: 1, stage: 'masked-input' as const }],
      [2, { round: 1, stage: 'masked-input' as const }],
    ]);
    await connectSilos([0, 1, 2], vanish);
    const id = await submit([0, 1, 2], 2);
    const done = await waitFor(id, ['completed', 'failed']);
    expect(done.status).toBe('failed');
    expect(done.reasonCode).toMatch(/^TOO_FEW_(SURVIVORS|NEIGHBOURS)$/);
    expect(done.reason).toMatch(/round 1 aborted/);
    expect((await read(`${coordinator.url}/models/${id}`)).status).toBe(404);
    await closeSilos();
  }, 180_000);

  it('resumes a job after a coordinator restart from the last committed global model', async () => {
    const rounds = 4;
    await connectSilos([0, 1, 2]);
    const id = await submit([0, 1, 2], rounds);
    // Stop the coordinator once round 1 is committed.
    for (;;) {
      if ((await job(id)).currentRound >= 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await coordinator.close();
    await closeSilos();
    await start();
    // What the restarted coordinator found committed; a round in flight at shutdown may have finished.
    const committedBefore = (await job(id)).currentRound;
    expect(committedBefore).toBeGreaterThanOrEqual(1);
    expect(committedBefore).toBeLessThan(rounds);
    const after = await connectSilos([0, 1, 2]);
    const done = await waitFor(id, ['completed', 'failed']);
    expect({ ...done, reason: done.status === 'failed' ? done.reason : null }).toMatchObject({
      status: 'completed',
      currentRound: rounds,
      reason: null,
    });
    const model = (await (await read(`${coordinator.url}/models/${id}`)).json()) as { cid: string };
    const onChain = await buyerClient.getModel(coordinatorAddress, `0x${id}`);
    expect(onChain.modelCid).toBe(model.cid);
    expect(onChain.rounds).toBe(rounds);
    // Rounds committed before the restart were not run again; the rest ran after it.
    const remaining = Array.from({ length: rounds - committedBefore }, (_, i) => committedBefore + 1 + i);
    for (const s of after) expect(s.contributed).toEqual(remaining);
    const history = (await (await read(`${coordinator.url}/jobs/${id}/rounds`)).json()) as {
      rounds: { round: number }[];
    };
    expect(history.rounds.map((r) => r.round)).toEqual(Array.from({ length: rounds }, (_, i) => i + 1));
  }, 240_000);
  it('stops a running job when the buyer cancels it, and tells the silos', async () => {
    const running = await connectSilos([0, 1, 2]);
    const id = await submit([0, 1, 2], 50);
    for (;;) {
      if ((await job(id)).currentRound >= 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await fetch(`${coordinator.url}/jobs/${id}`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ signature: await buyer.signMessage(jobCancelMessage(id)) }),
    });
    expect(res.status).toBe(200);
    const until = Date.now() + 30_000;
    while (running.some((s) => s.ends.length === 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    for (const s of running) expect(s.ends).toEqual([expect.objectContaining({ jobId: id, status: 'cancelled' })]);
    const final = await job(id);
    expect(final.status).toBe('cancelled');
    expect(final.currentRound).toBeLessThan(50);
    expect((await read(`${coordinator.url}/models/${id}`)).status).toBe(404);
    await closeSilos();
  }, 120_000);
});
