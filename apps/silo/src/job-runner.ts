// The silo's gatekeeper and trainer. Before it touches data for a job it checks, itself, everything the coordinator
// could lie about: the buyer's EIP-712 signature, the licence on chain, the model against the signed hash, the
// schema, and the privacy budget left in its own ledger. Then, per round, it trains locally, clips, adds its noise
// share and hands the result to the SecAgg+ client — privacy is a layer around training (the transport owns SecAgg+).
import { randomBytes } from 'node:crypto';
import {
  ContractRevertError,
  escrowJobId,
  hashJobReceipt,
  roundsByDatasetOf,
  RpcUnavailableError,
  signJobReceipt,
  transcriptRoot,
  validateJobReceipt,
  verifyAndHashJobRequest,
  type JobReceipt,
  type TranscriptRound,
  type EscrowInfo,
  type EscrowTerms,
  type JobTerms,
  type LicenceCheck,
  type LicenceInfo,
  type SealfoldDomain,
} from '@sealfold/chain';
import {
  addGaussianNoise,
  assertRecordDpModel,
  DEFAULT_VALIDATION_FRACTION,
  evaluateLocal,
  evalVector,
  allReleases,
  datasetEpsilon,
  noiseShareStd,
  planDatasetDp,
  privatizeStatistics,
  type DatasetDpPlan,
  modelSpecHash,
  parseModelSpec,
  privatizeUpdate,
  clipL2,
  encodeRows,
  encodingFromStatistics,
  labelCounts,
  labelPriorRatio,
  localStatistics,
  mapToJobSchema,
  PreprocessError,
  SchemaMappingError,
  STATS_BITS,
  STATS_CLIP,
  STATS_MAX_WEIGHT,
  statisticsInput,
  statisticsLength,
  type InputEncoding,
  type JobStatistics,
  type RawRows,
  recordLevelEvalInput,
  EVAL_VECTOR_CLIP,
  isStrategyName,
  splitTrainValidation,
  trainLocal,
  type EvalSums,
  type LocalData,
  type OptimizerName,
  weightsDigest,
} from '@sealfold/fl';
import {
  DP_CLIP_SCALE,
  DP_DELTA_SCALE,
  DP_NOISE_SCALE,
  EPSILON_UNBOUNDED_MILLI,
  SealfoldError,
  epsilonFromMilli,
  jobPrice,
  requestsEscrow,
  jobSchemaHash,
  jobSchemaInputWidth,
  parseJobSchema,
  trainingToFloats,
  type JobSchema,
  type DpLevel,
  type JobRequest,
  type SecAggParams,
} from '@sealfold/protocol';
import { deriveRoundParams, type SecAggInput } from '@sealfold/secagg';
import { dpLevelMismatch } from './dp-level-policy.js';
import { type EpsilonLedger, LedgerRefusal, type ReleaseCounts, type ReleaseKind } from './ledger.js';
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
  | 'secagg-required'
  /** Fewer independent owners (neither buyer nor coordinator) than the owner's policy asks (issue 11). */
  | 'too-few-owners'
  /** A second release for a (job, round, kind) already released: a replayed round or evaluation. */
  | 'replayed-round'
  | 'round-out-of-range'
  /** SecAgg+ parameters or participants other than those the silo derives from the verified roster. */
  | 'params-mismatch'
  | 'roster-mismatch'
  /** An evaluation of a model other than the one the round produced, or before this silo contributed to it. */
  | 'wrong-model'
  /** The silo refuses the rest of this job (the stored reason follows). */
  | 'job-halted'
  /** The offer's job id is not the digest of the signed request (one signed request = one job = one job slot). */
  | 'job-id-mismatch'
  /** The dataset charges a job rate and the request signs no escrow terms (issue 20). */
  | 'escrow-required'
  /** No escrow is open on chain for the signed request (the buyer has not run `job open`). */
  | 'escrow-not-open'
  /** The escrow on chain holds other terms than the signed request, or pins this dataset otherwise than its owner set. */
  | 'escrow-mismatch'
  /** The escrow was refunded, or its run deadline has passed. */
  | 'escrow-closed'
  /** A receipt whose transcript disagrees with what this silo saw (its rounds, the models it received, the root). */
  | 'receipt-mismatch'
  /** A receipt this silo cannot sign: not its job, not its signer key, or another receipt of the job signed already. */
  | 'receipt-refused'
  /** Record-level DP this dataset cannot give: δ ≥ 1/rows (the guarantee would allow releasing a whole row). */
  | 'delta-too-large'
  /** DP at a level other than the one the dataset's on-chain terms count ε in (record vs owner). */
  | 'dp-level-mismatch'
  /** Summed statistics inconsistent with this silo's own (fewer rows or counts than it alone holds), or a second run. */
  | 'bad-statistics'
  /** A round before the job's feature statistics arrived: the silo cannot encode its rows yet. */
  | 'no-statistics'
  /** The silo's chain node did not answer in time: the silo cannot check what it must read on chain itself. */
  | 'chain-unavailable';

/**
 * Why a refusal happened, for the coordinator and the silo's log: a JobRefusal's own reason; an unanswered chain read
 * as 'chain-unavailable'; anything else as 'internal-error' with the error's class, so a fault can be told apart. The
 * message is the error's own (these errors name ids and RPC endpoints, never a row or a key).
 */
export function refusalOf(error: unknown): { reason: RefusalReason | 'internal-error'; message: string } {
  if (error instanceof JobRefusal) return { reason: error.reason, message: error.message };
  if (error instanceof RpcUnavailableError) return { reason: 'chain-unavailable', message: error.message };
  const name = error instanceof Error ? error.constructor.name || error.name : typeof error;
  return { reason: 'internal-error', message: `${name}: ${error instanceof Error ? error.message : String(error)}` };
}

/** The fewest distinct independent owners a job must have, unless the owner sets another (`--min-owners`). */
export const DEFAULT_MIN_INDEPENDENT_OWNERS = 3;

export class JobRefusal extends SealfoldError<RefusalReason> {
  override readonly name = 'JobRefusal';
  get reason(): RefusalReason {
    return this.code;
  }
}

export interface TrainingSettings {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: OptimizerName;
  /** FedProx μ (strategy `fedprox`); ignored otherwise. */
  readonly fedProxMu?: number;
  /** SecAgg+ per-coordinate clip of the update before quantisation. */
  readonly updateClip: number;
  /** SecAgg+ weight bound. */
  readonly maxWeight: number;
}

