import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  WIRE_FRAME_TYPES,
  WIRE_HEADER_BYTES,
  WireCodecError,
  controlFrameEncoder,
  decodeControlPayload,
  decodePlainUpdate,
  decodeWireFrame,
  encodeControlFrame,
  encodePlainUpdate,
  encodeWireFrame,
  EVALUATION_ROUND_BIT,
  evaluationRound,
  siloAuthMessage,
  type WireFrameType,
} from './wire.js';
import { jobRequestToJson, jobTraining } from './job.js';
import { sampleJobRequest } from '../test/job-request.js';

const types = Object.keys(WIRE_FRAME_TYPES) as WireFrameType[];
const frameArb = fc.record({
  type: fc.constantFrom(...types),
  jobId: fc.string({ maxLength: 20 }),
  round: fc.nat({ max: 0xffff_ffff }),
  stage: fc.nat({ max: 255 }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof WireCodecError) return e.code;
    throw e;
  }
  return 'NO_ERROR';
};

describe('wire frames', () => {
  it('round-trips every frame (property)', () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        const decoded = decodeWireFrame(encodeWireFrame(frame));
        expect(decoded).toEqual({ ...frame, payload: Uint8Array.from(frame.payload) });
      }),
    );
  });

  it('rejects every strict prefix and every extension of a valid frame (property)', () => {
    fc.assert(
      fc.property(frameArb, fc.uint8Array({ minLength: 1, maxLength: 8 }), (frame, extra) => {
        const bytes = encodeWireFrame(frame);
        const cut = bytes.subarray(0, bytes.length - 1);
        expect(['TRUNCATED']).toContain(codeOf(() => decodeWireFrame(cut)));
        const longer = new Uint8Array(bytes.length + extra.length);
        longer.set(bytes);
        longer.set(extra, bytes.length);
        expect(codeOf(() => decodeWireFrame(longer))).toBe('TRAILING_BYTES');
      }),
    );
  });

  it('never throws anything but WireCodecError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeWireFrame(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(WireCodecError);
        }
      }),
    );
  });

  it('names what is wrong: magic, version, type, size', () => {
    const good = encodeWireFrame({ type: 'secagg', jobId: 'j1', round: 2, stage: 6, payload: new Uint8Array(10) });
    const patch = (i: number, v: number) => {
      const b = good.slice();
      b[i] = v;
      return b;
    };
    expect(codeOf(() => decodeWireFrame(patch(0, 0)))).toBe('BAD_MAGIC');
    expect(codeOf(() => decodeWireFrame(patch(2, 9)))).toBe('BAD_VERSION');
    expect(codeOf(() => decodeWireFrame(patch(3, 200)))).toBe('UNKNOWN_TYPE');
    expect(codeOf(() => decodeWireFrame(patch(9, 65)))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeWireFrame(good, { maxFrameBytes: good.length - 1 }))).toBe('OVERSIZED');
    // A header that declares a huge payload is refused before anything is allocated.
    const huge = good.slice(0, WIRE_HEADER_BYTES + 2);
    new DataView(huge.buffer).setUint32(12, 0xffff_fff0, true);
    expect(codeOf(() => decodeWireFrame(huge))).toBe('OVERSIZED');
    expect(codeOf(() => decodeWireFrame(new Uint8Array(3)))).toBe('TRUNCATED');
  });
});

const payload = (body: unknown) => new TextEncoder().encode(JSON.stringify(body));

