// EIP-712 typed data of the JobReceipt the silos co-sign and JobEscrow verifies (docs/ECONOMICS.md §2.3,
// https://eips.ethereum.org/EIPS/eip-712). Domain: name "Sealfold", version "1", the chain id and the JobEscrow
// address as verifyingContract, so a signature never verifies on another job, chain or deployment. The contract's
// type string is `JobReceipt(bytes32 jobId,uint32 roundsCompleted,bytes32 modelDigest,bytes32 modelCidDigest,
// bytes32 transcriptRoot,uint32[] roundsByDataset,uint32 epsilonSpentMilli,bytes32 valuationDigest)`.
import {
  AbiCoder,
  TypedDataEncoder,
  getAddress,
  isHexString,
  keccak256,
  recoverAddress,
  type Signer,
  type TypedDataDomain,
} from 'ethers';
import { InvalidArgumentError, SignatureError } from './errors.js';

export const JOB_RECEIPT_DOMAIN_NAME = 'Sealfold';
export const JOB_RECEIPT_DOMAIN_VERSION = '1';

export const JOB_RECEIPT_TYPES = {
  JobReceipt: [
    { name: 'jobId', type: 'bytes32' },
    { name: 'roundsCompleted', type: 'uint32' },
    { name: 'modelDigest', type: 'bytes32' },
    { name: 'modelCidDigest', type: 'bytes32' },
    { name: 'transcriptRoot', type: 'bytes32' },
    { name: 'roundsByDataset', type: 'uint32[]' },
    { name: 'epsilonSpentMilli', type: 'uint32' },
    { name: 'valuationDigest', type: 'bytes32' },
  ],
} as const;

/** A job's transcript as silos sign it; `roundsByDataset[i]` is the rounds dataset i (request order) contributed to. */
export interface JobReceipt {
  readonly jobId: string;
  readonly roundsCompleted: number;
  readonly modelDigest: string;
  readonly modelCidDigest: string;
  readonly transcriptRoot: string;
  readonly roundsByDataset: readonly number[];
  readonly epsilonSpentMilli: number;
  readonly valuationDigest: string;
}

const TYPES = { JobReceipt: JOB_RECEIPT_TYPES.JobReceipt.map((f) => ({ ...f })) };
const UINT32_MAX = 2 ** 32 - 1;

/** The receipt domain of the JobEscrow at `escrow` on chain `chainId`. */
export function jobReceiptDomain(chainId: bigint | number, escrow: string): TypedDataDomain {
  const id = BigInt(chainId);
  if (id <= 0n) throw new InvalidArgumentError(`invalid chain id ${chainId}`);
  let verifyingContract: string;
  try {
    verifyingContract = getAddress(escrow);
  } catch (cause) {
    throw new InvalidArgumentError(`escrow is not a valid address: ${String(escrow)}`, { cause });
  }
  return { name: JOB_RECEIPT_DOMAIN_NAME, version: JOB_RECEIPT_DOMAIN_VERSION, chainId: id, verifyingContract };
}

/** Checks the receipt's ranges as JobEscrow does (rounds ≤ roundsCompleted, 32-byte digests, uint32 fields). */
export function validateJobReceipt(r: JobReceipt): JobReceipt {
  for (const key of ['jobId', 'modelDigest', 'modelCidDigest', 'transcriptRoot', 'valuationDigest'] as const)
    if (!isHexString(r[key], 32)) throw new InvalidArgumentError(`receipt ${key} must be 32 bytes of hex`);
  const u32 = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX)
      throw new InvalidArgumentError(`receipt ${what} is not a uint32`);
  };
  u32(r.roundsCompleted, 'roundsCompleted');
  u32(r.epsilonSpentMilli, 'epsilonSpentMilli');
  if (r.roundsByDataset.length === 0) throw new InvalidArgumentError('receipt roundsByDataset is empty');
  r.roundsByDataset.forEach((v, i) => {
    u32(v, `roundsByDataset[${i}]`);
    if (v > r.roundsCompleted)
      throw new InvalidArgumentError(
        `receipt roundsByDataset[${i}] = ${v} exceeds roundsCompleted ${r.roundsCompleted}`,
      );
  });
  return r;
}

