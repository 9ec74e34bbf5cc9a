// The age v1 header (C2SP age §"Header"): version line, recipient stanzas, MAC line.
//
//   header = v1-line 1*stanza end
//   stanza = arg-line *full-line final-line      (body wrapped at 64 columns, last line < 64, may be empty)
//   end    = "--- " 43base64char LF              (HMAC-SHA-256 over the header up to and including "---")
import { AgeError } from '../errors.js';
import { decodeBase64NoPad, encodeBase64NoPad } from './base64.js';
import type { Stanza } from './keys.js';
import { constantTimeEqual, hkdf32, hmacSha256 } from './primitives.js';

export const VERSION_LINE = 'age-encryption.org/v1';
const VERSION_PREFIX = 'age-encryption.org/';
const COLUMNS = 64;
/** Upper bound on the header we are willing to buffer (a few thousand recipients). */
export const MAX_HEADER_BYTES = 1 << 20;
const ARGUMENT = /^[\x21-\x7e]+$/; // 1*VCHAR

/** HMAC key = HKDF-SHA-256(ikm = file key, salt = empty, info = "header"). */
export function headerMac(fileKey: Uint8Array, headerUpToDashes: Uint8Array): Buffer {
  return hmacSha256(hkdf32(fileKey, new Uint8Array(0), 'header'), headerUpToDashes);
}

function encodeStanza(stanza: Stanza): string {
  if (stanza.args.length === 0 || !stanza.args.every((a) => ARGUMENT.test(a)))
    throw new AgeError('HEADER_INVALID', 'stanza arguments must be non-empty VCHAR strings');
  const b64 = encodeBase64NoPad(stanza.body);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += COLUMNS) lines.push(b64.slice(i, i + COLUMNS));
  if (b64.length % COLUMNS === 0) lines.push(''); // the body MUST end with a line shorter than 64 columns
  return `-> ${stanza.args.join(' ')}\n${lines.join('\n')}\n`;
}

/** Serialises the header with its MAC. */
export function encodeHeader(stanzas: readonly Stanza[], fileKey: Uint8Array): Buffer {
  const upToDashes = Buffer.from(`${VERSION_LINE}\n${stanzas.map(encodeStanza).join('')}---`, 'latin1');
  const mac = encodeBase64NoPad(headerMac(fileKey, upToDashes));
  return Buffer.concat([upToDashes, Buffer.from(` ${mac}\n`, 'latin1')]);
}

export interface ParsedHeader {
  readonly stanzas: Stanza[];
  /** The header bytes up to and including "---", as authenticated by the MAC. */
  readonly upToDashes: Uint8Array;
  readonly mac: Uint8Array;
}

const invalid = (what: string) => new AgeError('HEADER_INVALID', `invalid age header: ${what}`);

/**
 * Finds the end of the header in `buf` (the index just past the MAC line's LF), or -1 if more bytes are needed.
 * The MAC line is the first line starting with "---": stanza lines start with "->" and body lines are base64.
 */
export function findHeaderEnd(buf: Uint8Array): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const dashes = b.indexOf('\n---');
  if (dashes < 0) return -1;
  const lf = b.indexOf(0x0a, dashes + 4);
  return lf < 0 ? -1 : lf + 1;
}

/** Parses a complete header (as delimited by findHeaderEnd) strictly; the MAC is checked later with the file key. */
export function parseHeader(bytes: Uint8Array): ParsedHeader {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (!text.endsWith('\n')) throw invalid('missing final newline');
  const lines = text.slice(0, -1).split('\n');
  const version = lines[0];
  if (version !== VERSION_LINE) {
    if (version.startsWith(VERSION_PREFIX)) throw new AgeError('UNSUPPORTED_VERSION', 'unsupported age version');
    throw invalid('not an age file');
  }
  const stanzas: Stanza[] = [];
  let i = 1;
  while (i < lines.length && lines[i].startsWith('->')) {
    if (!lines[i].startsWith('-> ')) throw invalid('malformed stanza line');
    const args = lines[i].slice(3).split(' ');
    if (!args.every((a) => ARGUMENT.test(a))) throw invalid('malformed stanza arguments');
    i++;
    let b64 = '';
    for (;;) {
      if (i >= lines.length) throw invalid('unterminated stanza body');
      const line = lines[i++];
      if (line.length > COLUMNS) throw invalid('stanza body line longer than 64 columns');
      b64 += line;
      if (line.length < COLUMNS) break;
    }
    const body = decodeBase64NoPad(b64);
    if (!body) throw invalid('stanza body is not canonical base64');
    stanzas.push({ args, body });
  }
  if (stanzas.length === 0) throw invalid('no recipient stanzas');
  if (i !== lines.length - 1) throw invalid('unexpected line');
  const end = lines[i];
  if (!end.startsWith('--- ')) throw invalid('malformed MAC line');
  const mac = decodeBase64NoPad(end.slice(4));
  if (!mac || mac.length !== 32) throw invalid('MAC is not canonical base64 of 32 bytes');
  const upToDashes = bytes.subarray(0, bytes.length - end.length - 1 + 3);
  return { stanzas, upToDashes, mac };
}

/** Verifies the header MAC with the recovered file key. */
export function verifyHeaderMac(header: ParsedHeader, fileKey: Uint8Array): void {
  if (!constantTimeEqual(headerMac(fileKey, header.upToDashes), header.mac))
    throw new AgeError('HEADER_MAC_MISMATCH', 'age header MAC does not verify: the header was modified');
}
