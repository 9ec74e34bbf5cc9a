import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SECAGG_SERVER_ID, SECAGG_SHARE_BYTES, SECAGG_SHARE_CIPHERTEXT_BYTES, type SecAggMessage } from './secagg.js';
import {
  SecAggCodecError,
  decodeSecAggMessage,
  encodeSecAggMessage,
  secAggByteLength,
  SECAGG_TYPE_CODES,
} from './secagg-codec.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const clientId = fc.integer({ min: 0, max: SECAGG_SERVER_ID - 1 });
const ids = fc.uniqueArray(clientId, { maxLength: 40 }).map((a) => Uint32Array.from(a).sort());
const jobId = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => {
  const n = new TextEncoder().encode(s).length;
  return n >= 1 && n <= 64;
});
const round = fc.integer({ min: 0, max: 0xffffffff });
const serverEnv = fc.record({ jobId, round, sender: fc.constant(SECAGG_SERVER_ID) });
const clientEnv = fc.record({ jobId, round, sender: clientId });
const cert = fc.record({ wallet: bytes(20), signature: bytes(65) });
const advertised = {
  encryptionKey: bytes(32),
  maskKey: bytes(32),
  sessionKey: bytes(32),
  certificate: cert,
  signature: bytes(64),
};
const encShare = fc.record({ peer: clientId, ciphertext: bytes(SECAGG_SHARE_CIPHERTEXT_BYTES) });
const revealed = fc.record({ owner: clientId, share: bytes(SECAGG_SHARE_BYTES) });
const with_ = <T extends object, U extends object>(env: fc.Arbitrary<T>, body: fc.Arbitrary<U>) =>
  fc.tuple(env, body).map(([e, b]) => ({ ...e, ...b }));

const messageArb: fc.Arbitrary<SecAggMessage> = fc.oneof(
  with_(
    serverEnv,
    fc.record({
      type: fc.constant('secagg/setup' as const),
      params: fc.record({
        n: fc.nat(),
        k: fc.nat(),
        t: fc.nat(),
        d: fc.nat(),
        clip: fc.double({ noNaN: true }),
        bits: fc.integer({ min: 0, max: 255 }),
        maxWeight: fc.nat(),
      }),
      roundSeed: bytes(32),
      clients: ids,
    }),
  ),
  with_(clientEnv, fc.record({ type: fc.constant('secagg/advertise-keys' as const), ...advertised })),
  with_(
    serverEnv,
    fc.record({
      type: fc.constant('secagg/key-list' as const),
      entries: fc.array(fc.record({ id: clientId, ...advertised }), { maxLength: 5 }),
    }),
  ),
  with_(
    clientEnv,
    fc.record({ type: fc.constant('secagg/share-keys' as const), shares: fc.array(encShare, { maxLength: 5 }) }),
  ),
  with_(
    serverEnv,
    fc.record({ type: fc.constant('secagg/forward-shares' as const), shares: fc.array(encShare, { maxLength: 5 }) }),
  ),
  with_(
    clientEnv,
    fc.record({ type: fc.constant('secagg/masked-input' as const), vector: fc.uint32Array({ maxLength: 300 }) }),
  ),
  with_(serverEnv, fc.record({ type: fc.constant('secagg/consistency-request' as const), survivors: ids })),
  with_(clientEnv, fc.record({ type: fc.constant('secagg/consistency-signature' as const), signature: bytes(64) })),
  with_(
    serverEnv,
    fc.record({
      type: fc.constant('secagg/unmask-request' as const),
      survivors: ids,
      dropped: ids,
      signatures: fc.array(fc.record({ id: clientId, signature: bytes(64) }), { maxLength: 5 }),
    }),
  ),
  with_(
    clientEnv,
    fc.record({
      type: fc.constant('secagg/unmask-shares' as const),
      selfMaskShares: fc.array(revealed, { maxLength: 5 }),
      maskKeyShares: fc.array(revealed, { maxLength: 5 }),
    }),
  ),
  with_(
    serverEnv,
    fc.record({
      type: fc.constant('secagg/abort' as const),
      code: fc.string({ maxLength: 30 }),
      reason: fc.string({ maxLength: 200 }),
    }),
  ),
);

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'accepted';
  } catch (err) {
    if (err instanceof SecAggCodecError) return err.code;
    throw err;
  }
};

