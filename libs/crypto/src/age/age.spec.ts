import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { AgeError, type AgeErrorCode } from '../errors.js';
import { encodeHeader } from './header.js';
import { seal } from './primitives.js';
import { payloadKey } from './stream.js';
import {
  AgeDecryptor,
  CHUNK_BYTES,
  X25519Identity,
  armor,
  dearmor,
  decrypt,
  decryptChunks,
  decryptStream,
  decryptToFile,
  encrypt,
  encryptChunks,
  encryptStream,
} from './index.js';

const SEALED = CHUNK_BYTES + 16;

function ageError(f: () => unknown): AgeError {
  try {
    f();
  } catch (err) {
    if (err instanceof AgeError) return err;
    throw err;
  }
  throw new Error('expected an AgeError, nothing was thrown');
}

async function ageErrorAsync(f: () => Promise<unknown>): Promise<AgeError> {
  try {
    await f();
  } catch (err) {
    if (err instanceof AgeError) return err;
    throw err;
  }
  throw new Error('expected an AgeError, nothing was thrown');
}

/** Offset of the payload (after the header and the 16-byte nonce). */
function payloadStart(file: Uint8Array): number {
  const b = Buffer.from(file);
  const dashes = b.indexOf('\n---');
  return b.indexOf(0x0a, dashes + 4) + 1 + 16;
}

const alice = X25519Identity.generate();
const bob = X25519Identity.generate();
const carol = X25519Identity.generate();

