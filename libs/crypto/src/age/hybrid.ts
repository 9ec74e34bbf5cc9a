// age's hybrid post-quantum recipient type, MLKEM768-X25519 (X-Wing) inside HPKE (C2SP age §"The MLKEM768-X25519
// (i.e. X-Wing) hybrid post-quantum recipient type"): `age1pq1…` recipients, `AGE-SECRET-KEY-PQ-1…` identities and
// the `mlkem768x25519` stanza. The KEM is X-Wing (HPKE KEM id 0x647a): ML-KEM-768 from @noble/post-quantum, the
// X25519 half on node:crypto; keys.spec checks it against noble's ml_kem768_x25519.
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { bech32 } from '@scure/base';
import { sha3_256, shake256 } from '@noble/hashes/sha3.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { x25519 } from '../curves.js';
import { AgeError } from '../errors.js';
import { decodeBase64NoPad, encodeBase64NoPad } from './base64.js';
import { hpkeBaseKeySchedule } from './hpke.js';
import { BECH32_LIMIT, decodeBech32, type AgeIdentity, type AgeRecipient, type Stanza } from './keys.js';
import { open, seal } from './primitives.js';

/** HPKE KEM id of MLKEM768-X25519 (draft-ietf-hpke-pq, filippo.io/hpke-pq). */
const KEM_MLKEM768_X25519 = 0x647a;
const STANZA_TYPE = 'mlkem768x25519';
const INFO = new TextEncoder().encode('age-encryption.org/mlkem768x25519');
const RECIPIENT_HRP = 'age1pq';
const IDENTITY_HRP = 'age-secret-key-pq-';
const SEED_BYTES = 32;
const PUBLIC_KEY_BYTES = 1216; // ML-KEM-768 encapsulation key (1184) || X25519 public key (32)
const ENC_BYTES = 1120; // ML-KEM-768 ciphertext (1088) || X25519 ephemeral share (32)
const BODY_BYTES = 32; // 16-byte file key || Poly1305 tag

const MLKEM_PUBLIC_KEY_BYTES = 1184;
/** The X-Wing combiner's label: the 6 ASCII bytes `\.//^\` (draft-connolly-cfrg-xwing-kem §5.3). */
const XWING_LABEL = new Uint8Array([0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c]);

/**
 * X-Wing Combiner, draft-connolly-cfrg-xwing-kem §5.3: SHA3-256(ss_M || ss_X || ct_X || pk_X || XWingLabel). Wipes
 * the two shared secrets it consumed.
 */
function combiner(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  const input = new Uint8Array(ssM.length + ssX.length + ctX.length + pkX.length + XWING_LABEL.length);
  let at = 0;
  for (const part of [ssM, ssX, ctX, pkX, XWING_LABEL]) {
    input.set(part, at);
    at += part.length;
  }
  const sharedSecret = sha3_256(input);
  input.fill(0);
  ssM.fill(0);
  ssX.fill(0);
  return sharedSecret;
}

/**
 * X-Wing expandDecapsulationKey, draft-connolly-cfrg-xwing-kem §5.2: expanded = SHAKE256(sk, 96);
 * (pk_M, sk_M) = ML-KEM-768.KeyGen_internal(expanded[0:32], expanded[32:64]); sk_X = expanded[64:96];
 * pk_X = X25519(sk_X, 9). Done once per identity (noble's decapsulate redoes it, pure JS, for every stanza).
 */
function expandDecapsulationKey(seed: Uint8Array): { skM: Uint8Array; skX: Uint8Array; publicKey: Uint8Array } {
  const expanded = shake256(seed, { dkLen: 96 });
  try {
    const { publicKey: pkM, secretKey: skM } = ml_kem768.keygen(expanded.subarray(0, 64));
    const skX = expanded.slice(64, 96);
    const publicKey = new Uint8Array(PUBLIC_KEY_BYTES);
    publicKey.set(pkM);
    publicKey.set(x25519.publicKey(skX), MLKEM_PUBLIC_KEY_BYTES);
    return { skM, skX, publicKey };
  } finally {
    expanded.fill(0);
  }
}

