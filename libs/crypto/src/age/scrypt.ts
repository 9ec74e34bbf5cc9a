// age's passphrase recipient type (C2SP age §"The scrypt recipient type"): the file key wrapped with a key derived by
// scrypt (RFC 7914) from the passphrase. node:crypto's scrypt (OpenSSL) does the work.
import { randomBytes, scryptSync } from 'node:crypto';
import { inspect } from 'node:util';
import { AgeError } from '../errors.js';
import { decodeBase64NoPad, encodeBase64NoPad } from './base64.js';
import { concat, type AgeIdentity, type AgeRecipient, type Stanza } from './keys.js';
import { open, seal } from './primitives.js';

const STANZA_TYPE = 'scrypt';
const SALT_LABEL = new TextEncoder().encode('age-encryption.org/v1/scrypt');
const SALT_BYTES = 16;
const BODY_BYTES = 32;
const ZERO_NONCE = new Uint8Array(12);
const WORK_FACTOR = /^[1-9][0-9]*$/; // C2SP age: decimal, no leading zeroes
/** log2(N) age uses when encrypting (about a second of work). */
export const SCRYPT_DEFAULT_WORK_FACTOR = 18;
/** The spec says identities SHOULD cap the work factor; 22 is age's cap (N = 4 Mi: 4 GiB of memory, many seconds). */
export const SCRYPT_MAX_WORK_FACTOR = 22;

function checkPassphrase(passphrase: unknown, code: 'INVALID_RECIPIENT' | 'INVALID_IDENTITY'): Uint8Array {
  if (typeof passphrase !== 'string' || passphrase.length === 0)
    throw new AgeError(code, 'the passphrase must be a non-empty string');
  return new TextEncoder().encode(passphrase);
}

function checkWorkFactor(logN: unknown, code: 'INVALID_RECIPIENT' | 'INVALID_IDENTITY'): number {
  if (!Number.isInteger(logN) || (logN as number) < 1 || (logN as number) > SCRYPT_MAX_WORK_FACTOR)
    throw new AgeError(code, `scrypt work factor must be an integer from 1 to ${SCRYPT_MAX_WORK_FACTOR}`);
  return logN as number;
}

// wrap key = scrypt(N = 2^logN, r = 8, p = 1, dkLen = 32, S = "age-encryption.org/v1/scrypt" || salt, P = passphrase)
function wrapKey(passphrase: Uint8Array, salt: Uint8Array, logN: number): Buffer {
  const N = 2 ** logN;
  return scryptSync(passphrase, concat(SALT_LABEL, salt), 32, { N, r: 8, p: 1, maxmem: 128 * 8 * N + (1 << 24) });
}

/** Encrypts the file key to a passphrase. It must be the file's only recipient. */
export class ScryptRecipient implements AgeRecipient {
  readonly mixing = 'alone';
  readonly #passphrase: Uint8Array;
  readonly #logN: number;

  constructor(passphrase: string, options: { workFactor?: number } = {}) {
    this.#passphrase = checkPassphrase(passphrase, 'INVALID_RECIPIENT');
    this.#logN = checkWorkFactor(options.workFactor ?? SCRYPT_DEFAULT_WORK_FACTOR, 'INVALID_RECIPIENT');
  }

  toString(): string {
    return `ScryptRecipient(work factor ${this.#logN})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  // A new 16-byte salt per stanza and file; args: "scrypt", base64(salt), decimal log2(N).
  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    const salt = new Uint8Array(randomBytes(SALT_BYTES));
    const key = wrapKey(this.#passphrase, salt, this.#logN);
    try {
      return [
        { args: [STANZA_TYPE, encodeBase64NoPad(salt), String(this.#logN)], body: seal(key, ZERO_NONCE, fileKey) },
      ];
    } finally {
      key.fill(0);
    }
  }
}

/** Decrypts files encrypted to a passphrase, refusing work factors above `maxWorkFactor` (default 22). */
export class ScryptIdentity implements AgeIdentity {
  readonly #passphrase: Uint8Array;
  readonly #maxLogN: number;

  constructor(passphrase: string, options: { maxWorkFactor?: number } = {}) {
    this.#passphrase = checkPassphrase(passphrase, 'INVALID_IDENTITY');
    this.#maxLogN = checkWorkFactor(options.maxWorkFactor ?? SCRYPT_MAX_WORK_FACTOR, 'INVALID_IDENTITY');
  }

  toString(): string {
    return 'ScryptIdentity(…)';
  }

  toJSON(): { type: 'ScryptIdentity' } {
    return { type: 'ScryptIdentity' };
  }

  [inspect.custom](): string {
    return this.toString();
  }

  // C2SP age: an scrypt stanza MUST be the only stanza (headers with others are rejected); three arguments, a
  // canonical 16-byte salt, a decimal work factor without leading zeroes, under our cap; a 32-byte body.
  unwrapFileKey(stanzas: readonly Stanza[]): Uint8Array | null {
    const stanza = stanzas.find((s) => s.args[0] === STANZA_TYPE);
    if (!stanza) return null;
    if (stanzas.length !== 1) throw new AgeError('STANZA_INVALID', 'an scrypt stanza must be alone in the header');
    if (stanza.args.length !== 3) throw new AgeError('STANZA_INVALID', 'scrypt stanza must have three arguments');
    const salt = decodeBase64NoPad(stanza.args[1]);
    if (!salt || salt.length !== SALT_BYTES)
      throw new AgeError('STANZA_INVALID', 'scrypt stanza salt is not canonical base64 of 16 bytes');
    if (!WORK_FACTOR.test(stanza.args[2]))
      throw new AgeError('STANZA_INVALID', 'scrypt work factor is not a decimal number without leading zeroes');
    const logN = Number(stanza.args[2]);
    if (logN > this.#maxLogN)
      throw new AgeError('STANZA_INVALID', `scrypt work factor ${logN} is above the limit of ${this.#maxLogN}`);
    if (stanza.body.length !== BODY_BYTES) throw new AgeError('STANZA_INVALID', 'scrypt stanza body must be 32 bytes');
    const key = wrapKey(this.#passphrase, salt, logN);
    try {
      const fileKey = open(key, ZERO_NONCE, stanza.body);
      return fileKey ? new Uint8Array(fileKey) : null;
    } finally {
      key.fill(0);
    }
  }
}