/**
 * A job as offered to this silo: the buyer's signed request plus what the coordinator adds (the model, whose hash is
 * signed). Training settings and SecAgg+ terms are read from the verified request at admission, never from the offer.
 */
export interface JobOffer {
  /** Must be the request's EIP-712 digest (64 hex, no 0x): one signed request, one job, one job slot. */
  readonly jobId: string;
  readonly request: JobRequest;
  readonly signature: string;
  /** The dataset of the request this silo contributes. */
  readonly datasetId: bigint;
  /** The model; its hash must equal the signed `request.modelSpecHash`. */
  readonly modelSpec: unknown;
  /** The job schema; its hash must equal the signed `request.jobSchemaHash`. */
  readonly jobSchema: unknown;
}

/** What the silo asks the chain (libs/chain's client provides it). */
export interface LicenceOracle {
  checkLicenceById(licenceId: bigint, datasetId: bigint, holder: string): Promise<LicenceCheck>;
  getLicence(licenceId: bigint): Promise<LicenceInfo>;
  /** The dataset's owner (one ownerOf view), undefined when it does not exist. */
  ownerOf(datasetId: bigint): Promise<string | undefined>;
  /**
   * The dataset's listed terms: `minOwners` is the owner's published policy (visible to buyers), `dpLevel` the only
   * DP level its ε budget is counted in.
   */
  getTerms(datasetId: bigint): Promise<{ readonly minOwners: number; readonly dpLevel: DpLevel }>;
  /** The dataset's job terms (rate per row-round, rows, silo signer) as its owner set them. */
  getJobTerms(datasetId: bigint): Promise<JobTerms>;
  /** A job escrow as JobEscrow stores it (ContractRevertError `UnknownJob` when none is open). */
  getEscrow(jobId: string): Promise<EscrowInfo>;
  /** A job escrow's pinned terms, rebuilt from chain and checked against its termsHash. */
  escrowTerms(jobId: string): Promise<EscrowTerms>;
  /** The latest block's timestamp: the clock the run deadline is measured on. */
  latestTimestamp(): Promise<bigint>;
  /** The EIP-712 domain of JobEscrow receipts on this chain. */
  receiptDomain(): Promise<import('ethers').TypedDataDomain>;
}

/** What the coordinator asks a silo to sign at the job's end (wire `receipt-request`). */
export interface ReceiptRequest {
  /** The coordinator's job id (the request digest, 64 hex). */
  readonly jobId: string;
  readonly datasetId: bigint;
  readonly receipt: JobReceipt;
  readonly transcript: readonly TranscriptRound[];
}

/** A job's escrow as the silo verified it at admission (issue 20): what it checks each round and signs receipts for. */
export interface AdmittedEscrow {
  /** JobEscrow's job id: keccak256(buyer, request digest). */
  readonly jobId: string;
  /** This dataset's index in the escrow's (increasing id) order: its bit in receipts. */
  readonly index: number;
  readonly terms: EscrowTerms;
}

export interface AdmittedJob {
  readonly offer: JobOffer;
  /** The signed training settings. */
  readonly training: TrainingSettings;
  readonly licenceId: bigint;
  /** ε the whole job will cost at its signed rounds: statistics, training and evaluations (Infinity without noise). */
  readonly plannedEpsilon: number;
  /** The noise multipliers derived from the signed DP terms and this dataset's rows; undefined without noise. */
  readonly dpPlan?: DatasetDpPlan;
  readonly dp: {
    readonly noiseMultiplier: number;
    readonly clipNorm: number;
    readonly delta: number;
    readonly level: DpLevel;
  };
  /**
   * Record level with noise: the DP-SGD schedule's inputs as the accountant sees them (rows = the training split
   * DP-SGD samples from) and σ_eval of the evaluation releases.
   */
  readonly record?: {
    readonly trainRows: number;
    readonly batchSize: number;
    readonly localEpochs: number;
    readonly evalNoiseMultiplier: number;
  };
  /** The signed job schema this silo's rows are mapped onto. */
  readonly jobSchema: JobSchema;
  /** The job's class indices this dataset holds: its label levels in the public manifest. */
  readonly heldClasses: readonly number[];
  /**
   * Per job class π_local/π_global (libs/fl labelPriorRatio; set by `setStatistics`): local training fits the
   * logit-adjusted loss, so an owner lacking a class, or holding another class mix, does not teach the shared
   * model its own mix (issue 13: owners that each lack a class). Record-level DP uses the 0/1 mask of the public
   * `heldClasses` instead: a loss that depends on the private label counts would couple the rows' gradients.
   */
  labelPriorRatio?: readonly number[];
  /** The training and held-out rows in the job schema's raw layout (before standardising, with the missing mask). */
  readonly raw: { readonly train: RawRows; readonly validation: RawRows };
  /** This silo's exact statistics over all its rows (its input to the sum without DP; checks the sum it gets back). */
  readonly localStatistics: JobStatistics;
  /** The rows' raw layout before the split: what the noised statistics are drawn from. */
  readonly rawAll: RawRows;
  /**
   * With DP: the noised statistics this silo released (drawn once; a second sum over the same clients after a
   * coordinator restart gets the same figures, never a fresh draw whose average would shrink the noise).
   */
  statisticsShare?: JobStatistics;
  /**
   * The clients of the statistics sum this silo contributed to (sorted ids; [] for a plain job): a second sum is
   * answered only over the same clients (a coordinator restart), never over another set it could difference.
   */
  statisticsReleased?: string;
  /** The encoding from the global statistics; set by `setStatistics`, before which no round runs. */
  encoding?: InputEncoding;
  /** The encoded rows (set with `encoding`). */
  train?: LocalData;
  validation?: LocalData;
  /** Number of model parameters d (from the signed model spec, not the coordinator's word). */
  readonly dimension: number;
  /**
   * The owner policy for this job: the fewest independent owners in the job and in every round, and the least t —
   * the larger of this silo's `minIndependentOwners` and the dataset's on-chain `minOwners` term.
   */
  readonly minOwners: number;
  /** The t this silo enforces in the current SecAgg+ run (set by `roundParams` from the verified roster). */
  enforcedThreshold?: number;
  /** The job's escrow, when this dataset charges a job rate (undefined: licence only). */
  readonly escrow?: AdmittedEscrow;
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
  /**
   * Owner policy: the fewest distinct owner addresses, other than the buyer's and the coordinator's, whose
   * datasets a job and each of its rounds must include; also a lower bound on the SecAgg+ threshold t.
   * Default DEFAULT_MIN_INDEPENDENT_OWNERS.
   */
  readonly minIndependentOwners?: number;
  /**
   * The key that co-signs job receipts (issue 20): the silo signer its datasets' job terms name (`dataset job-terms
   * --silo-signer`; by default the owner's wallet). Without it the silo signs no receipt.
   */
  readonly receiptSigner?: import('ethers').Signer;
}

