import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FsBlockstore } from 'blockstore-fs';
import { FsDatastore } from 'datastore-fs';
import { Key } from 'interface-datastore';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockFiles, DataFiles, JOURNAL_FILE, JOURNALED_PREFIX } from './fs-stores.js';

const RAW = 0x55;

async function rawBlock(text: string): Promise<{ cid: CID; bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(text);
  return { cid: CID.createV1(RAW, await sha256.digest(bytes)), bytes };
}

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true }).map((f) => f.toString());

describe('BlockFiles and DataFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-fs-stores-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('write the same layout as blockstore-fs: each reads the blocks the other wrote', async () => {
    const ours = new BlockFiles(join(dir, 'blocks'));
    const stock = new FsBlockstore(join(dir, 'blocks'));
    await ours.open();
    await stock.open();
    const a = await rawBlock('written by BlockFiles');
    const b = await rawBlock('written by FsBlockstore');
    await ours.put(a.cid, a.bytes);
    await stock.put(b.cid, b.bytes);
    expect(await readAll(stock.get(a.cid))).toEqual(Buffer.from(a.bytes));
    expect(await readAll(ours.get(b.cid))).toEqual(Buffer.from(b.bytes));
    // Files are named by multihash (getAll returns CIDv0 of it), so compare multihashes.
    const hex = (c: CID) => Buffer.from(c.multihash.bytes).toString('hex');
    const all: string[] = [];
    for await (const { cid } of ours.getAll()) all.push(hex(cid));
    expect(all.sort()).toEqual([hex(a.cid), hex(b.cid)].sort());
    // No temp file is left behind.
    expect(filesUnder(join(dir, 'blocks')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rewriting a block keeps one whole file, and a removed shard directory is created again', async () => {
    const ours = new BlockFiles(join(dir, 'blocks'));
    await ours.open();
    const a = await rawBlock('block a');
    await ours.put(a.cid, a.bytes);
    await ours.put(a.cid, a.bytes);
    expect(await readAll(ours.get(a.cid))).toEqual(Buffer.from(a.bytes));
    rmSync(join(dir, 'blocks'), { recursive: true });
    await ours.put(a.cid, a.bytes);
    expect(await ours.has(a.cid)).toBe(true);
  });

  it('DataFiles values read back through datastore-fs, and queries list no temp files', async () => {
    const ours = new DataFiles(join(dir, 'datastore'));
    const stock = new FsDatastore(join(dir, 'datastore'));
    await ours.open();
    await stock.open();
    const key = new Key('/pin/root');
    await ours.put(key, new Uint8Array([4]));
    await ours.put(new Key('/meta/x'), new Uint8Array([5]));
    expect(await stock.get(key)).toEqual(new Uint8Array([4]));
    const keys: string[] = [];
    for await (const { key: k } of stock.query({})) keys.push(k.toString());
    expect(keys.sort()).toEqual(['/meta/x', '/pin/root']);
    await ours.close();
  });

  it('DataFiles keeps per-block pin records in one journal file, not one file each', async () => {
    const ours = new DataFiles(join(dir, 'datastore'));
    await ours.open();
    for (let i = 0; i < 50; i++) await ours.put(new Key(`${JOURNALED_PREFIX}b${i}`), new Uint8Array([i]));
    await ours.put(new Key('/pin/root'), new Uint8Array([9]));
    await ours.delete(new Key(`${JOURNALED_PREFIX}b7`));
    // Besides the journal: its registry of open journals (key-journal.ts, compaction), this store's entry in it.
    const users = `${JOURNAL_FILE}.users`;
    const files = filesUnder(join(dir, 'datastore'));
    expect(files.filter((f) => f.startsWith(`${users}/`))).toEqual([
      expect.stringMatching(new RegExp(`^${users}/${process.pid}\\.`)),
    ]);
    expect(files.filter((f) => !f.startsWith(`${users}/`)).sort()).toEqual(
      [JOURNAL_FILE, 'pin', join('pin', 'root.data'), users].sort(),
    );
    expect(await ours.get(new Key(`${JOURNALED_PREFIX}b3`))).toEqual(new Uint8Array([3]));
    expect(await ours.has(new Key(`${JOURNALED_PREFIX}b7`))).toBe(false);
    await expect(ours.get(new Key(`${JOURNALED_PREFIX}b7`))).rejects.toMatchObject({ name: 'NotFoundError' });
    const listed: string[] = [];
    for await (const { key } of ours.query({ prefix: JOURNALED_PREFIX })) listed.push(key.toString());
    expect(listed).toHaveLength(49);
    expect(listed).not.toContain(`${JOURNALED_PREFIX}b7`);
    const all: string[] = [];
    for await (const key of ours.queryKeys({})) all.push(key.toString());
    expect(all).toHaveLength(50);
    await ours.close();
    // Another instance (another process sharing the directory, or a restart) reads the same records.
    const again = new DataFiles(join(dir, 'datastore'));
    await again.open();
    expect(await again.get(new Key(`${JOURNALED_PREFIX}b49`))).toEqual(new Uint8Array([49]));
    expect(await again.has(new Key(`${JOURNALED_PREFIX}b7`))).toBe(false);
    await again.close();
  });

  it('DataFiles reads pin records a store wrote as files before the journal; the journal takes precedence', async () => {
    const stock = new FsDatastore(join(dir, 'datastore'));
    await stock.open();
    await stock.put(new Key(`${JOURNALED_PREFIX}old`), new Uint8Array([1]));
    await stock.put(new Key(`${JOURNALED_PREFIX}gone`), new Uint8Array([2]));
    const ours = new DataFiles(join(dir, 'datastore'));
    await ours.open();
    expect(await ours.get(new Key(`${JOURNALED_PREFIX}old`))).toEqual(new Uint8Array([1]));
    await ours.put(new Key(`${JOURNALED_PREFIX}old`), new Uint8Array([3]));
    await ours.delete(new Key(`${JOURNALED_PREFIX}gone`));
    expect(await ours.get(new Key(`${JOURNALED_PREFIX}old`))).toEqual(new Uint8Array([3]));
    expect(await ours.has(new Key(`${JOURNALED_PREFIX}gone`))).toBe(false);
    const listed: string[] = [];
    for await (const { key, value } of ours.query({ prefix: JOURNALED_PREFIX }))
      listed.push(`${key.toString()}=${value[0]}`);
    expect(listed).toEqual([`${JOURNALED_PREFIX}old=3`]);
    await ours.close();
  });
});
