// age v1 encryption and decryption (https://age-encryption.org/v1, C2SP age): whole-buffer helpers, incremental
// encryptor/decryptor classes, async-generator streaming and Node Duplex streams, all with O(64 KiB) memory.
import { randomBytes, randomUUID } from 'node:crypto';
import { open as openFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import { AgeError } from '../errors.js';
import { ArmorDecoder, ArmorEncoder } from './armor.js';
import { MAX_HEADER_BYTES, encodeHeader, findHeaderEnd, parseHeader, verifyHeaderMac } from './header.js';
import { type AgeIdentity, type AgeRecipient } from './keys.js';
import { checkRecipientMix, toIdentity, toRecipient } from './recipients.js';
import { PAYLOAD_NONCE_BYTES, PayloadDecryptor, PayloadEncryptor, payloadKey } from './stream.js';

/** Bytes in, in order: a Node Readable, an async generator, an array of chunks… */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
export type RecipientInput = AgeRecipient | string;
export type IdentityInput = AgeIdentity | string;

export interface EncryptOptions {
  /** Emit ASCII armor (PEM "AGE ENCRYPTED FILE") instead of the binary format. Default false. */
  readonly armor?: boolean;
}

const FILE_KEY_BYTES = 16;
const VERSION_PREFIX = Buffer.from('age-encryption.org/');

function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new AgeError('INVALID_INPUT', 'age input chunks must be Uint8Array');
}

/** Incremental age encryptor: `push` plaintext, then `end`; each returns the ciphertext pieces produced. */
export class AgeEncryptor {
  readonly #payload: PayloadEncryptor;
  readonly #armor: ArmorEncoder | null;
  #prefix: Buffer | null;

  constructor(recipients: readonly RecipientInput[], options: EncryptOptions = {}) {
    if (!Array.isArray(recipients) || recipients.length === 0)
      throw new AgeError('INVALID_RECIPIENT', 'age encryption needs at least one recipient');
    const parsed = recipients.map(toRecipient);
    checkRecipientMix(parsed);
    // File key: 128 bits from a CSPRNG (C2SP age §"File key").
    const fileKey = new Uint8Array(randomBytes(FILE_KEY_BYTES));
    try {
      const header = encodeHeader(
        parsed.flatMap((r) => r.wrapFileKey(fileKey)),
        fileKey,
      );
      const nonce = randomBytes(PAYLOAD_NONCE_BYTES);
      this.#payload = new PayloadEncryptor(payloadKey(fileKey, nonce));
      this.#prefix = Buffer.concat([header, nonce]);
    } finally {
      fileKey.fill(0);
    }
    this.#armor = options.armor ? new ArmorEncoder() : null;
  }

