// The C2SP CCTV age test vectors (npm `cctv-age`, 0BSD/CC0/Unlicense), run through our decryptor: every vector, with
// its expected outcome, and for failures the plaintext released before the failure checked against the vector's
// hash (CCTV age README, "Test file format").
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import * as cctv from 'cctv-age';
import { AgeError, type AgeErrorCode } from '../errors.js';
import { AgeDecryptor, ScryptIdentity, X25519Identity, parseIdentity, type AgeIdentity } from './index.js';

interface Vector {
  readonly name: string;
  readonly expect: string;
  readonly payload: string | null;
  readonly identities: string[];
  readonly passphrases: string[];
  readonly file: Buffer;
}

function parseVector(name: string, bytes: Uint8Array): Vector {
  const all = Buffer.from(bytes);
  const split = all.indexOf('\n\n');
  const fields = all
    .subarray(0, split)
    .toString('utf8')
    .split('\n')
    .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)] as const);
  const values = (key: string) => fields.filter(([k]) => k === key).map(([, v]) => v);
  const body = all.subarray(split + 2);
  return {
    name,
    expect: values('expect')[0],
    payload: values('payload')[0] ?? null,
    identities: values('identity'),
    passphrases: values('passphrase'),
    file: values('compressed')[0] === 'zlib' ? inflateSync(body) : body,
  };
}

const VECTORS = Object.entries(cctv as unknown as Record<string, Uint8Array>)
  .filter(([name, value]) => name !== 'default' && value instanceof Uint8Array)
  .map(([name, value]) => parseVector(name, value))
  .sort((a, b) => a.name.localeCompare(b.name));

// Which of our error codes each expected outcome allows (the vectors distinguish failure stages, not messages).
const EXPECTED_CODES: Record<string, readonly AgeErrorCode[]> = {
  // A file that ends inside the header or the 16-byte payload nonce is TRUNCATED for us.
  'header failure': ['HEADER_INVALID', 'STANZA_INVALID', 'UNSUPPORTED_VERSION', 'TRUNCATED'],
  'HMAC failure': ['HEADER_MAC_MISMATCH'],
  'no match': ['NO_IDENTITY_MATCHED'],
  'payload failure': ['PAYLOAD_AUTH_FAILED', 'PAYLOAD_INVALID', 'TRUNCATED', 'TRAILING_DATA'],
  // Garbage before the PEM block: the input is neither armor nor a binary age file.
  'armor failure': ['ARMOR_INVALID', 'TRUNCATED', 'TRAILING_DATA', 'HEADER_INVALID'],
};

/** The identities (X25519, hybrid) and passphrases (scrypt) a vector names. */
function identitiesOf(v: Vector): AgeIdentity[] {
  const all = [...v.identities.map((i) => parseIdentity(i)), ...v.passphrases.map((p) => new ScryptIdentity(p))];
  // A vector that names none fails before one is needed; the decryptor still wants one.
  return all.length > 0 ? all : [X25519Identity.generate()];
}

/** Decrypts in 4 KiB pieces, keeping what was released before any failure. */
function run(file: Buffer, identities: AgeIdentity[]): { released: Buffer; code: AgeErrorCode | null } {
  const released: Buffer[] = [];
  try {
    const dec = new AgeDecryptor(identities);
    for (let at = 0; at < file.length; at += 4096) released.push(...dec.push(file.subarray(at, at + 4096)));
    released.push(...dec.end());
    return { released: Buffer.concat(released), code: null };
  } catch (err) {
    if (!(err instanceof AgeError)) throw err;
    return { released: Buffer.concat(released), code: err.code };
  }
}

const kindOf = (v: Vector) =>
  v.passphrases.length > 0
    ? 'scrypt'
    : v.identities.some((i) => i.startsWith('AGE-SECRET-KEY-PQ-'))
      ? 'hybrid'
      : 'X25519';

describe(`C2SP CCTV age vectors (all ${VECTORS.length})`, () => {
  it('the package holds the vector set', () => {
    expect(VECTORS.length).toBeGreaterThanOrEqual(140);
    expect(new Set(VECTORS.map((v) => v.expect))).toEqual(
      new Set(['success', 'header failure', 'HMAC failure', 'no match', 'payload failure', 'armor failure']),
    );
    const count = (kind: string) => VECTORS.filter((v) => kindOf(v) === kind).length;
    console.log(
      `C2SP CCTV age vectors: ${VECTORS.length} run (${count('X25519')} X25519, ${count('hybrid')} hybrid, ` +
        `${count('scrypt')} scrypt; ${VECTORS.filter((v) => v.expect !== 'success').length} expected failures)`,
    );
  });

  it.each(VECTORS.map((v) => [v.name, v.expect, v] as const))('%s: %s', (_name, expected, v) => {
    const { released, code } = run(v.file, identitiesOf(v));
    if (expected === 'success') expect(code).toBeNull();
    else expect(EXPECTED_CODES[expected]).toContain(code);
    // All plaintext released to the application, even before a failure, must match the vector's hash.
    if (v.payload !== null) expect(createHash('sha256').update(released).digest('hex')).toBe(v.payload);
    else expect(released.length).toBe(0);
  });
});
