// The local keystore: one directory (mode 0700) holding the owner's wallet key and age identity.
//
//   keystore.json      public metadata: format version, address, age recipient, how each key is stored (0600)
//   wallet.json        the wallet key as an ethers v6 encrypted JSON keystore (scrypt), when a passphrase is set
//   wallet.key         otherwise: the raw 0x-hex secp256k1 private key (0600) — protected by file modes only
//   age-identity.age   with a passphrase: the age identity file, encrypted to that passphrase as an armored age
//                      scrypt file — stock age opens it (`age -d -i age-identity.age …` asks for the passphrase)
//   age-identity.txt   otherwise: the age identity in age-keygen format (0600), usable as `age -d -i`
//
// New identities are hybrid post-quantum (AGE-SECRET-KEY-PQ-1…, C2SP age mlkem768x25519); X25519 keystores load as
// before. Decision: the passphrase is optional so that unattended silo nodes can start without a prompt (or take it
// from SEALFOLD_KEYSTORE_PASSPHRASE / a file named by SEALFOLD_KEYSTORE_PASSPHRASE_FILE); with one, no secret is
// stored in plaintext. Format 1 keystores (encrypted wallet, plaintext identity) still load.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { inspect } from 'node:util';
// ethers (~40 MB resident) is loaded only when a wallet is created or opened: importing @sealfold/crypto for age
// alone (the owner's ingest path, the silo's data cache) must not pay for it.
import type { Wallet } from 'ethers';
import { decrypt, encrypt } from './age/age.js';
import { HybridIdentity } from './age/hybrid.js';
import { formatIdentityFile, parseIdentityFile, writeSecretFileAtomic } from './age/identity-file.js';
import { X25519Identity } from './age/keys.js';
import type { NativeIdentity } from './age/recipients.js';
import { ScryptIdentity, ScryptRecipient } from './age/scrypt.js';
import { AgeError, KeystoreError } from './errors.js';

/** Format written; 2 added `ageIdentity` (how the age identity is stored). Format 1 keystores still load. */
export const KEYSTORE_FORMAT_VERSION = 2;
export const PASSPHRASE_ENV = 'SEALFOLD_KEYSTORE_PASSPHRASE';
export const PASSPHRASE_FILE_ENV = 'SEALFOLD_KEYSTORE_PASSPHRASE_FILE';
export const KEYSTORE_FILES = {
  meta: 'keystore.json',
  encryptedWallet: 'wallet.json',
  plainWallet: 'wallet.key',
  ageIdentity: 'age-identity.txt',
  encryptedAgeIdentity: 'age-identity.age',
} as const;
const OUR_FILES: readonly string[] = Object.values(KEYSTORE_FILES);

export type WalletKeyFormat = 'encrypted-json' | 'plain';
/** How the age identity is stored: an age passphrase-encrypted identity file, or age-keygen's plaintext file. */
export type AgeIdentityFormat = 'passphrase' | 'plain';
export type AgeIdentityType = 'mlkem768x25519' | 'X25519';

/** The public half of a keystore (what `keys show` prints). */
export interface KeystoreInfo {
  readonly version: 1 | 2;
  readonly address: string;
  readonly ageRecipient: string;
  readonly walletKey: WalletKeyFormat;
  readonly ageIdentity: AgeIdentityFormat;
  readonly createdAt: string;
}

export interface InitKeystoreOptions {
  /**
   * Encrypt both keys with this passphrase; `null`: none, whatever the environment says. Default: the environment
   * (SEALFOLD_KEYSTORE_PASSPHRASE, or the file named by SEALFOLD_KEYSTORE_PASSPHRASE_FILE), else none.
   */
  readonly passphrase?: string | null;
  /** Replace an existing keystore. Default false. */
  readonly force?: boolean;
  /** scrypt cost (power of two) for the wallet and the identity file. Default 2^17; lower only in tests. */
  readonly scryptN?: number;
  /** The age identity's type. Default 'mlkem768x25519' (hybrid post-quantum). */
  readonly ageIdentityType?: AgeIdentityType;
}

