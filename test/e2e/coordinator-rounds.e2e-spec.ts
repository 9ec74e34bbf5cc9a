// Federated jobs end to end over the real gateway, against REAL silos (apps/silo startSilo: SiloClient over the
// WebSocket, SiloJobRunner admitting on chain with its licence, roster, owner-policy and release checks, sealed Iris
// shards in an embedded Helia store, tfjs training): EDR chain, SecAgg+ server and clients. A silo killed mid-round
// is absorbed by dropout handling; fewer than t survivors abort the round and fail the job; FedProx trains with the
// signed μ; a FedAdam job whose coordinator restarts mid-round resumes from its last committed model and state.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { X25519Identity, decrypt } from '@sealfold/crypto';
import { decodeFedAdamState, decodeWeights, parseModelSpec } from '@sealfold/fl';
import { jobCancelMessage, jobTraining, type JobRequest } from '@sealfold/protocol';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { Wallet } from 'ethers';
import WebSocket from 'ws';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../../apps/coordinator/src/models/content-store.port.js';
import { RoundsRepository } from '../../apps/coordinator/src/rounds/rounds.repository.js';
import type { RunningSilo } from '../../apps/silo/src/bootstrap.js';
import { EpsilonLedger } from '../../apps/silo/src/ledger.js';
import {
  TEST_MODEL_SPEC,
  coordinatorAddressOf,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { sealIrisOwners, startOwnerSilo, type SealedOwner } from './helpers/owners.js';
import { authed, signIn } from './helpers/session.js';

// Six owners for the dropout test: SecAgg+ t is at least 3 (the silos' owner policy, JobRequest v2's minimum), and a
// neighbourhood survives a dropout only when k > t (n = 6 gives k = 5).
const OWNERS = [1, 4, 5, 6, 7, 8];
const BUYER = 2;

describe('federated rounds (real silos, chain, IPFS, SecAgg+, tfjs)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let store: EmbeddedIpfsStore;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  // The buyer's read session (EIP-4361 sign-in), opened on first use.
  let token: string | undefined;
  const bearer = async () => (token ??= await signIn(coordinator.url, buyer));
  const read = async (url: string) => authed(await bearer())(url);
  /** The coordinator's chain account: ModelRegistry records are kept under it. */
  let coordinatorAddress: string;
  const owners: SealedOwner[] = [];
  const silos: RunningSilo[] = [];
  /** Silos killed mid-round, still closing. */
  const killed: Promise<void>[] = [];
  const identity = X25519Identity.generate();
  let nonce = 1n;

  // Each owner's private state (decrypted cache, ε ledger) outlives its silo process, as on a real machine.
  const stateDir = (i: number) => join(dir, `silo-${i}`);

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

  const startSilos = async (indices: number[]) => {
    const out: RunningSilo[] = [];
    for (const i of indices) {
      const silo = await startOwnerSilo(owners[i], { coordinatorUrl: coordinator.url, store, stateDir: stateDir(i) });
      silos.push(silo);
      out.push(silo);
    }
    await Promise.all(out.map((s) => s.client.ready(30_000)));
    return out;
  };

  const closeSilos = async () => {
    for (const s of silos.splice(0)) await s.close();
    await Promise.all(killed.splice(0));
  };

  /**
   * The silo process dies when round `round`'s masked-input stage asks for its update: it has advertised its keys
   * and shared its secrets, trained, but released nothing (the release would be booked by `charge`).
   */
  const killAtMaskedInput = (silo: RunningSilo, round: number) => {
    const runner = silo.runner;
    const prepareRound = runner.prepareRound.bind(runner);
    runner.prepareRound = async (jobId, r, weights) => {
      const prepared = await prepareRound(jobId, r, weights);
      if (r !== round) return prepared;
      return {
        contribution: prepared.contribution,
        charge: () => {
          silos.splice(silos.indexOf(silo), 1);
          killed.push(silo.close());
          throw new Error('silo killed');
        },
      };
    };
  };

  /**
   * This silo ignores round `round`'s start (resolves once it arrived): it neither trains nor joins the SecAgg+ key
   * stages, so the coordinator cannot ask anyone for a masked input and the round stays 'started' (re-runnable)
   * until the stage timeout. Holding only the training would not do: the key stages run beside it, and the
   * masked-input request — after which the round is never re-run — could go out before a restart.
   */
  const holdRound = (silo: RunningSilo, round: number) =>
    new Promise<void>((reached) => {
      const client = silo.client as unknown as { onRoundStart(frame: { round: number }): Promise<void> };
      const onRoundStart = client.onRoundStart.bind(client);
      client.onRoundStart = async (frame) => {
        if (frame.round !== round) return onRoundStart(frame);
        reached();
      };
    });

  /** The training rounds of `jobId` owner i's silo released, from its ledger (read after the silo stopped). */
  const releasedRounds = (i: number, jobId: string, rounds: number) => {
    const ledger = EpsilonLedger.open(join(stateDir(i), 'ledger.db'));
    try {
      return Array.from({ length: rounds }, (_, k) => k + 1).filter((r) => ledger.release(jobId, r, 'train'));
    } finally {
      ledger.close();
    }
  };

  const submit = async (indices: number[], rounds: number, fields: Partial<JobRequest> = {}) => {
    const licences: bigint[] = [];
    for (const i of indices) licences.push((await buyerClient.purchaseLicence(owners[i].datasetId)).licenceId);
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
      datasets: indices.map((i) => owners[i].datasetId),
      licences,
      rounds,
      nonce: nonce++,
      ...fields,
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

  /** Waits until every silo has been told the job ended (SiloClient then drops it from its runner). */
  const waitForEnd = async (running: RunningSilo[], id: string) => {
    const until = Date.now() + 30_000;
    while (running.some((s) => s.runner.jobOf(id)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    for (const s of running) expect(s.runner.jobOf(id)).toBeUndefined();
  };

  const completed = (done: Awaited<ReturnType<typeof job>>, rounds: number) =>
    expect({ ...done, reason: done.status === 'failed' ? done.reason : null }).toMatchObject({
      status: 'completed',
      currentRound: rounds,
      reason: null,
    });

  const history = async (id: string) =>
    (
      (await (await read(`${coordinator.url}/jobs/${id}/rounds`)).json()) as {
        rounds: { round: number; participants: number; dropouts: number; accuracy: number | null }[];
      }
    ).rounds;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-rounds-'));
    // The coordinator's wallet must hold ModelRegistry's recorder role: create its key before the chain deploys.
    const coordinatorKey = loadOrCreateKey(join(dir, 'coordinator', 'coordinator.key'));
    coordinatorAddress = new Wallet(coordinatorKey).address;
    fixture = await startChainFixture(join(dir, 'chain-data'), [new Wallet(coordinatorKey).address]);
    // …and ETH for the gas of its ModelRegistry records.
    await fixture.fund(new Wallet(coordinatorKey).address);
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    store = await EmbeddedIpfsStore.open(join(dir, 'silo-ipfs'));
    // Each owner seals its Iris shard (age to its own key) into the store and registers the manifest on chain.
    owners.push(...(await sealIrisOwners(fixture, OWNERS, store)));
    await start();
  }, 180_000);

  afterAll(async () => {
    await closeSilos();
    await coordinator?.close();
    await store?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('trains a job to completion through a silo killed mid-round, and delivers the encrypted model', async () => {
    const connected = await startSilos([0, 1, 2, 3, 4, 5]);
    killAtMaskedInput(connected[5], 1);
    const id = await submit([0, 1, 2, 3, 4, 5], 2);
    const progress: { round: number; stage: string; accuracy?: number; status: string }[] = [];
    const ws = new WebSocket(`${coordinator.url.replace('http', 'ws')}/progress?job=${id}`, {
      headers: { authorization: `Bearer ${await bearer()}` },
    });
    ws.on('message', (data: Buffer) => progress.push(JSON.parse(data.toString())));
    const done = await waitFor(id, ['completed', 'failed']);
    ws.close();
    completed(done, 2);
    await waitForEnd(connected.slice(0, 5), id);
    // Live progress: stages, committed rounds with federated accuracy, and the final status.
    expect(progress.map((p) => p.stage)).toEqual(
      expect.arrayContaining(['advertise-keys', 'masked-input', 'evaluate', 'committed']),
    );
    const committed = progress.filter((p) => p.stage === 'committed');
    expect(committed.map((p) => p.round)).toEqual([1, 2]);
    for (const p of committed) {
      expect(p.accuracy).toBeGreaterThanOrEqual(0);
      expect(p.accuracy).toBeLessThanOrEqual(1);
    }
    expect(progress.at(-1)?.status).toBe('completed');
    expect((await history(id)).map((r) => [r.round, r.participants])).toEqual([
      [1, 5],
      [2, 5],
    ]);

    // The model: CID on IPFS, decryptable by the buyer's identity only, recorded on chain.
    const model = (await (await read(`${coordinator.url}/models/${id}`)).json()) as {
      cid: string;
      metadata: { rounds: number; metrics: { round: number; participants: number }[] };
    };
    expect(model.metadata.rounds).toBe(2);
    expect(model.metadata.metrics.map((m) => m.participants)).toEqual([5, 5]);
    const onChain = await buyerClient.getModel(coordinatorAddress, `0x${id}`);
    expect(onChain.modelCid).toBe(model.cid);
    expect(onChain.datasetIds).toEqual(owners.map((o) => o.datasetId).sort((a, b) => (a < b ? -1 : 1)));
    const contentStore = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    const ciphertext = await contentStore.get(model.cid);
    const bundle = JSON.parse(new TextDecoder().decode(decrypt(ciphertext, [identity]))) as {
      format: string;
      jobId: string;
      modelSpec: unknown;
      weights: string;
    };
    expect(bundle).toMatchObject({ format: 'sealfold-model/v1', jobId: id, modelSpec: TEST_MODEL_SPEC });
    const weights = decodeWeights(new Uint8Array(Buffer.from(bundle.weights, 'base64')));
    expect(weights.length).toBe(parseModelSpec(TEST_MODEL_SPEC).layout.totalSize);
    expect(() => decrypt(ciphertext, [X25519Identity.generate()])).toThrow();
    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(/sealfold_round_duration_seconds_count\{[^}]*\} 2/);
    expect(metrics).toMatch(/sealfold_round_dropouts_total\{[^}]*stage="masked-input"[^}]*\} 1/);
    await closeSilos();
    // Round 1 went on without the killed silo, which released nothing; the other five released both rounds.
    for (const i of [0, 1, 2, 3, 4]) expect(releasedRounds(i, id, 2)).toEqual([1, 2]);
    expect(releasedRounds(5, id, 2)).toEqual([]);
  }, 240_000);

  it('aborts the round and fails the job when fewer than t silos survive', async () => {
    const connected = await startSilos([0, 1, 2]);
    // n = 3 gives t = 3: one silo lost at the masked input leaves too few survivors.
    killAtMaskedInput(connected[2], 1);
    const id = await submit([0, 1, 2], 2);
    const done = await waitFor(id, ['completed', 'failed']);
    expect(done.status).toBe('failed');
    expect(done.reasonCode).toMatch(/^TOO_FEW_(SURVIVORS|NEIGHBOURS)$/);
    expect(done.reason).toMatch(/round 1 aborted/);
    expect((await read(`${coordinator.url}/models/${id}`)).status).toBe(404);
    expect((await history(id)).map((r) => r.round)).toEqual([1]);
    await closeSilos();
  }, 180_000);

  it('runs a FedProx job with the signed proximal term μ on every silo', async () => {
    const running = await startSilos([0, 1, 2]);
    const mu = 0.05;
    const id = await submit([0, 1, 2], 2, {
      strategy: 'fedprox',
      training: jobTraining({
        localEpochs: 2,
        batchSize: 16,
        learningRate: 0.5,
        optimizer: 'sgd',
        fedProxMu: mu,
        updateClip: 2,
        maxWeight: 1000,
      }),
    });
    // Each silo admitted the job with the μ the buyer signed (its runner trains with it).
    const until = Date.now() + 60_000;
    while (running.some((s) => !s.runner.jobOf(id)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    for (const s of running) expect(s.runner.jobOf(id)?.training.fedProxMu).toBeCloseTo(mu, 9);
    const done = await waitFor(id, ['completed', 'failed']);
    completed(done, 2);
    expect((await history(id)).map((r) => [r.round, r.participants, r.dropouts])).toEqual([
      [1, 3, 0],
      [2, 3, 0],
    ]);
    expect((await buyerClient.getModel(coordinatorAddress, `0x${id}`)).rounds).toBe(2);
    await closeSilos();
  }, 180_000);

  it('resumes a FedAdam job after a coordinator restart mid-round from the last committed model and state', async () => {
    const rounds = 4;
    const first = await startSilos([0, 1, 2]);
    // Round 2 is in flight at the restart, still 'started': no silo joined its key stages, so none released it.
    const held = Promise.all(first.map((s) => holdRound(s, 2)));
    const id = await submit([0, 1, 2], rounds, { strategy: 'fedadam' });
    await held;
    const repository = () => coordinator.app.get(RoundsRepository);
    const d = parseModelSpec(TEST_MODEL_SPEC).layout.totalSize;
    const before = (await repository().lastCommitted(id))!;
    expect(before.round).toBe(1);
    expect(decodeFedAdamState(before.strategyState!, d).round).toBe(1);
    expect(await repository().inflight(id)).toEqual({ round: 2, stage: 'started' });
    await coordinator.close();
    await closeSilos();
    await start();
    expect((await job(id)).currentRound).toBe(1);
    await startSilos([0, 1, 2]);
    const done = await waitFor(id, ['completed', 'failed']);
    completed(done, rounds);
    // The resumed run went on with round 2 from the committed model and FedAdam state: four server steps in all
    // (a state restarted from scratch would count three).
    const after = (await repository().lastCommitted(id))!;
    expect(after.round).toBe(rounds);
    expect(decodeFedAdamState(after.strategyState!, d).round).toBe(rounds);
    const model = (await (await read(`${coordinator.url}/models/${id}`)).json()) as { cid: string };
    const onChain = await buyerClient.getModel(coordinatorAddress, `0x${id}`);
    expect(onChain.modelCid).toBe(model.cid);
    expect(onChain.rounds).toBe(rounds);
    expect((await history(id)).map((r) => r.round)).toEqual([1, 2, 3, 4]);
    await closeSilos();
    // Each round was released once by every silo (the ledger refuses a second release).
    for (const i of [0, 1, 2]) expect(releasedRounds(i, id, rounds)).toEqual([1, 2, 3, 4]);
  }, 300_000);

  it('stops a running job when the buyer cancels it, and tells the silos', async () => {
    const running = await startSilos([0, 1, 2]);
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
    await waitForEnd(running, id);
    const final = await job(id);
    expect(final.status).toBe('cancelled');
    expect(final.currentRound).toBeLessThan(50);
    expect((await read(`${coordinator.url}/models/${id}`)).status).toBe(404);
    await closeSilos();
  }, 180_000);
});