describe('age round trips', () => {
  it.each([0, 1, 15, 16, 17, 65535, 65536, 65537, 2 * 65536, 2 * 65536 + 1, 300_000])('%i bytes', (size) => {
    const plaintext = randomBytes(size);
    const file = encrypt(plaintext, [alice.recipient]);
    expect(Buffer.from(decrypt(file, [alice])).equals(plaintext)).toBe(true);
    // Chunk count: ceil(size / 64 KiB), and one empty final chunk for the empty payload.
    const chunks = Math.max(1, Math.ceil(size / CHUNK_BYTES));
    expect(file.length - payloadStart(file)).toBe(size + 16 * chunks);
  });

  it('random sizes and arbitrary write splits (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * CHUNK_BYTES + 10 }),
        fc.array(fc.integer({ min: 1, max: 90_000 }), { minLength: 1, maxLength: 8 }),
        async (size, splits) => {
          const plaintext = randomBytes(size);
          const pieces: Buffer[] = [];
          for (let at = 0, i = 0; at < size; i++) {
            const n = splits[i % splits.length];
            pieces.push(plaintext.subarray(at, at + n));
            at += n;
          }
          const cipherPieces: Buffer[] = [];
          for await (const c of encryptChunks(pieces, [alice.recipient.toString()])) cipherPieces.push(c);
          const file = Buffer.concat(cipherPieces);
          // Decrypt in differently sized pieces too.
          const reSplit: Buffer[] = [];
          for (let at = 0, i = 0; at < file.length; i++) {
            const n = splits[(i + 1) % splits.length];
            reSplit.push(file.subarray(at, at + n));
            at += n;
          }
          const out: Buffer[] = [];
          for await (const c of decryptChunks(reSplit, [alice])) out.push(c);
          expect(Buffer.concat(out).equals(plaintext)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('several recipients: each identity decrypts, an outsider cannot', () => {
    const plaintext = randomBytes(70_000);
    const file = encrypt(plaintext, [alice.recipient, bob.recipient.toString(), carol.recipient]);
    for (const who of [alice, bob, carol])
      expect(Buffer.from(decrypt(file, [who.toSecretString()])).equals(plaintext)).toBe(true);
    const stranger = X25519Identity.generate();
    expect(ageError(() => decrypt(file, [stranger])).code).toBe('NO_IDENTITY_MATCHED');
    // Several identities: the matching one is found among others.
    expect(Buffer.from(decrypt(file, [stranger, carol])).equals(plaintext)).toBe(true);
  });

  it('ASCII armor: 64-column strict PEM, round trip, auto-detected on decrypt', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (plaintext) => {
        const armored = Buffer.from(encrypt(plaintext, [alice.recipient], { armor: true })).toString('latin1');
        const lines = armored.split('\n');
        expect(lines[0]).toBe('-----BEGIN AGE ENCRYPTED FILE-----');
        expect(lines.at(-2)).toBe('-----END AGE ENCRYPTED FILE-----');
        expect(lines.at(-1)).toBe('');
        const body = lines.slice(1, -2);
        body.slice(0, -1).forEach((l) => expect(l).toHaveLength(64));
        expect(body.at(-1)!.length).toBeGreaterThan(0);
        expect(body.at(-1)!.length).toBeLessThanOrEqual(64);
        expect(Buffer.from(decrypt(armored, [alice])).equals(Buffer.from(plaintext))).toBe(true);
        // armor()/dearmor() are inverses over the binary format.
        const binary = dearmor(armored);
        expect(armor(binary)).toBe(armored);
        // CRLF line endings and surrounding whitespace are accepted (C2SP age §"ASCII armor").
        const crlf = '\n  ' + armored.replace(/\n/g, '\r\n') + ' \n';
        expect(Buffer.from(decrypt(crlf, [alice])).equals(Buffer.from(plaintext))).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('Duplex streams through stream.pipeline', async () => {
    const plaintext = randomBytes(200_001);
    const cipher: Buffer[] = [];
    await pipeline(Readable.from([plaintext]), encryptStream([bob.recipient], { armor: true }), async (src) => {
      for await (const c of src) cipher.push(c);
    });
    const out: Buffer[] = [];
    await pipeline(Readable.from(cipher), decryptStream([bob]), async (src) => {
      for await (const c of src) out.push(c);
    });
    expect(Buffer.concat(out).equals(plaintext)).toBe(true);
  });
});

describe('age rejects modified input with a typed error', () => {
  const plaintext = randomBytes(3 * CHUNK_BYTES + 100); // 4 chunks
  const file = Buffer.from(encrypt(plaintext, [alice.recipient, bob.recipient]));
  const start = payloadStart(file);
  const code = (bytes: Uint8Array | string, ids = [alice]): AgeErrorCode => ageError(() => decrypt(bytes, ids)).code;

  it('wrong key', () => expect(code(file, [carol])).toBe('NO_IDENTITY_MATCHED'));

  it('tampered header: any byte flip before the payload is caught', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: start - 17 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
        const copy = Buffer.from(file);
        copy[at] ^= 1 << bit;
        expect(() => decrypt(copy, [alice])).toThrow(AgeError);
      }),
      { numRuns: 200 },
    );
  });

  it('a swapped stanza order keeps the body valid but breaks the header MAC', () => {
    const text = file.subarray(0, start - 16).toString('latin1');
    const [version, s1a, s1b, s2a, s2b, mac] = text.split('\n');
    const swapped = [version, s2a, s2b, s1a, s1b, mac, ''].join('\n');
    const forged = Buffer.concat([Buffer.from(swapped, 'latin1'), file.subarray(start - 16)]);
    expect(code(forged)).toBe('HEADER_MAC_MISMATCH');
  });

  it('tampered payload nonce or chunk', () => {
    fc.assert(
      fc.property(fc.integer({ min: start - 16, max: file.length - 1 }), (at) => {
        const copy = Buffer.from(file);
        copy[at] ^= 0x80;
        expect(['PAYLOAD_AUTH_FAILED', 'TRUNCATED']).toContain(code(copy));
      }),
      { numRuns: 100 },
    );
  });

  it('reordered chunks', () => {
    const c0 = file.subarray(start, start + SEALED);
    const c1 = file.subarray(start + SEALED, start + 2 * SEALED);
    const reordered = Buffer.concat([file.subarray(0, start), c1, c0, file.subarray(start + 2 * SEALED)]);
    expect(code(reordered)).toBe('PAYLOAD_AUTH_FAILED');
  });

  it('truncated anywhere', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: file.length - 1 }), (cut) => {
        expect(['TRUNCATED', 'PAYLOAD_AUTH_FAILED', 'HEADER_INVALID']).toContain(code(file.subarray(0, cut)));
      }),
      { numRuns: 200 },
    );
    expect(code(new Uint8Array(0))).toBe('TRUNCATED');
    expect(code(file.subarray(0, start - 16))).toBe('TRUNCATED');
    expect(code(file.subarray(0, start + 10))).toBe('TRUNCATED');
  });

  it('missing final chunk (cut at a chunk boundary)', () => {
    expect(code(file.subarray(0, start + 3 * SEALED))).toBe('TRUNCATED');
    expect(code(file.subarray(0, start + SEALED))).toBe('TRUNCATED');
  });

  it('a dropped middle chunk', () => {
    const dropped = Buffer.concat([file.subarray(0, start + SEALED), file.subarray(start + 2 * SEALED)]);
    expect(code(dropped)).toBe('PAYLOAD_AUTH_FAILED');
  });

  it('trailing data after the final chunk', () => {
    const full = Buffer.from(encrypt(randomBytes(CHUNK_BYTES), [alice.recipient]));
    expect(code(Buffer.concat([full, Buffer.from([0])]))).toBe('TRAILING_DATA');
    expect(['TRAILING_DATA', 'PAYLOAD_AUTH_FAILED']).toContain(code(Buffer.concat([file, Buffer.from('x')])));
    const armored = armor(file);
    expect(code(armored + 'garbage\n')).toBe('TRAILING_DATA');
  });

  it('an empty final chunk after a full chunk is rejected; a full final chunk is accepted', () => {
    // Hand-built payloads with the real key schedule (C2SP age §"Payload"): one full chunk, then an empty final one.
    const fileKey = randomBytes(16);
    const header = encodeHeader(alice.recipient.wrapFileKey(fileKey), fileKey);
    const nonce = randomBytes(16);
    const key = payloadKey(fileKey, nonce);
    const chunkNonce = (counter: number, last: boolean) => {
      const n = Buffer.alloc(12);
      n.writeUIntBE(counter, 5, 6);
      n[11] = last ? 1 : 0;
      return n;
    };
    const full = randomBytes(CHUNK_BYTES);
    const withEmptyFinal = Buffer.concat([
      header,
      nonce,
      seal(key, chunkNonce(0, false), full),
      seal(key, chunkNonce(1, true), new Uint8Array(0)),
    ]);
    expect(code(withEmptyFinal)).toBe('PAYLOAD_INVALID');
    const fullFinal = Buffer.concat([header, nonce, seal(key, chunkNonce(0, true), full)]);
    expect(Buffer.from(decrypt(fullFinal, [alice])).equals(full)).toBe(true);
    // A short chunk flagged non-final at the end of the file is a missing final chunk, not valid data.
    const shortNonFinal = Buffer.concat([header, nonce, seal(key, chunkNonce(0, false), full.subarray(0, 10))]);
    expect(code(shortNonFinal)).toBe('PAYLOAD_AUTH_FAILED');
  });

  it('malformed X25519 stanzas are rejected, unknown stanza types ignored (C2SP age §X25519 stanza)', () => {
    const fileKey = randomBytes(16);
    const [good] = alice.recipient.wrapFileKey(fileKey);
    const fileWith = (stanzas: { args: string[]; body: Uint8Array }[]) => {
      const nonce = randomBytes(16);
      const n = Buffer.alloc(12);
      n[11] = 1;
      return Buffer.concat([
        encodeHeader(stanzas, fileKey),
        nonce,
        seal(payloadKey(fileKey, nonce), n, Buffer.from('ok')),
      ]);
    };
    const share = good.args[1];
    expect(
      Buffer.from(
        decrypt(
          fileWith([
            { args: ['example.com/other', 'x'], body: new Uint8Array(5) },
            { ...good, args: [...good.args] },
          ]),
          [alice],
        ),
      ).toString(),
    ).toBe('ok');
    expect(code(fileWith([{ args: ['X25519'], body: good.body }]))).toBe('STANZA_INVALID');
    expect(code(fileWith([{ args: ['X25519', share, 'extra'], body: good.body }]))).toBe('STANZA_INVALID');
    expect(code(fileWith([{ args: ['X25519', share + 'A'], body: good.body }]))).toBe('STANZA_INVALID');
    expect(code(fileWith([{ args: ['X25519', share], body: good.body.subarray(0, 31) }]))).toBe('STANZA_INVALID');
    const zeroShare = 'A'.repeat(43);
    expect(code(fileWith([{ args: ['X25519', zeroShare], body: good.body }]))).toBe('STANZA_INVALID');
    // Non-canonical base64 (non-zero trailing bits) for the share.
    const last = share.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const nonCanonical = share.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    expect(code(fileWith([{ args: ['X25519', nonCanonical], body: good.body }]))).toBe('STANZA_INVALID');
  });

  it('armor that is not strict PEM', () => {
    const armored = armor(file);
    const lines = armored.split('\n');
    const rewrapped = [
      lines[0],
      lines
        .slice(1, -2)
        .join('')
        .match(/.{1,76}/g)!
        .join('\n'),
      ...lines.slice(-2),
    ].join('\n');
    expect(code(rewrapped)).toBe('ARMOR_INVALID');
    expect(code(armored.replace('BEGIN AGE', 'BEGIN XYZ'))).toBe('ARMOR_INVALID');
    expect(code(armored.replace(/\n-----END AGE ENCRYPTED FILE-----\n$/, '\n'))).toBe('TRUNCATED');
  });

  it('not an age file / unsupported version', () => {
    expect(code(Buffer.from('hello world, this is not age\n'))).toBe('HEADER_INVALID');
    const v2 = Buffer.from(file);
    v2.set(Buffer.from('v2'), 'age-encryption.org/'.length);
    expect(code(v2)).toBe('UNSUPPORTED_VERSION');
  });

  it('releases no plaintext of a chunk that fails to authenticate', () => {
    const copy = Buffer.from(file);
    copy[start + 10] ^= 1; // first chunk
    const dec = new AgeDecryptor([alice]);
    const released: Buffer[] = [];
    expect(() => {
      for (let at = 0; at < copy.length; at += 1000) released.push(...dec.push(copy.subarray(at, at + 1000)));
    }).toThrow(AgeError);
    expect(released).toHaveLength(0);
  });
});

