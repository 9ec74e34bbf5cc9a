// The embedded profile's dev wallet in a real headless Chromium with NO browser wallet: the coordinator runs on the
// embedded dev chain (startCoordinator devChain, as `sealfold coordinator start` without SEALFOLD_CHAIN_RPC), the page
// offers "Use a dev wallet", makes a fresh key in the browser, gets dev ETH from POST /dev/faucet, signs in and buys a
// licence through the dev-only JSON-RPC proxy. The proxy forwards only what a wallet needs. One-time sign-in links
// (`sealfold job link`, the demo's) hand a session to a browser once. (On an RPC chain neither the button nor the
// routes exist: web-buyer.e2e-spec.ts.)
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
import { authed, postSession, signedSiwe, signIn } from './helpers/session.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PRICE_WEI = 10n ** 15n;

describe('dev wallet on the embedded dev chain (real browser, no wallet extension)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let browser: TestBrowser;
  let datasetId: bigint;
  /** Every log line the coordinator wrote (debug level: each HTTP request too). */
  let logs = '';

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
    const logSink = new PassThrough();
    logSink.setEncoding('utf8').on('data', (d: string) => (logs += d));
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_INDEX_INTERVAL_MS: '100',
        SEALFOLD_LOG_LEVEL: 'debug',
      }),
      { logDestination: logSink, webDir: join(dir, 'web'), devChain: true },
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

  it('sign-in links: minted only with a session, signing in as its address once, never logged', async () => {
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${coordinator.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    // Without a session, or with a made-up one: nothing to hand over.
    expect((await post('/dev/sign-in-links', {})).status).toBe(401);
    expect((await post('/dev/sign-in-links', {}, 'sfs_made-up')).status).toBe(401);

    const alice = new Wallet(fixture.chain.accounts[3].privateKey);
    const minted = await post('/dev/sign-in-links', {}, await signIn(coordinator.url, alice));
    expect(minted.status).toBe(201);
    const { code, expiresAt } = (await minted.json()) as { code: string; expiresAt: string };
    expect(code).toMatch(/^sfl_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(10 * 60_000);

    const redeemed = await post('/dev/sign-in-links/redeem', { code });
    expect(redeemed.status).toBe(200);
    const session = (await redeemed.json()) as { token: string; address: string; operator: boolean };
    expect(session).toMatchObject({ address: alice.address, operator: false });
    // A session of that address: it reads alice's jobs (none yet) like one opened with SIWE.
    const jobs = await authed(session.token)(`${coordinator.url}/jobs`);
    expect(jobs.status).toBe(200);
    expect(await jobs.json()).toEqual([]);

    // Single use: the second attempt is refused, as is anything that is not a link code.
    const again = await post('/dev/sign-in-links/redeem', { code });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { code: string }).code).toBe('SIGN_IN_LINK_INVALID');
    expect((await post('/dev/sign-in-links/redeem', { code: session.token })).status).toBe(400);
    expect((await post('/dev/sign-in-links/redeem', {})).status).toBe(400);

    // A link hands over no more time than its minting session has left (here 2 minutes, not the link's hour).
    const shortEnd = Date.now() + 120_000;
    const short = await postSession(
      coordinator.url,
      await signedSiwe(coordinator.url, alice, { expirationTime: new Date(shortEnd).toISOString() }),
    );
    const shortToken = ((await short.json()) as { token: string }).token;
    const capped = (await (await post('/dev/sign-in-links', {}, shortToken)).json()) as {
      code: string;
      expiresAt: string;
    };
    expect(Date.parse(capped.expiresAt)).toBeLessThanOrEqual(shortEnd);
    const cappedSession = (await (await post('/dev/sign-in-links/redeem', { code: capped.code })).json()) as {
      expiresAt: string;
    };
    expect(Date.parse(cappedSession.expiresAt)).toBeLessThanOrEqual(shortEnd);

    expect(logs).toContain('/dev/sign-in-links/redeem'); // the requests were logged (debug)…
    expect(logs).not.toContain(code); // …the code never
    expect(logs).not.toContain(session.token);
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
