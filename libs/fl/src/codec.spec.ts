import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { WEIGHTS_HEADER_BYTES, decodeWeights, encodeWeights } from './codec.js';
import { FlError } from './errors.js';

const bits = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

describe('weight codec', () => {
  it('round-trips any float32 vector bit for bit (NaN payloads, -0, subnormals included)', () => {
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 2000 }), (xs) => {
        const enc = encodeWeights(xs);
        expect(enc.length).toBe(WEIGHTS_HEADER_BYTES + 4 * xs.length);
        expect(bits(decodeWeights(enc, xs.length)).equals(bits(xs))).toBe(true);
      }),
    );
  });

  it('writes the documented header and little-endian floats', () => {
    const enc = encodeWeights(new Float32Array([1, -2]));
    expect(Buffer.from(enc).toString('hex')).toBe(
      '53465754' + '0100' + '0000' + '02000000' + '00000000' + '0000803f' + '000000c0',
    );
  });

  it('decodes from a view with a non-zero byte offset', () => {
    const enc = encodeWeights(new Float32Array([3.5, 4.25]));
    const padded = new Uint8Array(enc.length + 3);
    padded.set(enc, 3);
    expect([...decodeWeights(padded.subarray(3))]).toEqual([3.5, 4.25]);
  });

  it('refuses any corrupted or mismatched input', () => {
    const enc = encodeWeights(new Float32Array([1, 2, 3]));
    const flip = (i: number): Uint8Array => {
      const c = enc.slice();
      c[i] ^= 1;
      return c;
    };
    for (const bad of [
      enc.subarray(0, 10),
      enc.subarray(0, enc.length - 1),
      flip(0),
      flip(4),
      flip(6),
      flip(8),
      flip(12),
    ])
      expect(() => decodeWeights(bad)).toThrow(FlError);
    expect(() => decodeWeights(enc, 4)).toThrow('expected 4 weights');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
        try {
          decodeWeights(junk);
          return junk.length >= 16; // only well-formed input can decode
        } catch (e) {
          return e instanceof FlError;
        }
      }),
    );
  });
});
