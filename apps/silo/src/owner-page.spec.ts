// The owner's page over a real ledger (node:sqlite in a temp dir): what it lists, that values are escaped (a refusal
// message is text a buyer's request can influence), and that it is locked without its token.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { licenceRef } from '@sealfold/protocol';
import { EpsilonLedger } from './ledger.js';
import { escapeHtml, startOwnerPage, type OwnerPage } from './owner-page.js';

// LicenceId.sol layout: serial (56) | datasetId (64) | expiresAt (64) | maxJobs (32) | epsilonBudgetMilli (32) | granted.
const licenceId = (serial: bigint, datasetId: bigint, maxJobs: bigint, epsMilli: bigint) =>
  (serial << 200n) | (datasetId << 136n) | (2_000_000_000n << 72n) | (maxJobs << 40n) | (epsMilli << 8n);
const TOKEN = 'unit-test-token-abcdefghijklmnop';

describe('owner page over the ε ledger', () => {
  let dir: string;
  let ledger: EpsilonLedger;
  let page: OwnerPage;
  const licence = licenceId(2n, 7n, 3n, 8000n);
  const job = 'ab'.repeat(32);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-owner-page-'));
    ledger = EpsilonLedger.open(join(dir, 'ledger.db'));
    ledger.reserve(licence, job, 2.5, { maxJobs: 3, budget: 8 });
    ledger.book(licence, { jobId: job, round: 1, kind: 'train', weightsHash: '00' }, () => 1.25);
    ledger.halt(licence, job, 'revoked: licence <b>revoked</b>');
    ledger.recordRefusal('cd'.repeat(32), 7n, 'model-mismatch', '<script>alert(1)</script> & "quotes"');
    page = await startOwnerPage({
      ledger,
      owner: '0x00000000000000000000000000000000000000aa',
      status: () => ({ datasets: ['7'], connection: 'ready' }),
      token: TOKEN,
    });
  });

  afterAll(async () => {
    await page.close();
    ledger.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists licences with ε spent and budget, jobs, refusals and halts', () => {
    const [view] = ledger.licences();
    expect(view.licenceId).toBe(licence);
    expect(view.spent).toBe(2.5); // the reservation counts until releases exceed it
    expect(view.jobs).toEqual([
      expect.objectContaining({ jobId: job, plannedEpsilon: 2.5, releasedEpsilon: 1.25, rounds: 1 }),
    ]);
    expect(view.jobs[0].halted).toContain('revoked');
    expect(ledger.refusals()).toEqual([expect.objectContaining({ datasetId: 7n, reason: 'model-mismatch' })]);
  });

  it('escapes every value and is locked without the token', async () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect((await fetch(`${page.origin}/`)).status).toBe(401);
    const html = await (await fetch(`${page.origin}/`, { headers: { cookie: `sealfold_silo=${TOKEN}` } })).text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('licence &lt;b&gt;revoked&lt;/b&gt;');
    expect(html).toContain(licenceRef(licence)); // 7-2
    expect(html).toMatch(/<td>2\.500<\/td><td>8<\/td><td>1 of 3<\/td>/);
  });
});