export class SiloJobRunner {
  private readonly jobs = new Map<string, AdmittedJob>();

  constructor(private readonly options: SiloJobRunnerOptions) {}

  get admitted(): ReadonlyMap<string, AdmittedJob> {
    return this.jobs;
  }

  /** Keeps a refused offer and its reason in the ledger, for the owner's local page. */
  recordRefusal(jobId: string, datasetId: bigint, reason: string, message: string): void {
    this.options.ledger.recordRefusal(jobId, datasetId, reason, message);
  }

  /** Checks a job offer; throws JobRefusal with the reason the buyer will see. */
  async admit(offer: JobOffer): Promise<AdmittedJob> {
    const { request } = offer;
    const refuse = (reason: RefusalReason, message: string): never => {
      throw new JobRefusal(reason, message);
    };
    const index = request.datasets.indexOf(offer.datasetId);
    if (index < 0) refuse('not-served', `dataset ${offer.datasetId} is not part of the signed request`);
    // The dataset's published terms, read on chain (not offered): the owner policy is this silo's flag or the
    // `minOwners` term, whichever is larger; the DP level must be the one the terms count ε in.
    const terms = await this.options.chain.getTerms(offer.datasetId);
    const minOwners = Math.max(this.minIndependentOwners, terms.minOwners);
    const levelMismatch = dpLevelMismatch(offer.datasetId, request.dp, terms);
    if (levelMismatch) refuse('dp-level-mismatch', levelMismatch);
    // Coordinator and silos derive t from the signed minimum: a minimum below the owner's policy could only end in
    // a refused round, so the buyer learns it now (and `job create` signs the largest policy of its datasets).
    if (request.secagg.enabled && request.secagg.minContributors < minOwners)
      refuse(
        'too-few-owners',
        `the owner of dataset ${offer.datasetId} requires at least ${minOwners} contributors per sum; the request signs ${request.secagg.minContributors}`,
      );
    await this.checkIndependentOwners(request, minOwners);
    const opened = await this.options.openDataset(offer.datasetId);
    if (!opened) return refuse('not-served', `this silo does not serve dataset ${offer.datasetId}`);

    // 1. The buyer's signature over the request (EIP-712), bound to this chain and contract. Its digest is hashed once
    // (O(datasets), ~0.1 s at 1000) and is the job id below.
    let digest = '';
    try {
      ({ digest } = verifyAndHashJobRequest(
        this.options.domain,
        request,
        offer.signature,
        this.options.now ? { now: this.options.now() } : {},
      ));
    } catch (error) {
      const why = (error as { reason?: string }).reason;
      if (why === 'wrong-chain') refuse('wrong-chain', `the request is for chain ${request.chainId}`);
      if (why === 'expired') refuse('deadline-passed', 'the request deadline has passed');
      refuse('bad-signature', `the job request signature does not verify (${(error as Error).message})`);
    }
    // The job id is the digest of the signed request (EIP-712 hashStruct under our domain), so a licence's job slots
    // count signed requests: the same request under a second id would spend the licence twice.
    const expectedId = digest.slice(2);
    if (offer.jobId !== expectedId)
      refuse('job-id-mismatch', `job id ${offer.jobId} is not the signed request's digest ${expectedId}`);
    if (!isStrategyName(request.strategy))
      refuse('unsupported-strategy', `strategy "${request.strategy}" is not supported`);

    // 2. The licence, read from the chain by the silo itself.
    const licenceId = request.licences[index];
    const check = await this.options.chain.checkLicenceById(licenceId, offer.datasetId, request.buyer);
    if (!check.valid) {
      const reason: RefusalReason = check.reason === 'not-found' ? 'no-licence' : (check.reason as RefusalReason);
      refuse(reason, `licence ${licenceId} for dataset ${offer.datasetId}: ${check.reason}`);
    }
    const licence = await this.options.chain.getLicence(licenceId);
    // 2b. The job's escrow, read from the chain by the silo itself, when this dataset charges a job rate.
    const escrow = await this.checkEscrow(request, offer.datasetId, expectedId);

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
    // 4. The job schema must be the signed one, fit the model, and map this dataset's rows (classes it lacks are
    // fine; a column it lacks, of another type, or a level or class the schema does not list is refused by name).
    let jobSchema: JobSchema;
    try {
      jobSchema = parseJobSchema(offer.jobSchema);
    } catch (error) {
      return refuse('schema-mismatch', (error as Error).message);
    }
    if (jobSchemaHash(jobSchema) !== request.jobSchemaHash.toLowerCase())
      refuse('schema-mismatch', 'the job schema differs from the signed job schema hash');
    const inputSize = model.spec.inputShape.reduce((a, b) => a * b, 1);
    const outputSize = model.layout.outputShape.reduce((a, b) => a * b, 1);
    const width = jobSchemaInputWidth(jobSchema);
    if (inputSize !== width || outputSize !== jobSchema.classes.length)
      refuse(
        'schema-mismatch',
        `the model maps ${inputSize} inputs to ${outputSize} classes; the job schema encodes ${width} inputs and ${jobSchema.classes.length} classes`,
      );
    let raw: RawRows;
    try {
      raw = mapToJobSchema(
        {
          schema: opened.manifest.schema,
          rows: data.rows,
          features: data.features,
          featureNames: data.featureNames,
          labels: data.labels,
          classes: data.classes,
          ...(data.missing ? { missing: data.missing } : {}),
        },
        jobSchema,
      );
    } catch (error) {
      if (error instanceof SchemaMappingError)
        refuse('schema-mismatch', `dataset ${offer.datasetId}, column "${error.column}": ${error.message}`);
      if (error instanceof PreprocessError) refuse('schema-mismatch', `dataset ${offer.datasetId}: ${error.message}`);
      throw error;
    }

    const dp = {
      noiseMultiplier: request.dp.noiseMultiplierMilli / DP_NOISE_SCALE,
      clipNorm: Number(request.dp.clipNormMicro) / DP_CLIP_SCALE,
      delta: Number(request.dp.deltaAtto) / Number(DP_DELTA_SCALE),
      level: request.dp.level,
    };
    const split = splitTrainValidation(data.rows, {
      validationFraction: this.options.validationFraction ?? DEFAULT_VALIDATION_FRACTION,
      seed: `${offer.datasetId}`,
    });
    const signed = trainingToFloats(request.training);
    const recordLevel = dp.noiseMultiplier > 0 && dp.level === 'record';
    if (recordLevel) {
      if (!(dp.delta > 0))
        refuse('delta-too-large', 'record-level DP needs δ > 0 (the Gaussian mechanism gives no pure ε)');
      // δ < 1/rows: at δ ≥ 1/n the mechanism "publish one random row" is (0, δ)-DP — the guarantee would be empty.
      if (!(dp.delta < 1 / data.rows))
        refuse(
          'delta-too-large',
          `record-level DP on dataset ${offer.datasetId} (${data.rows} rows) needs δ < 1/rows = ${(1 / data.rows).toPrecision(3)}; the request signs δ = ${dp.delta}`,
        );
      try {
        assertRecordDpModel(model);
      } catch (error) {
        refuse('model-mismatch', (error as Error).message);
      }
    }
    const dpPlan = planOf(dp, {
      rounds: request.rounds,
      trainRows: split.train.length,
      batchSize: signed.batchSize,
      localEpochs: signed.localEpochs,
    });
    const record: AdmittedJob['record'] =
      recordLevel && dpPlan
        ? {
            trainRows: split.train.length,
            batchSize: signed.batchSize,
            localEpochs: signed.localEpochs,
            evalNoiseMultiplier: dpPlan.evalNoiseMultiplier,
          }
        : undefined;

    // 5. The job slot and the whole planned ε (statistics, every round's update and evaluation), reserved atomically
    // (see reserveJob).
    const plannedEpsilon = this.reserveJob(
      offer.jobId,
      licenceId,
      licence,
      (released) => admittedEpsilon({ dpPlan }, released),
      request.rounds,
    );

    const admitted: AdmittedJob = {
      offer,
      minOwners,
      training: {
        epochs: signed.localEpochs,
        batchSize: signed.batchSize,
        learningRate: signed.learningRate,
        optimizer: signed.optimizer,
        fedProxMu: signed.fedProxMu,
        updateClip: signed.updateClip,
        maxWeight: signed.maxWeight,
      },
      licenceId,
      plannedEpsilon,
      ...(dpPlan ? { dpPlan } : {}),
      dp,
      ...(record ? { record } : {}),
      jobSchema,
      heldClasses: data.classes.map((c) => jobSchema.classes.indexOf(c)).sort((a, b) => a - b),
      raw: {
        train: selectRaw(raw, split.train, jobSchema.features.length),
        validation: selectRaw(raw, split.validation, jobSchema.features.length),
      },
      localStatistics: localStatistics(raw, jobSchema),
      rawAll: raw,
      dimension: model.layout.totalSize,
      ...(escrow ? { escrow } : {}),
    };
    this.jobs.set(offer.jobId, admitted);
    return admitted;
  }

