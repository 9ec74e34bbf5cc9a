import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { verifyMessage } from 'ethers';
import * as typage from 'age-encryption';
import { X25519Identity, decrypt, encrypt, formatIdentityFile } from './age/index.js';
import { KeystoreError } from './errors.js';
import {
  KEYSTORE_FILES,
  PASSPHRASE_ENV,
  PASSPHRASE_FILE_ENV,
  changeKeystorePassphrase,
  initKeystore,
  loadKeystore,
  readKeystoreInfo,
} from './keystore.js';

const FAST = { scryptN: 2 ** 10 }; // the default 2^17 is for real use; tests only need the format
const PASS = 'correct horse battery staple';

async function keystoreError(p: Promise<unknown>): Promise<KeystoreError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KeystoreError) return err;
    throw err;
  }
  throw new Error('expected a KeystoreError');
}

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

describe('keystore', () => {
  let root: string;
  let n = 0;
  const fresh = () => join(root, `ks-${n++}`);
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sealfold-keystore-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => {
    delete process.env[PASSPHRASE_ENV];
    delete process.env[PASSPHRASE_FILE_ENV];
  });

  /** Every file of the keystore, as text. */
  const contents = async (dir: string) =>
    Promise.all((await readdir(dir)).sort().map(async (f) => [f, await readFile(join(dir, f), 'latin1')] as const));

  it('creates a hybrid post-quantum age identity by default; X25519 on request', async () => {
    const pq = await initKeystore(fresh(), { passphrase: null });
    expect(pq.ageRecipient.startsWith('age1pq1')).toBe(true);
    const dir = fresh();
    const classic = await initKeystore(dir, { passphrase: null, ageIdentityType: 'X25519' });
    expect(classic.ageRecipient).toMatch(/^age1[0-9a-z]{58}$/);
    expect((await loadKeystore(dir)).ageIdentity).toBeInstanceOf(X25519Identity);
  });

  it('with a passphrase no secret is stored in plaintext, and typage opens the identity file with it', async () => {
    const dir = fresh();
    const info = await initKeystore(dir, { passphrase: PASS, ...FAST });
    const files = await contents(dir);
    for (const [, text] of files) {
      expect(text).not.toMatch(/AGE-SECRET-KEY/i);
      expect(text).not.toContain(PASS);
    }
    const ks = await loadKeystore(dir, { passphrase: PASS });
    for (const [, text] of files) expect(text).not.toContain(ks.wallet.privateKey.slice(2));
    // An independent age implementation opens age-identity.age with the passphrase: a standard age-keygen file.
    const d = new typage.Decrypter();
    d.addPassphrase(PASS);
    const armored = await readFile(join(dir, KEYSTORE_FILES.encryptedAgeIdentity), 'utf8');
    const text = await d.decrypt(typage.armor.decode(armored), 'text');
    expect(text).toContain(`# public key: ${info.ageRecipient}`);
    expect(text).toContain(ks.ageIdentity.toSecretString());
  });

  it('takes the passphrase from a file named by SEALFOLD_KEYSTORE_PASSPHRASE_FILE', async () => {
    const file = join(root, 'passphrase.txt');
    await writeFile(file, `${PASS}\n`, { mode: 0o600 });
    process.env[PASSPHRASE_FILE_ENV] = file;
    const dir = fresh();
    const info = await initKeystore(dir, FAST);
    expect(info.ageIdentity).toBe('passphrase');
    expect((await loadKeystore(dir)).address).toBe(info.address);
    expect((await loadKeystore(dir, { passphrase: PASS })).address).toBe(info.address);
    process.env[PASSPHRASE_ENV] = PASS;
    expect((await keystoreError(loadKeystore(dir))).code).toBe('INVALID_INPUT'); // both set: ambiguous
    delete process.env[PASSPHRASE_ENV];
    process.env[PASSPHRASE_FILE_ENV] = join(root, 'missing.txt');
    expect((await keystoreError(loadKeystore(dir))).message).toContain(PASSPHRASE_FILE_ENV);
  });

  it('a wrong or missing passphrase names the keystore and changes nothing', async () => {
    const dir = fresh();
    await initKeystore(dir, { passphrase: PASS, ...FAST });
    const before = await contents(dir);
    const wrong = await keystoreError(loadKeystore(dir, { passphrase: 'nope' }));
    expect(wrong.code).toBe('WRONG_PASSPHRASE');
    expect(wrong.message).toContain(dir);
    const missing = await keystoreError(loadKeystore(dir));
    expect(missing.code).toBe('PASSPHRASE_REQUIRED');
    expect(missing.message).toContain(dir);
    const change = await keystoreError(
      changeKeystorePassphrase(dir, { passphrase: 'nope', newPassphrase: 'x', ...FAST }),
    );
    expect(change.code).toBe('WRONG_PASSPHRASE');
    expect(await contents(dir)).toEqual(before);
    expect((await readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('changes the passphrase atomically, keeping the same keys; can remove and set it again', async () => {
    const dir = fresh();
    const info = await initKeystore(dir, { passphrase: PASS, ...FAST });
    const changed = await changeKeystorePassphrase(dir, { passphrase: PASS, newPassphrase: 'second one', ...FAST });
    expect([changed.address, changed.ageRecipient, changed.createdAt]).toEqual([
      info.address,
      info.ageRecipient,
      info.createdAt,
    ]);
    expect((await keystoreError(loadKeystore(dir, { passphrase: PASS }))).code).toBe('WRONG_PASSPHRASE');
    expect((await loadKeystore(dir, { passphrase: 'second one' })).address).toBe(info.address);
    const plain = await changeKeystorePassphrase(dir, { passphrase: 'second one', newPassphrase: null, ...FAST });
    expect([plain.walletKey, plain.ageIdentity]).toEqual(['plain', 'plain']);
    expect((await readdir(dir)).sort()).toEqual(['age-identity.txt', 'keystore.json', 'wallet.key']);
    await changeKeystorePassphrase(dir, { newPassphrase: PASS, ...FAST });
    const ks = await loadKeystore(dir, { passphrase: PASS });
    expect([ks.address, ks.ageRecipient]).toEqual([info.address, info.ageRecipient]);
    expect((await readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('still loads a format 1 keystore (encrypted wallet, plaintext X25519 identity)', async () => {
    const dir = fresh();
    const v2 = await initKeystore(dir, { passphrase: PASS, ...FAST });
    const identity = X25519Identity.generate();
    await rm(join(dir, KEYSTORE_FILES.encryptedAgeIdentity));
    await writeFile(join(dir, KEYSTORE_FILES.ageIdentity), formatIdentityFile(identity), { mode: 0o600 });
    const v1 = {
      version: 1,
      address: v2.address,
      ageRecipient: identity.recipient.toString(),
      walletKey: 'encrypted-json',
      createdAt: v2.createdAt,
    };
    await writeFile(join(dir, KEYSTORE_FILES.meta), JSON.stringify(v1), { mode: 0o600 });
    const ks = await loadKeystore(dir, { passphrase: PASS });
    expect(ks.info).toEqual({ ...v1, ageIdentity: 'plain' });
    expect(ks.ageIdentity.recipient.toString()).toBe(identity.recipient.toString());
  });

  it('without a passphrase: raw key file 0600, directory 0700, loads a working wallet and age identity', async () => {
    const dir = fresh();
    const info = await initKeystore(dir);
    expect(info.walletKey).toBe('plain');
    expect(info.ageIdentity).toBe('plain');
    expect(await modeOf(dir)).toBe(0o700);
    expect((await readdir(dir)).sort()).toEqual(['age-identity.txt', 'keystore.json', 'wallet.key']);
    for (const f of await readdir(dir)) expect(await modeOf(join(dir, f))).toBe(0o600);
    const ks = await loadKeystore(dir);
    expect(ks.address).toBe(info.address);
    expect(ks.wallet.address).toBe(info.address);
    expect(ks.ageRecipient).toBe(info.ageRecipient);
    expect(ks.ageIdentity.recipient.toString()).toBe(info.ageRecipient);
    // The keys work: a signature recovers the address; data sealed to the recipient opens with the identity.
    const sig = await ks.wallet.signMessage('hello');
    expect(verifyMessage('hello', sig)).toBe(info.address);
    const sealed = encrypt(new TextEncoder().encode('row'), [ks.ageRecipient]);
    expect(new TextDecoder().decode(decrypt(sealed, [ks.ageIdentity]))).toBe('row');
    expect(await readKeystoreInfo(dir)).toEqual(info);
    expect((await readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]); // no staging left
  });

  it('with a passphrase: ethers encrypted JSON keystore; needs the passphrase to load', async () => {
    const dir = fresh();
    const info = await initKeystore(dir, { passphrase: PASS, ...FAST });
    expect(info.walletKey).toBe('encrypted-json');
    expect(info.ageIdentity).toBe('passphrase');
    expect((await readdir(dir)).sort()).toEqual(['age-identity.age', 'keystore.json', 'wallet.json']);
    const json = JSON.parse(await readFile(join(dir, KEYSTORE_FILES.encryptedWallet), 'utf8'));
    expect((json.Crypto ?? json.crypto).kdf).toBe('scrypt');
    expect(json.address.toLowerCase()).toBe(info.address.slice(2).toLowerCase());
    expect((await keystoreError(loadKeystore(dir))).code).toBe('PASSPHRASE_REQUIRED');
    expect((await keystoreError(loadKeystore(dir, { passphrase: 'wrong' }))).code).toBe('WRONG_PASSPHRASE');
    expect((await loadKeystore(dir, { passphrase: PASS })).address).toBe(info.address);
    process.env[PASSPHRASE_ENV] = PASS;
    expect((await loadKeystore(dir)).address).toBe(info.address);
  });

  it('takes the passphrase from the environment at init', async () => {
    process.env[PASSPHRASE_ENV] = PASS;
    const dir = fresh();
    expect((await initKeystore(dir, FAST)).walletKey).toBe('encrypted-json');
    expect((await loadKeystore(dir)).address).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it('refuses to overwrite unless forced; force replaces it atomically', async () => {
    const dir = fresh();
    const first = await initKeystore(dir);
    expect((await keystoreError(initKeystore(dir))).code).toBe('EXISTS');
    expect((await loadKeystore(dir)).address).toBe(first.address);
    const second = await initKeystore(dir, { force: true });
    expect(second.address).not.toBe(first.address);
    expect((await loadKeystore(dir)).address).toBe(second.address);
    expect((await readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('never replaces a directory holding other files, even with force', async () => {
    const dir = fresh();
    await mkdir(dir);
    await writeFile(join(dir, 'thesis.tex'), 'precious');
    expect((await keystoreError(initKeystore(dir, { force: true }))).code).toBe('NOT_EMPTY');
    expect(await readFile(join(dir, 'thesis.tex'), 'utf8')).toBe('precious');
  });

  it('uses an existing empty directory and tightens its mode', async () => {
    const dir = fresh();
    await mkdir(dir, { mode: 0o755 });
    await initKeystore(dir);
    expect(await modeOf(dir)).toBe(0o700);
  });

  it('refuses loose modes on the directory or a secret file', async () => {
    const dir = fresh();
    await initKeystore(dir);
    await chmod(dir, 0o755);
    expect((await keystoreError(loadKeystore(dir))).code).toBe('INSECURE_PERMISSIONS');
    await chmod(dir, 0o700);
    await chmod(join(dir, KEYSTORE_FILES.plainWallet), 0o640);
    expect((await keystoreError(loadKeystore(dir))).code).toBe('INSECURE_PERMISSIONS');
    await chmod(join(dir, KEYSTORE_FILES.plainWallet), 0o600);
    await chmod(join(dir, KEYSTORE_FILES.ageIdentity), 0o604);
    expect((await keystoreError(loadKeystore(dir))).code).toBe('INSECURE_PERMISSIONS');
  });

  it('detects missing, corrupt and mismatched parts', async () => {
    expect((await keystoreError(loadKeystore(fresh()))).code).toBe('NOT_FOUND');
    const a = fresh();
    const b = fresh();
    await initKeystore(a);
    await initKeystore(b);
    // b's age identity in a's keystore: the recipient no longer matches the metadata.
    await writeFile(join(a, KEYSTORE_FILES.ageIdentity), await readFile(join(b, KEYSTORE_FILES.ageIdentity)), {
      mode: 0o600,
    });
    expect((await keystoreError(loadKeystore(a))).code).toBe('CORRUPT');
    await writeFile(join(b, KEYSTORE_FILES.plainWallet), '0xnothex\n', { mode: 0o600 });
    expect((await keystoreError(loadKeystore(b))).code).toBe('CORRUPT');
    await writeFile(join(b, KEYSTORE_FILES.meta), '{"version":2}', { mode: 0o600 });
    expect((await keystoreError(loadKeystore(b))).code).toBe('CORRUPT');
  });

  it('rejects bad options', async () => {
    expect((await keystoreError(initKeystore(fresh(), { passphrase: '' }))).code).toBe('INVALID_INPUT');
    expect((await keystoreError(initKeystore(fresh(), { passphrase: PASS, scryptN: 1000 }))).code).toBe(
      'INVALID_INPUT',
    );
  });

  it('never shows a secret in toString, JSON, util.inspect or error messages', async () => {
    const dir = fresh();
    await initKeystore(dir, { passphrase: PASS, ...FAST });
    const ks = await loadKeystore(dir, { passphrase: PASS });
    const secrets = [
      ks.wallet.privateKey,
      ks.wallet.privateKey.slice(2),
      ks.ageIdentity.toSecretString(),
      ks.ageIdentity.toSecretString().toLowerCase(),
      PASS,
    ];
    const shown = [
      String(ks),
      JSON.stringify(ks),
      JSON.stringify({ ks }),
      inspect(ks, { depth: 10, showHidden: true }),
      inspect({ ks }, { depth: 10 }),
      inspect(ks.ageIdentity, { depth: 10, showHidden: true }),
      JSON.stringify(ks.ageIdentity),
      String(ks.ageIdentity),
      inspect(ks.wallet, { depth: 10 }),
      JSON.stringify(ks.wallet),
    ];
    const wrong = await keystoreError(loadKeystore(dir, { passphrase: PASS + '!' }));
    shown.push(wrong.message, inspect(wrong), String(wrong));
    for (const text of shown) for (const secret of secrets) expect(text).not.toContain(secret);
    expect(JSON.stringify(ks)).toContain(ks.address);
    expect(inspect(ks)).toContain(ks.ageRecipient);
  });
});
