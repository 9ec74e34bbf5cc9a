// Every file the CLI writes for the user (dataset records, session cache, receipts, schemas, exports) is written
// whole or not at all: a temporary sibling, fsync, rename, fsync of the directory (so the rename itself survives a
// crash); the temporary file is removed on any failure.
import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a stream of bytes to `out` atomically and returns the byte count. `check` runs after the last byte, before
 * the rename (a size or digest check that must refuse the file). The temporary file is created exclusively (`wx`)
 * with `mode`, so no one else can read it before it is complete.
 */
export async function writeFileAtomic(
  out: string,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  mode: number,
  check: (bytes: number) => void = () => undefined,
): Promise<number> {
  const tmp = join(dirname(out), `.${basename(out)}.${randomUUID()}.tmp`);
  let bytes = 0;
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      for await (const chunk of source) {
        await handle.write(chunk);
        bytes += chunk.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    check(bytes);
    await rename(tmp, out);
  } finally {
    await rm(tmp, { force: true });
  }
  const dir = await open(dirname(out), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return bytes;
}

/** `writeFileAtomic` of one UTF-8 text. */
export const writeTextAtomic = (out: string, text: string, mode: number): Promise<number> =>
  writeFileAtomic(out, [Buffer.from(text, 'utf8')], mode);
