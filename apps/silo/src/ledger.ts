// The silo's privacy ledger, kept by the owner's node itself (the chain records the budget; only the silo knows what
// it has released). node:sqlite; every write is one transaction, so a crash or restart never forgets a release.
//
// Tables:
//  - `releases`: one row per (job, round, kind ∈ {train, eval, statistics}) — the silo releases at most one masked
//    input per round and kind, ever (a second SecAgg+ run over other survivors would let the coordinator subtract two
//    sums); a DP job's noised feature statistics are kind `statistics`, round 0, once per job.
//  - `reservations`: a job's slot and its whole planned ε, reserved atomically at admission (a second job on a
//    maxJobs = 1 licence is refused before the first released anything), plus a `halted` reason once the silo
//    refused the rest of the job (licence revoked, a model other than the one the round produced).
//  - `epsilon_spent`: ε released so far per (licence, job), recomputed from the releases actually made.
//  - `refusals`: job offers this silo refused and why (shown to the owner on its local page, never sent elsewhere
//    beyond the reason the buyer gets anyway).
//
// Accounting: the runner gives the job's ε after the releases of each kind actually made (libs/fl datasetEpsilon):
// the statistics release, the training updates and the evaluation vectors composed in the RDP accountant (Mironov
// 2017) — owner level: every release one Gaussian mechanism; record level: DP-SGD's sampled Gaussian for the training
// rows, the evaluations' Gaussian for the held-out rows, the statistics on both. Across jobs on one licence ε adds
// (basic sequential composition, Dwork & Roth 2014, Thm. 3.16). A job's reservation counts until its releases exceed
// it (they cannot: at most the statistics and 2 · rounds releases, which is what is reserved).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { licenceRef, SealfoldError } from '@sealfold/protocol';
import { migrate, type Migration } from '@sealfold/sqlite';

export type ReleaseKind = 'train' | 'eval' | 'statistics';

/** Releases of each kind a job has made. */
export interface ReleaseCounts {
  readonly train: number;
  readonly eval: number;
  readonly statistics: number;
}

export interface LedgerEntry {
  readonly licenceId: bigint;
  readonly jobId: string;
  /** Training rounds released. */
  readonly rounds: number;
  /** ε of every release of this job so far (training and evaluation); Infinity when the job adds no noise. */
  readonly epsilon: number;
}

export interface Release {
  readonly jobId: string;
  readonly round: number;
  readonly kind: ReleaseKind;
  /** sha-256 (hex) of the model the release was computed on. */
  readonly weightsHash: string;
}

/** Why the ledger refused: the silo turns it into a JobRefusal with the same reason. */
export class LedgerRefusal extends SealfoldError<'job-limit-reached' | 'budget-exhausted' | 'replayed-round'> {
  override readonly name = 'LedgerRefusal';
  get reason(): this['code'] {
    return this.code;
  }
}

