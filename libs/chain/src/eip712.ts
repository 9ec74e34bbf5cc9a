// EIP-712 typed structured data for the buyer's JobRequest (https://eips.ethereum.org/EIPS/eip-712).
// hashStruct(s) = keccak256(typeHash ‖ encodeData(s)); the signed digest is keccak256(0x19 0x01 ‖ domainSeparator ‖
// hashStruct(message)). ethers' TypedDataEncoder implements encodeType/encodeData (nested structs are appended to the
// type string in alphabetical order, arrays are hashed element-wise, strings by keccak256 of their UTF-8 bytes).
import {
  MaxUint256,
  TypedDataEncoder,
  concat,
  getAddress,
  id,
  isHexString,
  keccak256,
  recoverAddress,
  type Signer,
  type TypedDataDomain,
} from 'ethers';
import { jobRequestJsonSchema, jobRequestToJson, type JobRequest } from '@sealfold/protocol';
import { InvalidArgumentError, SignatureError } from './errors.js';
import { JOB_REQUEST_TYPES, SEALFOLD_DOMAIN_NAME, SEALFOLD_DOMAIN_VERSION } from './job-request-types.js';

export { JOB_REQUEST_TYPES, SEALFOLD_DOMAIN_NAME, SEALFOLD_DOMAIN_VERSION };

export interface SealfoldDomain {
  readonly name: typeof SEALFOLD_DOMAIN_NAME;
  readonly version: typeof SEALFOLD_DOMAIN_VERSION;
  readonly chainId: bigint;
  /** The DatasetLicence contract (licences are what a job request spends). */
  readonly verifyingContract: string;
}

// ethers wants mutable arrays.
const TYPES = {
  JobRequest: JOB_REQUEST_TYPES.JobRequest.map((f) => ({ ...f })),
  DpParams: JOB_REQUEST_TYPES.DpParams.map((f) => ({ ...f })),
  Training: JOB_REQUEST_TYPES.Training.map((f) => ({ ...f })),
  SecAggTerms: JOB_REQUEST_TYPES.SecAggTerms.map((f) => ({ ...f })),
  EscrowTerms: JOB_REQUEST_TYPES.EscrowTerms.map((f) => ({ ...f })),
};

export function sealfoldDomain(chainId: bigint | number, verifyingContract: string): SealfoldDomain {
  const id = BigInt(chainId);
  if (id <= 0n) throw new InvalidArgumentError(`invalid chain id ${chainId}`);
  return {
    name: SEALFOLD_DOMAIN_NAME,
    version: SEALFOLD_DOMAIN_VERSION,
    chainId: id,
    verifyingContract: checkedAddress(verifyingContract, 'verifyingContract'),
  };
}

function checkedAddress(value: string, what: string): string {
  try {
    return getAddress(value);
  } catch (cause) {
    throw new InvalidArgumentError(`${what} is not a valid address: ${String(value)}`, { cause });
  }
}

function toTypedDomain(domain: SealfoldDomain): TypedDataDomain {
  return {
    name: domain.name,
    version: domain.version,
    chainId: domain.chainId,
    verifyingContract: domain.verifyingContract,
  };
}

