// The buyer's job request: what gets signed (EIP-712, libs/chain eip712.ts) and what travels as JSON.
// Integers that may exceed 2^53 (uint64/uint256) travel as decimal strings in JSON and are bigint in memory.
// DP parameters and training hyper-parameters are fixed-point integers so that the signed message is exact (no float
// encoding in EIP-712). Everything a silo acts on is inside the signed request (docs/ARCHITECTURE.md, JobRequest v3).
import { z } from 'zod';
import { SealfoldError } from './errors.js';

/** Fixed-point scales of the DP parameters. */
export const DP_NOISE_SCALE = 1_000; // noise multiplier σ in thousandths
export const DP_CLIP_SCALE = 1_000_000; // clipping norm C in millionths
export const DP_DELTA_SCALE = 10n ** 18n; // δ in units of 1e-18
/** Fixed-point scale of the training hyper-parameters lr, FedProx μ and the update clip c (millionths). */
export const TRAINING_MICRO_SCALE = 1_000_000;
export const JOB_MAX_ROUNDS = 10_000;
export const JOB_MAX_LOCAL_EPOCHS = 1000;
export const JOB_MAX_BATCH_SIZE = 65_536;
/** lr ≤ 10. */
export const JOB_MAX_LEARNING_RATE_MICRO = 10n * BigInt(TRAINING_MICRO_SCALE);
/** μ ≤ 100. */
export const JOB_MAX_FEDPROX_MU_MICRO = 100n * BigInt(TRAINING_MICRO_SCALE);
/** c ≤ 10^6. */
export const JOB_MAX_UPDATE_CLIP_MICRO = 1_000_000n * BigInt(TRAINING_MICRO_SCALE);
export const JOB_MAX_WEIGHT = 1_000_000;
/** SecAgg+ needs t > k/2 with k ≥ 3, so no released sum may hold fewer than 3 owners' inputs. */
export const JOB_MIN_CONTRIBUTORS = 3;
/** t ≤ k ≤ 255 (Shamir over GF(2^8), libs/secagg MAX_NEIGHBOURHOOD). */
export const JOB_MAX_CONTRIBUTORS = 255;
export const JOB_OPTIMIZERS = ['sgd', 'adam'] as const;
export type JobOptimizer = (typeof JOB_OPTIMIZERS)[number];
/** FedProx μ when the buyer names none. */
export const DEFAULT_FEDPROX_MU = 0.01;
/** One silo per dataset: a SecAgg+ round of 1000 owners fits (bench scale, issue 16 §3). */
export const JOB_MAX_DATASETS = 1024;

export const UINT32_MAX = 0xffff_ffff;
export const UINT64_MAX = 2n ** 64n - 1n;
export const UINT256_MAX = 2n ** 256n - 1n;

export { EPSILON_UNBOUNDED_MILLI, epsilonFromMilli, epsilonToMilli } from './epsilon.js';

/**
 * The aggregation strategies a job may sign (JobRequest.strategy): what a coordinator runs and a silo admits. Their
 * server steps and state codec live in libs/fl strategies.ts. FedProx differs from FedAvg only on the client.
 */
