// HPKE (RFC 9180) base mode, single-shot, as age's HPKE-based stanzas use it (C2SP age §"mlkem768x25519 recipient
// stanza": SealBase/OpenBase with KDF HKDF-SHA256, AEAD ChaCha20Poly1305, empty aad). Only the key schedule is here:
// the KEM is the caller's (@noble/post-quantum), the AEAD is primitives.ts's ChaCha20-Poly1305.
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

const KDF_HKDF_SHA256 = 0x0001; // RFC 9180 §7.2
const AEAD_CHACHA20POLY1305 = 0x0003; // RFC 9180 §7.3
const MODE_BASE = 0x00; // RFC 9180 §5
const VERSION_LABEL = new TextEncoder().encode('HPKE-v1');
const KEY_BYTES = 32; // Nk for ChaCha20Poly1305
const NONCE_BYTES = 12; // Nn

const ascii = (s: string) => new TextEncoder().encode(s);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const u16 = (n: number) => new Uint8Array([(n >> 8) & 0xff, n & 0xff]);

/** RFC 9180 §5.1: suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2). */
function suiteId(kemId: number): Uint8Array {
  return concat(ascii('HPKE'), u16(kemId), u16(KDF_HKDF_SHA256), u16(AEAD_CHACHA20POLY1305));
}

// RFC 9180 §4: LabeledExtract / LabeledExpand.
function labeledExtract(suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concat(VERSION_LABEL, suite, ascii(label), ikm), salt);
}

function labeledExpand(suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number) {
  return expand(sha256, prk, concat(u16(length), VERSION_LABEL, suite, ascii(label), info), length);
}

/**
 * RFC 9180 §5.1 KeyScheduleS/R in mode_base (no PSK): the AEAD key and base nonce from the KEM shared secret.
 * A single-shot Seal/Open uses sequence number 0, so its nonce is base_nonce itself (§5.2).
 */
export function hpkeBaseKeySchedule(
  kemId: number,
  sharedSecret: Uint8Array,
  info: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  const suite = suiteId(kemId);
  const empty = new Uint8Array(0);
  const pskIdHash = labeledExtract(suite, empty, 'psk_id_hash', empty);
  const infoHash = labeledExtract(suite, empty, 'info_hash', info);
  const context = concat(new Uint8Array([MODE_BASE]), pskIdHash, infoHash);
  const secret = labeledExtract(suite, sharedSecret, 'secret', empty); // psk = default_psk = ""
  return {
    key: labeledExpand(suite, secret, 'key', context, KEY_BYTES),
    nonce: labeledExpand(suite, secret, 'base_nonce', context, NONCE_BYTES),
  };
}
