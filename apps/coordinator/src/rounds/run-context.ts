// The interface between a job's run and its stages: what the run needs from its surroundings (RunContext, given by
// the JobRunner service), how it stops (JobStop), and what each stage module — admission.ts, sum-channel.ts,
// statistics-sum.ts, evaluation.ts — shares with the round loop of job-run.ts (RunScope, Member).
import type { JobRecord } from '../jobs/jobs.repository.js';
import type { SiloSession } from '../gateway/silo-session.js';
import type { SqlExecutor } from '../database/database.js';
import type { InputEncoding } from '@sealfold/fl';
import type { InflightStage, RoundsRepository } from './rounds.repository.js';

/** Why a job stopped without completing. `shutdown` leaves it running in the database (resumed at next start). */
export class JobStop extends Error {
  override readonly name = 'JobStop';
  constructor(
    readonly kind: 'failed' | 'cancelled' | 'shutdown',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RunSettings {
  readonly stageTimeoutMs: number;
  readonly trainTimeoutMs: number;
  readonly minSilos: number;
}

export interface RunProgress {
  round: number;
  stage: string;
  participants: number;
  dropouts: number;
  loss?: number;
  accuracy?: number;
  /** Accuracy of always predicting the most frequent class (securely summed label counts). */
  majorityBaseline?: number;
}

/** What the run needs from its surroundings (gateway, metrics, progress, model delivery). */
export interface RunContext {
  readonly settings: RunSettings;
  readonly rounds: RoundsRepository;
  /** Runs a write in one transaction that checks the job's lease (LeaseLostError when it was taken over). */
  fenced<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  siloFor(datasetId: string): SiloSession | undefined;
  progress(p: RunProgress): void;
  /** The job's feature statistics were summed: its input encoding and majority-class baseline, to record (fenced). */
  statistics(encoding: InputEncoding, majorityBaseline: number): Promise<void>;
  stageObserved(stage: string, seconds: number, dropouts: number): void;
  log(message: string, fields?: Record<string, unknown>): void;
}

/** A silo taking part in the round: the dataset it serves, its client id (the dataset's 1-based index), its session. */
export interface Member {
  readonly datasetId: string;
  readonly clientId: number;
  session: SiloSession;
}

/** What the stages share with the round loop of their run (JobRun builds it). */
export interface RunScope {
  readonly job: JobRecord;
  readonly ctx: RunContext;
  /** false only when the buyer signed `secagg.enabled: false`. */
  readonly secure: boolean;
  /** Waits until `done()` holds, `ms` pass, or the run is stopped (then throws). */
  until(done: () => boolean, ms: number): Promise<void>;
  /** Records how far the round in flight got, before the frames of that stage go out (fenced). */
  markInflight(round: number, stage: InflightStage): Promise<void>;
}