  #out(pieces: Buffer[]): Buffer[] {
    if (this.#prefix) {
      pieces.unshift(this.#prefix);
      this.#prefix = null;
    }
    if (!this.#armor) return pieces;
    return pieces.flatMap((p) => this.#armor!.push(p));
  }

  push(plaintext: Uint8Array): Buffer[] {
    return this.#out(this.#payload.push(bytesOf(plaintext)));
  }

  end(): Buffer[] {
    const out = this.#out(this.#payload.end());
    return this.#armor ? [...out, ...this.#armor.end()] : out;
  }
}

type DecryptState = 'detect' | 'header' | 'nonce' | 'payload';

/**
 * Incremental age decryptor (binary or armored input, detected from the first non-whitespace byte). Plaintext
 * pieces are released one authenticated chunk at a time; the whole is authentic only once `end()` succeeds.
 */
export class AgeDecryptor {
  readonly #identities: AgeIdentity[];
  #state: DecryptState = 'detect';
  #armor: ArmorDecoder | null = null;
  #buffer: Buffer = Buffer.alloc(0);
  #payload: PayloadDecryptor | null = null;

  constructor(identities: readonly IdentityInput[]) {
    if (!Array.isArray(identities) || identities.length === 0)
      throw new AgeError('INVALID_IDENTITY', 'age decryption needs at least one identity');
    this.#identities = identities.map(toIdentity);
  }

  push(data: Uint8Array): Buffer[] {
    let bytes: Uint8Array = bytesOf(data);
    if (this.#state === 'detect') {
      const first = bytes.findIndex((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
      if (first < 0) {
        this.#buffer = Buffer.concat([this.#buffer, bytes]);
        if (this.#buffer.length > 1024) throw new AgeError('HEADER_INVALID', 'invalid age header: not an age file');
        return [];
      }
      if (bytes[first] === 0x2d /* '-' */) this.#armor = new ArmorDecoder();
      bytes = Buffer.concat([this.#buffer, bytes]);
      this.#buffer = Buffer.alloc(0);
      this.#state = 'header';
    }
    if (!this.#armor) return this.#binary(bytes);
    return this.#armor.push(bytes).flatMap((b) => this.#binary(b));
  }

  end(): Buffer[] {
    const out = this.#armor ? this.#armor.end().flatMap((b) => this.#binary(b)) : [];
    if (this.#state !== 'payload' || !this.#payload)
      throw new AgeError(
        'TRUNCATED',
        `age input ends inside the ${this.#state === 'nonce' ? 'payload nonce' : 'header'}`,
      );
    return [...out, ...this.#payload.end()];
  }

  #binary(data: Uint8Array): Buffer[] {
    if (this.#state === 'payload') return this.#payload!.push(data);
    this.#buffer = Buffer.concat([this.#buffer, data]);
    if (this.#state === 'header') {
      const head = this.#buffer.subarray(0, VERSION_PREFIX.length);
      if (!head.equals(VERSION_PREFIX.subarray(0, head.length)))
        throw new AgeError('HEADER_INVALID', 'invalid age header: not an age file');
      const end = findHeaderEnd(this.#buffer);
      if (end < 0) {
        if (this.#buffer.length > MAX_HEADER_BYTES) throw new AgeError('HEADER_INVALID', 'age header too large');
        return [];
      }
      this.#openHeader(this.#buffer.subarray(0, end));
      this.#buffer = this.#buffer.subarray(end);
      this.#state = 'nonce';
    }
    if (this.#buffer.length < PAYLOAD_NONCE_BYTES) return [];
    const nonce = this.#buffer.subarray(0, PAYLOAD_NONCE_BYTES);
    this.#payload = new PayloadDecryptor(payloadKey(this.#fileKey!, nonce));
    this.#fileKey!.fill(0);
    this.#fileKey = null;
    const rest = this.#buffer.subarray(PAYLOAD_NONCE_BYTES);
    this.#buffer = Buffer.alloc(0);
    this.#state = 'payload';
    return this.#payload.push(rest);
  }

  #fileKey: Uint8Array | null = null;

  #openHeader(bytes: Uint8Array): void {
    const header = parseHeader(bytes);
    let fileKey: Uint8Array | null = null;
    for (const identity of this.#identities) {
      fileKey = identity.unwrapFileKey(header.stanzas);
      if (fileKey) break;
    }
    if (!fileKey) throw new AgeError('NO_IDENTITY_MATCHED', 'no identity matched any of the age recipients');
    if (fileKey.length !== FILE_KEY_BYTES)
      throw new AgeError('HEADER_INVALID', 'unwrapped file key has the wrong size');
    verifyHeaderMac(header, fileKey);
    this.#fileKey = fileKey;
  }
}

function concatPieces(pieces: readonly Buffer[][]): Uint8Array {
  return new Uint8Array(Buffer.concat(pieces.flat()));
}

/** Encrypts a whole buffer to one or more recipients (`age1…` strings or AgeRecipient objects). */
export function encrypt(
  plaintext: Uint8Array,
  recipients: readonly RecipientInput[],
  options?: EncryptOptions,
): Uint8Array {
  const enc = new AgeEncryptor(recipients, options);
  return concatPieces([enc.push(bytesOf(plaintext)), enc.end()]);
}

/** Decrypts a whole age file (binary bytes, or armored bytes/string) with the first identity that matches. */
export function decrypt(ciphertext: Uint8Array | string, identities: readonly IdentityInput[]): Uint8Array {
  const dec = new AgeDecryptor(identities);
  const bytes = typeof ciphertext === 'string' ? Buffer.from(ciphertext, 'latin1') : bytesOf(ciphertext);
  return concatPieces([dec.push(bytes), dec.end()]);
}

/** Streams plaintext chunks to age ciphertext chunks. Usable directly as a `stream.pipeline` stage. */
export async function* encryptChunks(
  source: ByteSource,
  recipients: readonly RecipientInput[],
  options?: EncryptOptions,
): AsyncGenerator<Buffer, void, undefined> {
  const enc = new AgeEncryptor(recipients, options);
  for await (const chunk of source) yield* enc.push(chunk);
  yield* enc.end();
}

/** Streams age ciphertext (binary or armored) to plaintext, one authenticated chunk at a time. */
export async function* decryptChunks(
  source: ByteSource,
  identities: readonly IdentityInput[],
): AsyncGenerator<Buffer, void, undefined> {
  const dec = new AgeDecryptor(identities);
  for await (const chunk of source) yield* dec.push(chunk);
  yield* dec.end();
}

/** A Duplex (transform) stream: write plaintext, read age ciphertext. */
export function encryptStream(recipients: readonly RecipientInput[], options?: EncryptOptions): Duplex {
  const enc = new AgeEncryptor(recipients, options); // validate recipients now, not on first write
  return Duplex.from(async function* (source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) yield* enc.push(chunk);
    yield* enc.end();
  });
}

/** A Duplex (transform) stream: write age ciphertext, read plaintext. Errors with AgeError on any failure. */
export function decryptStream(identities: readonly IdentityInput[]): Duplex {
  const dec = new AgeDecryptor(identities);
  return Duplex.from(async function* (source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) yield* dec.push(chunk);
    yield* dec.end();
  });
}

/** ASCII-armors a binary age file. */
export function armor(binary: Uint8Array): string {
  const enc = new ArmorEncoder();
  return Buffer.concat([...enc.push(bytesOf(binary)), ...enc.end()]).toString('latin1');
}

/** Removes the ASCII armor (strictly) and returns the binary age file. */
export function dearmor(text: string | Uint8Array): Uint8Array {
  const dec = new ArmorDecoder();
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : bytesOf(text);
  return new Uint8Array(Buffer.concat([...dec.push(bytes), ...dec.end()]));
}

export interface DecryptToFileOptions {
  /** File mode of the plaintext file. Default 0o600: decrypted data is private. */
  readonly mode?: number;
}

/**
 * Decrypts into `path` atomically: plaintext goes to a temporary file in the same directory, which is renamed over
 * `path` only after the final chunk authenticates. On any failure the temporary file is removed and `path` is
 * untouched.
 */
export async function decryptToFile(
  source: ByteSource,
  identities: readonly IdentityInput[],
  path: string,
  options: DecryptToFileOptions = {},
): Promise<{ bytes: number }> {
  const dec = new AgeDecryptor(identities);
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  let handle: FileHandle | null = null;
  let bytes = 0;
  try {
    handle = await openFile(tmp, 'wx', options.mode ?? 0o600);
    const write = async (pieces: Buffer[]) => {
      for (const piece of pieces) {
        await handle!.write(piece);
        bytes += piece.length;
      }
    };
    for await (const chunk of source) await write(dec.push(chunk));
    await write(dec.end());
    await handle.sync();
    await handle.close();
    handle = null;
    await rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    if (err instanceof AgeError) throw err;
    throw new AgeError('IO', `decryptToFile failed: ${(err as Error).message}`, { cause: err });
  }
  await syncDirectory(dirname(path));
  return { bytes };
}

/** fsync the directory so the rename itself is durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await openFile(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
