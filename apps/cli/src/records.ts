// The CLI's own record of the datasets this owner sealed: <home>/datasets.json. Written atomically (temp + rename)
// and only after the step it records succeeded, so it never claims a registration the chain did not make.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTextAtomic } from './atomic-file.js';
import type { Context } from './context.js';
import { CliError, EXIT_INTERNAL } from './errors.js';

export interface DatasetRecord {
  manifestCid: string;
  name: string;
  ciphertextCid: string;
  commitment: string;
  rows: number;
  createdAt: string;
  /** Set once the chain confirmed the registration. */
  chain?: { chainId: string; datasetId: string; txHash: string };
}

interface RecordsFile {
  version: 1;
  datasets: DatasetRecord[];
}

function pathOf(ctx: Context): string {
  return join(ctx.paths.home, 'datasets.json');
}

export async function readRecords(ctx: Context): Promise<DatasetRecord[]> {
  let text: string;
  try {
    text = await readFile(pathOf(ctx), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const file = JSON.parse(text) as RecordsFile;
    if (file.version !== 1 || !Array.isArray(file.datasets)) throw new Error('unknown format');
    return file.datasets;
  } catch (cause) {
    throw new CliError('RECORDS_CORRUPT', `${pathOf(ctx)} is not a valid records file`, EXIT_INTERNAL, { cause });
  }
}

/** Inserts or replaces the record of `record.manifestCid`. */
export async function saveRecord(ctx: Context, record: DatasetRecord): Promise<void> {
  const datasets = (await readRecords(ctx)).filter((d) => d.manifestCid !== record.manifestCid);
  datasets.push(record);
  await mkdir(ctx.paths.home, { recursive: true, mode: 0o700 });
  await writeTextAtomic(
    pathOf(ctx),
    `${JSON.stringify({ version: 1, datasets } satisfies RecordsFile, null, 2)}\n`,
    0o600,
  );
}
