// The web app and the owner's local silo page in a real headless Chromium, around a real job: three real silos
// (sealed Iris shards, embedded Helia, tfjs, SecAgg+) on an EDR chain behind a real coordinator serving the web app.
// The buyer (injected EIP-1193 wallet) sees its job appear under Running, watches its chart grow round by round, and
// reads the model's provenance from the chain (ModelRegistry, through the coordinator). Owner 0's silo serves
// its page on 127.0.0.1 behind a token. The licences allow one job each: the first job runs and shows in the ε
// ledger; a second job on the same licences is refused by the silo (its ledger holds the slot) and the page says why.
// Without the token, or through another Host name, the page is refused; axe finds no serious or critical violation.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { licenceRef, jobTraining } from '@sealfold/protocol';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { createProvider } from '@sealfold/chain';
import { JsonRpcProvider, Wallet } from 'ethers';
import type { Page } from 'playwright-core';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import type { RunningSilo } from '../../apps/silo/src/bootstrap.js';
import { OWNER_PAGE_CSP } from '../../apps/silo/src/owner-page.js';
import { axeViolations, injectWallet, launchBrowser, type TestBrowser } from './helpers/browser.js';
import {
  coordinatorAddressOf,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { sealIrisOwners, startOwnerSilo, type SealedOwner } from './helpers/owners.js';

const OWNERS = [1, 4, 5];
const BUYER = 2;
const TOKEN = 'owner-page-test-token-0123456789';
const ROOT = join(import.meta.dirname, '..', '..');
const ROUNDS = 3;

describe("the owner's local silo page (real job, real browser)", () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let store: EmbeddedIpfsStore;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  let browser: TestBrowser;
  let provider: JsonRpcProvider;
  /** The job the buyer watched (job 1): its id and licences. */
  let first: { id: string; licences: bigint[] };
  const owners: SealedOwner[] = [];
  const silos: RunningSilo[] = [];
  let nonce = 1n;

  /** Submits a job of ROUNDS rounds over `indices`, on new licences unless `reuse` names them. */
  const submit = async (indices: number[], reuse?: bigint[]) => {
    const ids: bigint[] = reuse ?? [];
    if (!reuse) for (const i of indices) ids.push((await buyerClient.purchaseLicence(owners[i].datasetId)).licenceId);
    const req = jobRequest(buyer.address, {
      coordinator: await coordinatorAddressOf(coordinator.url),
      training: jobTraining({ localEpochs: 1, batchSize: 16, learningRate: 0.5, optimizer: 'sgd', updateClip: 2 }),
      datasets: indices.map((i) => owners[i].datasetId),
      licences: ids,
      rounds: ROUNDS,
      nonce: nonce++,
    });
    const res = await fetch(`${coordinator.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await signedBody(buyerClient, buyer, req)),
    });
    expect(res.status).toBe(201);
    return { id: ((await res.json()) as { id: string }).id, licences: ids };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-web-job-'));
    execFileSync(process.execPath, [join(ROOT, 'apps/web/build.mjs'), '--out', join(dir, 'web')], { stdio: 'pipe' });
    const coordinatorKey = loadOrCreateKey(join(dir, 'coordinator', 'coordinator.key'));
    fixture = await startChainFixture(join(dir, 'chain-data'), [new Wallet(coordinatorKey).address]);
    await fixture.fund(new Wallet(coordinatorKey).address);
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    provider = createProvider(fixture.chain.rpcUrl, fixture.chain.chainId);
    store = await EmbeddedIpfsStore.open(join(dir, 'silo-ipfs'));
    owners.push(...(await sealIrisOwners(fixture, OWNERS, store, 1))); // maxJobs = 1 per licence
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_STAGE_TIMEOUT_MS: '8000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '60000',
        SEALFOLD_MIN_SILOS: '3',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough(), webDir: join(dir, 'web') },
    );
    for (const [i, owner] of owners.entries())
      silos.push(
        await startOwnerSilo(owner, {
          coordinatorUrl: coordinator.url,
          store,
          stateDir: join(dir, `silo-${i}`),
          ...(i === 0 ? { ownerPage: { token: TOKEN } } : {}),
        }),
      );
    await Promise.all(silos.map((s) => s.client.ready(30_000)));
    browser = await launchBrowser();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    provider?.destroy();
    for (const s of silos.splice(0)) await s.close();
    await coordinator?.close();
    await store?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('binds to 127.0.0.1 and refuses without the token, with a wrong token and through another Host', async () => {
    const page = silos[0].ownerPage!;
    expect(page.url).toBe(`${page.origin}/?token=${TOKEN}`);
    expect(page.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const bare = await fetch(`${page.origin}/`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('content-security-policy')).toBe(OWNER_PAGE_CSP);
    const text = await bare.text();
    expect(text).toContain('Locked');
    expect(text).not.toContain(owners[0].wallet.address);
    expect((await fetch(`${page.origin}/?token=${TOKEN.replace(/.$/, 'x')}`, { redirect: 'manual' })).status).toBe(401);
    expect((await fetch(`${page.origin}/`, { headers: { cookie: 'sealfold_silo=nope' } })).status).toBe(401);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host, and is refused.
    const port = new URL(page.origin).port;
    const rebinding = await new Promise<number>((resolve, reject) =>
      httpRequest(
        { host: '127.0.0.1', port, path: `/?token=${TOKEN}`, headers: { host: `evil.example:${port}` } },
        (res) => (res.resume(), resolve(res.statusCode!)),
      )
        .on('error', reject)
        .end(),
    );
    expect(rebinding).toBe(421);
  });

  it('the buyer sees its job under Running, watches its chart grow round by round, and reads its provenance on chain', async () => {
    const page: Page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    await injectWallet(
      page,
      { wallet: buyer, chainId: fixture.chain.chainId, reject: false },
      provider,
      fixture.chain.rpcUrl,
    );
    await page.goto(`${coordinator.url}/#/jobs`);
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    await page.getByRole('button', { name: 'Sign in' }).first().click();
    await page.getByText('No job is running.').waitFor({ timeout: 15_000 });

    // Round 2 waits on owner 0's silo until the page has shown round 1 (Iris rounds take well under a second; the
    // test must see the chart between rounds, not only at the end).
    let shown!: () => void;
    const roundOneShown = new Promise<void>((resolve) => (shown = resolve));
    const runner = silos[0].runner;
    const prepareRound = runner.prepareRound.bind(runner);
    runner.prepareRound = async (jobId, round, weights) => {
      if (round === 2) await roundOneShown;
      return prepareRound(jobId, round, weights);
    };
    // The job starts while the page is open: the list picks it up by itself.
    first = await submit([0, 1, 2]);
    const link = page
      .getByRole('table', { name: 'Running jobs' })
      .getByRole('link', { name: new RegExp(first.id.slice(0, 10)) });
    await link.waitFor({ timeout: 15_000 });
    expect(await axeViolations(page)).toEqual([]);
    await link.click();
    await page.getByRole('region', { name: 'Status' }).waitFor();

    // The chart's accuracy points, sampled until the job ends: they grow one round at a time.
    const points = page.locator('figure.chart g.s0 circle');
    const seen: number[] = [];
    const until = Date.now() + 180_000;
    for (;;) {
      const n = await points.count();
      if (seen.at(-1) !== n) seen.push(n);
      if (n === 1) shown();
      const status = await page.getByRole('region', { name: 'Status' }).innerText();
      if (/Status\s+(completed|failed)/.test(status) && n === ROUNDS) break;
      if (/Status\s+failed/.test(status) || Date.now() > until) throw new Error(`job did not complete: ${status}`);
      await page.waitForTimeout(100);
    }
    runner.prepareRound = prepareRound;
    expect(seen.at(-1)).toBe(ROUNDS);
    expect(seen).toContain(1); // seen mid-job, not only at the end
    expect(await page.getByRole('table', { name: 'Rounds' }).locator('tbody tr').count()).toBe(ROUNDS);
    expect(await axeViolations(page)).toEqual([]);
    if (process.env.SEALFOLD_WEB_SCREENSHOTS)
      await page.screenshot({ path: join(process.env.SEALFOLD_WEB_SCREENSHOTS, 'job-live.png'), fullPage: true });

    // The model page: provenance read on chain now (ModelRegistry.modelOf), matching the delivered model.
    await page.getByRole('link', { name: /Model and provenance/ }).click();
    const onChain = page.getByRole('region', { name: 'Provenance on chain' });
    await onChain.getByText('The chain’s record names the model delivered to you.').waitFor({ timeout: 15_000 });
    const text = await onChain.innerText();
    const recorded = await (
      await fixture.client(0)
    ).getModel(await coordinatorAddressOf(coordinator.url), `0x${first.id}`);
    expect(text).toContain(recorded.modelCid);
    for (const o of owners) expect(text).toContain(`#${o.datasetId}`);
    expect(text).toMatch(new RegExp(`Rounds\\s+${ROUNDS}`));
    expect(text).toContain('no DP noise (ε unbounded)');
    const howTo = await page.getByRole('region', { name: 'Download and load it' }).innerText();
    expect(howTo).toContain(`sealfold model pull ${first.id} -o model/`);
    expect(howTo).toContain("tf.loadLayersModel('file://model/model.json')");
    expect(await axeViolations(page)).toEqual([]);
    if (process.env.SEALFOLD_WEB_SCREENSHOTS)
      await page.screenshot({ path: join(process.env.SEALFOLD_WEB_SCREENSHOTS, 'model.png'), fullPage: true });
    await page.close();
  }, 240_000);

  it('shows the ε ledger per licence after a real job, and a refused job with its reason', async () => {
    expect(first).toBeDefined(); // the job the buyer watched in the previous test
    // The licences allow one job each: the silo refuses a second one at the offer, and the page says why.
    const second = await submit([0, 1, 2], first.licences);
    const until = Date.now() + 60_000;
    const html = async () =>
      (await fetch(`${silos[0].ownerPage!.origin}/`, { headers: { cookie: `sealfold_silo=${TOKEN}` } })).text();
    while (!(await html()).includes(second.id.slice(0, 12)) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 200));

    const page = await browser.context.newPage();
    const blocked = await page.goto(`${silos[0].ownerPage!.origin}/`);
    expect(blocked?.status()).toBe(401);
    await page.goto(silos[0].ownerPage!.url);
    // The token moved into a cookie: the address bar no longer shows it.
    expect(page.url()).toBe(`${silos[0].ownerPage!.origin}/`);
    await page.getByRole('heading', { name: 'Your silo' }).waitFor();
    const body = await page.locator('body').innerText();
    expect(body).toContain(owners[0].wallet.address);

    const ledgerTable = page.getByRole('table', { name: /ε committed per licence/ });
    const row = ledgerTable.locator('tbody tr', { hasText: licenceRef(first.licences[0]) });
    const rowText = await row.innerText();
    // Noiseless terms (the test shards): ε is unbounded, both training rounds are released.
    expect(rowText).toContain(String(owners[0].datasetId));
    expect(rowText).toContain('∞ (no noise)');
    expect(rowText).toContain('unlimited');
    expect(rowText).toContain(`${ROUNDS} round(s) released`);
    expect(rowText).toContain(first.id.slice(0, 12));
    expect(await row.locator(`[title="${first.licences[0]}"]`).count()).toBe(1);

    const refused = await page.getByRole('table', { name: /refused/ }).innerText();
    expect(refused).toContain(second.id.slice(0, 12));
    expect(refused).toContain('job-limit-reached');
    expect(refused).toContain('allows 1 job(s)');
    expect(await page.locator('body').innerText()).toContain('No job was halted.');
    // No script at all, and the CSP allows none.
    expect(await page.locator('script').count()).toBe(0);
    expect(await axeViolations(page)).toEqual([]);
    if (process.env.SEALFOLD_WEB_SCREENSHOTS)
      await page.screenshot({ path: join(process.env.SEALFOLD_WEB_SCREENSHOTS, 'silo-page.png'), fullPage: true });
    await page.close();
  }, 300_000);
});
