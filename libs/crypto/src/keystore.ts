// The local keystore: one directory (mode 0700) holding the owner's wallet key and age identity.
//
//   keystore.json      public metadata: format version, address, age recipient, wallet key format (0600)
//   wallet.json        the wallet key as an ethers v6 encrypted JSON keystore (scrypt), when a passphrase is given
//   wallet.key         otherwise: the raw 0x-hex secp256k1 private key (0600) — protected by file modes only
//   age-identity.txt   the age X25519 identity in age-keygen format (0600), usable as `age -d -i`
//
// Decision: the passphrase is optional so that unattended silo nodes can start without a prompt; when it is set
// (option or SEALFOLD_KEYSTORE_PASSPHRASE) the wallet key is encrypted at rest. The age identity stays in
// age-keygen's plaintext format so the stock `age` tool can decrypt the owner's data, as age-keygen itself does.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { inspect } from 'node:util';
// ethers (~40 MB resident) is loaded only when a wallet is created or opened: importing @sealfold/crypto for age
// alone (the owner's ingest path, the silo's data cache) must not pay for it.
import type { Wallet } from 'ethers';
import { formatIdentityFile, loadIdentityFile, writeSecretFileAtomic } from './age/identity-file.js';
import { X25519Identity } from './age/keys.js';
import type { NativeIdentity } from './age/recipients.js';
import { AgeError, KeystoreError } from './errors.js';

export const KEYSTORE_FORMAT_VERSION = 1;
export const PASSPHRASE_ENV = 'SEALFOLD_KEYSTORE_PASSPHRASE';
export const KEYSTORE_FILES = {
  meta: 'keystore.json',
  encryptedWallet: 'wallet.json',
  plainWallet: 'wallet.key',
  ageIdentity: 'age-identity.txt',
} as const;
const OUR_FILES: readonly string[] = Object.values(KEYSTORE_FILES);

export type WalletKeyFormat = 'encrypted-json' | 'plain';

/** The public half of a keystore (what `keys show` prints). */
export interface KeystoreInfo {
  readonly version: typeof KEYSTORE_FORMAT_VERSION;
  readonly address: string;
  readonly ageRecipient: string;
  readonly walletKey: WalletKeyFormat;
  readonly createdAt: string;
}

export interface InitKeystoreOptions {
  /** Encrypt the wallet key with this passphrase. Default: process.env.SEALFOLD_KEYSTORE_PASSPHRASE, else none. */
  readonly passphrase?: string;
  /** Replace an existing keystore. Default false. */
  readonly force?: boolean;
  /** scrypt cost for the encrypted wallet (power of two). Default 2^17, ethers' default; lower only in tests. */
  readonly scryptN?: number;
}