export const STRATEGY_NAMES = ['fedavg', 'fedprox', 'fedadam'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
export const isStrategyName = (name: string): name is StrategyName =>
  (STRATEGY_NAMES as readonly string[]).includes(name);

/**
 * What a job's DP protects (docs/ARCHITECTURE.md, "What each level protects"):
 * - `record`: DP-SGD inside each silo (per-example clip C, noise σC per step); ε per dataset from the sampled-Gaussian
 *   accountant at δ < 1/rows. Hides any one row.
 * - `owner`: each owner's whole update clipped to C, noise shared across ≥ t owners. Hides whether an owner took part.
 */
export const DP_LEVELS = ['record', 'owner'] as const;
export type DpLevel = (typeof DP_LEVELS)[number];
/** The level signed when the buyer names none (cross-silo practice: record level). */
export const DEFAULT_DP_LEVEL: DpLevel = 'record';

/**
 * Differential-privacy parameters as signed: σ·1000, C·10^6, δ·10^18 and the level. noiseMultiplierMilli 0 means no
 * DP noise (the level then changes nothing).
 */
export interface JobDpParams {
  readonly noiseMultiplierMilli: number;
  readonly clipNormMicro: bigint;
  readonly deltaAtto: bigint;
  readonly level: DpLevel;
}

/** Local training settings as signed: lr, μ and c in millionths. */
export interface JobTraining {
  readonly localEpochs: number;
  readonly batchSize: number;
  /** lr · 10^6, > 0, lr ≤ 10. */
  readonly learningRateMicro: bigint;
  readonly optimizer: JobOptimizer;
  /** FedProx μ · 10^6; 0 unless the strategy is `fedprox`. */
  readonly fedProxMuMicro: bigint;
  /** Per-coordinate clip c of the update before SecAgg+ quantisation, · 10^6, > 0. */
  readonly updateClipMicro: bigint;
  /** SecAgg+ bound on a silo's sample-count weight. */
  readonly maxWeight: number;
}

/** The buyer's secure-aggregation terms. */
export interface JobSecAggTerms {
  /** false = plain aggregation (the coordinator sees every update; silos refuse unless their owner allows it). */
  readonly enabled: boolean;
  /** The fewest owners whose inputs any released sum may contain (a lower bound on the SecAgg+ threshold t). */
  readonly minContributors: number;
}

/**
 * The per-job escrow terms the buyer signs (issue 20, docs/ECONOMICS.md §2.2): JobEscrow pins exactly these at
 * `open`, with the request's coordinator, t = secagg.minContributors and rounds, and a silo whose dataset charges a
 * job rate trains only if the escrow on chain holds them (apps/silo job-runner `checkEscrow`). `NO_ESCROW` (all zero)
 * signs a job over datasets that charge no job rate: a silo whose dataset does charge refuses it.
 */
export interface JobEscrowTerms {
  /** The currency of the job's price: the zero address for ETH. */
  readonly currency: string;
  /**
   * Unix seconds when the run must be over: the escrow header's `runDeadline` exactly (absolute, so a silo compares
   * the on-chain header field by field). 0 = no escrow.
   */
  readonly runDeadline: bigint;
  /** Seconds after the run deadline in which the coordinator confirms receipts (1 d – 30 d). */
  readonly confirmWindow: number;
  /** Seconds after that in which t silos settle without the coordinator (1 d – 30 d). */
  readonly fallbackWindow: number;
  /** The protocol fee on each payment, in basis points: JobEscrow's `feeBps` (≤ 1000). */
  readonly feeBps: number;
}

export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';
/** JobEscrow's bounds (MIN_WINDOW, MAX_WINDOW, MAX_FEE_BPS, MAX_RUN_SECONDS). */
export const ESCROW_MIN_WINDOW = 86_400;
export const ESCROW_MAX_WINDOW = 30 * 86_400;
export const ESCROW_MAX_FEE_BPS = 1_000;
export const ESCROW_MAX_RUN_SECONDS = 90 * 86_400;
/** JobEscrow's MAX_DATASETS: its signer and paid masks are one word, so an escrowed job has at most 256 datasets. */
export const ESCROW_MAX_DATASETS = 256;
/** Defaults `job create` signs: run 1 day, coordinator window 1 day, fallback 2 days. */
export const DEFAULT_ESCROW_RUN_SECONDS = 86_400;
export const DEFAULT_CONFIRM_WINDOW = 86_400;
export const DEFAULT_FALLBACK_WINDOW = 2 * 86_400;

/** The terms of a job that opens no escrow (every dataset charges no job rate; licences alone grant access). */
export const NO_ESCROW: JobEscrowTerms = Object.freeze({
  currency: ZERO_ADDRESS,
  runDeadline: 0n,
  confirmWindow: 0,
  fallbackWindow: 0,
  feeBps: 0,
});

/** Whether the request signs escrow terms (runDeadline ≠ 0) rather than `NO_ESCROW`. */
export const requestsEscrow = (req: Pick<JobRequest, 'escrow'>): boolean => req.escrow.runDeadline !== 0n;

/**
 * Escrow terms for a run of `runSeconds` from `now` (unix seconds), with the windows and the fee given (the fee
 * must be the deployed JobEscrow's `feeBps`). ETH unless `currency` is given.
 */
export function jobEscrowTerms(p: {
  now: bigint;
  feeBps: number;
  runSeconds?: number;
  confirmWindow?: number;
  fallbackWindow?: number;
  currency?: string;
}): JobEscrowTerms {
  const run = p.runSeconds ?? DEFAULT_ESCROW_RUN_SECONDS;
  if (!Number.isInteger(run) || run < 1 || run > ESCROW_MAX_RUN_SECONDS)
    throw new RangeError(`the run time must be whole seconds in [1, ${ESCROW_MAX_RUN_SECONDS}] (90 days)`);
  const terms: JobEscrowTerms = {
    currency: p.currency ?? ZERO_ADDRESS,
    runDeadline: p.now + BigInt(run),
    confirmWindow: p.confirmWindow ?? DEFAULT_CONFIRM_WINDOW,
    fallbackWindow: p.fallbackWindow ?? DEFAULT_FALLBACK_WINDOW,
    feeBps: p.feeBps,
  };
  const parsed = jobEscrowTermsJsonSchema.safeParse(jobEscrowTermsToJson(terms));
  if (!parsed.success)
    throw new RangeError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

/** `rate × rows × rounds` per dataset, summed (ECONOMICS §2.7): what a job locks at open, and what a full receipt pays. */
export function jobPrice(datasets: readonly { rate: bigint; rows: bigint }[], rounds: number): bigint {
  return datasets.reduce((sum, d) => sum + d.rate * d.rows * BigInt(rounds), 0n);
}

/**
 * Whether a job over datasets with these job rates (wei per row-round, read on chain) is paid: `'free'` when none
 * charges, `'paid'` when all do. A mix cannot be escrowed (JobEscrow pins a rate for every dataset): a SealfoldError
 * MIXED_JOB_RATES, refused before anything is signed (`job create` and the web app's New job page).
 */
export function jobRateKind(rates: readonly { id: bigint; rate: bigint }[]): 'free' | 'paid' {
  const charging = rates.filter((r) => r.rate > 0n);
  if (charging.length === 0) return 'free';
  if (charging.length < rates.length)
    throw new SealfoldError(
      'MIXED_JOB_RATES',
      `datasets ${charging.map((r) => r.id).join(', ')} charge a job rate and ${rates
        .filter((r) => r.rate === 0n)
        .map((r) => r.id)
        .join(', ')} do not: a job's escrow pins a rate for every dataset, so run them as separate jobs`,
    );
  return 'paid';
}

export interface JobRequest {
  /** Ethereum address of the buyer (0x + 40 hex). */
  readonly buyer: string;
  /** The coordinator account that runs the job (GET /info coordinatorAddress). */
  readonly coordinator: string;
  /** Dataset token ids; `licences[i]` is the licence token covering `datasets[i]`. */
  readonly datasets: readonly bigint[];
  readonly licences: readonly bigint[];
  /** bytes32 hash of the model specification (0x + 64 hex). */
  readonly modelSpecHash: string;
  /**
   * bytes32 keccak256 of the job schema (job-schema.ts jobSchemaHash): the features, their order and levels, and
   * the class order every silo maps its rows onto. A silo refuses a schema whose hash differs or that it cannot map.
   */
  readonly jobSchemaHash: string;
  /** age recipient the final model is encrypted to (`age1…` X25519 or `age1pq1…` hybrid). */
  readonly recipient: string;
  /** Aggregation strategy name, e.g. `fedavg`. */
  readonly strategy: string;
  readonly rounds: number;
  readonly training: JobTraining;
  readonly dp: JobDpParams;
  readonly secagg: JobSecAggTerms;
  /** The job's escrow terms, or `NO_ESCROW`. */
  readonly escrow: JobEscrowTerms;
  readonly nonce: bigint;
  /** Unix seconds after which the request is no longer valid. */
  readonly deadline: bigint;
  readonly chainId: bigint;
}

const decimal = (max: bigint, what: string) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]*)$/, `${what} must be a decimal integer string`)
    .transform((s) => BigInt(s))
    .refine((v) => v <= max, `${what} out of range`);