describe('SecAgg+ binary codec', () => {
  it('round-trips every message type; byteLength is the frame size', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const frame = encodeSecAggMessage(m);
        expect(frame.length).toBe(secAggByteLength(m));
        expect(decodeSecAggMessage(frame)).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  it('carries a masked vector as raw little-endian uint32 words after the header', () => {
    const vector = Uint32Array.from([1, 0xdeadbeef, 0xffffffff]);
    const frame = encodeSecAggMessage({ type: 'secagg/masked-input', jobId: 'j', round: 2, sender: 7, vector });
    expect(frame.length).toBe(13 + 1 + 4 + 4 + 12);
    expect(Buffer.from(frame.subarray(frame.length - 12)).toString('hex')).toBe('01000000efbeaddeffffffff');
    expect([...frame.subarray(0, 4)]).toEqual([0x53, 0x41, 1, SECAGG_TYPE_CODES['secagg/masked-input']]);
  });

  it('rejects every truncation with TRUNCATED and any extra byte with TRAILING_BYTES', () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (m, cut, extra) => {
        const frame = encodeSecAggMessage(m);
        const short = frame.subarray(0, cut % frame.length);
        expect(codeOf(() => decodeSecAggMessage(short))).toMatch(/TRUNCATED|BAD_MAGIC/);
        const long = new Uint8Array(frame.length + extra.length);
        long.set(frame);
        long.set(extra, frame.length);
        expect(codeOf(() => decodeSecAggMessage(long))).toBe('TRAILING_BYTES');
      }),
      { numRuns: 300 },
    );
  });

  it('throws only SecAggCodecError on random bytes and on corrupted frames', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (junk) => {
        codeOf(() => decodeSecAggMessage(junk));
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(messageArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, at, xor) => {
        const frame = encodeSecAggMessage(m);
        frame[at % frame.length] ^= xor;
        const result = codeOf(() => decodeSecAggMessage(frame));
        expect(typeof result).toBe('string');
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects bad magic, version and type, oversized frames, and a body length that lies', () => {
    const m: SecAggMessage = {
      type: 'secagg/consistency-signature',
      jobId: 'job',
      round: 1,
      sender: 3,
      signature: new Uint8Array(64),
    };
    const frame = encodeSecAggMessage(m);
    const patched = (i: number, v: number) => {
      const f = Uint8Array.from(frame);
      f[i] = v;
      return f;
    };
    expect(codeOf(() => decodeSecAggMessage(patched(0, 0)))).toBe('BAD_MAGIC');
    expect(codeOf(() => decodeSecAggMessage(patched(2, 2)))).toBe('BAD_VERSION');
    expect(codeOf(() => decodeSecAggMessage(patched(3, 99)))).toBe('UNKNOWN_TYPE');
    expect(codeOf(() => decodeSecAggMessage(frame, { maxFrameBytes: frame.length - 1 }))).toBe('OVERSIZED');
    // body length field sits after the 3-byte job id: claim one byte less than present
    const bodyAt = 13 + 3;
    const f = Uint8Array.from(frame);
    new DataView(f.buffer).setUint32(bodyAt, 63, true);
    expect(codeOf(() => decodeSecAggMessage(f))).toBe('TRAILING_BYTES');
    // a share-keys message claiming 2^31 shares is refused before allocating
    const hdr = encodeSecAggMessage({ type: 'secagg/share-keys', jobId: 'job', round: 1, sender: 3, shares: [] });
    const g = Uint8Array.from(hdr);
    new DataView(g.buffer).setUint32(g.length - 4, 0x8000_0000, true);
    expect(codeOf(() => decodeSecAggMessage(g))).toBe('OVERSIZED');
  });

  it('refuses server messages from a client sender, client messages from the server id, and unsorted id lists', () => {
    const survivors = Uint32Array.from([1, 2]);
    expect(
      codeOf(() =>
        encodeSecAggMessage({ type: 'secagg/consistency-request', jobId: 'j', round: 0, sender: 5, survivors }),
      ),
    ).toBe('BAD_FIELD');
    expect(
      codeOf(() =>
        encodeSecAggMessage({
          type: 'secagg/consistency-signature',
          jobId: 'j',
          round: 0,
          sender: SECAGG_SERVER_ID,
          signature: new Uint8Array(64),
        }),
      ),
    ).toBe('BAD_FIELD');
    expect(
      codeOf(() =>
        encodeSecAggMessage({
          type: 'secagg/consistency-request',
          jobId: 'j',
          round: 0,
          sender: SECAGG_SERVER_ID,
          survivors: Uint32Array.from([2, 1]),
        }),
      ),
    ).toBe('BAD_FIELD');
    const ok = encodeSecAggMessage({
      type: 'secagg/consistency-request',
      jobId: 'j',
      round: 0,
      sender: SECAGG_SERVER_ID,
      survivors,
    });
    const bad = Uint8Array.from(ok);
    bad.set([2, 0, 0, 0, 1, 0, 0, 0], bad.length - 8);
    expect(codeOf(() => decodeSecAggMessage(bad))).toBe('BAD_FIELD');
    expect(
      codeOf(() =>
        encodeSecAggMessage({
          type: 'secagg/consistency-signature',
          jobId: 'j',
          round: 0,
          sender: 1,
          signature: new Uint8Array(63),
        }),
      ),
    ).toBe('BAD_FIELD');
    expect(
      codeOf(() =>
        encodeSecAggMessage({
          type: 'secagg/consistency-signature',
          jobId: '',
          round: 0,
          sender: 1,
          signature: new Uint8Array(64),
        }),
      ),
    ).toBe('BAD_FIELD');
  });
});
