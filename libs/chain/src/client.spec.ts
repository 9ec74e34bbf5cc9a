import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { AbiCoder } from 'ethers';
import { createHash } from 'node:crypto';
import { CID } from 'multiformats/cid';
import { connectChain, termsHash, type SealfoldChain } from './client.js';
import { startEmbeddedChain } from './embedded.js';
import type { EmbeddedChain } from './embedded-chain.js';
import {
  ContractRevertError,
  InsufficientFundsError,
  InvalidArgumentError,
  RpcUnavailableError,
  WrongChainError,
} from './errors.js';

const ETH = 10n ** 18n;
type RpcLog = { data: string; topics: string[] };
type RpcReply = { result?: unknown };
const cidOf = (text: string) => {
  const digest = createHash('sha256').update(text).digest();
  // CIDv1, raw codec (0x55), sha2-256 multihash (0x12, 32 bytes)
  return CID.decode(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...digest])).toString();
};
const commitmentOf = (text: string) => '0x' + createHash('sha256').update(`plain:${text}`).digest('hex');

async function revertName(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ContractRevertError) return err.errorName;
    throw err;
  }
  throw new Error('expected a revert');
}

describe('Sealfold chain client against the embedded chain', () => {
  let dir: string;
  let chain: EmbeddedChain;
  let owner: SealfoldChain;
  let buyer: SealfoldChain;
  let stranger: SealfoldChain;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-client-'));
    chain = await startEmbeddedChain({ dataDir: dir });
    owner = await connectChain({ embedded: chain, signer: chain.accounts[1].privateKey });
    buyer = await connectChain({ embedded: chain, signer: chain.accounts[2].privateKey });
    stranger = await connectChain({ embedded: chain, signer: chain.accounts[3].privateKey });
  });
  afterAll(async () => {
    for (const c of [owner, buyer, stranger]) c?.close();
    await chain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deployed the contracts on first start and saved their addresses', () => {
    expect(chain.deployment?.contracts.DatasetNFT).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(owner.addresses?.datasetLicence).toBe(chain.deployment?.contracts.DatasetLicence);
    expect(owner.jobDomain()).toEqual({
      name: 'Sealfold',
      version: '4', // JobRequest v4 (escrow terms signed)
      chainId: 31337n,
      verifyingContract: chain.deployment?.contracts.DatasetLicence,
    });
  });

  it('sends concurrent writes of one wallet one after another (each takes the next nonce, none is refused)', async () => {
    // Before: both sends read the same pending nonce and the second failed with NONCE_EXPIRED ("nonce has already
    // been used"), as when two jobs of one coordinator recorded their models at the same moment.
    const wallet = await connectChain({ embedded: chain, signer: chain.accounts[6].privateKey });
    try {
      const regs = await Promise.all(
        ['concurrent-1', 'concurrent-2', 'concurrent-3'].map((m) =>
          wallet.registerDataset({
            manifestCid: cidOf(m),
            commitment: commitmentOf(m),
            terms: { priceWei: ETH / 10n, licenceDuration: 3600n },
          }),
        ),
      );
      expect(new Set(regs.map((r) => r.datasetId)).size).toBe(3);
      for (const r of regs) expect(await wallet.ownerOf(r.datasetId)).toBe(wallet.signerAddress);
    } finally {
      wallet.close();
    }
  });

  it('registers a dataset, reads it back, lists it, and updates its terms', async () => {
    const manifest = cidOf('manifest-1');
    const reg = await owner.registerDataset({
      manifestCid: manifest,
      commitment: commitmentOf('d1'),
      terms: { priceWei: ETH / 10n, licenceDuration: 3600n, maxJobs: 3, epsilonBudgetMilli: 2000 },
    });
    expect(reg.gasUsed).toBeGreaterThan(0n);
    expect(reg.hash).toMatch(/^0x[0-9a-f]{64}$/);
    const d = await owner.getDataset(reg.datasetId);
    expect(d.owner).toBe(owner.signerAddress);
    expect(d.manifestCid).toBe(manifest);
    expect(d.tokenURI).toBe(`ipfs://${manifest}`);
    expect(await stranger.getManifestCid(reg.datasetId)).toBe(manifest);
    expect(await owner.datasetCommitment(reg.datasetId)).toBe(commitmentOf('d1'));
    expect(d.terms).toMatchObject({
      priceWei: ETH / 10n,
      licenceDuration: 3600n,
      maxJobs: 3,
      minOwners: 3, // the default owner policy
      listed: true,
    });
    expect(termsHash(d.terms)).toBe(await stranger.getTermsHash(reg.datasetId));
    await owner.setTerms(reg.datasetId, { priceWei: ETH / 5n, licenceDuration: 3600n, minOwners: 7 });
    expect(await owner.getTerms(reg.datasetId)).toMatchObject({ priceWei: ETH / 5n, minOwners: 7 });
    // The manifest CID is the current one: an owner's setManifest (`dataset reseal`) replaces it.
    await owner.setManifest(reg.datasetId, cidOf('manifest-1b'));
    expect(await stranger.getManifestCid(reg.datasetId)).toBe(cidOf('manifest-1b'));
    expect(await revertName(owner.setTerms(reg.datasetId, { priceWei: 1n, minOwners: 0 }))).toBe('ZeroMinOwners');
    const all = await stranger.listDatasets();
    expect(all.map((x) => x.datasetId)).toContain(reg.datasetId);
    expect((await stranger.listDatasets({ owner: owner.signerAddress! })).map((x) => x.datasetId)).toContain(
      reg.datasetId,
    );
    expect(await stranger.listDatasets({ owner: stranger.signerAddress! })).toEqual([]);
  });

  it('ownerOf is one view: the owner, or undefined for a dataset that does not exist (matched by error name)', async () => {
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('manifest-owner'),
      commitment: commitmentOf('owner'),
      terms: { priceWei: 1n },
    });
    expect(await stranger.ownerOf(datasetId)).toBe(owner.signerAddress);
    expect(await stranger.ownerOf(10n ** 20n)).toBeUndefined();
    // No log scan: the owner lookup issues no eth_getLogs (public endpoints cap log ranges).
    const methods: string[] = [];
    type Payload = { method: string };
    const listener = (e: { action: string; payload?: Payload | Payload[] }) => {
      if (e.action === 'sendRpcPayload' && e.payload)
        for (const p of Array.isArray(e.payload) ? e.payload : [e.payload]) methods.push(p.method);
    };
    await stranger.provider.on('debug', listener);
    try {
      await stranger.ownerOf(datasetId);
      await stranger.getDataset(datasetId);
      await stranger.listDatasets({ owner: owner.signerAddress! });
    } finally {
      await stranger.provider.off('debug', listener);
    }
    expect(methods).toContain('eth_call');
    expect(methods).not.toContain('eth_getLogs');
  });

  it('purchase: exact price works and escrows the proceeds; insufficient and excess payments are refused', async () => {
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('manifest-2'),
      commitment: commitmentOf('d2'),
      terms: { priceWei: ETH, licenceDuration: 0n },
    });
    expect(await revertName(buyer.purchaseLicence(datasetId, { value: ETH - 1n }))).toBe('IncorrectPayment');
    await expect(buyer.purchaseLicence(datasetId, { value: ETH + 1n })).rejects.toThrow(/excess payment/);
    await expect(buyer.purchaseLicence(datasetId, { value: 1n })).rejects.toThrow(/insufficient payment/);
    const owedBefore = await owner.owedEth(owner.signerAddress!);
    const p = await buyer.purchaseLicence(datasetId);
    expect(p.price).toBe(ETH);
    expect(p.expiresAt).toBe(0n);
    expect(p.termsHash).toBe(termsHash(p.terms));
    // Proceeds vest over the licence's time (a year for a perpetual one) and are released to the owner.
    expect(await owner.owedEth(owner.signerAddress!)).toBe(owedBefore);
    expect((await buyer.getSale(p.licenceId)).amount).toBe(ETH); // the embedded chain charges no protocol fee
    await chain.request('evm_increaseTime', [365 * 86400]);
    await chain.request('evm_mine', []);
    expect(await owner.releasableEth(owner.signerAddress!)).toBe(ETH);
    expect((await owner.releaseProceeds()).released).toBe(ETH);
    expect(await owner.owedEth(owner.signerAddress!)).toBe(owedBefore + ETH);
    const check = await buyer.checkLicence(buyer.signerAddress!, datasetId);
    expect(check).toEqual({ valid: true, licenceId: p.licenceId, reason: 'valid' });
    expect((await buyer.licencesOf(buyer.signerAddress!)).map((l) => l.licenceId)).toContain(p.licenceId);
    // withdraw moves the credit to the owner's balance
    const balBefore = await owner.getBalance(owner.signerAddress!);
    const w = await owner.withdraw();
    expect(w.amount).toBeGreaterThanOrEqual(ETH);
    expect(await owner.getBalance(owner.signerAddress!)).toBe(balBefore + w.amount - w.gasUsed * w.effectiveGasPrice);
    expect(await revertName(owner.withdraw())).toBe('NothingToWithdraw');
  });

  it('pins the terms the buyer read: changed terms are refused with a clear error and nothing is paid', async () => {
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('manifest-pin'),
      commitment: commitmentOf('dpin'),
      terms: { priceWei: ETH / 100n, licenceDuration: 30n * 86400n, maxJobs: 5, epsilonBudgetMilli: 3000 },
    });
    const seen = await buyer.getTerms(datasetId);
    await owner.setTerms(datasetId, { priceWei: ETH, licenceDuration: 1n, maxJobs: 1, epsilonBudgetMilli: 1 });
    const before = await buyer.getBalance(buyer.signerAddress!);
    const err = await buyer.purchaseLicence(datasetId, { terms: seen }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractRevertError);
    expect((err as ContractRevertError).errorName).toBe('TermsChanged');
    expect((err as Error).message).toMatch(new RegExp(`terms of dataset ${datasetId} changed since they were read`));
    expect(await buyer.getBalance(buyer.signerAddress!)).toBe(before); // refused at estimation: not even gas
    // the owner's minimum of independent owners is part of the pin too
    const now = await buyer.getTerms(datasetId);
    await owner.setTerms(datasetId, { ...now, minOwners: 1 });
    expect(await revertName(buyer.purchaseLicence(datasetId, { terms: now }))).toBe('TermsChanged');
  });

  it('the DP level is a term: record by default, set by the owner, in the pinned hash, and validated', async () => {
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('manifest-dp-level'),
      commitment: commitmentOf('ddplevel'),
      terms: { priceWei: ETH / 100n, epsilonBudgetMilli: 8000 },
    });
    const record = await buyer.getTerms(datasetId);
    expect(record.dpLevel).toBe('record');
    await owner.setTerms(datasetId, { ...record, dpLevel: 'owner' });
    const ownerLevel = await buyer.getTerms(datasetId);
    expect(ownerLevel).toEqual({ ...record, dpLevel: 'owner' });
    // The hash the client computes is the contract's, and the level changes it: a buyer who read "record" cannot
    // be sold "owner".
    expect(termsHash(ownerLevel)).not.toBe(termsHash(record));
    expect(await revertName(buyer.purchaseLicence(datasetId, { terms: record }))).toBe('TermsChanged');
    const p = await buyer.purchaseLicence(datasetId, { terms: ownerLevel });
    expect(p.licenceId).toBeGreaterThan(0n);
    await expect(owner.setTerms(datasetId, { ...ownerLevel, dpLevel: 'row' as unknown as 'record' })).rejects.toThrow(
      /dpLevel must be 'record' or 'owner'/,
    );
  });

  it('revoke refunds the unused part of the paid time to the holder, who withdraws it', async () => {
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('manifest-refund'),
      commitment: commitmentOf('drefund'),
      terms: { priceWei: ETH, licenceDuration: 1000n * 86400n },
    });
    const p = await buyer.purchaseLicence(datasetId);
    const r = await owner.revokeLicence(p.licenceId, 'changed my mind');
    expect(r.holder).toBe(buyer.signerAddress);
    expect(r.refund + r.releasedToOwner).toBe(ETH);
    expect(r.refund).toBeGreaterThan((ETH * 999n) / 1000n); // seconds of a 1000-day licence were used
    expect(await buyer.owedEth(buyer.signerAddress!)).toBe(r.refund);
    const w = await buyer.withdraw();
    expect(w.amount).toBe(r.refund);
  });

  it('a delisted dataset cannot be bought', async () => {
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('manifest-3'),
      commitment: commitmentOf('d3'),
      terms: { priceWei: 1000n },
    });
    await owner.delist(datasetId);
    await expect(buyer.purchaseLicence(datasetId, { value: 1000n })).rejects.toThrow(
      new RegExp(`dataset ${datasetId} is not listed`),
    );
    expect((await buyer.checkLicence(buyer.signerAddress!, datasetId)).reason).toBe('not-found');
  });

  it('grant and revoke: only the dataset owner; revoked and expired licences are reported with their reason', async () => {
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('manifest-4'),
      commitment: commitmentOf('d4'),
      terms: { priceWei: 1000n, licenceDuration: 600n },
    });
    const holder = buyer.signerAddress!;
    expect(
      await revertName(stranger.grantLicence(datasetId, holder, { duration: 0n, maxJobs: 1, epsilonBudgetMilli: 1 })),
    ).toBe('NotDatasetOwner');
    const g = await owner.grantLicence(datasetId, holder, { duration: 0n, maxJobs: 2, epsilonBudgetMilli: 500 });
    expect(await buyer.getLicence(g.licenceId)).toMatchObject({ datasetId, holder, granted: true, revoked: false });
    await expect(stranger.revokeLicence(g.licenceId, 'no')).rejects.toThrow(/is not the owner of dataset/);
    await owner.revokeLicence(g.licenceId, 'terms breached');
    expect(await revertName(owner.revokeLicence(g.licenceId, 'again'))).toBe('AlreadyRevoked');
    expect(await buyer.checkLicence(holder, datasetId)).toEqual({
      valid: false,
      licenceId: g.licenceId,
      reason: 'revoked',
    });

    // a purchased licence with a 600 s duration expires
    const p = await buyer.purchaseLicence(datasetId);
    expect((await buyer.checkLicence(holder, datasetId)).licenceId).toBe(p.licenceId);
    await chain.request('evm_increaseTime', [601]);
    await chain.request('evm_mine', []);
    expect(await buyer.checkLicence(holder, datasetId)).toEqual({
      valid: false,
      licenceId: p.licenceId,
      reason: 'expired',
    });
    expect((await buyer.checkLicenceById(p.licenceId, datasetId + 1000n, holder)).reason).toBe('wrong-dataset');
    expect((await buyer.checkLicenceById(p.licenceId, datasetId, stranger.signerAddress!)).reason).toBe('not-holder');
    expect((await buyer.checkLicenceById(999_999n, datasetId, holder)).reason).toBe('not-found');
    expect(await buyer.checkLicence(holder, datasetId, { candidates: [g.licenceId] })).toEqual({
      valid: false,
      licenceId: g.licenceId,
      reason: 'revoked',
    });
  });

  it("reads a model record's dataset ids from its event and refuses an RPC that drops or alters it", async () => {
    const coordinator = await connectChain({ embedded: chain, signer: chain.accounts[0].privateKey });
    // A lying RPC endpoint: forwards to the chain, but rewrites the ModelRecorded logs eth_getLogs returns.
    let tamper: (logs: RpcLog[]) => RpcLog[] = (logs) => logs;
    const liar = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        void (async () => {
          const upstream = await fetch(chain.rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          const answer = (await upstream.json()) as RpcReply | RpcReply[];
          const sent = JSON.parse(body) as { method: string } | { method: string }[];
          const calls = Array.isArray(sent) ? sent : [sent];
          const replies = Array.isArray(answer) ? answer : [answer];
          replies.forEach((r, i) => {
            if (calls[i]?.method === 'eth_getLogs' && Array.isArray(r.result)) r.result = tamper(r.result);
          });
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(answer));
        })();
      });
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    const { port } = liar.address() as AddressInfo;
    const reader = await connectChain({
      rpcUrl: `http://127.0.0.1:${port}`,
      chainId: chain.chainId,
      addresses: stranger.addresses,
    });
    try {
      const ids: bigint[] = [];
      for (const m of ['ids-1', 'ids-2', 'ids-3']) {
        const r = await owner.registerDataset({
          manifestCid: cidOf(m),
          commitment: commitmentOf(m),
          terms: { priceWei: 1n },
        });
        ids.push(r.datasetId);
      }
      const jobId = '0x' + 'd4'.repeat(32);
      // Sent unsorted: the client sorts them, and the record commits to the sorted list.
      await coordinator.recordModel({
        jobId,
        modelCid: cidOf('model-ids'),
        datasetIds: [ids[2]!, ids[0]!, ids[1]!],
        rounds: 2,
        epsilonSpentMilli: 100,
      });
      const address = coordinator.signerAddress!;
      expect((await reader.getModel(address, jobId)).datasetIds).toEqual(ids);

      // The event dropped: no dataset list to trust.
      tamper = () => [];
      await expect(reader.getModel(address, jobId)).rejects.toThrow(/expected one ModelRecorded event .* got 0/);
      // One id swapped for another: the stored hash refuses it.
      const coder = AbiCoder.defaultAbiCoder();
      const types = ['bytes', 'uint256[]', 'uint32', 'uint32'];
      tamper = (logs) =>
        logs.map((log) => {
          const [cid, logged, rounds, epsilon] = coder.decode(types, log.data);
          const swapped = [...(logged as bigint[])];
          swapped[0] = swapped[0]! - 1n;
          return { ...log, data: coder.encode(types, [cid, swapped, rounds, epsilon]) };
        });
      await expect(reader.getModel(address, jobId)).rejects.toThrow(/do not match the record's hash/);
      // A list cut short (a prefix of the real one) fails the count before the hash.
      tamper = (logs) =>
        logs.map((log) => {
          const [cid, logged, rounds, epsilon] = coder.decode(types, log.data);
          return { ...log, data: coder.encode(types, [cid, [...(logged as bigint[])].slice(0, 2), rounds, epsilon]) };
        });
      await expect(reader.getModel(address, jobId)).rejects.toThrow(/lists 2 datasets, the record 3/);
      // The event duplicated: ambiguous, refused.
      tamper = (logs) => [...logs, ...logs];
      await expect(reader.getModel(address, jobId)).rejects.toThrow(/got 2/);
    } finally {
      reader.close();
      coordinator.close();
      await new Promise((resolve) => liar.close(resolve));
    }
  });

  it('sends a view again once when the node closes the connection under it, and no more', async () => {
    const id = (
      await owner.registerDataset({
        manifestCid: cidOf('reset-1'),
        commitment: commitmentOf('reset-1'),
        terms: { priceWei: 1n },
      })
    ).datasetId;
    // An RPC endpoint that drops the connection of the next `resets` eth_call requests, and forwards the rest.
    let resets = 0;
    let calls = 0;
    const flaky = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        void (async () => {
          if (body.includes('"eth_call"')) {
            calls++;
            if (resets > 0) {
              resets--;
              req.socket.destroy();
              return;
            }
          }
          const upstream = await fetch(chain.rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          res.setHeader('content-type', 'application/json');
          res.end(await upstream.text());
        })();
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const { port } = flaky.address() as AddressInfo;
    const reader = await connectChain({
      rpcUrl: `http://127.0.0.1:${port}`,
      chainId: chain.chainId,
      addresses: stranger.addresses,
    });
    try {
      resets = 1;
      expect(await reader.ownerOf(id)).toBe(chain.accounts[1].address);
      expect(calls).toBe(2);
      resets = 2;
      calls = 0;
      await expect(reader.ownerOf(id)).rejects.toBeInstanceOf(RpcUnavailableError);
      expect(calls).toBe(2);
    } finally {
      reader.close();
      await new Promise((r) => flaky.close(r));
    }
  });

  it('records model provenance (coordinator role only)', async () => {
    const coordinator = await connectChain({ embedded: chain, signer: chain.accounts[0].privateKey });
    try {
      const { datasetId } = await owner.registerDataset({
        manifestCid: cidOf('manifest-5'),
        commitment: commitmentOf('d5'),
        terms: { priceWei: 1n },
      });
      const jobId = '0x' + 'a1'.repeat(32);
      const modelCid = cidOf('model');
      expect(
        await revertName(
          stranger.recordModel({ jobId, modelCid, datasetIds: [datasetId], rounds: 3, epsilonSpentMilli: 800 }),
        ),
      ).toBe('AccessControlUnauthorizedAccount');
      const r = await coordinator.recordModel({
        jobId,
        modelCid,
        datasetIds: [datasetId],
        rounds: 3,
        epsilonSpentMilli: 800,
      });
      expect(r.gasUsed).toBeGreaterThan(0n);
      const coordinatorAddress = coordinator.signerAddress!;
      expect(await stranger.getModel(coordinatorAddress, jobId)).toMatchObject({
        modelCid,
        datasetIds: [datasetId],
        rounds: 3,
        epsilonSpentMilli: 800,
        coordinator: coordinatorAddress,
      });

      // Another coordinator cannot squat the job: its record lives under its own address only.
      const otherJob = '0x' + 'b2'.repeat(32);
      await coordinator.grantCoordinator(stranger.signerAddress!);
      await stranger.recordModel({
        jobId: otherJob,
        modelCid: cidOf('squat'),
        datasetIds: [datasetId],
        rounds: 1,
        epsilonSpentMilli: 0,
      });
      expect(await stranger.isModelRecorded(coordinatorAddress, otherJob)).toBe(false);
      await coordinator.recordModel({
        jobId: otherJob,
        modelCid,
        datasetIds: [datasetId],
        rounds: 2,
        epsilonSpentMilli: 0,
      });
      expect((await stranger.getModel(coordinatorAddress, otherJob)).modelCid).toBe(modelCid);
      expect((await stranger.getModel(stranger.signerAddress!, otherJob)).modelCid).toBe(cidOf('squat'));
      expect(await revertName(stranger.getModel(coordinatorAddress, '0x' + 'c3'.repeat(32)))).toBe('ModelNotFound');
    } finally {
      coordinator.close();
    }
  });

  it('rejects bad input at the boundary and reports funds, chain id and RPC failures by type', async () => {
    await expect(buyer.checkLicence('0x1234', 1n)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      owner.grantLicence(1n, 'not-an-address', { duration: 0n, maxJobs: 1, epsilonBudgetMilli: 1 }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      owner.registerDataset({ manifestCid: 'nope', commitment: commitmentOf('x'), terms: { priceWei: 1n } }),
    ).rejects.toThrow(/invalid CID/);
    await expect(connectChain({ embedded: chain, chainId: 1n })).rejects.toBeInstanceOf(WrongChainError);
    // an account with no ETH
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('manifest-6'),
      commitment: commitmentOf('d6'),
      terms: { priceWei: ETH },
    });
    const poor = await connectChain({ embedded: chain, signer: '0x' + '42'.repeat(32) });
    try {
      await expect(poor.purchaseLicence(datasetId)).rejects.toBeInstanceOf(InsufficientFundsError);
    } finally {
      poor.close();
    }
    // a port nobody listens on
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await expect(connectChain({ rpcUrl: `http://127.0.0.1:${port}`, chainId: 31337n })).rejects.toBeInstanceOf(
      RpcUnavailableError,
    );
    await expect(connectChain({ rpcUrl: 'ftp://example.org', chainId: 31337n })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
