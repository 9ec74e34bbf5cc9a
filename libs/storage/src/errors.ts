// Typed errors of @sealfold/storage.
import { SealfoldError } from '@sealfold/protocol';

export type StorageErrorCode = 'INVALID_CID' | 'NOT_FOUND' | 'INVALID_INPUT' | 'BAD_CAR' | 'CLOSED' | 'BACKEND';

export class StorageError extends SealfoldError<StorageErrorCode> {
  override readonly name = 'StorageError';
}
