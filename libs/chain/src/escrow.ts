// Per-job escrow (JobEscrow) and models as licensed derivatives (ModelAsset), docs/ECONOMICS.md §2: the typed values
// the client passes and returns, the signature bundle a settlement carries, and the parents' Merkle proof.
import { AbiCoder, ZeroAddress, getAddress, isHexString, keccak256 } from 'ethers';
import type { JobRequest } from '@sealfold/protocol';
import { InvalidArgumentError } from './errors.js';
import { validateJobReceipt, type JobReceipt } from './job-receipt.js';

/** JobEscrow.Header: the terms of a job besides its datasets. Windows and the run deadline in (unix) seconds. */
export interface EscrowHeader {
  /** Zero address: ETH (the only currency this client opens jobs in). */
  currency: string;
  coordinator: string;
  /** SecAgg threshold t: silo signatures the fallback path and model registration need. */
  threshold: number;
  rounds: number;
  runDeadline: bigint;
  confirmWindow: number;
  fallbackWindow: number;
  feeBps: number;
}

/** JobEscrow.Pinned: a dataset's job terms as pinned at open. Its index in the job is its bit in receipts. */
export interface PinnedDataset {
  datasetId: bigint;
  payee: string;
  signer: string;
  rate: bigint;
  rows: bigint;
  derivativesAllowed: boolean;
  derivativeShareMicros: number;
}

/** A job's terms exactly as pinned (their hash is the job's `termsHash`), from the open transaction. */
export interface EscrowTerms {
  jobId: string;
  requestDigest: string;
  buyer: string;
  header: EscrowHeader;
  /** Datasets in job order (strictly increasing ids): receipts' `roundsByDataset` follows it. */
  pinned: PinnedDataset[];
  licenceIds: bigint[];
  price: bigint;
  openTx: string;
  openBlock: bigint;
}

/** A job as JobEscrow stores it. */
export interface EscrowInfo {
  jobId: string;
  buyer: string;
  currency: string;
  locked: bigint;
  paid: bigint;
  termsHash: string;
  runDeadline: bigint;
  /** The coordinator's window ends here (`runDeadline + confirmWindow`); settlement at `settleEnd`. */
  settleEnd: bigint;
  datasetCount: number;
  /** Job indices already paid. */
  paidIndices: number[];
  refunded: boolean;
}

/** DatasetNFT job terms, as an owner sets them (`setJobTerms`). */
export interface JobTermsInput {
  /** Wei per row per round; 0 offers no paid jobs. */
  ratePerRowRound: bigint;
  /** The dataset's row count (its manifest's); set once. */
  rows: bigint;
  derivativesAllowed?: boolean;
  /** Share of a derivative model's licence sales owed upstream, 1e6 = 100% (≤ 500,000). */
  derivativeShareMicros?: number;
  /** The silo key that co-signs receipts; default: the owner. */
  siloSigner?: string;
  /** Zero address (default): ETH. */
  currency?: string;
}

export interface JobTerms extends Required<JobTermsInput> {
  /** The dataset's owner now (the payee a job opened now would pin). */
  owner: string;
}

/**
 * The signatures over one receipt: the coordinator's (normal path) and each silo's, keyed by dataset id. This is
 * also the JSON file `job settle --receipts` reads (see `parseReceiptBundle`).
 */
export interface ReceiptBundle {
  receipt: JobReceipt;
  coordinatorSignature?: string;
  /** Dataset id (decimal) → 65-byte signature of its pinned silo signer. */
  siloSignatures: Record<string, string>;
}

/** One dataset's pay in a job (`ContributionPaid`): `amount` before the fee, `net` credited to the payee. */
export interface ContributionPayment {
  jobId: string;
  datasetId: bigint;
  payee: string;
  rounds: number;
  amount: bigint;
  fee: bigint;
  net: bigint;
  txHash: string;
  blockNumber: bigint;
}

/** A model registered from a job (ModelAsset; id = the job id as a number). */
export interface ModelAssetInfo {
  modelId: bigint;
  owner: string;
  parentsRoot: string;
  /** Licence sales so far (wei). */
  gross: bigint;
  /** Licence price in wei; 0: not for sale. */
  price: bigint;
  /** Σ of the parents' shares, micros (1e6 = 100%). */
  stackMicros: number;
}

export interface ModelParent {
  datasetId: bigint;
  shareMicros: number;
}

const UINT32_MAX = 2 ** 32 - 1;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

