// Round state in sqlite: the last committed global model of each job (the restart point), finished rounds, and the
// silos that accepted a job.
import { Inject, Injectable } from '@nestjs/common';
import { decodeWeights, encodeWeights } from '@sealfold/fl';
import type { ParticipantView, RoundView } from '@sealfold/protocol';
import { CoordinatorDatabase } from '../database/database.js';

export interface CommittedModel {
  readonly round: number;
  readonly weights: Float32Array;
  /** Strategy state (FedAdam moments) as JSON, if the strategy keeps any. */
  readonly strategyState: string | undefined;
}

export type RoundRecord = RoundView;

export type ParticipantRecord = ParticipantView;

@Injectable()
export class RoundsRepository {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}

  lastCommitted(jobId: string): CommittedModel | undefined {
    const row = this.db.get<{ round: number; weights: Uint8Array; strategy_state: Uint8Array | null }>(
      'SELECT round, weights, strategy_state FROM global_models WHERE job_id = ?',
      jobId,
    );
    if (!row) return undefined;
    return {
      round: row.round,
      weights: decodeWeights(new Uint8Array(row.weights)),
      strategyState: row.strategy_state ? Buffer.from(row.strategy_state).toString('utf8') : undefined,
    };
  }

  /** Commits a finished round atomically: the new global model, the round's record and the job's progress. */
  commitRound(jobId: string, weights: Float32Array, strategyState: string | undefined, record: RoundRecord): void {
    this.db.transaction(() => {
      this.db.run(
        `INSERT INTO global_models (job_id, round, weights, strategy_state, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET round = excluded.round, weights = excluded.weights,
           strategy_state = excluded.strategy_state, updated_at = excluded.updated_at`,
        jobId,
        record.round,
        encodeWeights(weights),
        strategyState === undefined ? null : Buffer.from(strategyState, 'utf8'),
        Date.now(),
      );
      this.insertRound(jobId, record);
      this.db.run('UPDATE jobs SET current_round = ?, updated_at = ? WHERE id = ?', record.round, Date.now(), jobId);
    });
  }

  insertRound(jobId: string, r: RoundRecord): void {
    this.db.run(
      `INSERT OR REPLACE INTO rounds (job_id, round, status, participants, dropouts, loss, accuracy, reason, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    );
  }

  rounds(jobId: string): RoundRecord[] {
    return this.db
      .all<{
        round: number;
        status: 'completed' | 'aborted';
        participants: number;
        dropouts: number;
        loss: number | null;
        accuracy: number | null;
        reason: string | null;
        started_at: number;
        finished_at: number;
      }>('SELECT * FROM rounds WHERE job_id = ? ORDER BY round', jobId)
      .map((r) => ({
        round: r.round,
        status: r.status,
        participants: r.participants,
        dropouts: r.dropouts,
        loss: r.loss,
        accuracy: r.accuracy,
        reason: r.reason,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
      }));
  }

  recordParticipant(jobId: string, p: ParticipantRecord): void {
    this.db.run(
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

  participants(jobId: string): ParticipantRecord[] {
    return this.db
      .all<{ dataset_id: string; client_id: number; silo: string; accepted: number; reason: string | null }>(
        'SELECT * FROM job_participants WHERE job_id = ? ORDER BY client_id',
        jobId,
      )
      .map((r) => ({
        datasetId: r.dataset_id,
        clientId: r.client_id,
        silo: r.silo,
        accepted: r.accepted === 1,
        reason: r.reason,
      }));
  }
}
