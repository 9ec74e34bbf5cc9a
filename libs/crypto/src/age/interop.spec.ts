// Interop with independent age implementations that npm brings: typage (age-encryption, by age's author) and rage
// (Rust, as WebAssembly). Both directions, chunk-boundary sizes, armored and binary, tampered files refused by all.
// The Go `age` CLI cases are an extra, run only where `age` is on PATH (CI installs Debian's) and skipped visibly
// otherwise.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as typage from 'age-encryption';
import { hasGoAge, loadRage, type RageWasm } from './implementations.spec-helper.js';
import { AgeError, type AgeErrorCode } from '../errors.js';
import {
  CHUNK_BYTES,
  HybridIdentity,
  ScryptIdentity,
  ScryptRecipient,
  X25519Identity,
  armor,
  dearmor,
  decrypt,
  encrypt,
  parseIdentityFile,
  type AgeIdentity,
} from './index.js';

const SIZES = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * 1024 * 1024 + 5];
const FORMATS = [
  ['binary', false],
  ['armored', true],
] as const;
const CASES = SIZES.flatMap((size) => FORMATS.map(([name, armored]) => [size, name, armored] as const));

let rage: RageWasm;
beforeAll(async () => {
  rage = await loadRage();
});

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

async function typageDecrypt(file: Uint8Array, identity: string, passphrase?: string): Promise<Uint8Array> {
  const d = new typage.Decrypter();
  if (passphrase === undefined) d.addIdentity(identity);
  else d.addPassphrase(passphrase);
  const text = Buffer.from(file).toString('latin1');
  // typage's decrypt takes the binary format; its armor module parses the PEM.
  return d.decrypt(text.startsWith('-----BEGIN') ? typage.armor.decode(text) : file);
}

async function typageEncrypt(
  plaintext: Uint8Array,
  recipient: string,
  armored: boolean,
  passphrase?: { passphrase: string; workFactor: number },
): Promise<Uint8Array> {
  const e = new typage.Encrypter();
  if (passphrase) {
    e.setPassphrase(passphrase.passphrase);
    e.setScryptWorkFactor(passphrase.workFactor);
  } else e.addRecipient(recipient);
  const file = await e.encrypt(plaintext);
  return armored ? Buffer.from(typage.armor.encode(file), 'latin1') : file;
}

function ourCode(file: Uint8Array, identity: AgeIdentity): AgeErrorCode {
  try {
    decrypt(file, [identity]);
  } catch (err) {
    if (err instanceof AgeError) return err.code;
    throw err;
  }
  throw new Error('decryption succeeded on a tampered file');
}

/** Offset of the first payload byte (after the header and the 16-byte nonce). */
function payloadStart(file: Uint8Array): number {
  const b = Buffer.from(file);
  return b.indexOf(0x0a, b.indexOf('\n---') + 4) + 1 + 16;
}

/** The three tampering attacks, on a binary file of several chunks. */
function tampered(file: Uint8Array): [string, Buffer][] {
  const start = payloadStart(file);
  const flipped = Buffer.from(file);
  flipped[start + CHUNK_BYTES + 100] ^= 0x01; // a payload byte in the second chunk
  const mac = Buffer.from(file);
  const macAt = mac.indexOf('\n--- ') + 5;
  mac[macAt] = mac[macAt] === 0x41 ? 0x42 : 0x41; // first character of the header MAC
  return [
    ['a flipped payload byte', flipped],
    ['truncated by 100 bytes', Buffer.from(file).subarray(0, file.length - 100)],
    ['truncated at a chunk boundary', Buffer.from(file).subarray(0, start + 2 * (CHUNK_BYTES + 16))],
    ['a modified header MAC', mac],
  ];
}