// Applied by @sealfold/sqlite `migrate`, like the coordinator's (ledgers that counted them in PRAGMA user_version
// are adopted). Never edited after release: a change is a new migration.
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'epsilon-spent',
    sql: `CREATE TABLE epsilon_spent (
     licence_id TEXT NOT NULL,
     job_id TEXT NOT NULL,
     rounds INTEGER NOT NULL,
     epsilon REAL NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (licence_id, job_id)
   ) STRICT`,
  },
  {
    version: 2,
    name: 'releases-and-reservations',
    sql: `CREATE TABLE releases (
     job_id TEXT NOT NULL,
     round INTEGER NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('train', 'eval')),
     licence_id TEXT NOT NULL,
     weights_hash TEXT NOT NULL,
     released_at INTEGER NOT NULL,
     PRIMARY KEY (job_id, round, kind)
   ) STRICT;
   CREATE TABLE reservations (
     licence_id TEXT NOT NULL,
     job_id TEXT NOT NULL,
     planned_epsilon REAL NOT NULL,
     halted TEXT,
     reserved_at INTEGER NOT NULL,
     PRIMARY KEY (licence_id, job_id)
   ) STRICT`,
  },
  {
    version: 3,
    name: 'refusals',
    sql: `CREATE TABLE refusals (
     job_id TEXT NOT NULL,
     dataset_id TEXT NOT NULL,
     reason TEXT NOT NULL,
     message TEXT NOT NULL,
     refused_at INTEGER NOT NULL,
     PRIMARY KEY (job_id, dataset_id)
   ) STRICT`,
  },
  {
    // SQLite cannot alter a CHECK constraint: the table is rebuilt (one transaction, like every migration).
    version: 4,
    name: 'statistics-releases',
    sql: `CREATE TABLE releases_v4 (
     job_id TEXT NOT NULL,
     round INTEGER NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('train', 'eval', 'statistics')),
     licence_id TEXT NOT NULL,
     weights_hash TEXT NOT NULL,
     released_at INTEGER NOT NULL,
     PRIMARY KEY (job_id, round, kind)
   ) STRICT;
   INSERT INTO releases_v4 SELECT job_id, round, kind, licence_id, weights_hash, released_at FROM releases;
   DROP TABLE releases;
   ALTER TABLE releases_v4 RENAME TO releases`,
  },
  {
    // Issue 20: the job receipts this silo co-signed, kept so that its owner settles without the coordinator.
    version: 5,
    name: 'receipt-signatures',
    sql: `CREATE TABLE receipt_signatures (
     escrow_job_id TEXT NOT NULL,
     dataset_id TEXT NOT NULL,
     job_id TEXT NOT NULL,
     digest TEXT NOT NULL,
     receipt_json TEXT NOT NULL,
     signature TEXT NOT NULL,
     signed_at INTEGER NOT NULL,
     PRIMARY KEY (escrow_job_id, dataset_id)
   ) STRICT`,
  },
];

/** A job receipt this silo signed for one of its datasets (issue 20). */
export interface SignedReceipt {
  readonly escrowJobId: string;
  readonly datasetId: bigint;
  /** The coordinator's job id (the request digest, 64 hex). */
  readonly jobId: string;
  /** The receipt's EIP-712 digest. */
  readonly digest: string;
  /** The receipt as signed (libs/chain JobReceipt JSON). */
  readonly receipt: unknown;
  readonly signature: string;
}

/** One job under a licence, as the owner's page shows it. */
export interface LedgerJobView {
  readonly jobId: string;
  /** ε reserved at admission for the whole job (Infinity without noise). */
  readonly plannedEpsilon: number;
  /** ε of the releases made so far (0 before the first; Infinity without noise). */
  readonly releasedEpsilon: number;
  /** Training rounds released. */
  readonly rounds: number;
  /** Why the silo refuses the rest of the job, or null. */
  readonly halted: string | null;
  /** Unix ms of the reservation (or of the last release for jobs from before reservations). */
  readonly at: number;
}

export interface LedgerLicenceView {
  readonly licenceId: bigint;
  /** ε committed under the licence (as `spent`). */
  readonly spent: number;
  readonly jobs: readonly LedgerJobView[];
}

export interface RefusalView {
  readonly jobId: string;
  readonly datasetId: bigint;
  readonly reason: string;
  readonly message: string;
  readonly at: number;
}

// SQLite REAL cannot hold Infinity through the driver: a noiseless job is stored as Number.MAX_VALUE.
const fromStored = (epsilon: number) => (epsilon >= Number.MAX_VALUE ? Infinity : epsilon);
const toStored = (epsilon: number) => (Number.isFinite(epsilon) ? epsilon : Number.MAX_VALUE);

export class EpsilonLedger {
  private constructor(private readonly db: DatabaseSync) {}

  static open(path: string): EpsilonLedger {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
    try {
      migrate(db, MIGRATIONS);
    } catch (error) {
      db.close();
      throw error;
    }
    return new EpsilonLedger(db);
  }

