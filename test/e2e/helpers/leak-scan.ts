// Leak scanning for the privacy e2e test: canaries (distinctive plaintext values and secret keys) expanded into the
// encodings a leak could take, searched byte-wise in buffers and in every file under a directory.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DEFAULT_MISSING_TOKENS, csvRecords } from '@sealfold/dataset';

export interface Needle {
  /** Which canary, and in which encoding. */
  readonly name: string;
  readonly bytes: Buffer;
}

export interface Hit {
  readonly needle: string;
  readonly where: string;
  readonly offset: number;
}

/** A text canary: as UTF-8, upper and lower case, and as hex/base64 of its UTF-8 bytes. */
export function textNeedles(name: string, text: string): Needle[] {
  const utf8 = Buffer.from(text, 'utf8');
  const forms = new Map<string, Buffer>([
    [`${name} (text)`, utf8],
    [`${name} (lower case)`, Buffer.from(text.toLowerCase(), 'utf8')],
    [`${name} (upper case)`, Buffer.from(text.toUpperCase(), 'utf8')],
    [`${name} (hex of text)`, Buffer.from(utf8.toString('hex'), 'utf8')],
    [`${name} (base64 of text)`, Buffer.from(utf8.toString('base64'), 'utf8')],
  ]);
  return dedupe([...forms].map(([n, bytes]) => ({ name: n, bytes })));
}

/** A secret key: its raw bytes and their hex (both cases, with and without 0x), base64 and base64url. */
export function keyNeedles(name: string, key: Uint8Array): Needle[] {
  const raw = Buffer.from(key);
  const hex = raw.toString('hex');
  return dedupe([
    { name: `${name} (raw bytes)`, bytes: raw },
    { name: `${name} (hex)`, bytes: Buffer.from(hex, 'utf8') },
    { name: `${name} (HEX)`, bytes: Buffer.from(hex.toUpperCase(), 'utf8') },
    { name: `${name} (base64)`, bytes: Buffer.from(raw.toString('base64'), 'utf8') },
    { name: `${name} (base64url)`, bytes: Buffer.from(raw.toString('base64url'), 'utf8') },
  ]);
}

/** A numeric canary: its decimal text and the float32 / float64 bytes (both byte orders) it is stored as. */
export function numberNeedles(name: string, text: string): Needle[] {
  const value = Number(text);
  const f32le = Buffer.alloc(4);
  f32le.writeFloatLE(value);
  const f32be = Buffer.alloc(4);
  f32be.writeFloatBE(value);
  const f64le = Buffer.alloc(8);
  f64le.writeDoubleLE(value);
  const f64be = Buffer.alloc(8);
  f64be.writeDoubleBE(value);
  return [
    { name: `${name} (decimal text)`, bytes: Buffer.from(text, 'utf8') },
    { name: `${name} (float32 LE)`, bytes: f32le },
    { name: `${name} (float32 BE)`, bytes: f32be },
    { name: `${name} (float64 LE)`, bytes: f64le },
    { name: `${name} (float64 BE)`, bytes: f64be },
  ];
}

function dedupe(needles: Needle[]): Needle[] {
  const seen = new Set<string>();
  return needles.filter((n) => {
    const k = n.bytes.toString('hex');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function scanBuffer(haystack: Uint8Array, where: string, needles: readonly Needle[]): Hit[] {
  const buf = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack.buffer, haystack.byteOffset, haystack.length);
  const hits: Hit[] = [];
  for (const n of needles) {
    const offset = buf.indexOf(n.bytes);
    if (offset >= 0) hits.push({ needle: n.name, where, offset });
  }
  return hits;
}

/** Every regular file below `dir`, with its path relative to `dir`. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

export function scanDir(dir: string, needles: readonly Needle[]): { files: number; bytes: number; hits: Hit[] } {
  const hits: Hit[] = [];
  let bytes = 0;
  const files = filesUnder(dir);
  for (const f of files) {
    const content = readFileSync(join(dir, f));
    bytes += content.length;
    hits.push(...scanBuffer(content, join(dir, f), needles));
  }
  return { files: files.length, bytes, hits };
}

/** A writable that keeps everything written to it (a pino destination for captured logs). */
export class Capture extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    callback();
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get lines(): string[] {
    return this.bytes
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '');
  }
}

/** Pearson χ² of a byte histogram against the uniform distribution (255 degrees of freedom). */
export function byteChiSquare(bytes: Uint8Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) counts[b]++;
  const expected = bytes.length / 256;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

// ------------------------------------------------------------------------- the rare-value scan of manifests (§2)

/** Every non-missing value of a CSV file that occurs in 1..k−1 of its rows (in any column), as text. */
export async function rareValues(csv: string, k: number): Promise<Set<string>> {
  const counts = new Map<string, number>();
  let header = true;
  for await (const record of csvRecords([Buffer.from(csv)])) {
    if (header) {
      header = false;
      continue;
    }
    for (const v of new Set(record)) if (!DEFAULT_MISSING_TOKENS.includes(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return new Set([...counts].filter(([, n]) => n < k).map(([v]) => v));
}

/** Every string in a JSON value, keys included. */
function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      stringsOf(v, out);
    }
  return out;
}

/**
 * The scan: the rare values that are a string of the manifest, or long and distinctive enough to be searched as a
 * substring (6+ characters, not only hex digits and punctuation, which CIDs and digests are made of) and appear
 * anywhere in its bytes. Empty when the manifest publishes none.
 */
export function manifestLeaks(manifestBytes: Uint8Array, rare: Set<string>): string[] {
  const text = Buffer.from(manifestBytes).toString('utf8');
  const strings = new Set(stringsOf(JSON.parse(text)));
  return [...rare].filter(
    (v) => strings.has(v) || (v.length >= 6 && /[g-zG-Z ]/.test(v) && text.includes(JSON.stringify(v).slice(1, -1))),
  );
}
