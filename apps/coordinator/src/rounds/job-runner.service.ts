// Schedules and drives jobs: a JobRun per job this coordinator holds the lease of (job-leases.ts), fed with the
// gateway's frames. Coordinators sharing one database each scan for running and pending jobs whose lease is free or
// lapsed and take them: on start, after a holder died, or when a job is submitted. A run resumes from the job's last
// committed global model (the round in flight is re-run or abandoned, job-run.ts). The lease is renewed every third
// of its length; a run whose lease was taken over stops at once and writes nothing more (every write is fenced).
// On shutdown runs stop without changing job status and their leases are let go, so another coordinator goes on.
// Which coordinator takes a job (PostgreSQL, several coordinators): the one its silos are connected to. A free job
// is taken at once by a coordinator that has a silo for each of its datasets; one that lacks some leaves it for
// SEALFOLD_STAGE_TIMEOUT_MS to the others, then takes it anyway (and the job fails as on one coordinator if its
// silos never come). Silos given every coordinator's URL move to the next when theirs dies (apps/silo SiloClient),
// so they all reach the survivor, which takes the job once its lease lapsed.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { decodeControlPayload, errorCode, requestsEscrow } from '@sealfold/protocol';
import { LateReceipts } from './late-receipts.js';
import { ChainService } from '../chain/chain.service.js';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';
import { CoordinatorDatabase, type SqlExecutor } from '../database/database.js';
import { SiloGateway } from '../gateway/silo-gateway.service.js';
import { JobEvents, type JobProgress } from '../jobs/job-events.js';
import { JobsRepository, TERMINAL_STATUSES, type JobRecord } from '../jobs/jobs.repository.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ModelsService } from '../models/models.service.js';
import { JobRun } from './job-run.js';
import { JobStop, type RunProgress } from './run-context.js';
import { JobLeases, LeaseLostError, type JobLease } from './job-leases.js';
import { RoundsRepository } from './rounds.repository.js';

type Fence = <T>(fn: (tx: SqlExecutor) => Promise<T>) => Promise<T>;

interface ActiveRun {
  readonly run: JobRun;
  lease: JobLease;
  readonly fenced: Fence;
  done: Promise<void>;
  /** The majority-class baseline once this run summed the statistics (else the job record's, from an earlier run). */
  baseline?: number;
}

