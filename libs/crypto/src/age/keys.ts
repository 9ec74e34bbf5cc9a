// age X25519 identities and recipients (C2SP age §"The X25519 recipient type"), their Bech32 encodings, and
// identity files in age-keygen's format.
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { bech32 } from '@scure/base';
import { x25519 } from '../curves.js';
import { AgeError, CryptoError } from '../errors.js';
import { decodeBase64NoPad, encodeBase64NoPad } from './base64.js';
import { hkdf32, open, seal } from './primitives.js';

/** One header stanza: `-> args[0] args[1] …` followed by the base64 body. args[0] is the stanza type. */
export interface Stanza {
  readonly args: readonly string[];
  readonly body: Uint8Array;
}

/**
 * How a recipient type may be mixed with others in one file (C2SP age): 'postquantum' recipients only with other
 * post-quantum ones (§"The MLKEM768-X25519 … recipient type": SHOULD NOT mix with non-quantum-resistant types),
 * 'alone' (scrypt) with nothing (§"scrypt recipient stanza": MUST be the only stanza). Default 'classic'.
 */
export type RecipientMixing = 'classic' | 'postquantum' | 'alone';

/** Something the file key can be encrypted to. */
export interface AgeRecipient {
  wrapFileKey(fileKey: Uint8Array): Stanza[];
  readonly mixing?: RecipientMixing;
}

/** Something that can recover the file key from the header stanzas (null: none addressed to it). */
export interface AgeIdentity {
  unwrapFileKey(stanzas: readonly Stanza[]): Uint8Array | null;
}

const X25519_INFO = 'age-encryption.org/v1/X25519';
const ZERO_NONCE = new Uint8Array(12);
const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';
// C2SP age: Bech32 "without length limits on the data part" (BIP 173 caps at 90); hybrid recipients are 1216 bytes.
export const BECH32_LIMIT = 4096;

/** Decodes Bech32 with the given (lower-case) HRP and payload length, or returns null. */
export function decodeBech32(text: string, hrp: string, length = 32): Uint8Array | null {
  const decoded = bech32.decodeUnsafe(text, BECH32_LIMIT);
  if (!decoded || decoded.prefix !== hrp) return null;
  try {
    const bytes = bech32.fromWords(decoded.words);
    return bytes.length === length ? bytes : null;
  } catch {
    return null;
  }
}

/** An `age1…` X25519 recipient (public key). */
export class X25519Recipient implements AgeRecipient {
  readonly mixing = 'classic';
  readonly #publicKey: Uint8Array;

  constructor(publicKey: Uint8Array) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32)
      throw new AgeError('INVALID_RECIPIENT', 'X25519 recipient must be a 32-byte public key');
    this.#publicKey = publicKey.slice();
  }

  /** Parses `age1…` (Bech32, HRP "age"). */
  static parse(text: string): X25519Recipient {
    if (typeof text !== 'string') throw new AgeError('INVALID_RECIPIENT', 'recipient must be a string');
    const key = text === text.toLowerCase() ? decodeBech32(text, RECIPIENT_HRP) : null;
    if (!key) throw new AgeError('INVALID_RECIPIENT', 'not an age X25519 recipient (expected age1…)');
    return new X25519Recipient(key);
  }

  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  /** The `age1…` encoding. */
  toString(): string {
    return bech32.encode(RECIPIENT_HRP, bech32.toWords(this.#publicKey), BECH32_LIMIT);
  }

  toJSON(): string {
    return this.toString();
  }

  // C2SP age, X25519 recipient stanza: fresh ephemeral per stanza; salt = share || recipient.
  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    const ephemeral = x25519.generateSecretKey();
    try {
      const share = x25519.publicKey(ephemeral);
      const shared = x25519.sharedSecret(ephemeral, this.#publicKey);
      const wrapKey = hkdf32(shared, concat(share, this.#publicKey), X25519_INFO);
      return [{ args: ['X25519', encodeBase64NoPad(share)], body: seal(wrapKey, ZERO_NONCE, fileKey) }];
    } catch (err) {
      if (err instanceof CryptoError) throw new AgeError('INVALID_RECIPIENT', 'recipient public key has low order');
      throw err;
    } finally {
      ephemeral.fill(0);
    }
  }
}

/** An `AGE-SECRET-KEY-1…` X25519 identity. The secret never appears in toString, JSON or util.inspect. */
export class X25519Identity implements AgeIdentity {
  readonly #secret: Uint8Array;
  readonly recipient: X25519Recipient;

  constructor(secretKey: Uint8Array) {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32)
      throw new AgeError('INVALID_IDENTITY', 'X25519 identity must be a 32-byte secret key');
    this.#secret = secretKey.slice();
    this.recipient = new X25519Recipient(x25519.publicKey(this.#secret));
  }

  /** identity = read(CSPRNG, 32). */
  static generate(): X25519Identity {
    const secret = new Uint8Array(randomBytes(32));
    try {
      return new X25519Identity(secret);
    } finally {
      secret.fill(0);
    }
  }

  /** Parses `AGE-SECRET-KEY-1…` (Bech32, HRP "AGE-SECRET-KEY-", upper case as age writes it; lower case accepted). */
  static parse(text: string): X25519Identity {
    if (typeof text !== 'string') throw new AgeError('INVALID_IDENTITY', 'identity must be a string');
    const key = decodeBech32(text, IDENTITY_HRP);
    if (!key) throw new AgeError('INVALID_IDENTITY', 'not an age X25519 identity (expected AGE-SECRET-KEY-1…)');
    try {
      return new X25519Identity(key);
    } finally {
      key.fill(0);
    }
  }

  /** The secret `AGE-SECRET-KEY-1…` encoding. Handle with care: this is the only way the secret leaves. */
  toSecretString(): string {
    return bech32.encode(IDENTITY_HRP, bech32.toWords(this.#secret), BECH32_LIMIT).toUpperCase();
  }

  toString(): string {
    return `X25519Identity(${this.recipient.toString()})`;
  }

  toJSON(): { type: 'X25519Identity'; recipient: string } {
    return { type: 'X25519Identity', recipient: this.recipient.toString() };
  }

  [inspect.custom](): string {
    return this.toString();
  }

  // C2SP age: ignore stanzas whose first argument is not X25519; reject malformed ones; abort on an all-zero
  // shared secret; check the body is 32 bytes before trying to decrypt (partitioning oracles).
  unwrapFileKey(stanzas: readonly Stanza[]): Uint8Array | null {
    for (const stanza of stanzas) {
      if (stanza.args[0] !== 'X25519') continue;
      if (stanza.args.length !== 2) throw new AgeError('STANZA_INVALID', 'X25519 stanza must have two arguments');
      const share = decodeBase64NoPad(stanza.args[1]);
      if (!share || share.length !== 32)
        throw new AgeError('STANZA_INVALID', 'X25519 stanza share is not canonical base64 of 32 bytes');
      if (stanza.body.length !== 32) throw new AgeError('STANZA_INVALID', 'X25519 stanza body must be 32 bytes');
      let shared: Uint8Array;
      try {
        shared = x25519.sharedSecret(this.#secret, share);
      } catch (err) {
        if (err instanceof CryptoError) throw new AgeError('STANZA_INVALID', 'X25519 stanza share has low order');
        throw err;
      }
      const wrapKey = hkdf32(shared, concat(share, this.recipient.publicKey), X25519_INFO);
      const fileKey = open(wrapKey, ZERO_NONCE, stanza.body);
      if (fileKey) return new Uint8Array(fileKey);
    }
    return null;
  }
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
