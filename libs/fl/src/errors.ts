import { SealfoldError } from '@sealfold/protocol';

/** Why a libs/fl call was refused; apps map these codes to user-facing reasons. */
export type FlErrorCode =
  | 'INVALID_MODEL_SPEC'
  | 'MODEL_LIMIT_EXCEEDED'
  | 'WEIGHTS_MISMATCH'
  | 'WEIGHTS_CODEC'
  | 'INVALID_DATA'
  | 'INVALID_ARGUMENT'
  | 'BACKEND_UNAVAILABLE';

export class FlError extends SealfoldError<FlErrorCode> {
  override readonly name = 'FlError';
  constructor(code: FlErrorCode, message: string) {
    super(code, `${code}: ${message}`);
  }
}

export function assertArg(condition: boolean, message: string): asserts condition {
  if (!condition) throw new FlError('INVALID_ARGUMENT', message);
}
