// The embedded profile's dev wallet in a real headless Chromium with NO browser wallet: the coordinator runs on the
// embedded dev chain (startCoordinator devChain, as `sealfold coordinator start` without SEALFOLD_CHAIN_RPC), the page
// offers "Use a dev wallet", makes a fresh key in the browser, gets dev ETH from POST /dev/faucet, signs in and buys a
// licence through the dev-only JSON-RPC proxy. The proxy forwards only what a wallet needs. (On an RPC chain neither
// the button nor the routes exist: web-buyer.e2e-spec.ts.)
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { serializeManifest, type Manifest } from '@sealfold/dataset';
import { Wallet } from 'ethers';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../../apps/coordinator/src/models/content-store.port.js';
import { axeViolations, launchBrowser, type TestBrowser } from './helpers/browser.js';
import { cidOf, commitmentOf, startChainFixture, type ChainFixture } from './helpers/chain-fixture.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PRICE_WEI = 10n ** 15n;

describe('dev wallet on the embedded dev chain (real browser, no wallet extension)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let browser: TestBrowser;
  let datasetId: bigint;

  const rpc = (body: unknown) =>
    fetch(`${coordinator.url}/dev/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-dev-wallet-'));
    execFileSync(process.execPath, [join(ROOT, 'apps/web/build.mjs'), '--out', join(dir, 'web')], { stdio: 'pipe' });
    fixture = await startChainFixture(join(dir, 'chain-data'));
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_INDEX_INTERVAL_MS: '100',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough(), webDir: join(dir, 'web'), devChain: true },
    );
    const owner = await fixture.client(1);
    const ownerAddress = new Wallet(fixture.chain.accounts[1].privateKey).address;
    const m: Manifest = {
      formatVersion: 1,
      name: 'iris dev',
      description: 'dev wallet test',
      schema: {
        columns: [
          { name: 'sepal_length', type: 'float' },
          { name: 'species', type: 'categorical', levels: ['a', 'b'] },
        ],
        label: 'species',
      },
      rows: 50,
      classes: ['a', 'b'],
      sealed: { format: 'age-v1', cid: cidOf('dev-ciphertext'), bytes: 1234 },
      commitment: commitmentOf('dev').slice(2),
      owner: ownerAddress,
      createdAt: '2026-11-28T08:00:00.000Z',
      terms: { priceWei: PRICE_WEI.toString(), licenceDurationSeconds: 86_400, epsilonBudget: 8 },
    };
    const store = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    ({ datasetId } = await owner.registerDataset({
      manifestCid: await store.add(serializeManifest(m)),
      commitment: `0x${m.commitment}`,
      terms: { priceWei: PRICE_WEI, licenceDuration: 86_400n, maxJobs: 5, epsilonBudgetMilli: 8000 },
    }));
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await coordinator?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the proxy forwards reads and signed transactions only; the faucet checks its input', async () => {
    const chainId = (await (await rpc({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' })).json()) as { result: string };
    expect(BigInt(chainId.result)).toBe(fixture.chain.chainId);
    // EDR's dev accounts are unlocked: eth_sendTransaction through the proxy would spend them without a key.
    for (const method of ['eth_sendTransaction', 'eth_accounts', 'evm_mine', 'hardhat_setBalance', 'eth_sign']) {
      const r = (await (await rpc({ jsonrpc: '2.0', id: 2, method, params: [] })).json()) as {
        error?: { code: number };
      };
      expect(r.error?.code).toBe(-32601);
    }
    expect((await rpc([{ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }])).status).toBe(400);
    const bad = await fetch(`${coordinator.url}/dev/faucet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: 'nope' }),
    });
    expect(bad.status).toBe(400);
    expect(((await (await fetch(`${coordinator.url}/info`)).json()) as { devWallet: boolean }).devWallet).toBe(true);
  });

  it('offers a dev wallet: a fresh key made in the browser, funded, signs in and buys a licence', async () => {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    await page.goto(`${coordinator.url}/`);
    await page.getByRole('button', { name: 'Use a dev wallet' }).click();
    const ready = page.getByText(/Dev wallet 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4} ready/);
    await ready.waitFor({ timeout: 30_000 });
    const address = (await page.locator('.account').getAttribute('title'))!;
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    // A fresh key: none of the chain's dev accounts (nor the faucet's).
    expect(fixture.chain.accounts.map((a) => a.address.toLowerCase())).not.toContain(address.toLowerCase());
    const key = String(await page.evaluate("sessionStorage.getItem('sealfold.devWallet')"));
    expect(new Wallet(key).address).toBe(address);
    const owner = await fixture.client(1);
    expect(await owner.getBalance(address)).toBe(100n * 10n ** 18n);
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/Signed in as/).waitFor({ timeout: 15_000 });
    await page.goto(`${coordinator.url}/#/datasets/${datasetId}`);
    await page.getByRole('button', { name: /Buy licence for 0.001 ETH/ }).click();
    const done = page.getByText(/Licence \d+-\d+ is yours/);
    await done.waitFor({ timeout: 30_000 });
    const licenceId = BigInt((await done.locator('span[title]').getAttribute('title'))!);
    expect((await owner.checkLicenceById(licenceId, datasetId, address)).valid).toBe(true);
    await page.close();
  }, 120_000);
});
