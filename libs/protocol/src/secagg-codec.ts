// Binary frames for SecAgg+ messages (secagg.ts). Little-endian throughout; vectors are raw uint32 words.
//
// Frame (version 1):
//   0  2  magic "SA" (0x53 0x41)
//   2  1  version (1)
//   3  1  message type code (SECAGG_TYPE_CODES)
//   4  4  round (uint32)
//   8  4  sender (uint32; SECAGG_SERVER_ID for the server)
//  12  1  job id length L (1..64), then L bytes of UTF-8
//  13+L 4 body length B, then exactly B body bytes — nothing may follow.
// Decoding checks every length before it reads or allocates and throws SecAggCodecError with a code.
import { SealfoldError } from './errors.js';
import {
  SECAGG_ADDRESS_BYTES,
  SECAGG_KEY_BYTES,
  SECAGG_MAX_CLIENTS,
  SECAGG_MAX_JOB_ID_BYTES,
  SECAGG_MAX_VECTOR_LENGTH,
  SECAGG_SERVER_ID,
  SECAGG_SHARE_BYTES,
  SECAGG_SHARE_CIPHERTEXT_BYTES,
  SECAGG_SIGNATURE_BYTES,
  SECAGG_WALLET_SIGNATURE_BYTES,
  type SecAggClientMessage,
  type SecAggEncryptedShare,
  type SecAggEnvelope,
  type SecAggKeyEntry,
  type SecAggMessage,
  type SecAggMessageType,
  type SecAggParams,
  type SecAggRevealedShare,
  type SecAggServerMessage,
  type SecAggSurvivorSignature,
} from './secagg.js';

export const SECAGG_FRAME_VERSION = 1;
const MAGIC0 = 0x53;
const MAGIC1 = 0x41;
/** Default ceiling on a frame's size: a d = 2^26 masked vector plus header. */
export const SECAGG_MAX_FRAME_BYTES = 4 * (SECAGG_MAX_VECTOR_LENGTH + 1) + 1024;

export const SECAGG_TYPE_CODES: Readonly<Record<SecAggMessageType, number>> = Object.freeze({
  'secagg/setup': 1,
  'secagg/advertise-keys': 2,
  'secagg/key-list': 3,
  'secagg/share-keys': 4,
  'secagg/forward-shares': 5,
  'secagg/masked-input': 6,
  'secagg/consistency-request': 7,
  'secagg/consistency-signature': 8,
  'secagg/unmask-request': 9,
  'secagg/unmask-shares': 10,
  'secagg/abort': 11,
});
const TYPE_BY_CODE = new Map<number, SecAggMessageType>(
  Object.entries(SECAGG_TYPE_CODES).map(([type, code]) => [code, type as SecAggMessageType]),
);
const SERVER_TYPES: ReadonlySet<SecAggMessageType> = new Set([
  'secagg/setup',
  'secagg/key-list',
  'secagg/forward-shares',
  'secagg/consistency-request',
  'secagg/unmask-request',
  'secagg/abort',
]);

export type SecAggCodecErrorCode =
  | 'TRUNCATED'
  | 'OVERSIZED'
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'UNKNOWN_TYPE'
  | 'BAD_LENGTH'
  | 'BAD_FIELD'
  | 'TRAILING_BYTES';

export class SecAggCodecError extends SealfoldError<SecAggCodecErrorCode> {
  override readonly name = 'SecAggCodecError';
}

