// A paid job (issue 20) from the web app's New job page, in a real headless Chromium, against a real coordinator and
// three real silos (sealed Iris shards, embedded Helia, tfjs, SecAgg+) on an embedded EDR chain. Three owners charge
// a job rate; the page shows the price Σ rate × rows × rounds and the escrow windows before anything is signed, the
// wallet signs the escrow terms in the request, JobEscrow.open locks exactly the price shown, then the job is sent;
// the silos admit the escrow (no escrow-required / escrow-mismatch refusal) and train. A deposit the user declines
// submits nothing; a job mixing a charging and a free dataset is refused with MIXED_JOB_RATES before the wallet is
// asked. Screenshots go to SEALFOLD_WEB_SCREENSHOTS when it is set.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createProvider, escrowJobId, hashJobRequest, sealfoldDomain, type SealfoldChain } from '@sealfold/chain';
import { parseJobRequest, type JobView } from '@sealfold/protocol';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { JsonRpcProvider, Wallet } from 'ethers';
import type { Page } from 'playwright-core';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { contentStorePortFrom } from '../../apps/coordinator/src/models/content-store.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import type { RunningSilo } from '../../apps/silo/src/bootstrap.js';
import {
  axeViolations,
  injectWallet,
  launchBrowser,
  type TestBrowser,
  type TestWalletControl,
} from './helpers/browser.js';
import { TEST_RECIPIENT, startChainFixture, type ChainFixture } from './helpers/chain-fixture.js';
import { sealIrisOwners, startOwnerSilo, type SealedOwner } from './helpers/owners.js';
import { authed, signIn } from './helpers/session.js';

/** Accounts 1, 4, 5 charge a job rate; account 6's dataset is free. */
const OWNERS = [1, 4, 5, 6];
const BUYER = 2;
const RATE = 10n ** 12n; // wei per row per round
const ROWS = [40n, 50n, 60n];
const ROUNDS = 3;
const ROOT = join(import.meta.dirname, '..', '..');

