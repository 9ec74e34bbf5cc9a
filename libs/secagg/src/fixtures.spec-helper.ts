// Test fixtures: real wallets (ethers), real session keys, a real certificate per client.
import { Wallet } from 'ethers';
import { ed25519 } from '@sealfold/crypto';
import { CertificateCache, createSessionIdentity, type SessionIdentity } from './session.js';

export interface Directory {
  readonly identities: Map<number, SessionIdentity>;
  readonly wallets: Map<number, string>;
  readonly walletOf: (id: number) => string | undefined;
  /** One cache per client id, kept across rounds of the job (as a silo keeps it). */
  readonly certificatesOf: (id: number) => CertificateCache;
}

/** Wallets and certified session keys for `ids` in job `jobId`. */
export async function makeDirectory(jobId: string, ids: readonly number[]): Promise<Directory> {
  const identities = new Map<number, SessionIdentity>();
  const wallets = new Map<number, string>();
  for (const id of ids) {
    const wallet = Wallet.createRandom();
    wallets.set(id, wallet.address);
    identities.set(id, await createSessionIdentity(ed25519, wallet, jobId, id));
  }
  const caches = new Map<number, CertificateCache>();
  return {
    identities,
    wallets,
    walletOf: (id) => wallets.get(id),
    certificatesOf: (id) => {
      let c = caches.get(id);
      if (!c) caches.set(id, (c = new CertificateCache()));
      return c;
    },
  };
}
