// Jobs whose buyer signed `secagg.enabled: false` (no secure aggregation), against REAL silos (apps/silo
// startSilo: SiloClient over the gateway, SiloJobRunner admitting on chain, sealed Iris shards in an embedded Helia
// store, tfjs training). A silo refuses such a job unless its owner allows plain aggregation, so with default silos
// the job fails with their reason; with silos that allow it, the coordinator sums the plain updates and completes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { X25519Identity, decrypt } from '@sealfold/crypto';
import { decodeWeights, parseModelSpec } from '@sealfold/fl';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { jobTraining } from '@sealfold/protocol';
import { Wallet } from 'ethers';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../../apps/coordinator/src/models/content-store.port.js';
import type { RunningSilo } from '../../apps/silo/src/bootstrap.js';
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

const OWNERS = [1, 4, 5];
const BUYER = 2;

describe('jobs without SecAgg+ (real silos over the gateway)', () => {
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
  const recipient = X25519Identity.generate();
  let nonce = 1n;
  let siloRun = 0;

  const startSilos = async (allowPlainAggregation: boolean) => {
    siloRun++;
    for (const [i, o] of owners.entries())
      silos.push(
        await startOwnerSilo(o, {
          coordinatorUrl: coordinator.url,
          store,
          stateDir: join(dir, `silo-${i}-${siloRun}`),
          ...(allowPlainAggregation ? { allowPlainAggregation } : {}),
        }),
      );
    await Promise.all(silos.map((s) => s.client.ready(30_000)));
  };

  const closeSilos = async () => {
    for (const s of silos.splice(0)) await s.close();
  };

  const submit = async (rounds: number, secureAggregation: boolean) => {
    const licences: bigint[] = [];
    for (const o of owners) licences.push((await buyerClient.purchaseLicence(o.datasetId)).licenceId);
    const req = jobRequest(buyer.address, {
      coordinator: await coordinatorAddressOf(coordinator.url),
      recipient: recipient.recipient.toString(),
      // Adam: the optimizer real silos used before it was signed.
      training: jobTraining({
        localEpochs: 2,
        batchSize: 16,
        learningRate: 0.5,
        optimizer: 'adam',
        updateClip: 2,
        maxWeight: 1000,
      }),
      secagg: { enabled: secureAggregation, minContributors: 3 },
      datasets: owners.map((o) => o.datasetId),
      licences,
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
      request: { secagg: { enabled: boolean } };
    };

  const waitFor = async (id: string) => {
    const until = Date.now() + 120_000;
    for (;;) {
      const j = await job(id);
      if (['completed', 'failed', 'cancelled'].includes(j.status)) return j;
      if (Date.now() > until) throw new Error(`job ${id} still ${j.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const framesIn = async (type: string) => {
    const text = await (await fetch(`${coordinator.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('sealfold_wire_frames_total{') && l.includes('direction="in"') && l.includes(`type="${type}"`),
      );
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-plain-'));
    const coordinatorKey = loadOrCreateKey(join(dir, 'coordinator', 'coordinator.key'));
    coordinatorAddress = new Wallet(coordinatorKey).address;
    fixture = await startChainFixture(join(dir, 'chain-data'), [new Wallet(coordinatorKey).address]);
    await fixture.fund(new Wallet(coordinatorKey).address);
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    store = await EmbeddedIpfsStore.open(join(dir, 'silo-ipfs'));
    // Each owner seals its Iris shard (age to its own key) into the store and registers the manifest on chain.
    owners.push(...(await sealIrisOwners(fixture, OWNERS, store)));
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
  }, 120_000);

  afterAll(async () => {
    await closeSilos();
    await coordinator?.close();
    await store?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails a plain job that every default silo refuses (secagg-required), with that reason', async () => {
    await startSilos(false);
    const id = await submit(2, false);
    const done = await waitFor(id);
    expect(done).toMatchObject({ status: 'failed', reasonCode: 'TOO_FEW_SILOS', currentRound: 0 });
    expect(done.reason).toMatch(/secagg-required ×3/);
    expect(done.request.secagg.enabled).toBe(false);
    const history = (await (await read(`${coordinator.url}/jobs/${id}/rounds`)).json()) as {
      rounds: unknown[];
      participants: { accepted: boolean; reason: string | null }[];
    };
    expect(history.rounds).toEqual([]);
    expect(history.participants).toHaveLength(3);
    for (const p of history.participants) {
      expect(p.accepted).toBe(false);
      expect(p.reason).toMatch(/^secagg-required/);
    }
    expect(await framesIn('plain-update')).toBe(0);
    expect((await read(`${coordinator.url}/models/${id}`)).status).toBe(404);
    await closeSilos();
  }, 180_000);

  it('completes a plain job with silos whose owners allow it, summing plain updates', async () => {
    await startSilos(true);
    const secaggBefore = await framesIn('secagg');
    const id = await submit(2, false);
    const done = await waitFor(id);
    expect({ ...done, reason: done.status === 'failed' ? done.reason : null }).toMatchObject({
      status: 'completed',
      currentRound: 2,
      reason: null,
      request: { secagg: { enabled: false } },
    });
    // Three silos × (their feature statistics + two rounds) of plain updates, and no SecAgg+ traffic.
    expect(await framesIn('plain-update')).toBe(9);
    expect(await framesIn('secagg')).toBe(secaggBefore);
    const history = (await (await read(`${coordinator.url}/jobs/${id}/rounds`)).json()) as {
      rounds: { round: number; participants: number; dropouts: number; accuracy: number | null }[];
    };
    expect(history.rounds.map((r) => [r.round, r.participants, r.dropouts])).toEqual([
      [1, 3, 0],
      [2, 3, 0],
    ]);
    for (const r of history.rounds) expect(r.accuracy).toBeGreaterThanOrEqual(0);
    // The model is delivered as for any job: encrypted to the buyer, on IPFS, recorded on chain.
    const model = (await (await read(`${coordinator.url}/models/${id}`)).json()) as { cid: string };
    expect((await buyerClient.getModel(coordinatorAddress, `0x${id}`)).modelCid).toBe(model.cid);
    const contentStore = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    const bundle = JSON.parse(new TextDecoder().decode(decrypt(await contentStore.get(model.cid), [recipient]))) as {
      weights: string;
    };
    const weights = decodeWeights(new Uint8Array(Buffer.from(bundle.weights, 'base64')));
    expect(weights.length).toBe(parseModelSpec(TEST_MODEL_SPEC).layout.totalSize);
    expect(weights.every(Number.isFinite)).toBe(true);
    await closeSilos();
  }, 180_000);
});
