import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { createHash, randomBytes } from 'node:crypto';
import { KuboStore } from './kubo.js';

// Needs a Kubo daemon: SEALFOLD_IPFS_API=http://127.0.0.1:5001 npm run test:jest -- libs/storage
const api = process.env.SEALFOLD_IPFS_API;
if (!api) console.warn('KuboStore tests SKIPPED: SEALFOLD_IPFS_API is not set (no Kubo daemon to test against)');
const describeKubo = api ? describe : describe.skip;

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describeKubo(`KuboStore against SEALFOLD_IPFS_API${api ? '' : ' (SKIPPED: SEALFOLD_IPFS_API not set)'}`, () => {
  let store: KuboStore;
  beforeAll(async () => {
    store = await KuboStore.connect(api!);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('adds with the same CIDs as the embedded store', async () => {
    expect(await store.add(new Uint8Array())).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
    const hello = new TextEncoder().encode('hello world\n');
    const cid = await store.add(hello);
    expect(cid).toBe('bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
    expect(await readAll(store.cat(cid))).toEqual(Buffer.from(hello));
    expect(await store.isPinned(cid)).toBe(true);
    expect((await store.stat(cid)).size).toBe(hello.length);
  });

  it('round-trips a CAR and fails fast on a missing CID', async () => {
    const bytes = new TextEncoder().encode(`kubo car ${Date.now()}`);
    const cid = await store.add(bytes);
    const car = await readAll(store.exportCar(cid));
    expect(await store.importCar([car])).toEqual([cid]);
    const digest = createHash('sha256').update(randomBytes(32)).digest();
    const absent = CID.createV1(0x55, Digest.create(0x12, new Uint8Array(digest))).toString();
    expect(await store.has(absent)).toBe(false);
    await expect(readAll(store.cat(absent))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

// Keeps the file a valid suite when the Kubo block is skipped.
describe('KuboStore configuration', () => {
  it('refuses a malformed API URL', async () => {
    await expect(KuboStore.connect('not a url')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
