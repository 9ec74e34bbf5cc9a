import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { base36 as multibase36 } from 'multiformats/bases/base36';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedIpfsStore } from './embedded.js';
import { JOURNAL_FILE } from './fs-stores.js';
import { KeyJournal } from './key-journal.js';
import {
  base36,
  decodePinnedBlock,
  encodePinnedBlock,
  pinnedBlockKey,
  pinnedBlockRemoval,
  pinnedBlockUpdate,
} from './pin-records.js';

describe('pin records', () => {
  it('base36 is multiformats base36 (leading zeros included)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 4 }), fc.uint8Array({ maxLength: 40 }), (zeros, rest) => {
        const bytes = Uint8Array.from([...new Array<number>(zeros).fill(0), ...rest]);
        expect(base36(bytes)).toBe(multibase36.encode(bytes));
      }),
    );
  });

  it('decodes what it encodes, and only that (a changed byte or a longer head is refused)', () => {
    const record = fc.record({
      pinCount: fc.oneof(fc.nat({ max: 30 }), fc.nat({ max: 0xffff_ffff })),
      pinnedBy: fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(record, fc.nat(), (r, at) => {
        const bytes = encodePinnedBlock(r);
        expect(decodePinnedBlock(bytes)).toEqual(r);
        expect(decodePinnedBlock(bytes.subarray(0, bytes.length - 1))).toBeNull();
        expect(decodePinnedBlock(Uint8Array.from([...bytes, 0]))).toBeNull();
        // Any change that still decodes must decode to a different record (no two encodings of one record).
        const changed = Uint8Array.from(bytes);
        changed[at % changed.length] ^= 0x01;
        const other = decodePinnedBlock(changed);
        if (other !== null) expect(encodePinnedBlock(other)).toEqual(changed);
      }),
    );
    // pinCount 1 written with a one-byte argument (0x18 0x01) is valid CBOR but not cborg's output.
    const long = Uint8Array.from([
      0xa2,
      0x68,
      ...Buffer.from('pinCount'),
      0x18,
      0x01,
      0x68,
      ...Buffer.from('pinnedBy'),
      0x80,
    ]);
    expect(decodePinnedBlock(long)).toBeNull();
  });

  it('a removal drops the root once: the count falls by one, the record goes at zero', () => {
    const a = Uint8Array.of(1, 2);
    const b = Uint8Array.of(3);
    expect(pinnedBlockRemoval(undefined, a)).toBeNull();
    expect(pinnedBlockRemoval({ pinCount: 1, pinnedBy: [b] }, a)).toBeNull();
    expect(pinnedBlockRemoval({ pinCount: 2, pinnedBy: [a, b] }, Uint8Array.of(1, 2))).toEqual({
      pinCount: 1,
      pinnedBy: [b],
    });
    expect(pinnedBlockRemoval({ pinCount: 1, pinnedBy: [a] }, a)).toBe('delete');
    // Inverse of an update, for any record and a root it does not list yet.
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 8 }), { maxLength: 4 }),
        fc.uint8Array(),
        (by, root) => {
          fc.pre(by.every((x) => !Buffer.from(x).equals(root)));
          const before = { pinCount: by.length, pinnedBy: by };
          const added = pinnedBlockUpdate(before, root)!;
          const removed = pinnedBlockRemoval(added, root);
          expect(removed).toEqual(by.length === 0 ? 'delete' : before);
        },
      ),
    );
  });

  it('an update adds a root once', () => {
    const a = Uint8Array.of(1, 2);
    const b = Uint8Array.of(3);
    expect(pinnedBlockUpdate(undefined, a)).toEqual({ pinCount: 1, pinnedBy: [a] });
    expect(pinnedBlockUpdate({ pinCount: 1, pinnedBy: [a] }, b)).toEqual({ pinCount: 2, pinnedBy: [a, b] });
    expect(pinnedBlockUpdate({ pinCount: 2, pinnedBy: [a, b] }, Uint8Array.of(1, 2))).toBeNull();
  });
});

/** Every datastore record of a store: the journal's live keys and the files (pins, metadata). */
function records(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const journal = new KeyJournal(join(dir, 'datastore', JOURNAL_FILE));
  journal.open();
  for (const [k, v] of journal.all()) if (v) out.set(k, Buffer.from(v).toString('hex'));
  journal.close();
  for (const f of readdirSync(join(dir, 'datastore'), { recursive: true }).map(String))
    if (f.endsWith('.data')) out.set(f, readFileSync(join(dir, 'datastore', f)).toString('hex'));
  return out;
}

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** `n` bytes from a seed, in 64 KiB chunks (a chunk of 256 KiB repeats when `repeat`). */
function content(seed: string, n: number, repeat = false): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0, i = 0; at < n; at += 32, i++)
    out.set(
      createHash('sha256')
        .update(`${seed}/${repeat ? i % 8192 : i}`)
        .digest()
        .subarray(0, n - at),
      at,
    );
  return out;
}

