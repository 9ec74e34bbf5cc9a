// @sealfold/storage: a content-addressed store for sealed datasets — embedded Helia or a Kubo daemon.
import { EmbeddedIpfsStore } from './embedded.js';
import { KuboStore } from './kubo.js';
import type { ContentStore } from './content-store.js';

export {
  KUBO_CHUNK_SIZE,
  KUBO_MAX_CHILDREN,
  parseCid,
  type AddOptions,
  type ByteSource,
  type ContentStat,
  type ContentStore,
} from './content-store.js';
export { StorageError, type StorageErrorCode } from './errors.js';
export { EmbeddedIpfsStore } from './embedded.js';
export { KuboStore } from './kubo.js';

/** Kubo when `ipfsApi` is given (e.g. from SEALFOLD_IPFS_API), else the embedded store in `dir`. */
export async function openContentStore(options: { ipfsApi?: string; dir: string }): Promise<ContentStore> {
  if (options.ipfsApi) return KuboStore.connect(options.ipfsApi);
  return EmbeddedIpfsStore.open(options.dir);
}