/**
 * MLKEM768-X25519 (X-Wing) encapsulation, draft-connolly-cfrg-xwing-kem §5.4 Encapsulate:
 *   (ct_M, ss_M) = ML-KEM-768.Encaps(pk_M);  ek_X = random(32);  ct_X = X25519(ek_X, 9);  ss_X = X25519(ek_X, pk_X)
 *   ss = SHA3-256(ss_M || ss_X || ct_X || pk_X || XWingLabel);  ct = ct_M || ct_X
 * As @noble/post-quantum's ml_kem768_x25519.encapsulate, with the X25519 half on node:crypto: noble's pure-JS X25519
 * was ~85% of a hybrid seal's fixed cost (~18 ms against ~2.5 ms for ML-KEM under load). Decapsulation stays noble's.
 */
function encapsulate(publicKey: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  const pkM = publicKey.subarray(0, MLKEM_PUBLIC_KEY_BYTES);
  const pkX = publicKey.subarray(MLKEM_PUBLIC_KEY_BYTES);
  const { cipherText: ctM, sharedSecret: ssM } = ml_kem768.encapsulate(pkM);
  const ekX = x25519.generateSecretKey();
  try {
    const ctX = x25519.publicKey(ekX);
    const ssX = x25519.sharedSecret(ekX, pkX);
    const sharedSecret = combiner(ssM, ssX, ctX, pkX);
    const cipherText = new Uint8Array(ctM.length + ctX.length);
    cipherText.set(ctM);
    cipherText.set(ctX, ctM.length);
    return { cipherText, sharedSecret };
  } finally {
    ekX.fill(0);
  }
}

/** An `age1pq1…` hybrid recipient: the 1216-byte MLKEM768-X25519 public key. */
export class HybridRecipient implements AgeRecipient {
  readonly mixing = 'postquantum';
  readonly #publicKey: Uint8Array;