function bad(message: string): never {
  throw new InvalidArgumentError(message);
}

/**
 * Validates a receipt bundle (parsed JSON or built in code): receipt fields as JobEscrow checks them, 65-byte hex
 * signatures, decimal dataset ids. Numbers may be given as JSON numbers or decimal strings.
 */
export function parseReceiptBundle(json: unknown, source = 'receipts'): ReceiptBundle {
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isRecord(json)) bad(`${source}: not a JSON object with "receipt" and "siloSignatures"`);
  const r = json.receipt;
  if (!isRecord(r)) bad(`${source}: "receipt" must be an object`);
  const int = (v: unknown, what: string): number => {
    const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > UINT32_MAX)
      bad(`${source}: receipt.${what} must be an integer in [0, 2^32)`);
    return n;
  };
  if (!Array.isArray(r.roundsByDataset)) bad(`${source}: receipt.roundsByDataset must be an array`);
  const hex32 = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || !isHexString(v, 32)) bad(`${source}: receipt.${what} must be 32 bytes of hex`);
    return v.toLowerCase();
  };
  let receipt: JobReceipt;
  try {
    receipt = validateJobReceipt({
      jobId: hex32(r.jobId, 'jobId'),
      roundsCompleted: int(r.roundsCompleted, 'roundsCompleted'),
      modelDigest: hex32(r.modelDigest, 'modelDigest'),
      modelCidDigest: hex32(r.modelCidDigest, 'modelCidDigest'),
      transcriptRoot: hex32(r.transcriptRoot, 'transcriptRoot'),
      roundsByDataset: (r.roundsByDataset as unknown[]).map((v, i) => int(v, `roundsByDataset[${i}]`)),
      epsilonSpentMilli: int(r.epsilonSpentMilli, 'epsilonSpentMilli'),
      valuationDigest: hex32(r.valuationDigest, 'valuationDigest'),
    });
  } catch (cause) {
    if (cause instanceof InvalidArgumentError && !cause.message.startsWith(source))
      throw new InvalidArgumentError(`${source}: ${cause.message}`, { cause });
    throw cause;
  }
  const coordinator = json.coordinatorSignature;
  if (
    coordinator !== undefined &&
    coordinator !== null &&
    (typeof coordinator !== 'string' || !SIGNATURE.test(coordinator))
  )
    bad(`${source}: coordinatorSignature must be 65 bytes of hex (0x + 130 digits)`);
  const silos = json.siloSignatures ?? {};
  if (!isRecord(silos)) bad(`${source}: "siloSignatures" must be an object of dataset id → signature`);
  const siloSignatures: Record<string, string> = {};
  for (const [id, sig] of Object.entries(silos)) {
    if (!/^[1-9][0-9]*$/.test(id)) bad(`${source}: siloSignatures key "${id}" is not a dataset id`);
    if (typeof sig !== 'string' || !SIGNATURE.test(sig))
      bad(`${source}: siloSignatures["${id}"] must be 65 bytes of hex (0x + 130 digits)`);
    siloSignatures[id] = sig.toLowerCase();
  }
  if (Object.keys(siloSignatures).length === 0 && typeof coordinator !== 'string')
    bad(`${source}: no signature at all (coordinatorSignature or siloSignatures)`);
  return {
    receipt,
    ...(typeof coordinator === 'string' ? { coordinatorSignature: coordinator.toLowerCase() } : {}),
    siloSignatures,
  };
}

/** Checks an owner's job terms as DatasetNFT.setJobTerms does, before anything is sent. */
export function normaliseJobTerms(t: JobTermsInput): Required<JobTermsInput> {
  const uint = (v: unknown, what: string, bits: number): bigint => {
    if (typeof v !== 'bigint' || v < 0n || v >= 1n << BigInt(bits)) bad(`${what} must be a uint${bits}`);
    return v;
  };
  const rows = uint(t.rows, 'rows', 64);
  if (rows === 0n) bad('rows must be at least 1 (the dataset’s row count)');
  const derivativesAllowed = t.derivativesAllowed ?? false;
  const share = t.derivativeShareMicros ?? 0;
  if (!Number.isInteger(share) || share < 0 || share > 500_000)
    bad(`derivativeShareMicros must be an integer in [0, 500000] (50%), got ${share}`);
  if (!derivativesAllowed && share !== 0) bad('a derivative share needs derivativesAllowed');
  const address = (v: string | undefined, what: string) => {
    try {
      return getAddress(v ?? ZeroAddress);
    } catch (cause) {
      throw new InvalidArgumentError(`${what} is not a valid address: ${String(v)}`, { cause });
    }
  };
  return {
    ratePerRowRound: uint(t.ratePerRowRound, 'ratePerRowRound', 96),
    rows,
    derivativesAllowed,
    derivativeShareMicros: share,
    siloSigner: address(t.siloSigner, 'siloSigner'),
    currency: address(t.currency, 'currency'),
  };
}

