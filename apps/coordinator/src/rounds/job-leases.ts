// Who runs each job when several coordinators share one database: a lease per job (holder, fencing token, expiry),
// taken when it is free or lapsed and renewed by its holder. The token grows on every acquisition, and every write
// of a job's run checks it in the write's own transaction (`fenced`), so a holder that paused past its lease (GC,
// a frozen VM, a partition) cannot commit anything once another coordinator took the job over — the fencing token
// of Kleppmann, "How to do distributed locking" (2016), with the database as the storage that checks it.
// Clocks only decide when a lapsed lease may be taken (liveness); the token alone keeps writes safe.
import { Inject, Injectable } from '@nestjs/common';
import { SealfoldError } from '@sealfold/protocol';
import { CoordinatorDatabase, type SqlExecutor } from '../database/database.js';

export interface JobLease {
  readonly jobId: string;
  readonly holder: string;
  readonly token: number;
  readonly expiresAt: number;
}

export class LeaseLostError extends SealfoldError<'LEASE_LOST'> {
  override readonly name = 'LeaseLostError';
  constructor(lease: JobLease) {
    super(
      'LEASE_LOST',
      `coordinator ${lease.holder} no longer holds job ${lease.jobId} (fencing token ${lease.token})`,
    );
  }
}

interface LeaseRow {
  job_id: string;
  holder: string;
  token: number;
  expires_at: number;
}

const toLease = (r: LeaseRow): JobLease => ({
  jobId: r.job_id,
  holder: r.holder,
  token: Number(r.token),
  expiresAt: Number(r.expires_at),
});

@Injectable()
export class JobLeases {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}

  /**
   * Takes the job's lease for `holder` if nobody holds it, it lapsed, or `holder` has it already; the token grows
   * by one either way. Undefined when another coordinator holds an unexpired lease.
   */
  async acquire(jobId: string, holder: string, ttlMs: number, now = Date.now()): Promise<JobLease | undefined> {
    const rows = await this.db.all<LeaseRow>(
      `INSERT INTO job_leases (job_id, holder, token, expires_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (job_id) DO UPDATE SET holder = excluded.holder, token = job_leases.token + 1,
         expires_at = excluded.expires_at
       WHERE job_leases.expires_at <= ? OR job_leases.holder = excluded.holder
       RETURNING job_id, holder, token, expires_at`,
      jobId,
      holder,
      now + ttlMs,
      now,
    );
    return rows[0] && toLease(rows[0]);
  }

  /** Extends a held lease; undefined when it was taken over (the holder must stop driving the job). */
  async renew(lease: JobLease, ttlMs: number, now = Date.now()): Promise<JobLease | undefined> {
    const expiresAt = now + ttlMs;
    const r = await this.db.run(
      'UPDATE job_leases SET expires_at = ? WHERE job_id = ? AND token = ?',
      expiresAt,
      lease.jobId,
      lease.token,
    );
    return r.changes === 1 ? { ...lease, expiresAt } : undefined;
  }

  /** Lets the lease lapse now (a coordinator shutting down hands its jobs over at once). */
  async release(lease: JobLease): Promise<void> {
    await this.db.run('UPDATE job_leases SET expires_at = 0 WHERE job_id = ? AND token = ?', lease.jobId, lease.token);
  }

  async current(jobId: string): Promise<JobLease | undefined> {
    const row = await this.db.get<LeaseRow>('SELECT * FROM job_leases WHERE job_id = ?', jobId);
    return row && toLease(row);
  }

  /**
   * Runs `fn` in one transaction that first checks the lease's token; LeaseLostError (and nothing written) when
   * the job was taken over. The check is an UPDATE, so on PostgreSQL it also locks the lease row until commit: an
   * acquisition racing the write waits for it, then sees it.
   */
  fenced<T>(lease: JobLease, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const held = await tx.run(
        'UPDATE job_leases SET token = token WHERE job_id = ? AND token = ?',
        lease.jobId,
        lease.token,
      );
      if (held.changes !== 1) throw new LeaseLostError(lease);
      return fn(tx);
    });
  }
}