describe('control payloads', () => {
  it('round-trips a challenge and refuses unknown fields and bad JSON', () => {
    const body = {
      coordinatorId: 'c-1',
      nonce: `0x${'ab'.repeat(32)}`,
      expiresAt: 1_800_000_000_000,
      chainId: '31337',
    };
    const frame = decodeWireFrame(encodeControlFrame('challenge', body));
    expect(frame.type).toBe('challenge');
    expect(decodeControlPayload('challenge', frame.payload)).toEqual(body);
    const extra = new TextEncoder().encode(JSON.stringify({ ...body, admin: true }));
    expect(codeOf(() => decodeControlPayload('challenge', extra))).toBe('BAD_FIELD');
    expect(codeOf(() => decodeControlPayload('challenge', new TextEncoder().encode('{')))).toBe('BAD_JSON');
    expect(codeOf(() => decodeControlPayload('challenge', Uint8Array.of(0xff, 0xfe)))).toBe('BAD_JSON');
  });

  it('a job offer carries no training or SecAgg+ settings of the coordinator: the silo reads them from the request', () => {
    const request = jobRequestToJson(sampleJobRequest());
    const offer = {
      jobId: 'ab'.repeat(32),
      request,
      signature: '0x' + '11'.repeat(65),
      modelSpec: { inputShape: [4] },
      jobSchema: {
        format: 'sealfold-job-schema/v1',
        label: 'y',
        features: [{ name: 'x', type: 'numeric' }],
        classes: ['a', 'b'],
      },
      datasetId: '1',
      clientId: 1,
      dimension: 10,
    };
    expect(decodeControlPayload('job-offer', payload(offer)).request.training).toEqual(jobTraining());
    for (const extra of [
      { secagg: { enabled: true, threshold: 0, neighbours: 0, clip: 1, bits: 16, maxWeight: 1 } },
      { localEpochs: 5 },
      { batchSize: 1 },
      { learningRate: 9 },
      { optimizer: 'sgd' },
      { fedProxMu: 0.5 },
    ])
      expect(codeOf(() => decodeControlPayload('job-offer', payload({ ...offer, ...extra })))).toBe('BAD_FIELD');
  });

  it('controlFrameEncoder: n offers sharing one request decode as what encodeControlFrame gives, own fields validated (property)', () => {
    const shared = {
      jobId: 'ab'.repeat(32),
      request: jobRequestToJson(sampleJobRequest()),
      signature: '0x' + '11'.repeat(65),
      modelSpec: { inputShape: [4] },
      jobSchema: {
        format: 'sealfold-job-schema/v1' as const,
        label: 'y',
        features: [{ name: 'x', type: 'numeric' as const }],
        classes: ['a', 'b'],
      },
      dimension: 10,
    };
    const encode = controlFrameEncoder('job-offer', ['datasetId', 'clientId'], shared, { jobId: shared.jobId });
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), fc.nat({ max: 0xffff_fffe }), (id, clientId) => {
        const own = { datasetId: String(id), clientId };
        const frame = decodeWireFrame(encode(own));
        const reference = decodeWireFrame(
          encodeControlFrame('job-offer', { ...shared, ...own }, { jobId: shared.jobId }),
        );
        expect({ ...frame, payload: undefined }).toEqual({ ...reference, payload: undefined });
        expect(decodeControlPayload('job-offer', frame.payload)).toEqual(
          decodeControlPayload('job-offer', reference.payload),
        );
      }),
      { numRuns: 100 },
    );
    // Each frame's own fields are checked as encodeControlFrame checks them; so is the shared part, once.
    expect(codeOf(() => encode({ datasetId: '-1', clientId: 1 }))).toBe('BAD_FIELD');
    expect(codeOf(() => encode({ datasetId: '1', clientId: 0xffff_ffff }))).toBe('BAD_FIELD');
    expect(codeOf(() => encode({ datasetId: '1', clientId: 1, admin: true } as never))).toBe('BAD_FIELD');
    expect(codeOf(() => controlFrameEncoder('job-offer', ['datasetId', 'clientId'], { ...shared, dimension: 0 }))).toBe(
      'BAD_FIELD',
    );
    expect(
      codeOf(() => controlFrameEncoder('job-offer', ['datasetId', 'clientId'], { ...shared, localEpochs: 5 } as never)),
    ).toBe('BAD_FIELD');
  });

  it('receipt request and signature (issue 20): round-trip, and refuse inconsistent receipts and ambiguous replies', () => {
    const h = (b: string) => `0x${b.repeat(32)}`;
    const receipt = {
      jobId: h('01'),
      roundsCompleted: 2,
      modelDigest: h('02'),
      modelCidDigest: h('03'),
      transcriptRoot: h('04'),
      roundsByDataset: [2, 1, 0],
      epsilonSpentMilli: 0xffff_ffff,
      valuationDigest: h('00'),
    };
    const transcript = [
      { round: 1, survivors: [0, 1], modelDigest: h('05') },
      { round: 2, survivors: [0], modelDigest: h('02') },
    ];
    const body = { jobId: 'ab'.repeat(32), datasetId: '7', receipt, transcript };
    const frame = decodeWireFrame(encodeControlFrame('receipt-request', body));
    expect(frame.type).toBe('receipt-request');
    expect(decodeControlPayload('receipt-request', frame.payload)).toEqual(body);
    const bad = (b: unknown) => codeOf(() => decodeControlPayload('receipt-request', payload(b)));
    expect(bad({ ...body, receipt: { ...receipt, roundsByDataset: [3, 1, 0] } })).toBe('BAD_FIELD');
    expect(bad({ ...body, transcript: transcript.slice(1) })).toBe('BAD_FIELD');
    expect(bad({ ...body, transcript: [{ ...transcript[0], survivors: [256] }, transcript[1]] })).toBe('BAD_FIELD');
    const sig = { jobId: 'ab'.repeat(32), datasetId: '7', signature: `0x${'11'.repeat(65)}` };
    expect(decodeControlPayload('receipt-signature', payload(sig))).toEqual(sig);
    expect(decodeControlPayload('receipt-signature', payload({ ...sig, signature: undefined, refused: 'x' }))).toEqual({
      jobId: sig.jobId,
      datasetId: '7',
      refused: 'x',
    });
    expect(codeOf(() => decodeControlPayload('receipt-signature', payload({ ...sig, refused: 'x' })))).toBe(
      'BAD_FIELD',
    );
    expect(codeOf(() => decodeControlPayload('receipt-signature', payload({ jobId: sig.jobId, datasetId: '7' })))).toBe(
      'BAD_FIELD',
    );
  });

  it('refuses to encode a body its own schema rejects', () => {
    expect(codeOf(() => encodeControlFrame('announce', { datasets: ['01'] }))).toBe('BAD_FIELD');
  });

  it('binds the auth message to coordinator, chain, silo, nonce and expiry', () => {
    const c = { coordinatorId: 'c-1', nonce: `0x${'01'.repeat(32)}`, expiresAt: 5, chainId: '1' };
    const base = siloAuthMessage(c, '0xAbC0000000000000000000000000000000000001');
    expect(base).toMatch(/^Sealfold silo authentication v1\n/);
    expect(base).toContain('silo: 0xabc0000000000000000000000000000000000001');
    for (const changed of [
      { ...c, coordinatorId: 'c-2' },
      { ...c, chainId: '2' },
      { ...c, nonce: `0x${'02'.repeat(32)}` },
      { ...c, expiresAt: 6 },
    ])
      expect(siloAuthMessage(changed, '0xAbC0000000000000000000000000000000000001')).not.toBe(base);
  });

  it('round-trips plain updates and refuses negative weights', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.uint8Array({ maxLength: 64 }), (w, bytes) => {
        const d = decodePlainUpdate(encodePlainUpdate(w, bytes));
        expect(d.weight).toBe(w);
        expect(d.weights).toEqual(bytes);
      }),
    );
    expect(codeOf(() => encodePlainUpdate(-1, new Uint8Array()))).toBe('BAD_FIELD');
  });
});

describe('evaluation round ids', () => {
  it('map every round number to an id of its own, disjoint from round numbers, and refuse anything else', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: EVALUATION_ROUND_BIT - 1 }), (round) => {
        const id = evaluationRound(round);
        expect(id).toBeGreaterThanOrEqual(EVALUATION_ROUND_BIT);
        expect(id).toBeLessThanOrEqual(0xffff_ffff);
        expect(id - EVALUATION_ROUND_BIT).toBe(round);
      }),
    );
    for (const bad of [-1, 1.5, EVALUATION_ROUND_BIT, Number.NaN])
      expect(() => evaluationRound(bad)).toThrow(RangeError);
  });
});
