// Federated simulation harness on the real silo: every owner is an apps/silo `SiloJobRunner` that admits a
// buyer-signed job against an embedded chain (licence, model hash, schema, ε ledger in node:sqlite) and trains on its
// own shard, sealed for real (age → embedded Helia → manifest registered on chain → opened into a private cache).
// SecAgg+ runs with real `SecAggClient`s whose input is `runner.trainRound` (as apps/silo/src/silo-client.ts wires
// it) and a real `SecAggServer`, driven by the shared libs/secagg driver (simulateRound); every message crosses the
// binary codecs. Used by bench/fl.ts and the e2e test.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectChain,
  hashJobRequest,
  sealfoldDomain,
  signJobRequest,
  startEmbeddedChain,
  type EmbeddedChain,
  type SealfoldChain,
  type SealfoldDomain,
} from '@sealfold/chain';
import { X25519Identity, ed25519 } from '@sealfold/crypto';
import {
  addStatistics,
  combineEval,
  fedAvgStep,
  majorityBaseline,
  statisticsFromSum,
  initialWeights,
  modelSpecHash,
  noiseShareStd,
  weightedSum,
  type InputEncoding,
  type JobStatistics,
  type LocalData,
  type ModelSpec,
} from '@sealfold/fl';
import {
  JOB_MIN_CONTRIBUTORS,
  STATISTICS_ROUND,
  computeJobSchema,
  dpParamsFromFloats,
  jobSchemaHash,
  withFeatureRanges,
  trainingFromFloats,
  type JobRequest,
  type SecAggParams,
  NO_ESCROW,
} from '@sealfold/protocol';
import {
  CertificateCache,
  createSessionIdentity,
  defaultNeighbourhood,
  defaultThreshold,
  makeParams,
  quantisationBits,
  simulateRound,
  type SessionIdentity,
} from '@sealfold/secagg';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { Wallet } from 'ethers';
import { SiloJobRunner, type RoundContribution, type TrainingSettings } from '../../apps/silo/src/job-runner.js';
import { EpsilonLedger } from '../../apps/silo/src/ledger.js';
import { sealAndRegisterShard, shardSchema } from '../../test/e2e/helpers/sealed-shard.js';
import type { DatasetSchema } from '@sealfold/dataset';
import { openSealedDataset, type OpenedDataset } from '../../apps/silo/src/sealed-data.js';

export type Aggregation = 'plain' | 'secagg';

interface Owner {
  readonly wallet: Wallet;
  readonly chain: SealfoldChain;
  readonly identity: X25519Identity;
  readonly ledger: EpsilonLedger;
  readonly runner: SiloJobRunner;
  /** Manifest CID by dataset id: what this silo serves. */
  readonly manifests: Map<bigint, string>;
  readonly dir: string;
}

export interface RoundRecord {
  readonly round: number;
  /** Federated evaluation: Σ of every silo's `runner.evaluate` on its held-out split. */
  readonly accuracy: number;
  readonly loss: number;
  readonly evalCount: number;
  /** Wall time of the round: local training, privatisation, aggregation (SecAgg+ or plain sum), FedAvg step. */
  readonly roundMs: number;
  /** Of which inside `runner.trainRound` (local training, clipping, noise, ledger). */
  readonly trainMs: number;
  /** SecAgg+ only: max over coordinates of |SecAgg+ sum − plain sum of the same contributions| / total weight. */
  readonly sumError: number | null;
  /** SecAgg+ only: the quantiser step 2c/(2^q − 1), the bound on `sumError` when no coordinate was clipped. */
  readonly quantStep: number | null;
  /** Largest |coordinate| of any contribution (the quantiser clips beyond params.clip). */
  readonly maxAbsUpdate: number;
  readonly contributors: number;
  readonly epsilon: number;
}

export interface JobRunResult {
  readonly jobId: string;
  /** The licence the buyer bought for each dataset (owner order). */
  readonly licences: readonly bigint[];
  readonly rounds: RoundRecord[];
  readonly weights: Float32Array;
  readonly params: SecAggParams | null;
  /** ε each silo's runner reports after the last round (its ledger holds the same). */
  readonly epsilon: number;
  /** The pooled train / held-out splits the runners made (for the centralised baseline on the same data). */
  readonly pooledTrain: LocalData;
  readonly pooledValidation: LocalData;
  /** The feature statistics summed over the owners before round 1 (through SecAgg+ when the job uses it). */
  readonly statistics: JobStatistics;
  /** The job's input encoding (standardisation, imputation) every silo derived from `statistics`. */
  readonly encoding: InputEncoding;
  /** Accuracy of always predicting the most frequent class (from the summed label counts). */
  readonly majorityBaseline: number;
}

