// Helia's pin records, written here for a freshly added DAG instead of through `helia.pins.add`, byte for byte as
// Helia writes them (helia/dist/src/pins.js; checked against Helia in pin-records.spec.ts):
//   /pin/<CIDv1 in base36>                 cborg {depth: Infinity, metadata: {}}
//   /pinned-block/<multihash in base36>    cborg {pinCount, pinnedBy: [CID bytes of each pinning root]}
// Helia spends ~80 µs per block on that (profiled: base-x's quadratic base36, cborg, a NotFoundError with a stack
// trace for every new block, a journal read before and after each record): as much CPU as importing the block.
// Only the record shapes above are handled; a record in any other form makes the caller use Helia's own path.
import type { CID } from 'multiformats/cid';

export const PIN_PREFIX = '/pin/';
export const PINNED_BLOCK_PREFIX = '/pinned-block/';

/** Multibase base36 ('k', lowercase), as multiformats' base36 encodes: a '0' per leading zero byte, then the number. */
export function base36(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const rest =
    zeros < bytes.length
      ? BigInt(
          `0x${Buffer.from(bytes.buffer, bytes.byteOffset + zeros, bytes.length - zeros).toString('hex')}`,
        ).toString(36)
      : '';
  return `k${'0'.repeat(zeros)}${rest}`;
}

export const pinKey = (root: CID): string => `${PIN_PREFIX}${base36(root.toV1().bytes)}`;
export const pinnedBlockKey = (block: CID): string => `${PINNED_BLOCK_PREFIX}${base36(block.multihash.bytes)}`;

/** cborg's encoding of Helia's pin {depth: Infinity, metadata: {}} (map keys in length-first order; ∞ as float16). */
export const PIN_RECORD = Uint8Array.from([
  0xa2,
  0x65,
  ...Buffer.from('depth'),
  0xf9,
  0x7c,
  0x00,
  0x68,
  ...Buffer.from('metadata'),
  0xa0,
]);

const PIN_COUNT = Buffer.from('pinCount');
const PINNED_BY = Buffer.from('pinnedBy');

/** A CBOR head (major type, argument) in its shortest form, as cborg writes it. */
function head(major: number, n: number): number[] {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  if (n < 0x1_0000_0000) return [m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  throw new RangeError('pin count out of range');
}

export interface PinnedBlock {
  readonly pinCount: number;
  readonly pinnedBy: readonly Uint8Array[];
}

export function encodePinnedBlock({ pinCount, pinnedBy }: PinnedBlock): Uint8Array {
  const out = [0xa2, 0x68, ...PIN_COUNT, ...head(0, pinCount), 0x68, ...PINNED_BY, ...head(4, pinnedBy.length)];
  for (const by of pinnedBy) out.push(...head(2, by.length), ...by);
  return Uint8Array.from(out);
}

/** Decodes a record written in exactly the form `encodePinnedBlock` writes, or returns null. */
export function decodePinnedBlock(bytes: Uint8Array): PinnedBlock | null {
  let at = 0;
  const argument = (major: number): number => {
    const b = bytes[at++];
    if (b === undefined || b >> 5 !== major) return -1;
    const info = b & 31;
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0;
    if (size === 0 || at + size > bytes.length) return -1;
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + bytes[at++];
    // cborg writes the shortest head: anything longer is not its output.
    return (info === 24 && n < 24) || (info === 25 && n < 0x100) || (info === 26 && n < 0x10000) ? -1 : n;
  };
  const text = (want: Buffer): boolean => {
    if (argument(3) !== want.length || at + want.length > bytes.length) return false;
    const ok = want.equals(bytes.subarray(at, at + want.length));
    at += want.length;
    return ok;
  };
  if (argument(5) !== 2 || !text(PIN_COUNT)) return null;
  const pinCount = argument(0);
  if (pinCount < 0 || !text(PINNED_BY)) return null;
  const n = argument(4);
  if (n < 0) return null;
  const pinnedBy: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const length = argument(2);
    if (length < 0 || at + length > bytes.length) return null;
    pinnedBy.push(bytes.slice(at, at + length));
    at += length;
  }
  return at === bytes.length ? { pinCount, pinnedBy } : null;
}

/**
 * Helia's update of a block's record when `root` pins it: null when the record already lists `root` (Helia writes
 * nothing then), else the new record. `existing` is the stored record (undefined: none).
 */
export function pinnedBlockUpdate(existing: PinnedBlock | undefined, root: Uint8Array): PinnedBlock | null {
  const { pinCount, pinnedBy } = existing ?? { pinCount: 0, pinnedBy: [] };
  if (pinnedBy.some((by) => Buffer.from(by).equals(root))) return null;
  return { pinCount: pinCount + 1, pinnedBy: [...pinnedBy, root] };
}

/**
 * The update of a block's record when `root` stops pinning it: null when the record does not list `root` (nothing to
 * write: a block listed twice in a DAG, or a record another path already updated), `'delete'` when no root pins it any
 * more, else the record without `root`. Helia 7.1's `pins.rm` instead keeps *only* `root` in `pinnedBy` (its filter is
 * the wrong way round), so a later pin of `root` skips the block and its count ends too low.
 */
export function pinnedBlockRemoval(existing: PinnedBlock | undefined, root: Uint8Array): PinnedBlock | 'delete' | null {
  if (existing === undefined) return null;
  const pinnedBy = existing.pinnedBy.filter((by) => !Buffer.from(by).equals(root));
  if (pinnedBy.length === existing.pinnedBy.length) return null;
  const pinCount = existing.pinCount - 1;
  return pinCount <= 0 ? 'delete' : { pinCount, pinnedBy };
}
