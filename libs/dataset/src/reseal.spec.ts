// resealDataset against a recording content store (a test double of the ContentStore port, content-addressed by
// SHA-256 like the real one): fresh file key, same plaintext, and on refusal nothing it added stays pinned.
import { createHash } from 'node:crypto';
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';
import { expect, it } from '@jest/globals';
import { HybridIdentity, X25519Identity, decrypt } from '@sealfold/crypto';
import { parseManifest } from './manifest.js';
import { resealDataset, type ResealingStore } from './reseal.js';
import { sealDataset } from './seal.js';
import { describeScans } from '../test/scan-modes.js';

function recordingStore() {
  const blobs = new Map<string, Uint8Array>();
  const store: ResealingStore & { pinned(): string[] } = {
    async add(source) {
      const parts: Uint8Array[] = [];
      if (source instanceof Uint8Array) parts.push(source);
      else for await (const chunk of source) parts.push(chunk);
      const bytes = Buffer.concat(parts);
      // A raw CIDv1 of the SHA-256 (0x55 raw codec, 0x12 sha2-256 multihash), as the real store would give.
      const cid = CID.createV1(0x55, createDigest(0x12, createHash('sha256').update(bytes).digest())).toString();
      blobs.set(cid, bytes);
      return cid;
    },
    async unpin(cid) {
      blobs.delete(cid);
    },
    async *cat(cid) {
      const bytes = blobs.get(cid);
      if (!bytes) throw new Error(`no ${cid}`);
      yield bytes;
    },
    pinned: () => [...blobs.keys()].sort(),
  };
  return { store, blobs };
}

const CSV = 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n';
const TERMS = { priceWei: '1000', licenceDurationSeconds: 86_400, epsilonBudget: 8, maxJobs: 1 };

async function sealed(identity: X25519Identity | HybridIdentity) {
  const { store, blobs } = recordingStore();
  const s = await sealDataset({
    source: [Buffer.from(CSV)],
    label: 'label',
    recipients: [identity.recipient],
    store,
    name: 'n',
    description: 'd',
    owner: '0x0000000000000000000000000000000000000001',
    terms: TERMS,
    // Three rows: every class is rare at the default k; this owner accepts publishing them.
    k: 1,
  });
  return { store, blobs, ...s };
}

describeScans('resealDataset', () => {
  it('stores the same plaintext under a fresh file key, to the new recipients, with the same commitment', async () => {
    const classic = X25519Identity.generate();
    const hybrid = HybridIdentity.generate();
    const { store, blobs, manifest } = await sealed(classic);
    const r = await resealDataset({ manifest, identities: [classic], recipients: [hybrid.recipient], store });
    expect(r.manifest.sealed.cid).not.toBe(manifest.sealed.cid);
    expect(r.manifest.sealed.recipientType).toBe('mlkem768x25519');
    expect({ ...r.manifest, sealed: undefined }).toEqual({ ...manifest, sealed: undefined });
    expect(parseManifest(blobs.get(r.manifestCid)!)).toEqual(r.manifest);
    expect(Buffer.from(decrypt(blobs.get(r.manifest.sealed.cid)!, [hybrid])).toString()).toBe(CSV);
    expect(() => decrypt(blobs.get(r.manifest.sealed.cid)!, [classic])).toThrow();
    // The old copy is the caller's to unpin, after the chain moved.
    expect(blobs.has(manifest.sealed.cid)).toBe(true);
  });

  it('refuses data that is not what the manifest commits to, and leaves nothing new pinned', async () => {
    const identity = X25519Identity.generate();
    const { store, manifest } = await sealed(identity);
    const before = store.pinned();
    const forged = { ...manifest, commitment: '0'.repeat(64) };
    await expect(
      resealDataset({ manifest: forged, identities: [identity], recipients: [identity.recipient], store }),
    ).rejects.toMatchObject({ code: 'COMMITMENT_MISMATCH' });
    expect(store.pinned()).toEqual(before);
  });

  it('refuses without the identity that opens the old ciphertext, and leaves nothing new pinned', async () => {
    const { store, manifest } = await sealed(X25519Identity.generate());
    const before = store.pinned();
    const stranger = X25519Identity.generate();
    await expect(
      resealDataset({ manifest, identities: [stranger], recipients: [stranger.recipient], store }),
    ).rejects.toThrow();
    expect(store.pinned()).toEqual(before);
  });
});
