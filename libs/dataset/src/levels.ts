// A set of byte strings with insertion-order indices, looked up without building JS strings (an open-addressing
// hash table, the bytes kept in one pool). Used to track categorical levels in the hot loop. Keys of up to 8 bytes
// (most levels and labels) are read as two little-endian 32-bit words, bytes 0-3 and 4-7, each masked to the bytes the
// key has, so equal words and equal length mean equal bytes: no byte loop to hash and none to compare, and no branch
// on the length (values of mixed lengths, "red" and "green", made it mispredict). Longer keys: FNV-1a and a byte
// compare.

/** By key length 0..8: the mask of the key's bytes in its first word, and in its second. */
const MASK0 = Int32Array.of(0, 0xff, 0xffff, 0xffffff, -1, -1, -1, -1, -1);
const MASK1 = Int32Array.of(0, 0, 0, 0, 0, 0xff, 0xffff, 0xffffff, -1);

export class LevelTable {
  private slots: Int32Array;
  private mask: number;
  /** 32 - log2(slot count). */
  private shift: number;
  private pool: Buffer = Buffer.allocUnsafe(1024);
  private poolLen = 0;
  private starts = new Int32Array(16);
  private lens = new Int32Array(16);
  private hashes = new Int32Array(16);
  /** Per entry of up to 8 bytes, its bytes 0-3 and 4-7 as masked words (MASK0, MASK1). */
  private words0 = new Int32Array(16);
  private words1 = new Int32Array(16);
  /** A view of the last buffer looked up in (the tokenizer's, which rarely changes), for word reads. */
  private viewOf: Uint8Array | null = null;
  private view: DataView = new DataView(new ArrayBuffer(0));
  size = 0;

  constructor(expected = 16) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  /** Up to 4 bytes packed little-endian, byte by byte (a key too near the end of its buffer for word reads). */
  private static packed(b: Uint8Array, s: number, e: number): number {
    let h = 0;
    for (let i = e - 1; i >= s; i--) h = (h << 8) | b[i];
    return h;
  }

  /** FNV-1a, for keys over 8 bytes. */
  private static fnv(b: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
    return h;
  }

  /** Fibonacci hashing (the product's top bits) spreads the packed short keys (which differ in a few low bits) over the slots. */
  private slotOf(h: number): number {
    return Math.imul(h, 0x9e3779b1) >>> this.shift;
  }

  /**
   * The index of `b[s..e)` when it is a key of up to 8 bytes, present, and `b` is the buffer findOrAdd last read words
   * from; else -1 (then ask findOrAdd). It calls nothing, so V8 inlines it into the inspector's hot loop also after
   * findOrAdd was optimized on its own with its insertion path inside (too large then to inline).
   */
  indexOf(b: Uint8Array, s: number, e: number): number {
    const len = e - s;
    if (len > 8 || s + 8 > b.length || b !== this.viewOf) return -1;
    const w0 = this.view.getInt32(s, true) & MASK0[len];
    const w1 = this.view.getInt32(s + 4, true) & MASK1[len];
    const h = w0 ^ Math.imul(w1 ^ len, 0x85ebca6b); // findOrAdd's hash, written out (indexOf calls nothing)
    const { slots, words0, words1, lens, mask } = this;
    for (let slot = Math.imul(h, 0x9e3779b1) >>> this.shift; ; slot = (slot + 1) & mask) {
      const idx = slots[slot];
      if (idx < 0) return -1;
      if (words0[idx] === w0 && words1[idx] === w1 && lens[idx] === len) return idx;
    }
  }

  /** The index of `b[s..e)`, or -1 when absent. */
  find(b: Uint8Array, s: number, e: number): number {
    return this.findOrAdd(b, s, e, 0);
  }

  /**
   * The index of `b[s..e)`, adding it if absent; -1 when absent and the table already holds `cap` entries. Keys of up
   * to 8 bytes are read as words (the hot path: one or two reads, no byte loop); longer keys go to findOrAddLong.
   */
  findOrAdd(b: Uint8Array, s: number, e: number, cap: number): number {
    const len = e - s;
    if (len > 8) return this.findOrAddLong(b, s, e, cap);
    let w0: number;
    let w1: number;
    if (s + 8 > b.length) {
      w0 = LevelTable.packed(b, s, Math.min(e, s + 4));
      w1 = len > 4 ? LevelTable.packed(b, s + 4, e) : 0;
    } else {
      if (b !== this.viewOf) {
        this.viewOf = b;
        this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      }
      w0 = this.view.getInt32(s, true) & MASK0[len];
      w1 = this.view.getInt32(s + 4, true) & MASK1[len];
    }
    // Murmur3's fmix constant mixes the second word and the length in; slotOf spreads the result.
    const h = w0 ^ Math.imul(w1 ^ len, 0x85ebca6b);
    const { slots, words0, words1, lens, mask } = this;
    for (let slot = this.slotOf(h); ; slot = (slot + 1) & mask) {
      const idx = slots[slot];
      if (idx < 0) break;
      if (words0[idx] === w0 && words1[idx] === w1 && lens[idx] === len) return idx;
    }
    if (this.size >= cap) return -1;
    const idx = this.insert(b, s, e, h);
    this.words0[idx] = w0;
    this.words1[idx] = w1;
    return idx;
  }

  private findOrAddLong(b: Uint8Array, s: number, e: number, cap: number): number {
    const len = e - s;
    const h = LevelTable.fnv(b, s, e);
    const pool = this.pool;
    for (let slot = this.slotOf(h); ; slot = (slot + 1) & this.mask) {
      const idx = this.slots[slot];
      if (idx < 0) break;
      if (this.hashes[idx] !== h || this.lens[idx] !== len) continue;
      const ps = this.starts[idx];
      let j = 0;
      while (j < len && pool[ps + j] === b[s + j]) j++;
      if (j === len) return idx;
    }
    if (this.size >= cap) return -1;
    return this.insert(b, s, e, h);
  }

  private insert(b: Uint8Array, s: number, e: number, h: number): number {
    const len = e - s;
    if (this.poolLen + len > this.pool.length) {
      const next = Buffer.allocUnsafe(Math.max(this.pool.length * 2, this.poolLen + len));
      this.pool.copy(next, 0, 0, this.poolLen);
      this.pool = next;
    }
    this.pool.set(b.subarray(s, e), this.poolLen);
    const idx = this.size++;
    if (idx === this.starts.length) {
      const grow = (a: Int32Array) => {
        const n = new Int32Array(a.length * 2);
        n.set(a);
        return n;
      };
      this.starts = grow(this.starts);
      this.lens = grow(this.lens);
      this.hashes = grow(this.hashes);
      this.words0 = grow(this.words0);
      this.words1 = grow(this.words1);
    }
    this.starts[idx] = this.poolLen;
    this.lens[idx] = len;
    this.hashes[idx] = h;
    this.poolLen += len;
    if (this.size * 2 > this.slots.length) this.rehash();
    else this.place(idx);
    return idx;
  }

  private place(idx: number): void {
    let slot = this.slotOf(this.hashes[idx]);
    while (this.slots[slot] >= 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = idx;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    this.mask = this.slots.length - 1;
    this.shift = 32 - Math.log2(this.slots.length);
    for (let i = 0; i < this.size; i++) this.place(i);
  }

  /** The entries' bytes, in insertion order. */
  entries(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.pool.subarray(this.starts[i], this.starts[i] + this.lens[i]));
    return out;
  }
}
