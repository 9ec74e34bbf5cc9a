// The coordinator's database on both engines: node:sqlite (a temp file) and PostgreSQL (a real server from npm,
// test/postgres.ts). The same repositories and migrations run on each; the engine-specific parts (placeholders,
// 64-bit integers, BYTEA, unique violations, the migration lock) are what these specs pin.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type JobRequest } from '@sealfold/protocol';
import { sampleJobRequest } from '../../../../libs/protocol/test/job-request.js';
import { TEST_JOB_SCHEMA } from '../../../../test/e2e/helpers/chain-fixture.js';
import { startPostgres, type TestPostgres } from '../../../../test/postgres.js';
import { AuthRepository } from '../auth/auth.repository.js';
import { DatasetsRepository } from '../datasets/datasets.repository.js';
import type { EscrowEvent } from '../chain/chain.port.js';
import { EscrowRepository } from '../escrow/escrow.repository.js';
import { JobsRepository, NonceReplayError } from '../jobs/jobs.repository.js';
import { JobLeases, LeaseLostError } from '../rounds/job-leases.js';
import { RoundsRepository, type RoundRecord } from '../rounds/rounds.repository.js';
import { CoordinatorDatabase } from './database.js';
import { MIGRATIONS } from './migrations.js';
import { numberPlaceholders } from './postgres-connection.js';

const request = (nonce: bigint): JobRequest => ({ ...sampleJobRequest(), nonce });
const jobId = (n: number) => n.toString(16).padStart(64, '0');
const round = (n: number, status: RoundRecord['status'] = 'completed'): RoundRecord => ({
  round: n,
  status,
  participants: 3,
  dropouts: 0,
  loss: 0.25,
  accuracy: 0.875,
  reason: null,
  startedAt: 1_700_000_000_000,
  finishedAt: 1_700_000_000_123,
});

describe('numberPlaceholders (PostgreSQL parameters)', () => {
  it('numbers each ? outside quoted strings and identifiers', () => {
    expect(numberPlaceholders(`SELECT ?, '?', "a?b", ? FROM t WHERE x = ?`)).toBe(
      `SELECT $1, '?', "a?b", $2 FROM t WHERE x = $3`,
    );
  });
});

