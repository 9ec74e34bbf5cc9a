import { SealfoldError } from '@sealfold/protocol';

export class DatabaseError extends SealfoldError<'DATABASE'> {
  override readonly name = 'DatabaseError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATABASE', message, options);
  }
}
