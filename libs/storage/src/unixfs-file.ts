// A UnixFS file importer for exactly Kubo's `ipfs add --cid-version 1` settings (content-store.ts): fixed 262144-byte
// chunks, raw leaves, a balanced layout of at most 174 links per node, a single-chunk file stored as its raw leaf.
// It builds the same DAG, block for block, as ipfs-unixfs-importer with those options (property-tested against it in
// unixfs-file.spec.ts), at less CPU per byte: the importer's per-chunk pipeline (async generators, batches, progress
// events, a Uint8ArrayList copy of every chunk that spans two source chunks into a new 256 KiB buffer) cost about as
// much as hashing the bytes (profiled). Here a chunk is hashed and handed to `put` as soon as it is complete, straight
// from the source chunk when it lies within one, otherwise from one reused buffer, and only its CID and size are kept.
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { createHash } from 'node:crypto';
import { KUBO_CHUNK_SIZE, KUBO_MAX_CHILDREN } from './content-store.js';

const RAW_CODE = 0x55;
const SHA2_256 = 0x12;

/** Stores one block. Called synchronously and must not keep `bytes`: the importer reuses them once it returns. */
export type PutBlock = (cid: CID, bytes: Uint8Array) => void;

/** Chunk size and links per node: Kubo's in use; others only let tests build deep trees from few bytes. */
export interface DagShape {
  readonly chunkSize: number;
  readonly maxChildren: number;
}
const KUBO_SHAPE: DagShape = { chunkSize: KUBO_CHUNK_SIZE, maxChildren: KUBO_MAX_CHILDREN };

/** A node of the DAG being built: what its parent's link and UnixFS blockSizes entry need. */
interface Node {
  readonly cid: CID;
  /** The link's Tsize: the node's block plus all blocks below it. */
  readonly tsize: number;
  /** File bytes under the node (its parent's blockSizes entry). */
  readonly fileSize: number;
}

const cidOf = (code: number, bytes: Uint8Array): CID =>
  CID.createV1(code, Digest.create(SHA2_256, createHash('sha256').update(bytes).digest()));

/** Appends `n` as a protobuf varint (n < 2^53). */
function pushVarint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

/**
 * The UnixFS Data of a file node over `children` (specs.ipfs.tech/unixfs), as ipfs-unixfs marshals it:
 * Type = File (field 1), filesize (field 3, the sum of blocksizes), one blocksizes varint per child (field 4).
 */
function fileData(children: readonly Node[]): Uint8Array {
  let fileSize = 0;
  for (const c of children) fileSize += c.fileSize;
  const out = [0x08, 0x02, 0x18];
  pushVarint(out, fileSize);
  for (const c of children) {
    out.push(0x20);
    pushVarint(out, c.fileSize);
  }
  return Uint8Array.from(out);
}

/** The dag-pb parent of `children` (one batch of a level), stored through `put`. */
function parentOf(children: readonly Node[], put: PutBlock): Node {
  // ipfs-unixfs-importer links only children that hold file bytes (an empty raw leaf only exists alone, as a file).
  const linked = children.filter((c) => c.fileSize > 0);
  const block = dagPb.encode({
    Data: fileData(linked),
    Links: linked.map((c) => ({ Name: '', Tsize: c.tsize, Hash: c.cid })),
  });
  const cid = cidOf(dagPb.code, block);
  put(cid, block);
  let tsize = block.length;
  let fileSize = 0;
  for (const c of linked) {
    tsize += c.tsize;
    fileSize += c.fileSize;
  }
  return { cid, tsize, fileSize };
}

/**
 * Imports the bytes of `source` as one UnixFS file, storing every block through `put`, and returns the root CID.
 * The balanced layout is built as the leaves come: a level's batch of KUBO_MAX_CHILDREN becomes a parent on the next
 * level at once, and the end closes each level's partial batch bottom up, which is the tree ipfs-unixfs-importer's
 * `balanced` layout makes from the full list of leaves (batches of 174, then batches of those parents, ...).
 */
export async function importFile(
  source: AsyncIterable<Uint8Array>,
  put: PutBlock,
  shape: DagShape = KUBO_SHAPE,
): Promise<CID> {
  const { chunkSize, maxChildren } = shape;
  const levels: Node[][] = [[]];
  const add = (node: Node, level: number): void => {
    const nodes = levels[level];
    nodes.push(node);
    if (nodes.length === maxChildren) {
      levels[level] = [];
      if (levels.length === level + 1) levels.push([]);
      add(parentOf(nodes, put), level + 1);
    }
  };
  const leaf = (bytes: Uint8Array): void => {
    const cid = cidOf(RAW_CODE, bytes);
    put(cid, bytes);
    add({ cid, tsize: bytes.length, fileSize: bytes.length }, 0);
  };

  // A chunk that spans source chunks is assembled here (reused: `put` keeps nothing).
  let pending: Buffer | null = null;
  let filled = 0;
  let leaves = 0;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      if (filled === 0 && chunk.length - at >= chunkSize) {
        leaf(chunk.subarray(at, at + chunkSize));
        leaves++;
        at += chunkSize;
        continue;
      }
      pending ??= Buffer.allocUnsafeSlow(chunkSize);
      const n = Math.min(chunkSize - filled, chunk.length - at);
      pending.set(chunk.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === chunkSize) {
        leaf(pending);
        leaves++;
        filled = 0;
      }
    }
  }
  // The last, shorter chunk; an empty file is one empty chunk.
  if (filled > 0 || leaves === 0) leaf(pending === null ? new Uint8Array(0) : pending.subarray(0, filled));

  // Close the levels bottom up. A level whose nodes never filled a batch and number one holds the root (the single
  // leaf of a one-chunk file is its own root, as with reduceSingleLeafToSelf).
  for (let level = 0; ; level++) {
    const nodes = levels[level];
    const above = level + 1 < levels.length;
    if (!above && nodes.length === 1) return nodes[0].cid;
    if (nodes.length > 0) {
      if (!above) levels.push([]);
      levels[level + 1].push(parentOf(nodes, put));
    }
  }
}
