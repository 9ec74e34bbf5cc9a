// Exit codes and the mapping from the libraries' typed errors to them. The CLI promises: 0 ok, 1 user error (bad
// input, validation, chain revert, missing CID, RPC down), 2 internal error (a bug or a broken installation).
// Lib errors are classified by their `name` (every lib error class sets one); their code is SealfoldError's.
import { SealfoldError, errorCode } from '@sealfold/protocol';

export const EXIT_OK = 0;
export const EXIT_USER = 1;
export const EXIT_INTERNAL = 2;

/** An error the CLI raises itself; `code` is a stable machine-readable string shown under --json. */
export class CliError extends SealfoldError {
  override readonly name = 'CliError';
  constructor(
    code: string,
    message: string,
    readonly exitCode: typeof EXIT_USER | typeof EXIT_INTERNAL = EXIT_USER,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export interface Failure {
  exitCode: typeof EXIT_USER | typeof EXIT_INTERNAL;
  code: string;
  message: string;
}

/** Library error classes whose failures are the user's input or environment (exit 1), by class name. */
const USER_ERROR_CLASSES = new Set([
  'DatasetError',
  'AgeError',
  'CryptoError',
  'KeystoreError',
  'ManifestError',
  'ModelBundleError',
  'StorageError',
  'ContentNotFoundError',
  'ChainError',
  'InvalidArgumentError',
  'RpcUnavailableError',
  'WrongChainError',
  'ContractRevertError',
  'InsufficientFundsError',
  'SignatureError',
  'NotDeployedError',
]);
/** Codes that mean a damaged installation or a bug even when raised by a user-facing class (exit 2). */
const INTERNAL_CODES = new Set(['JOURNAL_CORRUPT', 'REPLAY_MISMATCH', 'INTERNAL']);
/** Node system errors caused by a path or address the user gave (exit 1); others (EIO, ENOSPC...) are exit 2. */
const USER_SYSCALL_CODES = new Set([
  'ENOENT',
  'EACCES',
  'EPERM',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'ENOTEMPTY',
  'ECONNREFUSED',
  'EADDRINUSE',
  'EROFS',
]);
const AGE_IO = 'IO';

const codeOf = errorCode;

/** Turns anything thrown into the one-line failure the CLI prints and the exit code it returns. */
export function toFailure(error: unknown): Failure {
  if (!(error instanceof Error)) return { exitCode: EXIT_INTERNAL, code: 'INTERNAL', message: String(error) };
  const code = codeOf(error);
  const message = oneLine(error.message);
  if (error instanceof CliError) return { exitCode: error.exitCode, code: error.code, message };
  if (USER_ERROR_CLASSES.has(error.name) || error.name.endsWith('ChainError')) {
    if (code !== undefined && INTERNAL_CODES.has(code)) return { exitCode: EXIT_INTERNAL, code, message };
    if (error.name === 'AgeError' && code === AGE_IO) {
      const cause = (error as { cause?: unknown }).cause;
      const sys = cause instanceof Error ? codeOf(cause) : undefined;
      if (sys === undefined || !USER_SYSCALL_CODES.has(sys)) return { exitCode: EXIT_INTERNAL, code, message };
    }
    return { exitCode: EXIT_USER, code: code ?? error.name, message };
  }
  if (code !== undefined && USER_SYSCALL_CODES.has(code) && 'syscall' in error) {
    return { exitCode: EXIT_USER, code, message };
  }
  return { exitCode: EXIT_INTERNAL, code: code ?? 'INTERNAL', message: `internal error: ${message}` };
}

/** Error messages are printed on one line: newlines would break `{"error": …}` consumers that grep stderr. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}
