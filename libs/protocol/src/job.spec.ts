import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  DEFAULT_TRAINING,
  ESCROW_MAX_DATASETS,
  JOB_MAX_DATASETS,
  ZERO_ADDRESS,
  JOB_OPTIMIZERS,
  TRAINING_MICRO_SCALE,
  ageRecipientSchema,
  jobPrice,
  jobRateKind,
  jobRequestToJson,
  jobTraining,
  parseJobRequest,
  trainingFromFloats,
  trainingToFloats,
  type JobRequest,
} from './job.js';
import { sampleJobRequest } from '../test/job-request.js';
import { SealfoldError } from './errors.js';

const request = sampleJobRequest;

const bech32 = fc.constantFrom(...'qpzry9x8gf2tvdw0s3jn54khce6mua7l');
const trainingArb = fc.record({
  localEpochs: fc.integer({ min: 1, max: 1000 }),
  batchSize: fc.integer({ min: 1, max: 65_536 }),
  learningRateMicro: fc.bigInt({ min: 1n, max: 10_000_000n }),
  optimizer: fc.constantFrom(...JOB_OPTIMIZERS),
  fedProxMuMicro: fc.bigInt({ min: 0n, max: 100_000_000n }),
  updateClipMicro: fc.bigInt({ min: 1n, max: 10n ** 12n }),
  maxWeight: fc.integer({ min: 1, max: 1_000_000 }),
});

describe('JobRequest v2 JSON form', () => {
  it('round-trips any valid training and SecAgg+ terms (property)', () => {
    fc.assert(
      fc.property(trainingArb, fc.boolean(), fc.integer({ min: 3, max: 255 }), (training, enabled, minContributors) => {
        const req: JobRequest = { ...request(), strategy: 'fedprox', training, secagg: { enabled, minContributors } };
        expect(parseJobRequest(JSON.parse(JSON.stringify(jobRequestToJson(req))))).toEqual(req);
      }),
    );
  });

  it('refuses out-of-range training settings and SecAgg+ terms (property)', () => {
    const json = () => jobRequestToJson({ ...request(), strategy: 'fedprox' });
    const bad = fc.oneof(
      fc.constantFrom(0, 1001, 1.5).map((localEpochs) => ({ training: { localEpochs } })),
      fc.constantFrom(0, 65_537).map((batchSize) => ({ training: { batchSize } })),
      fc
        .constantFrom('0', '10000001', '-1', '1.5', '0x10')
        .map((learningRateMicro) => ({ training: { learningRateMicro } })),
      fc.constantFrom('rmsprop', 'SGD', '').map((optimizer) => ({ training: { optimizer } })),
      fc.constantFrom('100000001', '-1').map((fedProxMuMicro) => ({ training: { fedProxMuMicro } })),
      fc.constantFrom('0', '1000000000001').map((updateClipMicro) => ({ training: { updateClipMicro } })),
      fc.constantFrom(0, 1_000_001).map((maxWeight) => ({ training: { maxWeight } })),
      fc.integer({ min: -5, max: 2 }).map((minContributors) => ({ secagg: { minContributors } })),
      fc.integer({ min: 256, max: 100_000 }).map((minContributors) => ({ secagg: { minContributors } })),
      fc.constantFrom(0, 'true').map((enabled) => ({ secagg: { enabled } })),
    );
    fc.assert(
      fc.property(bad, (patch) => {
        const base = json();
        const broken = {
          ...base,
          training: { ...base.training, ...(patch as { training?: object }).training },
          secagg: { ...base.secagg, ...(patch as { secagg?: object }).secagg },
        };
        expect(() => parseJobRequest(broken)).toThrow();
      }),
    );
  });

  it('requires μ = 0 unless the strategy is fedprox, and every new field', () => {
    const json = jobRequestToJson(request());
    expect(() => parseJobRequest({ ...json, training: { ...json.training, fedProxMuMicro: '10000' } })).toThrow(
      /fedProxMuMicro must be 0/,
    );
    expect(
      parseJobRequest({ ...json, strategy: 'fedprox', training: { ...json.training, fedProxMuMicro: '10000' } }),
    ).toBeTruthy();
    for (const field of ['coordinator', 'recipient', 'training', 'secagg'] as const) {
      const { [field]: _dropped, ...rest } = json;
      expect(() => parseJobRequest(rest)).toThrow();
    }
    expect(() => parseJobRequest({ ...json, training: { ...json.training, extra: 1 } })).toThrow();
  });

  it("caps an escrowed job at JobEscrow's 256 datasets, and a licence-only job at 1024", () => {
    const many = (n: number) => {
      const json = jobRequestToJson(request());
      return {
        ...json,
        datasets: Array.from({ length: n }, (_, i) => String(i + 1)),
        licences: Array.from({ length: n }, (_, i) => String(i + 1)),
      };
    };
    const escrowed = {
      currency: ZERO_ADDRESS,
      runDeadline: '1900000000',
      confirmWindow: 86_400,
      fallbackWindow: 86_400,
      feeBps: 0,
    };
    expect(parseJobRequest({ ...many(ESCROW_MAX_DATASETS), escrow: escrowed }).datasets).toHaveLength(256);
    expect(() => parseJobRequest({ ...many(ESCROW_MAX_DATASETS + 1), escrow: escrowed })).toThrow(
      /an escrowed job has at most 256 datasets/,
    );
    expect(parseJobRequest(many(JOB_MAX_DATASETS)).datasets).toHaveLength(1024);
    expect(() => parseJobRequest(many(JOB_MAX_DATASETS + 1))).toThrow();
  });

  it('accepts age X25519 and hybrid recipients and nothing else (property)', () => {
    fc.assert(
      fc.property(fc.array(bech32, { minLength: 58, maxLength: 58 }), (data) => {
        expect(ageRecipientSchema.safeParse(`age1${data.join('')}`).success).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.array(bech32, { minLength: 6, maxLength: 2493 }), (data) => {
        expect(ageRecipientSchema.safeParse(`age1pq1${data.join('')}`).success).toBe(true);
      }),
      { numRuns: 50 },
    );
    for (const bad of [
      'age1' + 'q'.repeat(57),
      'age1' + 'q'.repeat(59),
      'age1' + 'b'.repeat(58), // b is not in the Bech32 charset
      'AGE1' + 'Q'.repeat(58),
      'age1pq1' + 'q'.repeat(2494), // 2501 characters
      'ssh-ed25519 AAAA',
      '',
    ])
      expect(ageRecipientSchema.safeParse(bad).success).toBe(false);
  });
});

describe('training fixed point', () => {
  it('round-trips the signed form exactly and floats to the nearest millionth (property)', () => {
    fc.assert(
      fc.property(trainingArb, (t) => {
        expect(trainingFromFloats(trainingToFloats(t))).toEqual(t);
      }),
    );
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 10, noNaN: true }), (lr) => {
        const signed = trainingFromFloats({ ...DEFAULT_TRAINING, learningRate: lr });
        expect(Math.abs(trainingToFloats(signed).learningRate - lr)).toBeLessThanOrEqual(0.5 / TRAINING_MICRO_SCALE);
      }),
    );
  });

  it('refuses what the schema would refuse', () => {
    for (const bad of [
      { learningRate: 0 },
      { learningRate: 10.000001 },
      { learningRate: Number.NaN },
      { updateClip: 0 },
      { updateClip: -1 },
      { fedProxMu: 101 },
      { localEpochs: 0 },
      { batchSize: 1.5 },
      { maxWeight: 1_000_001 },
      { optimizer: 'rmsprop' as 'sgd' },
    ])
      expect(() => jobTraining(bad)).toThrow(RangeError);
    expect(jobTraining()).toEqual({
      localEpochs: 1,
      batchSize: 32,
      learningRateMicro: 1_000n,
      optimizer: 'adam',
      fedProxMuMicro: 0n,
      updateClipMicro: 1_000_000n,
      maxWeight: 10_000,
    });
  });
});

