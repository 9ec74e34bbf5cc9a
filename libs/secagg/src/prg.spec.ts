import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ctr } from '@noble/ciphers/aes.js';
import fc from 'fast-check';
import { addMask, aesCtrKeystream, expandMask, hkdf32, kdfInfo, pairwiseMaskKey } from './prg.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('PRG: AES-256-CTR', () => {
  it('matches NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt)', () => {
    const key = hex('603deb1015ca71be2b73aef0857d7781 1f352c073b6108d72d9810a30914dff4');
    const counter = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
    const plaintext = hex(
      '6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51' +
        '30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710',
    );
    const ciphertext = hex(
      '601ec313775789a5b7a7f504bbf3d228 f443e3ca4d62b59aca84e990cacaf5c5' +
        '2b0930daa23de94ce87017ba2d84988d dfc9c58db67aada613c2dd08457941a6',
    );
    const stream = aesCtrKeystream(key, 64, counter);
    expect(Buffer.from(plaintext.map((p, i) => p ^ stream[i])).toString('hex')).toBe(
      Buffer.from(ciphertext).toString('hex'),
    );
  });

  it('expandMask: fixed key → fixed first words (little-endian), as AES-256-ECB(0^128) and noble agree', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect([...expandMask(key, 8)]).toEqual([
      0xb60090f2, 0xd09f492a, 0x6a9af3a9, 0x80772edd, 0xae765df0, 0xe59fb94a, 0x319bf6a6, 0x3d36c248,
    ]);
    const ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    const block0 = ecb.update(Buffer.alloc(16));
    expect(Buffer.from(aesCtrKeystream(key, 16)).equals(block0)).toBe(true);
  });

  it('equals an independent AES-CTR (@noble/ciphers) for random keys and lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 2000 }), (key, words) => {
        const ours = expandMask(key, words);
        const theirs = new Uint32Array(ctr(key, new Uint8Array(16)).encrypt(new Uint8Array(4 * words)).buffer);
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 50 },
    );
  });

  it('addMask then subtracting the same mask restores the vector mod 2^32', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint32Array({ minLength: 1, maxLength: 300 }),
        (key, v) => {
          const acc = Uint32Array.from(v);
          addMask(acc, key, 1);
          expect(acc).not.toEqual(v);
          addMask(acc, key, -1);
          expect(acc).toEqual(v);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('derives different keys for different rounds, jobs and pairs; same for (u,v) and (v,u)', () => {
    const ikm = new Uint8Array(32).fill(7);
    const k = (job: string, round: number, u: number, v: number) =>
      Buffer.from(pairwiseMaskKey(ikm, job, round, u, v)).toString('hex');
    expect(k('j', 1, 2, 3)).toBe(k('j', 1, 3, 2));
    expect(new Set([k('j', 1, 2, 3), k('j', 2, 2, 3), k('i', 1, 2, 3), k('j', 1, 2, 4)]).size).toBe(4);
    expect(hkdf32(ikm, kdfInfo('a', 'j', 1))).not.toEqual(hkdf32(ikm, kdfInfo('b', 'j', 1)));
  });
});