export const jobDpParamsJsonSchema = z
  .object({
    noiseMultiplierMilli: z.number().int().min(0).max(UINT32_MAX),
    clipNormMicro: decimal(UINT64_MAX, 'clipNormMicro'),
    deltaAtto: decimal(UINT64_MAX, 'deltaAtto'),
    level: z.enum(DP_LEVELS).default(DEFAULT_DP_LEVEL),
  })
  .strict()
  .refine((d) => d.deltaAtto < DP_DELTA_SCALE, { message: 'delta must be below 1', path: ['deltaAtto'] })
  .refine((d) => d.noiseMultiplierMilli === 0 || d.clipNormMicro > 0n, {
    message: 'a noisy job needs a positive clipping norm',
    path: ['clipNormMicro'],
  });

const positiveDecimal = (max: bigint, what: string) =>
  decimal(max, what).refine((v) => v > 0n, `${what} must be positive`);

/**
 * An age recipient (https://age-encryption.org/v1, Bech32 per BIP 173 charset): X25519 `age1` + 58 data characters,
 * or a hybrid post-quantum `age1pq1…` recipient (longer Bech32, up to 2500 characters in all).
 */
export const AGE_RECIPIENT_MAX_LENGTH = 2500;
export const ageRecipientSchema = z
  .string()
  .max(AGE_RECIPIENT_MAX_LENGTH, 'recipient is too long')
  .regex(
    /^(age1[02-9ac-hj-np-z]{58}|age1pq1[02-9ac-hj-np-z]{6,})$/,
    'recipient must be an age recipient (age1… X25519 or age1pq1… hybrid, lower-case Bech32)',
  );

