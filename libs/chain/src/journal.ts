// Append-only, crash-safe journal of the embedded chain's state-changing requests.
//
// Record layout: u32 LE payload length | u32 LE CRC-32 (ISO-HDLC, zlib.crc32) of the payload | payload (UTF-8 JSON).
// Each append is written with one write and fsync'ed before the request is answered. A record that runs past the end
// of the file or whose CRC fails *at the tail* is a torn write from a crash: it is dropped and the file truncated to
// the last good record. Damage followed by further records is corruption and is refused.
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { JournalCorruptError } from './errors.js';

const HEADER_BYTES = 8;
/** Upper bound of one record; a length beyond it is damage, not a record. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface JournalReadResult<T> {
  records: T[];
  /** Bytes of a torn final record that were dropped (0 when the file was clean). */
  droppedBytes: number;
}

export function encodeRecord(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

/**
 * Reads every intact record; truncates a torn tail in place (when `repair`) and reports it. `validate` checks each
 * record's shape (a CRC-valid record of the wrong shape is as corrupt as a bad CRC); it returns false to refuse.
 */
export function readJournal<T = unknown>(
  path: string,
  validate: (value: unknown) => value is T = (_value): _value is T => true,
  repair = true,
): JournalReadResult<T> {
  if (!existsSync(path)) return { records: [], droppedBytes: 0 };
  const bytes = readFileSync(path);
  const records: T[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const bad = (why: string): JournalReadResult<T> => {
      // Torn tail: the damaged record is the last thing in the file.
      if (!isTail(bytes, offset)) throw new JournalCorruptError(path, offset, why);
      if (repair) truncate(path, offset);
      return { records, droppedBytes: bytes.length - offset };
    };
    if (bytes.length - offset < HEADER_BYTES) return bad('short header');
    const length = bytes.readUInt32LE(offset);
    const crc = bytes.readUInt32LE(offset + 4);
    if (length > MAX_RECORD_BYTES) return bad(`record length ${length} out of range`);
    const end = offset + HEADER_BYTES + length;
    if (end > bytes.length) return bad('record runs past end of file');
    const payload = bytes.subarray(offset + HEADER_BYTES, end);
    if (crc32(payload) !== crc) return bad('CRC mismatch');
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      throw new JournalCorruptError(path, offset, 'CRC-valid record is not JSON');
    }
    if (!validate(value)) throw new JournalCorruptError(path, offset, 'CRC-valid record of an unknown shape');
    records.push(value);
    offset = end;
  }
  return { records, droppedBytes: 0 };
}

/** A damaged record counts as the tail when its declared extent (or the header itself) reaches end of file. */
function isTail(bytes: Buffer, offset: number): boolean {
  if (bytes.length - offset < HEADER_BYTES) return true;
  const length = bytes.readUInt32LE(offset);
  return offset + HEADER_BYTES + length >= bytes.length;
}

function truncate(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Appends records durably: one write(2) plus fsync(2) per record. */
export class JournalWriter {
  #fd: number | undefined;
  constructor(readonly path: string) {
    this.#fd = openSync(path, 'a');
  }
  append(value: unknown): void {
    if (this.#fd === undefined) throw new Error('journal closed');
    const buf = encodeRecord(value);
    let written = 0;
    while (written < buf.length) written += writeSync(this.#fd, buf, written, buf.length - written);
    fsyncSync(this.#fd);
  }
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