function fail(code: SecAggCodecErrorCode, message: string): never {
  throw new SecAggCodecError(code, message);
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

// Fixed sizes of the parts.
const PARAMS_BYTES = 4 * 4 + 8 + 1 + 4;
const CERT_BYTES = SECAGG_ADDRESS_BYTES + SECAGG_WALLET_SIGNATURE_BYTES;
const ADVERTISE_BYTES = 3 * SECAGG_KEY_BYTES + CERT_BYTES + SECAGG_SIGNATURE_BYTES;
const KEY_ENTRY_BYTES = 4 + ADVERTISE_BYTES;
const ENCRYPTED_SHARE_BYTES = 4 + SECAGG_SHARE_CIPHERTEXT_BYTES;
const SURVIVOR_SIGNATURE_BYTES = 4 + SECAGG_SIGNATURE_BYTES;
const REVEALED_SHARE_BYTES = 4 + SECAGG_SHARE_BYTES;

const headerBytes = (jobIdBytes: number) => 13 + jobIdBytes + 4;

function bodyByteLength(m: SecAggMessage): number {
  switch (m.type) {
    case 'secagg/setup':
      return PARAMS_BYTES + SECAGG_KEY_BYTES + 4 + 4 * m.clients.length;
    case 'secagg/advertise-keys':
      return ADVERTISE_BYTES;
    case 'secagg/key-list':
      return 4 + KEY_ENTRY_BYTES * m.entries.length;
    case 'secagg/share-keys':
    case 'secagg/forward-shares':
      return 4 + ENCRYPTED_SHARE_BYTES * m.shares.length;
    case 'secagg/masked-input':
      return 4 + 4 * m.vector.length;
    case 'secagg/consistency-request':
      return 4 + 4 * m.survivors.length;
    case 'secagg/consistency-signature':
      return SECAGG_SIGNATURE_BYTES;
    case 'secagg/unmask-request':
      return 12 + 4 * (m.survivors.length + m.dropped.length) + SURVIVOR_SIGNATURE_BYTES * m.signatures.length;
    case 'secagg/unmask-shares':
      return 8 + REVEALED_SHARE_BYTES * (m.selfMaskShares.length + m.maskKeyShares.length);
    case 'secagg/abort':
      return 1 + utf8.encode(m.code).length + 2 + utf8.encode(m.reason).length;
  }
}

/** Exact size in bytes of the frame `encodeSecAggMessage(m)` produces. */
export function secAggByteLength(m: SecAggMessage): number {
  return headerBytes(utf8.encode(m.jobId).length) + bodyByteLength(m);
}

// ------------------------------------------------------------------------------------------------- encoding

class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  offset = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(x: number) {
    this.view.setUint8(this.offset, x);
    this.offset += 1;
  }
  u16(x: number) {
    this.view.setUint16(this.offset, x, true);
    this.offset += 2;
  }
  u32(x: number) {
    this.view.setUint32(this.offset, x, true);
    this.offset += 4;
  }
  f64(x: number) {
    this.view.setFloat64(this.offset, x, true);
    this.offset += 8;
  }
  raw(b: Uint8Array) {
    this.bytes.set(b, this.offset);
    this.offset += b.length;
  }
  fixed(b: Uint8Array, length: number, what: string) {
    if (!(b instanceof Uint8Array) || b.length !== length) fail('BAD_FIELD', `${what} must be ${length} bytes`);
    this.raw(b);
  }
  words(v: Uint32Array) {
    if (isLittleEndian) this.raw(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    else for (const x of v) this.u32(x);
  }
}

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const checkId = (id: number, what: string) => {
  if (!Number.isInteger(id) || id < 0 || id >= SECAGG_SERVER_ID) fail('BAD_FIELD', `${what} must be a client id`);
};
const checkIncreasing = (ids: Uint32Array, what: string) => {
  if (!(ids instanceof Uint32Array)) fail('BAD_FIELD', `${what} must be a Uint32Array`);
  if (ids.length > SECAGG_MAX_CLIENTS) fail('OVERSIZED', `${what} lists more than ${SECAGG_MAX_CLIENTS} ids`);
  for (let i = 0; i < ids.length; i++) {
    checkId(ids[i], what);
    if (i > 0 && ids[i] <= ids[i - 1]) fail('BAD_FIELD', `${what} must be strictly increasing`);
  }
};
const checkCount = (count: number, max: number, what: string) => {
  if (count > max) fail('OVERSIZED', `${what}: ${count} exceeds ${max}`);
};

function checkEnvelope(m: SecAggEnvelope & { type: SecAggMessageType }) {
  if (!TYPE_BY_CODE.has(SECAGG_TYPE_CODES[m.type])) fail('UNKNOWN_TYPE', `unknown type ${String(m.type)}`);
  if (!Number.isInteger(m.round) || m.round < 0 || m.round > 0xffff_ffff) fail('BAD_FIELD', 'round must be uint32');
  if (SERVER_TYPES.has(m.type)) {
    if (m.sender !== SECAGG_SERVER_ID) fail('BAD_FIELD', `${m.type} must come from the server`);
  } else checkId(m.sender, 'sender');
  const job = utf8.encode(m.jobId);
  if (job.length < 1 || job.length > SECAGG_MAX_JOB_ID_BYTES)
    fail('BAD_FIELD', `job id must be 1..${SECAGG_MAX_JOB_ID_BYTES} UTF-8 bytes`);
}

function writeParams(w: Writer, p: SecAggParams) {
  for (const [name, x] of [
    ['n', p.n],
    ['k', p.k],
    ['t', p.t],
    ['d', p.d],
  ] as const) {
    if (!Number.isInteger(x) || x < 0 || x > 0xffff_ffff) fail('BAD_FIELD', `params.${name} must be uint32`);
    w.u32(x);
  }
  w.f64(p.clip);
  if (!Number.isInteger(p.bits) || p.bits < 0 || p.bits > 255) fail('BAD_FIELD', 'params.bits must be uint8');
  w.u8(p.bits);
  if (!Number.isInteger(p.maxWeight) || p.maxWeight < 0 || p.maxWeight > 0xffff_ffff)
    fail('BAD_FIELD', 'params.maxWeight must be uint32');
  w.u32(p.maxWeight);
}

function writeAdvertised(w: Writer, e: Omit<SecAggKeyEntry, 'id'>) {
  w.fixed(e.encryptionKey, SECAGG_KEY_BYTES, 'encryption key');
  w.fixed(e.maskKey, SECAGG_KEY_BYTES, 'mask key');
  w.fixed(e.sessionKey, SECAGG_KEY_BYTES, 'session key');
  w.fixed(e.certificate.wallet, SECAGG_ADDRESS_BYTES, 'certificate wallet');
  w.fixed(e.certificate.signature, SECAGG_WALLET_SIGNATURE_BYTES, 'certificate signature');
  w.fixed(e.signature, SECAGG_SIGNATURE_BYTES, 'key signature');
}

function writeIds(w: Writer, ids: Uint32Array, what: string) {
  checkIncreasing(ids, what);
  w.u32(ids.length);
  w.words(ids);
}

function writeEncryptedShares(w: Writer, shares: readonly SecAggEncryptedShare[]) {
  checkCount(shares.length, SECAGG_MAX_CLIENTS, 'shares');
  w.u32(shares.length);
  for (const s of shares) {
    checkId(s.peer, 'share peer');
    w.u32(s.peer);
    w.fixed(s.ciphertext, SECAGG_SHARE_CIPHERTEXT_BYTES, 'share ciphertext');
  }
}

function writeRevealed(w: Writer, shares: readonly SecAggRevealedShare[]) {
  checkCount(shares.length, SECAGG_MAX_CLIENTS, 'revealed shares');
  w.u32(shares.length);
  for (const s of shares) {
    checkId(s.owner, 'share owner');
    w.u32(s.owner);
    w.fixed(s.share, SECAGG_SHARE_BYTES, 'share');
  }
}

/** Encodes a message as one frame. Throws SecAggCodecError when a field is out of range or mis-sized. */
export function encodeSecAggMessage(m: SecAggMessage): Uint8Array {
  checkEnvelope(m);
  const job = utf8.encode(m.jobId);
  const bodyLength = bodyByteLength(m);
  const w = new Writer(headerBytes(job.length) + bodyLength);
  w.u8(MAGIC0);
  w.u8(MAGIC1);
  w.u8(SECAGG_FRAME_VERSION);
  w.u8(SECAGG_TYPE_CODES[m.type]);
  w.u32(m.round);
  w.u32(m.sender);
  w.u8(job.length);
  w.raw(job);
  w.u32(bodyLength);
  switch (m.type) {
    case 'secagg/setup':
      writeParams(w, m.params);
      w.fixed(m.roundSeed, SECAGG_KEY_BYTES, 'round seed');
      writeIds(w, m.clients, 'clients');
      break;
    case 'secagg/advertise-keys':
      writeAdvertised(w, m);
      break;
    case 'secagg/key-list':
      checkCount(m.entries.length, SECAGG_MAX_CLIENTS, 'key entries');
      w.u32(m.entries.length);
      for (const e of m.entries) {
        checkId(e.id, 'key entry id');
        w.u32(e.id);
        writeAdvertised(w, e);
      }
      break;
    case 'secagg/share-keys':
    case 'secagg/forward-shares':
      writeEncryptedShares(w, m.shares);
      break;
    case 'secagg/masked-input':
      if (!(m.vector instanceof Uint32Array)) fail('BAD_FIELD', 'vector must be a Uint32Array');
      checkCount(m.vector.length, SECAGG_MAX_VECTOR_LENGTH + 1, 'vector length');
      w.u32(m.vector.length);
      w.words(m.vector);
      break;
    case 'secagg/consistency-request':
      writeIds(w, m.survivors, 'survivors');
      break;
    case 'secagg/consistency-signature':
      w.fixed(m.signature, SECAGG_SIGNATURE_BYTES, 'signature');
      break;
    case 'secagg/unmask-request':
      writeIds(w, m.survivors, 'survivors');
      writeIds(w, m.dropped, 'dropped');
      checkCount(m.signatures.length, SECAGG_MAX_CLIENTS, 'signatures');
      w.u32(m.signatures.length);
      for (const s of m.signatures) {
        checkId(s.id, 'signature id');
        w.u32(s.id);
        w.fixed(s.signature, SECAGG_SIGNATURE_BYTES, 'signature');
      }
      break;
    case 'secagg/unmask-shares':
      writeRevealed(w, m.selfMaskShares);
      writeRevealed(w, m.maskKeyShares);
      break;
    case 'secagg/abort': {
      const code = utf8.encode(m.code);
      const reason = utf8.encode(m.reason);
      if (code.length > 255) fail('BAD_FIELD', 'abort code longer than 255 bytes');
      if (reason.length > 0xffff) fail('BAD_FIELD', 'abort reason longer than 65535 bytes');
      w.u8(code.length);
      w.raw(code);
      w.u16(reason.length);
      w.raw(reason);
      break;
    }
  }
  if (w.offset !== w.bytes.length) fail('BAD_LENGTH', `internal: wrote ${w.offset} of ${w.bytes.length} bytes`);
  return w.bytes;
}

// ------------------------------------------------------------------------------------------------- decoding

class Reader {
  private readonly view: DataView;
  offset: number;
  constructor(
    private readonly bytes: Uint8Array,
    offset: number,
    readonly end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }
  get remaining() {
    return this.end - this.offset;
  }
  need(n: number, what: string) {
    if (n > this.remaining) fail('TRUNCATED', `${what}: need ${n} bytes, ${this.remaining} left`);
  }
  u8(what: string) {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }
  u16(what: string) {
    this.need(2, what);
    const x = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return x;
  }
  u32(what: string) {
    this.need(4, what);
    const x = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return x;
  }
  f64(what: string) {
    this.need(8, what);
    const x = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return x;
  }
  /** A copy, so decoded messages never alias the frame buffer. */
  raw(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  words(count: number, what: string): Uint32Array {
    this.need(4 * count, what);
    const out = new Uint32Array(count);
    if (isLittleEndian) new Uint8Array(out.buffer).set(this.bytes.subarray(this.offset, this.offset + 4 * count));
    else for (let i = 0; i < count; i++) out[i] = this.view.getUint32(this.offset + 4 * i, true);
    this.offset += 4 * count;
    return out;
  }
  /** A count prefix whose items of `itemBytes` must fit in what is left (checked before allocating). */
  count(itemBytes: number, max: number, what: string): number {
    const n = this.u32(`${what} count`);
    checkCount(n, max, what);
    this.need(n * itemBytes, what);
    return n;
  }
}

function readIds(r: Reader, what: string): Uint32Array {
  const ids = r.words(r.count(4, SECAGG_MAX_CLIENTS, what), what);
  checkIncreasing(ids, what);
  return ids;
}

function readId(r: Reader, what: string): number {
  const id = r.u32(what);
  checkId(id, what);
  return id;
}

function readAdvertised(r: Reader): Omit<SecAggKeyEntry, 'id'> {
  return {
    encryptionKey: r.raw(SECAGG_KEY_BYTES, 'encryption key'),
    maskKey: r.raw(SECAGG_KEY_BYTES, 'mask key'),
    sessionKey: r.raw(SECAGG_KEY_BYTES, 'session key'),
    certificate: {
      wallet: r.raw(SECAGG_ADDRESS_BYTES, 'certificate wallet'),
      signature: r.raw(SECAGG_WALLET_SIGNATURE_BYTES, 'certificate signature'),
    },
    signature: r.raw(SECAGG_SIGNATURE_BYTES, 'key signature'),
  };
}

function readEncryptedShares(r: Reader): SecAggEncryptedShare[] {
  const n = r.count(ENCRYPTED_SHARE_BYTES, SECAGG_MAX_CLIENTS, 'shares');
  const out: SecAggEncryptedShare[] = [];
  for (let i = 0; i < n; i++)
    out.push({
      peer: readId(r, 'share peer'),
      ciphertext: r.raw(SECAGG_SHARE_CIPHERTEXT_BYTES, 'share ciphertext'),
    });
  return out;
}

function readRevealed(r: Reader, what: string): SecAggRevealedShare[] {
  const n = r.count(REVEALED_SHARE_BYTES, SECAGG_MAX_CLIENTS, what);
  const out: SecAggRevealedShare[] = [];
  for (let i = 0; i < n; i++) out.push({ owner: readId(r, 'share owner'), share: r.raw(SECAGG_SHARE_BYTES, 'share') });
  return out;
}

function readParams(r: Reader): SecAggParams {
  return {
    n: r.u32('params.n'),
    k: r.u32('params.k'),
    t: r.u32('params.t'),
    d: r.u32('params.d'),
    clip: r.f64('params.clip'),
    bits: r.u8('params.bits'),
    maxWeight: r.u32('params.maxWeight'),
  };
}

export interface SecAggDecodeOptions {
  /** Reject frames longer than this (default SECAGG_MAX_FRAME_BYTES). */
  readonly maxFrameBytes?: number;
}

/**
 * Decodes one frame. The frame must be exactly one message: a short frame throws TRUNCATED, bytes after the body
 * TRAILING_BYTES, a frame (or declared body) above the ceiling OVERSIZED.
 */
export function decodeSecAggMessage(frame: Uint8Array, options: SecAggDecodeOptions = {}): SecAggMessage {
  if (!(frame instanceof Uint8Array)) fail('BAD_FIELD', 'frame must be a Uint8Array');
  const max = options.maxFrameBytes ?? SECAGG_MAX_FRAME_BYTES;
  if (frame.length > max) fail('OVERSIZED', `frame of ${frame.length} bytes exceeds ${max}`);
  const h = new Reader(frame, 0, frame.length);
  if (h.u8('magic') !== MAGIC0 || h.u8('magic') !== MAGIC1) fail('BAD_MAGIC', 'not a SecAgg frame');
  const version = h.u8('version');
  if (version !== SECAGG_FRAME_VERSION) fail('BAD_VERSION', `unsupported frame version ${version}`);
  const code = h.u8('type');
  const type = TYPE_BY_CODE.get(code) ?? fail('UNKNOWN_TYPE', `unknown message type code ${code}`);
  const round = h.u32('round');
  const sender = h.u32('sender');
  const jobLength = h.u8('job id length');
  if (jobLength < 1 || jobLength > SECAGG_MAX_JOB_ID_BYTES) fail('BAD_FIELD', `job id length ${jobLength}`);
  let jobId: string;
  try {
    jobId = utf8Decoder.decode(h.raw(jobLength, 'job id'));
  } catch (err) {
    if (err instanceof SecAggCodecError) throw err;
    return fail('BAD_FIELD', 'job id is not UTF-8');
  }
  const bodyLength = h.u32('body length');
  if (bodyLength > h.remaining) fail('TRUNCATED', `body of ${bodyLength} bytes, ${h.remaining} present`);
  if (bodyLength < h.remaining) fail('TRAILING_BYTES', `${h.remaining - bodyLength} bytes after the body`);
  if (SERVER_TYPES.has(type)) {
    if (sender !== SECAGG_SERVER_ID) fail('BAD_FIELD', `${type} must come from the server`);
  } else checkId(sender, 'sender');
  const env = { jobId, round, sender };
  const r = new Reader(frame, h.offset, frame.length);
  const m = decodeBody(type, env, r);
  if (r.remaining !== 0) fail('BAD_LENGTH', `body declares ${bodyLength} bytes, message used ${r.offset - h.offset}`);
  return m;
}

function decodeBody(type: SecAggMessageType, env: SecAggEnvelope, r: Reader): SecAggMessage {
  switch (type) {
    case 'secagg/setup':
      return {
        type,
        ...env,
        params: readParams(r),
        roundSeed: r.raw(SECAGG_KEY_BYTES, 'round seed'),
        clients: readIds(r, 'clients'),
      };
    case 'secagg/advertise-keys':
      return { type, ...env, ...readAdvertised(r) };
    case 'secagg/key-list': {
      const n = r.count(KEY_ENTRY_BYTES, SECAGG_MAX_CLIENTS, 'key entries');
      const entries: SecAggKeyEntry[] = [];
      for (let i = 0; i < n; i++) entries.push({ id: readId(r, 'key entry id'), ...readAdvertised(r) });
      return { type, ...env, entries };
    }
    case 'secagg/share-keys':
    case 'secagg/forward-shares':
      return { type, ...env, shares: readEncryptedShares(r) };
    case 'secagg/masked-input': {
      const n = r.count(4, SECAGG_MAX_VECTOR_LENGTH + 1, 'vector');
      return { type, ...env, vector: r.words(n, 'vector') };
    }
    case 'secagg/consistency-request':
      return { type, ...env, survivors: readIds(r, 'survivors') };
    case 'secagg/consistency-signature':
      return { type, ...env, signature: r.raw(SECAGG_SIGNATURE_BYTES, 'signature') };
    case 'secagg/unmask-request': {
      const survivors = readIds(r, 'survivors');
      const dropped = readIds(r, 'dropped');
      const n = r.count(SURVIVOR_SIGNATURE_BYTES, SECAGG_MAX_CLIENTS, 'signatures');
      const signatures: SecAggSurvivorSignature[] = [];
      for (let i = 0; i < n; i++)
        signatures.push({ id: readId(r, 'signature id'), signature: r.raw(SECAGG_SIGNATURE_BYTES, 'signature') });
      return { type, ...env, survivors, dropped, signatures };
    }
    case 'secagg/unmask-shares':
      return {
        type,
        ...env,
        selfMaskShares: readRevealed(r, 'self-mask shares'),
        maskKeyShares: readRevealed(r, 'mask-key shares'),
      };
    case 'secagg/abort': {
      const text = (n: number, what: string) => {
        try {
          return utf8Decoder.decode(r.raw(n, what));
        } catch (err) {
          if (err instanceof SecAggCodecError) throw err;
          return fail('BAD_FIELD', `${what} is not UTF-8`);
        }
      };
      const code = text(r.u8('abort code length'), 'abort code');
      const reason = text(r.u16('abort reason length'), 'abort reason');
      return { type, ...env, code, reason };
    }
  }
}

export const isSecAggServerMessage = (m: SecAggMessage): m is SecAggServerMessage => SERVER_TYPES.has(m.type);
export const isSecAggClientMessage = (m: SecAggMessage): m is SecAggClientMessage => !SERVER_TYPES.has(m.type);
