import { describe, expect, it } from '@jest/globals';
import { ApiError } from '../common/api-error.js';
import { LINK_TTL_MS, MAX_OUTSTANDING_LINKS, redeemLinkSchema, SignInLinkStore } from './sign-in-links.service.js';

const ALICE = '0x1111111111111111111111111111111111111111';
/** A minting session that outlives every link in these tests. */
const LATER = 10 * LINK_TTL_MS;

describe('SignInLinkStore (one-time sign-in links, embedded dev chain)', () => {
  it('a code signs in its address once', () => {
    const store = new SignInLinkStore();
    const { code } = store.mint(ALICE, LATER, 1000);
    expect(redeemLinkSchema.safeParse({ code }).success).toBe(true);
    expect(store.redeem(code, 1001)).toEqual({ address: ALICE, sessionEnd: LATER });
    expect(store.redeem(code, 1002)).toBeUndefined();
  });

  it('a code expires after LINK_TTL_MS, and an expired attempt spends it', () => {
    const store = new SignInLinkStore();
    const { code, expiresAt } = store.mint(ALICE, LATER, 0);
    expect(expiresAt).toBe(LINK_TTL_MS);
    expect(store.redeem(code, LINK_TTL_MS)).toBeUndefined();
    expect(store.redeem(code, 1)).toBeUndefined();
  });

  it('unknown and near-miss codes sign in no one; codes are distinct', () => {
    const store = new SignInLinkStore();
    const { code } = store.mint(ALICE, LATER, 0);
    const other = store.mint(ALICE, LATER, 0).code;
    expect(other).not.toBe(code);
    const flipped = code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A');
    expect(store.redeem(flipped, 1)).toBeUndefined();
    expect(store.redeem(code, 1)?.address).toBe(ALICE); // the near miss did not spend the real one
  });

  it('bounds the outstanding links, and expired ones make room', () => {
    const store = new SignInLinkStore();
    for (let i = 0; i < MAX_OUTSTANDING_LINKS; i++) store.mint(ALICE, LATER, 0);
    expect(() => store.mint(ALICE, LATER, 1)).toThrow(ApiError);
    expect(() => store.mint(ALICE, LATER, LINK_TTL_MS)).not.toThrow();
  });

  it('never outlives the session that minted it: the code expires with it, and the grant carries its end', () => {
    const store = new SignInLinkStore();
    const sessionEnd = 1000 + LINK_TTL_MS / 2;
    const { code, expiresAt } = store.mint(ALICE, sessionEnd, 1000);
    expect(expiresAt).toBe(sessionEnd);
    expect(store.redeem(code, 1001)).toEqual({ address: ALICE, sessionEnd });
    const late = store.mint(ALICE, sessionEnd, 1000).code;
    expect(store.redeem(late, sessionEnd)).toBeUndefined();
  });

  it('the redeem body accepts a link code only', () => {
    for (const body of [{}, { code: 'sfs_token' }, { code: 'sfl_short' }, { code: `sfl_${'a'.repeat(43)}`, x: 1 }])
      expect(redeemLinkSchema.safeParse(body).success).toBe(false);
  });
});