@Injectable()
export class JobRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('JobRunner');
  private readonly runs = new Map<string, ActiveRun>();
  /** Jobs being acquired right now (one attempt at a time per job). */
  private readonly starting = new Set<string>();
  /** This process's lease holder id: unique per process, so a restarted coordinator is a new holder. */
  readonly holderId = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(JobsRepository) private readonly jobs: JobsRepository,
    @Inject(RoundsRepository) private readonly rounds: RoundsRepository,
    @Inject(JobLeases) private readonly leases: JobLeases,
    @Inject(JobEvents) private readonly events: JobEvents,
    @Inject(SiloGateway) private readonly gateway: SiloGateway,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase,
    @Inject(ChainService) private readonly chain: ChainService,
  ) {
    this.late = new LateReceipts({
      jobs: this.jobs,
      rounds: this.rounds,
      chain: () => this.chain.optional(),
      log: (message) => this.log.log(message),
    });
  }

  /** Receipts signed by silos that were offline at their job's end (issue 20). */
  private readonly late: LateReceipts;

  async onApplicationBootstrap(): Promise<void> {
    this.events.on('scheduled', (id) => void this.tryStart(id));
    this.events.on('cancelled', (id) =>
      this.runs.get(id)?.run.stop(new JobStop('cancelled', 'CANCELLED', 'cancelled by the buyer')),
    );
    this.gateway.on('frame', (session, frame) => {
      if (frame.type === 'receipt-signature') {
        const reply = decodeControlPayload('receipt-signature', frame.payload);
        if (this.late.expects(reply.jobId, reply.datasetId)) {
          void this.late
            .onSignature(session, reply)
            .catch((e: unknown) => this.log.warn(`late receipt: ${(e as Error).message}`));
          return;
        }
      }
      this.runs.get(frame.jobId)?.run.onFrame(session, frame);
    });
    this.gateway.on('ready', (session) => {
      void this.late.onReady(session).catch((e: unknown) => this.log.warn(`late receipts: ${(e as Error).message}`));
      this.pokeAll();
      // A silo arrived: a job waiting for a coordinator with all its silos may be this one's now.
      if (this.db.engine === 'postgres') this.scanSoon();
    });
    this.gateway.on('gone', () => this.pokeAll());
    await this.scan();
    this.tick();
  }

  /** Every third of the lease: renew the leases held, then look for jobs nobody holds. */
  private tick(): void {
    this.timer = setTimeout(
      () => {
        this.scanning = this.renewAll()
          .then(() => this.scan())
          .catch((error: unknown) => this.log.warn(`lease scan failed: ${(error as Error).message}`))
          .finally(() => {
            if (!this.stopped) this.tick();
          });
      },
      Math.max(100, Math.floor(this.config.jobLeaseMs / 3)),
    );
  }

  private rescan: Promise<void> | undefined;
  private scanSoon(): void {
    if (this.stopped || this.rescan) return;
    this.rescan = this.scan()
      .catch((error: unknown) => this.log.warn(`job scan failed: ${(error as Error).message}`))
      .finally(() => (this.rescan = undefined));
  }

  /** Running and pending jobs not run here: each is started if its lease can be taken. */
  private async scan(): Promise<void> {
    for (const job of [...(await this.jobs.withStatus('running')), ...(await this.jobs.withStatus('pending'))]) {
      if (this.stopped) return;
      if (!this.runs.has(job.id)) await this.tryStart(job.id);
    }
  }

  private async renewAll(): Promise<void> {
    for (const [id, active] of this.runs) {
      let renewed: JobLease | undefined;
      try {
        renewed = await this.leases.renew(active.lease, this.config.jobLeaseMs);
      } catch (error) {
        // The database did not answer: the lease may lapse; the next fenced write tells.
        this.log.warn(`lease renewal of job ${id} failed: ${(error as Error).message}`);
        continue;
      }
      if (!renewed) {
        this.log.warn(`job ${id} was taken over by another coordinator (token ${active.lease.token} lapsed)`);
        active.run.stop(new JobStop('shutdown', 'LEASE_LOST', 'another coordinator took the job over'));
        continue;
      }
      active.lease = renewed;
      // A cancel through another coordinator sharing the database.
      const job = await this.jobs.get(id);
      if (job?.status === 'cancelled')
        active.run.stop(new JobStop('cancelled', 'CANCELLED', job.reason ?? 'cancelled by the buyer'));
    }
  }

  /** Runs stop before the gateway closes silo connections (beforeApplicationShutdown), so no job fails on shutdown. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.scanning;
    await this.rescan;
    const pending = [...this.runs.values()];
    for (const { run } of pending) run.stop(new JobStop('shutdown', 'SHUTDOWN', 'coordinator shutting down'));
    await Promise.allSettled(pending.map((r) => r.done));
  }

  /** Ids of the jobs running in this process. */
  active(): string[] {
    return [...this.runs.keys()];
  }

  private pokeAll(): void {
    for (const { run } of this.runs.values()) run.poke();
  }

  private async tryStart(id: string): Promise<void> {
    if (this.stopped || this.runs.has(id) || this.starting.has(id)) return;
    this.starting.add(id);
    try {
      const job = await this.jobs.get(id);
      if (!job || TERMINAL_STATUSES.includes(job.status)) return;
      if (!(await this.shouldTake(job))) return;
      const lease = await this.leases.acquire(id, this.holderId, this.config.jobLeaseMs);
      if (!lease || this.stopped) return;
      this.log.log(
        `running job ${id} (${job.status}, ${job.currentRound}/${job.rounds} rounds committed; lease token ${lease.token})`,
      );
      this.start(job, lease);
    } catch (error) {
      this.log.warn(`could not take job ${id}: ${(error as Error).message}`);
    } finally {
      this.starting.delete(id);
    }
  }

  /** On PostgreSQL, whether this coordinator should take the free job now (see the head of this file). */
  private async shouldTake(job: JobRecord): Promise<boolean> {
    if (this.db.engine !== 'postgres') return true;
    if (job.request.datasets.every((id) => this.gateway.siloFor(String(id)))) return true;
    const lease = await this.leases.current(job.id);
    const freeSince = Math.max(job.createdAt, lease?.expiresAt ?? 0);
    return Date.now() - freeSince >= this.config.stageTimeoutMs;
  }

  private start(job: JobRecord, lease: JobLease): void {
    let run: JobRun;
    let roundStarted = performance.now();
    const active = { lease } as ActiveRun;
    const fenced: Fence = (fn) => this.leases.fenced(active.lease, fn);
    try {
      run = new JobRun(job, {
        settings: {
          stageTimeoutMs: this.config.stageTimeoutMs,
          trainTimeoutMs: this.config.trainTimeoutMs,
          minSilos: this.config.minSilos,
        },
        rounds: this.rounds,
        fenced,
        siloFor: (datasetId) => this.gateway.siloFor(datasetId),
        progress: (p) => {
          if (p.stage === 'committed') {
            this.metrics.roundDuration.labels('completed').observe((performance.now() - roundStarted) / 1000);
            roundStarted = performance.now();
          }
          this.publish(job, 'running', p);
        },
        statistics: (encoding, majorityBaseline) => {
          active.baseline = majorityBaseline;
          return fenced((tx) => this.jobs.setStatistics(job.id, encoding, majorityBaseline, tx));
        },
        stageObserved: (stage, seconds, dropouts) => {
          this.metrics.stageDuration.labels(stage).observe(seconds);
          if (dropouts > 0) this.metrics.dropouts.labels(stage).inc(dropouts);
        },
        log: (message, fields) => this.log.warn(`${message} ${JSON.stringify(fields ?? {})}`),
      });
    } catch (error) {
      void this.fail(job, 'INVALID_JOB', (error as Error).message, fenced)
        .catch(() => undefined)
        .finally(() => this.leases.release(lease).catch(() => undefined));
      return;
    }
    Object.assign(active, { run, fenced });
    this.runs.set(job.id, active);
    active.done = this.drive(job, run, fenced).finally(async () => {
      this.runs.delete(job.id);
      // Let the lease go at once, so another coordinator goes on without waiting for it to lapse.
      await this.leases.release(active.lease).catch(() => undefined);
    });
  }

  private publish(job: JobRecord, status: JobProgress['status'], p: Partial<RunProgress> & { reason?: string }): void {
    const majorityBaseline = p.majorityBaseline ?? this.runs.get(job.id)?.baseline ?? job.majorityBaseline;
    this.events.publish({
      jobId: job.id,
      status,
      round: p.round ?? job.currentRound,
      rounds: job.rounds,
      stage: p.stage ?? status,
      participants: p.participants ?? 0,
      dropouts: p.dropouts ?? 0,
      ...(p.loss !== undefined ? { loss: p.loss } : {}),
      ...(p.accuracy !== undefined ? { accuracy: p.accuracy } : {}),
      ...(majorityBaseline != null ? { majorityBaseline } : {}),
      ...(p.reason ? { reason: p.reason } : {}),
      at: Date.now(),
    });
    if (p.stage === 'committed' && p.participants) this.metrics.roundParticipants.set(p.participants);
  }

  private async fail(job: JobRecord, code: string, message: string, fenced: Fence): Promise<void> {
    if (await fenced((tx) => this.jobs.transition(job.id, ['pending', 'running'], 'failed', { code, message }, tx))) {
      this.metrics.jobsByOutcome.labels('failed').inc();
      const current = await this.jobs.get(job.id);
      this.publish(job, 'failed', { stage: 'failed', round: current?.currentRound, reason: `${code}: ${message}` });
      this.log.warn(`job ${job.id} failed: ${code}: ${message}`);
    }
  }

  /**
   * Issue 20: a job with an escrow ends with the receipt its silos co-sign, confirmed by this coordinator and settled
   * on chain; the bundle is kept in the job record either way. A failure here never fails the trained job: the
   * owners can still settle from their silos' stored signatures.
   */
  private async settle(
    job: JobRecord,
    run: JobRun,
    model: { sha256: string; metadata: { epsilonSpentMilli: number } },
    fenced: Fence,
  ): Promise<void> {
    const chain = this.chain.optional();
    if (!chain || !requestsEscrow(job.request)) return;
    try {
      const settlement = await run.collectReceipt(chain, {
        sha256: model.sha256,
        epsilonSpentMilli: model.metadata.epsilonSpentMilli,
      });
      if (settlement) await fenced((tx) => this.jobs.setSettlement(job.id, settlement, tx));
    } catch (error) {
      if (error instanceof LeaseLostError || error instanceof JobStop) throw error;
      this.log.warn(`job ${job.id}: receipt not collected: ${(error as Error).message}`);
    }
  }

  private async drive(job: JobRecord, run: JobRun, fenced: Fence): Promise<void> {
    try {
      await fenced((tx) => this.jobs.transition(job.id, ['pending'], 'running', undefined, tx));
      this.publish(job, 'running', { stage: 'starting' });
      const out = await run.run();
      const current = (await this.jobs.get(job.id))!;
      const model = await this.models.deliver(current, out.weights, out.rounds, out.roundsRun, fenced);
      await this.settle(job, run, model, fenced);
      if (await fenced((tx) => this.jobs.transition(job.id, ['running'], 'completed', undefined, tx))) {
        this.metrics.jobsByOutcome.labels('completed').inc();
        run.announceEnd('completed');
        this.publish(job, 'completed', { stage: 'completed', round: out.rounds, ...(out.lastEval ?? {}) });
        this.log.log(`job ${job.id} completed; model ${model.cid}`);
      }
    } catch (error) {
      if (error instanceof LeaseLostError) {
        // Another coordinator runs the job now: nothing of this run may be written, nor told to the silos.
        this.log.warn(error.message);
        return;
      }
      if (error instanceof JobStop) {
        if (error.kind === 'shutdown') return;
        if (error.kind === 'cancelled') {
          run.announceEnd('cancelled', 'cancelled by the buyer');
          this.metrics.jobsByOutcome.labels('cancelled').inc();
          this.publish(job, 'cancelled', { stage: 'cancelled', reason: error.message });
          return;
        }
        run.announceEnd('failed', `${error.code}: ${error.message}`);
        await this.fail(job, error.code, error.message, fenced).catch(() => undefined);
        return;
      }
      const code = errorCode(error);
      const message = error instanceof Error ? error.message : String(error);
      run.announceEnd('failed', message);
      await this.fail(job, code ?? 'INTERNAL_ERROR', message, fenced).catch(() => undefined);
      if (code === undefined) this.log.error((error as Error).stack ?? message);
    }
  }
}