export const jobTrainingJsonSchema = z
  .object({
    localEpochs: z.number().int().min(1).max(JOB_MAX_LOCAL_EPOCHS),
    batchSize: z.number().int().min(1).max(JOB_MAX_BATCH_SIZE),
    learningRateMicro: positiveDecimal(JOB_MAX_LEARNING_RATE_MICRO, 'learningRateMicro'),
    optimizer: z.enum(JOB_OPTIMIZERS),
    fedProxMuMicro: decimal(JOB_MAX_FEDPROX_MU_MICRO, 'fedProxMuMicro'),
    updateClipMicro: positiveDecimal(JOB_MAX_UPDATE_CLIP_MICRO, 'updateClipMicro'),
    maxWeight: z.number().int().min(1).max(JOB_MAX_WEIGHT),
  })
  .strict();

export const jobSecAggTermsJsonSchema = z
  .object({
    enabled: z.boolean(),
    minContributors: z.number().int().min(JOB_MIN_CONTRIBUTORS).max(JOB_MAX_CONTRIBUTORS),
  })
  .strict();

const addressSchema = (what: string) => z.string().regex(/^0x[0-9a-fA-F]{40}$/, `${what} must be an address`);

const windowSchema = (what: string) =>
  z
    .number()
    .int()
    .min(0)
    .max(ESCROW_MAX_WINDOW, `${what} is at most 30 days`)
    .refine((w) => w === 0 || w >= ESCROW_MIN_WINDOW, `${what} must be at least 1 day (wide enough for retries)`);

/** JSON form of the escrow terms: all zero (`NO_ESCROW`), or a run deadline with both windows set. */
export const jobEscrowTermsJsonSchema = z
  .object({
    currency: addressSchema('escrow.currency'),
    runDeadline: decimal(2n ** 40n - 1n, 'runDeadline'),
    confirmWindow: windowSchema('confirmWindow'),
    fallbackWindow: windowSchema('fallbackWindow'),
    feeBps: z.number().int().min(0).max(ESCROW_MAX_FEE_BPS),
  })
  .strict()
  .refine(
    (e) =>
      e.runDeadline === 0n
        ? e.confirmWindow === 0 && e.fallbackWindow === 0 && e.feeBps === 0 && /^0x0{40}$/.test(e.currency)
        : e.confirmWindow > 0 && e.fallbackWindow > 0,
    { message: 'escrow terms are all zero (no escrow) or a run deadline with both windows' },
  );

export const jobEscrowTermsToJson = (e: JobEscrowTerms) => ({
  currency: e.currency,
  runDeadline: e.runDeadline.toString(),
  confirmWindow: e.confirmWindow,
  fallbackWindow: e.fallbackWindow,
  feeBps: e.feeBps,
});

