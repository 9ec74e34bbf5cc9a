// Typed client of the Sealfold contracts (DatasetNFT, DatasetLicence, ModelRegistry, JobEscrow, ModelAsset) over
// ethers v6.
// Every write is estimated first, so a revert is caught before anything is sent and is returned as a
// ContractRevertError naming the decoded custom error; nothing is claimed that the chain did not do.
import {
  Contract,
  ContractFactory,
  Interface,
  Wallet,
  ZeroAddress,
  getAddress,
  isError,
  isHexString,
  solidityPackedKeccak256,
  type ContractTransactionResponse,
  type InterfaceAbi,
  type JsonRpcProvider,
  type Signer,
  type TransactionReceipt,
  type Result,
} from 'ethers';
import { readFileSync } from 'node:fs';
import { jobPrice } from '@sealfold/protocol';
import { plainArgs, plainValue } from './abi-values.js';
import type { EventArgs, EventName, FunctionName, ReturnOf } from './abi-types.js';
import { type DatasetDpLevel, dpLevelCode, dpLevelOf, encodeTermsHash } from './terms-hash.js';
import {
  escrowJobId,
  headerTuple,
  jobOrder,
  merkleProof,
  normaliseJobTerms,
  parentLeaf,
  parseReceiptBundle,
  pinnedTuple,
  receiptTuple,
  type ContributionPayment,
  type EscrowHeader,
  type EscrowInfo,
  type EscrowTerms,
  type JobTerms,
  type JobTermsInput,
  type ModelAssetInfo,
  type ModelParent,
  type PinnedDataset,
  type ReceiptBundle,
} from './escrow.js';
import {
  hashJobReceipt,
  jobReceiptDomain,
  signJobReceipt,
  validateJobReceipt,
  verifyJobReceipt,
  type JobReceipt,
} from './job-receipt.js';
import { sealfoldDomain, type SealfoldDomain } from './eip712.js';
import { CID } from 'multiformats/cid';
import { ARTIFACTS, type ContractName } from './artifacts.js';
import {
  ChainError,
  ContractRevertError,
  InsufficientFundsError,
  InvalidArgumentError,
  RpcUnavailableError,
  SignatureError,
} from './errors.js';
import type { EmbeddedChain } from './embedded-chain.js';
import {
  DEFAULT_RPC_TIMEOUT_MS,
  createProvider,
  isConnectionReset,
  isUnreachable,
  probeChainId,
  wrapRpcError,
} from './rpc.js';

// ---------------------------------------------------------------------------------------------------------------
// Types

export interface SealfoldAddresses {
  datasetNFT: string;
  datasetLicence: string;
  modelRegistry: string;
  /** JobEscrow (issue 20); absent in deployments made before it, whose escrow methods throw NOT_DEPLOYED. */
  jobEscrow?: string;
  /** ModelAsset (issue 20), deployed with JobEscrow. */
  modelAsset?: string;
  /** Block of the first deployment transaction: where log scans start (default 0). */
  deployBlock?: bigint;
}

export interface TxResult {
  hash: string;
  blockNumber: bigint;
  gasUsed: bigint;
  /** Wei paid per gas unit. */
  effectiveGasPrice: bigint;
}

/** Licence terms of a dataset. Amounts in wei / token base units; durations in seconds (0 = never expires). */
export interface DatasetTerms {
  priceWei: bigint;
  paymentToken: string;
  priceToken: bigint;
  licenceDuration: bigint;
  maxJobs: number;
  epsilonBudgetMilli: number;
  /**
   * What the ε budget protects, and so the only DP level the owner's silo trains: 'record' (any one row; DP-SGD in
   * the silo; the default) or 'owner' (the whole dataset). Part of the terms hash a buyer pins.
   */
  dpLevel: DatasetDpLevel;
  /** The owner's policy: the fewest independent contributing owners its silo demands per job (default 3). */
  minOwners: number;
  royaltyBps: number;
  listed: boolean;
}
/** The owner's default minimum of independent contributing owners per job. */
export const DEFAULT_MIN_OWNERS = 3;
export type DatasetTermsInput = Partial<DatasetTerms> & Pick<DatasetTerms, 'priceWei'>;

/** A dataset as the contract's views give it (no log scan: the commitment is in the manifest, see datasetCommitment). */
export interface DatasetInfo {
  datasetId: bigint;
  owner: string;
  /** Manifest CID in its canonical string form. */
  manifestCid: string;
  tokenURI: string;
  terms: DatasetTerms;
}

export type LicenceReason = 'valid' | 'not-found' | 'wrong-dataset' | 'not-holder' | 'revoked' | 'expired';
/** Order of DatasetLicence.Validity. */
export const LICENCE_REASONS: readonly LicenceReason[] = [
  'valid',
  'not-found',
  'wrong-dataset',
  'not-holder',
  'revoked',
  'expired',
];

export interface LicenceInfo {
  licenceId: bigint;
  datasetId: bigint;
  holder: string;
  /** Unix seconds; 0 = never expires. */
  expiresAt: bigint;
  maxJobs: number;
  epsilonBudgetMilli: number;
  revoked: boolean;
  granted: boolean;
}

export interface LicenceCheck {
  valid: boolean;
  /** The valid licence, or the most relevant invalid candidate; undefined when the holder has none for the dataset. */
  licenceId: bigint | undefined;
  reason: LicenceReason;
}

export interface GrantTerms {
  /** Seconds from now; 0 = never expires. */
  duration: bigint;
  maxJobs: number;
  epsilonBudgetMilli: number;
}

export interface ModelRecordInput {
  /** bytes32 job id (e.g. the EIP-712 hash of the JobRequest). */
  jobId: string;
  modelCid: string;
  datasetIds: readonly bigint[];
  rounds: number;
  epsilonSpentMilli: number;
}

/** A licence's sale escrow (all zero for a granted licence). Amounts in wei or token base units. */
export interface SaleInfo {
  /** Zero address: ETH. */
  paymentToken: string;
  /** Paid less the protocol fee: what the owner and the holder share. */
  amount: bigint;
  released: bigint;
  startedAt: bigint;
  vestsAt: bigint;
  /** Vested and not yet released (0 once revoked). */
  releasable: bigint;
}

export interface ModelInfo {
  jobId: string;
  modelCid: string;
  datasetIds: bigint[];
  rounds: number;
  epsilonSpentMilli: number;
  recordedAt: bigint;
  coordinator: string;
}

export interface DeployOptions {
  admin?: string;
  treasury?: string;
  feeBps?: number;
  /** Accounts given the ModelRegistry recorder role (default: the deployer). */
  recorders?: readonly string[];
}

export interface DeployResult {
  addresses: SealfoldAddresses;
  transactions: Record<string, TxResult>;
}

/** The contracts this client deploys and addresses. */
type DeployedName = ContractName;

// ---------------------------------------------------------------------------------------------------------------
// Boundary validation

