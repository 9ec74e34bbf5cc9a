// The EIP-712 domain constants and `types` of a JobRequest v3, with no imports, so that a browser bundle can build
// the typed data a wallet signs (eth_signTypedData_v4) from the same definition the coordinator and silos verify.

export const SEALFOLD_DOMAIN_NAME = 'Sealfold';
/**
 * "4": JobRequest v4 adds the escrow terms (issue 20: currency, run deadline, confirm and fallback windows, fee), which
 * JobEscrow pins and silos check on chain. "3": JobRequest v3 adds the job schema hash (issue 13: features, class order); "2" signed coordinator, recipient,
 * training settings and SecAgg+ terms. Signatures under an older version do not verify.
 */
export const SEALFOLD_DOMAIN_VERSION = '4';

/** EIP-712 `types` for a JobRequest (the domain type is implied by the domain's fields). */
export const JOB_REQUEST_TYPES = {
  JobRequest: [
    { name: 'buyer', type: 'address' },
    { name: 'coordinator', type: 'address' },
    { name: 'datasets', type: 'uint256[]' },
    { name: 'licences', type: 'uint256[]' },
    { name: 'modelSpecHash', type: 'bytes32' },
    { name: 'jobSchemaHash', type: 'bytes32' },
    { name: 'recipient', type: 'string' },
    { name: 'strategy', type: 'string' },
    { name: 'rounds', type: 'uint32' },
    { name: 'training', type: 'Training' },
    { name: 'dp', type: 'DpParams' },
    { name: 'secagg', type: 'SecAggTerms' },
    { name: 'escrow', type: 'EscrowTerms' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint64' },
    { name: 'chainId', type: 'uint256' },
  ],
  DpParams: [
    { name: 'noiseMultiplierMilli', type: 'uint32' },
    { name: 'clipNormMicro', type: 'uint64' },
    { name: 'deltaAtto', type: 'uint64' },
    // 'record' | 'owner' (libs/protocol DP_LEVELS): a string, so a wallet shows the buyer what it signs.
    { name: 'level', type: 'string' },
  ],
  Training: [
    { name: 'localEpochs', type: 'uint32' },
    { name: 'batchSize', type: 'uint32' },
    { name: 'learningRateMicro', type: 'uint64' },
    { name: 'optimizer', type: 'string' },
    { name: 'fedProxMuMicro', type: 'uint64' },
    { name: 'updateClipMicro', type: 'uint64' },
    { name: 'maxWeight', type: 'uint32' },
  ],
  EscrowTerms: [
    { name: 'currency', type: 'address' },
    { name: 'runDeadline', type: 'uint64' },
    { name: 'confirmWindow', type: 'uint32' },
    { name: 'fallbackWindow', type: 'uint32' },
    { name: 'feeBps', type: 'uint16' },
  ],
  SecAggTerms: [
    { name: 'enabled', type: 'bool' },
    { name: 'minContributors', type: 'uint32' },
  ],
} as const;
