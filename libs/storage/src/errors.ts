// Typed errors of @sealfold/storage.

export type StorageErrorCode = 'INVALID_CID' | 'NOT_FOUND' | 'INVALID_INPUT' | 'BAD_CAR' | 'CLOSED' | 'BACKEND';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