describe('interop with typage (age-encryption, npm)', () => {
  const ours = X25519Identity.generate();

  it.each(CASES)('ours → typage decrypts, %i bytes, %s', async (size, _name, armored) => {
    const plaintext = randomBytes(size);
    const file = encrypt(plaintext, [ours.recipient], { armor: armored });
    expect(same(await typageDecrypt(file, ours.toSecretString()), plaintext)).toBe(true);
  });

  it.each(CASES)('typage encrypts → ours decrypts, %i bytes, %s', async (size, _name, armored) => {
    const secret = await typage.generateX25519Identity();
    const recipient = await typage.identityToRecipient(secret);
    const identity = X25519Identity.parse(secret);
    expect(identity.recipient.toString()).toBe(recipient);
    const plaintext = randomBytes(size);
    const file = await typageEncrypt(plaintext, recipient, armored);
    expect(same(decrypt(file, [identity]), plaintext)).toBe(true);
  });

  it('a tampered file of ours is refused by typage; a tampered typage file is refused by ours', async () => {
    const plaintext = randomBytes(3 * CHUNK_BYTES + 7);
    const mine = encrypt(plaintext, [ours.recipient]);
    for (const [, file] of tampered(mine)) {
      await expect(typageDecrypt(file, ours.toSecretString())).rejects.toThrow();
      await expect(typageDecrypt(Buffer.from(armor(file)), ours.toSecretString())).rejects.toThrow();
      expect(ourCode(file, ours)).toBeDefined();
    }
    const theirs = await typageEncrypt(plaintext, ours.recipient.toString(), false);
    const codes = tampered(theirs).map(([what, file]) => [what, ourCode(file, ours)]);
    expect(codes).toEqual([
      ['a flipped payload byte', 'PAYLOAD_AUTH_FAILED'],
      ['truncated by 100 bytes', 'PAYLOAD_AUTH_FAILED'],
      ['truncated at a chunk boundary', 'TRUNCATED'],
      ['a modified header MAC', 'HEADER_MAC_MISMATCH'],
    ]);
  });
});

describe('interop with typage: hybrid post-quantum recipients (mlkem768x25519)', () => {
  it.each(CASES)('ours → typage decrypts, %i bytes, %s', async (size, _name, armored) => {
    const identity = HybridIdentity.generate();
    const plaintext = randomBytes(size);
    const file = encrypt(plaintext, [identity.recipient], { armor: armored });
    expect(same(await typageDecrypt(file, identity.toSecretString()), plaintext)).toBe(true);
  });

  it.each(CASES)('typage encrypts → ours decrypts, %i bytes, %s', async (size, _name, armored) => {
    const secret = await typage.generateHybridIdentity();
    const recipient = await typage.identityToRecipient(secret);
    const identity = HybridIdentity.parse(secret);
    expect(identity.recipient.toString()).toBe(recipient);
    expect(identity.toSecretString()).toBe(secret);
    const plaintext = randomBytes(size);
    const file = await typageEncrypt(plaintext, recipient, armored);
    expect(Buffer.from(file).toString('latin1')).toContain(armored ? 'BEGIN AGE' : '-> mlkem768x25519 ');
    expect(same(decrypt(file, [identity]), plaintext)).toBe(true);
  });

  it('tampered hybrid files are refused both ways; a classic identity does not open them', async () => {
    const identity = HybridIdentity.generate();
    const plaintext = randomBytes(3 * CHUNK_BYTES + 7);
    for (const [, file] of tampered(encrypt(plaintext, [identity.recipient])))
      await expect(typageDecrypt(file, identity.toSecretString())).rejects.toThrow();
    const theirs = await typageEncrypt(plaintext, identity.recipient.toString(), false);
    expect(tampered(theirs).map(([what, file]) => [what, ourCode(file, identity)])).toEqual([
      ['a flipped payload byte', 'PAYLOAD_AUTH_FAILED'],
      ['truncated by 100 bytes', 'PAYLOAD_AUTH_FAILED'],
      ['truncated at a chunk boundary', 'TRUNCATED'],
      ['a modified header MAC', 'HEADER_MAC_MISMATCH'],
    ]);
    expect(ourCode(theirs, X25519Identity.generate())).toBe('NO_IDENTITY_MATCHED');
  });
});

