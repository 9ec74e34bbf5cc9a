// The content store for a command: a Kubo daemon when SEALFOLD_IPFS_API is set, else the embedded Helia store in
// <data-dir>/ipfs (no networking). Closed when the command ends.
import { join } from 'node:path';
import type { Context } from './context.js';
import { CliError } from './errors.js';

export type ContentStore = import('@sealfold/storage').ContentStore;

export interface CliStore {
  store: ContentStore;
  /** `embedded` (Helia in the data dir) or `kubo` (SEALFOLD_IPFS_API). */
  mode: 'embedded' | 'kubo';
  location: string;
}

export function storeDir(ctx: Context): string {
  return join(ctx.paths.dataDir, 'ipfs');
}

export async function openStore(ctx: Context, env: NodeJS.ProcessEnv): Promise<CliStore> {
  const lib = await import('@sealfold/storage');
  const api = env.SEALFOLD_IPFS_API;
  let opened: CliStore;
  if (api !== undefined && api !== '') {
    opened = { store: await lib.KuboStore.connect(api), mode: 'kubo', location: api };
  } else {
    opened = { store: await lib.EmbeddedIpfsStore.open(storeDir(ctx)), mode: 'embedded', location: storeDir(ctx) };
  }
  ctx.onClose(() => opened.store.close());
  return opened;
}

/** Fails fast, naming the CID, when its root block is not in the store (instead of a deep stream error later). */
export async function assertHas(s: CliStore, cid: string): Promise<void> {
  if (!(await s.store.has(cid)))
    throw new CliError(
      'NOT_FOUND',
      `${cid} is not in the ${s.mode === 'kubo' ? `IPFS node at ${s.location}` : `local store ${s.location}`}`,
    );
}
