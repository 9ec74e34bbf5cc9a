// The coordinator's REST and progress responses, declared once: the coordinator builds them, the CLI reads them.
import type { JobRequestJson } from './job.js';
import type { JobSchema, JobSchemaPlan } from './job-schema.js';
import type { ModelBundleMetadata } from './model-bundle.js';

export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** `GET /jobs/:id` (and the items of `GET /jobs`). */
export interface JobView {
  id: string;
  buyer: string;
  status: JobStatus;
  reasonCode: string | null;
  reason: string | null;
  rounds: number;
  /** Rounds completed. */
  currentRound: number;
  request: JobRequestJson;
  /** The signed `request.recipient`, for convenience. */
  recipient: string;
  modelSpec: Record<string, unknown>;
  /** The job schema the buyer signed the hash of (features, levels, class order). */
  jobSchema: JobSchema;
  /** Accuracy of always predicting the most frequent class (securely summed label counts); null before round 1. */
  majorityBaseline: number | null;
  /** The job's escrow settlement (issue 20); null for a job without escrow or before its receipt was collected. */
  settlement: JobSettlementView | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * A job receipt the coordinator collected and settled (issue 20): the receipt, the silo signatures (dataset id →
 * signature; also a `job settle --receipts` bundle), the silos that refused and why, and the settle transaction.
 */
export interface JobSettlementView {
  /** JobEscrow's job id (keccak256(buyer, request digest)). */
  escrowJobId: string;
  receipt: {
    jobId: string;
    roundsCompleted: number;
    modelDigest: string;
    modelCidDigest: string;
    transcriptRoot: string;
    roundsByDataset: number[];
    epsilonSpentMilli: number;
    valuationDigest: string;
  };
  coordinatorSignature: string;
  siloSignatures: Record<string, string>;
  /** Dataset id → why its silo did not sign (refusal reason, no answer, bad signature). */
  unsigned: Record<string, string>;
  /** The settle transaction, when sent; `error` when it failed (the bundle still settles later, by anyone). */
  txHash: string | null;
  /** Paid by the settle transaction, in wei (decimal). */
  paidWei: string | null;
  error: string | null;
  settledAt: string;
  /** Silos that signed after the job's end (offline at collection, back later), each settled on its own. */
  lateSettlements?: { datasetId: string; txHash: string; paidWei: string }[];
}

/** One progress report (WebSocket `/jobs/:id/progress`). */
export interface JobProgressView {
  readonly jobId: string;
  readonly status: JobStatus;
  /** The round in progress (1-based), 0 before the first. */
  readonly round: number;
  readonly rounds: number;
  /** SecAgg+/round stage name, e.g. `advertise-keys`, `masked-input`, `evaluate`, `committed`. */
  readonly stage: string;
  readonly participants: number;
  readonly dropouts: number;
  readonly loss?: number;
  readonly accuracy?: number;
  /** Accuracy of always predicting the most frequent class: federated accuracy must beat it. */
  readonly majorityBaseline?: number;
  readonly reason?: string;
  readonly at: number;
}

/** A finished round, as `GET /jobs/:id/rounds` lists it under `rounds`. */
export interface RoundView {
  readonly round: number;
  /** `abandoned`: interrupted (its coordinator was lost) after silos may have released their inputs; never re-run. */
  readonly status: 'completed' | 'aborted' | 'abandoned';
  readonly participants: number;
  readonly dropouts: number;
  readonly loss: number | null;
  readonly accuracy: number | null;
  readonly reason: string | null;
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** `GET /models/:jobId`: the delivered model (age ciphertext at `cid`) and the bundle's metadata. */
export interface ModelRecordView {
  readonly jobId: string;
  readonly cid: string;
  readonly recipient: string;
  readonly bytes: number;
  /** SHA-256 of the ciphertext (hex). */
  readonly sha256: string;
  readonly txHash: string | null;
  readonly metadata: ModelBundleMetadata;
  readonly createdAt: string;
}

/**
 * A job's ModelRegistry record as read from the chain now (`GET /models/:jobId/provenance`): the contract's
 * `modelOf(coordinator, jobId)`; `matchesDelivery` says whether its CID is the delivered model's.
 */
export interface ModelProvenanceView {
  readonly jobId: string;
  readonly chainId: string;
  /** The ModelRegistry contract read. */
  readonly registry: string;
  /** The account that recorded it (records are keyed by their writer). */
  readonly coordinator: string;
  readonly modelCid: string;
  readonly datasetIds: readonly string[];
  readonly rounds: number;
  /** ε·1000 rounded up; EPSILON_UNBOUNDED_MILLI when the job added no DP noise. */
  readonly epsilonSpentMilli: number;
  /** Block timestamp (Unix seconds). */
  readonly recordedAt: number;
  readonly matchesDelivery: boolean;
}

/** A silo's registration in a job, as `GET /jobs/:id/rounds` lists it under `participants`. */
export interface ParticipantView {
  readonly datasetId: string;
  readonly clientId: number;
  readonly silo: string;
  readonly accepted: boolean;
  readonly reason: string | null;
}

/** `GET /jobs/:id/rounds`. */
export interface JobRoundsView {
  readonly rounds: readonly RoundView[];
  readonly participants: readonly ParticipantView[];
}

/** `GET /info`: who the coordinator is. Chain values are decimal strings; null without a chain. */
export interface InfoView {
  readonly coordinatorId: string;
  readonly chainId: string | null;
  readonly domain: { name: string; version: string; chainId: string; verifyingContract: string } | null;
  readonly coordinatorAddress: string | null;
  readonly wire: { path: string; subprotocol: string; version: number; maxFrameBytes: number };
  /** The embedded dev chain: POST /dev/faucet and /dev/rpc exist and the web app offers a dev wallet. */
  readonly devWallet: boolean;
  readonly silos: readonly { address: string; datasets: readonly string[] }[];
}

/** `GET /jobs/plan?datasets=1,2,3`: the job schema of those datasets, what the buyer signs the hash of. */
export interface JobPlanView {
  readonly datasets: readonly string[];
  readonly schema: JobSchemaPlan['schema'];
  /** bytes32: JobRequest.jobSchemaHash. */
  readonly hash: string;
  /** Width of the model input the schema encodes to (numeric: 1, categorical: one per level). */
  readonly inputWidth: number;
  readonly dropped: JobSchemaPlan['dropped'];
  readonly missingClasses: JobSchemaPlan['missingClasses'];
}
