import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CryptoError, ed25519, nobleEd25519, nobleX25519, x25519 } from '@sealfold/crypto';
import { keyAgreement, signatureVerifier } from './keyobjects.js';

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('reused KeyObjects give the library results', () => {
  it('keyAgreement equals x25519.sharedSecret (node:crypto and noble) for random keys', () => {
    fc.assert(
      fc.property(key32, key32, (a, b) => {
        const peer = x25519.publicKey(b);
        const expected = x25519.sharedSecret(a, peer);
        expect(keyAgreement(x25519, a)(peer)).toEqual(expected);
        expect(keyAgreement(nobleX25519, a)(peer)).toEqual(expected);
      }),
      { numRuns: 30 },
    );
  });

  it('keyAgreement refuses low-order peer keys with the library error (RFC 7748 §6.1)', () => {
    const agree = keyAgreement(x25519, x25519.generateSecretKey());
    for (const lowOrder of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))])
      expect(() => agree(lowOrder)).toThrow(CryptoError);
    expect(() => agree(new Uint8Array(31))).toThrow(CryptoError);
  });

  it('signatureVerifier equals ed25519.verify on valid, tampered and foreign signatures', () => {
    fc.assert(
      fc.property(key32, fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 63 }), (sk, msg, flip) => {
        const pk = ed25519.publicKey(sk);
        const sig = ed25519.sign(msg, sk);
        const tampered = sig.map((x, i) => (i === flip ? x ^ 1 : x));
        const check = signatureVerifier(ed25519, pk);
        const noble = signatureVerifier(nobleEd25519, pk);
        expect(check(sig, msg)).toBe(true);
        expect(noble(sig, msg)).toBe(true);
        expect(check(tampered, msg)).toBe(ed25519.verify(tampered, msg, pk));
        expect(check(tampered, msg)).toBe(false);
        expect(check(sig, Uint8Array.of(...msg, 0))).toBe(false);
      }),
      { numRuns: 30 },
    );
  });

  it('signatureVerifier: a key that is no curve point verifies nothing; a short signature throws as the library', () => {
    const notAPoint = new Uint8Array(32).fill(0xff);
    const check = signatureVerifier(ed25519, notAPoint);
    expect(check(new Uint8Array(64), new Uint8Array(1))).toBe(
      ed25519.verify(new Uint8Array(64), new Uint8Array(1), notAPoint),
    );
    const pk = ed25519.publicKey(ed25519.generateSecretKey());
    expect(() => signatureVerifier(ed25519, pk)(new Uint8Array(63), new Uint8Array(1))).toThrow(CryptoError);
  });
});
