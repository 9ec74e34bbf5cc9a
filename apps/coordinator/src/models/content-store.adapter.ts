// The content store port on @sealfold/storage: Kubo when SEALFOLD_IPFS_API is set, else embedded Helia in
// `<data dir>/ipfs`. What the coordinator adds (encrypted models) is pinned.
import { join } from 'node:path';
import { openContentStore as openStore, type ContentStore } from '@sealfold/storage';
import { type CoordinatorConfig } from '../config/config.js';
import type { CoordinatorContentStore } from './content-store.port.js';

/** Largest object the coordinator reads back (manifests are small JSON documents). */
const MAX_READ_BYTES = 16 * 1024 * 1024;

export function contentStorePortFrom(store: ContentStore): CoordinatorContentStore {
  return {
    async add(bytes) {
      const cid = await store.add(bytes);
      await store.pin(cid);
      return cid;
    },
    async get(cid) {
      const chunks: Uint8Array[] = [];
      let total = 0;
      for await (const chunk of store.cat(cid)) {
        total += chunk.length;
        if (total > MAX_READ_BYTES) throw new Error(`${cid} is larger than ${MAX_READ_BYTES} bytes`);
        chunks.push(chunk);
      }
      return new Uint8Array(Buffer.concat(chunks));
    },
    close: () => store.close(),
  };
}

export async function openContentStore(config: CoordinatorConfig): Promise<CoordinatorContentStore> {
  return contentStorePortFrom(
    await openStore({ ipfsApi: config.ipfsApi === '' ? undefined : config.ipfsApi, dir: join(config.dataDir, 'ipfs') }),
  );
}
