// Typed failures of the SecAgg+ stage machines. A client throws SecAggError when it refuses a message (it then
// handles nothing more in that round); the server throws it when the round must abort.
import { SealfoldError } from '@sealfold/protocol';

export type SecAggErrorCode =
  /** Parameters out of range or able to overflow the 2^32 sum. */
  | 'INVALID_PARAMS'
  /** A malformed or inconsistent message (wrong sizes, unknown or duplicate ids). */
  | 'INVALID_MESSAGE'
  /** A message of the wrong type for the current stage, or after the machine finished. */
  | 'UNEXPECTED_MESSAGE'
  | 'WRONG_JOB'
  | 'WRONG_ROUND'
  /** Fewer than t clients survive a stage. */
  | 'TOO_FEW_SURVIVORS'
  /** A live client has fewer than t live members in its neighbourhood. */
  | 'TOO_FEW_NEIGHBOURS'
  /** A key entry without a valid Ed25519 signature or wallet certificate. */
  | 'BAD_SIGNATURE'
  | 'BAD_CERTIFICATE'
  /** Two advertised keys are equal (Bonawitz et al. Fig. 4 round 1: "all public key pairs are different"). */
  | 'DUPLICATE_KEY'
  /** A share bundle failed AES-GCM authentication or names the wrong parties. */
  | 'DECRYPTION_FAILED'
  /** The unmask request's survivor list differs from the list this client signed. */
  | 'SURVIVOR_LIST_MISMATCH'
  /** The unmask request names a peer both as survivor and as dropped. */
  | 'BOTH_SHARES_REQUESTED'
  /** Revealed shares do not reconstruct the advertised key. */
  | 'RECONSTRUCTION_FAILED'
  /** The server sent an abort. */
  | 'ABORTED';

export class SecAggError extends SealfoldError<SecAggErrorCode> {
  override readonly name = 'SecAggError';
}

export function refuse(code: SecAggErrorCode, message: string): never {
  throw new SecAggError(code, message);
}
