// Jobs in sqlite. Status changes are compare-and-set (UPDATE … WHERE status IN …), so concurrent transitions
// (a cancel racing a round's completion) resolve to exactly one winner.
import { Inject, Injectable } from '@nestjs/common';
import { jobRequestToJson, parseJobRequest, type JobRequest, type JobRequestJson } from '@sealfold/protocol';
import { CoordinatorDatabase } from '../database/database.js';

export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface JobRecord {
  readonly id: string;
  readonly buyer: string;
  readonly request: JobRequest;
  readonly signature: string;
  /** The buyer's age recipient the final model is encrypted to. */
  readonly recipient: string | null;
  readonly status: JobStatus;
  readonly reasonCode: string | null;
  readonly reason: string | null;
  readonly rounds: number;
  /** Rounds completed so far. */
  readonly currentRound: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The model specification whose hash the buyer signed. */
  readonly modelSpec: Record<string, unknown>;
  readonly training: TrainingSettings;
}

/** Local training and quantisation settings of a job (chosen by the buyer at submission, defaults otherwise). */
export interface TrainingSettings {
  readonly localEpochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** SecAgg+ clipping range c: each update coordinate is clipped to [−c, c] before quantisation. */
  readonly updateClip: number;
  /** Largest sample-count weight a silo may declare. */
  readonly maxWeight: number;
  /** false: the job ran without SecAgg+ (plain sums; the coordinator saw every update). Absent in older records = true. */
  readonly secureAggregation?: boolean;
}

interface JobRow {
  id: string;
  buyer: string;
  request_json: string;
  signature: string;
  recipient: string | null;
  status: JobStatus;
  reason_code: string | null;
  reason: string | null;
  rounds: number;
  current_round: number;
  created_at: number;
  updated_at: number;
  model_spec_json: string;
  training_json: string;
}

const toRecord = (r: JobRow): JobRecord => ({
  id: r.id,
  buyer: r.buyer,
  request: parseJobRequest(JSON.parse(r.request_json)),
  signature: r.signature,
  recipient: r.recipient,
  status: r.status,
  reasonCode: r.reason_code,
  reason: r.reason,
  rounds: r.rounds,
  currentRound: r.current_round,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  modelSpec: JSON.parse(r.model_spec_json) as Record<string, unknown>,
  training: JSON.parse(r.training_json) as TrainingSettings,
});

export class NonceReplayError extends Error {
  override readonly name = 'NonceReplayError';
}

@Injectable()
export class JobsRepository {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}

  /** Inserts a pending job; throws NonceReplayError when (buyer, nonce) or the id was seen before. */
  insert(job: {
    id: string;
    request: JobRequest;
    signature: string;
    recipient: string;
    modelSpec: Record<string, unknown>;
    training: TrainingSettings;
  }): JobRecord {
    const now = Date.now();
    const json: JobRequestJson = jobRequestToJson(job.request);
    try {
      this.db.run(
        `INSERT INTO jobs (id, buyer, nonce, request_json, signature, recipient, status, rounds, created_at, updated_at,
                           model_spec_json, training_json)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
        job.id,
        job.request.buyer.toLowerCase(),
        job.request.nonce.toString(),
        JSON.stringify(json),
        job.signature,
        job.recipient,
        job.request.rounds,
        now,
        now,
        JSON.stringify(job.modelSpec),
        JSON.stringify(job.training),
      );
    } catch (error) {
      if (/UNIQUE constraint failed/.test((error as Error).message))
        throw new NonceReplayError(`nonce ${job.request.nonce} of ${job.request.buyer} was already used`);
      throw error;
    }
    return this.get(job.id)!;
  }

  nonceUsed(buyer: string, nonce: bigint): boolean {
    return (
      this.db.get('SELECT 1 AS x FROM jobs WHERE buyer = ? AND nonce = ?', buyer.toLowerCase(), nonce.toString()) !==
      undefined
    );
  }

  get(id: string): JobRecord | undefined {
    const row = this.db.get<JobRow>('SELECT * FROM jobs WHERE id = ?', id);
    return row && toRecord(row);
  }

  list(filter: { buyer?: string; status?: JobStatus; limit: number }): JobRecord[] {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.buyer) {
      where.push('buyer = ?');
      params.push(filter.buyer.toLowerCase());
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ${filter.limit}`;
    return this.db.all<JobRow>(sql, ...params).map(toRecord);
  }

  withStatus(status: JobStatus): JobRecord[] {
    return this.db.all<JobRow>('SELECT * FROM jobs WHERE status = ? ORDER BY created_at, id', status).map(toRecord);
  }

  /** Moves a job from one of `from` to `to`; false when the job was not in one of `from`. */
  transition(
    id: string,
    from: readonly JobStatus[],
    to: JobStatus,
    reason?: { code: string; message: string },
  ): boolean {
    const placeholders = from.map(() => '?').join(', ');
    const r = this.db.run(
      `UPDATE jobs SET status = ?, reason_code = ?, reason = ?, updated_at = ? WHERE id = ? AND status IN (${placeholders})`,
      to,
      reason?.code ?? null,
      reason?.message ?? null,
      Date.now(),
      id,
      ...from,
    );
    return r.changes === 1;
  }

  setCurrentRound(id: string, round: number): void {
    this.db.run('UPDATE jobs SET current_round = ?, updated_at = ? WHERE id = ?', round, Date.now(), id);
  }
}
