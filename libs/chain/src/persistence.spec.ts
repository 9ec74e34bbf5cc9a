import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CID } from 'multiformats/cid';
import { connectChain } from './client.js';
import { CONTRACTS_DIGEST, assertCurrentDeployment, startEmbeddedChain } from './embedded.js';
import { ChainError, RpcUnavailableError } from './errors.js';

const cidOf = (text: string) =>
  CID.decode(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...createHash('sha256').update(text).digest()])).toString();

describe('embedded chain restart persistence with the Sealfold contracts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-persist-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('register, buy, close, restart: datasets, licences, credits and deployment are all still there', async () => {
    let chain = await startEmbeddedChain({ dataDir: dir });
    const deployment = JSON.parse(readFileSync(join(dir, 'chain', 'deployment.json'), 'utf8'));
    expect(deployment.contracts).toEqual(chain.deployment?.contracts);
    let owner = await connectChain({ embedded: chain, signer: chain.accounts[1].privateKey });
    let buyer = await connectChain({ embedded: chain, signer: chain.accounts[2].privateKey });
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('persist'),
      commitment: '0x' + 'cd'.repeat(32),
      terms: { priceWei: 10n ** 15n, licenceDuration: 86_400n, maxJobs: 2 },
    });
    const bought = await buyer.purchaseLicence(datasetId);
    const head = await owner.getBlockNumber();
    buyer.close();
    await chain.close();
    // a client whose chain went away mid-session gets a typed error, not a retry loop
    await expect(owner.getBlockNumber()).rejects.toBeInstanceOf(RpcUnavailableError);
    await expect(owner.purchaseLicence(datasetId)).rejects.toBeInstanceOf(RpcUnavailableError);
    owner.close();

    // the closed chain is down: a clear typed error, quickly
    await expect(connectChain({ rpcUrl: chain.rpcUrl, chainId: 31337n })).rejects.toBeInstanceOf(RpcUnavailableError);

    chain = await startEmbeddedChain({ dataDir: dir });
    expect(chain.deployment?.contracts).toEqual(deployment.contracts);
    expect(chain.replayed.records).toBeGreaterThan(3);
    owner = await connectChain({ embedded: chain, signer: chain.accounts[1].privateKey });
    buyer = await connectChain({ embedded: chain, signer: chain.accounts[2].privateKey });
    try {
      expect(await owner.getBlockNumber()).toBe(head);
      const d = await buyer.getDataset(datasetId);
      expect(d.owner).toBe(owner.signerAddress);
      expect(d.manifestCid).toBe(cidOf('persist'));
      expect(await buyer.datasetCommitment(datasetId)).toBe('0x' + 'cd'.repeat(32));
      expect(await buyer.checkLicence(buyer.signerAddress!, datasetId)).toEqual({
        valid: true,
        licenceId: bought.licenceId,
        reason: 'valid',
      });
      // the sale's escrow survived the restart (the embedded chain charges no protocol fee)
      expect((await owner.getSale(bought.licenceId)).amount).toBe(10n ** 15n);
      // new transactions work after the restart (nonces continue)
      const second = await buyer.purchaseLicence(datasetId);
      expect(second.licenceId).not.toBe(bought.licenceId);
      expect((await buyer.getLicence(second.licenceId)).holder).toBe(buyer.signerAddress);
      await chain.request('evm_increaseTime', [86_400]);
      expect((await owner.releaseProceeds()).released).toBe(2n * 10n ** 15n);
      const w = await owner.withdraw();
      expect(w.amount).toBe(2n * 10n ** 15n);
    } finally {
      owner.close();
      buyer.close();
      await chain.close();
    }
  });

  it('an operator deployment file is checked against this version only when it records a digest', () => {
    expect(() => assertCurrentDeployment({ contractsDigest: CONTRACTS_DIGEST }, 'd.json')).not.toThrow();
    expect(() => assertCurrentDeployment({ contractsDigest: undefined }, 'd.json')).not.toThrow();
    expect(() => assertCurrentDeployment({ contractsDigest: 'ab'.repeat(32) }, 'd.json')).toThrow(
      expect.objectContaining({ code: 'STALE_DEPLOYMENT', message: expect.stringContaining('move d.json away') }),
    );
  });

  it('a data directory deployed with other contracts (an earlier Sealfold) is refused with what to do', async () => {
    const stale = mkdtempSync(join(tmpdir(), 'sealfold-stale-'));
    try {
      const chain = await startEmbeddedChain({ dataDir: stale });
      await chain.close();
      const path = join(stale, 'chain', 'deployment.json');
      const written = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      expect(written.contractsDigest).toBe(CONTRACTS_DIGEST);
      // Another version's contracts, and a deployment.json from before the digest existed: both refused.
      for (const digest of ['ab'.repeat(32), undefined]) {
        writeFileSync(path, JSON.stringify({ ...written, contractsDigest: digest }));
        const refused = startEmbeddedChain({ dataDir: stale });
        await expect(refused).rejects.toBeInstanceOf(ChainError);
        await expect(refused).rejects.toMatchObject({
          code: 'STALE_DEPLOYMENT',
          message: expect.stringContaining(`move ${join(stale, 'chain')} away`),
        });
      }
      // The same contracts start as before.
      writeFileSync(path, JSON.stringify(written));
      const again = await startEmbeddedChain({ dataDir: stale });
      expect(again.deployment?.contractsDigest).toBe(CONTRACTS_DIGEST);
      await again.close();
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
  });
});
