// The web app's escrow pages (issue 20) and the New job page's signed feature ranges (issue 13), in a real headless
// Chromium against a real coordinator on an embedded EDR chain (as web-buyer.e2e-spec.ts). An owner sees what a
// settled job escrow paid each of its datasets, the fee, the net and what it can withdraw; the model that job
// trained shows its parents, each one's share, royalty claimed and due, and its licence sales. With DP on, the buyer
// signs ranges for the job plan's numeric features: the signed schema carries them exactly as `job create
// --feature-range` signs them. Screenshots go to SEALFOLD_WEB_SCREENSHOTS when it is set.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  connectChain,
  createProvider,
  startEmbeddedChain,
  type EmbeddedChain,
  type SealfoldChain,
} from '@sealfold/chain';
import { serializeManifest, type Manifest } from '@sealfold/dataset';
import { jobSchemaHash, withFeatureRanges, type JobPlanView, type JobView } from '@sealfold/protocol';
import { JsonRpcProvider, Wallet } from 'ethers';
import type { Page } from 'playwright-core';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../../apps/coordinator/src/models/content-store.port.js';
import { axeViolations, injectWallet, launchBrowser, type TestBrowser } from './helpers/browser.js';
import { TEST_RECIPIENT, cidOf, commitmentOf } from './helpers/chain-fixture.js';
import { escrowScenario, type EscrowScenario } from './helpers/escrow-scenario.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FEE_BPS = 250;
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const CLASSES = ['setosa', 'versicolor', 'virginica'];

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
    createdAt: '2026-12-05T08:00:00.000Z',
    terms: { priceWei: '1000000000000000', licenceDurationSeconds: 30 * 86_400, epsilonBudget: 100 },
  };
}

