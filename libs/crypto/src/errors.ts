// Typed errors of @sealfold/crypto. Messages never contain key material or plaintext.

/** Why a crypto primitive refused its input. */
export type CryptoErrorCode = 'INVALID_INPUT' | 'INVALID_KEY' | 'INVALID_SIGNATURE' | 'LOW_ORDER_POINT' | 'RANDOMNESS';

/** Raised by the curve primitives (curves.ts) for invalid input. */
export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
  }
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
