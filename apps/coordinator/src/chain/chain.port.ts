// What the coordinator needs from the chain, as a narrow port. The adapter (chain.adapter.ts) implements it on
// @sealfold/chain; the coordinator never talks to contracts directly.
import type {
  ContributionPayment,
  EscrowInfo,
  EscrowTerms,
  JobReceipt,
  ModelAssetInfo,
  ModelParent,
  ReceiptBundle,
  SealfoldDomain,
} from '@sealfold/chain';
import type { TypedDataDomain } from 'ethers';

export const COORDINATOR_CHAIN = Symbol('COORDINATOR_CHAIN');

export type LicenceFailureCode =
  | 'NO_LICENCE'
  | 'LICENCE_NOT_HOLDER'
  | 'LICENCE_WRONG_DATASET'
  | 'LICENCE_EXPIRED'
  | 'LICENCE_REVOKED'
  | 'LICENCE_EXHAUSTED';

export type LicenceCheck =
  { readonly valid: true } | { readonly valid: false; readonly code: LicenceFailureCode; readonly reason: string };

/** Where an indexer keeps its position (the next block to read). */
export interface ChainCursor {
  load(): Promise<bigint | undefined>;
  save(nextBlock: bigint): Promise<void>;
}

/** Token ids whose on-chain state changed in a batch of blocks (read their current state with get*). */
export interface ChainChanges {
  readonly datasets: readonly bigint[];
  readonly licences: readonly bigint[];
  readonly toBlock: bigint;
}

export interface ChainDataset {
  readonly datasetId: bigint;
  readonly owner: string;
  readonly manifestCid: string;
  readonly tokenUri: string;
}

export interface ChainLicence {
  readonly licenceId: bigint;
  readonly datasetId: bigint;
  readonly holder: string;
  /** Unix seconds; 0 = never expires. */
  readonly expiresAt: bigint;
  readonly maxJobs: number;
  readonly epsilonBudgetMilli: number;
  readonly revoked: boolean;
}

/** A dataset's listing as DatasetNFT.termsOf returns it, with the hash a purchase pins (DatasetNFT.termsHashOf). */
export interface ChainTerms {
  readonly priceWei: bigint;
  readonly paymentToken: string;
  readonly priceToken: bigint;
  /** Seconds; 0 = the licence never expires. */
  readonly licenceDuration: bigint;
  readonly maxJobs: number;
  readonly epsilonBudgetMilli: number;
  /** What ε protects: 'record' (any one row) or 'owner' (the whole dataset); the owner's silo trains only this. */
  readonly dpLevel: 'record' | 'owner';
  readonly minOwners: number;
  readonly royaltyBps: number;
  readonly listed: boolean;
  readonly termsHash: string;
}

export interface ModelProvenance {
  readonly jobId: string;
  readonly modelCid: string;
  readonly datasets: readonly bigint[];
  readonly rounds: number;
  /** ε spent, in thousandths (fixed point, as on chain). */
  readonly epsilonSpentMilli: number;
}

export interface RecordedModel extends ModelProvenance {
  readonly registry: string;
  readonly coordinator: string;
  /** Block timestamp, Unix seconds. */
  readonly recordedAt: number;
}

/** Where an event was logged (its id in the chain: transaction hash and log index). */
interface LogPosition {
  readonly blockNumber: bigint;
  readonly txHash: string;
  readonly logIndex: number;
}

/**
 * A JobEscrow or ModelAsset event (issue 20) as the coordinator indexes it. Job and model ids are 0x + 64 hex (a
 * model's id is its job's); amounts are wei; `fee` of a payment is ⌊amount × feeBps / 10⁴⌋ (the contract's).
 */
export type EscrowEvent = LogPosition &
  (
    | {
        readonly kind: 'JobOpened';
        readonly jobId: string;
        readonly buyer: string;
        readonly requestDigest: string;
        readonly termsHash: string;
        readonly locked: bigint;
        readonly runDeadline: bigint;
      }
    | {
        readonly kind: 'ContributionPaid';
        readonly jobId: string;
        readonly datasetId: bigint;
        readonly payee: string;
        readonly rounds: number;
        readonly amount: bigint;
        readonly fee: bigint;
      }
    | { readonly kind: 'JobRefunded'; readonly jobId: string; readonly buyer: string; readonly amount: bigint }
    | {
        readonly kind: 'ModelRegistered';
        readonly modelId: string;
        readonly owner: string;
        readonly receiptDigest: string;
        readonly parentsRoot: string;
        readonly stackMicros: number;
        readonly parentCount: number;
      }
    | {
        readonly kind: 'ModelLicenceSold';
        readonly modelId: string;
        readonly buyer: string;
        readonly owner: string;
        readonly price: bigint;
        readonly fee: bigint;
        readonly upstream: bigint;
      }
    | {
        readonly kind: 'UpstreamClaimed';
        readonly modelId: string;
        readonly datasetId: bigint;
        readonly account: string;
        readonly amount: bigint;
      }
  );

