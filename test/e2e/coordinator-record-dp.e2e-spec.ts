// A record-level DP job (issue 14) end to end against REAL silos (apps/silo startSilo over the gateway, sealed Iris
// shards in an embedded Helia store, tfjs DP-SGD, SecAgg+): the buyer's σ comes from `job create`'s planner for a
// target ε (rows from the coordinator's index of the public manifests), the job completes, and every silo's own
// ledger holds exactly the accountant's record-level ε for its dataset — its noised feature statistics, DP-SGD and
// the evaluations composed: the ε the planner printed, ≤ the target.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { X25519Identity } from '@sealfold/crypto';
import { plannedDatasetEpsilon, recordLevelEpsilon } from '@sealfold/fl';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { dpParamsFromFloats, jobSchemaHash, jobTraining, withFeatureRanges } from '@sealfold/protocol';
import { Wallet } from 'ethers';
import { planDp } from '../../apps/cli/src/commands/job.js';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { contentStorePortFrom } from '../../apps/coordinator/src/models/content-store.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { type RunningSilo } from '../../apps/silo/src/bootstrap.js';
import { EpsilonLedger } from '../../apps/silo/src/ledger.js';
import {
  TEST_JOB_SCHEMA,
  coordinatorAddressOf,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { sealIrisOwners, startOwnerSilo, type SealedOwner } from './helpers/owners.js';
import { authed, signIn } from './helpers/session.js';

const OWNERS = [1, 4, 5];
const BUYER = 2;
const TARGET_EPSILON = 8;
const DELTA = 1e-5;
const ROUNDS = 2;
const TRAINING = { localEpochs: 2, batchSize: 8 };
/** Iris measurements lie in (0, 8) cm: the signed domains each silo clips into before its noised statistics. */
const JOB_SCHEMA = withFeatureRanges(
  TEST_JOB_SCHEMA,
  Object.fromEntries(TEST_JOB_SCHEMA.features.map((f) => [f.name, [0, 8] as [number, number]])),
);

describe('a record-level DP job (DP-SGD in real silos, SecAgg+, ε booked per dataset)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let store: EmbeddedIpfsStore;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  const owners: SealedOwner[] = [];
  const silos: RunningSilo[] = [];
  const stateDirs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-record-dp-'));
    const coordinatorKey = loadOrCreateKey(join(dir, 'coordinator', 'coordinator.key'));
    fixture = await startChainFixture(join(dir, 'chain-data'), [new Wallet(coordinatorKey).address]);
    await fixture.fund(new Wallet(coordinatorKey).address);
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    store = await EmbeddedIpfsStore.open(join(dir, 'silo-ipfs'));
    owners.push(...(await sealIrisOwners(fixture, OWNERS, store)));
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_STAGE_TIMEOUT_MS: '15000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '60000',
        SEALFOLD_MIN_SILOS: '3',
        SEALFOLD_INDEX_INTERVAL_MS: '100',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      // The owners' store: the coordinator indexes the public manifests (row counts) from it.
      {
        logDestination: new PassThrough(),
        contentStore: contentStorePortFrom(store),
      },
    );
    for (const [i, o] of owners.entries()) {
      stateDirs.push(join(dir, `silo-${i}`));
      silos.push(await startOwnerSilo(o, { coordinatorUrl: coordinator.url, store, stateDir: stateDirs[i] }));
    }
    await Promise.all(silos.map((s) => s.client.ready(30_000)));
  }, 180_000);

  afterAll(async () => {
    for (const s of silos.splice(0)) await s.close();
    await coordinator?.close();
    await store?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('plans σ for ε = 8, completes with DP-SGD in every silo, and each silo books the planned ε', async () => {
    const datasets = owners.map((o) => o.datasetId);
    const indexed = async () => {
      for (const id of datasets) {
        const view = (await (await fetch(`${coordinator.url}/datasets/${id}`)).json()) as { rows?: number | null };
        if (!view.rows) return false;
      }
      return true;
    };
    for (const until = Date.now() + 30_000; !(await indexed());) {
      if (Date.now() > until) throw new Error('the coordinator did not index the manifests');
      await new Promise((r) => setTimeout(r, 200));
    }
    // Iris shards of 50 rows: δ = 0.05 ≥ 1/50 is refused by the planner (the silo would refuse it too).
    await expect(
      planDp(coordinator.url, datasets, {
        level: 'record',
        targetEpsilon: 8,
        noiseMultiplier: 0,
        delta: 0.05,
        rounds: 1,
        ...TRAINING,
      }),
    ).rejects.toThrow(/needs --dp-delta below 1\/rows = 0\.02/);

    // What `job create --dp-level record --target-epsilon 8` computes and prints before signing.
    const plan = await planDp(coordinator.url, datasets, {
      level: 'record',
      targetEpsilon: TARGET_EPSILON,
      noiseMultiplier: 0,
      delta: DELTA,
      rounds: ROUNDS,
      ...TRAINING,
    });
    expect(plan.noiseMultiplier).toBeGreaterThan(0.3);
    for (const id of datasets) expect(plan.epsilons[String(id)]).toBeLessThanOrEqual(TARGET_EPSILON);
    const licences: bigint[] = [];
    for (const o of owners) licences.push((await buyerClient.purchaseLicence(o.datasetId)).licenceId);
    const req = jobRequest(buyer.address, {
      coordinator: await coordinatorAddressOf(coordinator.url),
      recipient: X25519Identity.generate().recipient.toString(),
      training: jobTraining({ ...TRAINING, learningRate: 0.1, optimizer: 'adam', updateClip: 2, maxWeight: 1000 }),
      dp: dpParamsFromFloats({ noiseMultiplier: plan.noiseMultiplier, clipNorm: 1, delta: DELTA, level: 'record' }),
      secagg: { enabled: true, minContributors: 3 },
      datasets,
      licences,
      rounds: ROUNDS,
      nonce: 1n,
      jobSchemaHash: jobSchemaHash(JOB_SCHEMA),
    });
    const res = await fetch(`${coordinator.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await signedBody(buyerClient, buyer, req, undefined, JOB_SCHEMA)),
    });
    expect(res.status).toBe(201);
    const id = ((await res.json()) as { id: string }).id;
    const read = authed(await signIn(coordinator.url, buyer));
    const until = Date.now() + 240_000;
    let job: { status: string; reason: string | null; currentRound: number; request: { dp: { level: string } } };
    for (;;) {
      job = (await (await read(`${coordinator.url}/jobs/${id}`)).json()) as typeof job;
      if (['completed', 'failed', 'cancelled'].includes(job.status)) break;
      if (Date.now() > until) throw new Error(`job ${id} still ${job.status}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect({ status: job.status, reason: job.status === 'failed' ? job.reason : null }).toEqual({
      status: 'completed',
      reason: null,
    });
    expect(job.request.dp.level).toBe('record');
    const history = (await (await read(`${coordinator.url}/jobs/${id}/rounds`)).json()) as {
      rounds: { round: number; participants: number; accuracy: number | null }[];
    };
    expect(history.rounds.map((r) => [r.round, r.participants])).toEqual([
      [1, 3],
      [2, 3],
    ]);
    // The evaluation is noised, but still an accuracy.
    for (const r of history.rounds) expect(r.accuracy).toBeGreaterThanOrEqual(0);

    // The provenance on chain records the largest ε any dataset was charged.
    const coordinatorAddress = await coordinatorAddressOf(coordinator.url);
    const provenance = await buyerClient.getModel(coordinatorAddress, `0x${id}`);
    expect(provenance.epsilonSpentMilli).toBe(Math.ceil(Math.max(...Object.values(plan.epsilons)) * 1000));

    // Each silo's own ledger: its statistics, two training and two evaluation releases, ε = the accountant's
    // record-level ε of its 45 training rows (50 less the held-out 5) composed with the statistics — what the
    // planner printed, above DP-SGD's ε alone.
    for (const [i, o] of owners.entries()) {
      const ledger = EpsilonLedger.open(join(stateDirs[i], 'ledger.db'));
      try {
        const entry = ledger.entry(licences[i], id);
        expect(entry?.rounds).toBe(ROUNDS);
        expect(ledger.release(id, ROUNDS, 'eval')).toBeDefined();
        expect(ledger.release(id, 0, 'statistics')).toBeDefined();
        const terms = { noiseMultiplier: plan.noiseMultiplier, delta: DELTA, rounds: ROUNDS, ...TRAINING };
        const expected = plannedDatasetEpsilon({ level: 'record', ...terms, trainRows: 45 });
        expect(entry!.epsilon).toBeCloseTo(expected, 9);
        expect(entry!.epsilon).toBeGreaterThan(recordLevelEpsilon({ ...terms, rows: 45 }));
        expect(entry!.epsilon).toBeCloseTo(plan.epsilons[String(o.datasetId)], 9);
        expect(entry!.epsilon).toBeLessThanOrEqual(TARGET_EPSILON);
      } finally {
        ledger.close();
      }
    }
  }, 300_000);
});
