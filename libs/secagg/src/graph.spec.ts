import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { NeighbourhoodGraph } from './graph.js';
import { defaultNeighbourhood } from './params.js';

const idsArb = fc
  .uniqueArray(fc.integer({ min: 0, max: 0xfffffffe }), { minLength: 3, maxLength: 80 })
  .map((ids) => Uint32Array.from(ids).sort());

describe('neighbourhood graph', () => {
  it('is k-regular (self included), symmetric, and a function of (ids, k, seed) only', () => {
    fc.assert(
      fc.property(idsArb, fc.uint8Array({ minLength: 32, maxLength: 32 }), (ids, seed) => {
        const k = defaultNeighbourhood(ids.length);
        const g = new NeighbourhoodGraph(ids, k, seed);
        const again = new NeighbourhoodGraph(Uint32Array.from(ids), k, Uint8Array.from(seed));
        expect(again.ring).toEqual(g.ring);
        expect([...g.ring].sort((a, b) => a - b)).toEqual([...ids]);
        for (const u of ids) {
          const hood = g.neighbourhood(u);
          expect(hood.length).toBe(k);
          expect(hood.includes(u)).toBe(true);
          for (const v of hood) {
            expect(g.neighbourhood(v).includes(u)).toBe(true);
            expect(g.adjacent(u, v)).toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('changes with the seed', () => {
    const ids = Uint32Array.from({ length: 50 }, (_, i) => i);
    const a = new NeighbourhoodGraph(ids, 11, new Uint8Array(32));
    const b = new NeighbourhoodGraph(ids, 11, new Uint8Array(32).fill(1));
    expect(a.ring).not.toEqual(b.ring);
  });

  it('refuses unsorted ids, even k and a short seed', () => {
    expect(() => new NeighbourhoodGraph(Uint32Array.from([3, 2, 1]), 3, new Uint8Array(32))).toThrow();
    expect(() => new NeighbourhoodGraph(Uint32Array.from([1, 2, 3, 4]), 4, new Uint8Array(32))).toThrow();
    expect(() => new NeighbourhoodGraph(Uint32Array.from([1, 2, 3]), 3, new Uint8Array(31))).toThrow();
  });
});
