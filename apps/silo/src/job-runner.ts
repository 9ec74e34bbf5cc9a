// The silo's gatekeeper and trainer. Before it touches data for a job it checks, itself, everything the coordinator
// could lie about: the buyer's EIP-712 signature, the licence on chain, the model against the signed hash, the
// schema, and the privacy budget left in its own ledger. Then, per round, it trains locally, clips, adds its noise
// share and hands the result to the SecAgg+ client — privacy is a layer around training (the transport owns SecAgg+).
import { verifyJobRequest, type LicenceCheck, type LicenceInfo, type SealfoldDomain } from '@sealfold/chain';
import {
  evaluateLocal,
  gaussianEpsilon,
  modelSpecHash,
  parseModelSpec,
  privatizeUpdate,
  clipL2,
  selectSamples,
  splitTrainValidation,
  trainLocal,
  type EvalSums,
  type LocalData,
  type OptimizerName,
} from '@sealfold/fl';
import { DP_CLIP_SCALE, DP_DELTA_SCALE, DP_NOISE_SCALE, type JobRequest } from '@sealfold/protocol';
import { type EpsilonLedger, UNLIMITED_EPSILON_MILLI } from './ledger.js';
import { type OpenedDataset } from './sealed-data.js';

/** Why a silo refuses a job; the reason travels back to the buyer. */
export type RefusalReason =
  | 'not-served'
  | 'bad-signature'
  | 'wrong-chain'
  | 'deadline-passed'
  | 'no-licence'
  | 'wrong-dataset'
  | 'not-holder'
  | 'expired'
  | 'revoked'
  | 'job-limit-reached'
  | 'budget-exhausted'
  | 'model-mismatch'
  | 'schema-mismatch'
  | 'unsupported-strategy'
  | 'secagg-required';

export class JobRefusal extends Error {
  override readonly name = 'JobRefusal';
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

export interface TrainingSettings {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: OptimizerName;
  /** FedProx μ (strategy `fedprox`); ignored otherwise. */
  readonly fedProxMu?: number;
}

/** A job as offered to this silo: the buyer's signed request plus what the coordinator adds. */
export interface JobOffer {
  readonly jobId: string;
  readonly request: JobRequest;
  readonly signature: string;
  /** The dataset of the request this silo contributes. */
  readonly datasetId: bigint;
  /** The model; its hash must equal the signed `request.modelSpecHash`. */
  readonly modelSpec: unknown;
  readonly training: TrainingSettings;
  /** SecAgg+ threshold t: the noise share is sized so that any t survivors carry the full noise. */
  readonly threshold: number;
}

/** What the silo asks the chain (libs/chain's client provides it). */
export interface LicenceOracle {
  checkLicenceById(licenceId: bigint, datasetId: bigint, holder: string): Promise<LicenceCheck>;
  getLicence(licenceId: bigint): Promise<LicenceInfo>;
}

export interface AdmittedJob {
  readonly offer: JobOffer;
  readonly licenceId: bigint;
  /** ε the whole job will cost at its signed rounds (Infinity without noise). */
  readonly plannedEpsilon: number;
  readonly dp: { readonly noiseMultiplier: number; readonly clipNorm: number; readonly delta: number };
  readonly train: LocalData;
  readonly validation: LocalData;
}

export interface RoundContribution {
  /** The privatised update (clipped, noised when the job asks for DP) and its SecAgg+ weight. */
  readonly update: Float32Array;
  readonly weight: number;
  readonly numSamples: number;
  readonly loss: number;
  /** ε released by this job after this round. */
  readonly epsilon: number;
}

export interface SiloJobRunnerOptions {
  /** The owner's wallet address (the datasets' owner). */
  readonly owner: string;
  readonly domain: SealfoldDomain;
  readonly chain: LicenceOracle;
  readonly ledger: EpsilonLedger;
  /** The datasets this silo serves, opened (decrypted into the private cache) on demand. */
  readonly openDataset: (datasetId: bigint) => Promise<OpenedDataset | undefined>;
  readonly validationFraction?: number;
  /** Unix seconds, for the deadline check (tests pin it). */
  readonly now?: () => bigint;
}

const STRATEGIES = new Set(['fedavg', 'fedprox', 'fedadam']);

export class SiloJobRunner {
  private readonly jobs = new Map<string, AdmittedJob>();