function message(r: JobReceipt): Record<string, unknown> {
  return { ...r, roundsByDataset: [...r.roundsByDataset] };
}

/** The EIP-712 digest of a receipt: what JobEscrow.hashReceipt returns and what silos sign. */
export function hashJobReceipt(domain: TypedDataDomain, receipt: JobReceipt): string {
  return TypedDataEncoder.hash(domain, TYPES, message(validateJobReceipt(receipt)));
}

/** Signs a receipt (65-byte signature, as JobEscrow packs them). */
export async function signJobReceipt(signer: Signer, domain: TypedDataDomain, receipt: JobReceipt): Promise<string> {
  return signer.signTypedData(domain, TYPES, message(validateJobReceipt(receipt)));
}

/**
 * Checks that `signature` over `receipt` recovers to `expected` (a silo's pinned signer or the coordinator).
 * Throws `SignatureError` `malformed` (bad encoding) or `signer-mismatch` (another key, receipt or domain).
 */
export function verifyJobReceipt(
  domain: TypedDataDomain,
  receipt: JobReceipt,
  signature: string,
  expected: string,
): void {
  let digest: string;
  try {
    digest = hashJobReceipt(domain, receipt);
  } catch (cause) {
    throw new SignatureError('malformed', (cause as Error).message, { cause });
  }
  if (!isHexString(signature, 65)) throw new SignatureError('malformed', 'signature must be 65 bytes of hex');
  let recovered: string;
  try {
    recovered = recoverAddress(digest, signature);
  } catch (cause) {
    throw new SignatureError('malformed', `signature does not recover: ${(cause as Error).message}`, { cause });
  }
  if (recovered !== getAddress(expected))
    throw new SignatureError(
      'signer-mismatch',
      `receipt signature recovers to ${recovered}, not ${getAddress(expected)}`,
    );
}

/**
 * One completed round of a job's transcript (ECONOMICS §2.3): its number, the job (escrow) indices of the datasets
 * whose masked input entered its unmasked sum, and the SHA-256 of the global model it produced (0x + 64 hex).
 */
export interface TranscriptRound {
  readonly round: number;
  readonly survivors: readonly number[];
  readonly modelDigest: string;
}

/** survivorsBitmap_r: bit i set for job index i (i < 256, the escrow's MAX_DATASETS). */
export function survivorsBitmap(survivors: readonly number[]): bigint {
  let bits = 0n;
  for (const i of survivors) {
    if (!Number.isInteger(i) || i < 0 || i > 255) throw new InvalidArgumentError(`survivor index ${i} out of range`);
    bits |= 1n << BigInt(i);
  }
  return bits;
}

/**
 * The transcript root a receipt signs (JobEscrow.JobReceipt.transcriptRoot): h_0 = jobId,
 * h_r = keccak256(abi.encode(h_{r−1}, r, survivorsBitmap_r, globalModelDigest_r)) over the completed rounds in order.
 */
export function transcriptRoot(jobId: string, rounds: readonly TranscriptRound[]): string {
  if (!isHexString(jobId, 32)) throw new InvalidArgumentError('jobId must be 32 bytes of hex');
  const coder = AbiCoder.defaultAbiCoder();
  let h = jobId.toLowerCase();
  for (const r of rounds) {
    if (!Number.isInteger(r.round) || r.round < 1 || r.round > UINT32_MAX)
      throw new InvalidArgumentError(`transcript round ${r.round} is not a uint32 ≥ 1`);
    if (!isHexString(r.modelDigest, 32)) throw new InvalidArgumentError('a round model digest must be 32 bytes of hex');
    h = keccak256(
      coder.encode(
        ['bytes32', 'uint32', 'uint256', 'bytes32'],
        [h, r.round, survivorsBitmap(r.survivors), r.modelDigest],
      ),
    );
  }
  return h;
}

/** roundsByDataset from a transcript: per job index i < n, the rounds whose survivors include i (popcount of bit i). */
export function roundsByDatasetOf(n: number, rounds: readonly TranscriptRound[]): number[] {
  const counts = new Array<number>(n).fill(0);
  for (const r of rounds)
    for (const i of new Set(r.survivors)) {
      if (i >= n) throw new InvalidArgumentError(`survivor index ${i} is not one of the job's ${n} datasets`);
      counts[i]++;
    }
  return counts;
}