describe('EmbeddedIpfsStore.add pins with the records Helia writes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-pins-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('same datastore as Helia pinning the same DAGs (fresh blocks, blocks another file pinned, repeated chunks)', async () => {
    // Two files sharing their first MiB; the second repeats a 256 KiB chunk.
    const shared = content('shared', 1 << 20);
    const first = Buffer.concat([shared, content('first', 300_000)]);
    const second = Buffer.concat([shared, content('second', 3 << 20, true)]);
    const ours = await EmbeddedIpfsStore.open(join(dir, 'ours'));
    const helias = await EmbeddedIpfsStore.open(join(dir, 'helia'));
    try {
      for (const file of [first, second, first]) {
        const cid = await ours.add(file);
        // A CAR import pins through Helia's pins.add.
        const [root] = await helias.importCar(ours.exportCar(cid));
        expect(root).toBe(cid);
        expect(await ours.isPinned(cid)).toBe(true);
        expect((await readAll(ours.cat(cid))).equals(file)).toBe(true);
      }
    } finally {
      await ours.close();
      await helias.close();
    }
    const want = records(join(dir, 'helia'));
    expect(want.size).toBeGreaterThan(10);
    expect(records(join(dir, 'ours'))).toEqual(want);
  });

  it("a record in a form it does not write (valid CBOR) is left to Helia's path: same datastore as Helia", async () => {
    const file = content('odd', 900_000);
    const leaf = CID.createV1(
      0x55,
      Digest.create(0x12, createHash('sha256').update(file.subarray(0, 262_144)).digest()),
    );
    // {pinCount: 1, pinnedBy: [<bytes>]} with pinCount in a two-byte head: cborg reads it, never writes it.
    const odd = Uint8Array.from([
      ...[0xa2, 0x68, ...Buffer.from('pinCount'), 0x18, 0x01, 0x68, ...Buffer.from('pinnedBy'), 0x81, 0x43, 1, 2, 3],
    ]);
    expect(decodePinnedBlock(odd)).toBeNull();
    const roots: string[] = [];
    for (const name of ['odd-ours', 'odd-helia']) {
      const store = await EmbeddedIpfsStore.open(join(dir, name));
      try {
        const journal = new KeyJournal(join(dir, name, 'datastore', JOURNAL_FILE));
        journal.open();
        journal.put(pinnedBlockKey(leaf), odd);
        journal.close();
        if (name === 'odd-ours') roots.push(await store.add(file));
        else {
          const source = await EmbeddedIpfsStore.open(join(dir, 'odd-source'));
          try {
            roots.push(...(await store.importCar(source.exportCar(await source.add(file)))));
          } finally {
            await source.close();
          }
        }
      } finally {
        await store.close();
      }
    }
    expect(roots[0]).toBe(roots[1]);
    const want = records(join(dir, 'odd-helia'));
    expect(want.get(pinnedBlockKey(leaf))).not.toBe(Buffer.from(odd).toString('hex'));
    expect(records(join(dir, 'odd-ours'))).toEqual(want);
  });

  it('a block two files share stays pinned while either pins it, across unpin and pin again', async () => {
    // Helia 7.1's pins.rm leaves only the removed root in the shared block's record, so pinning `a` again skips it
    // and unpinning `b` then drops its last count: the block `a` needs would read as unpinned.
    const shared = content('shared-unpin', 1 << 18);
    const sharedLeaf = CID.createV1(0x55, Digest.create(0x12, createHash('sha256').update(shared).digest()));
    const store = await EmbeddedIpfsStore.open(join(dir, 'shared-unpin'));
    try {
      const a = await store.add(Buffer.concat([shared, content('only-a', 100_000)]));
      const b = await store.add(Buffer.concat([shared, content('only-b', 200_000)]));
      await store.unpin(a);
      expect(await store.isPinned(sharedLeaf.toString())).toBe(true); // b still pins it
      await store.pin(a);
      await store.unpin(b);
      expect(await store.isPinned(a)).toBe(true);
      expect(await store.isPinned(sharedLeaf.toString())).toBe(true); // a pins it again
      await store.unpin(a);
      expect(await store.isPinned(sharedLeaf.toString())).toBe(false);
    } finally {
      await store.close();
    }
    const left = records(join(dir, 'shared-unpin'));
    expect([...left.keys()].filter((k) => k.startsWith('/pinned-block/'))).toEqual([]);
  });

  it('unpins what it pinned, as Helia does', async () => {
    const store = await EmbeddedIpfsStore.open(join(dir, 'unpin'));
    try {
      const a = await store.add(content('a', 600_000));
      const b = await store.add(content('a', 700_000));
      await store.unpin(a);
      expect(await store.isPinned(a)).toBe(false);
      expect(await store.isPinned(b)).toBe(true);
      await store.unpin(b);
      expect(await store.isPinned(b)).toBe(false);
    } finally {
      await store.close();
    }
  });
});