  constructor(private readonly options: SiloJobRunnerOptions) {}

  get admitted(): ReadonlyMap<string, AdmittedJob> {
    return this.jobs;
  }

  /** Checks a job offer; throws JobRefusal with the reason the buyer will see. */
  async admit(offer: JobOffer): Promise<AdmittedJob> {
    const { request } = offer;
    const refuse = (reason: RefusalReason, message: string): never => {
      throw new JobRefusal(reason, message);
    };
    const index = request.datasets.indexOf(offer.datasetId);
    if (index < 0) refuse('not-served', `dataset ${offer.datasetId} is not part of the signed request`);
    const opened = await this.options.openDataset(offer.datasetId);
    if (!opened) return refuse('not-served', `this silo does not serve dataset ${offer.datasetId}`);

    // 1. The buyer's signature over the request (EIP-712), bound to this chain and contract.
    try {
      verifyJobRequest(
        this.options.domain,
        request,
        offer.signature,
        this.options.now ? { now: this.options.now() } : {},
      );
    } catch (error) {
      const why = (error as { reason?: string }).reason;
      if (why === 'wrong-chain') refuse('wrong-chain', `the request is for chain ${request.chainId}`);
      if (why === 'expired') refuse('deadline-passed', 'the request deadline has passed');
      refuse('bad-signature', `the job request signature does not verify (${(error as Error).message})`);
    }
    if (!STRATEGIES.has(request.strategy))
      refuse('unsupported-strategy', `strategy "${request.strategy}" is not supported`);

    // 2. The licence, read from the chain by the silo itself.
    const licenceId = request.licences[index];
    const check = await this.options.chain.checkLicenceById(licenceId, offer.datasetId, request.buyer);
    if (!check.valid) {
      const reason: RefusalReason = check.reason === 'not-found' ? 'no-licence' : (check.reason as RefusalReason);
      refuse(reason, `licence ${licenceId} for dataset ${offer.datasetId}: ${check.reason}`);
    }
    const licence = await this.options.chain.getLicence(licenceId);

    // 3. The model must be the one the buyer signed, and fit this dataset.
    let model;
    try {
      if (modelSpecHash(offer.modelSpec) !== request.modelSpecHash.toLowerCase())
        refuse('model-mismatch', 'the model differs from the signed model spec hash');
      model = parseModelSpec(offer.modelSpec);
    } catch (error) {
      if (error instanceof JobRefusal) throw error;
      return refuse('model-mismatch', `invalid model spec: ${(error as Error).message}`);
    }
    const { data } = opened;
    const numFeatures = data.featureNames.length;
    const inputSize = model.spec.inputShape.reduce((a, b) => a * b, 1);
    const outputSize = model.layout.outputShape.reduce((a, b) => a * b, 1);
    if (inputSize !== numFeatures || outputSize !== data.classes.length)
      refuse(
        'schema-mismatch',
        `the model maps ${inputSize} features to ${outputSize} classes; dataset ${offer.datasetId} has ${numFeatures} features and ${data.classes.length} classes`,
      );

    // 4. The privacy budget: ε already released under this licence (other jobs) plus this job's planned ε.
    const dp = {
      noiseMultiplier: request.dp.noiseMultiplierMilli / DP_NOISE_SCALE,
      clipNorm: Number(request.dp.clipNormMicro) / DP_CLIP_SCALE,
      delta: Number(request.dp.deltaAtto) / Number(DP_DELTA_SCALE),
    };
    const plannedEpsilon = jobEpsilon(dp, request.rounds);
    const others = this.options.ledger.jobs(licenceId).filter((j) => j !== offer.jobId);
    if (others.length >= licence.maxJobs)
      refuse(
        'job-limit-reached',
        `licence ${licenceId} allows ${licence.maxJobs} job(s); ${others.length} already ran`,
      );
    if (licence.epsilonBudgetMilli !== UNLIMITED_EPSILON_MILLI) {
      const budget = licence.epsilonBudgetMilli / 1000;
      const spent = this.options.ledger.spent(licenceId, offer.jobId);
      if (spent + plannedEpsilon > budget)
        refuse(
          'budget-exhausted',
          `licence ${licenceId}: ε budget ${budget}, spent ${fmt(spent)}, this job needs ${fmt(plannedEpsilon)}`,
        );
    }

    const all: LocalData = {
      features: data.features,
      labels: data.labels,
      numFeatures,
      numClasses: data.classes.length,
    };
    const split = splitTrainValidation(data.rows, {
      validationFraction: this.options.validationFraction ?? 0.1,
      seed: `${offer.datasetId}`,
    });
    const admitted: AdmittedJob = {
      offer,
      licenceId,
      plannedEpsilon,
      dp,
      train: selectSamples(all, split.train),
      validation: selectSamples(all, split.validation),
    };
    this.jobs.set(offer.jobId, admitted);
    return admitted;
  }

