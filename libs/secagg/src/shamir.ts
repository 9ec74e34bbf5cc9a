// t-of-k Shamir sharing of 32-byte secrets over GF(2^8) with the audited `shamir-secret-sharing` package
// (Shamir 1979; Bonawitz et al. §4 share b_u and s_u^SK this way). A share is 33 bytes: y values ‖ x coordinate.
import { combine, split } from 'shamir-secret-sharing';
import { SECAGG_SHARE_BYTES } from '@sealfold/protocol';
import { refuse } from './errors.js';

export async function shareSecret(secret: Uint8Array, shares: number, threshold: number): Promise<Uint8Array[]> {
  if (secret.length !== 32) refuse('INVALID_MESSAGE', 'secret must be 32 bytes');
  // The package checks `constructor === Uint8Array`: pass plain copies, never Buffers.
  return split(Uint8Array.from(secret), shares, threshold);
}

/** Reconstructs from exactly the shares given (callers pass t of them). */
export async function combineShares(shares: readonly Uint8Array[]): Promise<Uint8Array> {
  const xs = new Set<number>();
  for (const s of shares) {
    if (!(s instanceof Uint8Array) || s.length !== SECAGG_SHARE_BYTES)
      refuse('RECONSTRUCTION_FAILED', `a share must be ${SECAGG_SHARE_BYTES} bytes`);
    const x = s[SECAGG_SHARE_BYTES - 1];
    if (x === 0 || xs.has(x)) refuse('RECONSTRUCTION_FAILED', 'shares must have distinct non-zero x coordinates');
    xs.add(x);
  }
  if (shares.length < 2) refuse('RECONSTRUCTION_FAILED', 'need at least two shares');
  return combine(shares.map((s) => Uint8Array.from(s)));
}
