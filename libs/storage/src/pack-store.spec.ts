import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockPacks } from './pack-store.js';

const RAW = 0x55;
async function rawBlock(text: string): Promise<{ cid: CID; bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(text);
  return { cid: CID.createV1(RAW, await sha256.digest(bytes)), bytes };
}

describe('BlockPacks', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-packs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a committed pack is read back, by this process and after a reopen, and seen by a second open instance', async () => {
    const packs = new BlockPacks(dir);
    packs.open();
    const other = new BlockPacks(dir); // another process sharing the directory
    other.open();
    const a = await rawBlock('block a');
    const b = await rawBlock('block b, a little longer');
    const w = packs.writer();
    w.put(a.cid, a.bytes);
    w.put(b.cid, b.bytes);
    w.put(a.cid, a.bytes); // a repeated block is written once
    expect(packs.has(a.cid)).toBe(false); // not visible before commit
    await w.commit();
    expect(await packs.get(a.cid)).toEqual(Buffer.from(a.bytes));
    expect(await other.get(b.cid)).toEqual(Buffer.from(b.bytes)); // a miss re-reads the directory
    const reopened = new BlockPacks(dir);
    reopened.open();
    expect(await reopened.get(b.cid)).toEqual(Buffer.from(b.bytes));
    expect([...reopened.entries()]).toHaveLength(2);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an aborted writer leaves no file and no block', async () => {
    const packs = new BlockPacks(dir);
    packs.open();
    const a = await rawBlock('never committed');
    const w = packs.writer();
    w.put(a.cid, a.bytes);
    w.abort();
    expect(readdirSync(dir)).toEqual([]);
    expect(packs.has(a.cid)).toBe(false);
  });

  it('a temp pack of a dead process (a crashed add) is removed at open and never read', async () => {
    const packs = new BlockPacks(dir);
    packs.open();
    const a = await rawBlock('half written');
    const w = packs.writer();
    w.put(a.cid, a.bytes);
    // The same bytes under a dead process's name (pid 2^22 + 1 is above Linux's pid_max default ceiling).
    const [temp] = readdirSync(dir);
    const dead = temp.replace(`.${process.pid}.`, `.${2 ** 22 + 1}.`);
    writeFileSync(join(dir, dead), 'partial');
    w.abort();
    const reopened = new BlockPacks(dir);
    reopened.open();
    expect(readdirSync(dir)).toEqual([]);
    expect(reopened.has(a.cid)).toBe(false);
  });

  it('refuses a pack whose records are cut short (a pack is only renamed into place whole)', async () => {
    const packs = new BlockPacks(dir);
    packs.open();
    const a = await rawBlock('block to cut');
    const w = packs.writer();
    w.put(a.cid, a.bytes);
    await w.commit();
    const [name] = readdirSync(dir);
    truncateSync(join(dir, name), 80); // inside the block's bytes
    expect(() => new BlockPacks(dir).open()).toThrow(/truncated/);
  });

  it('a pack larger than the background-flush interval commits whole, and aborts cleanly while a flush runs', async () => {
    const packs = new BlockPacks(dir);
    packs.open();
    // 40 distinct 1 MiB blocks: past FLUSH_EVERY (32 MiB), so a background fdatasync starts during the puts.
    const blocks = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const bytes = new Uint8Array(1 << 20).fill(i);
        return { cid: CID.createV1(RAW, await sha256.digest(bytes)), bytes };
      }),
    );
    const w = packs.writer();
    for (const b of blocks) w.put(b.cid, b.bytes);
    await w.commit();
    for (const b of [blocks[0], blocks[39]]) expect(await packs.get(b.cid)).toEqual(Buffer.from(b.bytes));
    const reopened = new BlockPacks(dir);
    reopened.open();
    expect([...reopened.entries()]).toHaveLength(40);
    // Aborted right after a flush started (the fd is closed only once it finishes): nothing of it stays.
    const dropped = packs.writer();
    const other = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const bytes = new Uint8Array(1 << 20).fill(100 + i);
        return { cid: CID.createV1(RAW, await sha256.digest(bytes)), bytes };
      }),
    );
    for (const b of other) dropped.put(b.cid, b.bytes);
    dropped.abort();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(packs.has(other[0].cid)).toBe(false);
  });
});
