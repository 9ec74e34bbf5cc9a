// X25519 (RFC 7748) and Ed25519 (RFC 8032) with two interchangeable backends:
//  - `x25519` / `ed25519`: node:crypto (OpenSSL) — the fast path (ECDH ~0.04 ms vs ~2.7 ms in pure JS here);
//  - `nobleX25519` / `nobleEd25519`: @noble/curves — the portable path.
// Both take and return raw 32-byte keys (Ed25519 secret = the RFC 8032 32-byte seed) and 64-byte signatures,
// and produce byte-identical results (see curves.spec.ts).
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { ed25519 as nobleEd, x25519 as nobleX } from '@noble/curves/ed25519.js';
import { CryptoError, assertAnyBytes, assertBytes } from './errors.js';

export const KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface X25519 {
  /** 32 uniformly random bytes (clamping happens inside the scalar multiplication, RFC 7748 §5). */
  generateSecretKey(): Uint8Array;
  /** X25519(secret, 9). */
  publicKey(secret: Uint8Array): Uint8Array;
  /** X25519(secret, peerPublic); throws CryptoError LOW_ORDER_POINT on the all-zero output (RFC 7748 §6.1). */
  sharedSecret(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array;
}

export interface Ed25519 {
  /** A random 32-byte RFC 8032 seed. */
  generateSecretKey(): Uint8Array;
  publicKey(secret: Uint8Array): Uint8Array;
  /** Deterministic 64-byte signature (RFC 8032 §5.1.6). */
  sign(message: Uint8Array, secret: Uint8Array): Uint8Array;
  /** true iff `signature` is valid; false for any well-sized but invalid signature or key. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

// Fixed DER prefixes: PKCS#8 / SPKI with the RFC 8410 OIDs 1.3.101.110 (X25519) and 1.3.101.112 (Ed25519).
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

const der = (prefix: Buffer, raw: Uint8Array): Buffer => Buffer.concat([prefix, raw]);
const privateKeyObject = (prefix: Buffer, raw: Uint8Array): KeyObject =>
  createPrivateKey({ key: der(prefix, raw), format: 'der', type: 'pkcs8' });
const publicKeyObject = (prefix: Buffer, raw: Uint8Array): KeyObject =>
  createPublicKey({ key: der(prefix, raw), format: 'der', type: 'spki' });
/** The raw key is the last 32 bytes of the SPKI encoding. */
const rawPublic = (key: KeyObject): Uint8Array =>
  new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(-KEY_BYTES));

const isAllZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0);
const lowOrder = () =>
  new CryptoError('LOW_ORDER_POINT', 'X25519 shared secret is all zero: peer public key has low order (RFC 7748 §6.1)');

const secretKey = (v: unknown) => assertBytes(v, KEY_BYTES, 'secret key', 'INVALID_KEY');
const publicKey = (v: unknown) => assertBytes(v, KEY_BYTES, 'public key', 'INVALID_KEY');
const signatureBytes = (v: unknown) => assertBytes(v, SIGNATURE_BYTES, 'signature', 'INVALID_SIGNATURE');

const random32 = (): Uint8Array => new Uint8Array(randomBytes(KEY_BYTES));

/** X25519 on node:crypto. */
export const x25519: X25519 = Object.freeze({
  generateSecretKey: random32,
  publicKey(secret: Uint8Array): Uint8Array {
    return rawPublic(createPublicKey(privateKeyObject(X25519_PKCS8, secretKey(secret))));
  },
  sharedSecret(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
    const privateKey = privateKeyObject(X25519_PKCS8, secretKey(secret));
    const peer = publicKeyObject(X25519_SPKI, publicKey(peerPublic));
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey, publicKey: peer });
    } catch {
      // OpenSSL refuses to derive the all-zero value (its only failure mode for well-formed 32-byte keys).
      throw lowOrder();
    }
    if (isAllZero(shared)) throw lowOrder();
    return new Uint8Array(shared);
  },
});

/** Ed25519 on node:crypto. */
export const ed25519: Ed25519 = Object.freeze({
  generateSecretKey: random32,
  publicKey(secret: Uint8Array): Uint8Array {
    return rawPublic(createPublicKey(privateKeyObject(ED25519_PKCS8, secretKey(secret))));
  },
  sign(message: Uint8Array, secret: Uint8Array): Uint8Array {
    const msg = assertAnyBytes(message, 'message');
    return new Uint8Array(nodeSign(null, msg, privateKeyObject(ED25519_PKCS8, secretKey(secret))));
  },
  verify(signature: Uint8Array, message: Uint8Array, pub: Uint8Array): boolean {
    const sig = signatureBytes(signature);
    const msg = assertAnyBytes(message, 'message');
    try {
      return nodeVerify(null, msg, publicKeyObject(ED25519_SPKI, publicKey(pub)), sig);
    } catch (err) {
      if (err instanceof CryptoError) throw err;
      return false; // a 32-byte string that does not decode to a curve point
    }
  },
});

/** X25519 on @noble/curves (pure JS). */
export const nobleX25519: X25519 = Object.freeze({
  generateSecretKey: random32,
  publicKey(secret: Uint8Array): Uint8Array {
    return nobleX.getPublicKey(secretKey(secret));
  },
  sharedSecret(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
    const sk = secretKey(secret);
    const pk = publicKey(peerPublic);
    let shared: Uint8Array;
    try {
      shared = nobleX.getSharedSecret(sk, pk);
    } catch {
      throw lowOrder(); // noble rejects the all-zero output, as RFC 7748 §6.1 allows
    }
    if (isAllZero(shared)) throw lowOrder();
    return shared;
  },
});

/** Ed25519 on @noble/curves, in strict RFC 8032 mode (zip215: false) to match OpenSSL's acceptance rules. */
export const nobleEd25519: Ed25519 = Object.freeze({
  generateSecretKey: random32,
  publicKey(secret: Uint8Array): Uint8Array {
    return nobleEd.getPublicKey(secretKey(secret));
  },
  sign(message: Uint8Array, secret: Uint8Array): Uint8Array {
    return nobleEd.sign(assertAnyBytes(message, 'message'), secretKey(secret));
  },
  verify(signature: Uint8Array, message: Uint8Array, pub: Uint8Array): boolean {
    const sig = signatureBytes(signature);
    const msg = assertAnyBytes(message, 'message');
    const pk = publicKey(pub);
    try {
      return nobleEd.verify(sig, msg, pk, { zip215: false });
    } catch {
      return false;
    }
  },
});
