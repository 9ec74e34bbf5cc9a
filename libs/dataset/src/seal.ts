// Sealing a dataset (design flow 1): CSV → inspect (schema, rows, classes, commitment) → age v1 encryption to the
// owner's recipients → content store → manifest → content store. One streaming pass; the store and the chain are
// the caller's (injected), so this lib depends on crypto only. `registrationOf` gives what `DatasetNFT.register`
// takes for the result (the caller's chain client sends it).
import { encryptChunks, type RecipientInput } from '@sealfold/crypto';
import { EPSILON_UNBOUNDED_MILLI } from '@sealfold/protocol';
import { inspectCsvTee } from './inspect.js';
import { recipientTypeOf } from './reseal.js';
import type { InspectResult } from './inspector.js';
import { MANIFEST_FORMAT_VERSION, serializeManifest, type LicenceTerms, type Manifest } from './manifest.js';
import type { DatasetSchema } from './schema.js';
import type { ByteSource } from './source.js';

/** The part of a content store sealing needs (@sealfold/storage ContentStore fits). */
export interface SealingStore {
  add(source: AsyncIterable<Uint8Array> | Uint8Array, options?: { readonly signal?: AbortSignal }): Promise<string>;
  unpin(cid: string): Promise<void>;
}

export interface SealDatasetOptions {
  /** The CSV (RFC 4180, header row; gzip detected by its magic bytes). */
  readonly source: ByteSource;
  readonly label: string;
  /** A declared schema the data must match exactly; inferred when absent. */
  readonly schema?: DatasetSchema;
  /** k: no value occurring in fewer rows is published (overrides the schema's; default DEFAULT_K). */
  readonly k?: number;
  /** Inference only: the missing-value tokens (default DEFAULT_MISSING_TOKENS). */
  readonly missing?: readonly string[];
  /** The age recipients of the ciphertext: the owner's own, never anyone else's. */
  readonly recipients: readonly RecipientInput[];
  readonly store: SealingStore;
  readonly name: string;
  readonly description: string;
  /** The owner's EIP-55 address, as the manifest states it. */
  readonly owner: string;
  readonly terms: LicenceTerms;
  /** Aborts the ciphertext's add (the store deletes the blocks it created). */
  readonly signal?: AbortSignal;
  /** Called with each plaintext chunk's length as it is read (progress). */
  readonly onPlaintext?: (bytes: number) => void;
  readonly createdAt?: Date;
}

export interface SealedDataset {
  readonly manifest: Manifest;
  readonly manifestCid: string;
  readonly inspected: InspectResult;
}

/**
 * Seals and stores a dataset and its manifest. Invalid input stops the add before the ciphertext completes (the
 * inspector's tee yields its last chunk only after the whole file validated), so nothing stays pinned; the manifest
 * is written last, so an interrupted seal leaves none.
 */
export async function sealDataset(o: SealDatasetOptions): Promise<SealedDataset> {
  // Recorded in the public manifest (formatVersion 2). age refuses to mix hybrid and classic recipients in one file.
  const recipientType = recipientTypeOf(o.recipients);
  const tee = inspectCsvTee(o.source, {
    // Publishing: a class or public level occurring in fewer than k rows stops the add (privacy.ts).
    refuseRare: true,
    label: o.label,
    ...(o.schema ? { schema: o.schema } : {}),
    ...(o.k !== undefined ? { k: o.k } : {}),
    ...(o.missing ? { missing: o.missing } : {}),
  });
  async function* plaintext(): AsyncGenerator<Uint8Array> {
    for await (const chunk of tee.bytes) {
      o.onPlaintext?.(chunk.length);
      yield chunk;
    }
  }
  let sealedBytes = 0;
  async function* ciphertext(): AsyncGenerator<Uint8Array> {
    for await (const piece of encryptChunks(plaintext(), o.recipients)) {
      sealedBytes += piece.length;
      yield piece;
    }
  }
  const sealedCid = await o.store.add(ciphertext(), o.signal ? { signal: o.signal } : {});
  let inspected: InspectResult;
  try {
    inspected = await tee.result;
  } catch (error) {
    await o.store.unpin(sealedCid); // unreachable by construction (the tee fails the add first); kept as a guard
    throw error;
  }
  const manifest: Manifest = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    name: o.name,
    description: o.description,
    // The public schema (privacy.ts): no level or class occurring in fewer than k rows, no private levels.
    schema: inspected.schema,
    rows: inspected.rows,
    classes: [...inspected.classes],
    sealed: { format: 'age-v1', cid: sealedCid, bytes: sealedBytes, recipientType },
    commitment: inspected.commitment,
    owner: o.owner,
    createdAt: (o.createdAt ?? new Date()).toISOString(),
    terms: o.terms,
  };
  const manifestCid = await o.store.add(serializeManifest(manifest));
  return { manifest, manifestCid, inspected };
}

/** What `DatasetNFT.register` takes (the shape of @sealfold/chain's registerDataset input). */
export interface DatasetRegistration {
  readonly manifestCid: string;
  /** 0x + the manifest's SHA-256 commitment. */
  readonly commitment: string;
  readonly terms: {
    readonly priceWei: bigint;
    readonly licenceDuration: bigint;
    readonly maxJobs: number;
    /** ε in thousandths; EPSILON_UNBOUNDED_MILLI for the unlimited budget. */
    readonly epsilonBudgetMilli: number;
    /** Listed for sale iff it has a price. */
    readonly listed: boolean;
  };
}

/** The chain registration of a stored manifest: tokenURI ipfs://<manifestCid>, its commitment and offered terms. */
export function registrationOf(manifestCid: string, manifest: Manifest): DatasetRegistration {
  const priceWei = BigInt(manifest.terms.priceWei);
  return {
    manifestCid,
    commitment: `0x${manifest.commitment}`,
    terms: {
      priceWei,
      licenceDuration: BigInt(manifest.terms.licenceDurationSeconds),
      maxJobs: manifest.terms.maxJobs ?? 0xffffffff,
      epsilonBudgetMilli: Math.min(EPSILON_UNBOUNDED_MILLI, Math.round(manifest.terms.epsilonBudget * 1000)),
      listed: priceWei > 0n,
    },
  };
}