/** A job's escrow read on chain now: stored state, pinned terms, payments and refund from its logs. */
export interface EscrowJob {
  readonly info: EscrowInfo;
  readonly terms: EscrowTerms;
  readonly payments: readonly ContributionPayment[];
  readonly refund: { readonly amount: bigint; readonly txHash: string } | undefined;
  /** The latest block's timestamp (Unix seconds): the clock the windows are measured on. */
  readonly chainTime: bigint;
}

/** A registered model read on chain now, with its parents and what each may still claim. */
export interface ModelAssetRead {
  readonly model: ModelAssetInfo;
  readonly receiptDigest: string;
  readonly upstreamPot: bigint;
  readonly parents: readonly (ModelParent & { owner: string; taken: bigint; due: bigint })[];
}

export interface CoordinatorChain {
  readonly chainId: bigint;
  /** EIP-712 domain that job requests are signed in. */
  readonly domain: SealfoldDomain;
  /** The coordinator's wallet (signs ModelRegistry records; needs COORDINATOR_ROLE and gas). */
  readonly coordinatorAddress: string | undefined;
  /** Contracts a browser reads and calls through its wallet: job terms (DatasetNFT) and JobEscrow.open (GET /info). */
  readonly contracts: { readonly datasetNFT: string; readonly jobEscrow: string | undefined };
  /** Is `licenceId` a licence for `datasetId`, held by `holder`, unexpired and unrevoked (checked on chain now)? */
  checkLicence(holder: string, datasetId: bigint, licenceId: bigint): Promise<LicenceCheck>;
  /** Current owner of a dataset token, or undefined when it does not exist. */
  ownerOf(datasetId: bigint): Promise<string | undefined>;
  getDataset(datasetId: bigint): Promise<ChainDataset>;
  getLicence(licenceId: bigint): Promise<ChainLicence>;
  /** The dataset's current listing (read on chain now); throws when the dataset does not exist. */
  getTerms(datasetId: bigint): Promise<ChainTerms>;
  /** Reads events from `cursor` to the head; the handler runs per batch, the cursor moves after it (at-least-once). */
  syncChanges(cursor: ChainCursor, handler: (changes: ChainChanges) => Promise<void>): Promise<void>;
  /** Whether the deployment has JobEscrow and ModelAsset (issue 20); the escrow reads throw NOT_DEPLOYED otherwise. */
  readonly escrowDeployed: boolean;
  /** The dataset's job rate (wei per row and round, its owner's job terms read now; 0 when it charges none). */
  jobRate(datasetId: bigint): Promise<bigint>;
  /** Reads JobEscrow and ModelAsset events from `cursor` to the head, batch by batch (at-least-once). */
  syncEscrow(
    cursor: ChainCursor,
    handler: (events: readonly EscrowEvent[], toBlock: bigint) => Promise<void>,
  ): Promise<void>;
  /** A job's escrow (id 0x + 64 hex), read now; undefined when no job has this id. */
  escrowJob(jobId: string): Promise<EscrowJob | undefined>;
  /** What `account` may withdraw now from JobEscrow (pay, refunds) and ModelAsset (licence sales, upstream). */
  escrowOwed(account: string): Promise<{ jobEscrow: bigint; modelAsset: bigint }>;
  /** A registered model (id 0x + 64 hex), read now; undefined when none has this id. */
  modelAsset(modelId: string): Promise<ModelAssetRead | undefined>;
  /** Writes the provenance record through ModelRegistry; returns the transaction hash. */
  recordModel(record: ModelProvenance): Promise<string>;
  /** This coordinator's ModelRegistry record of `jobId` (64 hex), read on chain now; undefined when none. */
  readModel(jobId: string): Promise<RecordedModel | undefined>;
  /**
   * Issue 20: the escrow JobEscrow holds for the buyer's request (`requestDigest` 64 hex), its terms rebuilt from
   * chain; undefined when none was opened or no JobEscrow is deployed.
   */
  escrowOf(buyer: string, requestDigest: string): Promise<{ info: EscrowInfo; terms: EscrowTerms } | undefined>;
  /** The EIP-712 domain of JobEscrow receipts. */
  receiptDomain(): Promise<TypedDataDomain>;
  /** Signs a receipt with the coordinator's key (its confirmation, the normal path). */
  signReceipt(receipt: JobReceipt): Promise<string>;
  /** Settles an escrow with a receipt bundle; returns the transaction and what it paid per dataset. */
  settleJob(
    escrowJobId: string,
    bundle: ReceiptBundle,
  ): Promise<{ txHash: string; paidWei: bigint; payments: { datasetId: bigint; rounds: number; amount: bigint }[] }>;
  close(): Promise<void>;
}
