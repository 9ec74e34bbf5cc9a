import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CID } from 'multiformats/cid';
import { connectChain, type SealfoldChain } from './client.js';
import { startEmbeddedChain } from './embedded.js';
import type { EmbeddedChain } from './embedded-chain.js';
import { createSealfoldIndexer, type SealfoldEvent } from './events.js';
import { FileCursorStore, MemoryCursorStore } from './indexer.js';
import { InvalidArgumentError } from './errors.js';

const cidOf = (text: string) =>
  CID.decode(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...createHash('sha256').update(text).digest()])).toString();

describe('event indexer', () => {
  let dir: string;
  let chain: EmbeddedChain;
  let owner: SealfoldChain;
  let buyer: SealfoldChain;
  let coordinator: SealfoldChain;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-indexer-'));
    chain = await startEmbeddedChain({ dataDir: join(dir, 'data') });
    coordinator = await connectChain({ embedded: chain, signer: chain.accounts[0].privateKey });
    owner = await connectChain({ embedded: chain, signer: chain.accounts[1].privateKey });
    buyer = await connectChain({ embedded: chain, signer: chain.accounts[2].privateKey });
  });
  afterAll(async () => {
    for (const c of [coordinator, owner, buyer]) c?.close();
    await chain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers typed events in chain order and resumes from its persisted cursor', async () => {
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('idx-1'),
      commitment: '0x' + '01'.repeat(32),
      terms: { priceWei: 5000n },
    });
    const { licenceId } = await buyer.purchaseLicence(datasetId);

    const cursorPath = join(dir, 'cursor.json');
    const make = () =>
      createSealfoldIndexer({
        provider: owner.provider,
        addresses: owner.addresses!,
        cursor: new FileCursorStore(cursorPath),
        batchSize: 3,
      });
    const seen: SealfoldEvent[] = [];
    const first = await make().sync((events) => {
      seen.push(...events);
    });
    expect(first.nextBlock).toBe((await owner.getBlockNumber()) + 1n);
    const registered = seen.find((e) => e.event === 'DatasetRegistered');
    expect(registered?.contract).toBe('DatasetNFT');
    if (registered?.event === 'DatasetRegistered') {
      expect(registered.args.datasetId).toBe(datasetId);
      expect(registered.args.owner).toBe(owner.signerAddress);
    }
    const purchased = seen.find((e) => e.event === 'LicencePurchased');
    if (purchased?.event !== 'LicencePurchased') throw new Error('no LicencePurchased event');
    expect(purchased.args).toMatchObject({ licenceId, datasetId, buyer: buyer.signerAddress, price: 5000n });
    // chain order
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1], seen[i]];
      expect(a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex < b.logIndex)).toBe(true);
    }

    // new activity, then a fresh indexer on the same cursor file sees only the new events
    await owner.revokeLicence(licenceId, 'audit');
    const jobId = '0x' + '77'.repeat(32);
    await coordinator.recordModel({
      jobId,
      modelCid: cidOf('m'),
      datasetIds: [datasetId],
      rounds: 2,
      epsilonSpentMilli: 100,
    });
    const resumed: SealfoldEvent[] = [];
    await make().sync((events) => {
      resumed.push(...events);
    });
    // revoking a sold licence refunds its holder the unvested escrow in the same transaction
    expect(resumed.map((e) => e.event)).toEqual(['LicenceRevoked', 'LicenceRefunded', 'ModelRecorded']);
    const model = resumed[2];
    if (model.event !== 'ModelRecorded') throw new Error('expected ModelRecorded');
    expect(model.args.datasetIds).toEqual([datasetId]);
    expect(model.args.jobId).toBe(jobId);
    expect(await make().sync(() => {})).toMatchObject({ events: 0 });
  });

  it('a failing handler does not advance the cursor (at-least-once)', async () => {
    const cursor = new MemoryCursorStore(0n);
    const indexer = createSealfoldIndexer({ provider: owner.provider, addresses: owner.addresses!, cursor });
    await expect(
      indexer.sync(() => {
        throw new Error('handler down');
      }),
    ).rejects.toThrow('handler down');
    expect(await cursor.load()).toBe(0n);
  });

  it('stays `confirmations` blocks behind the head and honours a finite end block', async () => {
    const head = await owner.getBlockNumber();
    const cursor = new MemoryCursorStore();
    const r = await createSealfoldIndexer({
      provider: owner.provider,
      addresses: owner.addresses!,
      cursor,
      confirmations: 2,
    }).sync(() => {});
    expect(r.toBlock).toBe(head - 2n);
    const finite = await createSealfoldIndexer({
      provider: owner.provider,
      addresses: owner.addresses!,
      cursor: new MemoryCursorStore(),
      endBlock: 3n,
    }).sync(() => {});
    expect(finite.nextBlock).toBe(4n);
    expect(() =>
      createSealfoldIndexer({ provider: owner.provider, addresses: owner.addresses!, cursor, confirmations: -1 }),
    ).toThrow(InvalidArgumentError);
  });
});
