// Public face of @sealfold/chain.
export * from './errors.js';
export { readJournal, encodeRecord, JournalWriter, type JournalReadResult } from './journal.js';
export {
  DEFAULT_BLOCK_GAS_LIMIT,
  DEFAULT_CHAIN_ID,
  DEV_MNEMONIC,
  deriveDevAccounts,
  startEmbeddedChainCore,
  type Deployment,
  type DevAccount,
  type EmbeddedChain,
  type EmbeddedChainOptions,
  type RunningChainCore,
} from './embedded-chain.js';
export {
  JOB_REQUEST_TYPES,
  SEALFOLD_DOMAIN_NAME,
  SEALFOLD_DOMAIN_VERSION,
  hashJobRequest,
  sealfoldDomain,
  signJobRequest,
  validateJobRequest,
  verifyJobRequest,
  verifyAndHashJobRequest,
  type SealfoldDomain,
  type VerifyOptions,
} from './eip712.js';
export {
  CONTRACTS_DIGEST,
  assertCurrentDeployment,
  startEmbeddedChain,
  type StartEmbeddedChainOptions,
} from './embedded.js';
export { writeFileAtomic } from './fs-atomic.js';
export { ARTIFACTS, type ContractName } from './artifacts.js';
export {
  DEFAULT_MIN_OWNERS,
  LICENCE_REASONS,
  addressesFromDeployment,
  checkAddress,
  connectChain,
  decodeChainError,
  deployContracts,
  termsHash,
  parseDeployment,
  readDeploymentFile,
  type ConnectOptions,
  type DatasetInfo,
  type DatasetTerms,
  type DatasetTermsInput,
  type DeployOptions,
  type DeployResult,
  type DeploymentFile,
  type GrantTerms,
  type LicenceCheck,
  type LicenceInfo,
  type LicenceReason,
  type ModelInfo,
  type ModelRecordInput,
  type SaleInfo,
  type SealfoldAddresses,
  type SealfoldChain,
  type TxResult,
} from './client.js';
export { DEFAULT_RPC_TIMEOUT_MS, createProvider, probeChainId } from './rpc.js';
export {
  FileCursorStore,
  MemoryCursorStore,
  createEventIndexer,
  type CursorStore,
  type DecodedLog,
  type EventHandler,
  type EventIndexer,
  type IndexedContract,
  type IndexerOptions,
  type SyncResult,
} from './indexer.js';
export type { AbiParamValue, AbiParamsObject, EventArgs, ReturnOf } from './abi-types.js';
export {
  createSealfoldIndexer,
  createEscrowIndexer,
  type SealfoldEvent,
  type SealfoldEventOf,
  type SealfoldIndexerOptions,
} from './events.js';
export {
  CHAIN_ENV,
  chainConfigFromEnv,
  connectFromEnv,
  loadSignerFromKeyFile,
  parseContractsSetting,
  type ChainEnvConfig,
} from './config.js';
export {
  JOB_RECEIPT_DOMAIN_NAME,
  JOB_RECEIPT_DOMAIN_VERSION,
  JOB_RECEIPT_TYPES,
  hashJobReceipt,
  jobReceiptDomain,
  roundsByDatasetOf,
  signJobReceipt,
  survivorsBitmap,
  transcriptRoot,
  validateJobReceipt,
  verifyJobReceipt,
  type JobReceipt,
  type TranscriptRound,
} from './job-receipt.js';
export {
  escrowHeaderOf,
  escrowJobId,
  jobOrder,
  merkleProof,
  normaliseJobTerms,
  parentLeaf,
  parseReceiptBundle,
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
export { DATASET_DP_LEVELS, dpLevelCode, dpLevelOf, type DatasetDpLevel } from './terms-hash.js';
