// The age payload (C2SP age §"Payload"): STREAM (Hoang, Reyhanitabar, Rogaway, Vizár 2015) over
// ChaCha20-Poly1305 with 64 KiB chunks. Nonce = 11-byte big-endian chunk counter || 0x01 for the final chunk,
// 0x00 otherwise. The final chunk MAY be shorter than 64 KiB and MUST NOT be empty unless the payload is empty.
//
// Both directions are incremental (`push` / `end`) with O(chunk) memory, and return the output pieces produced.
import { AgeError } from '../errors.js';
import { TAG_BYTES, hkdf32, open, sealPieces } from './primitives.js';

export const CHUNK_BYTES = 64 * 1024;
export const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES;
export const PAYLOAD_NONCE_BYTES = 16;
const MAX_CHUNKS = 2 ** 48; // far beyond any real file; keeps the counter within Number precision

/** payload key = HKDF-SHA-256(ikm = file key, salt = nonce, info = "payload"). */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return hkdf32(fileKey, nonce, 'payload');
}

class ChunkNonce {
  readonly bytes = Buffer.alloc(12);
  #counter = 0;

  get counter(): number {
    return this.#counter;
  }

  for(last: boolean): Buffer {
    this.bytes.writeUIntBE(this.#counter, 5, 6); // bytes 0..4 stay zero: counter < 2^48
    this.bytes[11] = last ? 1 : 0;
    return this.bytes;
  }

  advance(): void {
    if (++this.#counter >= MAX_CHUNKS) throw new AgeError('PAYLOAD_INVALID', 'too many chunks');
  }
}

/** Encrypts a plaintext stream into sealed chunks. */
export class PayloadEncryptor {
  readonly #key: Buffer;
  readonly #nonce = new ChunkNonce();
  readonly #pending = Buffer.alloc(CHUNK_BYTES);
  #fill = 0;
  #ended = false;

  constructor(key: Uint8Array) {
    this.#key = Buffer.from(key);
  }

  #seal(plaintext: Uint8Array, last: boolean): [Buffer, Buffer] {
    const out = sealPieces(this.#key, this.#nonce.for(last), plaintext);
    this.#nonce.advance();
    return out;
  }

  /** Seals every chunk known not to be the last one; keeps up to one chunk pending. */
  push(data: Uint8Array): Buffer[] {
    if (this.#ended) throw new AgeError('PAYLOAD_INVALID', 'write after end');
    const out: Buffer[] = [];
    let at = 0;
    while (at < data.length) {
      if (this.#fill === CHUNK_BYTES) {
        // More data follows, so the pending full chunk is not the final one.
        out.push(...this.#seal(this.#pending, false));
        this.#fill = 0;
      }
      if (this.#fill === 0 && data.length - at > CHUNK_BYTES) {
        out.push(...this.#seal(data.subarray(at, at + CHUNK_BYTES), false)); // zero-copy fast path
        at += CHUNK_BYTES;
        continue;
      }
      const n = Math.min(CHUNK_BYTES - this.#fill, data.length - at);
      this.#pending.set(data.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
    }
    return out;
  }

  /** Seals the final chunk (empty only when the whole payload is empty). */
  end(): Buffer[] {
    if (this.#ended) throw new AgeError('PAYLOAD_INVALID', 'end called twice');
    this.#ended = true;
    const out = this.#seal(this.#pending.subarray(0, this.#fill), true);
    this.#pending.fill(0);
    this.#key.fill(0);
    return out;
  }
}

/**
 * Decrypts sealed chunks. A chunk's plaintext is returned only after its tag verifies; the stream as a whole is
 * authentic only once `end()` returns without throwing (truncation is detected there).
 *
 * A full-size chunk is opened as soon as it is complete: it authenticates either as a middle chunk or as the final
 * one (C2SP age §"Payload": the last nonce byte says which), so it is released without waiting for the next byte;
 * any byte after a final chunk is TRAILING_DATA, thrown by the next `push` or by `end` once the authentic final
 * plaintext is returned. This releases exactly what the C2SP CCTV vectors expect.
 */
export class PayloadDecryptor {
  readonly #key: Buffer;
  readonly #nonce = new ChunkNonce();
  readonly #pending = Buffer.alloc(SEALED_CHUNK_BYTES);
  #fill = 0;
  #finalSeen = false;
  #trailing: AgeError | null = null;
  #ended = false;

  constructor(key: Uint8Array) {
    this.#key = Buffer.from(key);
  }

  #openFull(sealed: Uint8Array): Buffer {
    const middle = open(this.#key, this.#nonce.for(false), sealed);
    if (middle) {
      this.#nonce.advance();
      return middle;
    }
    const final = open(this.#key, this.#nonce.for(true), sealed);
    if (!final)
      throw new AgeError('PAYLOAD_AUTH_FAILED', `age payload chunk ${this.#nonce.counter} failed to authenticate`);
    this.#finalSeen = true;
    return final;
  }

  push(data: Uint8Array): Buffer[] {
    if (this.#ended) throw new AgeError('TRAILING_DATA', 'data after the end of the age payload');
    if (this.#trailing) throw this.#trailing;
    const out: Buffer[] = [];
    let at = 0;
    while (at < data.length) {
      if (this.#finalSeen) {
        this.#trailing = new AgeError('TRAILING_DATA', 'data after the final age payload chunk');
        if (out.length === 0) throw this.#trailing;
        return out; // the final chunk is authentic: release it, fail on the next call
      }
      if (this.#fill === 0 && data.length - at >= SEALED_CHUNK_BYTES) {
        out.push(this.#openFull(data.subarray(at, at + SEALED_CHUNK_BYTES)));
        at += SEALED_CHUNK_BYTES;
        continue;
      }
      const n = Math.min(SEALED_CHUNK_BYTES - this.#fill, data.length - at);
      this.#pending.set(data.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
      if (this.#fill === SEALED_CHUNK_BYTES) {
        out.push(this.#openFull(this.#pending));
        this.#fill = 0;
      }
    }
    return out;
  }

  /** Opens the final chunk; throws if the payload ended without a valid final chunk. */
  end(): Buffer[] {
    if (this.#ended) throw new AgeError('PAYLOAD_INVALID', 'end called twice');
    this.#ended = true;
    try {
      if (this.#trailing) throw this.#trailing;
      if (this.#finalSeen) return []; // a full-size final chunk, already released
      const sealed = this.#pending.subarray(0, this.#fill);
      if (this.#fill < TAG_BYTES) throw new AgeError('TRUNCATED', 'age payload ends without a final chunk');
      const plaintext = open(this.#key, this.#nonce.for(true), sealed);
      if (!plaintext)
        throw new AgeError('PAYLOAD_AUTH_FAILED', `age payload chunk ${this.#nonce.counter} failed to authenticate`);
      if (plaintext.length === 0 && this.#nonce.counter > 0)
        throw new AgeError('PAYLOAD_INVALID', 'empty final chunk after full chunks');
      return [plaintext];
    } finally {
      this.#pending.fill(0);
      this.#key.fill(0);
    }
  }
}
