import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, ftruncateSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const tuningUrl = new URL('./ingest-tuning.mjs', import.meta.url).href;
const { INGEST_NODE_FLAGS, LARGE_INPUT_BYTES, ingestNodeFlags, isLargeIngest } = (await import(tuningUrl)) as {
  INGEST_NODE_FLAGS: string[];
  LARGE_INPUT_BYTES: number;
  ingestNodeFlags: (execArgv: string[], env: NodeJS.ProcessEnv) => string[];
  isLargeIngest: (args: string[], cwd: string) => boolean;
};

// A stand-in for bin/sealfold.mjs: re-executes itself when the arguments are a large ingest, then says how it runs.
const FIXTURE = `
import { ensureIngestTuning, isLargeIngest } from ${JSON.stringify(tuningUrl)};
import { getHeapSpaceStatistics } from 'node:v8';
if (isLargeIngest(process.argv.slice(2))) ensureIngestTuning();
const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
process.stdout.write(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, argv: process.argv.slice(2), newSpace: newSpace.space_size }));
`;

let dir: string;
let fixture: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sealfold-ingest-tuning-'));
  fixture = join(dir, 'cli.mjs');
  writeFileSync(fixture, FIXTURE);
  // Sparse files: sizes without the disk space.
  for (const [name, size] of [
    ['big.csv', LARGE_INPUT_BYTES],
    ['small.csv', LARGE_INPUT_BYTES - 1],
  ] as const) {
    const fd = openSync(join(dir, name), 'w');
    ftruncateSync(fd, size);
    closeSync(fd);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clean = () => {
  const env = { ...process.env };
  delete env.SEALFOLD_NO_INGEST_TUNING;
  delete env.NODE_OPTIONS;
  return env;
};

describe('V8 flags for ingesting a large file (scripts/ingest-tuning.mjs)', () => {
  it('a large `dataset add` file (options anywhere) or any `dataset reseal` is a large ingest; the rest is not', () => {
    expect(isLargeIngest(['dataset', 'add', 'big.csv', '--label', 'y'], dir)).toBe(true);
    expect(isLargeIngest(['--home', 'h', 'dataset', 'add', '--label', 'y', join(dir, 'big.csv')], '/')).toBe(true);
    expect(isLargeIngest(['dataset', 'add', 'small.csv', '--label', 'y'], dir)).toBe(false);
    expect(isLargeIngest(['dataset', 'add', 'missing.csv'], dir)).toBe(false);
    expect(isLargeIngest(['dataset', 'add', '.'], dir)).toBe(false); // a directory
    expect(isLargeIngest(['dataset', 'inspect', 'big.csv'], dir)).toBe(false);
    expect(isLargeIngest(['dataset', 'reseal', '--all'], dir)).toBe(true);
    expect(isLargeIngest(['silo', 'start'], dir)).toBe(false);
  });

  it('a gzip file counts its uncompressed size (RFC 1952 ISIZE), not its compressed one', () => {
    // 64 MiB of one repeated row compresses to ~64 KiB: small on disk, a large ingest.
    const row = Buffer.from('1.5,2.5,setosa\n');
    const plain = Buffer.alloc(LARGE_INPUT_BYTES, row);
    writeFileSync(join(dir, 'big.csv.gz'), gzipSync(plain));
    writeFileSync(join(dir, 'small.csv.gz'), gzipSync(plain.subarray(0, LARGE_INPUT_BYTES - 1)));
    expect(statSync(join(dir, 'big.csv.gz')).size).toBeLessThan(LARGE_INPUT_BYTES / 100);
    expect(isLargeIngest(['dataset', 'add', 'big.csv.gz'], dir)).toBe(true);
    expect(isLargeIngest(['dataset', 'add', 'small.csv.gz'], dir)).toBe(false);
    // Not gzip: the size on disk, whatever the name says.
    writeFileSync(join(dir, 'fake.csv.gz'), plain.subarray(0, 1024));
    expect(isLargeIngest(['dataset', 'add', 'fake.csv.gz'], dir)).toBe(false);
  });

  it('adds no flag when the operator chose a semi-space size or turned the tuning off', () => {
    expect(ingestNodeFlags([], {})).toEqual(INGEST_NODE_FLAGS);
    expect(ingestNodeFlags(['--max-semi-space-size=8'], {})).toEqual([]);
    expect(ingestNodeFlags([], { NODE_OPTIONS: '--max-old-space-size=512 --max-semi-space-size=8' })).toEqual([]);
    expect(ingestNodeFlags([], { SEALFOLD_NO_INGEST_TUNING: '1' })).toEqual([]);
  });

  const run = (args: string[], env = clean()) => {
    const r = spawnSync(process.execPath, [fixture, ...args], { cwd: dir, env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const said = JSON.parse(r.stdout) as { pid: number; execArgv: string[]; argv: string[]; newSpace: number };
    return { ...said, spawnedPid: r.pid };
  };

  it('re-executes a large ingest in place (same process) with the flags and the same arguments', () => {
    const plain = run(['dataset', 'add', 'small.csv']);
    expect(plain.execArgv).toEqual([]);
    const tuned = run(['dataset', 'add', 'big.csv', '--label', 'y']);
    expect(tuned.execArgv).toEqual(INGEST_NODE_FLAGS);
    expect(tuned.argv).toEqual(['dataset', 'add', 'big.csv', '--label', 'y']);
    expect(tuned.pid).toBe(tuned.spawnedPid); // execve: no launcher process stays beside it
    // The flag took effect: the young generation is capped (V8's default lets each semi-space grow to 16 MiB).
    expect(tuned.newSpace).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(run(['dataset', 'add', 'big.csv'], { ...clean(), SEALFOLD_NO_INGEST_TUNING: '1' }).execArgv).toEqual([]);
  }, 20_000);
});