export const headerTuple = (h: EscrowHeader) => [
  h.currency,
  h.coordinator,
  h.threshold,
  h.rounds,
  h.runDeadline,
  h.confirmWindow,
  h.fallbackWindow,
  h.feeBps,
];

/**
 * The escrow header a signed request pins (JobEscrow.Header): its escrow terms exactly, with its coordinator, SecAgg
 * threshold t = secagg.minContributors and rounds — the fields each silo compares with the chain (job-runner
 * `checkEscrow`).
 */
export function escrowHeaderOf(request: JobRequest): EscrowHeader {
  return {
    currency: request.escrow.currency,
    coordinator: request.coordinator,
    threshold: request.secagg.minContributors,
    rounds: request.rounds,
    runDeadline: request.escrow.runDeadline,
    confirmWindow: request.escrow.confirmWindow,
    fallbackWindow: request.escrow.fallbackWindow,
    feeBps: request.escrow.feeBps,
  };
}

/**
 * A job's (dataset, licence) pairs in JobEscrow's order: strictly increasing dataset ids (`open` reverts
 * DatasetIdsNotSorted otherwise), which is also their order in receipts. A dataset given twice is refused.
 */
export function jobOrder<T extends { datasetId: bigint }>(pairs: readonly T[]): T[] {
  const sorted = [...pairs].sort((a, b) => (a.datasetId < b.datasetId ? -1 : a.datasetId > b.datasetId ? 1 : 0));
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i].datasetId === sorted[i - 1].datasetId) bad(`dataset ${sorted[i].datasetId} appears twice`);
  return sorted;
}

export const pinnedTuple = (p: PinnedDataset) => [
  p.datasetId,
  p.payee,
  p.signer,
  p.rate,
  p.rows,
  p.derivativesAllowed,
  p.derivativeShareMicros,
];

export const receiptTuple = (r: JobReceipt) => [
  r.jobId,
  r.roundsCompleted,
  r.modelDigest,
  r.modelCidDigest,
  r.transcriptRoot,
  [...r.roundsByDataset],
  r.epsilonSpentMilli,
  r.valuationDigest,
];

/** The escrow's job id of `buyer`'s request: keccak256(abi.encode(buyer, requestDigest)), as JobEscrow.jobIdOf. */
export function escrowJobId(buyer: string, requestDigest: string): string {
  if (!isHexString(requestDigest, 32)) bad('requestDigest must be 32 bytes of hex');
  return keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'bytes32'], [getAddress(buyer), requestDigest]));
}

/** A parent's leaf in a model's parents root: keccak256(keccak256(abi.encode(datasetId, shareMicros))) (ModelAsset). */
export function parentLeaf(p: ModelParent): string {
  return keccak256(keccak256(AbiCoder.defaultAbiCoder().encode(['uint256', 'uint32'], [p.datasetId, p.shareMicros])));
}

/** keccak256 of the sorted pair (OpenZeppelin Hashes.commutativeKeccak256). */
function hashPair(a: string, b: string): string {
  const [x, y] = BigInt(a) < BigInt(b) ? [a, b] : [b, a];
  return keccak256('0x' + x.slice(2) + y.slice(2));
}

/**
 * The Merkle root of `leaves` and the proof of leaf `index`, built as ModelAsset._merkleRoot builds the tree: pairs
 * hashed commutatively level by level, an odd last node carried up unchanged (so it adds no proof element).
 */
export function merkleProof(leaves: readonly string[], index: number): { root: string; proof: string[] } {
  if (leaves.length === 0) bad('a Merkle tree needs at least one leaf');
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) bad(`leaf index ${index} out of range`);
  let level = [...leaves];
  let i = index;
  const proof: string[] = [];
  while (level.length > 1) {
    const sibling = i ^ 1;
    if (sibling < level.length) proof.push(level[sibling]);
    const next: string[] = [];
    for (let j = 0; j + 1 < level.length; j += 2) next.push(hashPair(level[j], level[j + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
    i >>= 1;
  }
  return { root: level[0], proof };
}