describe('web: earnings per job, model parents and royalties, signed feature ranges (Chromium, EDR chain)', () => {
  let dir: string;
  let chain: EmbeddedChain;
  let coordinator: RunningCoordinator;
  let provider: JsonRpcProvider;
  let browser: TestBrowser;
  let s: EscrowScenario;
  let irisOwner: SealfoldChain;
  const irisIds: string[] = [];
  const screenshots = process.env.SEALFOLD_WEB_SCREENSHOTS;

  const open = async (path: string, wallet: Wallet): Promise<Page> => {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    await injectWallet(page, { wallet, chainId: chain.chainId, reject: false }, provider, chain.rpcUrl);
    await page.goto(`${coordinator.url}/${path}`);
    return page;
  };
  const shot = async (page: Page, name: string) => {
    if (screenshots) await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  };
  const wallet = (i: number) => new Wallet(chain.accounts[i].privateKey);
  const eth = (wei: bigint) => {
    const frac = (wei % 10n ** 18n).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '');
    return `${wei / 10n ** 18n}${frac ? `.${frac}` : ''} ETH`;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-web-escrow-'));
    const webDir = join(dir, 'web');
    execFileSync(process.execPath, [join(ROOT, 'apps/web/build.mjs'), '--out', webDir], { stdio: 'pipe' });
    chain = await startEmbeddedChain({ dataDir: join(dir, 'chain-data'), feeBps: FEE_BPS });
    s = await escrowScenario(chain);
    provider = createProvider(chain.rpcUrl, chain.chainId);
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: chain.rpcUrl,
        SEALFOLD_CONTRACTS: join(dir, 'chain-data', 'chain', 'deployment.json'),
        SEALFOLD_INDEX_INTERVAL_MS: '100',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough(), webDir },
    );
    // Three iris shards with manifests (for the New job page), licensed to the buyer of account 7.
    const store = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    irisOwner = await connectChain({ embedded: chain, signer: chain.accounts[6].privateKey });
    for (const name of ['iris north', 'iris east', 'iris west']) {
      const m = manifest(irisOwner.signerAddress!, name);
      const { datasetId } = await irisOwner.registerDataset({
        manifestCid: await store.add(serializeManifest(m)),
        commitment: `0x${m.commitment}`,
        terms: { priceWei: 10n ** 15n, licenceDuration: BigInt(30 * 86_400), maxJobs: 5, epsilonBudgetMilli: 100_000 },
      });
      await irisOwner.grantLicence(datasetId, wallet(7).address, {
        duration: BigInt(30 * 86_400),
        maxJobs: 5,
        epsilonBudgetMilli: 100_000,
      });
      irisIds.push(datasetId.toString());
    }
    browser = await launchBrowser();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    provider?.destroy();
    await coordinator?.close();
    irisOwner?.close();
    s?.close();
    await chain?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows an owner what each job paid its datasets, the fee, the net and what it can withdraw', async () => {
    const page = await open('#/earnings', wallet(2)); // the owner of the scenario's second dataset
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    const table = page.locator('main table', { has: page.getByText('Pay per job') });
    await table.locator('tbody tr').first().waitFor({ timeout: 60_000 });
    const amount = s.paid[1];
    const fee = (amount * BigInt(FEE_BPS)) / 10_000n;
    const row = await table.locator('tbody tr').first().innerText();
    expect(row).toContain(`#${s.datasetIds[1]}`);
    expect(row).toContain(eth(amount));
    expect(row).toContain(eth(fee));
    expect(row).toContain(eth(amount - fee));
    const withdrawable = page.getByRole('region', { name: 'Withdrawable now' });
    expect(await withdrawable.innerText()).toContain(eth(amount - fee));
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'earnings');

    // The job's model: its parents weighted by rows × rounds (300, 600, 600 of 1500 at a 10% derivative share),
    // dataset 1's royalty claimed, the others' still due, and the one licence sale.
    await page.getByRole('link', { name: 'parents and royalties' }).click();
    const parents = page.locator('main table', { has: page.getByText(/Parents: the datasets that trained it/) });
    await parents.locator('tbody tr').nth(2).waitFor({ timeout: 30_000 });
    const rows = await parents.locator('tbody tr').allInnerTexts();
    expect(rows.map((r) => r.split('\t')[2])).toEqual(['2%', '4%', '4%']);
    const gross = 10n ** 16n;
    expect(rows[0]).toContain(eth(s.claimed));
    expect(rows[1]).toContain(eth((gross * 40_000n) / 1_000_000n));
    const main = await page.locator('main').innerText();
    expect(main).toContain('10% of every sale');
    expect(main).toContain(eth(s.upstream));
    expect(main).toContain(s.licensee.signerAddress!.slice(0, 6));
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'model-royalties');
    await page.close();
  });

  it('says so when an owner has no earnings, and when a model id is not registered', async () => {
    const page = await open('#/earnings', wallet(7));
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    await page.getByText('No job has paid your datasets yet.').waitFor({ timeout: 30_000 });
    await page.goto(`${coordinator.url}/#/model-assets/${s.openJob.slice(2)}`);
    await page.getByText(/MODEL_NOT_REGISTERED/).waitFor({ timeout: 30_000 });
    await page.close();
  });

  it('with DP on, signs ranges for the plan’s numeric features into the job schema, as job create --feature-range', async () => {
    const buyer = wallet(7);
    const page = await open('#/new-job', buyer);
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    await page.getByRole('button', { name: 'Sign in' }).first().click();
    await page.getByText(/Signed in as/).waitFor({ timeout: 30_000 });
    for (const name of ['iris north', 'iris east', 'iris west'])
      await page.getByRole('checkbox', { name: new RegExp(name) }).check({ timeout: 30_000 });
    await page.getByLabel(/Your age recipient/).fill(TEST_RECIPIENT);
    // No range input without DP; with noise, one pair per numeric feature of the job plan.
    expect(await page.getByLabel('sepal_length min').count()).toBe(0);
    await page.getByLabel(/DP noise multiplier/).fill('1.5');
    await page.getByLabel('petal_width max').waitFor({ timeout: 30_000 });
    // A half-filled range is refused before the wallet is asked.
    await page.getByLabel('sepal_length min').fill('4');
    await page.getByRole('button', { name: 'Sign and submit' }).click();
    await page.getByText(/Feature range of sepal_length: give both bounds/).waitFor();
    await page.getByLabel('sepal_length max').fill('8');
    // Editing the form clears the error of the last submit: it no longer describes the form.
    await page.getByText(/Feature range of sepal_length/).waitFor({ state: 'detached' });
    await page.getByLabel('petal_width min').fill('0');
    await page.getByLabel('petal_width max').fill('2.5');
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'new-job-ranges');
    // Submitted from the keyboard: right after a full-page screenshot, a pointer click can land on the form beside
    // the button (seen: the click event's target was the <form>).
    await page.getByRole('button', { name: 'Sign and submit' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/jobs\/[0-9a-f]{64}$/, { timeout: 120_000 }).catch(async (error: unknown) => {
      await shot(page, 'new-job-failed');
      throw new Error(`no job page: ${await page.locator('main').innerText()}`, { cause: error });
    });
    const jobId = /#\/jobs\/([0-9a-f]{64})$/.exec(page.url())![1];
    const token = (
      JSON.parse(String(await page.evaluate("sessionStorage.getItem('sealfold.session')"))) as {
        token: string;
      }
    ).token;
    const job = (await (
      await fetch(`${coordinator.url}/jobs/${jobId}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as JobView;
    // What the CLI signs for `--feature-range sepal_length=4:8 --feature-range petal_width=0:2.5`.
    const plan = (await (
      await fetch(`${coordinator.url}/jobs/plan?datasets=${irisIds.join(',')}`)
    ).json()) as JobPlanView;
    const expected = withFeatureRanges(plan.schema, { sepal_length: [4, 8], petal_width: [0, 2.5] });
    expect(job.jobSchema).toEqual(expected);
    expect(job.request.jobSchemaHash).toBe(jobSchemaHash(expected));
    expect(job.request.jobSchemaHash).not.toBe(plan.hash);
    const ranged = job.jobSchema.features.filter((f) => f.type === 'numeric' && f.range);
    expect(ranged.map((f) => [f.name, f.type === 'numeric' ? f.range : undefined])).toEqual([
      ['sepal_length', [4, 8]],
      ['petal_width', [0, 2.5]],
    ]);
    expect(job.request.dp.noiseMultiplierMilli).toBe(1500);
    await page.close();
  }, 300_000);
});
