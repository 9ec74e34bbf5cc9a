// The adversary suite (issue 11): a malicious coordinator (helpers/malicious-coordinator.ts) that speaks the real
// wire protocol and drives a real SecAggServer against REAL silos (`startSilo`: sealed Iris shards on the embedded
// IPFS store, licences on the embedded EDR chain, node:sqlite ledgers). SecAgg+ holds under attack; each test is an
// attack on the silo AROUND it — choosing what SecAgg+ is run on — and asserts the silo's refusal and its reason.
// One chain, one store and one set of silos (owners A, B, X) serve every test; each test uses a job of its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { hashJobRequest, sealfoldDomain, type SealfoldChain } from '@sealfold/chain';
import { X25519Identity } from '@sealfold/crypto';
import {
  addStatistics,
  encodeWeights,
  initialWeights,
  localStatistics,
  parseModelSpec,
  releasesEpsilon,
  type JobStatistics,
} from '@sealfold/fl';
import {
  EPSILON_UNBOUNDED_MILLI,
  evaluationRound,
  jobSchemaHash,
  jobTraining,
  type JobRequest,
  type SecAggParams,
  type WireControlInput,
} from '@sealfold/protocol';
import { deriveRoundParams } from '@sealfold/secagg';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { Wallet } from 'ethers';
import { pino } from 'pino';
import { startSilo, type RunningSilo } from '../../apps/silo/src/bootstrap.js';
import { EpsilonLedger } from '../../apps/silo/src/ledger.js';
import {
  TEST_MODEL_SPEC,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { irisShard } from './helpers/iris.js';
import { MaliciousCoordinator, type RunResult, type SiloConnection } from './helpers/malicious-coordinator.js';
import { sealAndRegisterShard, shardJobSchema, shardSchema } from './helpers/sealed-shard.js';

/** The job schema of the shards below (shardSchema(4, 3)). */
const SHARD_JOB_SCHEMA = shardJobSchema(4, 3);

jest.setTimeout(240_000);

const NAMES = ['A', 'B', 'X'] as const;
type Name = (typeof NAMES)[number];
/** Dev accounts: 1..3 own A, B, X; 4 is the buyer. */
const ACCOUNT: Record<Name, number> = { A: 1, B: 2, X: 3 };
const BUYER = 4;
/** The malicious coordinator's account, which the buyer's requests name (it owns no dataset). */
const EVIL_COORDINATOR = Wallet.createRandom().address;
const CLIP = 2;
const MAX_WEIGHT = 1000;
const D = parseModelSpec(TEST_MODEL_SPEC).layout.totalSize;
/**
 * The feature statistics of all three shards, as the coordinator sends them after the statistics sum (the secure sum
 * itself is exercised in job-schema.e2e-spec.ts): each silo checks they hold at least its own counts.
 */
const ALL_STATISTICS: JobStatistics = [0, 1, 2]
  .map((i) => {
    const shard = irisShard(i, 3);
    const rows = shard.labels.length;
    return localStatistics(
      { rows, values: Float64Array.from(shard.features), missing: new Uint8Array(rows * 4), labels: shard.labels },
      SHARD_JOB_SCHEMA,
    );
  })
  .reduce(addStatistics);
const logger = pino({ level: process.env.ADVERSARY_LOG ?? 'silent' });

interface Owner {
  readonly name: Name;
  readonly wallet: Wallet;
  readonly identity: X25519Identity;
  readonly chain: SealfoldChain;
  readonly datasetId: bigint;
  readonly stateDir: string;
  silo: RunningSilo;
  conn: SiloConnection;
}

interface Job {
  readonly jobId: string;
  readonly request: JobRequest;
  readonly offer: (name: Name, clientId: number) => WireControlInput<'job-offer'>;
}

describe('adversary: a malicious coordinator against real silos (issue 11)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let store: EmbeddedIpfsStore;
  let evil: MaliciousCoordinator;
  let buyer: Wallet;
  let buyerChain: SealfoldChain;
  const owners = new Map<Name, Owner>();
  const licences = new Map<Name, bigint>();
  /** Every update X's runner prepared (round, update, weight), as handed to its SecAgg+ client. */
  const xUpdates: { jobId: string; round: number; update: Float32Array; weight: number }[] = [];
  let nonce = 1000n;

  const own = (n: Name) => owners.get(n)!;
  const conns = (...names: Name[]) => names.map((n) => own(n).conn);
  const honest = (n: number, d = D): SecAggParams =>
    deriveRoundParams({
      n,
      d,
      clip: d === 2 ? 1 : CLIP,
      maxWeight: MAX_WEIGHT,
      minContributors: 3,
      policyMinContributors: 3,
    });
  const rosterOf = (names: Name[]) =>
    names.map((n) => ({
      clientId: clientIdOf(n),
      address: own(n).wallet.address,
      datasetId: String(own(n).datasetId),
    }));
  const clientIdOf = (n: Name) => NAMES.indexOf(n) + 1;
  const members = (names: Name[]) => new Map(names.map((n) => [clientIdOf(n), own(n).conn]));
  const weightsOf = (seed: number) => initialWeights(TEST_MODEL_SPEC, seed);

  async function launchSilo(o: Omit<Owner, 'silo' | 'conn'>): Promise<Owner> {
    const silo = await startSilo({
      coordinatorUrl: evil.url,
      wallet: o.wallet,
      identities: [o.identity],
      chain: o.chain,
      store,
      datasets: [o.datasetId],
      stateDir: o.stateDir,
      logger: logger.child({ owner: o.name }),
      reconnect: { minMs: 50, maxMs: 200 },
    });
    if (o.name === 'X') {
      const prepare = silo.runner.prepareRound.bind(silo.runner);
      silo.runner.prepareRound = async (jobId, round, weights) => {
        const prepared = await prepare(jobId, round, weights);
        xUpdates.push({
          jobId,
          round,
          update: prepared.contribution.update.slice(),
          weight: prepared.contribution.weight,
        });
        return prepared;
      };
    }
    await silo.client.ready();
    return { ...o, silo, conn: await evil.silo(o.wallet.address) };
  }

  /** A buyer-signed job over `names`' datasets (licences by name, or given), offered by the malicious coordinator. */
  async function newJob(
    names: Name[],
    fields: Partial<JobRequest> = {},
    licenceOf: (n: Name) => bigint = (n) => licences.get(n)!,
  ): Promise<Job> {
    const request = jobRequest(buyer.address, {
      coordinator: EVIL_COORDINATOR,
      jobSchemaHash: jobSchemaHash(SHARD_JOB_SCHEMA),
      datasets: names.map((n) => own(n).datasetId),
      licences: names.map(licenceOf),
      rounds: 2,
      nonce: nonce++,
      training: jobTraining({
        localEpochs: 1,
        batchSize: 16,
        learningRate: 0.05,
        optimizer: 'adam',
        updateClip: CLIP,
        maxWeight: MAX_WEIGHT,
      }),
      ...fields,
    });
    const body = await signedBody(buyerChain, buyer, request, undefined, SHARD_JOB_SCHEMA);
    // The silo recomputes the job id from the signed request (one request, one job, one job slot).
    const jobId = hashJobRequest(
      sealfoldDomain(buyerChain.chainId, buyerChain.addresses!.datasetLicence),
      request,
    ).slice(2);
    return {
      jobId,
      request,
      offer: (name, clientId) => ({
        jobId,
        request: body.request,
        signature: body.signature,
        modelSpec: TEST_MODEL_SPEC,
        jobSchema: SHARD_JOB_SCHEMA,
        datasetId: String(own(name).datasetId),
        clientId,
        dimension: D,
      }),
    };
  }

  /** The summed feature statistics, as a coordinator sends them before round 1. */
  function sendStatistics(job: Job, n: Name): void {
    own(n).conn.sendControl('statistics', { jobId: job.jobId, statistics: ALL_STATISTICS }, { jobId: job.jobId });
  }

  /** Offers `job` to every named silo and expects them to accept. */
  async function admitAll(job: Job, names: Name[]): Promise<void> {
    for (const n of names) {
      const reply = await evil.offer(own(n).conn, job.offer(n, clientIdOf(n)));
      expect({ name: n, ...reply }).toMatchObject({ name: n, accept: true });
      sendStatistics(job, n);
    }
  }

  /** An honest training round over `names`: roster, round-start, SecAgg+ with the parameters the silos derive. */
  async function honestRound(job: Job, names: Name[], round: number, weights: Float32Array): Promise<RunResult> {
    evil.roster(conns(...names), job.jobId, round, rosterOf(names));
    evil.roundStart(conns(...names), job.jobId, round, encodeWeights(weights));
    return evil.run({
      jobId: job.jobId,
      round,
      params: honest(names.length),
      clients: names.map(clientIdOf),
      members: members(names),
    });
  }

  const codes = (r: RunResult) => [...new Set(r.errors.map((e) => e.code))].sort();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-adversary-'));
    fixture = await startChainFixture(join(dir, 'chain-data'));
    store = await EmbeddedIpfsStore.open(join(dir, 'ipfs'));
    evil = await MaliciousCoordinator.start(fixture.chain.chainId);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    buyerChain = await fixture.client(BUYER);
    for (const [i, name] of NAMES.entries()) {
      const wallet = new Wallet(fixture.chain.accounts[ACCOUNT[name]].privateKey);
      const chain = await fixture.client(ACCOUNT[name]);
      const identity = X25519Identity.generate();
      const { datasetId } = await sealAndRegisterShard({
        data: irisShard(i, NAMES.length),
        schema: shardSchema(4, 3),
        name: `adversary-${name}`,
        description: `owner ${name}'s Iris shard`,
        owner: { address: wallet.address, identity, chain },
        store,
        maxJobs: 1000,
        // The DP tests below attack owner-level noise shares: the terms must sell owner-level ε.
        dpLevel: 'owner',
      });
      owners.set(
        name,
        await launchSilo({ name, wallet, identity, chain, datasetId, stateDir: join(dir, `silo-${name}`) }),
      );
      licences.set(name, (await buyerChain.purchaseLicence(datasetId)).licenceId);
    }
  }, 240_000);

  afterAll(async () => {
    for (const o of owners.values()) await o.silo?.close();
    await evil?.close();
    await store?.close();
    await fixture?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('replaying a round with a ghost in place of X does not give the coordinator X’s update, even after a restart', async () => {
    const job = await newJob(['A', 'B', 'X']);
    await admitAll(job, ['A', 'B', 'X']);
    const global = weightsOf(1);
    const first = await honestRound(job, ['A', 'B', 'X'], 1, global);
    expect(first.step.kind).toBe('done');
    // Silo A restarts in between: the one-release rule is on disk.
    await own('A').silo.close();
    owners.set('A', await launchSilo(own('A')));
    expect((await evil.offer(own('A').conn, job.offer('A', 1))).accept).toBe(true);
    sendStatistics(job, 'A');
    // The replay: the same round and model, run by A and B with a ghost id (4) that never answers, t = 2.
    evil.roster(conns('A', 'B'), job.jobId, 1, rosterOf(['A', 'B', 'X']));
    evil.roundStart(conns('A', 'B'), job.jobId, 1, encodeWeights(global));
    const replay = await evil.run({
      jobId: job.jobId,
      round: 1,
      params: { ...honest(3), t: 2 },
      clients: [1, 2, 4],
      members: members(['A', 'B']),
      stageTimeoutMs: 20_000,
    });
    if (replay.step.kind === 'done' && first.step.kind === 'done') {
      // The attack worked: Σ₁ − Σ₂ against X's update.
      const x = xUpdates.find((u) => u.jobId === job.jobId && u.round === 1)!;
      const diff = first.step.result.sum.map(
        (s, i) => s - (replay.step as { result: { sum: Float64Array } }).result.sum[i],
      );
      const err = Math.max(
        ...diff.map((v, i) => Math.abs(v - x.weight * Math.max(-CLIP, Math.min(CLIP, x.update[i])))),
      );
      throw new Error(`the replay completed: Σ₁ − Σ₂ equals X's weighted update within ${err.toExponential(2)}`);
    }
    expect(replay.step.kind).toBe('aborted');
    expect(replay.received['secagg/masked-input'] ?? 0).toBe(0);
    expect(codes(replay)).toEqual(['replayed-round']);
    expect(replay.errors.map((e) => e.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/round 1 \(train\) of job .* was already released/)]),
    );
  });

  it('refuses coordinator-chosen k, t and ghost ids (n = 64, k = 3, t = 2, 61 ids on no roster)', async () => {
    const job = await newJob(['A', 'B', 'X']);
    await admitAll(job, ['A', 'B', 'X']);
    evil.roster(conns('A', 'B', 'X'), job.jobId, 1, rosterOf(['A', 'B', 'X']));
    evil.roundStart(conns('A', 'B', 'X'), job.jobId, 1, encodeWeights(weightsOf(2)));
    const clients = [1, 2, 3, ...Array.from({ length: 61 }, (_, i) => 100 + i)];
    const ghosts = await evil.run({
      jobId: job.jobId,
      round: 1,
      params: { n: 64, k: 3, t: 2, d: D, clip: CLIP, bits: 16, maxWeight: MAX_WEIGHT },
      clients,
      members: members(['A', 'B', 'X']),
      stageTimeoutMs: 10_000,
    });
    expect(ghosts.received['secagg/advertise-keys'] ?? 0).toBe(0);
    expect(codes(ghosts)).toEqual(['INVALID_PARAMS']);
    // The parameters the silos derive for n = 3, but a ghost in place of X: refused for the client list.
    evil.roundStart(conns('A', 'B'), job.jobId, 1, encodeWeights(weightsOf(2)));
    const ghost = await evil.run({
      jobId: job.jobId,
      round: 1,
      params: honest(3),
      clients: [1, 2, 99],
      members: members(['A', 'B']),
      stageTimeoutMs: 10_000,
    });
    expect(ghost.received['secagg/advertise-keys'] ?? 0).toBe(0);
    expect(codes(ghost)).toEqual(['INVALID_MESSAGE']);
    expect(ghost.errors[0].message).toMatch(/clients other than the verified roster/);
    // Nothing was released: the honest run of the same round still goes through.
    evil.roundStart(conns('A', 'B', 'X'), job.jobId, 1, encodeWeights(weightsOf(2)));
    expect(
      (
        await evil.run({
          jobId: job.jobId,
          round: 1,
          params: honest(3),
          clients: [1, 2, 3],
          members: members(['A', 'B', 'X']),
        })
      ).step.kind,
    ).toBe('done');
  });

  it('evaluation is no oracle: once per contributed round, the round’s model only, never out of range', async () => {
    const job = await newJob(['A', 'B', 'X']);
    await admitAll(job, ['A', 'B', 'X']);
    const global1 = weightsOf(3);
    expect((await honestRound(job, ['A', 'B', 'X'], 1, global1)).step.kind).toBe('done');
    const model1 = weightsOf(4); // the coordinator's "new global model" of round 1
    const evaluation = (names: Name[], round: number, weights: Float32Array, clients = names.map(clientIdOf)) => {
      evil.evaluate(conns(...names), job.jobId, round, encodeWeights(weights));
      return evil.run({
        jobId: job.jobId,
        round: evaluationRound(round),
        params: honest(clients.length, 2),
        clients,
        members: members(names),
        stageTimeoutMs: 10_000,
      });
    };
    // The one evaluation the round allows.
    expect((await evaluation(['A', 'B', 'X'], 1, model1)).step.kind).toBe('done');
    // Replayed without X (its counts would be the difference): refused.
    const replay = await evaluation(['A', 'B'], 1, model1, [1, 2, 3]);
    expect(replay.step.kind).toBe('aborted');
    expect(codes(replay)).toEqual(['replayed-round']);
    // Crafted weights for a round nobody contributed to yet, and a round of a 2-round job that does not exist.
    const crafted = await evaluation(['A', 'B', 'X'], 2, weightsOf(5));
    expect(codes(crafted)).toEqual(['wrong-model']);
    const outOfRange = await evaluation(['A', 'B', 'X'], 12345, model1);
    expect(codes(outOfRange)).toEqual(['round-out-of-range']);
    for (const r of [crafted, outOfRange]) expect(r.received['secagg/masked-input'] ?? 0).toBe(0);
    // Round 2 on a model other than the one evaluated: refused, and the rest of the job with it.
    evil.roundStart(conns('A', 'B', 'X'), job.jobId, 2, encodeWeights(weightsOf(6)));
    await evil.until(
      () => conns('A', 'B', 'X').every((c) => c.errors.some((e) => e.jobId === job.jobId && e.round === 2)),
      30_000,
      'round 2 refusals',
    );
    for (const c of conns('A', 'B', 'X'))
      expect(c.errors.find((e) => e.jobId === job.jobId && e.round === 2)?.code).toBe('wrong-model');
    evil.roundStart(conns('A'), job.jobId, 2, encodeWeights(model1));
    await evil.until(
      () => own('A').conn.errors.some((e) => e.jobId === job.jobId && e.code === 'job-halted'),
      30_000,
      'job halted',
    );
  });

  it('refuses a Sybil job: the buyer’s own datasets next to X’s leave too few independent owners', async () => {
    // The buyer registers two junk datasets of its own and signs a request for [X, junk₁, junk₂].
    const junk: bigint[] = [];
    for (let i = 0; i < 2; i++) {
      const { datasetId } = await sealAndRegisterShard({
        data: irisShard(i, 5),
        schema: shardSchema(4, 3),
        name: `junk-${i}`,
        description: 'the buyer’s own',
        owner: { address: buyer.address, identity: X25519Identity.generate(), chain: buyerChain },
        store,
        maxJobs: 1000,
      });
      junk.push(datasetId);
    }
    const junkLicences = [];
    for (const id of junk) junkLicences.push((await buyerChain.purchaseLicence(id)).licenceId);
    const job = await newJob(['X'], {
      datasets: [own('X').datasetId, ...junk],
      licences: [licences.get('X')!, ...junkLicences],
    });
    const reply = await evil.offer(own('X').conn, job.offer('X', 1));
    expect(reply.accept).toBe(false);
    expect(reply.reason).toMatch(/^too-few-owners: the request's datasets have 1 independent owner/);
  });

  it('sizes the DP noise share from the t the silo derives, never from a number the coordinator sends', async () => {
    // The offer carries no threshold any more (the wire schema refuses one): t comes from the signed minimum, the
    // owner's policy and the verified roster. A buyer who signs an impossible minimum gets no release at all.
    const dp = {
      noiseMultiplierMilli: 1000,
      clipNormMicro: 1_000_000n,
      deltaAtto: 10n ** 13n,
      level: 'owner' as const,
    };
    const stdOf = (u: Float32Array) => Math.sqrt(u.reduce((s, v) => s + v * v, 0) / u.length);
    const noise = async (minContributors: number) => {
      const job = await newJob(['A', 'B', 'X'], { dp, rounds: 1, secagg: { enabled: true, minContributors } });
      await admitAll(job, ['X']);
      evil.roster(conns('X'), job.jobId, 1, rosterOf(['A', 'B', 'X']));
      evil.roundStart(conns('X'), job.jobId, 1, encodeWeights(weightsOf(7)));
      await evil.until(
        () => xUpdates.some((u) => u.jobId === job.jobId) || own('X').conn.errors.some((e) => e.jobId === job.jobId),
        60_000,
        'X trained or refused',
      );
      return {
        update: xUpdates.find((u) => u.jobId === job.jobId),
        errors: own('X').conn.errors.filter((e) => e.jobId === job.jobId),
      };
    };
    // The smallest signable minimum (3): each of the t = 3 contributors adds σC/√3.
    const low = await noise(3);
    expect(low.update).toBeDefined();
    const expected = 1 / Math.sqrt(3);
    expect(stdOf(low.update!.update)).toBeGreaterThan(expected * 0.7);
    expect(stdOf(low.update!.update)).toBeLessThan(expected * 1.3);
    // A minimum of 255 would shrink each share to σC/√255: above any k of this roster, the silo refuses the round.
    const high = await noise(255);
    expect(high.update).toBeUndefined();
    expect(high.errors.map((e) => e.code)).toEqual(['INVALID_PARAMS']);
  });

  it('books ε per release and reserves the job slot at admission: replays cannot overspend, a second job is refused', async () => {
    const dp = {
      noiseMultiplierMilli: 1000,
      clipNormMicro: 1_000_000n,
      deltaAtto: 10n ** 13n,
      level: 'owner' as const,
    };
    const limited = await own('X').chain.grantLicence(own('X').datasetId, buyer.address, {
      duration: 3600n,
      maxJobs: 1,
      epsilonBudgetMilli: 8490,
    });
    const licenceOf = (n: Name) => (n === 'X' ? limited.licenceId : licences.get(n)!);
    const job = await newJob(['A', 'B', 'X'], { dp, rounds: 1 }, licenceOf);
    await admitAll(job, ['A', 'B', 'X']);
    // A second job on the maxJobs = 1 licence, before the first released anything: refused.
    const second = await newJob(['A', 'B', 'X'], { dp, rounds: 1 }, licenceOf);
    const reply = await evil.offer(own('X').conn, second.offer('X', 3));
    expect(reply.accept).toBe(false);
    expect(reply.reason).toMatch(/^job-limit-reached/);
    // Round 1, then three replays of it.
    const runs = [await honestRound(job, ['A', 'B', 'X'], 1, weightsOf(8))];
    for (let i = 0; i < 3; i++) runs.push(await honestRound(job, ['A', 'B', 'X'], 1, weightsOf(8)));
    expect(runs.map((r) => r.step.kind)).toEqual(['done', 'aborted', 'aborted', 'aborted']);
    for (const r of runs.slice(1)) expect(codes(r)).toEqual(['replayed-round']);
    const ledger = EpsilonLedger.open(join(own('X').stateDir, 'ledger.db'));
    try {
      const entry = ledger.entry(limited.licenceId, job.jobId)!;
      const σ1 = { noiseMultiplier: 1, delta: 1e-5 };
      expect(entry.rounds).toBe(1);
      expect(entry.epsilon).toBeCloseTo(releasesEpsilon(σ1, 1), 6);
      expect(ledger.spent(limited.licenceId)).toBeLessThanOrEqual(8.49);
    } finally {
      ledger.close();
    }
  });

  it('stops contributing when the licence is revoked mid-job', async () => {
    const granted = await own('X').chain.grantLicence(own('X').datasetId, buyer.address, {
      duration: 3600n,
      maxJobs: 5,
      epsilonBudgetMilli: EPSILON_UNBOUNDED_MILLI,
    });
    const job = await newJob(['A', 'B', 'X'], {}, (n) => (n === 'X' ? granted.licenceId : licences.get(n)!));
    await admitAll(job, ['A', 'B', 'X']);
    expect((await honestRound(job, ['A', 'B', 'X'], 1, weightsOf(9))).step.kind).toBe('done');
    await own('X').chain.revokeLicence(granted.licenceId, 'terms breached');
    const round2 = await honestRound(job, ['A', 'B', 'X'], 2, weightsOf(9));
    expect(round2.step.kind).toBe('aborted');
    expect(round2.errors.find((e) => e.code === 'revoked')?.message).toMatch(/licence .* is no longer valid: revoked/);
    expect(xUpdates.filter((u) => u.jobId === job.jobId).map((u) => u.round)).toEqual([1]);
  });
});
