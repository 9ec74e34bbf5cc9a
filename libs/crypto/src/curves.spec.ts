import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CryptoError } from './errors.js';
import { ed25519, nobleEd25519, nobleX25519, x25519 } from './curves.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

const X_BACKENDS = [
  ['node:crypto', x25519],
  ['@noble/curves', nobleX25519],
] as const;
const ED_BACKENDS = [
  ['node:crypto', ed25519],
  ['@noble/curves', nobleEd25519],
] as const;

// RFC 7748 §6.1 test vectors.
const ALICE_SK = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const ALICE_PK = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const BOB_SK = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const BOB_PK = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
// Low-order u-coordinates (0, 1 and a point of order 8) that force the all-zero output.
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
];
// RFC 8032 §7.1 TEST 1 (empty message) and TEST 2.
const ED_TESTS = [
  {
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

describe.each(X_BACKENDS)('x25519 (%s)', (_name, x) => {
  it('matches RFC 7748 §6.1', () => {
    expect(toHex(x.publicKey(ALICE_SK))).toBe(ALICE_PK);
    expect(toHex(x.publicKey(BOB_SK))).toBe(BOB_PK);
    expect(toHex(x.sharedSecret(ALICE_SK, hex(BOB_PK)))).toBe(SHARED);
    expect(toHex(x.sharedSecret(BOB_SK, hex(ALICE_PK)))).toBe(SHARED);
  });

  it.each(LOW_ORDER)('rejects the all-zero shared secret for low-order point %s', (u) => {
    const err = (() => {
      try {
        x.sharedSecret(x.generateSecretKey(), hex(u));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).code).toBe('LOW_ORDER_POINT');
  });

  it('rejects wrong key sizes and types with a typed error', () => {
    expect(() => x.publicKey(new Uint8Array(31))).toThrow(CryptoError);
    expect(() => x.sharedSecret(new Uint8Array(32), new Uint8Array(33))).toThrow(/public key must be 32 bytes/);
    expect(() => x.publicKey('00'.repeat(32) as unknown as Uint8Array)).toThrow(CryptoError);
  });

  it('generates distinct 32-byte secrets', () => {
    const a = x.generateSecretKey();
    expect(a).toHaveLength(32);
    expect(toHex(a)).not.toBe(toHex(x.generateSecretKey()));
  });
});

describe.each(ED_BACKENDS)('ed25519 (%s)', (_name, ed) => {
  it.each(ED_TESTS)('matches RFC 8032 §7.1 vector $pk', ({ sk, pk, msg, sig }) => {
    expect(toHex(ed.publicKey(hex(sk)))).toBe(pk);
    expect(toHex(ed.sign(hex(msg), hex(sk)))).toBe(sig);
    expect(ed.verify(hex(sig), hex(msg), hex(pk))).toBe(true);
    const bad = hex(sig);
    bad[0] ^= 1;
    expect(ed.verify(bad, hex(msg), hex(pk))).toBe(false);
    expect(ed.verify(hex(sig), hex(msg + '00'), hex(pk))).toBe(false);
  });

  it('rejects a wrong-size signature with a typed error', () => {
    const sk = ed.generateSecretKey();
    expect(() => ed.verify(new Uint8Array(63), new Uint8Array(0), ed.publicKey(sk))).toThrow(CryptoError);
    expect(() => ed.sign(new Uint8Array(0), new Uint8Array(64))).toThrow(CryptoError);
  });

  it('returns false (not a throw) for a public key that is not a curve point', () => {
    // y = 2 is not the y-coordinate of any point on edwards25519.
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    expect(ed.verify(new Uint8Array(64), new Uint8Array(1), notAPoint)).toBe(false);
  });
});

describe('node:crypto and @noble/curves agree', () => {
  it('on X25519 public keys and shared secrets', () => {
    fc.assert(
      fc.property(key32, key32, (a, b) => {
        const pa = x25519.publicKey(a);
        expect(toHex(nobleX25519.publicKey(a))).toBe(toHex(pa));
        const pb = nobleX25519.publicKey(b);
        const s = x25519.sharedSecret(a, pb);
        expect(toHex(nobleX25519.sharedSecret(a, pb))).toBe(toHex(s));
        expect(toHex(x25519.sharedSecret(b, pa))).toBe(toHex(s));
      }),
      { numRuns: 100 },
    );
  });

  it('on X25519 with arbitrary peer u-coordinates (including non-canonical ones)', () => {
    fc.assert(
      fc.property(key32, key32, (a, u) => {
        const outcome = (f: () => Uint8Array) => {
          try {
            return toHex(f());
          } catch (e) {
            return (e as CryptoError).code;
          }
        };
        expect(outcome(() => x25519.sharedSecret(a, u))).toBe(outcome(() => nobleX25519.sharedSecret(a, u)));
      }),
      { numRuns: 100 },
    );
  });

  it('on Ed25519 public keys, signatures and verification', () => {
    fc.assert(
      fc.property(key32, fc.uint8Array({ maxLength: 300 }), fc.nat(), (sk, msg, flip) => {
        const pk = ed25519.publicKey(sk);
        expect(toHex(nobleEd25519.publicKey(sk))).toBe(toHex(pk));
        const sig = ed25519.sign(msg, sk);
        expect(toHex(nobleEd25519.sign(msg, sk))).toBe(toHex(sig));
        expect(ed25519.verify(sig, msg, pk)).toBe(true);
        expect(nobleEd25519.verify(sig, msg, pk)).toBe(true);
        const tampered = sig.slice();
        tampered[flip % 64] ^= 1 << (flip % 8);
        expect(ed25519.verify(tampered, msg, pk)).toBe(false);
        expect(nobleEd25519.verify(tampered, msg, pk)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});
