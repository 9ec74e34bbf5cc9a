// The reduced demo (`npm run demo -- --quick --rounds 3`) end to end: chain, coordinator and three silos as separate processes,
// three owners, a licensed buyer whose federated job completes and whose pulled model beats chance by far, and an
// unlicensed buyer refused before signing, with the reason and `licence buy`. Afterwards no process the demo started
// may be alive.
// The web app: a headless Chromium opens exactly the link the demo prints (a one-time sign-in link for the demo's
// buyer, embedded dev chain only) and watches the job's page update round by round until it completes; the same link
// opened again is refused, and the link is in none of the demo's logs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_VALIDATION_FRACTION, validationCount } from '../../libs/fl/src/data.js';
import { axeViolations, launchBrowser, type TestBrowser } from './helpers/browser.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface DemoSummary {
  ok: boolean;
  failedStep?: string;
  error?: string;
  pids: number[];
  rounds: { round: number; accuracy: number; baselineAccuracy: number | null }[];
  evaluation: { accuracy: number; count: number };
  refusal: { exitCode: number; code: string; message: string };
  otherBuyerPull: { exitCode: number; code: string; message: string };
  model: { files: string[]; provenance: { datasets: string[]; rounds: number } };
  owners: { datasetId: string }[];
  buyer: { address: string };
  jobId: string;
  escrow: { escrowJobId: string; lockedWei: string };
  earnings: { owners: { datasetId: string; rounds: number; netWei: string }[]; refundedWei: string | null };
}

/** What the browser saw on the job page, sample by sample (a new sample whenever something changed). */
interface PageSample {
  status: string;
  round: number;
  points: number;
}

interface FollowedLink {
  url: string;
  jobId: string;
  code: string;
  /** The address bar once the page loaded. */
  addressBar: string;
  /** The header's signed-in account (its title: the full address). */
  account: string | null;
  samples: PageSample[];
  axe: unknown[];
  /** The same link opened in a fresh tab: what the page said, and whether it still asked to sign in. */
  reused: { notice: string; needsSession: boolean };
  /** POST /dev/sign-in-links/redeem with the spent code. */
  reusedApi: { status: number; code: string };
}

/** Three rounds, not --quick's two: the page must be seen between rounds, and quick rounds take a few seconds. */
const ROUNDS = 3;