/** JSON form of a JobRequest (bigints as decimal strings); parses into a `JobRequest`. */
export const jobRequestJsonSchema = z
  .object({
    buyer: addressSchema('buyer'),
    coordinator: addressSchema('coordinator'),
    datasets: z.array(decimal(UINT256_MAX, 'dataset id')).min(1).max(JOB_MAX_DATASETS),
    licences: z.array(decimal(UINT256_MAX, 'licence id')).min(1).max(JOB_MAX_DATASETS),
    modelSpecHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'modelSpecHash must be 32 bytes hex'),
    jobSchemaHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'jobSchemaHash must be 32 bytes hex'),
    recipient: ageRecipientSchema,
    strategy: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'strategy must be a lower-case name'),
    rounds: z.number().int().min(1).max(JOB_MAX_ROUNDS),
    training: jobTrainingJsonSchema,
    dp: jobDpParamsJsonSchema,
    secagg: jobSecAggTermsJsonSchema,
    escrow: jobEscrowTermsJsonSchema,
    nonce: decimal(UINT256_MAX, 'nonce'),
    deadline: decimal(UINT64_MAX, 'deadline'),
    chainId: decimal(UINT256_MAX, 'chainId').refine((v) => v > 0n, 'chainId must be positive'),
  })
  .strict()
  .refine((r) => r.datasets.length === r.licences.length, {
    message: 'one licence per dataset',
    path: ['licences'],
  })
  .refine((r) => new Set(r.datasets.map(String)).size === r.datasets.length, {
    message: 'datasets must be distinct',
    path: ['datasets'],
  })
  .refine((r) => r.escrow.runDeadline === 0n || r.datasets.length <= ESCROW_MAX_DATASETS, {
    message: `an escrowed job has at most ${ESCROW_MAX_DATASETS} datasets (JobEscrow's MAX_DATASETS)`,
    path: ['datasets'],
  })
  .refine((r) => r.strategy === 'fedprox' || r.training.fedProxMuMicro === 0n, {
    message: 'fedProxMuMicro must be 0 unless the strategy is fedprox',
    path: ['training', 'fedProxMuMicro'],
  });

export type JobRequestJson = z.input<typeof jobRequestJsonSchema>;

/** Parses and validates the JSON form; throws a ZodError naming the bad field. */
export function parseJobRequest(json: unknown): JobRequest {
  return jobRequestJsonSchema.parse(json);
}

export function jobRequestToJson(req: JobRequest): JobRequestJson {
  return {
    buyer: req.buyer,
    coordinator: req.coordinator,
    datasets: req.datasets.map(String),
    licences: req.licences.map(String),
    modelSpecHash: req.modelSpecHash,
    jobSchemaHash: req.jobSchemaHash,
    recipient: req.recipient,
    strategy: req.strategy,
    rounds: req.rounds,
    training: {
      localEpochs: req.training.localEpochs,
      batchSize: req.training.batchSize,
      learningRateMicro: req.training.learningRateMicro.toString(),
      optimizer: req.training.optimizer,
      fedProxMuMicro: req.training.fedProxMuMicro.toString(),
      updateClipMicro: req.training.updateClipMicro.toString(),
      maxWeight: req.training.maxWeight,
    },
    dp: {
      noiseMultiplierMilli: req.dp.noiseMultiplierMilli,
      clipNormMicro: req.dp.clipNormMicro.toString(),
      deltaAtto: req.dp.deltaAtto.toString(),
      level: req.dp.level,
    },
    secagg: { enabled: req.secagg.enabled, minContributors: req.secagg.minContributors },
    escrow: jobEscrowTermsToJson(req.escrow),
    nonce: req.nonce.toString(),
    deadline: req.deadline.toString(),
    chainId: req.chainId.toString(),
  };
}

