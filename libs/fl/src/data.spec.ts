import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { selectSamples, splitTrainValidation, validateLocalData } from './data.js';
import { FlError } from './errors.js';

describe('splitTrainValidation', () => {
  it('partitions 0..n-1 into disjoint sorted parts of the requested size, reproducibly per seed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        fc.string(),
        (n, f, seed) => {
          const a = splitTrainValidation(n, { validationFraction: f, seed });
          const all = [...a.train, ...a.validation].sort((x, y) => x - y);
          expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
          expect([...a.train]).toEqual([...a.train].sort((x, y) => x - y));
          if (n >= 2 && f > 0) {
            expect(a.validation.length).toBeGreaterThanOrEqual(1);
            expect(a.train.length).toBeGreaterThanOrEqual(1);
            expect(Math.abs(a.validation.length - n * f)).toBeLessThanOrEqual(1);
          }
          const b = splitTrainValidation(n, { validationFraction: f, seed });
          expect([...b.validation]).toEqual([...a.validation]);
        },
      ),
    );
  });

  it('gives different owners different splits', () => {
    const a = splitTrainValidation(1000, { validationFraction: 0.2, seed: 'owner-a' });
    const b = splitTrainValidation(1000, { validationFraction: 0.2, seed: 'owner-b' });
    expect([...a.validation]).not.toEqual([...b.validation]);
    expect(() => splitTrainValidation(10, { validationFraction: 1, seed: 1 })).toThrow(FlError);
  });
});

describe('local data', () => {
  const data = {
    features: Float32Array.from([0, 1, 10, 11, 20, 21]),
    labels: Int32Array.from([0, 1, 0]),
    numFeatures: 2,
    numClasses: 2,
  };

  it('selects rows by index', () => {
    const s = selectSamples(data, [2, 0]);
    expect([...s.features]).toEqual([20, 21, 0, 1]);
    expect([...s.labels]).toEqual([0, 0]);
    expect(() => selectSamples(data, [3])).toThrow('out of range');
  });

  it('validates shapes, label range and finiteness', () => {
    expect(validateLocalData(data)).toBe(3);
    expect(() => validateLocalData({ ...data, numFeatures: 4 })).toThrow('INVALID_DATA');
    expect(() => validateLocalData({ ...data, labels: Int32Array.from([0, 2, 0]) })).toThrow('outside');
    expect(() => validateLocalData({ ...data, features: Float32Array.from([0, NaN, 1, 1, 1, 1]) })).toThrow('finite');
    expect(() => validateLocalData({ ...data, numClasses: 1 })).toThrow('numClasses');
    expect(() => validateLocalData({ ...data, labels: [0, 1, 0] as unknown as Int32Array })).toThrow('Int32Array');
  });
});