describe('interop with typage: passphrase (scrypt) files', () => {
  const passphrase = 'correct horse battery staple';
  const workFactor = 10; // small for test speed; the stanza carries it, both sides honour it

  it.each(CASES)('ours → typage decrypts, %i bytes, %s', async (size, _name, armored) => {
    const plaintext = randomBytes(size);
    const file = encrypt(plaintext, [new ScryptRecipient(passphrase, { workFactor })], { armor: armored });
    expect(same(await typageDecrypt(file, '', passphrase), plaintext)).toBe(true);
  });

  it.each(CASES)('typage encrypts → ours decrypts, %i bytes, %s', async (size, _name, armored) => {
    const plaintext = randomBytes(size);
    const file = await typageEncrypt(plaintext, '', armored, { passphrase, workFactor });
    expect(Buffer.from(file).toString('latin1')).toContain(armored ? 'BEGIN AGE' : `-> scrypt `);
    expect(same(decrypt(file, [new ScryptIdentity(passphrase)]), plaintext)).toBe(true);
  });

  it('a wrong passphrase matches nothing, both ways; tampering is refused', async () => {
    const plaintext = randomBytes(CHUNK_BYTES + 1);
    const mine = encrypt(plaintext, [new ScryptRecipient(passphrase, { workFactor })]);
    await expect(typageDecrypt(mine, '', 'wrong')).rejects.toThrow();
    const theirs = await typageEncrypt(plaintext, '', false, { passphrase, workFactor });
    expect(ourCode(theirs, new ScryptIdentity('wrong'))).toBe('NO_IDENTITY_MATCHED');
    const [[, flipped], , , [, mac]] = tampered(
      await typageEncrypt(randomBytes(3 * CHUNK_BYTES), '', false, { passphrase, workFactor }),
    );
    expect(ourCode(flipped, new ScryptIdentity(passphrase))).toBe('PAYLOAD_AUTH_FAILED');
    expect(ourCode(mac, new ScryptIdentity(passphrase))).toBe('HEADER_MAC_MISMATCH');
  });
});

describe('interop with rage (@kanru/rage-wasm, npm)', () => {
  it.each(CASES)('ours → rage decrypts, %i bytes, %s', async (size, _name, armored) => {
    const [secret] = await rage.keygen();
    const identity = X25519Identity.parse(secret);
    const plaintext = randomBytes(size);
    const file = encrypt(plaintext, [identity.recipient], { armor: armored });
    expect(same(await rage.decrypt_with_x25519(secret, file), plaintext)).toBe(true);
  });

  it.each(CASES)('rage encrypts → ours decrypts, %i bytes, %s', async (size, _name, armored) => {
    const [secret, recipient] = await rage.keygen();
    const identity = X25519Identity.parse(secret);
    expect(identity.recipient.toString()).toBe(recipient);
    const plaintext = randomBytes(size);
    const file = await rage.encrypt_with_x25519(recipient, plaintext, armored);
    expect(Buffer.from(file).toString('latin1').startsWith('-----BEGIN AGE ENCRYPTED FILE-----')).toBe(armored);
    expect(same(decrypt(file, [identity]), plaintext)).toBe(true);
  });

  it('a tampered file of ours is refused by rage; a tampered rage file is refused by ours', async () => {
    const [secret, recipient] = await rage.keygen();
    const identity = X25519Identity.parse(secret);
    const plaintext = randomBytes(3 * CHUNK_BYTES + 7);
    for (const [, file] of tampered(encrypt(plaintext, [identity.recipient]))) {
      await expect(rage.decrypt_with_x25519(secret, file)).rejects.toBeDefined();
      await expect(rage.decrypt_with_x25519(secret, Buffer.from(armor(file)))).rejects.toBeDefined();
    }
    const theirs = dearmor(Buffer.from(await rage.encrypt_with_x25519(recipient, plaintext, true)));
    const codes = tampered(theirs).map(([what, file]) => [what, ourCode(file, identity)]);
    expect(codes).toEqual([
      ['a flipped payload byte', 'PAYLOAD_AUTH_FAILED'],
      ['truncated by 100 bytes', 'PAYLOAD_AUTH_FAILED'],
      ['truncated at a chunk boundary', 'TRUNCATED'],
      ['a modified header MAC', 'HEADER_MAC_MISMATCH'],
    ]);
  });
});

