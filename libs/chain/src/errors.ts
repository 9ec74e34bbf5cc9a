// Typed errors of @sealfold/chain. Every failure names its cause so the CLI can print it and exit 1.
import { SealfoldError } from '@sealfold/protocol';

export type ChainErrorCode =
  | 'INVALID_ARGUMENT'
  | 'RPC_UNAVAILABLE'
  | 'RPC_ERROR'
  | 'WRONG_CHAIN'
  | 'CONTRACT_REVERT'
  | 'INSUFFICIENT_FUNDS'
  | 'NOT_DEPLOYED'
  | 'STALE_DEPLOYMENT'
  | 'CONFIG'
  | 'JOURNAL_CORRUPT'
  | 'REPLAY_MISMATCH'
  | 'SIGNATURE';

export class ChainError extends SealfoldError<ChainErrorCode> {
  override readonly name: string = 'ChainError';
}

/** A value rejected at the boundary (bad address, negative amount, malformed hex...). */
export class InvalidArgumentError extends ChainError {
  override readonly name = 'InvalidArgumentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** The RPC endpoint did not answer (refused, timed out, DNS). */
export class RpcUnavailableError extends ChainError {
  override readonly name = 'RpcUnavailableError';
  constructor(
    readonly rpcUrl: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('RPC_UNAVAILABLE', message, options);
  }
}

/** The endpoint answered with a chain id other than the configured one. */
export class WrongChainError extends ChainError {
  override readonly name = 'WrongChainError';
  constructor(
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    super('WRONG_CHAIN', `wrong chain: expected chain id ${expected}, the RPC endpoint serves chain id ${actual}`);
  }
}

/** A contract call reverted; `errorName`/`args` are the decoded custom error when the ABI knows it. */
export class ContractRevertError extends ChainError {
  override readonly name = 'ContractRevertError';
  constructor(
    readonly contract: string,
    readonly errorName: string | undefined,
    readonly args: readonly unknown[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super('CONTRACT_REVERT', message, options);
  }
}

export class InsufficientFundsError extends ChainError {
  override readonly name = 'InsufficientFundsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INSUFFICIENT_FUNDS', message, options);
  }
}

/** The embedded chain's journal is damaged somewhere other than a torn last record. */
export class JournalCorruptError extends ChainError {
  override readonly name = 'JournalCorruptError';
  constructor(
    readonly path: string,
    readonly offset: number,
    message: string,
  ) {
    super('JOURNAL_CORRUPT', `${path} at byte ${offset}: ${message}`);
  }
}

/** Replaying the journal produced a different chain than the one recorded. */
export class ReplayMismatchError extends ChainError {
  override readonly name = 'ReplayMismatchError';
  constructor(
    readonly record: number,
    message: string,
  ) {
    super('REPLAY_MISMATCH', `journal record ${record}: ${message}`);
  }
}

/** EIP-712 verification failure: the reason says which check failed. */
export type SignatureFailure = 'malformed' | 'wrong-chain' | 'expired' | 'signer-mismatch';
export class SignatureError extends ChainError {
  override readonly name = 'SignatureError';
  constructor(
    readonly reason: SignatureFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('SIGNATURE', message, options);
  }
}