export interface LoadKeystoreOptions {
  /** Passphrase of an encrypted keystore. Default: the environment, as for initKeystore. */
  readonly passphrase?: string;
}

/** A loaded keystore. Its secrets never show in toString, JSON or util.inspect. */
export class Keystore {
  constructor(
    readonly dir: string,
    readonly wallet: Wallet,
    readonly ageIdentity: NativeIdentity,
    readonly info: KeystoreInfo,
  ) {}

  get address(): string {
    return this.info.address;
  }

  get ageRecipient(): string {
    return this.info.ageRecipient;
  }

  toString(): string {
    return `Keystore(${this.info.address}, ${this.info.ageRecipient})`;
  }

  toJSON(): KeystoreInfo & { dir: string } {
    return { dir: this.dir, ...this.info };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * The passphrase: the option, else SEALFOLD_KEYSTORE_PASSPHRASE, else the contents of the file named by
 * SEALFOLD_KEYSTORE_PASSPHRASE_FILE (one trailing newline dropped), else none. Both variables set is an error.
 */
export async function resolvePassphrase(option?: string | null): Promise<string | undefined> {
  if (option === null) return undefined;
  let value = option;
  if (value === undefined) {
    const env = process.env[PASSPHRASE_ENV] || undefined;
    const file = process.env[PASSPHRASE_FILE_ENV] || undefined;
    if (env !== undefined && file !== undefined)
      throw new KeystoreError('INVALID_INPUT', `set ${PASSPHRASE_ENV} or ${PASSPHRASE_FILE_ENV}, not both`);
    value = env;
    if (file !== undefined) {
      try {
        value = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        throw new KeystoreError(
          'INVALID_INPUT',
          `cannot read ${PASSPHRASE_FILE_ENV} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
          { cause: err },
        );
      }
    }
  }
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    throw new KeystoreError('INVALID_INPUT', 'passphrase must be a non-empty string');
  return value;
}

function checkScryptN(scryptN: number): number {
  if (!Number.isInteger(scryptN) || scryptN < 2 || (scryptN & (scryptN - 1)) !== 0 || scryptN > 2 ** 22)
    throw new KeystoreError('INVALID_INPUT', 'scryptN must be a power of two, at most 2^22');
  return scryptN;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

async function listDir(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isMissing(err)) return null;
    throw new KeystoreError('IO', `cannot read ${dir}: ${(err as NodeJS.ErrnoException).code}`, { cause: err });
  }
}

interface KeystoreSecrets {
  readonly privateKey: string;
  readonly address: string;
  readonly identity: NativeIdentity;
  readonly createdAt: string;
}

/**
 * Writes a complete keystore for `secrets` into a sibling temporary directory, which then replaces `dir` by rename:
 * a failure leaves either nothing or the old keystore, never a mix.
 */
async function writeKeystore(
  dir: string,
  secrets: KeystoreSecrets,
  passphrase: string | undefined,
  scryptN: number,
  replacing: boolean,
): Promise<KeystoreInfo> {
  const info: KeystoreInfo = {
    version: KEYSTORE_FORMAT_VERSION,
    address: secrets.address,
    ageRecipient: secrets.identity.recipient.toString(),
    walletKey: passphrase ? 'encrypted-json' : 'plain',
    ageIdentity: passphrase ? 'passphrase' : 'plain',
    createdAt: secrets.createdAt,
  };
  const identityText = formatIdentityFile(secrets.identity, new Date(secrets.createdAt));
  await mkdir(dirname(dir), { recursive: true });
  const staging = join(dirname(dir), `.${basename(dir)}.${randomUUID()}.tmp`);
  const retired = join(dirname(dir), `.${basename(dir)}.${randomUUID()}.old`);
  let oldMovedAside = false;
  try {
    await mkdir(staging, { mode: 0o700 });
    await chmod(staging, 0o700); // independent of the umask
    if (passphrase) {
      const { encryptKeystoreJson } = await import('ethers');
      const json = await encryptKeystoreJson({ address: secrets.address, privateKey: secrets.privateKey }, passphrase, {
        scrypt: { N: scryptN },
      });
      await writeSecretFileAtomic(join(staging, KEYSTORE_FILES.encryptedWallet), json, false);
      // An age passphrase-encrypted identity file (C2SP age scrypt recipient), armored: what `age -p` would write.
      const sealed = encrypt(
        new TextEncoder().encode(identityText),
        [new ScryptRecipient(passphrase, { workFactor: Math.log2(scryptN) })],
        { armor: true },
      );
      await writeSecretFileAtomic(
        join(staging, KEYSTORE_FILES.encryptedAgeIdentity),
        Buffer.from(sealed).toString('latin1'),
        false,
      );
    } else {
      await writeSecretFileAtomic(join(staging, KEYSTORE_FILES.plainWallet), `${secrets.privateKey}\n`, false);
      await writeSecretFileAtomic(join(staging, KEYSTORE_FILES.ageIdentity), identityText, false);
    }
    await writeSecretFileAtomic(join(staging, KEYSTORE_FILES.meta), JSON.stringify(info, null, 2) + '\n', false);
    if (replacing) {
      await rename(dir, retired);
      oldMovedAside = true;
    }
    await rename(staging, dir); // also replaces an empty directory
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (oldMovedAside) await rename(retired, dir).catch(() => undefined); // put the old keystore back
    if (err instanceof KeystoreError) throw err;
    if (err instanceof AgeError) throw new KeystoreError('IO', err.message, { cause: err });
    throw new KeystoreError('IO', `cannot write the keystore in ${dir}: ${(err as NodeJS.ErrnoException).code}`, {
      cause: err,
    });
  }
  await rm(retired, { recursive: true, force: true });
  return info;
}

/**
 * Creates a keystore in `dir` with a fresh wallet key and age identity (hybrid post-quantum unless asked otherwise).
 * Refuses an existing keystore unless `force`, and never replaces a directory holding other files.
 */
export async function initKeystore(dir: string, options: InitKeystoreOptions = {}): Promise<KeystoreInfo> {
  if (typeof dir !== 'string' || dir.length === 0) throw new KeystoreError('INVALID_INPUT', 'dir must be a path');
  const passphrase = await resolvePassphrase(options.passphrase);
  const scryptN = checkScryptN(options.scryptN ?? 2 ** 17);
  const type = options.ageIdentityType ?? 'mlkem768x25519';
  if (type !== 'mlkem768x25519' && type !== 'X25519')
    throw new KeystoreError('INVALID_INPUT', 'ageIdentityType must be mlkem768x25519 or X25519');

  const existing = await listDir(dir);
  if (existing && existing.length > 0) {
    if (!existing.every((f) => OUR_FILES.includes(f)))
      throw new KeystoreError('NOT_EMPTY', `${dir} holds files that are not a keystore's; refusing to touch it`);
    if (!options.force) throw new KeystoreError('EXISTS', `a keystore already exists in ${dir} (use force to replace)`);
  }

  const { Wallet } = await import('ethers');
  const privateKey = `0x${randomBytes(32).toString('hex')}`;
  const secrets: KeystoreSecrets = {
    privateKey,
    address: new Wallet(privateKey).address,
    identity: type === 'mlkem768x25519' ? HybridIdentity.generate() : X25519Identity.generate(),
    createdAt: new Date().toISOString(),
  };
  return writeKeystore(dir, secrets, passphrase, scryptN, Boolean(existing && existing.length > 0));
}

export interface ChangePassphraseOptions {
  /** The current passphrase. Default: the environment, as for loadKeystore. Ignored for an unencrypted keystore. */
  readonly passphrase?: string;
  /** The new passphrase; `null` removes the encryption (keys protected by file modes only). */
  readonly newPassphrase: string | null;
  readonly scryptN?: number;
}

/**
 * Re-encrypts the keystore's keys with a new passphrase (or removes it), atomically: the keystore is loaded and
 * checked with the current passphrase, rewritten in full beside it, then swapped in by rename.
 */
export async function changeKeystorePassphrase(dir: string, options: ChangePassphraseOptions): Promise<KeystoreInfo> {
  const newPassphrase = options.newPassphrase === null ? undefined : options.newPassphrase;
  if (newPassphrase !== undefined && (typeof newPassphrase !== 'string' || newPassphrase.length === 0))
    throw new KeystoreError('INVALID_INPUT', 'the new passphrase must be a non-empty string (or null for none)');
  const scryptN = checkScryptN(options.scryptN ?? 2 ** 17);
  const ks = await loadKeystore(dir, { passphrase: options.passphrase });
  const secrets: KeystoreSecrets = {
    privateKey: ks.wallet.privateKey,
    address: ks.address,
    identity: ks.ageIdentity,
    createdAt: ks.info.createdAt,
  };
  return writeKeystore(dir, secrets, newPassphrase, scryptN, true);
}

async function assertPrivate(path: string, what: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    if (isMissing(err)) throw new KeystoreError('CORRUPT', `keystore ${what} ${basename(path)} is missing`);
    throw new KeystoreError('IO', `cannot stat ${path}: ${(err as NodeJS.ErrnoException).code}`, { cause: err });
  }
  if ((mode & 0o077) !== 0)
    throw new KeystoreError(
      'INSECURE_PERMISSIONS',
      `${what} ${path} has mode ${(mode & 0o777).toString(8)}; expected ${what === 'directory' ? '700' : '600'}`,
    );
}

function parseInfo(text: string): KeystoreInfo {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeystoreError('CORRUPT', `${KEYSTORE_FILES.meta} is not JSON`);
  }
  const v = value as Record<string, unknown>;
  if (
    typeof v !== 'object' ||
    v === null ||
    (v.version !== 1 && v.version !== 2) ||
    typeof v.address !== 'string' ||
    !/^0x[0-9a-fA-F]{40}$/.test(v.address) ||
    typeof v.ageRecipient !== 'string' ||
    (v.walletKey !== 'encrypted-json' && v.walletKey !== 'plain') ||
    // Format 1 had no ageIdentity field: its identity file was always plaintext.
    (v.version === 1 ? v.ageIdentity !== undefined : v.ageIdentity !== 'passphrase' && v.ageIdentity !== 'plain') ||
    typeof v.createdAt !== 'string'
  )
    throw new KeystoreError('CORRUPT', `${KEYSTORE_FILES.meta} does not describe a version 1 or 2 keystore`);
  return {
    version: v.version,
    address: v.address,
    ageRecipient: v.ageRecipient,
    walletKey: v.walletKey,
    ageIdentity: v.version === 1 ? 'plain' : (v.ageIdentity as AgeIdentityFormat),
    createdAt: v.createdAt,
  };
}

/** Reads the public half of a keystore (no passphrase needed). */
export async function readKeystoreInfo(dir: string): Promise<KeystoreInfo> {
  let text: string;
  try {
    text = await readFile(join(dir, KEYSTORE_FILES.meta), 'utf8');
  } catch (err) {
    if (isMissing(err)) throw new KeystoreError('NOT_FOUND', `no keystore in ${dir}`);
    throw new KeystoreError('IO', `cannot read keystore in ${dir}: ${(err as NodeJS.ErrnoException).code}`, {
      cause: err,
    });
  }
  return parseInfo(text);
}

/** Loads the keystore in `dir`, checking file modes and that every part matches the metadata. */
export async function loadKeystore(dir: string, options: LoadKeystoreOptions = {}): Promise<Keystore> {
  const info = await readKeystoreInfo(dir);
  await assertPrivate(dir, 'directory');
  const walletFile = join(
    dir,
    info.walletKey === 'plain' ? KEYSTORE_FILES.plainWallet : KEYSTORE_FILES.encryptedWallet,
  );
  const identityFile = join(
    dir,
    info.ageIdentity === 'plain' ? KEYSTORE_FILES.ageIdentity : KEYSTORE_FILES.encryptedAgeIdentity,
  );
  await assertPrivate(walletFile, 'wallet key file');
  await assertPrivate(identityFile, 'age identity file');

  let passphrase: string | undefined;
  if (info.walletKey !== 'plain' || info.ageIdentity !== 'plain') {
    passphrase = await resolvePassphrase(options.passphrase);
    if (!passphrase)
      throw new KeystoreError(
        'PASSPHRASE_REQUIRED',
        `the keystore in ${dir} is encrypted: give its passphrase (${PASSPHRASE_ENV} or ${PASSPHRASE_FILE_ENV})`,
      );
  }
  const wrongPassphrase = () => new KeystoreError('WRONG_PASSPHRASE', `wrong passphrase for the keystore in ${dir}`);

  // The age identity first: with a passphrase it is the cheaper check (one scrypt, no JSON keystore parsing).
  let identityText: string;
  try {
    identityText = await readFile(identityFile, 'utf8');
  } catch (err) {
    throw new KeystoreError('IO', `cannot read ${basename(identityFile)}: ${(err as NodeJS.ErrnoException).code}`, {
      cause: err,
    });
  }
  if (info.ageIdentity === 'passphrase') {
    try {
      identityText = new TextDecoder('utf-8', { fatal: true }).decode(
        decrypt(identityText, [new ScryptIdentity(passphrase!)]),
      );
    } catch (err) {
      if (err instanceof AgeError && err.code === 'NO_IDENTITY_MATCHED') throw wrongPassphrase();
      throw new KeystoreError('CORRUPT', `${KEYSTORE_FILES.encryptedAgeIdentity}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  let identities: NativeIdentity[];
  try {
    identities = parseIdentityFile(identityText);
  } catch (err) {
    throw new KeystoreError('CORRUPT', `${basename(identityFile)}: ${(err as Error).message}`, { cause: err });
  }
  if (identities.length !== 1 || identities[0].recipient.toString() !== info.ageRecipient)
    throw new KeystoreError('CORRUPT', `age identity does not match the recipient in ${KEYSTORE_FILES.meta}`);

  const walletText = await readFile(walletFile, 'utf8');
  const { Wallet } = await import('ethers');
  let wallet: Wallet;
  if (info.walletKey === 'plain') {
    const key = walletText.trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(key))
      throw new KeystoreError('CORRUPT', `${KEYSTORE_FILES.plainWallet} is not a private key`);
    try {
      wallet = new Wallet(key);
    } catch {
      throw new KeystoreError('CORRUPT', `${KEYSTORE_FILES.plainWallet} is not a valid secp256k1 key`);
    }
  } else {
    let decrypted: Awaited<ReturnType<typeof Wallet.fromEncryptedJson>>;
    try {
      decrypted = await Wallet.fromEncryptedJson(walletText, passphrase!);
    } catch (err) {
      const wrong = /password/i.test((err as Error).message ?? '');
      throw wrong
        ? wrongPassphrase()
        : new KeystoreError('CORRUPT', `${KEYSTORE_FILES.encryptedWallet} is not an encrypted JSON keystore`);
    }
    wallet = new Wallet(decrypted.privateKey);
  }
  if (wallet.address !== info.address)
    throw new KeystoreError('CORRUPT', `wallet key does not match the address in ${KEYSTORE_FILES.meta}`);
  return new Keystore(dir, wallet, identities[0], info);
}