/** Validates a JobRequest by round-tripping it through the protocol's zod schema (ranges, lengths, formats). */
export function validateJobRequest(req: JobRequest): JobRequest {
  const parsed = jobRequestJsonSchema.safeParse(jobRequestToJson(req));
  if (!parsed.success)
    throw new InvalidArgumentError(
      `invalid job request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return {
    ...parsed.data,
    buyer: checkedAddress(parsed.data.buyer, 'buyer'),
    coordinator: checkedAddress(parsed.data.coordinator, 'coordinator'),
    escrow: { ...parsed.data.escrow, currency: checkedAddress(parsed.data.escrow.currency, 'escrow.currency') },
  };
}

function message(req: JobRequest): Record<string, unknown> {
  return {
    buyer: req.buyer,
    coordinator: req.coordinator,
    datasets: [...req.datasets],
    licences: [...req.licences],
    modelSpecHash: req.modelSpecHash,
    jobSchemaHash: req.jobSchemaHash,
    recipient: req.recipient,
    strategy: req.strategy,
    rounds: req.rounds,
    training: { ...req.training },
    dp: { ...req.dp },
    secagg: { ...req.secagg },
    escrow: { ...req.escrow },
    nonce: req.nonce,
    deadline: req.deadline,
    chainId: req.chainId,
  };
}

const ENCODER = TypedDataEncoder.from(TYPES);
/** EIP-712 typeHash(JobRequest) = keccak256(encodeType(JobRequest)). */
const JOB_REQUEST_TYPEHASH = id(ENCODER.encodeType('JobRequest'));

/**
 * EIP-712 encodeData of a `uint256[]` member: "the keccak256 hash of the concatenated encodeData of their contents",
 * each uint256 a 32-byte big-endian word. ethers' generic encoder spends ~75 µs per element (0.15–0.4 s for a
 * 1000-dataset request, at every silo's admission); this is one keccak256 over the words.
 */
function hashUint256Array(values: readonly bigint[]): string {
  let hex = '0x';
  for (const v of values) {
    if (typeof v !== 'bigint' || v < 0n || v > MaxUint256)
      throw new InvalidArgumentError(`not a uint256: ${String(v)}`);
    hex += v.toString(16).padStart(64, '0');
  }
  return keccak256(hex);
}

/**
 * The EIP-712 digest of a validated request: keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(request)), with
 * hashStruct(request) = keccak256(typeHash ‖ encodeData(member)…) (EIP-712 §"Definition of encodeData": atomic members
 * as 32-byte words, strings by keccak256, structs by their hashStruct, arrays by the hash above). Equal to
 * TypedDataEncoder.hash(domain, TYPES, message(req)) (property-tested against it); only the arrays are encoded here.
 */
function jobRequestDigest(domain: SealfoldDomain, req: JobRequest): string {
  const value = message(req);
  const members = TYPES.JobRequest.map(({ name, type }) => {
    if (type === 'uint256[]') return hashUint256Array(value[name] as bigint[]);
    if (type in TYPES) return ENCODER.hashStruct(type, value[name] as Record<string, unknown>);
    return ENCODER.encodeData(type, value[name]);
  });
  const hashStruct = keccak256(concat([JOB_REQUEST_TYPEHASH, ...members]));
  return keccak256(concat(['0x1901', TypedDataEncoder.hashDomain(toTypedDomain(domain)), hashStruct]));
}

/** The EIP-712 digest of a request: also a stable job id. */
export function hashJobRequest(domain: SealfoldDomain, req: JobRequest): string {
  return jobRequestDigest(domain, validateJobRequest(req));
}

/** Signs `req` with the buyer's key (`signer` must be the buyer). Returns a 65-byte hex signature. */
export async function signJobRequest(signer: Signer, domain: SealfoldDomain, req: JobRequest): Promise<string> {
  const valid = validateJobRequest(req);
  if (valid.chainId !== domain.chainId)
    throw new InvalidArgumentError(`request chain id ${valid.chainId} differs from domain chain id ${domain.chainId}`);
  const address = await signer.getAddress();
  if (getAddress(address) !== valid.buyer)
    throw new InvalidArgumentError(`signer ${address} is not the request's buyer ${valid.buyer}`);
  return signer.signTypedData(toTypedDomain(domain), TYPES, message(valid));
}

export interface VerifyOptions {
  /** Unix seconds used for the deadline check; defaults to the wall clock. */
  now?: bigint;
}

/**
 * Verifies a signed JobRequest and returns the buyer's checksummed address. Throws `SignatureError` with reason
 * `malformed` (bad request or signature encoding), `wrong-chain` (request chain id ≠ domain chain id), `expired`
 * (deadline passed) or `signer-mismatch` (the signature recovers to someone other than `buyer`, e.g. a tampered field
 * or a signature made for another domain).
 */
export function verifyJobRequest(
  domain: SealfoldDomain,
  req: JobRequest,
  signature: string,
  options: VerifyOptions = {},
): string {
  return verifyAndHashJobRequest(domain, req, signature, options).buyer;
}

/**
 * verifyJobRequest, also returning the request's EIP-712 digest (hashJobRequest), computed once: hashing a request
 * is O(its datasets) and a silo needs both at admission (the digest is the job id).
 */
export function verifyAndHashJobRequest(
  domain: SealfoldDomain,
  req: JobRequest,
  signature: string,
  options: VerifyOptions = {},
): { buyer: string; digest: string } {
  let valid: JobRequest;
  try {
    valid = validateJobRequest(req);
  } catch (cause) {
    throw new SignatureError('malformed', (cause as Error).message, { cause });
  }
  if (!isHexString(signature, 65)) throw new SignatureError('malformed', 'signature must be 65 bytes of hex');
  if (valid.chainId !== domain.chainId)
    throw new SignatureError(
      'wrong-chain',
      `job request is for chain id ${valid.chainId}, this verifier is on chain id ${domain.chainId}`,
    );
  const now = options.now ?? BigInt(Math.floor(Date.now() / 1000));
  if (valid.deadline < now)
    throw new SignatureError('expired', `job request deadline ${valid.deadline} has passed (now ${now})`);
  // EIP-712 §"Specification of the eth_signTypedData JSON RPC": the signature is over keccak256(0x19 0x01 ‖
  // domainSeparator ‖ hashStruct(message)), the digest jobRequestDigest returns (= TypedDataEncoder.hash; ethers'
  // verifyTypedData is recoverAddress of that same hash).
  let digest: string;
  let recovered: string;
  try {
    digest = jobRequestDigest(domain, valid);
    recovered = recoverAddress(digest, signature);
  } catch (cause) {
    throw new SignatureError('malformed', `signature does not recover: ${(cause as Error).message}`, { cause });
  }
  if (recovered !== valid.buyer)
    throw new SignatureError(
      'signer-mismatch',
      `signature recovers to ${recovered}, not the buyer ${valid.buyer} (tampered request or other domain)`,
    );
  return { buyer: recovered, digest };
}