describe('decryptToFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-age-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the plaintext (mode 0600) and leaves no temp file', async () => {
    const plaintext = randomBytes(150_000);
    const target = join(dir, 'ok.bin');
    const { bytes } = await decryptToFile([encrypt(plaintext, [alice.recipient])], [alice], target);
    expect(bytes).toBe(plaintext.length);
    expect((await readFile(target)).equals(plaintext)).toBe(true);
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['ok.bin']);
  });

  it.each([
    ['tampered last chunk', (f: Buffer) => ((f[f.length - 1] ^= 1), f), 'PAYLOAD_AUTH_FAILED'],
    ['missing final chunk', (f: Buffer) => f.subarray(0, payloadStart(f) + 2 * SEALED), 'TRUNCATED'],
    ['wrong key', (f: Buffer) => f, 'NO_IDENTITY_MATCHED'],
  ] as const)('on %s: target untouched, no temp file', async (name, mutate, expected) => {
    const target = join(dir, 'existing.bin');
    await writeFile(target, 'previous contents');
    const file = mutate(Buffer.from(encrypt(randomBytes(3 * CHUNK_BYTES + 7), [alice.recipient])));
    const ids = name === 'wrong key' ? [bob] : [alice];
    // Feed in small pieces so several chunks are written to the temp file before the failure.
    const pieces = Array.from({ length: Math.ceil(file.length / 4096) }, (_, i) =>
      file.subarray(i * 4096, (i + 1) * 4096),
    );
    const err = await ageErrorAsync(() => decryptToFile(pieces, ids, target));
    expect(err.code).toBe(expected);
    expect(await readFile(target, 'utf8')).toBe('previous contents');
    expect((await readdir(dir)).sort()).toEqual(['existing.bin', 'ok.bin']);
  });

  it('a missing target directory is an IO error', async () => {
    const err = await ageErrorAsync(() =>
      decryptToFile([encrypt(new Uint8Array(1), [alice.recipient])], [alice], join(dir, 'nope', 'x')),
    );
    expect(err.code).toBe('IO');
  });
});

describe('streaming uses constant memory', () => {
  it('64 MiB through encrypt and decrypt streams retains O(chunk) memory', async () => {
    // Expose V8's gc() in this process so the measurement counts retained memory, not garbage awaiting collection.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const total = 64 * 1024 * 1024;
    const block = randomBytes(256 * 1024);
    async function* source() {
      for (let sent = 0; sent < total; sent += block.length) yield block;
    }
    gc();
    const before = process.memoryUsage();
    // The array-buffer sweeper runs concurrently after a GC: let it finish before reading the counters.
    const retained = async () => {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
      gc();
      const m = process.memoryUsage();
      return m.heapUsed - before.heapUsed + (m.arrayBuffers - before.arrayBuffers);
    };
    let seen = 0;
    let peak = 0;
    for await (const piece of decryptChunks(encryptChunks(source(), [alice.recipient]), [alice])) {
      seen += piece.length;
      if (seen % (8 * 1024 * 1024) === 0) peak = Math.max(peak, await retained());
    }
    expect(seen).toBe(total);
    // Holding the payload would retain ≥ 64 MiB; streaming holds a few 64 KiB chunks.
    expect(peak).toBeLessThan(4 * 1024 * 1024);
  });
});
