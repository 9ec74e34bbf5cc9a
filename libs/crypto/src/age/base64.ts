// age's base64 (C2SP age §Conventions): RFC 4648 §4 standard alphabet, no `=` padding; encoders MUST emit and
// decoders MUST accept only canonical encodings (RFC 4648 §3.5).

const ALPHABET = /^[A-Za-z0-9+/]*$/;

export function encodeBase64NoPad(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

/** Decodes canonical unpadded base64, or returns null (the caller chooses the error). */
export function decodeBase64NoPad(text: string): Uint8Array | null {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return null;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  // Non-canonical inputs (non-zero trailing bits) do not survive the round trip.
  return encodeBase64NoPad(bytes) === text ? bytes : null;
}
