// Recipient and identity inputs: strings dispatched on their prefix, objects taken as they are, and the C2SP age
// rules on mixing recipient types in one file.
import { AgeError } from '../errors.js';
import { HybridIdentity, HybridRecipient } from './hybrid.js';
import { X25519Identity, X25519Recipient, type AgeIdentity, type AgeRecipient } from './keys.js';

/** A native identity that has a recipient and a secret string: what identity files and keystores hold. */
export type NativeIdentity = X25519Identity | HybridIdentity;
export type NativeRecipient = X25519Recipient | HybridRecipient;

/** Accepts an `age1pq1…` or `age1…` string, or a recipient object. */
export function toRecipient(value: AgeRecipient | string): AgeRecipient {
  if (typeof value === 'string') return parseRecipient(value);
  if (value && typeof (value as AgeRecipient).wrapFileKey === 'function') return value;
  throw new AgeError('INVALID_RECIPIENT', 'recipient must be an age1… string or an AgeRecipient');
}

/** Parses a native recipient string: `age1pq1…` (hybrid) or `age1…` (X25519). */
export function parseRecipient(text: string): NativeRecipient {
  if (typeof text === 'string' && text.startsWith('age1pq1')) return HybridRecipient.parse(text);
  return X25519Recipient.parse(text);
}

/** Accepts an `AGE-SECRET-KEY-PQ-1…` or `AGE-SECRET-KEY-1…` string, or an identity object. */
export function toIdentity(value: AgeIdentity | string): AgeIdentity {
  if (typeof value === 'string') return parseIdentity(value);
  if (value && typeof (value as AgeIdentity).unwrapFileKey === 'function') return value;
  throw new AgeError('INVALID_IDENTITY', 'identity must be an AGE-SECRET-KEY-… string or an AgeIdentity');
}

/** Parses a native identity string: `AGE-SECRET-KEY-PQ-1…` (hybrid) or `AGE-SECRET-KEY-1…` (X25519). */
export function parseIdentity(text: string): NativeIdentity {
  if (typeof text === 'string' && text.toUpperCase().startsWith('AGE-SECRET-KEY-PQ-1'))
    return HybridIdentity.parse(text);
  return X25519Identity.parse(text);
}

/**
 * C2SP age: an scrypt stanza MUST be the only one in the header, and hybrid (post-quantum) recipients SHOULD NOT be
 * mixed with non-quantum-resistant ones — which would make the file only as strong as its classic recipient.
 */
export function checkRecipientMix(recipients: readonly AgeRecipient[]): void {
  const kinds = new Set(recipients.map((r) => r.mixing ?? 'classic'));
  if (kinds.has('alone') && recipients.length > 1)
    throw new AgeError('INVALID_RECIPIENT', 'a passphrase (scrypt) recipient must be the only recipient');
  if (kinds.has('postquantum') && kinds.size > 1)
    throw new AgeError(
      'INVALID_RECIPIENT',
      'post-quantum (age1pq1…) and classic recipients cannot be mixed: the file would not be quantum-resistant',
    );
}
