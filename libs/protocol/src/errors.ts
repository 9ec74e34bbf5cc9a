// The one base of Sealfold's typed errors: every lib and app error class extends it, so a caller reads a failure's
// stable machine-readable `code` through `errorCode(e)` (or `instanceof SealfoldError`) instead of casting.

export class SealfoldError<Code extends string = string> extends Error {
  override readonly name: string = 'SealfoldError';
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The `code` of a SealfoldError, or of a Node system error (ENOENT, …); undefined for anything else. */
export function errorCode(error: unknown): string | undefined {
  if (error instanceof SealfoldError) return error.code;
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}
