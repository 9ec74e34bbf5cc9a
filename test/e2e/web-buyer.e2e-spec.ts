// The web app in a real headless Chromium (npm @sparticuz/chromium, driven by playwright-core) against a real
// coordinator on an embedded EDR chain, with an injected EIP-1193 wallet answered by an ethers Wallet in this process.
// Browsing needs no wallet; the buyer connects, signs in (EIP-4361), buys a licence pinned to the terms shown and
// follows a job live. Wrong chain, rejected signature and missing funds each show a clear error. axe-core finds no
// serious or critical violation; the first-load JS stays under 250 KB gzipped.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createProvider, type SealfoldChain } from '@sealfold/chain';
import { serializeManifest, type Manifest } from '@sealfold/dataset';
import { modelSpecHash } from '@sealfold/fl';
import { licenceRef } from '@sealfold/protocol';
import { JsonRpcProvider, Wallet } from 'ethers';
import type { Page } from 'playwright-core';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { ChainIndexer } from '../../apps/coordinator/src/datasets/chain-indexer.service.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../../apps/coordinator/src/models/content-store.port.js';
import {
  axeViolations,
  injectWallet,
  launchBrowser,
  type TestBrowser,
  type TestWalletControl,
} from './helpers/browser.js';
import { cidOf, commitmentOf, TEST_RECIPIENT, startChainFixture, type ChainFixture } from './helpers/chain-fixture.js';
import { authed, signIn } from './helpers/session.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const CLASSES = ['setosa', 'versicolor', 'virginica'];
const PRICE_WEI = 10n ** 15n; // 0.001 ETH

function manifest(owner: string, name: string): Manifest {
  return {
    formatVersion: 1,
    name,
    description: 'iris shard for the browser test',
    schema: {
      columns: [
        ...FEATURES.map((f) => ({ name: f, type: 'float' as const })),
        { name: 'species', type: 'categorical' as const, levels: CLASSES },
      ],
      label: 'species',
    },
    rows: 50,
    classes: CLASSES,
    sealed: { format: 'age-v1', cid: cidOf(`${name}-ciphertext`), bytes: 1234 },
    commitment: commitmentOf(name).slice(2),
    owner,
    createdAt: '2026-11-28T08:00:00.000Z',
    terms: { priceWei: PRICE_WEI.toString(), licenceDurationSeconds: 30 * 86_400, epsilonBudget: 8 },
  };
}