export function checkAddress(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be an address string`);
  try {
    return getAddress(value);
  } catch (cause) {
    throw new InvalidArgumentError(`${what} is not a valid address: ${value}`, { cause });
  }
}

function checkUint(value: unknown, what: string, bits = 256): bigint {
  let v: bigint;
  try {
    v = typeof value === 'bigint' ? value : BigInt(value as string | number);
  } catch (cause) {
    throw new InvalidArgumentError(`${what} must be an integer: ${String(value)}`, { cause });
  }
  if (v < 0n || v >= 1n << BigInt(bits)) throw new InvalidArgumentError(`${what} out of range (uint${bits}): ${v}`);
  return v;
}

function checkBytes32(value: unknown, what: string): string {
  if (typeof value !== 'string' || !isHexString(value, 32))
    throw new InvalidArgumentError(`${what} must be 32 bytes hex`);
  return value.toLowerCase();
}

function cidBytes(cid: string | Uint8Array): Uint8Array {
  try {
    return typeof cid === 'string' ? CID.parse(cid).bytes : CID.decode(cid).bytes;
  } catch (cause) {
    throw new InvalidArgumentError(`invalid CID: ${String(cid)}`, { cause });
  }
}

/** A CID the contracts store as bytes (hex), in its canonical string form. */
function cidString(hex: string): string {
  try {
    return CID.decode(Buffer.from(hex.slice(2), 'hex')).toString();
  } catch (cause) {
    throw new ChainError('RPC_ERROR', `the contract returned bytes that are not a CID: ${hex}`, { cause });
  }
}

/** DatasetLicence.Validity (uint8) → its name; a value the ABI does not define is refused, not guessed. */
function licenceReason(validity: bigint): LicenceReason {
  const reason = LICENCE_REASONS[Number(validity)];
  if (reason === undefined) throw new ChainError('RPC_ERROR', `unknown DatasetLicence.Validity ${validity}`);
  return reason;
}

function checkDpLevel(level: unknown): DatasetDpLevel {
  if (level !== 'record' && level !== 'owner')
    throw new InvalidArgumentError(`dpLevel must be 'record' or 'owner', got ${String(level)}`);
  return level;
}

function normaliseTerms(t: DatasetTermsInput): DatasetTerms {
  return {
    priceWei: checkUint(t.priceWei, 'priceWei'),
    paymentToken: t.paymentToken === undefined ? ZeroAddress : checkAddress(t.paymentToken, 'paymentToken'),
    priceToken: checkUint(t.priceToken ?? 0n, 'priceToken'),
    licenceDuration: checkUint(t.licenceDuration ?? 0n, 'licenceDuration', 64),
    maxJobs: Number(checkUint(t.maxJobs ?? 1, 'maxJobs', 32)),
    epsilonBudgetMilli: Number(checkUint(t.epsilonBudgetMilli ?? 1000, 'epsilonBudgetMilli', 32)),
    dpLevel: checkDpLevel(t.dpLevel ?? 'record'),
    minOwners: Number(checkUint(t.minOwners ?? DEFAULT_MIN_OWNERS, 'minOwners', 16)),
    royaltyBps: Number(checkUint(t.royaltyBps ?? 0, 'royaltyBps', 96)),
    listed: t.listed ?? true,
  };
}

/**
 * The hash a buyer pins when it buys: keccak256(abi.encode(terms)), as DatasetNFT.termsHashOf computes it over the
 * whole listing. A purchase pinned to it reverts `TermsChanged` if the listing differs in any field.
 */
export function termsHash(terms: DatasetTerms): string {
  return encodeTermsHash(normaliseTerms(terms));
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

const ALL_ERRORS = new Interface(
  Object.values(ARTIFACTS).flatMap((a) =>
    (a.abi as readonly { type: string; name?: string; inputs?: readonly { type: string }[] }[]).filter(
      (f) => f.type === 'error',
    ),
  ) as InterfaceAbi,
);

const fmt = (v: unknown) => (typeof v === 'bigint' ? v.toString() : String(v));
const when = (v: unknown) => `${new Date(Number(v) * 1000).toISOString()} (unix ${fmt(v)})`;

/** Human text for the custom errors users meet; others print as `Name(args)`. */
function describeRevert(name: string, args: readonly unknown[]): string {
  const a = args.map(fmt);
  switch (name) {
    case 'DatasetNotListed':
      return `dataset ${a[0]} is not listed for sale`;
    case 'EthPaymentNotAccepted':
      return `dataset ${a[0]} is not sold for ETH`;
    case 'IncorrectPayment': {
      const [expected, received] = args as bigint[];
      return `${received < expected ? 'insufficient' : 'excess'} payment: sent ${received} wei, the price is ${expected} wei`;
    }
    case 'TermsChanged':
      return `the terms of dataset ${a[0]} changed since they were read (pinned ${a[1]}, listed now ${a[2]}); nothing was paid`;
    case 'JobAlreadyRecorded':
      return `${a[0]} already recorded a model for job ${a[1]}`;
    case 'ModelNotFound':
      return `no model recorded by ${a[0]} for job ${a[1]}`;
    case 'NotDatasetOwner':
      return `${a[1]} is not the owner of dataset ${a[0]}`;
    case 'ERC721NonexistentToken':
      return `token ${a[0]} does not exist`;
    case 'AlreadyRevoked':
      return `licence ${a[0]} is already revoked`;
    case 'RevokedLicenceNotTransferable':
      return `licence ${a[0]} is revoked and cannot be transferred`;
    case 'NothingToWithdraw':
      return 'nothing to withdraw';
    case 'ListingUnchanged':
      return `dataset ${a[0]} is already ${args[1] ? 'listed' : 'delisted'}`;
    case 'ListedWithoutPrice':
      return 'a listed dataset needs a price';
    case 'AccessControlUnauthorizedAccount':
      return `${a[0]} lacks role ${a[1]}`;
    case 'UnknownJob':
      return `no job escrow ${a[0]}`;
    case 'JobExists':
      return `job escrow ${a[0]} is already open`;
    case 'JobClosed':
      return `job ${a[0]} was refunded and is closed`;
    case 'LicenceInvalid':
      return `licence ${a[0]} is not valid for dataset ${a[1]} and the buyer (${LICENCE_REASONS[Number(args[2])] ?? a[2]})`;
    case 'JobsNotOffered':
      return `dataset ${a[0]} offers no paid jobs in that currency (its job terms: rate 0 or currency ${a[1]})`;
    case 'TermsMismatch':
      return `the terms given are not the ones job ${a[0]} pinned`;
    case 'SettlementClosed':
      return `settlement of job ${a[0]} closed at ${when(args[1])}: only a refund remains`;
    case 'CoordinatorWindowClosed':
      return `the coordinator's window of job ${a[0]} closed at ${when(args[1])}: settle with t silo signatures (fallback)`;
    case 'CoordinatorWindowOpen':
      return `without the coordinator's signature, silos may settle job ${a[0]} only from ${when(args[1])}`;
    case 'BadCoordinatorSignature':
      return `the coordinator's signature does not verify for this receipt of job ${a[0]}`;
    case 'BadSignature':
      return `the silo signature at job index ${a[0]} does not verify under its pinned signer`;
    case 'BelowThreshold':
      return `the fallback path needs t = ${a[1]} silo signatures; ${a[0]} given`;
    case 'RefundNotYet':
      return `job ${a[0]} can be refunded from ${when(args[1])} (or once every dataset is paid)`;
    case 'ReceiptNotConfirmed':
      return `receipt ${a[0]} is not confirmed with t = ${a[2]} silos paid on it (${a[1]} were)`;
    case 'NotBuyer':
      return `${a[0]} is not the job's buyer (${a[1]})`;
    case 'DerivativesNotAllowed':
      return `dataset ${a[0]} does not allow derivative models`;
    case 'NoParents':
      return 'no dataset contributed a round';
    case 'NotModelOwner':
      return `${a[1]} does not own model ${a[0]}`;
    case 'NotForSale':
      return `model ${a[0]} is not for sale`;
    default:
      return `${name}(${a.join(', ')})`;
  }
}

/** Finds the revert data (hex) in an ethers error: ethers keeps the node's JSON-RPC error under `info.error`. */
function revertData(err: unknown): string | undefined {
  const queue: { value: unknown; depth: number }[] = [{ value: err, depth: 0 }];
  while (queue.length > 0) {
    const { value, depth } = queue.shift()!;
    if (value === null || typeof value !== 'object' || depth > 6) continue;
    const o = value as Record<string, unknown>;
    if (typeof o.data === 'string' && isHexString(o.data) && o.data.length >= 10) return o.data;
    for (const key of ['data', 'error', 'info', 'cause'])
      if (o[key] !== null && typeof o[key] === 'object') queue.push({ value: o[key], depth: depth + 1 });
  }
  return undefined;
}

/** Turns an ethers/RPC failure of `label` into a typed ChainError. */
export function decodeChainError(err: unknown, label: string, provider?: JsonRpcProvider): ChainError {
  if (err instanceof ChainError) return err;
  if (isUnreachable(err)) {
    const wrapped = provider ? wrapRpcError(err, provider) : err;
    if (wrapped instanceof RpcUnavailableError) return wrapped;
    return new RpcUnavailableError('', `RPC endpoint unavailable during ${label}`, { cause: err });
  }
  const text = (err as Error)?.message ?? '';
  if (isError(err, 'INSUFFICIENT_FUNDS') || /insufficient funds|doesn't have enough funds/i.test(text))
    return new InsufficientFundsError(`${label}: the sender's balance does not cover value plus gas`, { cause: err });
  const data = revertData(err);
  if (data !== undefined) {
    const parsed = (() => {
      try {
        return ALL_ERRORS.parseError(data);
      } catch {
        return null;
      }
    })();
    if (parsed !== null) {
      const args = [...parsed.args];
      return new ContractRevertError(
        label,
        parsed.name,
        args,
        `${label} reverted: ${describeRevert(parsed.name, args)}`,
        { cause: err },
      );
    }
  }
  if (isError(err, 'CALL_EXCEPTION'))
    return new ContractRevertError(label, undefined, [], `${label} reverted: ${err.shortMessage}`, { cause: err });
  return new ChainError('RPC_ERROR', `${label} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

function txResult(receipt: TransactionReceipt): TxResult {
  return {
    hash: receipt.hash,
    blockNumber: BigInt(receipt.blockNumber),
    gasUsed: receipt.gasUsed,
    effectiveGasPrice: receipt.gasPrice,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Deployment

/**
 * Deploys DatasetNFT, DatasetLicence, ModelRegistry, JobEscrow and ModelAsset with `signer`, one after another. The
 * escrow and the model asset share the licence contract's treasury and fee.
 */
export async function deployContracts(signer: Signer, options: DeployOptions = {}): Promise<DeployResult> {
  const deployer = await signer.getAddress();
  const admin = checkAddress(options.admin ?? deployer, 'admin');
  const treasury = checkAddress(options.treasury ?? admin, 'treasury');
  const feeBps = Number(checkUint(options.feeBps ?? 0, 'feeBps', 16));
  if (feeBps > 1000) throw new InvalidArgumentError(`feeBps ${feeBps} above the 10% cap`);
  const recorders = (options.recorders ?? [deployer]).map((r, i) => checkAddress(r, `recorders[${i}]`));
  const transactions: Record<string, TxResult> = {};
  const deploy = async (name: ContractName, args: unknown[]): Promise<string> => {
    const { abi, bytecode } = ARTIFACTS[name];
    try {
      const factory = new ContractFactory(abi as InterfaceAbi, bytecode, signer);
      const contract = await factory.deploy(...args);
      const receipt = await contract.deploymentTransaction()!.wait();
      transactions[name] = txResult(receipt!);
      return getAddress(await contract.getAddress());
    } catch (err) {
      throw decodeChainError(err, `deploy ${name}`);
    }
  };
  const datasetNFT = await deploy('DatasetNFT', []);
  const datasetLicence = await deploy('DatasetLicence', [datasetNFT, admin, treasury, feeBps]);
  const modelRegistry = await deploy('ModelRegistry', [datasetNFT, admin]);
  const jobEscrow = await deploy('JobEscrow', [datasetNFT, datasetLicence, treasury, feeBps]);
  const modelAsset = await deploy('ModelAsset', [jobEscrow, treasury, feeBps]);
  if (recorders.length > 0) {
    if (admin !== getAddress(deployer))
      throw new InvalidArgumentError('recorders can be granted at deployment only when the deployer is the admin');
    const registry = new Contract(modelRegistry, ARTIFACTS.ModelRegistry.abi as InterfaceAbi, signer);
    const role = (await registry.getFunction('COORDINATOR_ROLE').staticCall()) as string;
    for (const [i, account] of recorders.entries()) {
      try {
        const receipt = await (await registry.getFunction('grantRole').send(role, account)).wait();
        transactions[`ModelRegistry.grantRole#${i}`] = txResult(receipt!);
      } catch (err) {
        throw decodeChainError(err, 'ModelRegistry.grantRole');
      }
    }
  }
  const deployBlock = transactions.DatasetNFT.blockNumber;
  return {
    addresses: { datasetNFT, datasetLicence, modelRegistry, jobEscrow, modelAsset, deployBlock },
    transactions,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Client

export interface ConnectOptions {
  /** JSON-RPC endpoint; or `embedded` for the in-process chain. */
  rpcUrl?: string;
  embedded?: Pick<EmbeddedChain, 'rpcUrl' | 'chainId' | 'deployment'>;
  /** Required with `rpcUrl`; the endpoint must serve this chain id. */
  chainId?: bigint | number;
  /** The account that signs writes (a keystore Wallet or a hex private key); omit for read-only use. */
  signer?: Wallet | string;
  /** Contract addresses; default: the embedded chain's deployment. */
  addresses?: SealfoldAddresses;
  timeoutMs?: number;
}

export type SealfoldChain = Awaited<ReturnType<typeof connectChain>>;

/** Addresses from a `deployment.json` (embedded chain) or a plain name → address map. */
export function addressesFromDeployment(deployment: {
  contracts: Record<string, string>;
  deployBlock?: string | bigint;
}): SealfoldAddresses {
  const { contracts } = deployment;
  const pick = (name: string) => {
    const v = contracts[name];
    if (v === undefined) throw new ChainError('NOT_DEPLOYED', `deployment has no ${name} address`);
    return checkAddress(v, name);
  };
  const optional = (name: string) => (contracts[name] === undefined ? undefined : pick(name));
  return {
    datasetNFT: pick('DatasetNFT'),
    datasetLicence: pick('DatasetLicence'),
    modelRegistry: pick('ModelRegistry'),
    jobEscrow: optional('JobEscrow'),
    modelAsset: optional('ModelAsset'),
    deployBlock:
      deployment.deployBlock !== undefined ? checkUint(deployment.deployBlock, 'deployBlock', 64) : undefined,
  };
}

/** A deployment file as read and validated: contract addresses (EIP-55) and, when the file names them, its chain. */
export interface DeploymentFile {
  chainId: bigint | undefined;
  /** The names and addresses as written (validated addresses). */
  contracts: Record<string, string>;
  deployBlock: bigint | undefined;
  deployedAt: string | undefined;
  /** Digest of the deployed contracts' bytecode, when the embedded chain deployed them (its stale-deployment check). */
  contractsDigest: string | undefined;
  addresses: SealfoldAddresses;
}

/**
 * Reads a deployment file: a deployment.json as the embedded chain writes it ({chainId, contracts, deployBlock?})
 * or a bare {DatasetNFT, DatasetLicence, ModelRegistry} map. Every field is checked; a bad file is a ChainError
 * CONFIG naming the file and the field, never a cast.
 */
export function readDeploymentFile(path: string): DeploymentFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ChainError('CONFIG', `${path}: ${(cause as Error).message}`, { cause });
  }
  return parseDeployment(parsed, path);
}

