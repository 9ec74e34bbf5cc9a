import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, statSync, truncateSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import { startEmbeddedChainCore, type EmbeddedChain } from './embedded-chain.js';
import { ChainError } from './errors.js';

const provider = (chain: EmbeddedChain) =>
  new JsonRpcProvider(chain.rpcUrl, Number(chain.chainId), { staticNetwork: true, cacheTimeout: -1 });

describe('embedded chain (EDR over HTTP, journaled)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-chain-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves JSON-RPC, refuses unlocked-account methods, and survives a restart', async () => {
    const data = join(dir, 'restart');
    let chain = await startEmbeddedChainCore({ dataDir: data, chainId: 31337 });
    let p = provider(chain);
    expect(await p.send('eth_chainId', [])).toBe('0x7a69');
    const alice = new Wallet(chain.accounts[0].privateKey, p);
    const bob = chain.accounts[1].address;
    const before = await p.getBalance(bob);
    const r1 = await (await alice.sendTransaction({ to: bob, value: 12345n })).wait();
    await p.send('evm_increaseTime', [86_400]);
    await p.send('evm_mine', []);
    const r2 = await (await alice.sendTransaction({ to: bob, value: 1n })).wait();
    const head = await p.getBlock('latest');
    await expect(p.send('eth_sendTransaction', [{ from: alice.address, to: bob }])).rejects.toThrow(
      /signed raw transactions/,
    );
    await expect(p.send('hardhat_setBalance', [bob, '0x1'])).rejects.toThrow(/not served/);
    p.destroy();
    await chain.close();

    chain = await startEmbeddedChainCore({ dataDir: data, chainId: 31337 });
    p = provider(chain);
    expect(chain.replayed.records).toBe(4);
    expect(await p.getBalance(bob)).toBe(before + 12346n);
    const head2 = await p.getBlock('latest');
    expect(head2?.hash).toBe(head?.hash);
    expect((await p.getTransactionReceipt(r1!.hash))?.blockHash).toBe(r1!.blockHash);
    expect((await p.getTransactionReceipt(r2!.hash))?.status).toBe(1);
    // the chain clock does not run back after the restart
    const alice2 = new Wallet(chain.accounts[0].privateKey, p);
    const r3 = await (await alice2.sendTransaction({ to: bob, value: 1n })).wait();
    const b3 = await p.getBlock(r3!.blockNumber);
    expect(b3!.timestamp).toBeGreaterThan(head!.timestamp);
    p.destroy();
    await chain.close();
  });

  it('drops a torn last journal record and refuses damage before the tail', async () => {
    const data = join(dir, 'torn');
    let chain = await startEmbeddedChainCore({ dataDir: data });
    let p = provider(chain);
    const alice = new Wallet(chain.accounts[0].privateKey, p);
    await (await alice.sendTransaction({ to: chain.accounts[2].address, value: 7n })).wait();
    await (await alice.sendTransaction({ to: chain.accounts[2].address, value: 8n })).wait();
    p.destroy();
    await chain.close();
    const journal = join(data, 'chain', 'journal.bin');
    const size = statSync(journal).size;
    truncateSync(journal, size - 5); // a crash mid-write of the second record
    chain = await startEmbeddedChainCore({ dataDir: data });
    expect(chain.replayed.records).toBe(1);
    expect(chain.replayed.droppedBytes).toBeGreaterThan(0);
    p = provider(chain);
    expect(await p.getTransactionCount(chain.accounts[0].address)).toBe(1);
    p.destroy();
    await chain.close();
    // damage in the middle (a complete record followed by garbage header then more data) is refused
    appendFileSync(journal, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x7b, 0x7d]));
    await expect(startEmbeddedChainCore({ dataDir: data })).rejects.toThrow(/CRC mismatch/);
  });

  it('refuses a data dir created with another chain id', async () => {
    const data = join(dir, 'cid');
    const chain = await startEmbeddedChainCore({ dataDir: data, chainId: 1337 });
    await chain.close();
    await expect(startEmbeddedChainCore({ dataDir: data, chainId: 31337 })).rejects.toBeInstanceOf(ChainError);
  });
});
