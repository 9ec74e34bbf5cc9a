// Runs a spec's suites once per tokenizer scan (tokenizer.ts): the wasm SIMD scan and the JS state machine alone, so
// every behaviour the specs check holds for both. The mode goes through SEALFOLD_CSV_SCAN, which every tokenizer
// reads when it is made (also in the inspect worker, which gets a copy of process.env when it starts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsvTokenizer } from '../src/tokenizer.js';

export const SCAN_MODES = ['wasm', 'js'] as const;
export type ScanUnderTest = (typeof SCAN_MODES)[number];

export function describeScans(title: string, suite: (mode: ScanUnderTest) => void): void {
  describe.each(SCAN_MODES)(`${title} (%s scan)`, (mode) => {
    const saved = process.env.SEALFOLD_CSV_SCAN;
    beforeAll(() => {
      if (mode === 'js') process.env.SEALFOLD_CSV_SCAN = 'js';
      else delete process.env.SEALFOLD_CSV_SCAN;
    });
    afterAll(() => {
      if (saved === undefined) delete process.env.SEALFOLD_CSV_SCAN;
      else process.env.SEALFOLD_CSV_SCAN = saved;
    });
    it(`tokenizes with the ${mode} scan`, () => {
      expect(new CsvTokenizer(() => {}).simd).toBe(mode === 'wasm');
    });
    suite(mode);
  });
}