/** Validates a parsed deployment (see readDeploymentFile); errors name `source` and the field. */
export function parseDeployment(parsed: unknown, source: string): DeploymentFile {
  const bad = (what: string, cause?: unknown) => new ChainError('CONFIG', `${source}: ${what}`, { cause });
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isRecord(parsed)) throw bad('not a JSON object');
  const rawContracts = parsed.contracts !== undefined ? parsed.contracts : parsed;
  if (!isRecord(rawContracts)) throw bad('contracts must be an object of name → address');
  const contracts: Record<string, string> = {};
  for (const [name, address] of Object.entries(rawContracts)) {
    try {
      contracts[name] = checkAddress(address, `contracts.${name}`);
    } catch (cause) {
      throw bad((cause as Error).message, cause);
    }
  }
  const decimal = (v: unknown, what: string, bits: number): bigint | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !/^[0-9]+$/.test(v)) throw bad(`${what} must be a decimal string`);
    try {
      return checkUint(v, what, bits);
    } catch (cause) {
      throw bad((cause as Error).message, cause);
    }
  };
  const withDeployment = parsed.contracts !== undefined;
  const chainId = withDeployment ? decimal(parsed.chainId, 'chainId', 64) : undefined;
  const deployBlock = withDeployment ? decimal(parsed.deployBlock, 'deployBlock', 64) : undefined;
  const deployedAt = withDeployment ? parsed.deployedAt : undefined;
  if (deployedAt !== undefined && typeof deployedAt !== 'string') throw bad('deployedAt must be a string');
  const contractsDigest = withDeployment ? parsed.contractsDigest : undefined;
  if (contractsDigest !== undefined && (typeof contractsDigest !== 'string' || !/^[0-9a-f]{64}$/.test(contractsDigest)))
    throw bad('contractsDigest must be 64 lower-case hex digits');
  let addresses: SealfoldAddresses;
  try {
    addresses = addressesFromDeployment({ contracts, deployBlock });
  } catch (cause) {
    throw bad((cause as Error).message, cause);
  }
  return { chainId, contracts, deployBlock, deployedAt, contractsDigest, addresses };
}

/**
 * Connects to a chain: probes the endpoint once (fast RpcUnavailableError / WrongChainError), binds the signer, and
 * returns the client. Contract methods throw NOT_DEPLOYED until addresses are known.
 */