describe('web app in a real browser (Chromium, EDR chain, injected EIP-1193 wallet)', () => {
  let dir: string;
  let webDir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let owner: SealfoldChain;
  let provider: JsonRpcProvider;
  let browser: TestBrowser;
  let buyer: Wallet;
  const datasetIds: string[] = [];
  const screenshots = process.env.SEALFOLD_WEB_SCREENSHOTS;

  const control = (over: Partial<TestWalletControl> = {}): TestWalletControl => ({
    wallet: buyer,
    chainId: fixture.chain.chainId,
    reject: false,
    ...over,
  });
  /** A fresh page; with a wallet unless `wallet` is null. */
  const open = async (path: string, wallet: TestWalletControl | null): Promise<Page> => {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    if (wallet) await injectWallet(page, wallet, provider, fixture.chain.rpcUrl);
    await page.goto(`${coordinator.url}/${path}`);
    return page;
  };
  const shot = async (page: Page, name: string) => {
    if (screenshots) await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-web-'));
    webDir = join(dir, 'web');
    execFileSync(process.execPath, [join(ROOT, 'apps/web/build.mjs'), '--out', webDir], { stdio: 'pipe' });
    fixture = await startChainFixture(join(dir, 'chain-data'));
    owner = await fixture.client(1);
    buyer = new Wallet(fixture.chain.accounts[2].privateKey);
    provider = createProvider(fixture.chain.rpcUrl, fixture.chain.chainId);
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_INDEX_INTERVAL_MS: '100',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough(), webDir },
    );
    const store = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    const ownerAddress = new Wallet(fixture.chain.accounts[1].privateKey).address;
    for (const name of ['iris north', 'iris south', 'iris east', 'iris west']) {
      const m = manifest(ownerAddress, name);
      const { datasetId } = await owner.registerDataset({
        manifestCid: await store.add(serializeManifest(m)),
        commitment: `0x${m.commitment}`,
        terms: { priceWei: PRICE_WEI, licenceDuration: BigInt(30 * 86_400), maxJobs: 5, epsilonBudgetMilli: 8000 },
      });
      datasetIds.push(datasetId.toString());
    }
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    provider?.destroy();
    await coordinator?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the app at / with a strict CSP, and its first-load JS is ≤ 250 KB gzipped with no secret in it', async () => {
    const res = await fetch(`${coordinator.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual(['/app.js']);
    // The first load: app.js and the chunks it imports statically (pages imported on demand are not counted).
    const firstLoad = new Set<string>();
    const visit = async (path: string): Promise<void> => {
      if (firstLoad.has(path)) return;
      firstLoad.add(path);
      const code = await (await fetch(`${coordinator.url}${path}`)).text();
      for (const m of code.matchAll(/(?:^|[;}\s])import\s*(?:[^'"();]*?from\s*)?["']\.\/([^"']+)["']/g))
        await visit(new URL(m[1], `http://x${path}`).pathname);
    };
    await visit('/app.js');
    let raw = 0;
    let gz = 0;
    for (const path of firstLoad) {
      const js = Buffer.from(await (await fetch(`${coordinator.url}${path}`)).arrayBuffer());
      raw += js.length;
      gz += gzipSync(js, { level: 9 }).length;
    }
    console.log(`first-load JS (${[...firstLoad].join(', ')}): ${raw} bytes, ${gz} bytes gzipped`);
    expect(firstLoad.size).toBeGreaterThan(1); // the shared chunk is found, so the sum is not app.js alone
    expect(gz).toBeLessThanOrEqual(250 * 1024);
    // The API is still the API (no path shadowed).
    expect((await fetch(`${coordinator.url}/datasets`)).headers.get('content-type')).toMatch(/json/);
    // No private key (dev accounts, the coordinator's key file) in anything served to browsers.
    const coordinatorKey = (await readFile(join(dir, 'coordinator', 'coordinator.key'), 'utf8')).trim();
    const files = (await readdir(webDir, { recursive: true })).filter((f) => /\.(js|css|html)$/.test(f));
    const served = await Promise.all(files.map((f) => readFile(join(webDir, f), 'utf8')));
    for (const secret of [coordinatorKey, ...fixture.chain.accounts.map((a) => a.privateKey)])
      for (const text of served) expect(text.toLowerCase()).not.toContain(secret.toLowerCase().replace(/^0x/, ''));
  });

  it('browses the market and a dataset without any wallet; axe finds no serious or critical violation', async () => {
    const page = await open('', null);
    const rows = page.locator('main table tbody tr');
    await expect(waitCount(rows, 4)).resolves.toBe(4);
    const first = await rows.first().innerText();
    expect(first).toContain('iris north');
    expect(first).toContain('50');
    expect(first).toContain('species: setosa, versicolor, virginica');
    expect(first).toContain('0.001 ETH');
    expect(first).toContain('ε = 8');
    expect(first).toContain('moderate');
    expect(first).toContain('listed · 30 days');
    expect(await axeViolations(page)).toEqual([]);
    // On an RPC chain there is no dev wallet: no button, no faucet or RPC proxy route.
    expect(await page.getByRole('button', { name: 'Use a dev wallet' }).count()).toBe(0);
    const info = (await (await fetch(`${coordinator.url}/info`)).json()) as { devWallet: boolean };
    expect(info.devWallet).toBe(false);
    for (const route of ['/dev/faucet', '/dev/rpc'])
      expect((await fetch(`${coordinator.url}${route}`, { method: 'POST', body: '{}' })).status).toBe(404);
    await shot(page, 'market');

    await page.getByRole('link', { name: /iris north/ }).click();
    await page.getByRole('heading', { name: /Licence terms/ }).waitFor();
    const terms = await page.getByRole('region', { name: 'Licence terms' }).innerText();
    expect(terms).toMatch(/Jobs per licence\s+5/);
    expect(terms).toMatch(/at least 3/);
    const schema = await page.getByRole('region', { name: 'Public manifest' }).innerText();
    for (const f of FEATURES) expect(schema).toContain(f);
    await page.getByRole('button', { name: 'Connect wallet to buy' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  });

  it('says so clearly when the wallet is on the wrong chain, and when a signature is rejected', async () => {
    const wrong = await open('', control({ chainId: 1n }));
    await wrong.getByRole('button', { name: 'Connect wallet' }).click();
    const alert = wrong.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toContain(
      `Wrong network: your wallet is on chain 1, this marketplace runs on chain ${fixture.chain.chainId}`,
    );
    await wrong.getByRole('button', { name: 'Switch network' }).waitFor();
    await wrong.close();

    const rejecting = await open('', control({ reject: true }));
    await rejecting.getByRole('button', { name: 'Connect wallet' }).click();
    await rejecting.getByRole('button', { name: 'Sign in' }).click();
    await rejecting.getByRole('alert').waitFor();
    expect(await rejecting.getByRole('alert').innerText()).toContain('You rejected the signature request');
    await rejecting.close();
  });

  it('refuses to buy without enough ETH, before asking the wallet', async () => {
    const poor = Wallet.createRandom();
    const page = await open(`#/datasets/${datasetIds[1]}`, control({ wallet: new Wallet(poor.privateKey) }));
    await page.getByRole('button', { name: 'Connect wallet to buy' }).click();
    await page.getByRole('button', { name: /Buy licence for 0.001 ETH/ }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toContain('Not enough ETH');
    await page.close();
  });

  it('connects, signs in, buys a licence pinned to the shown terms, and follows a job live', async () => {
    const page = await open('', control());
    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/Signed in as/).waitFor();

    await page.goto(`${coordinator.url}/#/datasets/${datasetIds[0]}`);
    // The coordinator's index of the chain falls behind (here: stopped) while the licence is bought. The pages that
    // list licences from that index must wait for it, not show a list without the licence just bought.
    const indexer = coordinator.app.get(ChainIndexer);
    await indexer.onModuleDestroy();
    const before = await provider.getBalance(buyer.address);
    await page.getByRole('button', { name: /Buy licence for 0.001 ETH/ }).click();
    const done = page.getByText(/Licence \d+-\d+ is yours/);
    await done.waitFor({ timeout: 30_000 });
    // Shown as <datasetId>-<serial> (as the CLI prints it); the full token id is its title.
    const licenceId = (await done.locator('span[title]').getAttribute('title'))!;
    expect(await done.innerText()).toContain(`Licence ${licenceRef(BigInt(licenceId))} is yours`);
    expect(licenceRef(BigInt(licenceId))).toMatch(new RegExp(`^${datasetIds[0]}-\\d+$`));
    // The chain says so: the buyer holds a valid licence for this dataset and paid the price (plus gas).
    const check = await owner.checkLicenceById(BigInt(licenceId), BigInt(datasetIds[0]), buyer.address);
    expect(check.valid).toBe(true);
    expect(before - (await provider.getBalance(buyer.address))).toBeGreaterThanOrEqual(PRICE_WEI);
    await shot(page, 'bought');

    await page.getByRole('link', { name: 'My licences', exact: true }).first().click();
    await page.getByText(/is yours on chain; waiting for the coordinator’s index to list it/).waitFor();
    expect(await page.getByText('No licence yet.').count()).toBe(0);
    await shot(page, 'licence-not-indexed');
    // The index catches up: the page, re-reading it, shows the licence without a reload.
    indexer.onApplicationBootstrap();
    const licenceRow = page.locator(`main table tbody tr:has([title="${licenceId}"])`);
    await licenceRow.waitFor({ timeout: 30_000 });
    expect(await page.getByText(/waiting for the coordinator’s index/).count()).toBe(0);
    expect(await licenceRow.innerText()).toContain('active');
    expect(await axeViolations(page)).toEqual([]);

    // A job for the licence from the New job page: the wallet signs the JobRequest v2 (eth_signTypedData_v4), the
    // coordinator verifies it and the page opens the job's live view.
    await page.getByRole('link', { name: 'New job' }).click();
    await page.getByRole('checkbox', { name: /iris north/ }).check();
    await page.getByLabel('Rounds').fill('3');
    await page.getByLabel(/Your age recipient/).fill(TEST_RECIPIENT);
    // One dataset cannot make a sum over 3 owners: the page says so before the wallet is asked.
    await page.getByRole('button', { name: 'Sign and submit' }).click();
    await page.getByText(/pick at least 3 datasets/).waitFor({ timeout: 15_000 });
    // Two more licences (granted by their owner) make three datasets.
    for (const id of [datasetIds[2], datasetIds[3]])
      await owner.grantLicence(BigInt(id), buyer.address, {
        duration: BigInt(30 * 86_400),
        maxJobs: 5,
        epsilonBudgetMilli: 8000,
      });
    // The page lists licences from the coordinator's index of the chain: wait until it has indexed both grants.
    const indexedBy = Date.now() + 30_000;
    while (Date.now() < indexedBy) {
      const held = (await (await fetch(`${coordinator.url}/licences?holder=${buyer.address}`)).json()) as unknown[];
      if (held.length >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Leave the page and come back: it reads the buyer's licences again (the session stays in the page).
    await page.getByRole('link', { name: 'My licences', exact: true }).first().click();
    await page.getByRole('link', { name: 'New job' }).click();
    await page.getByRole('checkbox', { name: /iris north/ }).check();
    await page.getByRole('checkbox', { name: /iris east/ }).check();
    await page.getByRole('checkbox', { name: /iris west/ }).check();
    await page.getByLabel('Rounds').fill('3');
    await page.getByLabel(/Your age recipient/).fill(TEST_RECIPIENT);
    // The layer builder: a second hidden layer; the page checks the spec with libs/fl's rules and counts parameters
    // (4·16+16 + 16·8+8 + 8·3+3 = 243).
    await page.getByRole('button', { name: 'Add a dense layer' }).click();
    await page.getByLabel('Layer 2 units').fill('8');
    await page.getByLabel('Layer 2 activation').selectOption('tanh');
    await page.getByText('Model checked: 243 parameters.').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'new-job');
    // Custom JSON, prefilled with the builder's model; refused with a reason before the wallet is asked.
    await page.getByRole('radio', { name: 'Custom JSON' }).check();
    const json = page.getByLabel(/Model spec \(JSON/);
    expect(JSON.parse(await json.inputValue())).toEqual({
      inputShape: [4],
      layers: [
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'dense', units: 8, activation: 'tanh' },
        { type: 'dense', units: 3 },
      ],
    });
    await json.fill('{"inputShape": [4], "layers": [');
    await page.getByText(/Model: not JSON/).waitFor();
    await json.fill('{"inputShape": [4], "layers": [{"type": "dense", "units": 3, "activation": "swish"}]}');
    await page.getByText(/Model: INVALID_MODEL_SPEC/).waitFor();
    await json.fill('{"inputShape": [4], "layers": [{"type": "dense", "units": 5}]}');
    await page.getByText(/the model must end with 3 outputs/).waitFor();
    await page.getByRole('button', { name: 'Sign and submit' }).click();
    await page.getByText(/The model cannot be used/).waitFor();
    const customSpec = {
      inputShape: [4],
      layers: [
        { type: 'dense', units: 12, activation: 'elu' },
        { type: 'dense', units: 3 },
      ],
    };
    await json.fill(JSON.stringify(customSpec));
    await page.getByText('Model checked: 99 parameters.').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Sign and submit' }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f]{64}$/, { timeout: 15_000 });
    const jobId = /#\/jobs\/([0-9a-f]{64})$/.exec(page.url())![1];
    const job = (await (
      await fetch(`${coordinator.url}/jobs/${jobId}`, {
        headers: { authorization: `Bearer ${await sessionToken(page)}` },
      })
    ).json()) as { buyer: string; request: { licences: string[]; rounds: number; modelSpecHash: string } };
    expect(job.buyer.toLowerCase()).toBe(buyer.address.toLowerCase());
    expect(job.request.licences).toHaveLength(3);
    expect(job.request.licences[0]).toBe(licenceId);
    expect(job.request.rounds).toBe(3);
    expect(job.request.modelSpecHash).toBe(modelSpecHash(customSpec)); // the custom model was signed

    // No silo is connected: the job is admitted and waits (pending, or running at round 0 waiting for silos); the
    // status and stage come over the /progress WebSocket.
    const status = page.getByRole('region', { name: 'Status' });
    await status.waitFor({ timeout: 15_000 });
    const until = Date.now() + 15_000;
    while (!/Stage\s+[^–\s]/.test(await status.innerText()) && Date.now() < until) await page.waitForTimeout(100);
    await shot(page, 'job');
    const text = await status.innerText();
    expect(text).toMatch(/Status\s+(pending|running)/);
    expect(text).toMatch(/Round\s+0 of 3/);
    expect(text).toContain(`#${datasetIds[0]}`);
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  });

  it('shows an owner its datasets, the licences sold on them and what it can withdraw (read on chain)', async () => {
    const page = await open('#/owner', control({ wallet: new Wallet(fixture.chain.accounts[1].privateKey) }));
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    await page.getByText('Withdrawable now:').waitFor({ timeout: 15_000 });
    expect(await page.locator('main').innerText()).toMatch(/Withdrawable now: \d+(\.\d+)? ETH/);
    const sold = page.locator('main table', { has: page.getByText('Licences sold or granted on your datasets') });
    await sold.locator('tbody tr').first().waitFor({ timeout: 15_000 });
    expect(await sold.innerText()).toContain(buyer.address);
    expect(await page.locator('main').innerText()).toContain('iris north');
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'owner');
    await page.close();
  });

  it('has no sign-in links off the embedded chain: a signed-in buyer gets none, and a page opened with one says so', async () => {
    const token = await signIn(coordinator.url, buyer);
    const minted = await authed(token)(`${coordinator.url}/dev/sign-in-links`, { method: 'POST' });
    expect(minted.status).toBe(404);
    const redeem = await fetch(`${coordinator.url}/dev/sign-in-links/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: `sfl_${'A'.repeat(43)}` }),
    });
    expect(redeem.status).toBe(404);
    const page = await open(`#/jobs/${'ab'.repeat(32)}?signin=sfl_${'A'.repeat(43)}`, null);
    await page.getByText('Sign-in links work only on the embedded dev chain. Sign in with your wallet.').waitFor();
    expect(page.url()).toBe(`${coordinator.url}/#/jobs/${'ab'.repeat(32)}`);
    expect(await page.evaluate("sessionStorage.getItem('sealfold.session')")).toBeNull();
    expect(await page.getByRole('button', { name: 'Connect wallet' }).count()).toBeGreaterThan(0);
    await page.close();
  });
});

/** The bearer token the page signed in with (sessionStorage, as the app keeps it). */
async function sessionToken(page: Page): Promise<string> {
  const raw = await page.evaluate("sessionStorage.getItem('sealfold.session')");
  return (JSON.parse(String(raw)) as { token: string }).token;
}

/** Waits until `locator` matches `n` elements (or 15 s), returning the count it saw. */
async function waitCount(locator: ReturnType<Page['locator']>, n: number): Promise<number> {
  const until = Date.now() + 15_000;
  for (;;) {
    const c = await locator.count();
    if (c >= n || Date.now() > until) return c;
    await new Promise((r) => setTimeout(r, 100));
  }
}