  /**
   * Trains one round from the global weights and returns the privatised contribution. The ledger is charged
   * before the contribution is returned, so the ε of an update that leaves the silo is always on record.
   */
  /** Trains and privatises round `round`'s contribution and charges its ε to the licence's ledger. */
  async trainRound(jobId: string, round: number, globalWeights: Float32Array): Promise<RoundContribution> {
    const prepared = await this.prepareRound(jobId, round, globalWeights);
    prepared.charge();
    return prepared.contribution;
  }

  /**
   * Trains and privatises round `round`'s contribution without booking it yet: `charge()` books its ε on the
   * ledger (throwing when the budget is spent) and must run before the update leaves the silo. So a silo can train
   * while the SecAgg+ key stages run, and a round that aborts before its masked input costs no budget.
   */
  async prepareRound(
    jobId: string,
    round: number,
    globalWeights: Float32Array,
  ): Promise<{ readonly contribution: RoundContribution; charge(): void }> {
    const job = this.job(jobId);
    const { request, training } = job.offer;
    if (!Number.isInteger(round) || round < 1 || round > request.rounds)
      throw new JobRefusal('job-limit-reached', `round ${round} is outside the signed 1..${request.rounds}`);
    const result = await trainLocal({
      modelSpec: job.offer.modelSpec,
      globalWeights,
      data: job.train,
      epochs: training.epochs,
      batchSize: training.batchSize,
      optimizer: training.optimizer,
      learningRate: training.learningRate,
      fedProxMu: request.strategy === 'fedprox' ? (training.fedProxMu ?? 0.01) : 0,
      seed: `${jobId}/${round}/${job.offer.datasetId}`,
    });
    const noisy = job.dp.noiseMultiplier > 0;
    let update = result.update;
    if (noisy) {
      update = privatizeUpdate(update, { ...job.dp, minContributors: job.offer.threshold }).noised;
    } else if (job.dp.clipNorm > 0) {
      update = clipL2(update, job.dp.clipNorm).clipped;
    }
    const epsilon = jobEpsilon(job.dp, round);
    // With DP every owner weighs 1 (sensitivity C per owner); without, FedAvg weighs by sample count.
    const contribution = {
      update,
      weight: noisy ? 1 : result.numSamples,
      numSamples: result.numSamples,
      loss: result.loss,
      epsilon,
    };
    return { contribution, charge: () => this.options.ledger.charge(job.licenceId, jobId, round, epsilon) };
  }

  /** Federated evaluation on the held-out split: counts and sums only. */
  evaluate(jobId: string, weights: Float32Array): Promise<EvalSums> {
    const job = this.job(jobId);
    return evaluateLocal(job.offer.modelSpec, weights, job.validation);
  }

  finish(jobId: string): void {
    this.jobs.delete(jobId);
  }

  private job(jobId: string): AdmittedJob {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`job ${jobId} was not admitted by this silo`);
    return job;
  }
}

/** ε of `rounds` rounds of the Gaussian mechanism (RDP accountant); Infinity without noise. */
export function jobEpsilon(dp: { noiseMultiplier: number; delta: number }, rounds: number): number {
  if (dp.noiseMultiplier <= 0) return Infinity;
  return gaussianEpsilon({ noiseMultiplier: dp.noiseMultiplier, rounds, delta: dp.delta }).epsilon;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '∞ (no noise)');