  constructor(publicKey: Uint8Array) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES)
      throw new AgeError('INVALID_RECIPIENT', `hybrid recipient must be a ${PUBLIC_KEY_BYTES}-byte public key`);
    this.#publicKey = publicKey.slice();
  }

  /** Parses `age1pq1…` (Bech32, HRP "age1pq", lower case). */
  static parse(text: string): HybridRecipient {
    if (typeof text !== 'string') throw new AgeError('INVALID_RECIPIENT', 'recipient must be a string');
    const key = text === text.toLowerCase() ? decodeBech32(text, RECIPIENT_HRP, PUBLIC_KEY_BYTES) : null;
    if (!key) throw new AgeError('INVALID_RECIPIENT', 'not an age hybrid recipient (expected age1pq1…)');
    return new HybridRecipient(key);
  }

  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  toString(): string {
    return bech32.encode(RECIPIENT_HRP, bech32.toWords(this.#publicKey), BECH32_LIMIT);
  }

  toJSON(): string {
    return this.toString();
  }

  // C2SP age §"mlkem768x25519 recipient stanza": HPKE SealBase(pkR = recipient, info, aad = ""); args: type, enc.
  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    let encapsulated: { cipherText: Uint8Array; sharedSecret: Uint8Array };
    try {
      encapsulated = encapsulate(this.#publicKey);
    } catch (err) {
      // ML-KEM's encapsulation-key check (FIPS 203 §7.2) or a low-order X25519 key.
      throw new AgeError('INVALID_RECIPIENT', 'hybrid recipient public key is invalid', { cause: err });
    }
    const { key, nonce } = hpkeBaseKeySchedule(KEM_MLKEM768_X25519, encapsulated.sharedSecret, INFO);
    encapsulated.sharedSecret.fill(0);
    try {
      return [{ args: [STANZA_TYPE, encodeBase64NoPad(encapsulated.cipherText)], body: seal(key, nonce, fileKey) }];
    } finally {
      key.fill(0);
    }
  }
}

/** An `AGE-SECRET-KEY-PQ-1…` hybrid identity (a 32-byte seed). The secret never appears in toString, JSON or inspect. */
export class HybridIdentity implements AgeIdentity {
  readonly #seed: Uint8Array;
  /** The expanded decapsulation key (ML-KEM-768 secret key and X25519 scalar), derived once from the seed. */
  readonly #skM: Uint8Array;
  readonly #skX: Uint8Array;
  readonly #pkX: Uint8Array;
  readonly recipient: HybridRecipient;

  constructor(seed: Uint8Array) {
    if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES)
      throw new AgeError('INVALID_IDENTITY', 'hybrid identity must be a 32-byte seed');
    this.#seed = seed.slice();
    // recipient = PrivateKeyToPublicKey(identity) (filippo.io/hpke-pq, MLKEM768-X25519).
    const { skM, skX, publicKey } = expandDecapsulationKey(this.#seed);
    this.#skM = skM;
    this.#skX = skX;
    this.#pkX = publicKey.slice(MLKEM_PUBLIC_KEY_BYTES);
    this.recipient = new HybridRecipient(publicKey);
  }

  /** identity = read(CSPRNG, 32). */
  static generate(): HybridIdentity {
    const seed = new Uint8Array(randomBytes(SEED_BYTES));
    try {
      return new HybridIdentity(seed);
    } finally {
      seed.fill(0);
    }
  }

  /** Parses `AGE-SECRET-KEY-PQ-1…` (Bech32, upper case as age writes it; lower case accepted). */
  static parse(text: string): HybridIdentity {
    if (typeof text !== 'string') throw new AgeError('INVALID_IDENTITY', 'identity must be a string');
    const seed = decodeBech32(text, IDENTITY_HRP, SEED_BYTES);
    if (!seed) throw new AgeError('INVALID_IDENTITY', 'not an age hybrid identity (expected AGE-SECRET-KEY-PQ-1…)');
    try {
      return new HybridIdentity(seed);
    } finally {
      seed.fill(0);
    }
  }

  /** The secret `AGE-SECRET-KEY-PQ-1…` encoding. Handle with care: this is the only way the secret leaves. */
  toSecretString(): string {
    return bech32.encode(IDENTITY_HRP, bech32.toWords(this.#seed), BECH32_LIMIT).toUpperCase();
  }

  toString(): string {
    return `HybridIdentity(${this.recipient.toString().slice(0, 24)}…)`;
  }

  toJSON(): { type: 'HybridIdentity'; recipient: string } {
    return { type: 'HybridIdentity', recipient: this.recipient.toString() };
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /**
   * X-Wing Decapsulate, draft-connolly-cfrg-xwing-kem §5.5: ss_M = ML-KEM-768.Decaps(sk_M, ct[0:1088]);
   * ss_X = X25519(sk_X, ct[1088:1120]); ss = Combiner(ss_M, ss_X, ct_X, pk_X). Throws on a low-order ct_X.
   */
  #decapsulate(enc: Uint8Array): Uint8Array {
    const ctX = enc.subarray(ENC_BYTES - 32);
    const ssM = ml_kem768.decapsulate(enc.subarray(0, ENC_BYTES - 32), this.#skM);
    let ssX: Uint8Array;
    try {
      ssX = x25519.sharedSecret(this.#skX, ctX);
    } catch (err) {
      ssM.fill(0);
      throw err;
    }
    return combiner(ssM, ssX, ctX, this.#pkX);
  }

  // C2SP age: ignore stanzas whose first argument is not mlkem768x25519; reject any with other than two arguments or
  // an enc that is not canonical base64 of 1120 bytes; check the body is 32 bytes before decrypting (partitioning
  // oracles). A low-order X25519 share (all-zero shared secret) makes the KEM throw: rejected as malformed.
  unwrapFileKey(stanzas: readonly Stanza[]): Uint8Array | null {
    for (const stanza of stanzas) {
      if (stanza.args[0] !== STANZA_TYPE) continue;
      if (stanza.args.length !== 2)
        throw new AgeError('STANZA_INVALID', 'mlkem768x25519 stanza must have two arguments');
      const enc = decodeBase64NoPad(stanza.args[1]);
      if (!enc || enc.length !== ENC_BYTES)
        throw new AgeError('STANZA_INVALID', `mlkem768x25519 stanza enc is not canonical base64 of ${ENC_BYTES} bytes`);
      if (stanza.body.length !== BODY_BYTES)
        throw new AgeError('STANZA_INVALID', `mlkem768x25519 stanza body must be ${BODY_BYTES} bytes`);
      let sharedSecret: Uint8Array;
      try {
        sharedSecret = this.#decapsulate(enc);
      } catch (err) {
        throw new AgeError('STANZA_INVALID', 'mlkem768x25519 stanza enc has a low-order X25519 share', { cause: err });
      }
      const { key, nonce } = hpkeBaseKeySchedule(KEM_MLKEM768_X25519, sharedSecret, INFO);
      sharedSecret.fill(0);
      const fileKey = open(key, nonce, stanza.body);
      key.fill(0);
      if (fileKey) return new Uint8Array(fileKey);
    }
    return null;
  }
}