const LINK = /(http:\/\/\S+\/#\/jobs\/([0-9a-f]{64})\?signin=([A-Za-z0-9_-]+))/;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

describe('npm run demo -- --quick --rounds 3', () => {
  let dir: string;
  let exitCode: number | null;
  let output = '';
  let summary: DemoSummary;
  let child: ReturnType<typeof spawn> | undefined;
  let browser: TestBrowser | undefined;
  let followed: Promise<FollowedLink> | undefined;
  let demoExited = false;

  /** Opens the printed link as a visitor would and samples the job page until the job ends (or the demo exits). */
  const follow = async (url: string, jobId: string, code: string): Promise<FollowedLink> => {
    const page = await browser!.context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    await page.goto(url);
    const statusCard = page.getByRole('region', { name: 'Status' });
    await statusCard.waitFor({ timeout: 60_000 });
    const addressBar = page.url();
    const account = await page.locator('header .account').getAttribute('title');
    const origin = new URL(url).origin;

    // Meanwhile, in a fresh tab (its own sessionStorage): the same link again.
    const reuse = (async () => {
      const again = await browser!.context.newPage();
      await again.goto(url);
      const notice = await again.getByRole('alert').first().innerText({ timeout: 30_000 });
      const needsSession = await again.getByText(/need a signed-in session/).isVisible();
      await again.close();
      const res = await fetch(`${origin}/dev/sign-in-links/redeem`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
      return { notice, needsSession, api: { status: res.status, code: ((await res.json()) as { code: string }).code } };
    })();

    const points = page.locator('figure.chart g.s0 circle');
    const samples: PageSample[] = [];
    const shots = process.env.SEALFOLD_WEB_SCREENSHOTS;
    let midShot = false;
    const until = Date.now() + 600_000;
    for (;;) {
      const text = await statusCard.innerText();
      const status = /Status\s+(pending|running|completed|failed|cancelled)\b/.exec(text)?.[1] ?? '?';
      const round = Number(/Round\s+(\d+) of/.exec(text)?.[1] ?? -1);
      const n = await points.count();
      const last = samples.at(-1);
      if (!last || last.status !== status || last.round !== round || last.points !== n)
        samples.push({ status, round, points: n });
      if (shots && !midShot && status === 'running' && n >= 1) {
        midShot = true;
        await page.screenshot({ path: join(shots, 'demo-job-running.png'), fullPage: true });
      }
      if (status === 'completed' || status === 'failed' || demoExited || Date.now() > until) break;
      await page.waitForTimeout(100);
    }
    // The last round's rows and chart point arrive with the final progress message; give them a moment.
    await page
      .getByRole('table', { name: 'Rounds' })
      .locator('tbody tr')
      .nth(ROUNDS - 1)
      .waitFor({ timeout: 10_000 });
    const n = await points.count();
    if (samples.at(-1)!.points !== n) samples.push({ ...samples.at(-1)!, points: n });
    const axe = await axeViolations(page);
    if (shots) await page.screenshot({ path: join(shots, 'demo-job-completed.png'), fullPage: true });
    const reused = await reuse;
    await page.close();
    return {
      url,
      jobId,
      code,
      addressBar,
      account,
      samples,
      axe,
      reused: { notice: reused.notice, needsSession: reused.needsSession },
      reusedApi: reused.api,
    };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-demo-'));
    browser = await launchBrowser();
    child = spawn(
      process.execPath,
      // The demo compiles dist/ itself when a source is newer than its last build.
      [join(ROOT, 'scripts/demo.mjs'), '--quick', '--rounds', String(ROUNDS), '--dir', join(dir, 'demo')],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const demo = child;
    demo.stdout!.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      // Exactly what the demo prints: the first link line, opened the moment it appears.
      const m = followed ? null : LINK.exec(output);
      if (m) {
        followed = follow(m[1], m[2], m[3]);
        followed.catch(() => {});
      }
    });
    demo.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    exitCode = await new Promise<number | null>((resolve) => demo.once('close', (code) => resolve(code)));
    demoExited = true;
    summary = JSON.parse(await readFile(join(dir, 'demo', 'summary.json'), 'utf8')) as DemoSummary;
  }, 900_000);

  afterAll(async () => {
    // A demo still running (the hook timed out) is stopped: it stops its own children on SIGTERM.
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((resolve) => child!.once('close', resolve));
      child.kill('SIGTERM');
      await closed;
    }
    await followed?.catch(() => undefined);
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('completes and exits 0', () => {
    if (exitCode !== 0) throw new Error(`demo exited ${exitCode}:\n${output.slice(-4000)}`);
    expect(summary.ok).toBe(true);
  });

  it('trains a model far above chance that the buyer can load and evaluate', () => {
    expect(summary.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    for (const r of summary.rounds) expect(r.accuracy).toBeGreaterThan(0.3);
    // 10 classes: chance is 0.1.
    expect(summary.evaluation.count).toBe(500);
    expect(summary.evaluation.accuracy).toBeGreaterThan(0.5);
    // On unseen digits, with the bundle's input encoding applied, the pulled model does about as well as a model
    // trained centrally on the pooled shards (deterministic: 0.862) on the same 500 digits: the comparison is paired,
    // so only the federated training varies (0.798-0.832 in four runs). Raw pixels fed to it scored 0.568.
    const last = summary.rounds[summary.rounds.length - 1];
    expect(summary.evaluation.accuracy).toBeGreaterThan(last.baselineAccuracy! - 0.12);
    // And about as well as the federated evaluation of the same model said. That one is measured on the silos' held-out
    // rows, 10 % of 300 per owner (90 in all): its standard error alone is ~0.04, so 0.1 was exceeded in CI (0.900 on
    // those 90 rows, 0.798 on the 500 test digits). The bound is 5 standard errors of the difference of the two.
    const federatedRows = summary.owners.length * validationCount(300, DEFAULT_VALIDATION_FRACTION);
    const p = last.accuracy;
    const standardError = Math.sqrt(p * (1 - p) * (1 / federatedRows + 1 / summary.evaluation.count));
    expect(summary.evaluation.accuracy).toBeGreaterThan(p - 5 * standardError);
    expect(summary.model.files).toEqual(expect.arrayContaining(['model.json', 'weights.bin']));
    expect(summary.model.provenance.rounds).toBe(ROUNDS);
    expect([...summary.model.provenance.datasets].sort()).toEqual(summary.owners.map((o) => o.datasetId).sort());
  });

  it('pays every owner through the job escrow for the rounds its silo co-signed, and refunds the rest', () => {
    expect(summary.escrow.escrowJobId).toMatch(/^0x[0-9a-f]{64}$/);
    expect(summary.earnings.owners.map((o) => o.rounds)).toEqual([ROUNDS, ROUNDS, ROUNDS]);
    const paid = summary.earnings.owners.reduce((sum, o) => sum + BigInt(o.netWei), 0n);
    for (const o of summary.earnings.owners) expect(BigInt(o.netWei)).toBeGreaterThan(0n);
    // Everything paid (fee 0 on the dev chain): the refund is open at once and returns the rest, exactly.
    expect(BigInt(summary.earnings.refundedWei ?? -1)).toBe(BigInt(summary.escrow.lockedWei) - paid);
  });

  it('refuses the buyer without licences before signing, naming `licence buy`', () => {
    expect(summary.refusal.exitCode).toBe(1);
    expect(summary.refusal.code).toBe('NO_LICENCE');
    expect(summary.refusal.message).toMatch(/no valid licence for datasets? .*`sealfold licence buy \d+`/);
  });

  it("trains on silos started from encrypted keystores: no plaintext key under any owner's home", async () => {
    const owners = (await readdir(join(dir, 'demo'))).filter((name) => name.startsWith('owner-'));
    expect(owners).toHaveLength(3);
    for (const owner of owners) {
      const files = (await readdir(join(dir, 'demo', owner), { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const text = (await readFile(file)).toString('latin1');
        expect({ file, ageSecret: /AGE-SECRET-KEY/i.test(text) }).toEqual({ file, ageSecret: false });
        // A wallet key in the clear is 32 bytes of hex after `privateKey`; the encrypted keystore has none.
        expect({ file, walletKey: /"privateKey"\s*:/.test(text) }).toEqual({ file, walletKey: false });
      }
    }
  });

  it("refuses the model to another wallet: the coordinator does not even say another buyer's model exists", () => {
    expect(summary.otherBuyerPull).toMatchObject({ exitCode: 1, code: 'MODEL_NOT_FOUND' });
    expect(summary.otherBuyerPull.message).toMatch(/no model for job [0-9a-f]{64} \(yet\)/);
  });

  it("prints a link that opens the demo's job in the web app, signed in as its buyer, updating live to the end", async () => {
    expect(followed).toBeDefined();
    const f = await followed!;
    expect(f.jobId).toBe(summary.jobId);
    expect(f.url.startsWith(`${/web app: (http:\/\/\S+?)\/ /.exec(output)?.[1]}/#/jobs/`)).toBe(true);
    // The code left the address bar before anything rendered; the tab is signed in as the demo's buyer.
    expect(f.addressBar).toBe(f.url.replace(/\?signin=.*$/, ''));
    expect(f.account?.toLowerCase()).toBe(summary.buyer.address.toLowerCase());
    // Live: the page showed the job running with fewer rounds charted than planned, then completed with all of them.
    const running = f.samples.filter((x) => x.status === 'running' && x.points < ROUNDS);
    if (running.length === 0) throw new Error(`never saw the job running: ${JSON.stringify(f.samples)}`);
    expect(f.samples.at(-1)).toMatchObject({ status: 'completed', round: ROUNDS, points: ROUNDS });
    const counts = f.samples.map((x) => x.points);
    expect(counts).toEqual([...counts].sort((a, b) => a - b)); // the chart only grows…
    expect(new Set(counts).size).toBeGreaterThanOrEqual(2); // …and grew while the page was open
    expect(f.axe).toEqual([]);
  });

  it('refuses the same link a second time, in the page and at the API', async () => {
    const f = await followed!;
    expect(f.reused.notice).toMatch(/already used or has expired/);
    expect(f.reused.needsSession).toBe(true);
    expect(f.reusedApi).toEqual({ status: 401, code: 'SIGN_IN_LINK_INVALID' });
  });

  it("keeps the link's code out of every log and the summary", async () => {
    const f = await followed!;
    const files = (await readdir(join(dir, 'demo'), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile() && /\.(log|json)$/.test(e.name))
      .map((e) => join(e.parentPath, e.name));
    expect(files.some((file) => file.endsWith('coordinator.log'))).toBe(true);
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      expect({ file, leaked: text.includes(f.code) }).toEqual({ file, leaked: false });
    }
  });

  it('leaves no process behind', () => {
    expect(summary.pids.length).toBeGreaterThanOrEqual(5);
    expect(summary.pids.filter(alive)).toEqual([]);
  });
});
