// Jobs in the coordinator's database. Status changes are compare-and-set (UPDATE … WHERE status IN …), so concurrent transitions
// (a cancel racing a round's completion) resolve to exactly one winner.
import { Inject, Injectable } from '@nestjs/common';
import {
  JOB_STATUSES,
  SealfoldError,
  TERMINAL_JOB_STATUSES,
  jobRequestToJson,
  parseJobRequest,
  parseJobSchema,
  type JobSchema,
  type JobRequest,
  type JobRequestJson,
  type JobSettlementView,
  type JobStatus,
} from '@sealfold/protocol';
import { CoordinatorDatabase } from '../database/database.js';
import { isUniqueViolation, type SqlExecutor } from '../database/sql.js';

export { JOB_STATUSES, type JobStatus };
export const TERMINAL_STATUSES = TERMINAL_JOB_STATUSES;

export interface JobRecord {
  readonly id: string;
  readonly buyer: string;
  readonly request: JobRequest;
  readonly signature: string;
  /** The buyer's age recipient the final model is encrypted to (a copy of the signed `request.recipient`). */
  readonly recipient: string;
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
  /** The job schema whose hash the buyer signed (computed from the datasets' manifests at submission). */
  readonly jobSchema: JobSchema;
  /** The model's input encoding from the secure feature statistics (libs/fl InputEncoding), once summed. */
  readonly encoding: Record<string, unknown> | null;
  /** Accuracy of always predicting the most frequent class, from the securely summed label counts. */
  readonly majorityBaseline: number | null;
  /** The escrow settlement (issue 20), once the receipt was collected. */
  readonly settlement: JobSettlementView | null;
}

/** JobRequest version of the jobs this repository reads and writes (older rows stay on record; migrations 4, 6, 7). */
const REQUEST_VERSION = 4;

interface JobRow {
  id: string;
  buyer: string;
  request_json: string;
  signature: string;
  recipient: string;
  status: JobStatus;
  reason_code: string | null;
  reason: string | null;
  rounds: number;
  current_round: number;
  created_at: number;
  updated_at: number;
  model_spec_json: string;
  job_schema_json: string | null;
  encoding_json: string | null;
  majority_baseline: number | null;
  settlement_json?: string | null;
}

/**
 * Parsed signed requests by their stored JSON (a job's request never changes): every read of a job — the buyer's
 * polls, the run's status checks — parsed and validated all its datasets and licences again, O(n) per read (bench
 * scale at n = 1000: 13 s of the coordinator's CPU over one job). The few running jobs' requests are kept; the JobRequest
 * is read-only.
 */
const PARSED_REQUESTS = new Map<string, JobRequest>();
const PARSED_REQUESTS_MAX = 16;
function parsedRequest(json: string): JobRequest {
  let request = PARSED_REQUESTS.get(json);
  if (request) {
    PARSED_REQUESTS.delete(json); // most recently used last
  } else {
    request = parseJobRequest(JSON.parse(json));
    if (PARSED_REQUESTS.size >= PARSED_REQUESTS_MAX) PARSED_REQUESTS.delete(PARSED_REQUESTS.keys().next().value!);
  }
  PARSED_REQUESTS.set(json, request);
  return request;
}

const toRecord = (r: JobRow): JobRecord => ({
  id: r.id,
  buyer: r.buyer,
  request: parsedRequest(r.request_json),
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
  jobSchema: parseJobSchema(JSON.parse(r.job_schema_json ?? 'null')),
  encoding: r.encoding_json ? (JSON.parse(r.encoding_json) as Record<string, unknown>) : null,
  majorityBaseline: r.majority_baseline,
  settlement: r.settlement_json ? (JSON.parse(r.settlement_json) as JobSettlementView) : null,
});

export class NonceReplayError extends SealfoldError<'NONCE_REPLAY'> {
  override readonly name = 'NonceReplayError';
  constructor(message: string) {
    super('NONCE_REPLAY', message);
  }
}