  /**
   * Issue 20 (docs/ECONOMICS.md §2.4, §5): a dataset whose owner set a job rate trains only for a job whose escrow
   * is open on chain, before its run deadline, with exactly the terms the buyer signed — coordinator, t =
   * secagg.minContributors, rounds, currency, run deadline, windows, fee, the request's datasets and licences — this
   * dataset pinned with the payee, silo signer, rate and rows its owner set, and the exact price locked. A dataset
   * without a job rate is licence-only (undefined). Nothing here trusts the coordinator: the escrow id is derived
   * from the verified request and the terms are rebuilt from chain (checked against the job's termsHash).
   */
  private async checkEscrow(
    request: JobRequest,
    datasetId: bigint,
    requestDigest: string,
  ): Promise<AdmittedEscrow | undefined> {
    const chain = this.options.chain;
    const own = await chain.getJobTerms(datasetId);
    if (own.ratePerRowRound === 0n) return undefined;
    const refuse = (reason: RefusalReason, message: string): never => {
      throw new JobRefusal(reason, message);
    };
    if (!requestsEscrow(request))
      refuse(
        'escrow-required',
        `dataset ${datasetId} charges ${own.ratePerRowRound} wei per row-round: the request must sign escrow terms (\`job create\`) and the buyer lock the price (\`job open\`)`,
      );
    const jobId = escrowJobId(request.buyer, `0x${requestDigest}`);
    let info: EscrowInfo;
    try {
      info = await chain.getEscrow(jobId);
    } catch (error) {
      if (error instanceof ContractRevertError && error.errorName === 'UnknownJob')
        return refuse(
          'escrow-not-open',
          `no escrow is open for this request (job ${jobId}): the buyer runs \`job open\``,
        );
      throw error;
    }
    const now = await chain.latestTimestamp();
    if (info.refunded) refuse('escrow-closed', `the escrow of job ${jobId} was refunded`);
    if (now >= info.runDeadline)
      refuse('escrow-closed', `the escrow's run deadline ${info.runDeadline} has passed (chain time ${now})`);
    const terms = await chain.escrowTerms(jobId);
    const h = terms.header;
    const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
    const fields: [string, boolean][] = [
      ['currency', same(h.currency, request.escrow.currency)],
      ['coordinator', same(h.coordinator, request.coordinator)],
      ['threshold', h.threshold === request.secagg.minContributors],
      ['rounds', h.rounds === request.rounds],
      ['runDeadline', h.runDeadline === request.escrow.runDeadline],
      ['confirmWindow', h.confirmWindow === request.escrow.confirmWindow],
      ['fallbackWindow', h.fallbackWindow === request.escrow.fallbackWindow],
      ['feeBps', h.feeBps === request.escrow.feeBps],
      ['requestDigest', terms.requestDigest.toLowerCase() === `0x${requestDigest}`],
    ];
    const differs = fields.filter(([, ok]) => !ok).map(([name]) => name);
    if (differs.length > 0)
      refuse('escrow-mismatch', `the escrow of job ${jobId} differs from the signed request in ${differs.join(', ')}`);
    // The request's datasets and licences, in the escrow's increasing-id order (its receipts' order).
    const signed = request.datasets
      .map((id, i) => `${id}:${request.licences[i]}`)
      .sort()
      .join(',');
    const pinned = terms.pinned
      .map((p, i) => `${p.datasetId}:${terms.licenceIds[i]}`)
      .sort()
      .join(',');
    if (signed !== pinned) refuse('escrow-mismatch', `the escrow of job ${jobId} pins other datasets or licences`);
    const index = terms.pinned.findIndex((p) => p.datasetId === datasetId);
    const mine = terms.pinned[index];
    const owner = await chain.ownerOf(datasetId);
    if (
      owner === undefined ||
      !same(mine.payee, owner) ||
      !same(mine.signer, own.siloSigner) ||
      mine.rate !== own.ratePerRowRound ||
      mine.rows !== own.rows
    )
      refuse(
        'escrow-mismatch',
        `the escrow pins dataset ${datasetId} at ${mine.rate} wei × ${mine.rows} rows, payee ${mine.payee}, signer ${mine.signer}; its owner's terms are now ${own.ratePerRowRound} wei × ${own.rows} rows, payee ${owner}, signer ${own.siloSigner}`,
      );
    const price = jobPrice(terms.pinned, h.rounds);
    if (info.locked !== price || terms.price !== price)
      refuse('escrow-mismatch', `the escrow locks ${info.locked} wei; the job's exact price is ${price}`);
    return { jobId, index, terms };
  }

