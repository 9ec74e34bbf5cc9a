// Share bundles (Bonawitz et al. Fig. 4 round 1): e_{u,v} = AE.enc(KA.agree(c_u^SK, c_v^PK), u ‖ v ‖ b-share ‖
// sk-share), here AES-256-GCM (NIST SP 800-38D) with (job, round, from, to) as associated data. The key is used
// once per direction per round; the 96-bit nonce is (from, to, 0), so the two directions never share a nonce.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { SECAGG_SHARE_BYTES, SECAGG_SHARE_CIPHERTEXT_BYTES } from '@sealfold/protocol';
import { refuse } from './errors.js';
import { kdfInfo } from './prg.js';

const TAG_BYTES = 16;
const PLAINTEXT_BYTES = 8 + 2 * SECAGG_SHARE_BYTES;

const nonce = (from: number, to: number) => {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(from, 0);
  n.writeUInt32BE(to, 4);
  return n;
};
const associatedData = (jobId: string, round: number, from: number, to: number) =>
  kdfInfo('sealfold/secagg/v1/share-bundle', jobId, round, from, to);

export interface ShareBundle {
  readonly selfMaskShare: Uint8Array;
  readonly maskKeyShare: Uint8Array;
}

export function encryptShareBundle(
  key: Uint8Array,
  jobId: string,
  round: number,
  from: number,
  to: number,
  bundle: ShareBundle,
): Uint8Array {
  const plain = Buffer.alloc(PLAINTEXT_BYTES);
  plain.writeUInt32BE(from, 0);
  plain.writeUInt32BE(to, 4);
  plain.set(bundle.selfMaskShare, 8);
  plain.set(bundle.maskKeyShare, 8 + SECAGG_SHARE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce(from, to), { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(jobId, round, from, to));
  const out = new Uint8Array(SECAGG_SHARE_CIPHERTEXT_BYTES);
  out.set(cipher.update(plain), 0);
  cipher.final();
  out.set(cipher.getAuthTag(), PLAINTEXT_BYTES);
  return out;
}

/** Throws DECRYPTION_FAILED when the tag or the embedded (from, to) do not match. */
export function decryptShareBundle(
  key: Uint8Array,
  jobId: string,
  round: number,
  from: number,
  to: number,
  ciphertext: Uint8Array,
): ShareBundle {
  if (ciphertext.length !== SECAGG_SHARE_CIPHERTEXT_BYTES) refuse('DECRYPTION_FAILED', 'share ciphertext size');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce(from, to), { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(jobId, round, from, to));
  decipher.setAuthTag(ciphertext.subarray(PLAINTEXT_BYTES));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(ciphertext.subarray(0, PLAINTEXT_BYTES)), decipher.final()]);
  } catch {
    return refuse('DECRYPTION_FAILED', `share bundle from ${from} does not authenticate`);
  }
  if (plain.readUInt32BE(0) !== from || plain.readUInt32BE(4) !== to)
    refuse('DECRYPTION_FAILED', `share bundle from ${from} names other parties`);
  return {
    selfMaskShare: new Uint8Array(plain.subarray(8, 8 + SECAGG_SHARE_BYTES)),
    maskKeyShare: new Uint8Array(plain.subarray(8 + SECAGG_SHARE_BYTES)),
  };
}
