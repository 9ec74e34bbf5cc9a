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
  type SealfoldDomain,
  type VerifyOptions,
} from './eip712.js';