  /** Before each round: the job's escrow, if any, still open and before its run deadline (ECONOMICS §2.6). */
  private async checkEscrowOpen(job: AdmittedJob): Promise<void> {
    if (!job.escrow) return;
    const [info, now] = await Promise.all([
      this.options.chain.getEscrow(job.escrow.jobId),
      this.options.chain.latestTimestamp(),
    ]);
    const closed = info.refunded
      ? `the escrow of job ${job.escrow.jobId} was refunded`
      : now >= info.runDeadline
        ? `the escrow's run deadline ${info.runDeadline} has passed (chain time ${now})`
        : undefined;
    if (closed !== undefined) {
      this.options.ledger.halt(job.licenceId, job.offer.jobId, `escrow-closed: ${closed}`);
      throw new JobRefusal('escrow-closed', closed);
    }
  }

  /**
   * Co-signs a job's receipt for one of this silo's datasets (issue 20, docs/ECONOMICS.md §2.3) after checking it
   * against what the silo saw itself, from its ledger and the chain only (so a silo restarted after the job signs
   * too): the escrow is the one of the request it admitted; the receipt's root, rounds per dataset and final model
   * digest are the transcript's; every round has ≥ t survivors; its own bit is set only in rounds it released a
   * masked input for, and set in every round it contributed to and evaluated as a contributor; each round's model
   * digest is the model it evaluated and the next round started from; ε is at least what its ledger booked. Signs
   * with the dataset's pinned silo signer key and keeps the signature (one receipt per job and dataset).
   */
  async signReceipt(req: ReceiptRequest): Promise<{ signature: string; escrowJobId: string }> {
    const refuse = (reason: RefusalReason, message: string): never => {
      throw new JobRefusal(reason, message);
    };
    const { ledger, chain } = this.options;
    const signer = this.options.receiptSigner;
    if (!signer) return refuse('receipt-refused', 'this silo has no receipt signer key');
    let receipt: JobReceipt;
    try {
      receipt = validateJobReceipt(req.receipt);
    } catch (error) {
      return refuse('receipt-mismatch', (error as Error).message);
    }
    const escrowId = receipt.jobId.toLowerCase();
    const licenceId = ledger.licenceOf(req.jobId);
    if (licenceId === undefined) refuse('receipt-refused', `this silo never admitted job ${req.jobId}`);
    const terms = await chain.escrowTerms(escrowId);
    if (terms.requestDigest.toLowerCase() !== `0x${req.jobId}`)
      refuse('receipt-refused', `escrow ${escrowId} is not the one of job ${req.jobId}`);
    const index = terms.pinned.findIndex((p) => p.datasetId === req.datasetId);
    if (index < 0) refuse('receipt-refused', `dataset ${req.datasetId} is not in escrow ${escrowId}`);
    const pinnedSigner = terms.pinned[index].signer;
    const address = await signer.getAddress();
    if (address.toLowerCase() !== pinnedSigner.toLowerCase())
      refuse('receipt-refused', `the escrow pins silo signer ${pinnedSigner}; this silo's key is ${address}`);

    const t = req.transcript;
    const n = terms.pinned.length;
    const mismatch = (message: string): never => refuse('receipt-mismatch', message);
    if (receipt.roundsCompleted !== t.length || t.length === 0 || t.length > terms.header.rounds)
      mismatch(
        `the receipt completes ${receipt.roundsCompleted} rounds; the transcript lists ${t.length} (R = ${terms.header.rounds})`,
      );
    t.forEach((r, k) => {
      if (r.round > terms.header.rounds || (k > 0 && r.round <= t[k - 1].round))
        mismatch(`transcript round ${r.round} is out of order or beyond R = ${terms.header.rounds}`);
      // SecAgg+: no released sum holds fewer than t inputs (ECONOMICS §2.3).
      if (new Set(r.survivors).size < terms.header.threshold || r.survivors.some((i) => i >= n))
        mismatch(
          `round ${r.round} lists ${r.survivors.length} survivors; a sum needs at least t = ${terms.header.threshold}`,
        );
    });
    if (transcriptRoot(escrowId, t) !== receipt.transcriptRoot.toLowerCase())
      mismatch('the transcript root is not the one the transcript hashes to');
    const counts = roundsByDatasetOf(n, t);
    if (counts.some((c, i) => c !== receipt.roundsByDataset[i]) || receipt.roundsByDataset.length !== n)
      mismatch(
        `roundsByDataset ${JSON.stringify(receipt.roundsByDataset)} is not the transcript's ${JSON.stringify(counts)}`,
      );
    if (t[t.length - 1].modelDigest.toLowerCase() !== receipt.modelDigest.toLowerCase())
      mismatch("the final model digest is not the last round's model");
    const digestOf = (hash: string) => `0x${hash}`.toLowerCase();
    t.forEach((r, k) => {
      const mine = r.survivors.includes(index);
      const trained = ledger.release(req.jobId, r.round, 'train');
      const evaluated = ledger.release(req.jobId, r.round, 'eval');
      if (mine && !trained) mismatch(`round ${r.round} counts this silo's input, but it released none in that round`);
      if (!mine && trained && evaluated)
        mismatch(`round ${r.round} leaves out this silo, which contributed and evaluated its model as a contributor`);
      if (evaluated && digestOf(evaluated.weightsHash) !== r.modelDigest.toLowerCase())
        mismatch(`round ${r.round}'s model is not the one this silo evaluated`);
      const next = t[k + 1] && ledger.release(req.jobId, t[k + 1].round, 'train');
      if (next && digestOf(next.weightsHash) !== r.modelDigest.toLowerCase())
        mismatch(`round ${r.round}'s model is not the one round ${t[k + 1].round} started from`);
    });
    const booked = ledger.entry(licenceId!, req.jobId)?.epsilon ?? 0;
    if (
      booked === Infinity
        ? receipt.epsilonSpentMilli !== EPSILON_UNBOUNDED_MILLI
        : receipt.epsilonSpentMilli < Math.floor(booked * 1000)
    )
      mismatch(`the receipt states ε = ${receipt.epsilonSpentMilli / 1000}; this silo booked ${booked}`);

    const domain = await chain.receiptDomain();
    const digest = hashJobReceipt(domain, receipt);
    const previous = ledger.signedReceipt(escrowId, req.datasetId);
    if (previous && previous.digest !== digest)
      refuse('receipt-refused', `this silo signed another receipt of job ${escrowId} already (${previous.digest})`);
    if (previous) return { signature: previous.signature, escrowJobId: escrowId };
    const signature = await signJobReceipt(signer, domain, receipt);
    ledger.recordReceiptSignature({
      escrowJobId: escrowId,
      datasetId: req.datasetId,
      jobId: req.jobId,
      digest,
      receipt,
      signature,
    });
    return { signature, escrowJobId: escrowId };
  }

