import { describe, expect, it } from '@jest/globals';
import { ApiError } from '../common/api-error.js';
import { LINK_TTL_MS, MAX_OUTSTANDING_LINKS, redeemLinkSchema, SignInLinkStore } from './sign-in-links.service.js';

const ALICE = '0x1111111111111111111111111111111111111111';

describe('SignInLinkStore (one-time sign-in links, embedded dev chain)', () => {
  it('a code signs in its address once', () => {
    const store = new SignInLinkStore();
    const { code } = store.mint(ALICE, 1000);
    expect(redeemLinkSchema.safeParse({ code }).success).toBe(true);
    expect(store.redeem(code, 1001)).toBe(ALICE);
    expect(store.redeem(code, 1002)).toBeUndefined();
  });

  it('a code expires after LINK_TTL_MS, and an expired attempt spends it', () => {
    const store = new SignInLinkStore();
    const { code, expiresAt } = store.mint(ALICE, 0);
    expect(expiresAt).toBe(LINK_TTL_MS);
    expect(store.redeem(code, LINK_TTL_MS)).toBeUndefined();
    expect(store.redeem(code, 1)).toBeUndefined();
  });

  it('unknown and near-miss codes sign in no one; codes are distinct', () => {
    const store = new SignInLinkStore();
    const { code } = store.mint(ALICE, 0);
    const other = store.mint(ALICE, 0).code;
    expect(other).not.toBe(code);
    const flipped = code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A');
    expect(store.redeem(flipped, 1)).toBeUndefined();
    expect(store.redeem(code, 1)).toBe(ALICE); // the near miss did not spend the real one
  });

  it('bounds the outstanding links, and expired ones make room', () => {
    const store = new SignInLinkStore();
    for (let i = 0; i < MAX_OUTSTANDING_LINKS; i++) store.mint(ALICE, 0);
    expect(() => store.mint(ALICE, 1)).toThrow(ApiError);
    expect(() => store.mint(ALICE, LINK_TTL_MS)).not.toThrow();
  });

  it('the redeem body accepts a link code only', () => {
    for (const body of [{}, { code: 'sfs_token' }, { code: 'sfl_short' }, { code: `sfl_${'a'.repeat(43)}`, x: 1 }])
      expect(redeemLinkSchema.safeParse(body).success).toBe(false);
  });
});
