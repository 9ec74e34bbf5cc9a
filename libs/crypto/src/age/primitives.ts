// Small wrappers over node:crypto used by the age format: HKDF-SHA-256 (RFC 5869), HMAC-SHA-256 (RFC 2104) and
// one-shot ChaCha20-Poly1305 (RFC 7539) with a caller-chosen 12-byte nonce.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const TAG_BYTES = 16;

/** HKDF-SHA-256 with a 32-byte output (the only length age uses). */
export function hkdf32(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Buffer {
  return createHmac('sha256', key).update(message).digest();
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** ChaCha20-Poly1305 seal: returns [ciphertext, tag] (written out back to back; saves a copy per chunk). */
export function sealPieces(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): [Buffer, Buffer] {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  const head = cipher.update(plaintext);
  cipher.final();
  return [head, cipher.getAuthTag()];
}

/** ChaCha20-Poly1305 seal: returns ciphertext || tag as one buffer. */
export function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  return Buffer.concat(sealPieces(key, nonce, plaintext));
}

/**
 * ChaCha20-Poly1305 open of ciphertext || tag. Returns null when the tag does not verify. The plaintext that
 * node:crypto produces before `final()` checks the tag is dropped in that case, never returned.
 */
export function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (sealed.length < TAG_BYTES) return null;
  const split = sealed.length - TAG_BYTES;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(split));
  const plaintext = decipher.update(sealed.subarray(0, split));
  try {
    decipher.final();
  } catch {
    plaintext.fill(0);
    return null;
  }
  return plaintext;
}