  /**
   * Owner policy at admission (issue 11, Sybil through a self-dealing buyer): the request's datasets must have at
   * least `minIndependentOwners` distinct on-chain owners that are not the buyer nor request.coordinator, or
   * the coordinator could fill a round with inputs it knows and subtract them. Reads the chain only: refused before
   * any data is opened.
   */
  private async checkIndependentOwners(request: JobRequest, min: number): Promise<void> {
    const owners = await Promise.all(
      request.datasets.map((id) =>
        this.options.chain.ownerOf(id).then(
          (owner) => owner?.toLowerCase(),
          () => undefined,
        ),
      ),
    );
    const excluded = excludedOwners(request);
    const independent = new Set(owners.filter((o): o is string => o !== undefined && !excluded.has(o)));
    if (independent.size < min)
      throw new JobRefusal(
        'too-few-owners',
        `the request's datasets have ${independent.size} independent owner(s) (not the buyer or the coordinator); the owner requires ${min}`,
      );
  }

  get minIndependentOwners(): number {
    return this.options.minIndependentOwners ?? DEFAULT_MIN_INDEPENDENT_OWNERS;
  }

  /** The owner policy of an admitted job (see AdmittedJob.minOwners). */
  minOwnersOf(jobId: string): number {
    return this.job(jobId).minOwners;
  }

  /**
   * Reserves the job's slot and its whole planned ε in one ledger transaction: the ε after every release the job may
   * make, its statistics and one training update and one evaluation vector per signed round (see admittedEpsilon).
   */
  private reserveJob(
    jobId: string,
    licenceId: bigint,
    licence: LicenceInfo,
    epsilonAfter: (released: ReleaseCounts) => number,
    rounds: number,
  ): number {
    const plannedEpsilon = epsilonAfter(allReleases(rounds));
    const budget = epsilonFromMilli(licence.epsilonBudgetMilli);
    try {
      this.options.ledger.reserve(licenceId, jobId, plannedEpsilon, { maxJobs: licence.maxJobs, budget });
    } catch (error) {
      if (error instanceof LedgerRefusal) throw new JobRefusal(error.reason, error.message);
      throw error;
    }
    return plannedEpsilon;
  }

  /**
   * The SecAgg+ parameters this silo accepts for a run over `n` verified clients (libs/secagg deriveRoundParams):
   * k from n, t ≥ the job's minimum and the owner's `minIndependentOwners`. Remembers t: the DP noise share of the
   * next release is sized from it (never from a number the coordinator sends).
   */
  roundParams(jobId: string, n: number, kind: ReleaseKind): SecAggParams {
    const job = this.job(jobId);
    const { training, offer } = job;
    const params = deriveRoundParams({
      n,
      d: kind === 'train' ? job.dimension : 2,
      clip: kind === 'train' ? training.updateClip : EVAL_VECTOR_CLIP_SILO,
      maxWeight: training.maxWeight,
      minContributors: offer.request.secagg.minContributors,
      policyMinContributors: job.minOwners,
    });
    job.enforcedThreshold = params.t;
    return params;
  }

  /**
   * The SecAgg+ parameters of the job's statistics sum over `n` verified clients: d from the job schema, weight
   * bound 1 and the exact-level clip (libs/fl preprocess), t as for a round.
   */
  statisticsParams(jobId: string, n: number): SecAggParams {
    const job = this.job(jobId);
    const params = deriveRoundParams({
      n,
      d: statisticsLength(job.jobSchema),
      clip: STATS_CLIP,
      maxWeight: STATS_MAX_WEIGHT,
      minContributors: job.offer.request.secagg.minContributors,
      policyMinContributors: job.minOwners,
    });
    if (params.bits !== STATS_BITS)
      throw new JobRefusal('params-mismatch', `the statistics sum needs ${STATS_BITS} quantisation bits`);
    job.enforcedThreshold = params.t;
    return params;
  }

  /**
   * This silo's input to the job's statistics sum (issue 13 §4): its per-feature counts, Σx, Σx² and label counts,
   * weight 1. Without DP the exact figures. With DP (libs/fl statistics-dp): values clipped into the schema's signed
   * ranges and the whole Gaussian noise of the release added here, before masking, and the release booked on the
   * ledger (kind `statistics`, round 0) before it leaves. Over one client set per job: a second sum over other
   * clients could be differenced against the first; the same set again (a coordinator restart) gets the same
   * figures — the same noise draw, never a fresh one.
   */
  statisticsContribution(jobId: string, clients: readonly number[]): { update: Float32Array; weight: number } {
    const job = this.job(jobId);
    const set = [...clients].sort((a, b) => a - b).join(',');
    if (job.statisticsReleased !== undefined && job.statisticsReleased !== set)
      throw new JobRefusal(
        'bad-statistics',
        `this silo already contributed to job ${jobId}'s statistics over other clients (${job.statisticsReleased})`,
      );
    if (!job.dpPlan) {
      job.statisticsReleased = set;
      return statisticsInput(job.localStatistics, job.jobSchema);
    }
    if (!job.statisticsShare) {
      const share = privatizeStatistics(job.rawAll, job.jobSchema, job.dpPlan.statisticsNoiseMultiplier);
      // Booked before anything leaves; refused (replayed-round) when this silo released statistics for the job
      // before a restart: the noise it drew then is gone, and a second draw would average the noise down.
      this.book(job, { jobId, round: 0, kind: 'statistics', weightsHash: jobSchemaHash(job.jobSchema).slice(2) });
      job.statisticsShare = share;
    }
    job.statisticsReleased = set;
    return statisticsInput(job.statisticsShare, job.jobSchema);
  }

