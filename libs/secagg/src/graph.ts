// The SecAgg+ communication graph (Bell et al. CCS 2020 §3, "Harary graph" construction as in Flower): the client
// ids are permuted by a PRG keyed from the public round seed, placed on a ring, and each client is joined to the
// (k − 1)/2 nearest on either side. Everyone derives the same graph from (seed, ids); the server cannot choose it.
import { createCipheriv } from 'node:crypto';
import { refuse } from './errors.js';
import { LABELS, hkdf32, kdfInfo } from './prg.js';

/** Uniform integers in [0, bound) from an AES-256-CTR stream, by rejection sampling (no modulo bias). */
function uniformSource(key: Uint8Array): (bound: number) => number {
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const chunk = Buffer.alloc(4096);
  let words = new Uint32Array(0);
  let next = 0;
  const word = () => {
    if (next === words.length) {
      const bytes = cipher.update(chunk);
      words = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      next = 0;
    }
    return words[next++];
  };
  return (bound) => {
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const x = word();
      if (x < limit) return x % bound;
    }
  };
}

export class NeighbourhoodGraph {
  /** The ids in ring order. */
  readonly ring: Uint32Array;
  private readonly position = new Map<number, number>();
  private readonly cache = new Map<number, Uint32Array>();

  /**
   * @param ids the invited clients, strictly increasing
   * @param k neighbourhood size including the client itself (odd, ≤ ids.length)
   * @param seed the public 32-byte round seed
   */
  constructor(
    ids: Uint32Array,
    readonly k: number,
    seed: Uint8Array,
  ) {
    if (seed.length !== 32) refuse('INVALID_PARAMS', 'round seed must be 32 bytes');
    for (let i = 1; i < ids.length; i++)
      if (ids[i] <= ids[i - 1]) refuse('INVALID_MESSAGE', 'client ids must be strictly increasing');
    if (k % 2 === 0 || k < 3 || k > ids.length) refuse('INVALID_PARAMS', `k = ${k} does not fit ${ids.length} clients`);
    const ring = Uint32Array.from(ids);
    // Fisher–Yates with PRG(HKDF(seed)) indices.
    const uniform = uniformSource(hkdf32(seed, kdfInfo(LABELS.graph, '-', 0, ids.length, k)));
    for (let i = ring.length - 1; i > 0; i--) {
      const j = uniform(i + 1);
      const tmp = ring[i];
      ring[i] = ring[j];
      ring[j] = tmp;
    }
    this.ring = ring;
    ring.forEach((id, i) => this.position.set(id, i));
  }

  has(id: number): boolean {
    return this.position.has(id);
  }

  /** The neighbourhood of `id` including `id` itself, strictly increasing (k ids). */
  neighbourhood(id: number): Uint32Array {
    let hood = this.cache.get(id);
    if (hood) return hood;
    const p = this.position.get(id);
    if (p === undefined) return refuse('INVALID_MESSAGE', `client ${id} is not in the round`);
    const n = this.ring.length;
    const half = (this.k - 1) / 2;
    const ids: number[] = [];
    for (let off = -half; off <= half; off++) ids.push(this.ring[(((p + off) % n) + n) % n]);
    hood = Uint32Array.from(new Set(ids)).sort();
    this.cache.set(id, hood);
    return hood;
  }

  /** True when u and v are neighbours (or equal). */
  adjacent(u: number, v: number): boolean {
    const pu = this.position.get(u);
    const pv = this.position.get(v);
    if (pu === undefined || pv === undefined) return false;
    const n = this.ring.length;
    const dist = Math.min((pu - pv + n) % n, (pv - pu + n) % n);
    return dist <= (this.k - 1) / 2;
  }
}
