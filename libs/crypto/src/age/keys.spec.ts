import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { ml_kem768_x25519 as xwing } from '@noble/post-quantum/hybrid.js';
import { decodeBase64NoPad, encodeBase64NoPad } from './base64.js';
import { hpkeBaseKeySchedule } from './hpke.js';
import { hasGoAge } from './implementations.spec-helper.js';
import { open, seal } from './primitives.js';
import { AgeError } from '../errors.js';
import {
  HybridIdentity,
  HybridRecipient,
  SCRYPT_MAX_WORK_FACTOR,
  ScryptIdentity,
  ScryptRecipient,
  X25519Identity,
  X25519Recipient,
  decrypt,
  encrypt,
  formatIdentityFile,
  parseIdentity,
  parseRecipient,
  loadIdentityFile,
  parseIdentityFile,
  saveIdentityFile,
} from './index.js';

// C2SP age §"The X25519 recipient type" example encodings.
const SPEC_IDENTITY = 'AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX';
const SPEC_RECIPIENT = 'age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof AgeError) return err.code;
    throw err;
  }
  throw new Error('expected an AgeError');
}

describe('age identity and recipient encodings', () => {
  it('decodes the spec example identity', () => {
    const id = X25519Identity.parse(SPEC_IDENTITY);
    expect(id.toSecretString()).toBe(SPEC_IDENTITY);
    expect(id.recipient.toString()).toBe(SPEC_RECIPIENT);
    expect(
      Buffer.from(id.recipient.publicKey).equals(Buffer.from(X25519Recipient.parse(SPEC_RECIPIENT).publicKey)),
    ).toBe(true);
  });

  it('round-trips random keys through AGE-SECRET-KEY-1… and age1…', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (secret) => {
        const id = new X25519Identity(secret);
        const text = id.toSecretString();
        expect(text).toMatch(/^AGE-SECRET-KEY-1[02-9ACDEFGHJKLMNPQRSTUVWXYZ]{58}$/);
        expect(X25519Identity.parse(text).recipient.toString()).toBe(id.recipient.toString());
        const r = X25519Recipient.parse(id.recipient.toString());
        expect(Buffer.from(r.publicKey).equals(Buffer.from(id.recipient.publicKey))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects malformed encodings with typed errors that do not echo the input', () => {
    const id = X25519Identity.generate();
    const secret = id.toSecretString();
    const flipped = secret.slice(0, 20) + (secret[20] === 'Q' ? 'P' : 'Q') + secret.slice(21);
    for (const bad of [flipped, secret.toLowerCase().replace('age-secret-key-', 'age-'), 'AGE-SECRET-KEY-1', '']) {
      let message = '';
      try {
        X25519Identity.parse(bad);
      } catch (err) {
        expect(err).toBeInstanceOf(AgeError);
        expect((err as AgeError).code).toBe('INVALID_IDENTITY');
        message = (err as Error).message;
      }
      expect(message).not.toBe('');
      if (bad.length > 20) expect(message).not.toContain(bad.slice(16));
    }
    expect(codeOf(() => X25519Recipient.parse('age1qqqq'))).toBe('INVALID_RECIPIENT');
    expect(codeOf(() => X25519Recipient.parse(id.recipient.toString().toUpperCase()))).toBe('INVALID_RECIPIENT');
    expect(codeOf(() => X25519Recipient.parse(secret))).toBe('INVALID_RECIPIENT');
  });

  it('never reveals the secret through toString, JSON or util.inspect', () => {
    const id = X25519Identity.generate();
    const secret = id.toSecretString();
    for (const shown of [
      String(id),
      `${id}`,
      JSON.stringify(id),
      JSON.stringify({ id }),
      inspect(id),
      inspect({ id }),
    ]) {
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain(secret.toLowerCase());
      expect(shown).toContain(id.recipient.toString());
    }
  });
});

describe('identity files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-identity-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves with mode 0600 in age-keygen format and loads back', async () => {
    const id = X25519Identity.generate();
    const path = join(dir, 'key.txt');
    await saveIdentityFile(path, id, { created: new Date('2026-01-02T03:04:05.678Z') });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');
    expect(text).toBe(`# created: 2026-01-02T03:04:05Z\n# public key: ${id.recipient}\n${id.toSecretString()}\n`);
    expect(text).toBe(formatIdentityFile(id, new Date('2026-01-02T03:04:05Z')));
    const [loaded] = await loadIdentityFile(path);
    expect(loaded.recipient.toString()).toBe(id.recipient.toString());
    expect(await readdir(dir)).toEqual(['key.txt']); // no temp file left
  });

  it('refuses to overwrite unless asked, and leaves the original intact', async () => {
    const path = join(dir, 'keep.txt');
    const first = X25519Identity.generate();
    await saveIdentityFile(path, first);
    await expect(saveIdentityFile(path, X25519Identity.generate())).rejects.toMatchObject({ code: 'IO' });
    expect((await loadIdentityFile(path))[0].recipient.toString()).toBe(first.recipient.toString());
    const second = X25519Identity.generate();
    await saveIdentityFile(path, second, { overwrite: true });
    expect((await loadIdentityFile(path))[0].recipient.toString()).toBe(second.recipient.toString());
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a group/other-readable identity file unless allowed', async () => {
    const path = join(dir, 'open.txt');
    await saveIdentityFile(path, X25519Identity.generate());
    await chmod(path, 0o644);
    await expect(loadIdentityFile(path)).rejects.toMatchObject({ code: 'INSECURE_PERMISSIONS' });
    await expect(loadIdentityFile(path, { allowInsecureMode: true })).resolves.toHaveLength(1);
    await expect(loadIdentityFile(join(dir, 'missing.txt'))).rejects.toMatchObject({ code: 'IO' });
  });

  it('parses several identities with comments, blank lines and CRLF; names the bad line without its content', () => {
    const a = X25519Identity.generate();
    const b = X25519Identity.generate();
    const text = `# one\r\n${a.toSecretString()}\r\n\r\n# two\n${b.toSecretString()}\n`;
    expect(parseIdentityFile(text).map((i) => i.recipient.toString())).toEqual([
      a.recipient.toString(),
      b.recipient.toString(),
    ]);
    const broken = `# comment\n${a.toSecretString()}X\n`;
    let message = '';
    try {
      parseIdentityFile(broken);
    } catch (err) {
      expect((err as AgeError).code).toBe('INVALID_IDENTITY');
      message = (err as Error).message;
    }
    expect(message).toContain('line 2');
    expect(message).not.toContain(a.toSecretString().slice(16, 40));
    expect(codeOf(() => parseIdentityFile('# only comments\n'))).toBe('INVALID_IDENTITY');
  });
});