export async function connectChain(options: ConnectOptions) {
  const rpcUrl = options.rpcUrl ?? options.embedded?.rpcUrl;
  if (rpcUrl === undefined) throw new InvalidArgumentError('connectChain needs rpcUrl or embedded');
  const chainIdOpt = options.chainId ?? options.embedded?.chainId;
  if (chainIdOpt === undefined) throw new InvalidArgumentError('connectChain needs the expected chainId');
  const chainId = checkUint(chainIdOpt, 'chainId', 64);
  const timeoutMs = options.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  await probeChainId(rpcUrl, chainId, timeoutMs);
  const provider = createProvider(rpcUrl, chainId, timeoutMs);

  let wallet: Wallet | undefined;
  if (typeof options.signer === 'string') {
    try {
      wallet = new Wallet(options.signer, provider);
    } catch (cause) {
      throw new InvalidArgumentError('signer is not a valid private key', { cause });
    }
  } else if (options.signer !== undefined) wallet = options.signer.connect(provider);

  let addresses: SealfoldAddresses | undefined = options.addresses;
  if (addresses === undefined && options.embedded?.deployment !== undefined)
    addresses = addressesFromDeployment(options.embedded.deployment);
  if (addresses !== undefined)
    addresses = {
      datasetNFT: checkAddress(addresses.datasetNFT, 'datasetNFT'),
      datasetLicence: checkAddress(addresses.datasetLicence, 'datasetLicence'),
      modelRegistry: checkAddress(addresses.modelRegistry, 'modelRegistry'),
      jobEscrow: addresses.jobEscrow === undefined ? undefined : checkAddress(addresses.jobEscrow, 'jobEscrow'),
      modelAsset: addresses.modelAsset === undefined ? undefined : checkAddress(addresses.modelAsset, 'modelAsset'),
      deployBlock: addresses.deployBlock,
    };

  const runner = wallet ?? provider;
  // One Contract per address: building one parses its whole ABI (~3 ms in ethers), which per read dominated the
  // silos' roster and admission checks.
  const contracts = new Map<string, Contract>();
  const contractOf = <N extends DeployedName>(name: N): Contract => {
    if (addresses === undefined) throw new ChainError('NOT_DEPLOYED', 'no contract addresses configured');
    const address = {
      DatasetNFT: addresses.datasetNFT,
      DatasetLicence: addresses.datasetLicence,
      ModelRegistry: addresses.modelRegistry,
      JobEscrow: addresses.jobEscrow,
      ModelAsset: addresses.modelAsset,
    }[name];
    // Deployments made before issue 20 have no escrow: say so instead of calling the zero address.
    if (address === undefined)
      throw new ChainError('NOT_DEPLOYED', `this deployment has no ${name} (redeploy the contracts to get one)`);
    const key = `${name}@${address}`;
    let contract = contracts.get(key);
    if (!contract) contracts.set(key, (contract = new Contract(address, ARTIFACTS[name].abi as InterfaceAbi, runner)));
    return contract;
  };
  const needSigner = (label: string): Wallet => {
    if (wallet === undefined) throw new InvalidArgumentError(`${label} needs a signer (key file)`);
    return wallet;
  };

  /** Calls a view; the value is typed from the generated ABI (abi-types.ts), tuples as objects (plainValue). */
  const read = async <N extends DeployedName, F extends FunctionName<N>>(
    name: N,
    fn: F,
    args: unknown[],
    blockTag?: bigint,
  ): Promise<ReturnOf<N, F>> => {
    let result: Result;
    const contract = contractOf(name);
    const overrides = blockTag === undefined ? [] : [{ blockTag }];
    const call = () => contract.getFunction(fn).staticCallResult(...args, ...overrides);
    try {
      // A view is sent again once when the node closed the connection under it (a keep-alive socket it was closing:
      // 2 of 1000 silos refused a job so in bench scale); reads are idempotent, transactions are never re-sent here.
      result = await call().catch((err: unknown) => {
        if (isConnectionReset(err)) return call();
        throw err;
      });
    } catch (err) {
      throw decodeChainError(err, `${name}.${fn}`, provider);
    }
    const outputs = contract.interface.getFunction(fn)!.outputs;
    const values = outputs.map((o, i) => plainValue(o, result[i]));
    return (outputs.length === 1 ? values[0] : values) as ReturnOf<N, F>;
  };

  /** The owner of a dataset, or undefined when it does not exist (ERC721NonexistentToken, matched by name). */
  const ownerOf = async (datasetId: bigint | number): Promise<string | undefined> => {
    try {
      return getAddress(await read('DatasetNFT', 'ownerOf', [checkUint(datasetId, 'datasetId')]));
    } catch (err) {
      if (err instanceof ContractRevertError && err.errorName === 'ERC721NonexistentToken') return undefined;
      throw err;
    }
  };

  // One write of this client's wallet at a time: each send asks the node for the wallet's pending nonce, so two
  // writes in flight (two jobs of one coordinator recording their models at once) took the same nonce and the second
  // failed with NONCE_EXPIRED. The next write starts once the previous one is mined (or failed).
  let lastWrite: Promise<unknown> = Promise.resolve();

  /** Sends a write (estimated first: reverts surface before sending) and waits for its receipt; writes queue. */
  const write = <N extends DeployedName>(
    name: N,
    fn: FunctionName<N>,
    args: unknown[],
    value?: bigint,
  ): Promise<{ receipt: TransactionReceipt; result: TxResult }> => {
    const turn = lastWrite.then(() => writeNow(name, fn, args, value));
    lastWrite = turn.catch(() => undefined);
    return turn;
  };

  const writeNow = async <N extends DeployedName>(
    name: N,
    fn: FunctionName<N>,
    args: unknown[],
    value?: bigint,
  ): Promise<{ receipt: TransactionReceipt; result: TxResult }> => {
    const label = `${name}.${fn}`;
    needSigner(label);
    try {
      const f = contractOf(name).getFunction(fn);
      const overrides = value === undefined ? {} : { value };
      const tx = (await f.send(...args, overrides)) as ContractTransactionResponse;
      const receipt = await tx.wait();
      if (receipt === null) throw new ChainError('RPC_ERROR', `${label}: no receipt`);
      return { receipt, result: txResult(receipt) };
    } catch (err) {
      throw decodeChainError(err, label, provider);
    }
  };

  /** The arguments of `event` emitted by contract `name` in `receipt`, typed from the generated ABI. */
  const eventArgs = <N extends DeployedName, E extends EventName<N>>(
    name: N,
    receipt: TransactionReceipt,
    event: E,
  ): EventArgs<N, E> => {
    const contract = contractOf(name);
    const target = getAddress(String(contract.target));
    for (const log of receipt.logs) {
      if (getAddress(log.address) !== target) continue;
      const parsed = contract.interface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === event) return plainArgs(parsed.fragment.inputs, parsed.args) as EventArgs<N, E>;
    }
    throw new ChainError('RPC_ERROR', `${name}: ${event} event missing from receipt ${receipt.hash}`);
  };

  const eventsOf = (name: DeployedName, receipt: TransactionReceipt, event: string): Record<string, unknown>[] => {
    const iface = contractOf(name).interface;
    const out: Record<string, unknown>[] = [];
    for (const log of receipt.logs) {
      if (getAddress(log.address) !== getAddress(String(contractOf(name).target))) continue;
      const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === event) out.push(parsed.args.toObject(true) as Record<string, unknown>);
    }
    return out;
  };

  const getSale = async (licenceId: bigint | number): Promise<SaleInfo> => {
    const id = checkUint(licenceId, 'licenceId');
    const r = await read('DatasetLicence', 'saleOf', [id]);
    return {
      paymentToken: r.paymentToken,
      amount: r.amount,
      released: r.released,
      startedAt: r.startedAt,
      vestsAt: r.vestsAt,
      releasable: r.releasable,
    };
  };

  /** Sold licences of datasets `owner` owns now whose escrow is not fully released (from LicencePurchased logs). */
  const pendingSalesOf = async (owner: string): Promise<bigint[]> => {
    const licence = contractOf('DatasetLicence');
    let logs;
    try {
      logs = await licence.queryFilter(
        licence.filters.LicencePurchased(),
        Number(addresses?.deployBlock ?? 0n),
        'latest',
      );
    } catch (err) {
      throw decodeChainError(err, 'DatasetLicence LicencePurchased logs', provider);
    }
    const ownerOf = new Map<bigint, string>();
    const out: bigint[] = [];
    for (const log of logs) {
      const datasetId = BigInt(log.topics[2]);
      if (!ownerOf.has(datasetId)) ownerOf.set(datasetId, await read('DatasetNFT', 'ownerOf', [datasetId]));
      if (ownerOf.get(datasetId) !== owner) continue;
      const licenceId = BigInt(log.topics[1]);
      const sale = await getSale(licenceId);
      // Not `releasable > 0`: views run at the latest block's time, the release at the next block's.
      if (sale.released < sale.amount) out.push(licenceId);
    }
    return out;
  };

  const termsFrom = (r: ReturnOf<'DatasetNFT', 'termsOf'>): DatasetTerms => ({
    priceWei: r.priceWei,
    paymentToken: r.paymentToken,
    priceToken: r.priceToken,
    licenceDuration: r.licenceDuration,
    maxJobs: Number(r.maxJobs),
    epsilonBudgetMilli: Number(r.epsilonBudgetMilli),
    dpLevel: dpLevelOf(r.dpLevel),
    minOwners: Number(r.minOwners),
    royaltyBps: Number(r.royaltyBps),
    listed: r.listed,
  });
  const termsTuple = (t: DatasetTerms) => [
    t.priceWei,
    t.paymentToken,
    t.priceToken,
    t.licenceDuration,
    t.maxJobs,
    t.epsilonBudgetMilli,
    dpLevelCode(t.dpLevel),
    t.minOwners,
    t.royaltyBps,
    t.listed,
  ];

  const getTerms = async (datasetId: bigint | number): Promise<DatasetTerms> => {
    return termsFrom(await read('DatasetNFT', 'termsOf', [checkUint(datasetId, 'datasetId')]));
  };

  const getDataset = async (datasetId: bigint | number): Promise<DatasetInfo> => {
    const id = checkUint(datasetId, 'datasetId');
    const [owner, cid, tokenURI, terms] = await Promise.all([
      read('DatasetNFT', 'ownerOf', [id]),
      read('DatasetNFT', 'manifestCidOf', [id]),
      read('DatasetNFT', 'tokenURI', [id]),
      getTerms(id),
    ]);
    return { datasetId: id, owner: getAddress(owner), manifestCid: cidString(cid), tokenURI, terms };
  };

  const getLicence = async (licenceId: bigint | number): Promise<LicenceInfo> => {
    const id = checkUint(licenceId, 'licenceId');
    const r = await read('DatasetLicence', 'licenceOf', [id]);
    return {
      licenceId: id,
      datasetId: r.datasetId,
      holder: r.holder,
      expiresAt: r.expiresAt,
      maxJobs: Number(r.maxJobs),
      epsilonBudgetMilli: Number(r.epsilonBudgetMilli),
      revoked: r.revoked,
      granted: r.granted,
    };
  };

  /** Licence ids that were ever transferred to `holder` (candidates; the holder may have passed some on). */
  const licenceCandidates = async (holder: string): Promise<bigint[]> => {
    const licence = contractOf('DatasetLicence');
    try {
      const logs = await licence.queryFilter(
        licence.filters.Transfer(null, holder),
        Number(addresses?.deployBlock ?? 0n),
        'latest',
      );
      const ids = new Set<bigint>();
      for (const log of logs) ids.add(BigInt(log.topics[3]));
      return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    } catch (err) {
      throw decodeChainError(err, 'DatasetLicence Transfer logs', provider);
    }
  };

  // Most informative first when no candidate is valid.
  const REASON_RANK: Record<LicenceReason, number> = {
    valid: 0,
    expired: 1,
    revoked: 2,
    'not-holder': 3,
    'wrong-dataset': 4,
    'not-found': 5,
  };

  const isValid = async (licenceId: bigint, datasetId: bigint, holder: string): Promise<LicenceReason> => {
    const [, validity] = await read('DatasetLicence', 'isValid', [licenceId, datasetId, holder]);
    return licenceReason(validity);
  };

  // ---------------------------------------------------------------------------------------------------------------
  // Escrow and model-asset reads (issue 20)

  const DAY = 86_400;

  const latestTimestamp = async (): Promise<bigint> => {
    try {
      const block = await provider.getBlock('latest');
      if (block === null) throw new ChainError('RPC_ERROR', 'no latest block');
      return BigInt(block.timestamp);
    } catch (err) {
      throw decodeChainError(err, 'getBlock', provider);
    }
  };

  /** A model id as JobEscrow/ModelAsset use it: the job id (bytes32) as a uint256. */
  const modelIdOf = (modelId: bigint | string): bigint =>
    typeof modelId === 'string' && modelId.startsWith('0x')
      ? BigInt(checkBytes32(modelId, 'modelId'))
      : checkUint(modelId, 'modelId');
  const modelHex = (id: bigint) => `0x${id.toString(16).padStart(64, '0')}`;

  const getJobTerms = async (datasetId: bigint | number, blockTag?: bigint): Promise<JobTerms> => {
    const [t, owner] = await read('DatasetNFT', 'jobTermsOf', [checkUint(datasetId, 'datasetId')], blockTag);
    return {
      currency: getAddress(t.currency),
      ratePerRowRound: t.ratePerRowRound,
      rows: t.rows,
      derivativesAllowed: t.derivativesAllowed,
      derivativeShareMicros: Number(t.derivativeShareMicros),
      siloSigner: getAddress(t.siloSigner),
      owner: getAddress(owner),
    };
  };

  /**
   * The datasets' pinned terms as `open` read them in block `block`: DatasetNFT.jobTermsOf at the end of that block,
   * or, should an owner have changed them later in the same block, at the end of the one before. Checked against
   * the job's `termsHash`, so what is returned is exactly what was pinned.
   */
  const pinnedAt = async (
    ids: readonly bigint[],
    block: bigint,
    termsHash: string,
    header: EscrowHeader,
  ): Promise<PinnedDataset[]> => {
    for (const tag of [block, block - 1n]) {
      const pinned = await Promise.all(
        ids.map(async (id) => {
          const t = await getJobTerms(id, tag);
          return {
            datasetId: id,
            payee: t.owner,
            signer: t.siloSigner,
            rate: t.ratePerRowRound,
            rows: t.rows,
            derivativesAllowed: t.derivativesAllowed,
            derivativeShareMicros: t.derivativeShareMicros,
          };
        }),
      );
      const hash = await read('JobEscrow', 'termsHashOf', [headerTuple(header), pinned.map(pinnedTuple)]);
      if (hash === termsHash) return pinned;
    }
    throw new ChainError('RPC_ERROR', `the dataset terms read at block ${block} do not hash to the job's ${termsHash}`);
  };

  const getEscrow = async (jobId: string): Promise<EscrowInfo> => {
    const id = checkBytes32(jobId, 'jobId');
    const [job, currency] = await read('JobEscrow', 'jobOf', [id]);
    const count = Number(job.lastIndex) + 1;
    const paidIndices: number[] = [];
    for (let i = 0; i < count; i++) if ((job.paidMask >> BigInt(i)) & 1n) paidIndices.push(i);
    return {
      jobId: id,
      buyer: getAddress(job.buyer),
      currency: getAddress(currency),
      locked: job.locked,
      paid: job.paid,
      termsHash: job.termsHash,
      runDeadline: job.runDeadline,
      settleEnd: job.settleEnd,
      datasetCount: count,
      paidIndices,
      refunded: (job.flags & 1n) !== 0n,
    };
  };

  /** The input of the transaction `hash`, decoded as a JobEscrow call of `fn` (undefined for another call). */
  const escrowCall = async (hash: string, fn: 'open' | 'settle'): Promise<Result | undefined> => {
    const escrow = contractOf('JobEscrow');
    let tx;
    try {
      tx = await provider.getTransaction(hash);
    } catch (err) {
      throw decodeChainError(err, 'getTransaction', provider);
    }
    if (tx === null || tx.to === null || getAddress(tx.to) !== getAddress(String(escrow.target))) return undefined;
    const parsed = escrow.interface.parseTransaction({ data: tx.data, value: tx.value });
    return parsed?.name === fn ? parsed.args : undefined;
  };

  const logsOf = async (
    event: 'JobOpened' | 'ReceiptConfirmed' | 'ContributionPaid' | 'JobRefunded',
    jobId: string,
    digest?: string,
  ) => {
    const escrow = contractOf('JobEscrow');
    const filter = digest === undefined ? escrow.filters[event](jobId) : escrow.filters[event](jobId, digest);
    try {
      return await escrow.queryFilter(filter, Number(addresses?.deployBlock ?? 0n), 'latest');
    } catch (err) {
      throw decodeChainError(err, `JobEscrow ${event} logs`, provider);
    }
  };

  /**
   * A job's terms exactly as pinned, read back from its open transaction (header, datasets, licences, price) and
   * the datasets' job terms at that block, checked against the job's termsHash. Anyone can rebuild them: an
   * owner's silo settles without the buyer's or the coordinator's records.
   */
  const escrowTerms = async (jobId: string): Promise<EscrowTerms> => {
    const job = await getEscrow(jobId);
    const log = (await logsOf('JobOpened', job.jobId))[0];
    if (log === undefined) throw new ChainError('RPC_ERROR', `no JobOpened event for job ${job.jobId}`);
    const args = await escrowCall(log.transactionHash, 'open');
    if (args === undefined)
      throw new ChainError(
        'RPC_ERROR',
        `job ${job.jobId} was opened through another contract: its terms cannot be read from the transaction`,
      );
    const h = args[1] as Result;
    const header: EscrowHeader = {
      currency: getAddress(h[0] as string),
      coordinator: getAddress(h[1] as string),
      threshold: Number(h[2]),
      rounds: Number(h[3]),
      runDeadline: BigInt(h[4] as bigint),
      confirmWindow: Number(h[5]),
      fallbackWindow: Number(h[6]),
      feeBps: Number(h[7]),
    };
    const ids = Array.from(args[2] as Result, (v) => BigInt(v as bigint));
    const block = BigInt(log.blockNumber);
    return {
      jobId: job.jobId,
      requestDigest: String(args[0]),
      buyer: job.buyer,
      header,
      pinned: await pinnedAt(ids, block, job.termsHash, header),
      licenceIds: Array.from(args[3] as Result, (v) => BigInt(v as bigint)),
      price: BigInt(args[4] as bigint),
      openTx: log.transactionHash,
      openBlock: block,
    };
  };

  const payment = (e: Record<string, unknown>, feeBps: number, txHash: string, blockNumber: bigint) => {
    const amount = e.amount as bigint;
    const fee = (amount * BigInt(feeBps)) / 10_000n;
    return {
      jobId: String(e.jobId),
      datasetId: e.datasetId as bigint,
      payee: getAddress(e.payee as string),
      rounds: Number(e.rounds),
      amount,
      fee,
      net: amount - fee,
      txHash,
      blockNumber,
    } satisfies ContributionPayment;
  };

  /**
   * The job's receipt that registers a model: confirmed (coordinator or quorum) with ≥ t silos paid on it, read
   * back from the settle transactions that confirmed it (ReceiptConfirmed), newest first; only receipt `digest`
   * when given (the one a registered model names).
   */
  const confirmedReceipt = async (terms: EscrowTerms, digest?: string): Promise<JobReceipt> => {
    const domain = jobReceiptDomain(chainId, String(contractOf('JobEscrow').target));
    const seen = new Set<string>();
    for (const log of (await logsOf('ReceiptConfirmed', terms.jobId, digest)).reverse()) {
      const digest = log.topics[2];
      if (seen.has(digest)) continue;
      seen.add(digest);
      const c = await read('JobEscrow', 'confirmationOf', [terms.jobId, digest]);
      if ((!c.byCoordinator && !c.byQuorum) || c.silos < BigInt(terms.header.threshold)) continue;
      const args = await escrowCall(log.transactionHash, 'settle');
      if (args === undefined) continue;
      const r = args[2] as Result;
      const receipt: JobReceipt = {
        jobId: String(r[0]),
        roundsCompleted: Number(r[1]),
        modelDigest: String(r[2]),
        modelCidDigest: String(r[3]),
        transcriptRoot: String(r[4]),
        roundsByDataset: Array.from(r[5] as Result, (v) => Number(v)),
        epsilonSpentMilli: Number(r[6]),
        valuationDigest: String(r[7]),
      };
      if (hashJobReceipt(domain, receipt) === digest) return receipt;
    }
    throw new ChainError(
      'CONTRACT_REVERT',
      `job ${terms.jobId} has no receipt confirmed with at least t = ${terms.header.threshold} silos paid on it`,
    );
  };

  /** The parents (contributing datasets and their shares) a model from these terms and receipt has. */
  const parentsOf = async (terms: EscrowTerms, receipt: JobReceipt) => {
    const [ids, shares, root, stack] = await read('ModelAsset', 'parentsOf', [
      terms.pinned.map(pinnedTuple),
      receiptTuple(receipt),
    ]);
    const parents: ModelParent[] = ids.map((datasetId, i) => ({ datasetId, shareMicros: Number(shares[i]) }));
    return { parents, root, stackMicros: Number(stack) };
  };

  const getModelAsset = async (modelId: bigint | string): Promise<ModelAssetInfo> => {
    const id = modelIdOf(modelId);
    const m = await read('ModelAsset', 'modelOf', [id]);
    return {
      modelId: id,
      owner: getAddress(m.owner),
      parentsRoot: m.parentsRoot,
      gross: m.gross,
      price: m.price,
      stackMicros: Number(m.stackMicros),
    };
  };

  return {
    chainId,
    rpcUrl,
    provider,
    get addresses() {
      return addresses;
    },
    get signerAddress(): string | undefined {
      return wallet?.address;
    },
    /** The EIP-712 domain job requests are signed in on this chain: verifyingContract = DatasetLicence. */
    jobDomain(): SealfoldDomain {
      if (addresses === undefined) throw new ChainError('NOT_DEPLOYED', 'no contract addresses configured');
      return sealfoldDomain(chainId, addresses.datasetLicence);
    },
    /** Deploys the contracts with the signer and uses the new addresses from then on. */
    async deployContracts(opts: DeployOptions = {}): Promise<DeployResult> {
      const result = await deployContracts(needSigner('deployContracts'), opts);
      addresses = result.addresses;
      return result;
    },

    async registerDataset(input: {
      manifestCid: string | Uint8Array;
      commitment: string;
      terms: DatasetTermsInput;
    }): Promise<TxResult & { datasetId: bigint }> {
      const cid = cidBytes(input.manifestCid);
      const commitment = checkBytes32(input.commitment, 'commitment');
      const terms = normaliseTerms(input.terms);
      const { receipt, result } = await write('DatasetNFT', 'register', [cid, commitment, termsTuple(terms)]);
      const ev = eventArgs('DatasetNFT', receipt, 'DatasetRegistered');
      return { ...result, datasetId: ev.datasetId };
    },

    async setTerms(datasetId: bigint | number, terms: DatasetTermsInput): Promise<TxResult> {
      const id = checkUint(datasetId, 'datasetId');
      return (await write('DatasetNFT', 'setTerms', [id, termsTuple(normaliseTerms(terms))])).result;
    },
    /**
     * Points a dataset at a new manifest (DatasetNFT.setManifest; `dataset reseal`): same token, terms and licences.
     * Reverts ManifestUnchanged for the current CID.
     */
    async setManifest(datasetId: bigint | number, manifestCid: string | Uint8Array): Promise<TxResult> {
      const id = checkUint(datasetId, 'datasetId');
      return (await write('DatasetNFT', 'setManifest', [id, cidBytes(manifestCid)])).result;
    },
    async list(datasetId: bigint | number): Promise<TxResult> {
      return (await write('DatasetNFT', 'list', [checkUint(datasetId, 'datasetId')])).result;
    },
    async delist(datasetId: bigint | number): Promise<TxResult> {
      return (await write('DatasetNFT', 'delist', [checkUint(datasetId, 'datasetId')])).result;
    },

    getTerms,

    ownerOf,

    /** A dataset's owner, manifest and terms: contract views only (four calls, no log scan). */
    getDataset,

    /** A dataset's current manifest CID (one view; its owner may replace it with setManifest). */
    async getManifestCid(datasetId: bigint | number): Promise<string> {
      return cidString(await read('DatasetNFT', 'manifestCidOf', [checkUint(datasetId, 'datasetId')]));
    },

    /**
     * The commitment a dataset was registered with. The contract only emits it (DatasetRegistered), so this scans
     * logs from the deployment block: public endpoints cap log ranges, so nothing on a hot path calls it (the
     * manifest carries the same commitment, and the silo checks the data against it).
     */
    async datasetCommitment(datasetId: bigint | number): Promise<string> {
      const id = checkUint(datasetId, 'datasetId');
      const nft = contractOf('DatasetNFT');
      try {
        const logs = await nft.queryFilter(
          nft.filters.DatasetRegistered(id),
          Number(addresses?.deployBlock ?? 0n),
          'latest',
        );
        const log = logs[0];
        if (log === undefined) throw new ChainError('NOT_DEPLOYED', `no DatasetRegistered event for dataset ${id}`);
        const commitment: unknown = nft.interface.parseLog(log)?.args.commitment;
        return checkBytes32(commitment, 'DatasetRegistered.commitment');
      } catch (err) {
        throw decodeChainError(err, 'DatasetNFT DatasetRegistered logs', provider);
      }
    },

    /**
     * Datasets by id, from `fromId` (default 1), at most `limit` (default 100). With `owner`, one `ownerOf` view per
     * id and the full record only for that owner's datasets.
     */
    async listDatasets(opts: { fromId?: bigint; limit?: number; owner?: string } = {}): Promise<DatasetInfo[]> {
      const last = await read('DatasetNFT', 'lastDatasetId', []);
      const from = opts.fromId ?? 1n;
      const limit = BigInt(opts.limit ?? 100);
      const owner = opts.owner === undefined ? undefined : checkAddress(opts.owner, 'owner');
      const out: DatasetInfo[] = [];
      for (let id = from; id <= last && id < from + limit; id++) {
        if (owner !== undefined && (await ownerOf(id)) !== owner) continue;
        out.push(await getDataset(id));
      }
      return out;
    },

    /** `DatasetNFT.termsHashOf`: the hash of the listing as it is now. */
    async getTermsHash(datasetId: bigint | number): Promise<string> {
      return (await read('DatasetNFT', 'termsHashOf', [checkUint(datasetId, 'datasetId')])) as string;
    },

    /**
     * Buys a licence at the listed ETH price, pinned to `opts.terms` (the terms the buyer was shown; default: the
     * terms read now). If the owner changed any field since, the contract refuses (`TermsChanged`) and nothing is
     * paid. `value` overrides the amount sent (the contract refuses any amount but the exact price).
     */
    async purchaseLicence(
      datasetId: bigint | number,
      opts: { value?: bigint; terms?: DatasetTerms } = {},
    ): Promise<
      TxResult & { licenceId: bigint; expiresAt: bigint; price: bigint; terms: DatasetTerms; termsHash: string }
    > {
      const id = checkUint(datasetId, 'datasetId');
      const terms = opts.terms !== undefined ? normaliseTerms(opts.terms) : await getTerms(id);
      const pinned = termsHash(terms);
      const value = opts.value !== undefined ? checkUint(opts.value, 'value') : terms.priceWei;
      const { receipt, result } = await write('DatasetLicence', 'purchase', [id, pinned], value);
      const ev = eventArgs('DatasetLicence', receipt, 'LicencePurchased');
      return {
        ...result,
        licenceId: ev.licenceId,
        expiresAt: ev.expiresAt,
        price: ev.price,
        terms,
        termsHash: pinned,
      };
    },

    async grantLicence(
      datasetId: bigint | number,
      to: string,
      terms: GrantTerms,
    ): Promise<TxResult & { licenceId: bigint; expiresAt: bigint }> {
      const id = checkUint(datasetId, 'datasetId');
      const holder = checkAddress(to, 'to');
      const { receipt, result } = await write('DatasetLicence', 'grant', [
        id,
        holder,
        checkUint(terms.duration, 'duration', 64),
        checkUint(terms.maxJobs, 'maxJobs', 32),
        checkUint(terms.epsilonBudgetMilli, 'epsilonBudgetMilli', 32),
      ]);
      const ev = eventArgs('DatasetLicence', receipt, 'LicenceGranted');
      return { ...result, licenceId: ev.licenceId, expiresAt: ev.expiresAt };
    },

    /**
     * Revokes a licence (dataset owner only). Its escrow is settled in the same transaction: the vested part is
     * credited to the owner, the unused part (`refund`) to the holder, who withdraws it like any credit.
     */
    async revokeLicence(
      licenceId: bigint | number,
      reason: string,
    ): Promise<TxResult & { holder: string; refund: bigint; releasedToOwner: bigint; paymentToken: string }> {
      if (typeof reason !== 'string' || reason.length > 1024)
        throw new InvalidArgumentError('reason must be a string of at most 1024 characters');
      const id = checkUint(licenceId, 'licenceId');
      const [holder, sale] = await Promise.all([
        read('DatasetLicence', 'ownerOf', [id]) as Promise<string>,
        getSale(id),
      ]);
      const { receipt, result } = await write('DatasetLicence', 'revoke', [id, reason]);
      const refunded = eventsOf('DatasetLicence', receipt, 'LicenceRefunded')[0];
      const released = eventsOf('DatasetLicence', receipt, 'ProceedsReleased')[0];
      return {
        ...result,
        holder,
        refund: (refunded?.amount as bigint | undefined) ?? 0n,
        releasedToOwner: (released?.amount as bigint | undefined) ?? 0n,
        paymentToken: sale.paymentToken,
      };
    },

    getSale,

    /**
     * Credits the vested proceeds of licences to their datasets' current owners (anyone may send it). Default
     * licences: every sale of a dataset the signer owns now, found in LicencePurchased logs.
     */
    async releaseProceeds(licenceIds?: readonly (bigint | number)[]): Promise<TxResult & { released: bigint }> {
      const signer = needSigner('releaseProceeds').address;
      const ids =
        licenceIds !== undefined
          ? licenceIds.map((l, i) => checkUint(l, `licenceIds[${i}]`))
          : await pendingSalesOf(signer);
      const { receipt, result } = await write('DatasetLicence', 'release', [ids]);
      const released = eventsOf('DatasetLicence', receipt, 'ProceedsReleased').reduce(
        (sum, ev) => sum + (ev.amount as bigint),
        0n,
      );
      return { ...result, released };
    },

    /** ETH of sales of `owner`'s datasets that has vested and awaits `releaseProceeds` (not yet withdrawable). */
    async releasableEth(owner: string): Promise<bigint> {
      let sum = 0n;
      for (const id of await pendingSalesOf(checkAddress(owner, 'owner'))) {
        const sale = await getSale(id);
        if (sale.paymentToken === ZeroAddress) sum += sale.releasable;
      }
      return sum;
    },

    getLicence,

    /** Licences `holder` holds now (any dataset, valid or not). */
    async licencesOf(holder: string): Promise<LicenceInfo[]> {
      const h = checkAddress(holder, 'holder');
      const out: LicenceInfo[] = [];
      for (const id of await licenceCandidates(h)) {
        const info = await getLicence(id);
        if (info.holder === h) out.push(info);
      }
      return out;
    },

    /** Whether a specific licence is valid for `datasetId` and `holder` now. */
    async checkLicenceById(
      licenceId: bigint | number,
      datasetId: bigint | number,
      holder: string,
    ): Promise<LicenceCheck> {
      const lid = checkUint(licenceId, 'licenceId');
      const reason = await isValid(lid, checkUint(datasetId, 'datasetId'), checkAddress(holder, 'holder'));
      return { valid: reason === 'valid', licenceId: lid, reason };
    },

    /**
     * Whether `holder` holds a valid licence of `datasetId` now. Candidates come from `opts.candidates` or else from
     * the licence contract's Transfer logs to `holder`; when none is valid the reason is the most informative one
     * (expired, revoked, not-holder, not-found).
     */
    async checkLicence(
      holder: string,
      datasetId: bigint | number,
      opts: { candidates?: readonly (bigint | number)[] } = {},
    ): Promise<LicenceCheck> {
      const h = checkAddress(holder, 'holder');
      const id = checkUint(datasetId, 'datasetId');
      // An indexer's list of the holder's licences avoids a log scan from the deployment block (RPC range limits).
      const candidates =
        opts.candidates !== undefined
          ? opts.candidates.map((c, i) => checkUint(c, `candidates[${i}]`))
          : await licenceCandidates(h);
      if (candidates.length > 0) {
        const [first, validity] = await read('DatasetLicence', 'firstValid', [candidates, id, h]);
        if (licenceReason(validity) === 'valid') return { valid: true, licenceId: first, reason: 'valid' };
      }
      let best: LicenceCheck = { valid: false, licenceId: undefined, reason: 'not-found' };
      for (const lid of candidates) {
        const reason = await isValid(lid, id, h);
        if (REASON_RANK[reason] < REASON_RANK[best.reason]) best = { valid: false, licenceId: lid, reason };
      }
      // A candidate for another dataset says nothing about this one.
      return best.reason === 'wrong-dataset' ? { valid: false, licenceId: undefined, reason: 'not-found' } : best;
    },

    async owedEth(account: string): Promise<bigint> {
      return read('DatasetLicence', 'owedEth', [checkAddress(account, 'account')]);
    },

    /**
     * Withdraws the ETH owed to the signer (released sale proceeds and refunds). Release vested proceeds first
     * with `releaseProceeds`.
     */
    async withdraw(): Promise<TxResult & { amount: bigint }> {
      const { receipt, result } = await write('DatasetLicence', 'withdraw', []);
      const ev = eventArgs('DatasetLicence', receipt, 'Withdrawn');
      return { ...result, amount: ev.amount };
    },

    /** Records a trained model's provenance (signer needs COORDINATOR_ROLE). Dataset ids are sent sorted. */
    async recordModel(input: ModelRecordInput): Promise<TxResult> {
      const jobId = checkBytes32(input.jobId, 'jobId');
      const ids = input.datasetIds.map((d, i) => checkUint(d, `datasetIds[${i}]`));
      ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const args = [
        jobId,
        cidBytes(input.modelCid),
        ids,
        checkUint(input.rounds, 'rounds', 32),
        checkUint(input.epsilonSpentMilli, 'epsilonSpentMilli', 32),
      ];
      return (await write('ModelRegistry', 'record', args)).result;
    },

    /**
     * The provenance record `coordinator` wrote for `jobId`. Records are keyed by their writer, so look it up under
     * the coordinator the job was submitted to (the `coordinator` of the signed JobRequest). The registry stores
     * only a hash and count of the dataset ids; the ids come from the record's ModelRecorded event (in the block
     * the record names) and are checked against both, so a missing, duplicated or altered event is an error.
     */
    async getModel(coordinator: string, jobId: string): Promise<ModelInfo> {
      const c = checkAddress(coordinator, 'coordinator');
      const id = checkBytes32(jobId, 'jobId');
      const rec = await read('ModelRegistry', 'modelOf', [c, id]);
      const registry = contractOf('ModelRegistry');
      const block = Number(rec.recordedBlock);
      let logs;
      try {
        logs = await registry.queryFilter(registry.filters.ModelRecorded(id, c), block, block);
      } catch (err) {
        throw decodeChainError(err, 'ModelRegistry ModelRecorded logs', provider);
      }
      const where = `job ${id} of coordinator ${c} (block ${block})`;
      if (logs.length !== 1)
        throw new ChainError('RPC_ERROR', `expected one ModelRecorded event for ${where}, got ${logs.length}`);
      const datasetIds = [...(registry.interface.parseLog(logs[0]!)!.args.datasetIds as bigint[])];
      if (BigInt(datasetIds.length) !== rec.datasetCount)
        throw new ChainError(
          'RPC_ERROR',
          `ModelRecorded event for ${where} lists ${datasetIds.length} datasets, the record ${rec.datasetCount}`,
        );
      // The record's commitment: keccak256(abi.encodePacked(uint256[] datasetIds)), each id a 32-byte word.
      if (solidityPackedKeccak256(['uint256[]'], [datasetIds]) !== rec.datasetsHash)
        throw new ChainError(
          'RPC_ERROR',
          `dataset ids of the ModelRecorded event for ${where} do not match the record's hash ${rec.datasetsHash}`,
        );
      return {
        jobId: id,
        modelCid: cidString(rec.modelCid),
        datasetIds,
        rounds: Number(rec.rounds),
        epsilonSpentMilli: Number(rec.epsilonSpentMilli),
        recordedAt: rec.recordedAt,
        coordinator: getAddress(rec.coordinator),
      };
    },

    /** Whether `coordinator` recorded a model for `jobId`. */
    async isModelRecorded(coordinator: string, jobId: string): Promise<boolean> {
      const args = [checkAddress(coordinator, 'coordinator'), checkBytes32(jobId, 'jobId')];
      return read('ModelRegistry', 'isRecorded', args);
    },

    /** Gives `account` COORDINATOR_ROLE on ModelRegistry (signer must be its admin). */
    async grantCoordinator(account: string): Promise<TxResult> {
      const role = await read('ModelRegistry', 'COORDINATOR_ROLE', []);
      return (await write('ModelRegistry', 'grantRole', [role, checkAddress(account, 'account')])).result;
    },

    // -------------------------------------------------------------------------------------------------------------
    // Per-job escrow and model assets (issue 20, docs/ECONOMICS.md §2)

    /** Sets a dataset's job terms (DatasetNFT.setJobTerms, owner only): rate per row-round, rows, derivative policy. */
    async setJobTerms(datasetId: bigint | number, terms: JobTermsInput): Promise<TxResult> {
      const id = checkUint(datasetId, 'datasetId');
      const t = normaliseJobTerms(terms);
      const tuple = [
        t.currency,
        t.ratePerRowRound,
        t.rows,
        t.derivativesAllowed,
        t.derivativeShareMicros,
        t.siloSigner,
      ];
      return (await write('DatasetNFT', 'setJobTerms', [id, tuple])).result;
    },

    getJobTerms,

    /**
     * Opens the escrow of a job request and locks its exact price, `Σ rate × rows × rounds` at the rates in force
     * now (ECONOMICS §2.4): the signer is the buyer. Datasets are pinned in increasing id order, which is their
     * order in receipts. ETH only. The header pins the request's coordinator, SecAgg threshold t and rounds, the
     * run deadline (now + `runSeconds`), the coordinator's and the fallback windows and the contract's fee.
     */
    async openJobEscrow(input: {
      requestDigest: string;
      coordinator: string;
      threshold: number;
      rounds: number;
      datasets: readonly { datasetId: bigint | number; licenceId: bigint | number }[];
      /** The run deadline: `runSeconds` from now, or `runDeadline` (unix seconds) as a signed request states it. */
      runSeconds?: number;
      runDeadline?: bigint;
      /** The fee the request signed (`escrow.feeBps`); the contract refuses any other. Default: the contract's. */
      feeBps?: number;
      /** Seconds; default 1 day (the contract's minimum). */
      confirmWindow?: number;
      /** Seconds; default 2 days. */
      fallbackWindow?: number;
    }): Promise<TxResult & EscrowTerms & { locked: bigint }> {
      const buyer = needSigner('openJobEscrow').address;
      const requestDigest = checkBytes32(input.requestDigest, 'requestDigest');
      const pairs = jobOrder(
        input.datasets.map((d, i) => ({
          datasetId: checkUint(d.datasetId, `datasets[${i}].datasetId`),
          licenceId: checkUint(d.licenceId, `datasets[${i}].licenceId`),
        })),
      );
      if (pairs.length === 0) throw new InvalidArgumentError('a job needs at least one dataset');
      const rounds = Number(checkUint(input.rounds, 'rounds', 32));
      const threshold = Number(checkUint(input.threshold, 'threshold', 16));
      if (rounds < 1) throw new InvalidArgumentError('rounds must be at least 1');
      if (threshold < 2 || threshold > pairs.length)
        throw new InvalidArgumentError(
          `threshold t must be in [2, ${pairs.length}] (the job's datasets), got ${threshold}`,
        );
      const window = (v: number | undefined, fallback: number, what: string) => {
        const w = Number(checkUint(v ?? fallback, what, 32));
        if (w < DAY || w > 30 * DAY)
          throw new InvalidArgumentError(`${what} must be between 1 and 30 days, got ${w} s`);
        return w;
      };
      if ((input.runSeconds === undefined) === (input.runDeadline === undefined))
        throw new InvalidArgumentError('give runSeconds or runDeadline, one of them');
      const [feeBps, latest] = await Promise.all([read('JobEscrow', 'feeBps', []), latestTimestamp()]);
      let runDeadline: bigint;
      if (input.runDeadline !== undefined) {
        runDeadline = checkUint(input.runDeadline, 'runDeadline', 40);
        // The contract's bounds, checked before anything is sent (the next block is later than the latest).
        if (runDeadline <= latest + 1n || runDeadline > latest + BigInt(90 * DAY))
          throw new InvalidArgumentError(
            `the run deadline ${runDeadline} must lie in the next 90 days (chain time now ${latest}); sign a new request`,
          );
      } else {
        const runSeconds = Number(checkUint(input.runSeconds!, 'runSeconds', 32));
        if (runSeconds < 1 || runSeconds > 90 * DAY)
          throw new InvalidArgumentError(`runSeconds must be in [1 s, 90 days], got ${runSeconds}`);
        // The next block's timestamp is later than the latest one's: the run lasts at least runSeconds from now.
        runDeadline = latest + BigInt(runSeconds) + 1n;
      }
      if (input.feeBps !== undefined && input.feeBps !== Number(feeBps))
        throw new InvalidArgumentError(
          `the request signs a fee of ${input.feeBps} bps; this JobEscrow charges ${feeBps} bps (sign a new request)`,
        );
      const header: EscrowHeader = {
        currency: ZeroAddress,
        coordinator: checkAddress(input.coordinator, 'coordinator'),
        threshold,
        rounds,
        runDeadline,
        confirmWindow: window(input.confirmWindow, DAY, 'confirmWindow'),
        fallbackWindow: window(input.fallbackWindow, 2 * DAY, 'fallbackWindow'),
        feeBps: Number(feeBps),
      };
      const terms = await Promise.all(pairs.map((p) => getJobTerms(p.datasetId)));
      terms.forEach((t, i) => {
        if (t.ratePerRowRound === 0n)
          throw new InvalidArgumentError(
            `dataset ${pairs[i].datasetId} offers no paid jobs (its owner set no job rate)`,
          );
        if (t.currency !== ZeroAddress)
          throw new InvalidArgumentError(`dataset ${pairs[i].datasetId} prices jobs in ${t.currency}, not ETH`);
      });
      const price = jobPrice(
        terms.map((t) => ({ rate: t.ratePerRowRound, rows: t.rows })),
        rounds,
      );
      const ids = pairs.map((p) => p.datasetId);
      const lids = pairs.map((p) => p.licenceId);
      const { receipt, result } = await write(
        'JobEscrow',
        'open',
        [requestDigest, headerTuple(header), ids, lids, price],
        price,
      );
      const ev = eventArgs('JobEscrow', receipt, 'JobOpened');
      const pinned = await pinnedAt(ids, BigInt(receipt.blockNumber), ev.termsHash, header);
      return {
        ...result,
        jobId: ev.jobId,
        requestDigest,
        buyer,
        header,
        pinned,
        licenceIds: lids,
        price,
        locked: ev.locked,
        openTx: receipt.hash,
        openBlock: BigInt(receipt.blockNumber),
      };
    },

    getEscrow,

    escrowTerms,

    /**
     * JobEscrow's protocol fee in basis points (immutable; a payment's fee is ⌊amount × feeBps / 10⁴⌋): what a
     * request's escrow terms must sign (`escrow.feeBps`).
     */
    async escrowFeeBps(): Promise<number> {
      return Number(await read('JobEscrow', 'feeBps', []));
    },

    /** The escrow job id of `buyer`'s request (JobEscrow.jobIdOf). */
    escrowJobId(buyer: string, requestDigest: string): string {
      return escrowJobId(checkAddress(buyer, 'buyer'), checkBytes32(requestDigest, 'requestDigest'));
    },

    /** The latest block's timestamp (unix seconds): the clock run deadlines and windows are measured on. */
    latestTimestamp,

    /** Signs a job receipt with this client's key in this escrow's domain (the coordinator's confirmation). */
    async signReceipt(receipt: JobReceipt): Promise<string> {
      return signJobReceipt(
        needSigner('signReceipt'),
        jobReceiptDomain(chainId, String(contractOf('JobEscrow').target)),
        receipt,
      );
    },

    /** The EIP-712 domain receipts of this escrow are signed in (verifyingContract = JobEscrow). */
    async receiptDomain() {
      return jobReceiptDomain(chainId, String(contractOf('JobEscrow').target));
    },

    /**
     * Settles a job with a receipt and its signatures (anyone may send it; payments go to the pinned payees). Every
     * signature is checked here first against the key pinned for it (a SignatureError names the dataset), then by
     * the contract: dataset i is paid only with silo i's signature plus the coordinator's (before runDeadline +
     * confirmWindow) or ≥ t silo signatures (after it). Datasets already paid are skipped.
     */
    async settleJob(
      jobId: string,
      bundle: ReceiptBundle,
    ): Promise<
      TxResult & { paidNow: bigint; payments: ContributionPayment[]; byCoordinator: boolean; byQuorum: boolean }
    > {
      const id = checkBytes32(jobId, 'jobId');
      const b = parseReceiptBundle(bundle);
      if (b.receipt.jobId !== id)
        throw new InvalidArgumentError(`the receipt is for job ${b.receipt.jobId}, not ${id}`);
      const terms = await escrowTerms(id);
      if (b.receipt.roundsByDataset.length !== terms.pinned.length)
        throw new InvalidArgumentError(
          `the receipt lists ${b.receipt.roundsByDataset.length} datasets; the job has ${terms.pinned.length}`,
        );
      const domain = jobReceiptDomain(chainId, String(contractOf('JobEscrow').target));
      if (b.coordinatorSignature !== undefined)
        verifyJobReceipt(domain, b.receipt, b.coordinatorSignature, terms.header.coordinator);
      let mask = 0n;
      const sigs: string[] = [];
      const known = new Set(terms.pinned.map((p) => String(p.datasetId)));
      for (const datasetId of Object.keys(b.siloSignatures))
        if (!known.has(datasetId)) throw new InvalidArgumentError(`dataset ${datasetId} is not in job ${id}`);
      terms.pinned.forEach((p, i) => {
        const sig = b.siloSignatures[String(p.datasetId)];
        if (sig === undefined) return;
        try {
          verifyJobReceipt(domain, b.receipt, sig, p.signer);
        } catch (err) {
          if (err instanceof SignatureError)
            throw new SignatureError(err.reason, `dataset ${p.datasetId}: ${err.message}`, { cause: err });
          throw err;
        }
        mask |= 1n << BigInt(i);
        sigs.push(sig.slice(2));
      });
      const { receipt, result } = await write('JobEscrow', 'settle', [
        headerTuple(terms.header),
        terms.pinned.map(pinnedTuple),
        receiptTuple(b.receipt),
        [b.coordinatorSignature ?? '0x', mask, `0x${sigs.join('')}`],
      ]);
      const payments = eventsOf('JobEscrow', receipt, 'ContributionPaid').map((e) =>
        payment(e, terms.header.feeBps, receipt.hash, BigInt(receipt.blockNumber)),
      );
      const digest = hashJobReceipt(domain, b.receipt);
      const c = await read('JobEscrow', 'confirmationOf', [id, digest]);
      return {
        ...result,
        paidNow: payments.reduce((s, p) => s + p.amount, 0n),
        payments,
        byCoordinator: c.byCoordinator,
        byQuorum: c.byQuorum,
      };
    },

    /** Credits the buyer with what a job did not pay and closes it (anyone; from settleEnd or once all is paid). */
    async refundJob(jobId: string): Promise<TxResult & { buyer: string; amount: bigint }> {
      const id = checkBytes32(jobId, 'jobId');
      const { receipt, result } = await write('JobEscrow', 'refund', [id]);
      const ev = eventArgs('JobEscrow', receipt, 'JobRefunded');
      return { ...result, buyer: getAddress(ev.buyer), amount: ev.amount };
    },

    /** What `account` may withdraw now (ETH): from job escrows (pay and refunds) and from model licence sales. */
    async escrowOwed(account: string): Promise<{ jobEscrow: bigint; modelAsset: bigint }> {
      const a = checkAddress(account, 'account');
      const [jobEscrow, modelAsset] = await Promise.all([
        read('JobEscrow', 'owed', [ZeroAddress, a]),
        read('ModelAsset', 'owed', [ZeroAddress, a]),
      ]);
      return { jobEscrow, modelAsset };
    },

    /**
     * Withdraws the ETH the escrow and the model asset owe the signer, each with one transaction where something is
     * owed. Reverts `NothingToWithdraw` when neither owes anything.
     */
    async withdrawEarnings(): Promise<{ jobEscrow: bigint; modelAsset: bigint; transactions: TxResult[] }> {
      const me = needSigner('withdrawEarnings').address;
      const owed = await Promise.all([
        read('JobEscrow', 'owed', [ZeroAddress, me]),
        read('ModelAsset', 'owed', [ZeroAddress, me]),
      ]);
      const transactions: TxResult[] = [];
      const amounts = [0n, 0n];
      for (const [i, name] of (['JobEscrow', 'ModelAsset'] as const).entries()) {
        if (owed[i] === 0n && !(i === 0 && owed[1] === 0n)) continue;
        const { receipt, result } = await write(name, 'withdraw', [ZeroAddress]);
        amounts[i] = eventArgs(name, receipt, 'Withdrawn').amount;
        transactions.push(result);
      }
      return { jobEscrow: amounts[0], modelAsset: amounts[1], transactions };
    },

    /**
     * What a job paid so far, from its logs: one ContributionPaid per dataset paid (amount before the fee, net
     * credited), and the refund to the buyer once the job closed (JobRefunded).
     */
    async escrowPayments(jobId: string): Promise<{
      payments: ContributionPayment[];
      refund: { amount: bigint; txHash: string; blockNumber: bigint } | undefined;
    }> {
      const id = checkBytes32(jobId, 'jobId');
      const escrow = contractOf('JobEscrow');
      const [feeBps, paid, refunded] = await Promise.all([
        read('JobEscrow', 'feeBps', []),
        logsOf('ContributionPaid', id),
        logsOf('JobRefunded', id),
      ]);
      const args = (log: (typeof paid)[number]) =>
        escrow.interface.parseLog(log)!.args.toObject(true) as Record<string, unknown>;
      const r = refunded[0];
      return {
        payments: paid.map((log) => payment(args(log), Number(feeBps), log.transactionHash, BigInt(log.blockNumber))),
        refund:
          r === undefined
            ? undefined
            : { amount: args(r).amount as bigint, txHash: r.transactionHash, blockNumber: BigInt(r.blockNumber) },
      };
    },

    /**
     * A registered model's parents and what each may still claim of the upstream pot (ECONOMICS §2.8): the
     * parents are recomputed from the job's pinned terms and the receipt the model was registered from (named by
     * its ModelRegistered event) and checked against the model's parentsRoot; a parent's due is
     * ⌊gross × share / 10⁶⌋ − taken, credited to the dataset's owner at claim time.
     */
    async modelParents(modelId: bigint | string): Promise<{
      model: ModelAssetInfo;
      receiptDigest: string;
      upstreamPot: bigint;
      parents: (ModelParent & { owner: string; taken: bigint; due: bigint })[];
    }> {
      const id = modelIdOf(modelId);
      const model = await getModelAsset(id);
      const asset = contractOf('ModelAsset');
      let logs;
      try {
        logs = await asset.queryFilter(
          asset.filters.ModelRegistered(id),
          Number(addresses?.deployBlock ?? 0n),
          'latest',
        );
      } catch (err) {
        throw decodeChainError(err, 'ModelAsset ModelRegistered logs', provider);
      }
      if (logs[0] === undefined)
        throw new ChainError('RPC_ERROR', `no ModelRegistered event for model ${modelHex(id)}`);
      const receiptDigest = String(asset.interface.parseLog(logs[0])!.args.receiptDigest);
      const terms = await escrowTerms(modelHex(id));
      const { parents, root } = await parentsOf(terms, await confirmedReceipt(terms, receiptDigest));
      if (root !== model.parentsRoot)
        throw new ChainError(
          'RPC_ERROR',
          `recomputed parents root ${root} differs from the model's ${model.parentsRoot}`,
        );
      const rows = await Promise.all(
        parents.map(async (p) => {
          const [taken, owner] = await Promise.all([
            read('ModelAsset', 'upstreamTaken', [id, p.datasetId]),
            read('DatasetNFT', 'ownerOf', [p.datasetId]),
          ]);
          const due = (model.gross * BigInt(p.shareMicros)) / 1_000_000n - taken;
          return { ...p, owner: getAddress(owner), taken, due };
        }),
      );
      return {
        model,
        receiptDigest,
        upstreamPot: (model.gross * BigInt(model.stackMicros)) / 1_000_000n,
        parents: rows,
      };
    },

    /** Every job payment to `payee` (ContributionPaid logs from the deployment block), oldest first. */
    async earningsOf(payee: string): Promise<ContributionPayment[]> {
      const p = checkAddress(payee, 'payee');
      const escrow = contractOf('JobEscrow');
      const feeBps = Number(await read('JobEscrow', 'feeBps', []));
      try {
        const logs = await escrow.queryFilter(
          escrow.filters.ContributionPaid(null, null, p),
          Number(addresses?.deployBlock ?? 0n),
          'latest',
        );
        return logs.map((log) => {
          const args = escrow.interface.parseLog(log)!.args.toObject(true) as Record<string, unknown>;
          return payment(args, feeBps, log.transactionHash, BigInt(log.blockNumber));
        });
      } catch (err) {
        throw decodeChainError(err, 'JobEscrow ContributionPaid logs', provider);
      }
    },

    /**
     * Registers the model a job trained (ModelAsset.register; the signer must be the job's buyer), from the job's
     * pinned terms and its receipt confirmed with ≥ t silos paid: given, or else read back from the settle
     * transactions. Mints the model token (id = the job id) to the buyer; `price` (wei) then sets its licence price.
     */
    async registerModel(
      jobId: string,
      opts: { receipt?: JobReceipt; price?: bigint } = {},
    ): Promise<TxResult & { modelId: bigint; parents: ModelParent[]; stackMicros: number; receiptDigest: string }> {
      const id = checkBytes32(jobId, 'jobId');
      const terms = await escrowTerms(id);
      const jobReceipt = opts.receipt !== undefined ? validateJobReceipt(opts.receipt) : await confirmedReceipt(terms);
      const { receipt, result } = await write('ModelAsset', 'register', [
        headerTuple(terms.header),
        terms.pinned.map(pinnedTuple),
        receiptTuple(jobReceipt),
      ]);
      const ev = eventArgs('ModelAsset', receipt, 'ModelRegistered');
      const parents = await parentsOf(terms, jobReceipt);
      if (opts.price !== undefined && opts.price > 0n)
        await write('ModelAsset', 'setLicencePrice', [ev.modelId, checkUint(opts.price, 'price', 96)]);
      return {
        ...result,
        modelId: ev.modelId,
        parents: parents.parents,
        stackMicros: Number(ev.stackMicros),
        receiptDigest: ev.receiptDigest,
      };
    },

    /** Sets the ETH licence price of a model (its owner only; 0 stops sales). */
    async setModelLicencePrice(modelId: bigint | string, price: bigint): Promise<TxResult> {
      const id = modelIdOf(modelId);
      return (await write('ModelAsset', 'setLicencePrice', [id, checkUint(price, 'price', 96)])).result;
    },

    getModelAsset,

    /**
     * Buys a licence of a model at its price (read now; `value` overrides, and the contract refuses any amount but
     * the exact price). Returns the split: fee, the parents' upstream pot, the rest credited to the owner.
     */
    async buyModelLicence(
      modelId: bigint | string,
      opts: { value?: bigint } = {},
    ): Promise<TxResult & { modelId: bigint; price: bigint; fee: bigint; upstream: bigint; owner: string }> {
      const id = modelIdOf(modelId);
      const info = await getModelAsset(id);
      if (info.price === 0n && opts.value === undefined)
        throw new InvalidArgumentError(`model ${modelHex(id)} is not for sale (its owner set no licence price)`);
      const value = opts.value !== undefined ? checkUint(opts.value, 'value') : info.price;
      const { receipt, result } = await write('ModelAsset', 'buyLicence', [id], value);
      const ev = eventArgs('ModelAsset', receipt, 'ModelLicenceSold');
      return {
        ...result,
        modelId: id,
        price: ev.price,
        fee: ev.fee,
        upstream: ev.upstream,
        owner: getAddress(ev.owner),
      };
    },

    /** Whether `account` bought a licence of a model. */
    async isModelLicensed(modelId: bigint | string, account: string): Promise<boolean> {
      return read('ModelAsset', 'isLicensed', [modelIdOf(modelId), checkAddress(account, 'account')]);
    },

    /**
     * Credits parent `datasetId`'s owner with its share of a model's upstream pot not yet taken (anyone may send
     * it). The parents and the proof are recomputed from the job's terms and confirmed receipt.
     */
    async claimUpstream(
      modelId: bigint | string,
      datasetId: bigint | number,
      opts: { receipt?: JobReceipt } = {},
    ): Promise<TxResult & { amount: bigint; account: string | undefined }> {
      const id = modelIdOf(modelId);
      const ds = checkUint(datasetId, 'datasetId');
      const terms = await escrowTerms(modelHex(id));
      const jobReceipt = opts.receipt !== undefined ? validateJobReceipt(opts.receipt) : await confirmedReceipt(terms);
      const { parents } = await parentsOf(terms, jobReceipt);
      const index = parents.findIndex((p) => p.datasetId === ds);
      if (index < 0) throw new InvalidArgumentError(`dataset ${ds} is not a parent of model ${modelHex(id)}`);
      const { root, proof } = merkleProof(parents.map(parentLeaf), index);
      const info = await getModelAsset(id);
      if (root !== info.parentsRoot)
        throw new ChainError(
          'RPC_ERROR',
          `recomputed parents root ${root} differs from the model's ${info.parentsRoot}`,
        );
      const { receipt, result } = await write('ModelAsset', 'claimUpstream', [
        id,
        ds,
        parents[index].shareMicros,
        proof,
      ]);
      const ev = eventsOf('ModelAsset', receipt, 'UpstreamClaimed')[0];
      return {
        ...result,
        amount: (ev?.amount as bigint | undefined) ?? 0n,
        account: ev === undefined ? undefined : getAddress(ev.account as string),
      };
    },

    async getBalance(account: string): Promise<bigint> {
      try {
        return await provider.getBalance(checkAddress(account, 'account'));
      } catch (err) {
        throw decodeChainError(err, 'getBalance', provider);
      }
    },
    async getBlockNumber(): Promise<bigint> {
      try {
        return BigInt(await provider.getBlockNumber());
      } catch (err) {
        throw decodeChainError(err, 'getBlockNumber', provider);
      }
    },
    close(): void {
      provider.destroy();
    },
  };
}