@Injectable()
export class JobsRepository {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}

  /** Inserts a pending job; throws NonceReplayError when (buyer, nonce) or the id was seen before. */
  async insert(job: {
    id: string;
    request: JobRequest;
    signature: string;
    modelSpec: Record<string, unknown>;
    jobSchema: JobSchema;
  }): Promise<JobRecord> {
    const now = Date.now();
    const json: JobRequestJson = jobRequestToJson(job.request);
    try {
      await this.db.run(
        `INSERT INTO jobs (id, buyer, nonce, request_json, signature, recipient, status, rounds, created_at, updated_at,
                           model_spec_json, request_version, job_schema_json)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)`,
        job.id,
        job.request.buyer.toLowerCase(),
        job.request.nonce.toString(),
        JSON.stringify(json),
        job.signature,
        job.request.recipient,
        job.request.rounds,
        now,
        now,
        JSON.stringify(job.modelSpec),
        REQUEST_VERSION,
        JSON.stringify(job.jobSchema),
      );
    } catch (error) {
      if (isUniqueViolation(error))
        throw new NonceReplayError(`nonce ${job.request.nonce} of ${job.request.buyer} was already used`);
      throw error;
    }
    return (await this.get(job.id))!;
  }

  async nonceUsed(buyer: string, nonce: bigint): Promise<boolean> {
    return (
      (await this.db.get(
        'SELECT 1 AS x FROM jobs WHERE buyer = ? AND nonce = ?',
        buyer.toLowerCase(),
        nonce.toString(),
      )) !== undefined
    );
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = await this.db.get<JobRow>(
      'SELECT * FROM jobs WHERE id = ? AND request_version = ?',
      id,
      REQUEST_VERSION,
    );
    return row && toRecord(row);
  }

  async list(filter: { buyer?: string; status?: JobStatus; limit: number }): Promise<JobRecord[]> {
    const where: string[] = ['request_version = ?'];
    const params: (string | number)[] = [REQUEST_VERSION];
    if (filter.buyer) {
      where.push('buyer = ?');
      params.push(filter.buyer.toLowerCase());
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    const sql = `SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id LIMIT ${filter.limit}`;
    return (await this.db.all<JobRow>(sql, ...params)).map(toRecord);
  }

  async withStatus(status: JobStatus): Promise<JobRecord[]> {
    const rows = await this.db.all<JobRow>(
      'SELECT * FROM jobs WHERE status = ? AND request_version = ? ORDER BY created_at, id',
      status,
      REQUEST_VERSION,
    );
    return rows.map(toRecord);
  }

  /**
   * Moves a job from one of `from` to `to`; false when the job was not in one of `from`. `tx` runs it inside a
   * caller's transaction (a fenced write of the job's run, rounds/job-lease.ts).
   */
  async transition(
    id: string,
    from: readonly JobStatus[],
    to: JobStatus,
    reason?: { code: string; message: string },
    tx: SqlExecutor = this.db,
  ): Promise<boolean> {
    const placeholders = from.map(() => '?').join(', ');
    const r = await tx.run(
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

  /**
   * Records the input encoding and majority baseline of the job's secure feature statistics; `tx` is the run's
   * fenced transaction.
   */
  async setStatistics(
    id: string,
    encoding: Record<string, unknown>,
    majorityBaseline: number,
    tx: SqlExecutor = this.db,
  ): Promise<void> {
    await tx.run(
      'UPDATE jobs SET encoding_json = ?, majority_baseline = ?, updated_at = ? WHERE id = ?',
      JSON.stringify(encoding),
      majorityBaseline,
      Date.now(),
      id,
    );
  }

  /** Completed jobs whose settlement still misses a silo's signature (issue 20 late attestations). */
  async withUnsignedSettlement(): Promise<JobRecord[]> {
    const rows = await this.db.all<JobRow>(
      `SELECT * FROM jobs WHERE status = 'completed' AND request_version = ? AND settlement_json IS NOT NULL
          AND settlement_json NOT LIKE '%"unsigned":{}%' ORDER BY updated_at DESC LIMIT 100`,
      REQUEST_VERSION,
    );
    return rows.map(toRecord);
  }

  /** Records the job's escrow settlement (issue 20): the co-signed receipt bundle and the settle transaction. */
  async setSettlement(id: string, settlement: JobSettlementView, tx: SqlExecutor = this.db): Promise<void> {
    await tx.run(
      'UPDATE jobs SET settlement_json = ?, updated_at = ? WHERE id = ?',
      JSON.stringify(settlement),
      Date.now(),
      id,
    );
  }

  async setCurrentRound(id: string, round: number): Promise<void> {
    await this.db.run('UPDATE jobs SET current_round = ?, updated_at = ? WHERE id = ?', round, Date.now(), id);
  }
}