  /** Runs `fn` in one IMMEDIATE transaction (the write lock is taken before anything is read). */
  private transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * ε committed under a licence, over every job: each job counts with the larger of its reservation and what it
   * has released (Infinity once a noiseless job ran or was reserved).
   */
  spent(licenceId: bigint, exceptJob?: string): number {
    const rows = this.db
      .prepare(
        `SELECT job_id, max(epsilon) AS epsilon FROM (
           SELECT job_id, epsilon FROM epsilon_spent WHERE licence_id = ?1
           UNION ALL SELECT job_id, planned_epsilon FROM reservations WHERE licence_id = ?1
         ) GROUP BY job_id`,
      )
      .all(licenceId.toString()) as { job_id: string; epsilon: number }[];
    return rows.filter((r) => r.job_id !== exceptJob).reduce((sum, r) => sum + fromStored(r.epsilon), 0);
  }

  /** Jobs holding a slot of the licence: reserved at admission, or (before reservations existed) released. */
  jobs(licenceId: bigint): string[] {
    const rows = this.db
      .prepare(
        `SELECT job_id FROM reservations WHERE licence_id = ?1
         UNION SELECT job_id FROM epsilon_spent WHERE licence_id = ?1 AND rounds > 0`,
      )
      .all(licenceId.toString()) as { job_id: string }[];
    return rows.map((r) => r.job_id);
  }

  entry(licenceId: bigint, jobId: string): LedgerEntry | undefined {
    const row = this.db
      .prepare('SELECT rounds, epsilon FROM epsilon_spent WHERE licence_id = ? AND job_id = ?')
      .get(licenceId.toString(), jobId) as { rounds: number; epsilon: number } | undefined;
    return row && { licenceId, jobId, rounds: row.rounds, epsilon: fromStored(row.epsilon) };
  }

  /**
   * Reserves a job slot and the job's whole planned ε, atomically: refused (LedgerRefusal) when the licence's
   * `maxJobs` slots are taken or the budget cannot cover `plannedEpsilon` on top of every other job's. A job already
   * reserved keeps its reservation (the same signed request offered again after a reconnect).
   */
  reserve(licenceId: bigint, jobId: string, plannedEpsilon: number, limits: { maxJobs: number; budget: number }): void {
    if (Number.isNaN(plannedEpsilon) || plannedEpsilon < 0) throw new RangeError('plannedEpsilon must be ≥ 0');
    this.transaction(() => {
      const licence = licenceId.toString();
      if (this.db.prepare('SELECT 1 FROM reservations WHERE licence_id = ? AND job_id = ?').get(licence, jobId)) return;
      const others = this.jobs(licenceId).filter((j) => j !== jobId);
      if (others.length >= limits.maxJobs)
        throw new LedgerRefusal(
          'job-limit-reached',
          `licence ${licenceRef(licenceId)} allows ${limits.maxJobs} job(s); ${others.length} already reserved or ran`,
        );
      const spent = this.spent(licenceId, jobId);
      if (spent + plannedEpsilon > limits.budget)
        throw new LedgerRefusal(
          'budget-exhausted',
          `licence ${licenceRef(licenceId)}: ε budget ${limits.budget}, committed ${fmt(spent)}, this job needs ${fmt(plannedEpsilon)}`,
        );
      this.db
        .prepare('INSERT INTO reservations (licence_id, job_id, planned_epsilon, reserved_at) VALUES (?, ?, ?, ?)')
        .run(licence, jobId, toStored(plannedEpsilon), Date.now());
    });
  }

  /** The release of (job, round, kind), if the silo made it. */
  release(jobId: string, round: number, kind: ReleaseKind): Release | undefined {
    const row = this.db
      .prepare('SELECT weights_hash FROM releases WHERE job_id = ? AND round = ? AND kind = ?')
      .get(jobId, round, kind) as { weights_hash: string } | undefined;
    return row && { jobId, round, kind, weightsHash: row.weights_hash };
  }

