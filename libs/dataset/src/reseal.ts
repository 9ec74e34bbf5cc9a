// Resealing a dataset (`sealfold dataset reseal`): the stored ciphertext is decrypted with the owner's identity and
// encrypted again under a fresh file key to the owner's current recipients (age v1 §"File key": every encryption
// draws a new 128-bit file key), in one streaming pass, and re-inspected on the way, so the new manifest is accepted
// only when the plaintext still has the manifest's commitment. The chain update is the caller's, and comes last.
import {
  HybridRecipient,
  decryptChunks,
  encryptChunks,
  type IdentityInput,
  type RecipientInput,
} from '@sealfold/crypto';
import { DatasetError } from './errors.js';
import { inspectCsvTee } from './inspect.js';
import { serializeManifest, type Manifest, type SealedRecipientType } from './manifest.js';
import type { SealingStore } from './seal.js';

/** The part of a content store resealing needs: sealing plus reading the old ciphertext. */
export interface ResealingStore extends SealingStore {
  cat(cid: string): AsyncIterable<Uint8Array>;
}

export interface ResealOptions {
  readonly manifest: Manifest;
  /** The identities that open the current ciphertext (the owner's keystore). */
  readonly identities: readonly IdentityInput[];
  /** The owner's current recipients: the new ciphertext is sealed to them only. */
  readonly recipients: readonly RecipientInput[];
  readonly store: ResealingStore;
}

export interface ResealedDataset {
  readonly manifest: Manifest;
  readonly manifestCid: string;
}

/** `mlkem768x25519` when every recipient is hybrid (age refuses to mix them with X25519 ones), else `X25519`. */
export function recipientTypeOf(recipients: readonly RecipientInput[]): SealedRecipientType {
  const hybrid = (r: RecipientInput) =>
    typeof r === 'string' ? r.startsWith('age1pq1') : r instanceof HybridRecipient;
  return recipients.length > 0 && recipients.every(hybrid) ? 'mlkem768x25519' : 'X25519';
}

/**
 * Stores the dataset again under a fresh file key and writes its new manifest (same schema, rows, classes,
 * commitment, owner and terms; new `sealed`). Nothing is unpinned here: the old copy stays readable until the chain
 * points at the new manifest. On any failure, the blocks this call added are unpinned and the error is rethrown.
 */
export async function resealDataset(o: ResealOptions): Promise<ResealedDataset> {
  const { manifest } = o;
  const tee = inspectCsvTee(decryptChunks(o.store.cat(manifest.sealed.cid), o.identities), {
    label: manifest.schema.label,
    schema: manifest.schema,
  });
  let sealedBytes = 0;
  async function* ciphertext(): AsyncGenerator<Uint8Array> {
    for await (const piece of encryptChunks(tee.bytes, o.recipients)) {
      sealedBytes += piece.length;
      yield piece;
    }
  }
  const sealedCid = await o.store.add(ciphertext());
  try {
    const inspected = await tee.result;
    if (inspected.commitment !== manifest.commitment || inspected.rows !== manifest.rows)
      throw new DatasetError(
        'COMMITMENT_MISMATCH',
        `the decrypted data (${inspected.rows} rows, commitment ${inspected.commitment.slice(0, 16)}…) is not the ` +
          `data the manifest commits to (${manifest.rows} rows, ${manifest.commitment.slice(0, 16)}…): not resealed`,
      );
    const resealed: Manifest = {
      ...manifest,
      sealed: { format: 'age-v1', cid: sealedCid, bytes: sealedBytes, recipientType: recipientTypeOf(o.recipients) },
    };
    const manifestCid = await o.store.add(serializeManifest(resealed));
    return { manifest: resealed, manifestCid };
  } catch (error) {
    await o.store.unpin(sealedCid).catch(() => undefined);
    throw error;
  }
}
