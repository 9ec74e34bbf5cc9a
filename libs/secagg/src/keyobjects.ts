// Reused node:crypto KeyObjects for the hot loops of a round: a client agrees k − 1 X25519 secrets (RFC 7748 §6.1)
// with each of its two secret keys and verifies k − 1 Ed25519 signatures (RFC 8032 §5.1.7) per stage. Parsing a
// DER key into a KeyObject costs about as much as the operation itself, so each own secret key is parsed once per
// round and each peer's session key once per job. Results are identical to @sealfold/crypto's (which they defer to
// on every failure, so errors are the same too); any other curve implementation is used as given.
import { createPrivateKey, createPublicKey, diffieHellman, verify, type KeyObject } from 'node:crypto';
import { ed25519 as nodeEd25519, x25519 as nodeX25519, type Ed25519, type X25519 } from '@sealfold/crypto';

// DER prefixes of RFC 8410 keys: PKCS#8 X25519 (OID 1.3.101.110), SPKI X25519, SPKI Ed25519 (OID 1.3.101.112).
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

const der = (prefix: Buffer, raw: Uint8Array) => Buffer.concat([prefix, raw]);
const is32 = (b: unknown): b is Uint8Array => b instanceof Uint8Array && b.length === 32;

/** X25519(secret, ·) for many peers: `agree(peerPublic)` equals x25519.sharedSecret(secret, peerPublic). */
export function keyAgreement(x25519: X25519, secret: Uint8Array): (peerPublic: Uint8Array) => Uint8Array {
  if (x25519 !== nodeX25519 || !is32(secret)) return (peer) => x25519.sharedSecret(secret, peer);
  const privateKey = createPrivateKey({ key: der(X25519_PKCS8, secret), format: 'der', type: 'pkcs8' });
  return (peer) => {
    if (!is32(peer)) return x25519.sharedSecret(secret, peer);
    let shared: Buffer;
    try {
      const publicKey = createPublicKey({ key: der(X25519_SPKI, peer), format: 'der', type: 'spki' });
      shared = diffieHellman({ privateKey, publicKey });
    } catch {
      return x25519.sharedSecret(secret, peer); // throws the library's typed error (e.g. LOW_ORDER_POINT)
    }
    // RFC 7748 §6.1: refuse the all-zero output; defer to the library for the error.
    let any = 0;
    for (const b of shared) any |= b;
    return any === 0 ? x25519.sharedSecret(secret, peer) : new Uint8Array(shared);
  };
}

/** Ed25519 verification under one public key, parsed once: equals ed25519.verify(signature, message, publicKey). */
export function signatureVerifier(
  ed25519: Ed25519,
  publicKey: Uint8Array,
): (signature: Uint8Array, message: Uint8Array) => boolean {
  const fallback = (signature: Uint8Array, message: Uint8Array) => ed25519.verify(signature, message, publicKey);
  if (ed25519 !== nodeEd25519 || !is32(publicKey)) return fallback;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der(ED25519_SPKI, publicKey), format: 'der', type: 'spki' });
  } catch {
    return fallback;
  }
  return (signature, message) => {
    if (!(signature instanceof Uint8Array) || signature.length !== 64 || !(message instanceof Uint8Array))
      return fallback(signature, message);
    try {
      return verify(null, message, key, signature);
    } catch {
      return fallback(signature, message);
    }
  };
}