describe('job price and job rates (issue 20, ECONOMICS §2.7)', () => {
  it('is Σ rate × rows × rounds, exact in bigints, and linear in the rounds', () => {
    expect(
      jobPrice(
        [
          { rate: 10n ** 12n, rows: 40n },
          { rate: 10n ** 12n, rows: 50n },
        ],
        3,
      ),
    ).toBe(270n * 10n ** 12n);
    expect(jobPrice([], 5)).toBe(0n);
    const dataset = fc.record({
      rate: fc.bigInt({ min: 0n, max: 2n ** 96n - 1n }),
      rows: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
    });
    fc.assert(
      fc.property(fc.array(dataset, { maxLength: 8 }), fc.integer({ min: 1, max: 1000 }), (ds, rounds) => {
        const price = jobPrice(ds, rounds);
        expect(price).toBe(ds.reduce((sum, d) => sum + d.rate * d.rows, 0n) * BigInt(rounds));
        expect(jobPrice(ds, rounds + 1) - price).toBe(jobPrice(ds, 1));
      }),
    );
  });

  it('is free when no dataset charges, paid when all do, and refuses a mix with MIXED_JOB_RATES naming both sides', () => {
    expect(jobRateKind([])).toBe('free');
    expect(
      jobRateKind([
        { id: 1n, rate: 0n },
        { id: 2n, rate: 0n },
      ]),
    ).toBe('free');
    expect(
      jobRateKind([
        { id: 1n, rate: 5n },
        { id: 2n, rate: 7n },
      ]),
    ).toBe('paid');
    const mixed = () =>
      jobRateKind([
        { id: 1n, rate: 5n },
        { id: 2n, rate: 0n },
        { id: 3n, rate: 1n },
      ]);
    expect(mixed).toThrow(SealfoldError);
    expect(mixed).toThrow(
      "datasets 1, 3 charge a job rate and 2 do not: a job's escrow pins a rate for every dataset, so run them as separate jobs",
    );
    let caught: unknown;
    try {
      mixed();
    } catch (err) {
      caught = err;
    }
    expect((caught as SealfoldError).code).toBe('MIXED_JOB_RATES');
  });
});
