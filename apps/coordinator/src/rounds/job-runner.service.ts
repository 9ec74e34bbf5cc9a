// Schedules and drives jobs: a JobRun per running job, fed with the gateway's frames. On start, running jobs resume
// from their last committed global model and pending jobs start; on shutdown runs stop without changing job status.
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { errorCode } from '@sealfold/protocol';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';
import { SiloGateway } from '../gateway/silo-gateway.service.js';
import { JobEvents, type JobProgress } from '../jobs/job-events.js';
import { JobsRepository, TERMINAL_STATUSES, type JobRecord } from '../jobs/jobs.repository.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ModelsService } from '../models/models.service.js';
import { JobRun, JobStop, type RunProgress } from './job-run.js';
import { RoundsRepository } from './rounds.repository.js';

@Injectable()
export class JobRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('JobRunner');
  private readonly runs = new Map<string, { run: JobRun; done: Promise<void> }>();

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(JobsRepository) private readonly jobs: JobsRepository,
    @Inject(RoundsRepository) private readonly rounds: RoundsRepository,
    @Inject(JobEvents) private readonly events: JobEvents,
    @Inject(SiloGateway) private readonly gateway: SiloGateway,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(ModelsService) private readonly models: ModelsService,
  ) {}

  onApplicationBootstrap(): void {
    this.events.on('scheduled', (id) => this.start(id));
    this.events.on('cancelled', (id) =>
      this.runs.get(id)?.run.stop(new JobStop('cancelled', 'CANCELLED', 'cancelled by the buyer')),
    );
    this.gateway.on('frame', (session, frame) => this.runs.get(frame.jobId)?.run.onFrame(session, frame));
    this.gateway.on('ready', () => this.pokeAll());
    this.gateway.on('gone', () => this.pokeAll());
    for (const job of [...this.jobs.withStatus('running'), ...this.jobs.withStatus('pending')]) {
      this.log.log(`resuming job ${job.id} (${job.status}, ${job.currentRound}/${job.rounds} rounds committed)`);
      this.start(job.id);
    }
  }

  /** Runs stop before the gateway closes silo connections (beforeApplicationShutdown), so no job fails on shutdown. */
  async onModuleDestroy(): Promise<void> {
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

  private start(id: string): void {
    if (this.runs.has(id)) return;
    const job = this.jobs.get(id);
    if (!job || TERMINAL_STATUSES.includes(job.status)) return;
    let run: JobRun;
    let roundStarted = performance.now();
    try {
      run = new JobRun(job, {
        settings: {
          stageTimeoutMs: this.config.stageTimeoutMs,
          trainTimeoutMs: this.config.trainTimeoutMs,
          minSilos: this.config.minSilos,
        },
        rounds: this.rounds,
        siloFor: (datasetId) => this.gateway.siloFor(datasetId),
        progress: (p) => {
          if (p.stage === 'committed') {
            this.metrics.roundDuration.labels('completed').observe((performance.now() - roundStarted) / 1000);
            roundStarted = performance.now();
          }
          this.publish(job, 'running', p);
        },
        statistics: (encoding, majorityBaseline) => this.jobs.setStatistics(job.id, encoding, majorityBaseline),
        stageObserved: (stage, seconds, dropouts) => {
          this.metrics.stageDuration.labels(stage).observe(seconds);
          if (dropouts > 0) this.metrics.dropouts.labels(stage).inc(dropouts);
        },
        log: (message, fields) => this.log.warn(`${message} ${JSON.stringify(fields ?? {})}`),
      });
    } catch (error) {
      this.fail(job, 'INVALID_JOB', (error as Error).message);
      return;
    }
    const done = this.drive(job, run).finally(() => this.runs.delete(id));
    this.runs.set(id, { run, done });
  }

  private publish(job: JobRecord, status: JobProgress['status'], p: Partial<RunProgress> & { reason?: string }): void {
    this.events.publish({
      jobId: job.id,
      status,
      round: p.round ?? this.jobs.get(job.id)?.currentRound ?? 0,
      rounds: job.rounds,
      stage: p.stage ?? status,
      participants: p.participants ?? 0,
      dropouts: p.dropouts ?? 0,
      ...(p.loss !== undefined ? { loss: p.loss } : {}),
      ...(p.accuracy !== undefined ? { accuracy: p.accuracy } : {}),
      ...((p.majorityBaseline ?? this.jobs.get(job.id)?.majorityBaseline) != null
        ? { majorityBaseline: p.majorityBaseline ?? this.jobs.get(job.id)!.majorityBaseline! }
        : {}),
      ...(p.reason ? { reason: p.reason } : {}),
      at: Date.now(),
    });
    if (p.stage === 'committed' && p.participants) this.metrics.roundParticipants.set(p.participants);
  }

  private fail(job: JobRecord, code: string, message: string): void {
    if (this.jobs.transition(job.id, ['pending', 'running'], 'failed', { code, message })) {
      this.metrics.jobsByOutcome.labels('failed').inc();
      this.publish(job, 'failed', { stage: 'failed', reason: `${code}: ${message}` });
      this.log.warn(`job ${job.id} failed: ${code}: ${message}`);
    }
  }

  private async drive(job: JobRecord, run: JobRun): Promise<void> {
    this.jobs.transition(job.id, ['pending'], 'running');
    this.publish(job, 'running', { stage: 'starting' });
    try {
      const out = await run.run();
      const model = await this.models.deliver(this.jobs.get(job.id)!, out.weights, out.rounds);
      if (this.jobs.transition(job.id, ['running'], 'completed')) {
        this.metrics.jobsByOutcome.labels('completed').inc();
        run.announceEnd('completed');
        this.publish(job, 'completed', { stage: 'completed', round: out.rounds, ...(out.lastEval ?? {}) });
        this.log.log(`job ${job.id} completed; model ${model.cid}`);
      }
    } catch (error) {
      if (error instanceof JobStop) {
        if (error.kind === 'shutdown') return;
        if (error.kind === 'cancelled') {
          run.announceEnd('cancelled', 'cancelled by the buyer');
          this.metrics.jobsByOutcome.labels('cancelled').inc();
          this.publish(job, 'cancelled', { stage: 'cancelled', reason: error.message });
          return;
        }
        run.announceEnd('failed', `${error.code}: ${error.message}`);
        this.fail(job, error.code, error.message);
        return;
      }
      const code = errorCode(error);
      const message = error instanceof Error ? error.message : String(error);
      run.announceEnd('failed', message);
      this.fail(job, code ?? 'INTERNAL_ERROR', message);
      if (code === undefined) this.log.error((error as Error).stack ?? message);
    }
  }
}