// Extra, where the Go age CLI is on PATH (CI installs Debian's age); skipped visibly elsewhere. The identity-file
// format is also checked against typage and rage in interop.spec.ts, which need nothing but npm.
(hasGoAge() ? describe : describe.skip)(
  'extra: identity files with the Go age-keygen (only where it is on PATH)',
  () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sealfold-identity-keygen-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads a key file written by age-keygen', async () => {
      const path = join(dir, 'keygen.txt');
      execFileSync('age-keygen', ['-o', path], { stdio: 'pipe' });
      const text = await readFile(path, 'utf8');
      const [id] = await loadIdentityFile(path);
      expect(text).toContain(`# public key: ${id.recipient.toString()}`);
      expect(execFileSync('age-keygen', ['-y', path]).toString().trim()).toBe(id.recipient.toString());
    });

    it('age-keygen -y derives the same recipient from a file we wrote', async () => {
      const path = join(dir, 'ours.txt');
      const id = X25519Identity.generate();
      await saveIdentityFile(path, id);
      expect(execFileSync('age-keygen', ['-y', path]).toString().trim()).toBe(id.recipient.toString());
    });
  },
);

// C2SP age §"The MLKEM768-X25519 (i.e. X-Wing) hybrid post-quantum recipient type": the example identity.
const SPEC_PQ_IDENTITY = 'AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR';
const SPEC_PQ_RECIPIENT_START = 'age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5zrqtzdxz95paef6caq5';
const SPEC_PQ_RECIPIENT_END = 'xpfqdkmhh6gjtqmwze9pyyzk3tlhl53k2ykx3qheyty7saeq0d3fzv49zc0k';

