import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { importer, type ImporterOptions } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import type { CID } from 'multiformats/cid';
import { randomBytes } from 'node:crypto';
import { KUBO_CHUNK_SIZE, KUBO_MAX_CHILDREN } from './content-store.js';
import { importFile, type DagShape } from './unixfs-file.js';

type Blocks = Map<string, Uint8Array>;

/** The root and blocks ipfs-unixfs-importer makes (Kubo's settings, or `shape`) from `pieces`. */
async function reference(pieces: Uint8Array[], shape: DagShape): Promise<{ root: string; blocks: Blocks }> {
  const blocks: Blocks = new Map();
  const blockstore = {
    put: async (cid: CID, bytes: Uint8Array) => {
      blocks.set(cid.toString(), Uint8Array.from(bytes));
      return cid;
    },
  };
  const options: Partial<ImporterOptions> = {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: shape.chunkSize }),
    layout: balanced({ maxChildrenPerNode: shape.maxChildren }),
  };
  let root = '';
  const source = [
    {
      content: (async function* () {
        yield* pieces;
      })(),
    },
  ];
  for await (const entry of importer(source, blockstore as never, options)) root = entry.cid.toString();
  return { root, blocks };
}

/** Ours, with each block copied as `put` sees it (the importer reuses the bytes it passes). */
async function ours(pieces: Uint8Array[], shape?: DagShape): Promise<{ root: string; blocks: Blocks }> {
  const blocks: Blocks = new Map();
  const root = await importFile(
    (async function* () {
      yield* pieces;
    })(),
    (cid, bytes) => void blocks.set(cid.toString(), Uint8Array.from(bytes)),
    shape,
  );
  return { root: root.toString(), blocks };
}

/** Same root, same CIDs, same bytes (compared as Buffers: a deep equality of 256 KiB arrays is slow). */
function expectSame(got: { root: string; blocks: Blocks }, want: { root: string; blocks: Blocks }): void {
  expect(got.root).toBe(want.root);
  expect([...got.blocks.keys()].sort()).toEqual([...want.blocks.keys()].sort());
  const differing = [...want.blocks].filter(([cid, bytes]) => !Buffer.from(bytes).equals(got.blocks.get(cid)!));
  expect(differing.map(([cid]) => cid)).toEqual([]);
}

/** `bytes` cut at `cuts` (fractions of its length, sorted), as a source would deliver it. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [0, ...cuts.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b), bytes.length];
  return at.slice(1).map((end, i) => bytes.subarray(at[i], end));
}

const KUBO: DagShape = { chunkSize: KUBO_CHUNK_SIZE, maxChildren: KUBO_MAX_CHILDREN };
const K = KUBO_CHUNK_SIZE;

describe('importFile (Kubo settings) builds the DAG ipfs-unixfs-importer builds', () => {
  it.each([0, 1, K - 1, K, K + 1, 2 * K, 3 * K + 7, 4 << 20, (5 << 20) + 12345])(
    '%i bytes, in uneven pieces: same root, same blocks',
    async (size) => {
      const bytes = randomBytes(size);
      const pieces = split(bytes, [0.1, 0.5, 0.5, 0.77]); // an empty piece included
      const [want, got] = await Promise.all([reference(pieces, KUBO), ours(pieces)]);
      expectSame(got, want);
    },
  );

  it('sizes around chunk boundaries, pieces of any size (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .integer({ min: 0, max: 3 })
            .chain((k) => fc.constant(k * K).chain((b) => fc.integer({ min: Math.max(0, b - 2), max: b + 2 }))),
          fc.integer({ min: 0, max: 6 << 20 }),
        ),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        async (size, cuts) => {
          const pieces = split(randomBytes(size), cuts);
          const [want, got] = await Promise.all([reference(pieces, KUBO), ours(pieces)]);
          expectSame(got, want);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a file of 175 chunks (two batches under a second level)', async () => {
    const pieces = [randomBytes(174 * K + 1)];
    const [want, got] = await Promise.all([reference(pieces, KUBO), ours(pieces)]);
    expectSame(got, want);
  });

  it('repeated chunks: the same blocks', async () => {
    const chunk = randomBytes(K);
    const pieces = [chunk, chunk, chunk.subarray(0, 100), chunk];
    const [want, got] = await Promise.all([reference(pieces, KUBO), ours(pieces)]);
    expectSame(got, want);
  });
});

describe('importFile, small shapes: the balanced layout at every depth (property)', () => {
  it('same root and blocks for any chunk size, fan-out, length and piece cuts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 0, max: 700 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        async (chunkSize, maxChildren, size, cuts) => {
          const shape = { chunkSize, maxChildren };
          // Bytes with repeats (a few distinct chunk contents), so duplicate leaves occur too.
          const bytes = Uint8Array.from({ length: size }, (_, i) => ((i * 7) % 251) ^ (i % 3));
          const pieces = split(bytes, cuts);
          const [want, got] = await Promise.all([reference(pieces, shape), ours(pieces, shape)]);
          expectSame(got, want);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('exact powers of the fan-out (the edge where a level closes on a full batch)', async () => {
    for (const maxChildren of [2, 3, 4])
      for (let leaves = 1; leaves <= maxChildren ** 3 + 1; leaves++) {
        const shape = { chunkSize: 2, maxChildren };
        const pieces = [Uint8Array.from({ length: 2 * leaves }, (_, i) => i % 256)];
        const [want, got] = await Promise.all([reference(pieces, shape), ours(pieces, shape)]);
        expectSame(got, want);
      }
  });
});