export interface JobSettings {
  readonly datasets: readonly bigint[];
  readonly spec: ModelSpec;
  /** Local training; the harness signs the SecAgg+ clip and weight bound itself. */
  readonly training: Omit<TrainingSettings, 'updateClip' | 'maxWeight'>;
  readonly rounds: number;
  readonly aggregation: Aggregation;
  /** Owner-level DP: noise multiplier σ, clip C, δ (signed into the request; each runner clips and adds its share). */
  readonly dp?: { readonly noiseMultiplier: number; readonly clipNorm: number; readonly delta: number };
  /**
   * Signed value ranges of numeric features (`job create --feature-range`): under DP each silo clips into them before
   * its noised statistics, and only ranged features are standardised.
   */
  readonly featureRanges?: Readonly<Record<string, readonly [number, number]>>;
  /** Called after each round with the record and the new global weights. */
  readonly onRound?: (record: RoundRecord, weights: Float32Array, encoding: InputEncoding) => void | Promise<void>;
}

/** Concatenates same-shaped LocalData (the centralised baseline pools what the silos hold). */
export function pool(parts: readonly LocalData[]): LocalData {
  const n = parts.reduce((a, p) => a + p.labels.length, 0);
  const features = new Float32Array(n * parts[0].numFeatures);
  const labels = new Int32Array(n);
  let k = 0;
  for (const p of parts) {
    features.set(p.features, k * p.numFeatures);
    labels.set(p.labels, k);
    k += p.labels.length;
  }
  return { features, labels, numFeatures: parts[0].numFeatures, numClasses: parts[0].numClasses };
}

export class FlHarness {
  private nonce = 0n;
  /** Each dataset's declared schema (what its public manifest says), for the job schema. */
  private readonly schemas = new Map<bigint, DatasetSchema>();

  private constructor(
    readonly dir: string,
    private readonly chain: EmbeddedChain,
    private readonly store: EmbeddedIpfsStore,
    private readonly buyer: { wallet: Wallet; chain: SealfoldChain; recipient: string },
    private readonly domain: SealfoldDomain,
    private readonly owners: Owner[],
  ) {}