describe('hybrid (mlkem768x25519) identities and recipients', () => {
  // Our X-Wing (ML-KEM-768 from noble, X25519 on node:crypto, the decapsulation key expanded once) against noble's
  // whole ml_kem768_x25519, both ways: same public key; noble's encapsulation opens with our identity; ours with noble's
  // decapsulation. The HPKE layer on top is the stanza's (KEM 0x647a, info age-encryption.org/mlkem768x25519).
  it('agrees with noble ml_kem768_x25519: public key, and encapsulation ↔ decapsulation both ways', () => {
    const info = new TextEncoder().encode('age-encryption.org/mlkem768x25519');
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (seed, fileKey) => {
          const id = new HybridIdentity(seed);
          const nobleKey = xwing.getPublicKey(seed);
          expect(id.recipient.toString()).toBe(new HybridRecipient(nobleKey).toString());
          // noble encapsulates → our identity decapsulates.
          const { cipherText, sharedSecret } = xwing.encapsulate(nobleKey);
          const theirs = hpkeBaseKeySchedule(0x647a, sharedSecret, info);
          const stanza = {
            args: ['mlkem768x25519', encodeBase64NoPad(cipherText)],
            body: seal(theirs.key, theirs.nonce, fileKey),
          };
          expect(id.unwrapFileKey([stanza])).toEqual(fileKey);
          // ours encapsulates → noble decapsulates.
          const [ours] = id.recipient.wrapFileKey(fileKey);
          const mine = hpkeBaseKeySchedule(0x647a, xwing.decapsulate(decodeBase64NoPad(ours.args[1])!, seed), info);
          expect(open(mine.key, mine.nonce, ours.body)).toEqual(Buffer.from(fileKey));
          // Another identity does not open it.
          expect(HybridIdentity.generate().unwrapFileKey([ours])).toBeNull();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('derives the spec example recipient from the spec example identity', () => {
    const id = HybridIdentity.parse(SPEC_PQ_IDENTITY);
    const recipient = id.recipient.toString();
    expect(recipient.startsWith(SPEC_PQ_RECIPIENT_START)).toBe(true);
    expect(recipient.endsWith(SPEC_PQ_RECIPIENT_END)).toBe(true);
    expect(id.toSecretString()).toBe(SPEC_PQ_IDENTITY);
    expect(HybridRecipient.parse(recipient).toString()).toBe(recipient);
    expect(parseRecipient(recipient)).toBeInstanceOf(HybridRecipient);
    expect(parseIdentity(SPEC_PQ_IDENTITY)).toBeInstanceOf(HybridIdentity);
    expect(parseIdentity(SPEC_PQ_IDENTITY.toLowerCase())).toBeInstanceOf(HybridIdentity);
  });

  it('never shows the secret; round-trips through identity files with X25519 identities', () => {
    const id = HybridIdentity.generate();
    const secret = id.toSecretString();
    expect(secret).toMatch(/^AGE-SECRET-KEY-PQ-1[02-9ACDEFGHJKLMNPQRSTUVWXYZ]{58}$/);
    for (const shown of [String(id), JSON.stringify(id), inspect(id)]) expect(shown).not.toContain(secret.slice(20));
    const x = X25519Identity.generate();
    const parsed = parseIdentityFile(formatIdentityFile(id) + formatIdentityFile(x));
    expect(parsed.map((i) => i.recipient.toString())).toEqual([id.recipient.toString(), x.recipient.toString()]);
  });

  it('rejects malformed encodings with typed errors', () => {
    const recipient = HybridIdentity.generate().recipient.toString();
    expect(codeOf(() => HybridRecipient.parse(recipient.toUpperCase()))).toBe('INVALID_RECIPIENT');
    // A changed checksum character (never the same one: a fresh key ends in 'q' one time in 32).
    const changed = recipient.slice(0, -1) + (recipient.endsWith('q') ? 'p' : 'q');
    expect(codeOf(() => HybridRecipient.parse(changed))).toBe('INVALID_RECIPIENT');
    expect(codeOf(() => HybridRecipient.parse(X25519Identity.generate().recipient.toString()))).toBe(
      'INVALID_RECIPIENT',
    );
    expect(codeOf(() => HybridIdentity.parse(X25519Identity.generate().toSecretString()))).toBe('INVALID_IDENTITY');
    expect(codeOf(() => X25519Identity.parse(SPEC_PQ_IDENTITY))).toBe('INVALID_IDENTITY');
  });
});

describe('recipient mixing rules (C2SP age)', () => {
  const pq = HybridIdentity.generate();
  const classic = X25519Identity.generate();

  it('hybrid recipients are not mixed with X25519 ones; several hybrid recipients are fine', () => {
    expect(codeOf(() => encrypt(new Uint8Array(1), [pq.recipient, classic.recipient]))).toBe('INVALID_RECIPIENT');
    expect(codeOf(() => encrypt(new Uint8Array(1), [classic.recipient.toString(), pq.recipient.toString()]))).toBe(
      'INVALID_RECIPIENT',
    );
    const other = HybridIdentity.generate();
    const file = encrypt(Buffer.from('pq'), [pq.recipient, other.recipient]);
    expect(Buffer.from(decrypt(file, [other])).toString()).toBe('pq');
  });

  it('a passphrase recipient must be alone, and scrypt stanzas beside others are refused on decryption', () => {
    const scrypt = new ScryptRecipient('pw', { workFactor: 2 });
    expect(codeOf(() => encrypt(new Uint8Array(1), [scrypt, classic.recipient]))).toBe('INVALID_RECIPIENT');
    expect(codeOf(() => encrypt(new Uint8Array(1), [scrypt, new ScryptRecipient('pw2', { workFactor: 2 })]))).toBe(
      'INVALID_RECIPIENT',
    );
    const file = encrypt(Buffer.from('secret'), [scrypt]);
    expect(Buffer.from(decrypt(file, [new ScryptIdentity('pw')])).toString()).toBe('secret');
    expect(codeOf(() => decrypt(file, [new ScryptIdentity('nope')]))).toBe('NO_IDENTITY_MATCHED');
    expect(codeOf(() => new ScryptRecipient('pw', { workFactor: SCRYPT_MAX_WORK_FACTOR + 1 }))).toBe(
      'INVALID_RECIPIENT',
    );
    expect(codeOf(() => new ScryptRecipient(''))).toBe('INVALID_RECIPIENT');
    // A file encrypted at work factor 12 is refused by an identity capped at 10 (bounded work for the decryptor).
    const costly = encrypt(Buffer.from('x'), [new ScryptRecipient('pw', { workFactor: 12 })]);
    expect(codeOf(() => decrypt(costly, [new ScryptIdentity('pw', { maxWorkFactor: 10 })]))).toBe('STANZA_INVALID');
    expect(String(new ScryptIdentity('hunter2'))).not.toContain('hunter2');
  });
});
