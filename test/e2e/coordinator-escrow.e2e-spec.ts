// The coordinator's escrow routes (issue 20) on a real embedded EDR chain: a job escrow opened, settled with a
// receipt the silos and the coordinator co-signed, refunded, its model registered and sold (helpers/escrow-scenario).
// GET /escrow/jobs/:id reads the chain now; the earnings list comes from the coordinator's index of JobEscrow and
// ModelAsset events (migration 7), the withdrawable amounts from the chain. Read-only: no route moves money.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedChain, type EmbeddedChain } from '@sealfold/chain';
import type { EarningsView, EscrowJobView, ModelAssetView } from '@sealfold/protocol';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import {
  ESCROW_CONTRIBUTED,
  ESCROW_RATE,
  ESCROW_ROUNDS,
  ESCROW_ROWS,
  MODEL_PRICE,
  escrowScenario,
  type EscrowScenario,
} from './helpers/escrow-scenario.js';

const FEE_BPS = 250;
const DAY = 86_400;
const fee = (amount: bigint) => (amount * BigInt(FEE_BPS)) / 10_000n;

describe('escrow routes: job escrow, earnings per job, model parents and royalties (real EDR chain)', () => {
  let dir: string;
  let chain: EmbeddedChain;
  let coordinator: RunningCoordinator;
  let s: EscrowScenario;

  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${coordinator.url}${path}`);
    return { status: res.status, body: (await res.json()) as T };
  };
  const eventually = async <T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
    const until = Date.now() + 60_000;
    for (;;) {
      const v = await read();
      if (ok(v) || Date.now() > until) return v;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-escrow-routes-'));
    chain = await startEmbeddedChain({ dataDir: join(dir, 'chain-data'), feeBps: FEE_BPS });
    s = await escrowScenario(chain);
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: chain.rpcUrl,
        SEALFOLD_CONTRACTS: join(dir, 'chain-data', 'chain', 'deployment.json'),
        SEALFOLD_INDEX_INTERVAL_MS: '100',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough() },
    );
  }, 300_000);
  afterAll(async () => {
    await coordinator?.close();
    s?.close();
    await chain?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('GET /escrow/jobs/:id: locked, paid, refunded, windows and each dataset’s payee, rate, rows and pay, from the chain', async () => {
    const { status, body } = await get<EscrowJobView>(`/escrow/jobs/${s.settledJob.slice(2).toUpperCase()}`);
    expect(status).toBe(200);
    const locked = ESCROW_ROWS.reduce((sum, rows) => sum + ESCROW_RATE * rows * BigInt(ESCROW_ROUNDS), 0n);
    const paid = s.paid.reduce((a, b) => a + b, 0n);
    expect(body).toMatchObject({
      jobId: s.settledJob,
      buyer: s.buyer.signerAddress,
      phase: 'closed',
      locked: locked.toString(),
      paid: paid.toString(),
      refunded: (locked - paid).toString(),
      threshold: 2,
      rounds: ESCROW_ROUNDS,
      feeBps: FEE_BPS,
    });
    expect(locked - paid).toBe(s.refund);
    const w = body.windows;
    expect(w.confirmEnd - w.runDeadline).toBe(DAY);
    expect(w.settleEnd - w.confirmEnd).toBe(2 * DAY);
    expect(w.chainTime).toBeLessThan(w.runDeadline);
    expect(body.datasets).toEqual(
      s.datasetIds.map((id, i) => {
        const amount = ESCROW_RATE * ESCROW_ROWS[i] * BigInt(ESCROW_CONTRIBUTED[i]);
        return expect.objectContaining({
          index: i,
          datasetId: id.toString(),
          payee: s.owners[i].signerAddress,
          ratePerRowRound: ESCROW_RATE.toString(),
          rows: ESCROW_ROWS[i].toString(),
          maxPay: (ESCROW_RATE * ESCROW_ROWS[i] * BigInt(ESCROW_ROUNDS)).toString(),
          paid: true,
          roundsPaid: ESCROW_CONTRIBUTED[i],
          amount: amount.toString(),
          fee: fee(amount).toString(),
          net: (amount - fee(amount)).toString(),
        });
      }),
    );

    const open = await get<EscrowJobView>(`/escrow/jobs/${s.openJob}`);
    expect(open.body).toMatchObject({ phase: 'running', paid: '0', refunded: null });
    expect(open.body.datasets.every((d) => !d.paid && d.amount === null)).toBe(true);
  });

  it('refuses a malformed id (400) and answers 404 for a job the escrow does not know', async () => {
    const bad = await get<{ code: string; message: string }>('/escrow/jobs/12ab');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_JOB_ID');
    const unknown = await get<{ code: string }>(`/escrow/jobs/${'ab'.repeat(32)}`);
    expect(unknown).toEqual({ status: 404, body: expect.objectContaining({ code: 'ESCROW_NOT_FOUND' }) });
    expect((await get<{ code: string }>('/escrow/earnings/0x1234')).body.code).toBe('INVALID_ADDRESS');
    const noModel = await get<{ code: string }>(`/escrow/models/${s.openJob}`);
    expect(noModel).toEqual({ status: 404, body: expect.objectContaining({ code: 'MODEL_NOT_REGISTERED' }) });
  });

  it('GET /escrow/earnings/:address: pay per job from the indexed ContributionPaid events, withdrawable from the chain', async () => {
    const owner = s.owners[0].signerAddress!;
    const { body } = await eventually(
      () => get<EarningsView>(`/escrow/earnings/${owner.toLowerCase()}`),
      (r) => r.body.jobs?.length === 1 && r.body.royalties?.length === 1,
    );
    const amount = s.paid[0];
    const net = amount - fee(amount);
    expect(body.jobs).toEqual([
      {
        jobId: s.settledJob,
        amount: amount.toString(),
        fee: fee(amount).toString(),
        net: net.toString(),
        datasets: [expect.objectContaining({ datasetId: s.datasetIds[0].toString(), rounds: 3, net: net.toString() })],
        modelId: s.settledJob,
      },
    ]);
    expect(body.totalNet).toBe(net.toString());
    expect(body.royalties).toEqual([
      expect.objectContaining({
        modelId: s.settledJob,
        datasetId: s.datasetIds[0].toString(),
        amount: s.claimed.toString(),
      }),
    ]);
    expect(body.withdrawable).toEqual({
      jobEscrow: net.toString(),
      modelAsset: s.claimed.toString(),
      total: (net + s.claimed).toString(),
    });

    // The owner withdraws with its own key; the route then shows nothing left to withdraw and the same history.
    await s.owners[0].withdrawEarnings();
    const after = await get<EarningsView>(`/escrow/earnings/${owner}`);
    expect(after.body.withdrawable.total).toBe('0');
    expect(after.body.jobs).toEqual(body.jobs);
    // Someone never paid: empty lists, nothing to withdraw.
    const stranger = await get<EarningsView>(`/escrow/earnings/0x${'12'.repeat(20)}`);
    expect(stranger.body).toMatchObject({ jobs: [], royalties: [], totalNet: '0', withdrawable: { total: '0' } });
  });

  it('GET /escrow/models/:id: the parents weighted by rows × rounds, each one’s royalty claimed and due, the sales', async () => {
    const { status, body } = await eventually(
      () => get<ModelAssetView>(`/escrow/models/${s.settledJob}`),
      (r) => r.body.sales?.length === 1,
    );
    expect(status).toBe(200);
    const stack = s.shares.reduce((a, b) => a + b, 0);
    const gross = MODEL_PRICE;
    expect(body).toMatchObject({
      modelId: s.settledJob,
      owner: s.buyer.signerAddress,
      price: MODEL_PRICE.toString(),
      gross: gross.toString(),
      stackMicros: stack,
      upstreamPot: s.upstream.toString(),
    });
    // share_i = ⌊10% × w_i / W⌋, w = rows × rounds contributed: 300, 600, 600 of 1500.
    expect(body.parents.map((p) => p.shareMicros)).toEqual([20_000, 40_000, 40_000]);
    expect(body.parents).toEqual(
      s.datasetIds.map((id, i) => {
        const owed = (gross * BigInt(s.shares[i])) / 1_000_000n;
        const claimed = i === 0 ? s.claimed : 0n;
        return {
          datasetId: id.toString(),
          shareMicros: s.shares[i],
          owner: s.owners[i].signerAddress,
          claimed: claimed.toString(),
          due: (owed - claimed).toString(),
        };
      }),
    );
    expect(body.sales).toEqual([
      expect.objectContaining({
        buyer: s.licensee.signerAddress,
        price: MODEL_PRICE.toString(),
        upstream: s.upstream.toString(),
      }),
    ]);
    const list = await get<{ modelId: string; parentCount: number }[]>('/escrow/models');
    expect(list.body).toEqual([expect.objectContaining({ modelId: s.settledJob, parentCount: 3 })]);
  });

  it('the never-settled job turns refundable after its windows, on the chain’s clock, and closes when refunded', async () => {
    await chain.request('evm_increaseTime', [3600 + 3 * DAY + 1]);
    await chain.request('evm_mine', []);
    expect((await get<EscrowJobView>(`/escrow/jobs/${s.openJob}`)).body.phase).toBe('refundable');
    const refund = await s.owners[2].refundJob(s.openJob);
    const { body } = await get<EscrowJobView>(`/escrow/jobs/${s.openJob}`);
    expect(body).toMatchObject({ phase: 'closed', refunded: refund.amount.toString(), paid: '0' });
    expect(refund.amount.toString()).toBe(body.locked);
  });

  it('documents the routes in OpenAPI with their error codes', async () => {
    const doc = (await (await fetch(`${coordinator.url}/docs-json`)).json()) as {
      paths: Record<string, { get?: { responses: Record<string, { description?: string }> } }>;
    };
    for (const path of [
      '/escrow/jobs/{jobId}',
      '/escrow/earnings/{address}',
      '/escrow/models',
      '/escrow/models/{modelId}',
    ])
      expect(doc.paths[path]?.get).toBeDefined();
    expect(doc.paths['/escrow/jobs/{jobId}'].get!.responses['404'].description).toBe('ESCROW_NOT_FOUND');
    // Read-only: no route of the escrow tag changes anything.
    const escrowPaths = Object.entries(doc.paths).filter(([p]) => p.startsWith('/escrow'));
    expect(escrowPaths.every(([, ops]) => Object.keys(ops).every((m) => m === 'get'))).toBe(true);
  });
});
