// Where the coordinator puts the encrypted model: a content-addressed store (libs/storage: embedded Helia or Kubo).
export const CONTENT_STORE = Symbol('CONTENT_STORE');

export interface CoordinatorContentStore {
  /** Adds bytes; returns the canonical CID string (CIDv1, as `ipfs add --cid-version 1`). */
  add(bytes: Uint8Array): Promise<string>;
  /** Reads the bytes of a CID (manifests). */
  get(cid: string): Promise<Uint8Array>;
  close(): Promise<void>;
}
