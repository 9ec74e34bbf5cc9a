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
  /**
   * The contracts a web wallet reads and calls: DatasetNFT (each dataset's job terms) and JobEscrow (a paid job's
   * escrow, `open`); jobEscrow is null on a deployment made before issue 20. Null without a chain.
   */
  readonly contracts: { readonly datasetNFT: string; readonly jobEscrow: string | null } | null;
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

// ---------------------------------------------------------------------------------------------------------------
// Job escrows and model assets (issue 20): wei amounts are decimal strings, times Unix seconds, job and model ids
// 0x + 64 hex (a model's id is the id of the job that trained it).

/** Where a job's escrow stands on the chain's clock (docs/ECONOMICS.md §2.6). */
export type EscrowPhase = 'running' | 'confirming' | 'fallback' | 'refundable' | 'closed';

/** One dataset of a job escrow: its terms pinned at open and what it was paid. */
export interface EscrowDatasetView {
  /** Its bit in receipts. */
  index: number;
  datasetId: string;
  licenceId: string;
  payee: string;
  signer: string;
  ratePerRowRound: string;
  rows: string;
  /** rate × rows × rounds: the most it can be paid. */
  maxPay: string;
  derivativesAllowed: boolean;
  derivativeShareMicros: number;
  paid: boolean;
  /** Rounds it was paid for, and the amount (before the fee), fee and net; null until paid. */
  roundsPaid: number | null;
  amount: string | null;
  fee: string | null;
  net: string | null;
  txHash: string | null;
}

/** `GET /escrow/jobs/:jobId`: a job's escrow, read on chain now. */
export interface EscrowJobView {
  jobId: string;
  buyer: string;
  /** 0x000…0: ETH. */
  currency: string;
  phase: EscrowPhase;
  locked: string;
  paid: string;
  /** Credited back to the buyer when the job closed; null while open. */
  refunded: string | null;
  coordinator: string;
  threshold: number;
  rounds: number;
  feeBps: number;
  /** The run ends at `runDeadline`; the coordinator confirms before `confirmEnd`; t silos alone before `settleEnd`. */
  windows: { runDeadline: number; confirmEnd: number; settleEnd: number; chainTime: number };
  datasets: EscrowDatasetView[];
  requestDigest: string;
  openTx: string;
  openBlock: number;
}

/** A job that paid an owner, with each of its datasets' payments. */
export interface EarningsJobView {
  jobId: string;
  amount: string;
  fee: string;
  net: string;
  datasets: { datasetId: string; rounds: number; amount: string; fee: string; net: string; txHash: string }[];
  /** The model the job trained, once registered (ModelAsset; its id is the job id). */
  modelId: string | null;
}

/** `GET /escrow/earnings/:address`: an owner's pay per job (indexed events) and what it may withdraw (chain now). */
export interface EarningsView {
  address: string;
  jobs: EarningsJobView[];
  /** Σ net over the jobs. */
  totalNet: string;
  /** Royalties credited from models' upstream pots (UpstreamClaimed). */
  royalties: { modelId: string; datasetId: string; amount: string; txHash: string }[];
  /** Read on chain now: JobEscrow (pay and refunds) and ModelAsset (sales and royalties); withdraw with `sealfold withdraw`. */
  withdrawable: { jobEscrow: string; modelAsset: string; total: string };
  /** The index covers blocks before this one (a payment in a later block is not listed yet). */
  indexedToBlock: string | null;
}

/** `GET /escrow/models/:modelId`: a registered model, its parents and royalties, read on chain now. */
export interface ModelAssetView {
  modelId: string;
  owner: string;
  /** Licence price (wei); "0": not for sale. */
  price: string;
  /** Licence sales so far. */
  gross: string;
  /** Σ of the parents' shares, micros (1e6 = 100%). */
  stackMicros: number;
  /** ⌊gross × stack / 10⁶⌋: routed to the parents so far. */
  upstreamPot: string;
  receiptDigest: string;
  parentsRoot: string;
  parents: {
    datasetId: string;
    shareMicros: number;
    /** The dataset's owner now (who a claim credits). */
    owner: string;
    /** Taken from the pot so far, and still claimable (`sealfold model claim`). */
    claimed: string;
    due: string;
  }[];
  /** Licence sales (indexed events), oldest first. */
  sales: { buyer: string; price: string; fee: string; upstream: string; txHash: string; blockNumber: number }[];
}