  /** One embedded chain and content store for the whole run; `owners` silos, each with its ledger in a temp dir. */
  static async start(o: { owners: number; validationFraction?: number }): Promise<FlHarness> {
    if (!Number.isInteger(o.owners) || o.owners < 3) throw new RangeError('SecAgg+ needs at least 3 owners');
    const dir = await mkdtemp(join(tmpdir(), 'sealfold-fl-harness-'));
    let chain: EmbeddedChain | undefined;
    let store: EmbeddedIpfsStore | undefined;
    const owners: Owner[] = [];
    try {
      // Account 0 deploys, 1..N own datasets, N+1 buys.
      chain = await startEmbeddedChain({ dataDir: join(dir, 'chain-data'), accountCount: o.owners + 2 });
      store = await EmbeddedIpfsStore.open(join(dir, 'ipfs'));
      const buyerKey = chain.accounts[o.owners + 1].privateKey;
      const buyer = {
        wallet: new Wallet(buyerKey),
        chain: await connectChain({ embedded: chain, signer: buyerKey }),
        recipient: X25519Identity.generate().recipient.toString(),
      };
      const domain = sealfoldDomain(chain.chainId, buyer.chain.addresses!.datasetLicence);
      for (let k = 1; k <= o.owners; k++) {
        const key = chain.accounts[k].privateKey;
        const ownerChain = await connectChain({ embedded: chain, signer: key });
        const ownerDir = join(dir, `owner-${k}`);
        await mkdir(ownerDir, { recursive: true, mode: 0o700 });
        const ledger = EpsilonLedger.open(join(ownerDir, 'ledger.db'));
        const identity = X25519Identity.generate();
        const manifests = new Map<bigint, string>();
        const opened = new Map<bigint, OpenedDataset>();
        const runner = new SiloJobRunner({
          owner: chain.accounts[k].address,
          domain,
          chain: ownerChain,
          ledger,
          validationFraction: o.validationFraction ?? 0.1,
          openDataset: async (id) => {
            const cid = manifests.get(id);
            if (cid === undefined) return undefined;
            let d = opened.get(id);
            if (!d) {
              d = await openSealedDataset({
                store: store!,
                manifestCid: cid,
                identities: [identity],
                cacheDir: join(ownerDir, 'cache'),
              });
              opened.set(id, d);
            }
            return d;
          },
        });
        owners.push({ wallet: new Wallet(key), chain: ownerChain, identity, ledger, runner, manifests, dir: ownerDir });
      }
      return new FlHarness(dir, chain, store, buyer, domain, owners);
    } catch (error) {
      for (const w of owners) {
        w.ledger.close();
        w.chain.provider.destroy();
      }
      await store?.close();
      await chain?.close();
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get size(): number {
    return this.owners.length;
  }

  /**
   * Owner k seals `parts[k]` (age to its own key, into the content store), registers it on chain, and the buyer
   * buys a licence. Returns the dataset ids in owner order.
   */
  async addDatasets(
    parts: readonly LocalData[],
    name: string,
    schemas: readonly DatasetSchema[] = parts.map((p) => shardSchema(p.numFeatures, p.numClasses)),
  ): Promise<bigint[]> {
    if (parts.length !== this.owners.length) throw new RangeError(`${parts.length} shards for ${this.size} owners`);
    const ids: bigint[] = [];
    for (const [k, owner] of this.owners.entries()) {
      const { datasetId, manifestCid } = await sealAndRegisterShard({
        data: parts[k],
        schema: schemas[k],
        name: `${name}-${k + 1}`,
        description: `MNIST shard ${k + 1} of ${this.size} (${name})`,
        owner: { address: owner.wallet.address, identity: owner.identity, chain: owner.chain },
        store: this.store,
        maxJobs: 100,
        // The harness signs owner-level DP (runJob): the terms count ε at that level, or the silos refuse the job.
        dpLevel: 'owner',
      });
      owner.manifests.set(datasetId, manifestCid);
      this.schemas.set(datasetId, schemas[k]);
      ids.push(datasetId);
    }
    return ids;
  }

  /** The buyer signs one JobRequest over the datasets; every silo admits it, then R rounds of FedAvg. */
  async runJob(s: JobSettings): Promise<JobRunResult> {
    const n = this.owners.length;
    if (s.datasets.length !== n) throw new RangeError(`${s.datasets.length} datasets for ${n} owners`);
    const licences: bigint[] = [];
    for (const id of s.datasets) licences.push((await this.buyer.chain.purchaseLicence(id)).licenceId);
    const dp = s.dp ?? { noiseMultiplier: 0, clipNorm: 0, delta: 0 };
    const noisy = dp.noiseMultiplier > 0;
    // The quantiser clips each coordinate to ±clip. Plain updates stay well inside ±1 (RoundRecord.maxAbsUpdate);
    // a noise share must pass unclipped or the sum is no longer the Gaussian mechanism: ±(C + 6·std).
    // Each silo sizes its noise share for the t it derives itself (libs/secagg deriveRoundParams: any t survivors
    // must carry the full noise), not for the n that happen to contribute here: t = max(⌊k/2⌋ + 1, the signed 3).
    const t = Math.max(defaultThreshold(defaultNeighbourhood(n)), JOB_MIN_CONTRIBUTORS);
    const clip = noisy ? dp.clipNorm + 6 * noiseShareStd(dp.noiseMultiplier, dp.clipNorm, t) : 1;
    // The job schema the coordinator computes from the datasets' public manifests; the buyer signs its hash.
    const computed = computeJobSchema(s.datasets.map((id) => ({ id: String(id), schema: this.schemas.get(id)! })));
    const rangedSchema = s.featureRanges ? withFeatureRanges(computed.schema, s.featureRanges) : computed.schema;
    const plan = { schema: rangedSchema, hash: jobSchemaHash(rangedSchema) };
    const request: JobRequest = {
      buyer: this.buyer.wallet.address,
      // The harness plays the coordinator (it drives the SecAgg+ server itself) under the deployer's account.
      coordinator: this.chain.accounts[0].address,
      datasets: [...s.datasets],
      licences,
      modelSpecHash: modelSpecHash(s.spec),
      jobSchemaHash: plan.hash,
      recipient: this.buyer.recipient,
      strategy: 'fedavg',
      rounds: s.rounds,
      training: trainingFromFloats({
        localEpochs: s.training.epochs,
        batchSize: s.training.batchSize,
        learningRate: s.training.learningRate,
        optimizer: s.training.optimizer,
        fedProxMu: 0,
        updateClip: clip,
        // The harness sizes its own SecAgg+ weight bound from the admitted shards below.
        maxWeight: 1_000_000,
      }),
      dp: dpParamsFromFloats({ ...dp, level: 'owner' }),
      // DP: every silo's share is σ²C²/t, so the sum over all n owners carries n/t · σ²C² (≥ σ²C²). Both aggregation
      // modes run the same signed job, so the plain baseline differs from SecAgg+ by the quantisation only.
      secagg: { enabled: true, minContributors: JOB_MIN_CONTRIBUTORS },
      escrow: NO_ESCROW,
      nonce: this.nonce++,
      deadline: BigInt(Math.floor(Date.now() / 1000) + 86_400),
      chainId: this.chain.chainId,
    };
    const signature = await signJobRequest(this.buyer.wallet, this.domain, request);
    // The silos recompute the job id from the signed request: it is the request's EIP-712 digest.
    const jobId = hashJobRequest(this.domain, request).slice(2);
    const admitted = [];
    for (const [k, owner] of this.owners.entries())
      admitted.push(
        await owner.runner.admit({
          jobId,
          request,
          signature,
          datasetId: s.datasets[k],
          modelSpec: s.spec,
          jobSchema: plan.schema,
        }),
      );
    const sessions = new Map<number, SessionIdentity>();
    if (s.aggregation === 'secagg')
      for (const [k, owner] of this.owners.entries())
        sessions.set(k + 1, await createSessionIdentity(ed25519, owner.wallet, jobId, k + 1));
    const certificates = this.owners.map(() => new CertificateCache());
    const walletOf = (id: number) => this.owners[id - 1]?.wallet.address;
    // Before round 1: the feature statistics, summed through SecAgg+ (weight 1, exact fixed-point digits) as the
    // coordinator does over the wire; every silo then standardises and imputes with the global figures.
    let statistics: JobStatistics;
    if (s.aggregation === 'secagg') {
      const { outcome, refusals } = await simulateRound({
        jobId,
        round: STATISTICS_ROUND,
        params: this.owners[0].runner.statisticsParams(jobId, n),
        inputs: new Map(
          this.owners.map((owner, i) => [
            i + 1,
            () => {
              owner.runner.statisticsParams(jobId, n);
              return owner.runner.statisticsContribution(
                jobId,
                this.owners.map((_, k) => k + 1),
              );
            },
          ]),
        ),
        identities: sessions,
        walletOf,
        certificatesOf: (id) => certificates[id - 1],
      });
      if (outcome.kind === 'aborted') throw new Error(`statistics sum aborted: ${outcome.error.message}`);
      if (refusals.size > 0) throw new Error(`statistics: ${[...refusals.values()].map((e) => e.message).join('; ')}`);
      // A DP job's silos noised their statistics (libs/fl statistics-dp): decoded as noisy, like the coordinator.
      statistics = statisticsFromSum(outcome.result.sum, outcome.result.contributors.length, plan.schema, {
        noisy: noisy && dp.delta > 0,
      });
    } else statistics = admitted.map((a) => a.localStatistics).reduce(addStatistics);
    // Every silo derives the same input encoding from the same sum; the model bundle carries it, and the buyer's
    // rows go through it before the model sees them (`model predict`).
    let encoding: InputEncoding | undefined;
    for (const owner of this.owners) encoding = owner.runner.setStatistics(jobId, statistics);
    const d = initialWeights(s.spec, 1).length;
    const maxWeight = noisy ? 1 : Math.max(...admitted.map((a) => a.train!.labels.length));
    let params: SecAggParams | null = null;
    // The exactness bound of libs/secagg params.ts (n · maxWeight · (2^q − 1) < 2^32), as a coordinator sizes q.
    if (s.aggregation === 'secagg')
      params = makeParams({ n, d, clip, bits: quantisationBits(n, maxWeight), maxWeight });

    let w = initialWeights(s.spec, 1);
    const rounds: RoundRecord[] = [];
    let epsilon = 0;
    for (let round = 1; round <= s.rounds; round++) {
      const start = performance.now();
      let trainMs = 0;
      const contributions = new Map<number, RoundContribution>();
      const global = w;
      // What apps/silo/src/silo-client.ts hands the SecAgg+ client: the runner's privatised contribution.
      const train = (k: number) => async () => {
        const t0 = performance.now();
        // As the silo does on a verified roster of n: derive the round's parameters (and its t) before training.
        this.owners[k - 1].runner.roundParams(jobId, n, 'train');
        const c = await this.owners[k - 1].runner.trainRound(jobId, round, global);
        trainMs += performance.now() - t0;
        contributions.set(k, c);
        return { update: c.update, weight: c.weight };
      };
      let sum: Float32Array;
      let totalWeight: number;
      let sumError: number | null = null;
      let contributors = n;
      if (params) {
        // The shared SecAgg+ driver over in-process clients (libs/secagg simulateRound); any refusal or abort
        // fails the round.
        const { outcome, refusals } = await simulateRound({
          jobId,
          round,
          params,
          inputs: new Map(this.owners.map((_, i) => [i + 1, train(i + 1)])),
          identities: sessions,
          walletOf,
          certificatesOf: (id) => certificates[id - 1],
        });
        if (outcome.kind === 'aborted') throw new Error(`SecAgg+ round ${round} aborted: ${outcome.error.message}`);
        if (refusals.size > 0)
          throw new Error(`SecAgg+ round ${round}: ${[...refusals.values()].map((e) => e.message).join('; ')}`);
        const result = outcome.result;
        contributors = result.contributors.length;
        if (noisy && contributors < n)
          throw new Error(`round ${round}: only ${contributors} contributors, the DP noise shares need ${n}`);
        sum = Float32Array.from(result.sum);
        totalWeight = result.totalWeight;
      } else {
        for (let k = 1; k <= n; k++) await train(k)();
        ({ sum, totalWeight } = weightedSum([...contributions.values()]));
      }
      w = fedAvgStep(w, sum, totalWeight);
      const roundMs = performance.now() - start;
      if (params) {
        const plain = weightedSum([...contributions.values()]);
        sumError = 0;
        for (let i = 0; i < d; i++) sumError = Math.max(sumError, Math.abs(sum[i] - plain.sum[i]) / totalWeight);
      }
      let maxAbsUpdate = 0;
      for (const c of contributions.values())
        for (const x of c.update) maxAbsUpdate = Math.max(maxAbsUpdate, Math.abs(x));
      epsilon = Math.max(...[...contributions.values()].map((c) => c.epsilon));
      const evals = [];
      for (const owner of this.owners) evals.push(await owner.runner.evaluate(jobId, w));
      const e = combineEval(evals);
      const record: RoundRecord = {
        round,
        accuracy: e.accuracy,
        loss: e.loss,
        evalCount: e.count,
        roundMs,
        trainMs,
        sumError,
        quantStep: params ? (2 * params.clip) / (2 ** params.bits - 1) : null,
        maxAbsUpdate,
        contributors,
        epsilon,
      };
      rounds.push(record);
      await s.onRound?.(record, w, encoding!);
    }
    for (const owner of this.owners) owner.runner.finish(jobId);
    return {
      jobId,
      licences,
      rounds,
      weights: w,
      params,
      epsilon,
      pooledTrain: pool(admitted.map((a) => a.train!)),
      pooledValidation: pool(admitted.map((a) => a.validation!)),
      statistics,
      encoding: encoding!,
      majorityBaseline: majorityBaseline(statistics).accuracy,
    };
  }

  /** Owner k's ε ledger (what the silo charges before an update leaves it). */
  ledgerOf(k: number): EpsilonLedger {
    return this.owners[k].ledger;
  }

  async close(): Promise<void> {
    for (const owner of this.owners) {
      owner.ledger.close();
      owner.chain.provider.destroy();
    }
    this.buyer.chain.provider.destroy();
    await this.store.close();
    await this.chain.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