export interface LoadKeystoreOptions {
  /** Passphrase of an encrypted wallet key. Default: process.env.SEALFOLD_KEYSTORE_PASSPHRASE. */
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

function passphraseFrom(option: string | undefined): string | undefined {
  const value = option ?? (process.env[PASSPHRASE_ENV] || undefined);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    throw new KeystoreError('INVALID_INPUT', 'passphrase must be a non-empty string');
  return value;
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

/**
 * Creates a keystore in `dir` with a fresh wallet key and age identity. The files are written in a sibling
 * temporary directory which then replaces `dir` by rename, so a failure leaves either nothing or the old keystore.
 */
export async function initKeystore(dir: string, options: InitKeystoreOptions = {}): Promise<KeystoreInfo> {
  if (typeof dir !== 'string' || dir.length === 0) throw new KeystoreError('INVALID_INPUT', 'dir must be a path');
  const passphrase = passphraseFrom(options.passphrase);
  const scryptN = options.scryptN ?? 2 ** 17;
  if (!Number.isInteger(scryptN) || scryptN < 2 || (scryptN & (scryptN - 1)) !== 0)
    throw new KeystoreError('INVALID_INPUT', 'scryptN must be a power of two');

  const existing = await listDir(dir);
  if (existing && existing.length > 0) {
    if (!existing.every((f) => OUR_FILES.includes(f)))
      throw new KeystoreError('NOT_EMPTY', `${dir} holds files that are not a keystore's; refusing to touch it`);
    if (!options.force) throw new KeystoreError('EXISTS', `a keystore already exists in ${dir} (use force to replace)`);
  }

  const { Wallet, encryptKeystoreJson } = await import('ethers');
  const privateKey = `0x${randomBytes(32).toString('hex')}`;
  const wallet = new Wallet(privateKey);
  const identity = X25519Identity.generate();
  const info: KeystoreInfo = {
    version: KEYSTORE_FORMAT_VERSION,
    address: wallet.address,
    ageRecipient: identity.recipient.toString(),
    walletKey: passphrase ? 'encrypted-json' : 'plain',
    createdAt: new Date().toISOString(),
  };

  await mkdir(dirname(dir), { recursive: true });
  const staging = join(dirname(dir), `.${basename(dir)}.${randomUUID()}.tmp`);
  const retired = join(dirname(dir), `.${basename(dir)}.${randomUUID()}.old`);
  let oldMovedAside = false;
  try {
    await mkdir(staging, { mode: 0o700 });
    await chmod(staging, 0o700); // independent of the umask
    if (passphrase) {
      const json = await encryptKeystoreJson({ address: wallet.address, privateKey }, passphrase, {
        scrypt: { N: scryptN },
      });
      await writeSecretFileAtomic(join(staging, KEYSTORE_FILES.encryptedWallet), json, false);
    } else {
      await writeSecretFileAtomic(join(staging, KEYSTORE_FILES.plainWallet), `${privateKey}\n`, false);
    }
    await writeSecretFileAtomic(join(staging, KEYSTORE_FILES.ageIdentity), formatIdentityFile(identity), false);
    await writeSecretFileAtomic(join(staging, KEYSTORE_FILES.meta), JSON.stringify(info, null, 2) + '\n', false);
    if (existing && existing.length > 0) {
      await rename(dir, retired);
      oldMovedAside = true;
    }
    await rename(staging, dir); // also replaces an empty directory
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (oldMovedAside) await rename(retired, dir).catch(() => undefined); // put the old keystore back
    if (err instanceof KeystoreError) throw err;
    if (err instanceof AgeError) throw new KeystoreError('IO', err.message, { cause: err });
    throw new KeystoreError('IO', `cannot create keystore in ${dir}: ${(err as NodeJS.ErrnoException).code}`, {
      cause: err,
    });
  }
  await rm(retired, { recursive: true, force: true });
  return info;
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
    v.version !== KEYSTORE_FORMAT_VERSION ||
    typeof v.address !== 'string' ||
    !/^0x[0-9a-fA-F]{40}$/.test(v.address) ||
    typeof v.ageRecipient !== 'string' ||
    (v.walletKey !== 'encrypted-json' && v.walletKey !== 'plain') ||
    typeof v.createdAt !== 'string'
  )
    throw new KeystoreError(
      'CORRUPT',
      `${KEYSTORE_FILES.meta} does not describe a version ${KEYSTORE_FORMAT_VERSION} keystore`,
    );
  return {
    version: KEYSTORE_FORMAT_VERSION,
    address: v.address,
    ageRecipient: v.ageRecipient,
    walletKey: v.walletKey,
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
  await assertPrivate(walletFile, 'wallet key file');
  await assertPrivate(join(dir, KEYSTORE_FILES.ageIdentity), 'age identity file');

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
    const passphrase = passphraseFrom(options.passphrase);
    if (!passphrase)
      throw new KeystoreError(
        'PASSPHRASE_REQUIRED',
        `the wallet key is encrypted: pass a passphrase or set ${PASSPHRASE_ENV}`,
      );
    let decrypted: Awaited<ReturnType<typeof Wallet.fromEncryptedJson>>;
    try {
      decrypted = await Wallet.fromEncryptedJson(walletText, passphrase);
    } catch (err) {
      const wrong = /password/i.test((err as Error).message ?? '');
      throw wrong
        ? new KeystoreError('WRONG_PASSPHRASE', 'wrong passphrase for the wallet key')
        : new KeystoreError('CORRUPT', `${KEYSTORE_FILES.encryptedWallet} is not an encrypted JSON keystore`);
    }
    wallet = new Wallet(decrypted.privateKey);
  }
  if (wallet.address !== info.address)
    throw new KeystoreError('CORRUPT', `wallet key does not match the address in ${KEYSTORE_FILES.meta}`);

  let identities: NativeIdentity[];
  try {
    identities = await loadIdentityFile(join(dir, KEYSTORE_FILES.ageIdentity));
  } catch (err) {
    throw new KeystoreError('CORRUPT', `${KEYSTORE_FILES.ageIdentity}: ${(err as Error).message}`, { cause: err });
  }
  if (identities.length !== 1 || identities[0].recipient.toString() !== info.ageRecipient)
    throw new KeystoreError('CORRUPT', `age identity does not match the recipient in ${KEYSTORE_FILES.meta}`);
  return new Keystore(dir, wallet, identities[0], info);
}
