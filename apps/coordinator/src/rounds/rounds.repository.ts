// Round state in the coordinator's database: the last committed global model of each job (the restart point),
// finished rounds, the round in flight, and the silos that accepted a job. Writes of a job's run take the executor
// of a fenced transaction (job-leases.ts), so only the job's current lease holder commits.
import { Inject, Injectable } from '@nestjs/common';
import { decodeWeights, encodeWeights } from '@sealfold/fl';
import type { ParticipantView, RoundView } from '@sealfold/protocol';
import { CoordinatorDatabase, type SqlExecutor } from '../database/database.js';

export interface CommittedModel {
  readonly round: number;
  readonly weights: Float32Array;
  /** Strategy state (FedAdam moments) as JSON, if the strategy keeps any. */
  readonly strategyState: string | undefined;
}

export type RoundRecord = RoundView;

export type ParticipantRecord = ParticipantView;

/** What a committed round adds to the job's receipt transcript (issue 20). */
export interface RoundTranscript {
  /** Dataset ids (decimal) whose input entered the round's sum. */
  readonly contributors: readonly string[];
  /** SHA-256 of the global model the round produced (0x + 64 hex; libs/fl weightsDigest). */
  readonly modelDigest: string;
}

/** How far the round in flight got (migration 5): whether silos may have released their input, or evaluated. */
export type InflightStage = 'started' | 'released' | 'evaluated';

export interface InflightRound {
  readonly round: number;
  readonly stage: InflightStage;
}

