import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { addMasksParallel } from './parallel.js';
import { addMask, addMasks, type MaskTerm } from './prg.js';

describe('mask removal', () => {
  const terms: MaskTerm[] = Array.from({ length: 5 }, (_, i) => ({
    key: new Uint8Array(randomBytes(32)),
    sign: i % 2 ? 1 : -1,
  }));

  it('addMasks (streamed, chunked) equals adding each whole mask', () => {
    for (const length of [1, 3, 16_384, 16_385, 40_001]) {
      const start = Uint32Array.from({ length }, (_, i) => i * 2654435761);
      const a = Uint32Array.from(start);
      const b = Uint32Array.from(start);
      for (const t of terms) addMask(a, t.key, t.sign);
      addMasks(b, terms);
      expect(b).toEqual(a);
    }
  });

  it('worker threads seek the AES-CTR stream and give the same sum', async () => {
    for (const [length, workers] of [
      [8192, 2],
      [50_003, 3],
      [100_001, 2],
    ]) {
      const start = Uint32Array.from({ length }, (_, i) => i ^ 0x5a5a5a5a);
      const a = Uint32Array.from(start);
      const b = Uint32Array.from(start);
      addMasks(a, terms);
      await addMasksParallel(b, terms, workers, 0);
      expect(b).toEqual(a);
    }
  });
});
