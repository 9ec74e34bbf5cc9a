// A set of byte strings with insertion-order indices, looked up without building JS strings (an open-addressing
// hash table; keys up to 4 bytes hashed by packing them into an int, longer ones by FNV-1a; the bytes kept in one
// pool). Used to track categorical levels in the hot loop.

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
  size = 0;

  constructor(expected = 16) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  /**
   * Up to 4 bytes: the bytes themselves packed into an int, so equal hash and equal length mean equal bytes (most
   * levels and labels are that short, and then no byte comparison is needed). Longer: FNV-1a.
   */
  private static hash(b: Uint8Array, s: number, e: number): number {
    const len = e - s;
    if (len <= 4) {
      let h = 0;
      for (let i = e - 1; i >= s; i--) h = (h << 8) | b[i];
      return h;
    }
    let h = 0x811c9dc5 | 0;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
    return h;
  }

  /** Fibonacci hashing (the product's top bits) spreads the packed short keys (which differ in a few low bits) over the slots. */
  private slotOf(h: number): number {
    return Math.imul(h, 0x9e3779b1) >>> this.shift;
  }

  /** The index of `b[s..e)`, or -1 when absent. */
  find(b: Uint8Array, s: number, e: number): number {
    return this.lookup(b, s, e, LevelTable.hash(b, s, e));
  }

  private lookup(b: Uint8Array, s: number, e: number, h: number): number {
    const len = e - s;
    const pool = this.pool;
    for (let slot = this.slotOf(h); ; slot = (slot + 1) & this.mask) {
      const idx = this.slots[slot];
      if (idx < 0) return -1;
      if (this.hashes[idx] !== h || this.lens[idx] !== len) continue;
      if (len <= 4) return idx;
      const ps = this.starts[idx];
      let j = 0;
      while (j < len && pool[ps + j] === b[s + j]) j++;
      if (j === len) return idx;
    }
  }

  /** The index of `b[s..e)`, adding it if absent; -1 when absent and the table already holds `cap` entries. */
  findOrAdd(b: Uint8Array, s: number, e: number, cap: number): number {
    const h = LevelTable.hash(b, s, e);
    const found = this.lookup(b, s, e, h);
    if (found >= 0 || this.size >= cap) return found;
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