  /**
   * The global statistics, from the coordinator: checked against this silo's own (the sum cannot hold fewer rows,
   * label or value counts than this silo alone — without DP; noised sums can, so a DP job checks the layout only),
   * then every row is standardised, imputed and one-hot encoded.
   */
  setStatistics(jobId: string, stats: JobStatistics): InputEncoding {
    const job = this.job(jobId);
    const own = job.localStatistics;
    const below = job.dpPlan ? () => false : (a: number, b: number) => !(a >= b);
    const bad =
      below(stats.rows, own.rows) ||
      stats.labelCounts.length !== own.labelCounts.length ||
      own.labelCounts.some((c, i) => below(stats.labelCounts[i], c)) ||
      stats.features.length !== own.features.length ||
      own.features.some((f, j) => {
        const g = stats.features[j];
        if (f.type !== g.type) return true;
        if (f.type === 'numeric' && g.type === 'numeric') return below(g.count, f.count) || below(g.missing, f.missing);
        if (f.type === 'categorical' && g.type === 'categorical')
          return (
            g.levelCounts.length !== f.levelCounts.length || f.levelCounts.some((c, i) => below(g.levelCounts[i], c))
          );
        return true;
      });
    if (bad) throw new JobRefusal('bad-statistics', 'the summed statistics hold fewer rows or counts than this silo');
    const encoding = encodingFromStatistics(job.jobSchema, stats, { noisy: job.dpPlan !== undefined });
    job.encoding = encoding;
    job.train = encodeRows(job.raw.train, encoding);
    job.validation = encodeRows(job.raw.validation, encoding);
    const classes = job.jobSchema.classes.length;
    job.labelPriorRatio = job.record
      ? Array.from({ length: classes }, (_, c) => (job.heldClasses.includes(c) ? 1 : 0))
      : labelPriorRatio(labelCounts(job.raw.train.labels, classes), stats.labelCounts);
    return encoding;
  }

  /** The encoded rows of a job whose statistics arrived, else a refusal. */
  private encoded(job: AdmittedJob): { train: LocalData; validation: LocalData } {
    if (!job.train || !job.validation)
      throw new JobRefusal('no-statistics', "the job's feature statistics have not been summed yet");
    return { train: job.train, validation: job.validation };
  }

  /** Trains and privatises round `round`'s contribution and books it on the ledger (a release). */
  async trainRound(jobId: string, round: number, globalWeights: Float32Array): Promise<RoundContribution> {
    const prepared = await this.prepareRound(jobId, round, globalWeights);
    prepared.charge();
    return prepared.contribution;
  }

  /**
   * The silo's own checks before a round, without a chain read: the job not halted, the round in the signed
   * 1..rounds and not yet released, and the global weights the model this silo evaluated for the previous round
   * (else the coordinator swapped the model: the rest of the job is refused).
   */
  checkRoundLocally(jobId: string, round: number, kind: ReleaseKind, weights: Float32Array): void {
    const job = this.job(jobId);
    const { request } = job.offer;
    const ledger = this.options.ledger;
    const halted = ledger.halted(job.licenceId, jobId);
    if (halted) throw new JobRefusal('job-halted', `this silo refuses the rest of job ${jobId}: ${halted}`);
    if (!Number.isInteger(round) || round < 1 || round > request.rounds)
      throw new JobRefusal('round-out-of-range', `round ${round} is outside the signed 1..${request.rounds}`);
    if (ledger.release(jobId, round, kind))
      throw new JobRefusal('replayed-round', `round ${round} (${kind}) of job ${jobId} was already released`);
    if (kind === 'eval' && !ledger.release(jobId, round, 'train'))
      throw new JobRefusal('wrong-model', `round ${round} is evaluated only after this silo contributed to it`);
    const evaluated = kind === 'train' && round > 1 ? ledger.release(jobId, round - 1, 'eval') : undefined;
    if (evaluated && evaluated.weightsHash !== hashWeights(weights)) {
      const message = `round ${round}'s global model differs from the model round ${round - 1} produced (evaluated by this silo)`;
      ledger.halt(job.licenceId, jobId, `wrong-model: ${message}`);
      throw new JobRefusal('wrong-model', message);
    }
  }

  /**
   * checkRoundLocally, then the licence read on chain again (holder, expiry, revocation): a licence revoked or
   * expired mid-job halts it.
   */
  async checkRound(jobId: string, round: number, kind: ReleaseKind, weights: Float32Array): Promise<void> {
    this.checkRoundLocally(jobId, round, kind, weights);
    const job = this.job(jobId);
    const { request } = job.offer;
    const ledger = this.options.ledger;
    const check = await this.options.chain.checkLicenceById(job.licenceId, job.offer.datasetId, request.buyer);
    if (!check.valid) {
      const reason = check.reason === 'not-found' ? 'no-licence' : (check.reason as RefusalReason);
      const message = `licence ${job.licenceId} is no longer valid: ${check.reason}`;
      ledger.halt(job.licenceId, jobId, `${reason}: ${message}`);
      throw new JobRefusal(reason, message);
    }
    await this.checkEscrowOpen(job);
  }

