// The owner's sealed dataset, opened on the owner's machine only: manifest → ciphertext from the content store →
// age decryption with the owner's identity → commitment check → dense training form, cached privately.
//
// The cache holds decrypted data, so it lives in a 0700 directory with 0600 files, is written atomically (temp file +
// rename), and is keyed by the manifest CID (content-addressed: a new manifest never reads a stale cache).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decrypt, type IdentityInput } from '@sealfold/crypto';
import { inspectCsv, parseManifest, toDense, type DenseDataset, type Manifest } from '@sealfold/dataset';
import { SealfoldError } from '@sealfold/protocol';
import { z } from 'zod';

/** What the silo needs of a content store: reading by CID. */
export interface ContentReader {
  cat(cid: string): AsyncIterable<Uint8Array>;
}

export class SealedDataError extends SealfoldError<'COMMITMENT_MISMATCH' | 'SIZE_MISMATCH' | 'BAD_CACHE'> {
  override readonly name = 'SealedDataError';
}

export interface OpenedDataset {
  readonly manifest: Manifest;
  readonly data: DenseDataset;
}

const CACHE_MAGIC = 'SFDC1';

async function readAll(source: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > limit) throw new SealedDataError('SIZE_MISMATCH', `object larger than its declared ${limit} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts, total);
}

export async function fetchManifest(store: ContentReader, manifestCid: string): Promise<Manifest> {
  return parseManifest(await readAll(store.cat(manifestCid), 1 << 20));
}

function encodeCache(d: DenseDataset, commitment: string): Uint8Array {
  const meta = Buffer.from(
    JSON.stringify({
      rows: d.rows,
      featureNames: d.featureNames,
      classes: d.classes,
      commitment,
      missing: d.missing !== undefined,
    }),
    'utf8',
  );
  const head = Buffer.alloc(CACHE_MAGIC.length + 4);
  head.write(CACHE_MAGIC, 0, 'latin1');
  head.writeUInt32LE(meta.length, CACHE_MAGIC.length);
  return Buffer.concat([
    head,
    meta,
    Buffer.from(d.features.buffer, d.features.byteOffset, d.features.byteLength),
    Buffer.from(d.labels.buffer, d.labels.byteOffset, d.labels.byteLength),
    // The missing mask (rows × features bytes) when the data had missing values: without it a missing value would
    // read as the 0 toDense puts in its place.
    ...(d.missing ? [Buffer.from(d.missing.buffer, d.missing.byteOffset, d.missing.byteLength)] : []),
  ]);
}

const cacheMetaSchema = z.strictObject({
  rows: z.number().int().min(0),
  featureNames: z.array(z.string()),
  classes: z.array(z.string()),
  commitment: z.string(),
  /** Whether a missing mask follows the labels (absent in caches written before it was kept). */
  missing: z.boolean().optional(),
});

function decodeCache(bytes: Buffer, commitment: string): DenseDataset {
  const bad = (why: string): never => {
    throw new SealedDataError('BAD_CACHE', `dataset cache is unusable: ${why}`);
  };
  if (bytes.length < CACHE_MAGIC.length + 4 || bytes.toString('latin1', 0, CACHE_MAGIC.length) !== CACHE_MAGIC)
    bad('bad magic');
  const metaLength = bytes.readUInt32LE(CACHE_MAGIC.length);
  const start = CACHE_MAGIC.length + 4 + metaLength;
  if (start > bytes.length) bad('truncated header');
  let meta: z.infer<typeof cacheMetaSchema>;
  try {
    meta = cacheMetaSchema.parse(JSON.parse(bytes.toString('utf8', CACHE_MAGIC.length + 4, start)));
  } catch {
    return bad('header is not valid JSON of the cache format');
  }
  if (meta.commitment !== commitment) bad('commitment differs from the manifest');
  const featureBytes = meta.rows * meta.featureNames.length * 4;
  const maskBytes = meta.missing ? meta.rows * meta.featureNames.length : 0;
  if (bytes.length !== start + featureBytes + meta.rows * 4 + maskBytes) bad('length does not match its header');
  // Copy into fresh aligned buffers (the file buffer's offset need not be 4-aligned).
  const body = new Uint8Array(bytes.subarray(start));
  return {
    rows: meta.rows,
    featureNames: meta.featureNames,
    classes: meta.classes,
    features: new Float32Array(body.buffer, 0, meta.rows * meta.featureNames.length),
    labels: new Int32Array(body.buffer, featureBytes, meta.rows),
    ...(meta.missing ? { missing: new Uint8Array(body.buffer, featureBytes + meta.rows * 4, maskBytes) } : {}),
  };
}

/**
 * Opens a sealed dataset: from the private cache when present, else by fetching and decrypting the ciphertext,
 * checking its size and commitment against the manifest, and caching the dense form.
 */
export async function openSealedDataset(options: {
  readonly store: ContentReader;
  readonly manifestCid: string;
  readonly identities: readonly IdentityInput[];
  readonly cacheDir: string;
}): Promise<OpenedDataset> {
  const manifest = await fetchManifest(options.store, options.manifestCid);
  await mkdir(options.cacheDir, { recursive: true, mode: 0o700 });
  await chmod(options.cacheDir, 0o700);
  const cachePath = join(options.cacheDir, `${options.manifestCid}.dense`);
  const cached = await stat(cachePath).then(
    () => true,
    () => false,
  );
  if (cached) return { manifest, data: decodeCache(await readFile(cachePath), manifest.commitment) };

  const ciphertext = await readAll(options.store.cat(manifest.sealed.cid), manifest.sealed.bytes);
  if (ciphertext.length !== manifest.sealed.bytes)
    throw new SealedDataError(
      'SIZE_MISMATCH',
      `sealed object is ${ciphertext.length} bytes, manifest says ${manifest.sealed.bytes}`,
    );
  const plaintext = decrypt(ciphertext, options.identities);
  try {
    const inspected = await inspectCsv([plaintext], { label: manifest.schema.label, schema: manifest.schema });
    if (inspected.commitment !== manifest.commitment)
      throw new SealedDataError('COMMITMENT_MISMATCH', 'decrypted data does not match the manifest commitment');
    const data = await toDense([plaintext], manifest.schema);
    const temp = `${cachePath}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const file = await open(temp, 'wx', 0o600);
      try {
        await file.writeFile(encodeCache(data, manifest.commitment));
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, cachePath);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return { manifest, data };
  } finally {
    plaintext.fill(0);
  }
}