describe('web: a paid job from the New job page (Chromium, real silos, EDR chain)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let store: EmbeddedIpfsStore;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  let provider: JsonRpcProvider;
  let browser: TestBrowser;
  const owners: SealedOwner[] = [];
  const silos: RunningSilo[] = [];
  const screenshots = process.env.SEALFOLD_WEB_SCREENSHOTS;

  const openNewJob = async (control: TestWalletControl): Promise<Page> => {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    await injectWallet(page, control, provider, fixture.chain.rpcUrl);
    await page.goto(`${coordinator.url}/#/new-job`);
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    await page.getByRole('button', { name: 'Sign in' }).first().click();
    await page.getByText(/Signed in as/).waitFor({ timeout: 30_000 });
    return page;
  };
  const pick = async (page: Page, i: number) =>
    page.getByRole('checkbox', { name: new RegExp(`#${owners[i].datasetId} `) }).check({ timeout: 30_000 });
  const shot = async (page: Page, name: string) => {
    if (screenshots) await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-web-paid-'));
    execFileSync(process.execPath, [join(ROOT, 'apps/web/build.mjs'), '--out', join(dir, 'web')], { stdio: 'pipe' });
    const coordinatorKey = loadOrCreateKey(join(dir, 'coordinator', 'coordinator.key'));
    fixture = await startChainFixture(join(dir, 'chain-data'), [new Wallet(coordinatorKey).address]);
    await fixture.fund(new Wallet(coordinatorKey).address);
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    provider = createProvider(fixture.chain.rpcUrl, fixture.chain.chainId);
    store = await EmbeddedIpfsStore.open(join(dir, 'silo-ipfs'));
    owners.push(...(await sealIrisOwners(fixture, OWNERS, store)));
    // Owners 0–2 charge RATE wei per row and round (receipts co-signed by their silo's wallet, the default signer).
    for (const [i, rows] of ROWS.entries())
      await owners[i].chain.setJobTerms(owners[i].datasetId, { ratePerRowRound: RATE, rows });
    for (const o of owners) await buyerClient.purchaseLicence(o.datasetId);
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_STAGE_TIMEOUT_MS: '15000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '60000',
        SEALFOLD_MIN_SILOS: '3',
        SEALFOLD_INDEX_INTERVAL_MS: '100',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      // The owners' store: the coordinator indexes the public manifests (rows, schema) the page fits the model to.
      {
        logDestination: new PassThrough(),
        webDir: join(dir, 'web'),
        contentStore: contentStorePortFrom(store),
      },
    );
    for (const [i, owner] of owners.slice(0, 3).entries())
      silos.push(
        await startOwnerSilo(owner, { coordinatorUrl: coordinator.url, store, stateDir: join(dir, `silo-${i}`) }),
      );
    await Promise.all(silos.map((s) => s.client.ready(30_000)));
    browser = await launchBrowser();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    provider?.destroy();
    for (const s of silos.splice(0)) await s.close();
    await coordinator?.close();
    await store?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('/info names the JobEscrow and DatasetNFT contracts the page calls', async () => {
    const info = (await (await fetch(`${coordinator.url}/info`)).json()) as {
      contracts: { datasetNFT: string; jobEscrow: string | null };
    };
    expect(info.contracts).toEqual({
      datasetNFT: buyerClient.addresses!.datasetNFT,
      jobEscrow: buyerClient.addresses!.jobEscrow,
    });
  });

  it('refuses a job mixing charging and free datasets (MIXED_JOB_RATES) before the wallet is asked', async () => {
    const page = await openNewJob({ wallet: buyer, chainId: fixture.chain.chainId, reject: false });
    for (const i of [0, 1, 3]) await pick(page, i);
    const alert = page.getByText(/charge a job rate and .* do not/);
    await alert.waitFor({ timeout: 30_000 });
    const text = await alert.innerText();
    expect(text).toBe(
      `datasets ${owners[0].datasetId}, ${owners[1].datasetId} charge a job rate and ${owners[3].datasetId} do not: ` +
        "a job's escrow pins a rate for every dataset, so run them as separate jobs (MIXED_JOB_RATES)",
    );
    expect(await page.getByRole('button', { name: /Sign and submit/ }).isDisabled()).toBe(true);
    expect(await page.getByRole('group', { name: 'Price and escrow' }).count()).toBe(0);
    await page.close();
  }, 120_000);

  it('shows the price, signs the escrow terms, locks exactly that price in JobEscrow, then the silos train', async () => {
    const control: TestWalletControl = { wallet: buyer, chainId: fixture.chain.chainId, reject: false };
    const page = await openNewJob(control);
    for (const i of [0, 1, 2]) await pick(page, i);
    await page.getByText(/Model checked: \d+ parameters/).waitFor({ timeout: 30_000 });
    await page.getByLabel(/Your age recipient/).fill(TEST_RECIPIENT);
    await page.getByLabel('Learning rate').fill('0.1');
    const escrowBox = page.getByRole('group', { name: 'Price and escrow' });
    await escrowBox.waitFor({ timeout: 30_000 });
    const expected = ROWS.reduce((sum, rows) => sum + RATE * rows * BigInt(ROUNDS), 0n);
    const shownWei = async () => BigInt((await page.getByTestId('job-price-wei').innerText()).replace(/\D/g, ''));
    expect(await shownWei()).toBe(expected);
    expect(await page.getByTestId('job-price').innerText()).toBe('0.00045 ETH');
    // The price follows the rounds; the windows default to job create's (1 d run, 1 d confirm, 2 d fallback).
    await page.getByLabel('Rounds').fill('4');
    await page.getByTestId('job-price').getByText('0.0006 ETH').waitFor();
    await page.getByLabel('Rounds').fill(String(ROUNDS));
    await page.getByTestId('job-price').getByText('0.00045 ETH').waitFor();
    expect(await escrowBox.getByLabel(/Run time/).inputValue()).toBe('1');
    expect(await escrowBox.getByLabel(/confirm window/).inputValue()).toBe('1');
    expect(await escrowBox.getByLabel(/Fallback window/).inputValue()).toBe('2');
    const submit = page.getByRole('button', { name: 'Sign, lock 0.00045 ETH and submit' });
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'new-job-paid');

    // Declining the deposit in the wallet: nothing is submitted, and the page says so.
    const token = await signIn(coordinator.url, buyer);
    const count = async () => ((await (await authed(token)(`${coordinator.url}/jobs`)).json()) as JobView[]).length;
    control.rejectTransactions = true;
    await submit.focus();
    await page.keyboard.press('Enter');
    await page
      .getByText('You rejected the escrow deposit in your wallet; nothing was sent.')
      .waitFor({ timeout: 60_000 })
      .catch(async (error: unknown) => {
        throw new Error(`${String(error)}; page says: ${await page.locator('form').innerText()}`);
      });
    expect(await count()).toBe(0);

    control.rejectTransactions = false;
    const before = await provider.getBalance(buyer.address);
    await submit.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/jobs\/[0-9a-f]{64}$/, { timeout: 120_000 }).catch(async (error: unknown) => {
      await shot(page, 'new-job-paid-failed');
      throw new Error(`${String(error)}; page says: ${await page.locator('main').innerText()}`);
    });
    const id = /#\/jobs\/([0-9a-f]{64})$/.exec(page.url())![1];
    const job = (await (await authed(token)(`${coordinator.url}/jobs/${id}`)).json()) as JobView;
    const request = parseJobRequest(job.request);
    // The signed escrow terms: job create's windows, JobEscrow's fee, a run deadline a day from the chain's clock.
    expect(request.escrow.confirmWindow).toBe(86_400);
    expect(request.escrow.fallbackWindow).toBe(2 * 86_400);
    expect(request.escrow.feeBps).toBe(await buyerClient.escrowFeeBps());
    const now = BigInt((await provider.getBlock('latest'))!.timestamp);
    expect(request.escrow.runDeadline > now + 80_000n && request.escrow.runDeadline <= now + 86_400n).toBe(true);
    // The escrow of exactly this request holds exactly the price the page showed.
    const digest = hashJobRequest(
      sealfoldDomain(fixture.chain.chainId, buyerClient.addresses!.datasetLicence),
      request,
    );
    const escrow = await buyerClient.getEscrow(escrowJobId(buyer.address, digest));
    expect(escrow.locked).toBe(expected);
    expect(escrow.buyer.toLowerCase()).toBe(buyer.address.toLowerCase());
    expect(before - (await provider.getBalance(buyer.address)) >= expected).toBe(true);

    // The silos admit the escrow and train every round (a refusal would fail the job).
    const until = Date.now() + 180_000;
    let view = job;
    while (view.status !== 'completed' && view.status !== 'failed' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      view = (await (await authed(token)(`${coordinator.url}/jobs/${id}`)).json()) as JobView;
    }
    for (const s of silos) expect(s.ledger.refusals().filter((r) => r.jobId === id)).toEqual([]);
    expect(view).toMatchObject({ status: 'completed', currentRound: ROUNDS });
    // Every silo co-signed the receipt and the coordinator settled it: the owners were paid the whole price.
    expect(view.settlement).toMatchObject({
      escrowJobId: escrowJobId(buyer.address, digest),
      unsigned: {},
      error: null,
      paidWei: String(expected),
    });
    await page.getByRole('region', { name: 'Status' }).locator('.badge.status-completed').waitFor({ timeout: 30_000 });
    await page.close();
  }, 420_000);
});