describe.each(['sqlite', 'postgres'] as const)('coordinator database on %s', (engine) => {
  let dir: string;
  let postgres: TestPostgres | undefined;
  let n = 0;
  /** A fresh, empty database of this engine. */
  const location = async () => (engine === 'postgres' ? postgres!.database() : join(dir, `db${++n}.sqlite`));
  const open = async () => (await CoordinatorDatabase.open(await location())).db;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-db-'));
    if (engine === 'postgres') postgres = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies every migration once, also when two coordinators open a new database together', async () => {
    const where = await location();
    // Several coordinators share PostgreSQL only; on SQLite (one coordinator per file) the second opens after.
    const [a, b] =
      engine === 'postgres'
        ? await Promise.all([CoordinatorDatabase.open(where), CoordinatorDatabase.open(where)])
        : [await CoordinatorDatabase.open(where), await CoordinatorDatabase.open(where)];
    try {
      expect(a.db.engine).toBe(engine);
      const all = MIGRATIONS.map((m) => m.version);
      expect([...a.applied, ...b.applied].sort()).toEqual(all);
      const recorded = await a.db.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(recorded.map((r) => Number(r.version))).toEqual(all);
      const again = await CoordinatorDatabase.open(where);
      expect(again.applied).toEqual([]);
      await again.db.close();
    } finally {
      await a.db.close();
      await b.db.close();
    }
  });

  it('stores jobs: a replayed nonce is refused, status changes are compare-and-set', async () => {
    const db = await open();
    try {
      const jobs = new JobsRepository(db);
      const job = await jobs.insert({
        id: jobId(1),
        request: request(7n),
        signature: '0x00',
        modelSpec: { a: 1 },
        jobSchema: TEST_JOB_SCHEMA,
      });
      expect(job).toMatchObject({
        status: 'pending',
        currentRound: 0,
        request: request(7n),
        modelSpec: { a: 1 },
        jobSchema: TEST_JOB_SCHEMA,
      });
      expect(typeof job.createdAt).toBe('number');
      await expect(
        jobs.insert({
          id: jobId(2),
          request: request(7n),
          signature: '0x00',
          modelSpec: {},
          jobSchema: TEST_JOB_SCHEMA,
        }),
      ).rejects.toBeInstanceOf(NonceReplayError);
      expect(await jobs.nonceUsed(request(7n).buyer, 7n)).toBe(true);
      expect(await jobs.nonceUsed(request(7n).buyer, 8n)).toBe(false);
      expect(await jobs.transition(jobId(1), ['pending'], 'running')).toBe(true);
      expect(await jobs.transition(jobId(1), ['pending'], 'cancelled')).toBe(false);
      expect((await jobs.withStatus('running')).map((j) => j.id)).toEqual([jobId(1)]);
      expect((await jobs.list({ buyer: request(7n).buyer, limit: 5 })).map((j) => j.id)).toEqual([jobId(1)]);
    } finally {
      await db.close();
    }
  });

  it('commits rounds with their model bytes once, and records abandoned rounds and the round in flight', async () => {
    const db = await open();
    try {
      await new JobsRepository(db).insert({
        id: jobId(3),
        request: request(9n),
        signature: '0x00',
        modelSpec: {},
        jobSchema: TEST_JOB_SCHEMA,
      });
      const rounds = new RoundsRepository(db);
      const weights = Float32Array.from([0.5, -1.25, 3e-8, Math.PI]);
      await db.transaction((tx) => rounds.markInflight(tx, jobId(3), 1, 'started'));
      expect(await rounds.inflight(jobId(3))).toEqual({ round: 1, stage: 'started' });
      await db.transaction((tx) => rounds.commitRound(tx, jobId(3), weights, '{"m":[1]}', round(1)));
      expect(await rounds.inflight(jobId(3))).toBeUndefined();
      const committed = (await rounds.lastCommitted(jobId(3)))!;
      expect(committed.round).toBe(1);
      expect(Array.from(committed.weights)).toEqual(Array.from(weights));
      expect(committed.strategyState).toBe('{"m":[1]}');
      // A round is committed once: a second commit of round 1 fails and leaves everything as it was.
      await expect(
        db.transaction((tx) => rounds.commitRound(tx, jobId(3), Float32Array.from([9]), undefined, round(1))),
      ).rejects.toThrow();
      expect(Array.from((await rounds.lastCommitted(jobId(3)))!.weights)).toEqual(Array.from(weights));
      await db.transaction((tx) => rounds.markInflight(tx, jobId(3), 2, 'released'));
      await db.transaction((tx) => rounds.insertRound(tx, jobId(3), { ...round(2, 'abandoned'), reason: 'lost' }));
      expect(await rounds.inflight(jobId(3))).toBeUndefined();
      expect((await rounds.rounds(jobId(3))).map((r) => [r.round, r.status])).toEqual([
        [1, 'completed'],
        [2, 'abandoned'],
      ]);
      expect((await rounds.rounds(jobId(3)))[0]).toEqual(round(1));
      await db.transaction((tx) =>
        rounds.recordParticipant(tx, jobId(3), {
          datasetId: '1',
          clientId: 1,
          silo: '0xabc',
          accepted: true,
          reason: null,
        }),
      );
      expect(await rounds.participants(jobId(3))).toEqual([
        { datasetId: '1', clientId: 1, silo: '0xabc', accepted: true, reason: null },
      ]);
    } finally {
      await db.close();
    }
  });

  it('indexes datasets: a changed manifest CID clears the manifest, the same CID (or none) keeps it', async () => {
    const db = await open();
    try {
      const datasets = new DatasetsRepository(db);
      const d = { datasetId: 5n, owner: '0xOwner', tokenUri: 'ipfs://x', manifestCid: 'bafyA' };
      await datasets.upsertDataset(d, 10n);
      await db.run(`UPDATE datasets SET manifest_json = '{}' WHERE id = '5'`);
      await datasets.upsertDataset(d, 11n);
      expect(await db.get('SELECT manifest_json, block_number FROM datasets')).toEqual({
        manifest_json: '{}',
        block_number: 11,
      });
      await datasets.upsertDataset({ ...d, manifestCid: 'bafyB' }, 12n);
      expect(await db.get('SELECT manifest_json FROM datasets')).toEqual({ manifest_json: null });
      expect((await datasets.withoutManifest(5)).map((x) => x.id)).toEqual(['5']);
      expect((await datasets.datasets({ owner: '0xowner' })).map((x) => x.id)).toEqual(['5']);
      const cursor = datasets.cursor('c');
      expect(await cursor.load()).toBeUndefined();
      await cursor.save(2n ** 60n);
      expect(await cursor.load()).toBe(2n ** 60n);
    } finally {
      await db.close();
    }
  });

  it('indexes job escrows and models: a batch delivered twice changes nothing, a failing batch leaves nothing', async () => {
    const db = await open();
    try {
      const repo = new EscrowRepository(db);
      const job = `0x${'a1'.repeat(32)}`;
      const payee = `0x${'Bc'.repeat(20)}`;
      const at = (n: number) => ({ blockNumber: 7n, txHash: `0x${'0f'.repeat(32)}`, logIndex: n });
      const batch: EscrowEvent[] = [
        {
          ...at(0),
          kind: 'JobOpened',
          jobId: job,
          buyer: `0x${'11'.repeat(20)}`,
          requestDigest: `0x${'22'.repeat(32)}`,
          termsHash: `0x${'33'.repeat(32)}`,
          locked: 2n ** 100n, // above 64 bits: stored as a decimal string
          runDeadline: 2_000_000_000n,
        },
        { ...at(1), kind: 'ContributionPaid', jobId: job, datasetId: 4n, payee, rounds: 3, amount: 2n ** 70n, fee: 5n },
        { ...at(2), kind: 'JobRefunded', jobId: job, buyer: `0x${'11'.repeat(20)}`, amount: 9n },
        {
          ...at(3),
          kind: 'ModelRegistered',
          modelId: job,
          owner: `0x${'11'.repeat(20)}`,
          receiptDigest: `0x${'44'.repeat(32)}`,
          parentsRoot: `0x${'55'.repeat(32)}`,
          stackMicros: 100_000,
          parentCount: 1,
        },
        {
          ...at(4),
          kind: 'ModelLicenceSold',
          modelId: job,
          buyer: `0x${'66'.repeat(20)}`,
          owner: `0x${'11'.repeat(20)}`,
          price: 1000n,
          fee: 25n,
          upstream: 100n,
        },
        { ...at(5), kind: 'UpstreamClaimed', modelId: job, datasetId: 4n, account: payee, amount: 100n },
      ];
      await repo.record(batch);
      await repo.record(batch);
      const payments = await repo.paymentsTo(payee.toLowerCase());
      expect(payments).toEqual([
        expect.objectContaining({ jobId: job, datasetId: '4', amount: (2n ** 70n).toString(), modelRegistered: true }),
      ]);
      expect(await repo.claimsFor(payee)).toHaveLength(1);
      expect(await repo.salesOf(job)).toEqual([expect.objectContaining({ price: '1000', upstream: '100' })]);
      expect(await repo.models()).toEqual([expect.objectContaining({ modelId: job, stackMicros: 100_000 })]);
      const row = await db.get<{ locked: string; refunded: string }>('SELECT locked, refunded FROM escrow_jobs');
      expect(row).toEqual({ locked: (2n ** 100n).toString(), refunded: '9' });
      // One bad event rolls its whole batch back (a NOT NULL column left empty).
      const other = `0x${'b2'.repeat(32)}`;
      await expect(
        repo.record([
          { ...batch[0], jobId: other, logIndex: 9 } as EscrowEvent,
          { ...batch[1], jobId: other, payee: null as unknown as string } as EscrowEvent,
        ]),
      ).rejects.toThrow();
      expect(await db.all('SELECT job_id FROM escrow_jobs WHERE job_id = ?', other)).toEqual([]);
      const cursor = repo.cursor();
      await cursor.save(12n);
      expect(await repo.indexedTo()).toBe(12n);
    } finally {
      await db.close();
    }
  });

  it('uses a sign-in nonce once and counts the outstanding ones', async () => {
    const db = await open();
    try {
      const auth = new AuthRepository(db);
      const now = Date.now();
      await auth.insertNonce('n1', now + 60_000);
      await auth.insertNonce('n2', now - 1);
      expect(await auth.purge(now)).toBe(1);
      expect(await auth.consumeNonce('n1', now)).toBe(true);
      expect(await auth.consumeNonce('n1', now)).toBe(false);
      await auth.insertSession('h', '0xa', now, now + 1000);
      expect(await auth.session('h', now)).toEqual({ address: '0xa', expiresAt: now + 1000 });
      expect(await auth.session('h', now + 1000)).toBeUndefined();
    } finally {
      await db.close();
    }
  });

  it('leases a job to one holder; a takeover raises the fencing token and the old holder can write nothing', async () => {
    const db = await open();
    try {
      await new JobsRepository(db).insert({
        id: jobId(4),
        request: request(11n),
        signature: '0x00',
        modelSpec: {},
        jobSchema: TEST_JOB_SCHEMA,
      });
      const leases = new JobLeases(db);
      const rounds = new RoundsRepository(db);
      const t = 1_000_000;
      const a = (await leases.acquire(jobId(4), 'A', 1000, t))!;
      expect(a).toEqual({ jobId: jobId(4), holder: 'A', token: 1, expiresAt: t + 1000 });
      // Held and unexpired: B is refused; A renews.
      expect(await leases.acquire(jobId(4), 'B', 1000, t + 500)).toBeUndefined();
      expect(await leases.renew(a, 1000, t + 600)).toEqual({ ...a, expiresAt: t + 1600 });
      // A pauses past its lease: B takes the job with a larger token.
      const b = (await leases.acquire(jobId(4), 'B', 1000, t + 1600))!;
      expect(b.token).toBe(2);
      expect(await leases.renew(a, 1000, t + 1700)).toBeUndefined();
      // A's commit is refused as a whole (the lease check is in the write's own transaction).
      await expect(
        leases.fenced(a, (tx) => rounds.commitRound(tx, jobId(4), Float32Array.from([1]), undefined, round(1))),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await rounds.lastCommitted(jobId(4))).toBeUndefined();
      expect(await rounds.rounds(jobId(4))).toEqual([]);
      await leases.fenced(b, (tx) => rounds.commitRound(tx, jobId(4), Float32Array.from([2]), undefined, round(1)));
      expect((await rounds.lastCommitted(jobId(4)))!.round).toBe(1);
      // Released at shutdown: the next holder need not wait for it to lapse.
      await leases.release(b);
      expect((await leases.acquire(jobId(4), 'C', 1000, t + 1800))!.token).toBe(3);
      expect((await leases.current(jobId(4)))!.holder).toBe('C');
    } finally {
      await db.close();
    }
  });

  it('runs transaction bodies atomically while other statements wait', async () => {
    const db = await open();
    try {
      await db.run(`INSERT INTO meta (key, value) VALUES ('k', '0')`);
      let inside!: () => void;
      const entered = new Promise<void>((resolve) => (inside = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const tx = db.transaction(async (t) => {
        await t.run(`UPDATE meta SET value = '1' WHERE key = 'k'`);
        inside();
        await gate;
        throw new Error('roll back');
      });
      await entered;
      const read = db.meta('k');
      release();
      await expect(tx).rejects.toThrow('roll back');
      expect(await read).toBe('0');
      expect(await db.metaOnce('k', '2')).toBe('0');
      // A body that bypasses its tx fails at once on SQLite (it would wait for itself); PostgreSQL runs it outside.
      if (engine === 'sqlite')
        await expect(db.transaction(() => db.meta('k'))).rejects.toThrow(/must go through its `tx`/);
    } finally {
      await db.close();
    }
  });
});