  /**
   * Books one release BEFORE it leaves the silo (a crash can only over-count): refused with `replayed-round` when
   * (job, round, kind) was already released — the one-contribution rule survives restarts. `epsilonAfter(released)`
   * is the job's ε after the releases it has made of each kind, this one included (the accountant's composition over
   * the releases actually made); returns it.
   */
  book(
    licenceId: bigint,
    release: Release,
    epsilonAfter: (released: ReleaseCounts) => number,
  ): { readonly releases: number; readonly epsilon: number } {
    const { jobId, round, kind, weightsHash } = release;
    if (!Number.isInteger(round) || round < 0) throw new RangeError('round must be a non-negative integer');
    return this.transaction(() => {
      if (this.release(jobId, round, kind))
        throw new LedgerRefusal('replayed-round', `job ${jobId} round ${round} (${kind}) was already released`);
      this.db
        .prepare(
          'INSERT INTO releases (job_id, round, kind, licence_id, weights_hash, released_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(jobId, round, kind, licenceId.toString(), weightsHash, Date.now());
      const counts = this.db
        .prepare(
          `SELECT count(*) AS releases, sum(kind = 'train') AS rounds, sum(kind = 'eval') AS evals,
             sum(kind = 'statistics') AS statistics
           FROM releases WHERE job_id = ? AND licence_id = ?`,
        )
        .get(jobId, licenceId.toString()) as { releases: number; rounds: number; evals: number; statistics: number };
      const epsilon = epsilonAfter({ train: counts.rounds, eval: counts.evals, statistics: counts.statistics });
      if (Number.isNaN(epsilon) || epsilon < 0) throw new RangeError('epsilon must be ≥ 0');
      this.db
        .prepare(
          `INSERT INTO epsilon_spent (licence_id, job_id, rounds, epsilon, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (licence_id, job_id) DO UPDATE SET
             rounds = excluded.rounds, epsilon = max(epsilon, excluded.epsilon), updated_at = excluded.updated_at`,
        )
        .run(licenceId.toString(), jobId, counts.rounds, toStored(epsilon), Date.now());
      return { releases: counts.releases, epsilon };
    });
  }

  /** The licence a job was admitted under (its reservation), or undefined when this silo never admitted it. */
  licenceOf(jobId: string): bigint | undefined {
    const row = this.db.prepare('SELECT licence_id FROM reservations WHERE job_id = ? LIMIT 1').get(jobId) as
      { licence_id: string } | undefined;
    return row && BigInt(row.licence_id);
  }

  /**
   * Keeps a receipt signature durably. One receipt per (escrow job, dataset): the same digest again is a no-op,
   * another digest is refused (returns the stored one), so a silo never signs two transcripts of one job.
   */
  recordReceiptSignature(r: SignedReceipt): SignedReceipt {
    return this.transaction(() => {
      const existing = this.signedReceipt(r.escrowJobId, r.datasetId);
      if (existing) return existing;
      this.db
        .prepare(
          `INSERT INTO receipt_signatures (escrow_job_id, dataset_id, job_id, digest, receipt_json, signature, signed_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          r.escrowJobId,
          r.datasetId.toString(),
          r.jobId,
          r.digest,
          JSON.stringify(r.receipt),
          r.signature,
          Date.now(),
        );
      return r;
    });
  }

  /** The receipt signed for (escrow job, dataset), if any. */
  signedReceipt(escrowJobId: string, datasetId: bigint): SignedReceipt | undefined {
    const row = this.db
      .prepare('SELECT * FROM receipt_signatures WHERE escrow_job_id = ? AND dataset_id = ?')
      .get(escrowJobId, datasetId.toString()) as
      { job_id: string; digest: string; receipt_json: string; signature: string } | undefined;
    return (
      row && {
        escrowJobId,
        datasetId,
        jobId: row.job_id,
        digest: row.digest,
        receipt: JSON.parse(row.receipt_json) as unknown,
        signature: row.signature,
      }
    );
  }

  /** Every receipt this silo signed, newest first (what its owner settles with: `job settle --receipts`). */
  signedReceipts(): SignedReceipt[] {
    const rows = this.db
      .prepare('SELECT escrow_job_id, dataset_id FROM receipt_signatures ORDER BY signed_at DESC')
      .all() as { escrow_job_id: string; dataset_id: string }[];
    return rows.map((r) => this.signedReceipt(r.escrow_job_id, BigInt(r.dataset_id))!);
  }

  /** Records a refused job offer (the latest reason per job and dataset). */
  recordRefusal(jobId: string, datasetId: bigint, reason: string, message: string): void {
    this.db
      .prepare(
        `INSERT INTO refusals (job_id, dataset_id, reason, message, refused_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (job_id, dataset_id) DO UPDATE SET
           reason = excluded.reason, message = excluded.message, refused_at = excluded.refused_at`,
      )
      .run(jobId, datasetId.toString(), reason.slice(0, 64), message.slice(0, 1024), Date.now());
  }

  /** Refused job offers, newest first. */
  refusals(limit = 200): RefusalView[] {
    const rows = this.db
      .prepare('SELECT job_id, dataset_id, reason, message, refused_at FROM refusals ORDER BY refused_at DESC LIMIT ?')
      .all(limit) as { job_id: string; dataset_id: string; reason: string; message: string; refused_at: number }[];
    return rows.map((r) => ({
      jobId: r.job_id,
      datasetId: BigInt(r.dataset_id),
      reason: r.reason,
      message: r.message,
      at: r.refused_at,
    }));
  }

  /** Every licence with a reservation or a release, its committed ε and its jobs (newest licence first). */
  licences(): LedgerLicenceView[] {
    const rows = this.db
      .prepare(
        `SELECT licence_id, job_id, max(planned) AS planned, max(released) AS released, max(rounds) AS rounds,
                max(halted) AS halted, max(at) AS at FROM (
           SELECT licence_id, job_id, planned_epsilon AS planned, 0 AS released, 0 AS rounds, halted, reserved_at AS at
           FROM reservations
           UNION ALL SELECT licence_id, job_id, 0, epsilon, rounds, NULL, updated_at FROM epsilon_spent
         ) GROUP BY licence_id, job_id ORDER BY at DESC`,
      )
      .all() as {
      licence_id: string;
      job_id: string;
      planned: number;
      released: number;
      rounds: number;
      halted: string | null;
      at: number;
    }[];
    const byLicence = new Map<string, LedgerJobView[]>();
    for (const r of rows) {
      const jobs = byLicence.get(r.licence_id) ?? [];
      jobs.push({
        jobId: r.job_id,
        plannedEpsilon: fromStored(r.planned),
        releasedEpsilon: fromStored(r.released),
        rounds: r.rounds,
        halted: r.halted,
        at: r.at,
      });
      byLicence.set(r.licence_id, jobs);
    }
    return [...byLicence].map(([id, jobs]) => ({ licenceId: BigInt(id), spent: this.spent(BigInt(id)), jobs }));
  }

  /** Refuses the rest of a job, persistently (first reason wins). */
  halt(licenceId: bigint, jobId: string, reason: string): void {
    this.db
      .prepare('UPDATE reservations SET halted = coalesce(halted, ?) WHERE licence_id = ? AND job_id = ?')
      .run(reason.slice(0, 1024), licenceId.toString(), jobId);
  }

  /** Why the silo refuses the rest of this job, or undefined. */
  halted(licenceId: bigint, jobId: string): string | undefined {
    const row = this.db
      .prepare('SELECT halted FROM reservations WHERE licence_id = ? AND job_id = ?')
      .get(licenceId.toString(), jobId) as { halted: string | null } | undefined;
    return row?.halted ?? undefined;
  }

  close(): void {
    this.db.close();
  }
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '∞ (no noise)');