describe('interop with rage: passphrase (scrypt) files', () => {
  // rage → ours is covered by typage above: rage-wasm picks its own work factor by timing scrypt in WebAssembly,
  // ~19 s per file on this 2-core machine, too slow for every test run.
  it('ours → rage decrypts, 64 KiB + 1 bytes, binary and armored; a wrong passphrase is refused', async () => {
    const plaintext = randomBytes(CHUNK_BYTES + 1);
    for (const armored of [false, true]) {
      const mine = encrypt(plaintext, [new ScryptRecipient('hunter2', { workFactor: 10 })], { armor: armored });
      expect(same(await rage.decrypt_with_user_passphrase('hunter2', mine), plaintext)).toBe(true);
      await expect(rage.decrypt_with_user_passphrase('hunter3', mine)).rejects.toBeDefined();
    }
  });
});

// Extra, not the interop baseline above: the Go reference CLI, where installed (CI: Debian's age).
const goAge = hasGoAge();
const describeGoAge = goAge ? describe : describe.skip;
describeGoAge('extra: interop with the Go age CLI (runs only where `age` is on PATH)', () => {
  let dir: string;
  const alice = X25519Identity.generate();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-age-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES)('ours → age -d, %i bytes, %s', async (size, name, armored) => {
    const keyFile = join(dir, `key-${size}-${name}.txt`);
    const id = X25519Identity.generate();
    await writeFile(keyFile, `# test key\n${id.toSecretString()}\n`, { mode: 0o600 });
    const plaintext = randomBytes(size);
    const file = join(dir, `ours-${size}-${name}.age`);
    await writeFile(file, encrypt(plaintext, [id.recipient, alice.recipient], { armor: armored }));
    expect(execFileSync('age', ['-d', '-i', keyFile, file], { maxBuffer: 1 << 26 }).equals(plaintext)).toBe(true);
  });

  it.each(CASES)('age-keygen + age -r → ours, %i bytes, %s', async (size, name, armored) => {
    const keyFile = join(dir, `keygen-${size}-${name}.txt`);
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
    const keyText = await readFile(keyFile, 'utf8');
    const recipient = /# public key: (age1[0-9a-z]+)/.exec(keyText)![1];
    const [identity] = parseIdentityFile(keyText);
    expect(identity.recipient.toString()).toBe(recipient);
    const plaintext = randomBytes(size);
    const input = join(dir, `plain-${size}-${name}`);
    await writeFile(input, plaintext);
    const out = execFileSync('age', ['-r', recipient, ...(armored ? ['-a'] : []), input], { maxBuffer: 1 << 26 });
    expect(same(decrypt(out, [identity]), plaintext)).toBe(true);
  });

  it('age -d refuses our tampered files', async () => {
    const keyFile = join(dir, 'key-tamper.txt');
    await writeFile(keyFile, alice.toSecretString() + '\n', { mode: 0o600 });
    for (const [what, file] of tampered(encrypt(randomBytes(3 * CHUNK_BYTES + 7), [alice.recipient]))) {
      const path = join(dir, `tampered-${what.replace(/\W+/g, '-')}.age`);
      await writeFile(path, file);
      expect(() => execFileSync('age', ['-d', '-i', keyFile, path], { stdio: 'pipe' })).toThrow();
    }
  });
});