/** Converts float DP parameters to the signed fixed-point form, rounding to the nearest unit (level: record). */
export function dpParamsFromFloats(p: {
  noiseMultiplier: number;
  clipNorm: number;
  delta: number;
  level?: DpLevel;
}): JobDpParams {
  const finite = (v: number, what: string) => {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${what} must be a finite non-negative number`);
  };
  finite(p.noiseMultiplier, 'noiseMultiplier');
  finite(p.clipNorm, 'clipNorm');
  finite(p.delta, 'delta');
  if (p.delta >= 1) throw new RangeError('delta must be below 1');
  const noiseMultiplierMilli = Math.round(p.noiseMultiplier * DP_NOISE_SCALE);
  if (noiseMultiplierMilli > UINT32_MAX) throw new RangeError('noiseMultiplier too large');
  const clipNormMicro = BigInt(Math.round(p.clipNorm * DP_CLIP_SCALE));
  if (clipNormMicro > UINT64_MAX) throw new RangeError('clipNorm too large');
  const deltaAtto = BigInt(Math.round(p.delta * 1e18));
  const level = p.level ?? DEFAULT_DP_LEVEL;
  if (!(DP_LEVELS as readonly string[]).includes(level))
    throw new RangeError(`DP level must be one of ${DP_LEVELS.join(', ')}`);
  return { noiseMultiplierMilli, clipNormMicro, deltaAtto, level };
}

export function dpParamsToFloats(dp: JobDpParams): {
  noiseMultiplier: number;
  clipNorm: number;
  delta: number;
  level: DpLevel;
} {
  return {
    noiseMultiplier: dp.noiseMultiplierMilli / DP_NOISE_SCALE,
    clipNorm: Number(dp.clipNormMicro) / DP_CLIP_SCALE,
    delta: Number(dp.deltaAtto) / 1e18,
    level: dp.level,
  };
}

/** Training settings as floats (what libs/fl and libs/secagg take). */
export interface TrainingFloats {
  readonly localEpochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: JobOptimizer;
  readonly fedProxMu: number;
  readonly updateClip: number;
  readonly maxWeight: number;
}

/** A float as a fixed-point count of millionths, rounded to the nearest; refuses what the schema would refuse. */
function toMicro(v: number, what: string, max: bigint, positive: boolean): bigint {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${what} must be a finite non-negative number`);
  const micro = BigInt(Math.round(v * TRAINING_MICRO_SCALE));
  if (positive && micro === 0n) throw new RangeError(`${what} must be at least 1e-6`);
  if (micro > max) throw new RangeError(`${what} must be at most ${Number(max) / TRAINING_MICRO_SCALE}`);
  return micro;
}

function boundedInt(v: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`${what} must be an integer in [${min}, ${max}]`);
  return v;
}

/** Converts float training settings to the signed fixed-point form (lr, μ, c rounded to millionths). */
export function trainingFromFloats(t: TrainingFloats): JobTraining {
  if (!(JOB_OPTIMIZERS as readonly string[]).includes(t.optimizer))
    throw new RangeError(`optimizer must be one of ${JOB_OPTIMIZERS.join(', ')}`);
  return {
    localEpochs: boundedInt(t.localEpochs, 'localEpochs', 1, JOB_MAX_LOCAL_EPOCHS),
    batchSize: boundedInt(t.batchSize, 'batchSize', 1, JOB_MAX_BATCH_SIZE),
    learningRateMicro: toMicro(t.learningRate, 'learningRate', JOB_MAX_LEARNING_RATE_MICRO, true),
    optimizer: t.optimizer,
    fedProxMuMicro: toMicro(t.fedProxMu, 'fedProxMu', JOB_MAX_FEDPROX_MU_MICRO, false),
    updateClipMicro: toMicro(t.updateClip, 'updateClip', JOB_MAX_UPDATE_CLIP_MICRO, true),
    maxWeight: boundedInt(t.maxWeight, 'maxWeight', 1, JOB_MAX_WEIGHT),
  };
}

export function trainingToFloats(t: JobTraining): TrainingFloats {
  return {
    localEpochs: t.localEpochs,
    batchSize: t.batchSize,
    learningRate: Number(t.learningRateMicro) / TRAINING_MICRO_SCALE,
    optimizer: t.optimizer,
    fedProxMu: Number(t.fedProxMuMicro) / TRAINING_MICRO_SCALE,
    updateClip: Number(t.updateClipMicro) / TRAINING_MICRO_SCALE,
    maxWeight: t.maxWeight,
  };
}

/**
 * Defaults the CLI (`job create --help` shows them) and the tests sign when the buyer names nothing: 1 epoch,
 * batch 32, Adam at its usual lr 0.001 (Kingma & Ba 2015, §2), no FedProx term, clip 1, max weight 10000.
 */
export const DEFAULT_TRAINING: TrainingFloats = Object.freeze({
  localEpochs: 1,
  batchSize: 32,
  learningRate: 0.001,
  optimizer: 'adam',
  fedProxMu: 0,
  updateClip: 1,
  maxWeight: 10_000,
});

/** Signed training settings from `DEFAULT_TRAINING` with `overrides` applied. */
export const jobTraining = (overrides: Partial<TrainingFloats> = {}): JobTraining =>
  trainingFromFloats({ ...DEFAULT_TRAINING, ...overrides });