  /**
   * Trains and privatises round `round`'s contribution without booking it yet: `charge()` books the release on the
   * ledger (throwing `replayed-round` when this round was already released, even before a restart) and must run
   * before the update leaves the silo. So a silo can train while the SecAgg+ key stages run, and a round that aborts
   * before its masked input costs nothing.
   */
  async prepareRound(
    jobId: string,
    round: number,
    globalWeights: Float32Array,
  ): Promise<{ readonly contribution: RoundContribution; charge(): void }> {
    const job = this.job(jobId);
    const { training } = job;
    await this.checkRound(jobId, round, 'train', globalWeights);
    const weightsHash = hashWeights(globalWeights);
    const result = await trainLocal({
      modelSpec: job.offer.modelSpec,
      globalWeights,
      data: this.encoded(job).train,
      epochs: training.epochs,
      batchSize: training.batchSize,
      optimizer: training.optimizer,
      learningRate: training.learningRate,
      // Signed: μ is 0 unless the strategy is fedprox (libs/protocol jobRequestJsonSchema).
      fedProxMu: training.fedProxMu ?? 0,
      ...(job.labelPriorRatio ? { labelPriorRatio: job.labelPriorRatio } : {}),
      // Fresh randomness: a round re-run (aborted before its release) must not reproduce the same update.
      seed: `${jobId}/${round}/${job.offer.datasetId}/${randomBytes(16).toString('hex')}`,
      // Record level: DP-SGD (per-example clip C, N(0, σ²C²) per step; lots and noise from node:crypto).
      ...(job.record ? { dp: { noiseMultiplier: job.dp.noiseMultiplier, clipNorm: job.dp.clipNorm } } : {}),
    });
    // Owner level: the whole update is the unit of privacy. Record level: the update is already DP for every row.
    const noisy = job.dp.noiseMultiplier > 0 && !job.record;
    let update = result.update;
    if (job.record) {
      // Nothing to add: the SecAgg+ quantiser clips each coordinate to the signed update clip (post-processing).
    } else if (noisy) {
      update = privatizeUpdate(update, { ...job.dp, minContributors: this.enforcedThreshold(job) }).noised;
    } else if (job.dp.clipNorm > 0) {
      update = clipL2(update, job.dp.clipNorm).clipped;
    }
    // Owner-level DP: every owner weighs 1 (sensitivity C per owner). Otherwise FedAvg weighs by the training
    // sample count, which follows from the public manifest's row count (record level treats it as public, as
    // DP-SGD's expected lot size qN does).
    const contribution = {
      update,
      weight: noisy ? 1 : result.numSamples,
      numSamples: result.numSamples,
      loss: result.loss,
      epsilon: this.options.ledger.entry(job.licenceId, jobId)?.epsilon ?? 0,
    };
    const charge = () => {
      const booked = this.book(job, { jobId, round, kind: 'train', weightsHash });
      (contribution as { epsilon: number }).epsilon = booked.epsilon;
    };
    return { contribution, charge };
  }

  /**
   * Federated evaluation of round `round`'s model, gated (issue 11, evaluation as an oracle): only for a round this
   * silo contributed to, at most once per round (booked like a training release), and the weights' hash is recorded
   * so the next round's global model must be this very model. The input is the evalVector; with DP it is noised
   * like an update: weight 1 and N(0, σ²·2/t) per coordinate (the vector lies in [−1, 1]², L2 sensitivity √2), one
   * Gaussian release of noise multiplier σ, composed with the training releases.
   */
  async prepareEvaluation(
    jobId: string,
    round: number,
    weights: Float32Array,
  ): Promise<{ input(params: Pick<SecAggParams, 'maxWeight' | 't'>): SecAggInput; charge(): void }> {
    const job = this.job(jobId);
    await this.checkRound(jobId, round, 'eval', weights);
    const weightsHash = hashWeights(weights);
    const sums = await evaluateLocal(job.offer.modelSpec, weights, this.encoded(job).validation);
    return {
      input: (params) => {
        if (job.record) return recordLevelEvalInput(sums, params.maxWeight, job.record.evalNoiseMultiplier);
        const plain = evalVector(sums, params.maxWeight);
        if (!(job.dp.noiseMultiplier > 0)) return plain;
        const std = noiseShareStd(job.dp.noiseMultiplier, Math.SQRT2, params.t);
        return { update: addGaussianNoise(plain.update, std), weight: 1 };
      },
      charge: () => void this.book(job, { jobId, round, kind: 'eval', weightsHash }),
    };
  }

  private book(job: AdmittedJob, release: Parameters<EpsilonLedger['book']>[1]) {
    try {
      return this.options.ledger.book(job.licenceId, release, (released) => admittedEpsilon(job, released));
    } catch (error) {
      if (error instanceof LedgerRefusal) throw new JobRefusal(error.reason, error.message);
      throw error;
    }
  }

  private enforcedThreshold(job: AdmittedJob): number {
    // Without SecAgg+ every update is released on its own: it carries the whole noise.
    if (!job.offer.request.secagg.enabled) return 1;
    const t = job.enforcedThreshold;
    if (t === undefined)
      throw new JobRefusal('params-mismatch', 'no SecAgg+ threshold derived from a verified roster for this job');
    return t;
  }

  /** Local evaluation on the held-out split: counts and sums, for in-process callers (not reachable by the wire). */
  evaluate(jobId: string, weights: Float32Array): Promise<EvalSums> {
    const job = this.job(jobId);
    return evaluateLocal(job.offer.modelSpec, weights, this.encoded(job).validation);
  }

  finish(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** The admitted job, or undefined. */
  jobOf(jobId: string): AdmittedJob | undefined {
    return this.jobs.get(jobId);
  }

  private job(jobId: string): AdmittedJob {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`job ${jobId} was not admitted by this silo`);
    return job;
  }
}

/** The evaluation vector's quantiser clip (libs/fl EVAL_VECTOR_CLIP; the coordinator uses the same). */
const EVAL_VECTOR_CLIP_SILO = EVAL_VECTOR_CLIP;

/** Addresses never counted as independent owners: the buyer and the coordinator the buyer signed for. */
export function excludedOwners(request: JobRequest): Set<string> {
  return new Set([request.buyer.toLowerCase(), request.coordinator.toLowerCase()]);
}

/** sha-256 of a weight vector's float32 bytes: the identity of a model the silo evaluated or trained on. */
/** The digest the ledger books per model (libs/fl weightsDigest: SHA-256, hex). */
export const hashWeights = weightsDigest;

/**
 * ε a job has cost after `released` releases of each kind (libs/fl datasetEpsilon, the one computation the buyer's
 * planner and the coordinator's provenance use too): the statistics, training and evaluation releases composed in
 * the RDP accountant; Infinity without noise.
 */
export function admittedEpsilon(job: Pick<AdmittedJob, 'dpPlan'>, released: ReleaseCounts): number {
  return datasetEpsilon(job.dpPlan, released);
}

/** The job's DP plan for this dataset (libs/fl planDatasetDp); undefined without noise. */
function planOf(
  dp: AdmittedJob['dp'],
  schedule: { rounds: number; trainRows: number; batchSize: number; localEpochs: number },
): DatasetDpPlan | undefined {
  return planDatasetDp({
    level: dp.level,
    noiseMultiplier: dp.noiseMultiplier,
    delta: dp.delta,
    ...schedule,
  });
}

/** The rows at `indices` (ascending), copied: values, missing mask and labels. */
function selectRaw(raw: RawRows, indices: ArrayLike<number>, F: number): RawRows {
  const values = new Float64Array(indices.length * F);
  const missing = new Uint8Array(indices.length * F);
  const labels = new Int32Array(indices.length);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j];
    values.set(raw.values.subarray(i * F, (i + 1) * F), j * F);
    missing.set(raw.missing.subarray(i * F, (i + 1) * F), j * F);
    labels[j] = raw.labels[i];
  }
  return { rows: indices.length, values, missing, labels };
}
