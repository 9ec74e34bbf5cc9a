import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeTextAtomic } from './atomic-file.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-atomic-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes every chunk, with the mode asked, and returns the byte count', async () => {
    const out = join(dir, 'out.bin');
    const n = await writeFileAtomic(out, [Buffer.from('ab'), Buffer.from('cde')], 0o600);
    expect(n).toBe(5);
    expect(await readFile(out, 'utf8')).toBe('abcde');
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  it('a failed check keeps the old file as it was and leaves no temporary file', async () => {
    const out = join(dir, 'records.json');
    await writeFile(out, 'old');
    await expect(
      writeFileAtomic(out, [Buffer.from('new content')], 0o600, (bytes) => {
        throw new Error(`refused ${bytes}`);
      }),
    ).rejects.toThrow('refused 11');
    expect(await readFile(out, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['records.json']);
  });

  it('a source that fails midway keeps the old file and leaves no temporary file', async () => {
    const out = join(dir, 'export.car');
    await writeFile(out, 'old');
    async function* failing() {
      yield Buffer.from('partial');
      throw new Error('source broke');
    }
    await expect(writeFileAtomic(out, failing(), 0o644)).rejects.toThrow('source broke');
    expect(await readFile(out, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['export.car']);
  });

  it('writeTextAtomic replaces a file whole', async () => {
    const out = join(dir, 'sessions.json');
    await writeFile(out, 'x'.repeat(100));
    await writeTextAtomic(out, '{}', 0o600);
    expect(await readFile(out, 'utf8')).toBe('{}');
  });
});
