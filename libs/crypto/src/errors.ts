// Typed errors of @sealfold/crypto. Messages never contain key material or plaintext.
import { SealfoldError } from '@sealfold/protocol';

/** Why a crypto primitive refused its input. */
export type CryptoErrorCode = 'INVALID_INPUT' | 'INVALID_KEY' | 'INVALID_SIGNATURE' | 'LOW_ORDER_POINT' | 'RANDOMNESS';

/** Raised by the curve primitives (curves.ts) for invalid input. */
export class CryptoError extends SealfoldError<CryptoErrorCode> {
  override readonly name = 'CryptoError';
}

/** Asserts `value` is a Uint8Array of exactly `length` bytes (the only key/signature shape this lib accepts). */
export function assertBytes(
  value: unknown,
  length: number,
  what: string,
  code: CryptoErrorCode = 'INVALID_INPUT',
): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoError(code, `${what} must be a Uint8Array`);
  if (value.length !== length) throw new CryptoError(code, `${what} must be ${length} bytes, got ${value.length}`);
  return value;
}

/** Asserts `value` is a Uint8Array of any length. */
export function assertAnyBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoError('INVALID_INPUT', `${what} must be a Uint8Array`);
  return value;
}

/** Why an age operation failed. Decryption errors never carry plaintext or key bytes. */
export type AgeErrorCode =
  /** A caller passed something that is not bytes where bytes were expected. */
  | 'INVALID_INPUT'
  /** No recipients given to encrypt, or a recipient string that is not `age1…`. */
  | 'INVALID_RECIPIENT'
  /** An identity string that is not `AGE-SECRET-KEY-1…`, or an identity file that does not parse. */
  | 'INVALID_IDENTITY'
  /** The header is not age v1 syntax (or is not canonical). */
  | 'HEADER_INVALID'
  /** A version line other than `age-encryption.org/v1`. */
  | 'UNSUPPORTED_VERSION'
  /** A stanza addressed to our recipient type is malformed (wrong arguments, size, low-order share). */
  | 'STANZA_INVALID'
  /** None of the identities could unwrap the file key (wrong key). */
  | 'NO_IDENTITY_MATCHED'
  /** The header MAC does not verify: the header was modified. */
  | 'HEADER_MAC_MISMATCH'
  /** A payload chunk failed to authenticate: modified, reordered or cut inside a chunk. */
  | 'PAYLOAD_AUTH_FAILED'
  /** A structurally invalid payload: an empty final chunk after full chunks. */
  | 'PAYLOAD_INVALID'
  /** The input ended early: inside the header or nonce, or with no final chunk. */
  | 'TRUNCATED'
  /** Bytes after the final chunk (or after the armor end line). */
  | 'TRAILING_DATA'
  /** ASCII armor that is not strict PEM (RFC 7468 §3) with the AGE ENCRYPTED FILE label. */
  | 'ARMOR_INVALID'
  /** An identity file readable or writable by group/others. */
  | 'INSECURE_PERMISSIONS'
  /** A file operation (decryptToFile, identity files) failed; `cause` holds the I/O error. */
  | 'IO';

export class AgeError extends SealfoldError<AgeErrorCode> {
  override readonly name = 'AgeError';
}

export type KeystoreErrorCode =
  /** Bad options (an empty passphrase, a scrypt N that is not a power of two…). */
  | 'INVALID_INPUT'
  /** initKeystore: a keystore is already there (pass `force` to replace it). */
  | 'EXISTS'
  /** initKeystore: the directory holds files that are not a keystore's; never replaced, even with `force`. */
  | 'NOT_EMPTY'
  /** loadKeystore: no keystore in the directory. */
  | 'NOT_FOUND'
  /** The directory or a secret file is accessible by group/others. */
  | 'INSECURE_PERMISSIONS'
  /** The keystore is encrypted and no passphrase was given (option, SEALFOLD_KEYSTORE_PASSPHRASE or _FILE). */
  | 'PASSPHRASE_REQUIRED'
  | 'WRONG_PASSPHRASE'
  /** Files that do not parse or do not match each other (address, recipient). */
  | 'CORRUPT'
  | 'IO';

/** Raised by the keystore. Messages name files and modes, never passphrases or keys. */
export class KeystoreError extends SealfoldError<KeystoreErrorCode> {
  override readonly name = 'KeystoreError';
}
