// The silo's privacy ledger: ε spent per licence, kept by the owner's node itself (the chain records the budget,
// only the silo knows what it has released). node:sqlite, one row per (licence, job); every write is a transaction.
//
// Accounting: within one job the rounds compose through the RDP accountant (tighter than adding per-round ε), so a
// job's row holds ε after its latest round; across jobs on the same licence ε adds (basic sequential composition,
// Dwork & Roth 2014, Thm. 3.16).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export const UNLIMITED_EPSILON_MILLI = 0xffff_ffff;

export interface LedgerEntry {
  readonly licenceId: bigint;
  readonly jobId: string;
  readonly rounds: number;
  /** ε after `rounds` rounds of this job; Infinity when the job adds no noise. */
  readonly epsilon: number;
}

const MIGRATIONS = [
  `CREATE TABLE epsilon_spent (
     licence_id TEXT NOT NULL,
     job_id TEXT NOT NULL,
     rounds INTEGER NOT NULL,
     epsilon REAL NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (licence_id, job_id)
   ) STRICT`,
];

// SQLite REAL cannot hold Infinity through the driver: a noiseless job is stored as Number.MAX_VALUE.
const fromStored = (epsilon: number) => (epsilon >= Number.MAX_VALUE ? Infinity : epsilon);

export class EpsilonLedger {
  private constructor(private readonly db: DatabaseSync) {}

  static open(path: string): EpsilonLedger {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
    const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec('BEGIN');
      try {
        db.exec(MIGRATIONS[v]);
        db.exec(`PRAGMA user_version = ${v + 1}`);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    }
    return new EpsilonLedger(db);
  }

  /** Total ε released under a licence, over every job (Infinity once a noiseless job ran). */
  spent(licenceId: bigint, exceptJob?: string): number {
    const rows = this.db
      .prepare('SELECT job_id, epsilon FROM epsilon_spent WHERE licence_id = ?')
      .all(licenceId.toString()) as { job_id: string; epsilon: number }[];
    return rows.filter((r) => r.job_id !== exceptJob).reduce((sum, r) => sum + fromStored(r.epsilon), 0);
  }

  /** Jobs that released at least one round under the licence. */
  jobs(licenceId: bigint): string[] {
    const rows = this.db
      .prepare('SELECT job_id FROM epsilon_spent WHERE licence_id = ? AND rounds > 0 ORDER BY updated_at')
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
   * Records that `jobId` has released `rounds` rounds costing `epsilon` in total. Called BEFORE the round's update
   * leaves the silo, so a crash can only over-count. Never lowers a recorded value.
   */
  charge(licenceId: bigint, jobId: string, rounds: number, epsilon: number): void {
    if (!Number.isInteger(rounds) || rounds < 0) throw new RangeError('rounds must be a non-negative integer');
    if (Number.isNaN(epsilon) || epsilon < 0) throw new RangeError('epsilon must be ≥ 0');
    const stored = Number.isFinite(epsilon) ? epsilon : Number.MAX_VALUE;
    this.db
      .prepare(
        `INSERT INTO epsilon_spent (licence_id, job_id, rounds, epsilon, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (licence_id, job_id) DO UPDATE SET
           rounds = max(rounds, excluded.rounds), epsilon = max(epsilon, excluded.epsilon), updated_at = excluded.updated_at`,
      )
      .run(licenceId.toString(), jobId, rounds, stored, Date.now());
  }

  close(): void {
    this.db.close();
  }
}