@Injectable()
export class RoundsRepository {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}

  async lastCommitted(jobId: string): Promise<CommittedModel | undefined> {
    const row = await this.db.get<{ round: number; weights: Uint8Array; strategy_state: Uint8Array | null }>(
      'SELECT round, weights, strategy_state FROM global_models WHERE job_id = ?',
      jobId,
    );
    if (!row) return undefined;
    return {
      round: Number(row.round),
      weights: decodeWeights(new Uint8Array(row.weights)),
      strategyState: row.strategy_state ? Buffer.from(row.strategy_state).toString('utf8') : undefined,
    };
  }

  /**
   * Commits a finished round: the new global model, the round's record and the job's progress, and clears the
   * round in flight. Run it in one transaction (`tx`, fenced by the job's lease).
   */
  async commitRound(
    tx: SqlExecutor,
    jobId: string,
    weights: Float32Array,
    strategyState: string | undefined,
    record: RoundRecord,
    transcript?: RoundTranscript,
  ): Promise<void> {
    if (transcript)
      await tx.run(
        'INSERT INTO round_transcripts (job_id, round, contributors_json, model_digest) VALUES (?, ?, ?, ?)',
        jobId,
        record.round,
        JSON.stringify(transcript.contributors),
        transcript.modelDigest,
      );
    await tx.run(
      `INSERT INTO global_models (job_id, round, weights, strategy_state, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET round = excluded.round, weights = excluded.weights,
         strategy_state = excluded.strategy_state, updated_at = excluded.updated_at`,
      jobId,
      record.round,
      encodeWeights(weights),
      strategyState === undefined ? null : Buffer.from(strategyState, 'utf8'),
      Date.now(),
    );
    // A round is committed once: a second commit of the same (job, round) is a primary-key violation.
    await tx.run(
      `INSERT INTO rounds (job_id, round, status, participants, dropouts, loss, accuracy, reason, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...roundValues(jobId, record),
    );
    await tx.run(
      `UPDATE jobs SET current_round = ?, inflight_round = NULL, inflight_stage = NULL, updated_at = ? WHERE id = ?`,
      record.round,
      Date.now(),
      jobId,
    );
  }

  /** Records a round that did not complete (aborted, abandoned) and clears it as the round in flight. */
  async insertRound(tx: SqlExecutor, jobId: string, r: RoundRecord): Promise<void> {
    await tx.run(
      `INSERT INTO rounds (job_id, round, status, participants, dropouts, loss, accuracy, reason, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, round) DO UPDATE SET status = excluded.status, participants = excluded.participants,
         dropouts = excluded.dropouts, loss = excluded.loss, accuracy = excluded.accuracy, reason = excluded.reason,
         started_at = excluded.started_at, finished_at = excluded.finished_at`,
      ...roundValues(jobId, r),
    );
    await tx.run(
      `UPDATE jobs SET inflight_round = NULL, inflight_stage = NULL, updated_at = ? WHERE id = ? AND inflight_round = ?`,
      Date.now(),
      jobId,
      r.round,
    );
  }

  /** Marks `round` as the round in flight at `stage` (before the frames that stage sends go out). */
  async markInflight(tx: SqlExecutor, jobId: string, round: number, stage: InflightStage): Promise<void> {
    await tx.run(
      'UPDATE jobs SET inflight_round = ?, inflight_stage = ?, updated_at = ? WHERE id = ?',
      round,
      stage,
      Date.now(),
      jobId,
    );
  }

  async inflight(jobId: string): Promise<InflightRound | undefined> {
    const row = await this.db.get<{ inflight_round: number | null; inflight_stage: InflightStage | null }>(
      'SELECT inflight_round, inflight_stage FROM jobs WHERE id = ?',
      jobId,
    );
    return row?.inflight_round != null && row.inflight_stage
      ? { round: Number(row.inflight_round), stage: row.inflight_stage }
      : undefined;
  }

  /** The receipt transcript of the job's committed rounds, in round order (issue 20). */
  async transcript(jobId: string): Promise<(RoundTranscript & { round: number })[]> {
    const rows = await this.db.all<{ round: number; contributors_json: string; model_digest: string }>(
      `SELECT t.round, t.contributors_json, t.model_digest FROM round_transcripts t
         JOIN rounds r ON r.job_id = t.job_id AND r.round = t.round AND r.status = 'completed'
        WHERE t.job_id = ? ORDER BY t.round`,
      jobId,
    );
    return rows.map((r) => ({
      round: Number(r.round),
      contributors: JSON.parse(r.contributors_json) as string[],
      modelDigest: r.model_digest,
    }));
  }

  async rounds(jobId: string): Promise<RoundRecord[]> {
    const rows = await this.db.all<{
      round: number;
      status: RoundRecord['status'];
      participants: number;
      dropouts: number;
      loss: number | null;
      accuracy: number | null;
      reason: string | null;
      started_at: number;
      finished_at: number;
    }>('SELECT * FROM rounds WHERE job_id = ? ORDER BY round', jobId);
    return rows.map((r) => ({
      round: Number(r.round),
      status: r.status,
      participants: Number(r.participants),
      dropouts: Number(r.dropouts),
      loss: r.loss,
      accuracy: r.accuracy,
      reason: r.reason,
      startedAt: Number(r.started_at),
      finishedAt: Number(r.finished_at),
    }));
  }

  async recordParticipant(tx: SqlExecutor, jobId: string, p: ParticipantRecord): Promise<void> {
    await tx.run(
      `INSERT INTO job_participants (job_id, dataset_id, client_id, silo, accepted, reason) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, dataset_id) DO UPDATE SET silo = excluded.silo, accepted = excluded.accepted, reason = excluded.reason`,
      jobId,
      p.datasetId,
      p.clientId,
      p.silo,
      p.accepted ? 1 : 0,
      p.reason,
    );
  }

  async participants(jobId: string): Promise<ParticipantRecord[]> {
    const rows = await this.db.all<{
      dataset_id: string;
      client_id: number;
      silo: string;
      accepted: number;
      reason: string | null;
    }>('SELECT * FROM job_participants WHERE job_id = ? ORDER BY client_id', jobId);
    return rows.map((r) => ({
      datasetId: r.dataset_id,
      clientId: Number(r.client_id),
      silo: r.silo,
      accepted: Number(r.accepted) === 1,
      reason: r.reason,
    }));
  }
}

const roundValues = (jobId: string, r: RoundRecord) =>
  [
    jobId,
    r.round,
    r.status,
    r.participants,
    r.dropouts,
    r.loss,
    r.accuracy,
    r.reason,
    r.startedAt,
    r.finishedAt,
  ] as const;
