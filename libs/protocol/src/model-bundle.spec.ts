import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SealfoldError, errorCode } from './errors.js';
import { EPSILON_UNBOUNDED_MILLI, UINT32_MAX, epsilonFromMilli, epsilonToMilli, jobRequestToJson } from './job.js';
import { sampleJobRequest } from '../test/job-request.js';
import {
  MODEL_BUNDLE_FORMAT,
  ModelBundleError,
  encodeModelBundle,
  parseModelBundle,
  type ModelBundle,
} from './model-bundle.js';

describe('ε in thousandths (one definition of "unbounded")', () => {
  it('unbounded is the uint32 maximum both ways; a finite ε is rounded up and never reaches it', () => {
    expect(EPSILON_UNBOUNDED_MILLI).toBe(UINT32_MAX);
    expect(epsilonToMilli(Infinity)).toBe(EPSILON_UNBOUNDED_MILLI);
    expect(epsilonFromMilli(EPSILON_UNBOUNDED_MILLI)).toBe(Infinity);
    expect(epsilonToMilli(1e12)).toBe(EPSILON_UNBOUNDED_MILLI - 1);
    expect(epsilonToMilli(0.0001)).toBe(1);
    expect(() => epsilonToMilli(-1)).toThrow(RangeError);
    expect(() => epsilonFromMilli(UINT32_MAX + 1)).toThrow(RangeError);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 4e6, noNaN: true }), (e) => {
        const m = epsilonToMilli(e);
        expect(m).toBeLessThan(EPSILON_UNBOUNDED_MILLI);
        // Never understates the ε spent.
        expect(epsilonFromMilli(m)).toBeGreaterThanOrEqual(e - 1e-9);
      }),
    );
  });
});

const request = jobRequestToJson(sampleJobRequest());

const bundle = (): ModelBundle => ({
  format: MODEL_BUNDLE_FORMAT,
  jobId: 'cd'.repeat(32),
  modelSpecHash: '0x' + 'ab'.repeat(32),
  strategy: 'fedavg',
  rounds: 2,
  datasets: ['1', '2', '3'],
  epsilonSpentMilli: EPSILON_UNBOUNDED_MILLI,
  delta: 0,
  metrics: [{ round: 1, participants: 3, loss: 0.5, accuracy: 0.9 }],
  request,
  modelSpec: { layers: [] },
  weights: Buffer.from([1, 2, 3, 4]).toString('base64'),
});

describe('sealfold-model/v1 bundle', () => {
  it('round-trips what the coordinator writes', () => {
    expect(parseModelBundle(encodeModelBundle(bundle()))).toEqual(bundle());
  });

  it('refuses a bundle that is not JSON, of another format, or with a bad field, naming the field', () => {
    const bad = (value: unknown) => () => parseModelBundle(JSON.stringify(value));
    expect(() => parseModelBundle(new Uint8Array([0xff, 0xfe]))).toThrow(ModelBundleError);
    expect(bad({ ...bundle(), format: 'sealfold-model/v2' })).toThrow(/format/);
    expect(bad({ ...bundle(), jobId: 'x' })).toThrow(/jobId/);
    expect(bad({ ...bundle(), weights: '***' })).toThrow(/weights/);
    expect(bad({ ...bundle(), epsilonSpentMilli: -1 })).toThrow(/epsilonSpentMilli/);
    expect(bad({ ...bundle(), request: { ...request, rounds: 'two' } })).toThrow(/request/);
    expect(bad({ ...bundle(), extra: 1 })).toThrow(ModelBundleError);
    try {
      bad({ ...bundle(), jobId: 'x' })();
    } catch (error) {
      expect(error).toBeInstanceOf(SealfoldError);
      expect(errorCode(error)).toBe('BAD_MODEL');
    }
  });
});
