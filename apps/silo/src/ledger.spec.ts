import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { allReleases, datasetEpsilon, planDatasetDp } from '@sealfold/fl';
import { EpsilonLedger, type ReleaseCounts } from './ledger.js';

describe('silo ε ledger: the statistics release', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-ledger-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const plan = planDatasetDp({
    level: 'record',
    noiseMultiplier: 1.1,
    delta: 1e-5,
    rounds: 2,
    trainRows: 900,
    batchSize: 32,
    localEpochs: 1,
  })!;
  const epsilonAfter = (released: ReleaseCounts) => datasetEpsilon(plan, released);

  it('books the statistics as their own kind, once, composed with the rounds in the job’s ε', () => {
    const ledger = EpsilonLedger.open(join(dir, 'a', 'ledger.db'));
    try {
      const seen: ReleaseCounts[] = [];
      const record = (r: ReleaseCounts) => (seen.push(r), epsilonAfter(r));
      ledger.reserve(7n, 'job', epsilonAfter(allReleases(2)), { maxJobs: 1, budget: 10 });
      const stats = ledger.book(7n, { jobId: 'job', round: 0, kind: 'statistics', weightsHash: 'ab' }, record);
      expect(seen.at(-1)).toEqual({ train: 0, eval: 0, statistics: 1 });
      expect(stats.epsilon).toBeGreaterThan(0);
      expect(() => ledger.book(7n, { jobId: 'job', round: 0, kind: 'statistics', weightsHash: 'ab' }, record)).toThrow(
        expect.objectContaining({ reason: 'replayed-round' }),
      );
      const round = ledger.book(7n, { jobId: 'job', round: 1, kind: 'train', weightsHash: 'cd' }, record);
      expect(seen.at(-1)).toEqual({ train: 1, eval: 0, statistics: 1 });
      expect(round.epsilon).toBeGreaterThan(stats.epsilon);
      expect(ledger.entry(7n, 'job')!.epsilon).toBe(round.epsilon);
      // Rounds count training releases only.
      expect(ledger.entry(7n, 'job')!.rounds).toBe(1);
    } finally {
      ledger.close();
    }
  });

  it('migrates a ledger from before statistics releases, keeping its releases', () => {
    const path = join(dir, 'old', 'ledger.db');
    // The v3 schema as it shipped (releases' CHECK knows train and eval only), with one release in it.
    const first = EpsilonLedger.open(path);
    first.book(3n, { jobId: 'old', round: 1, kind: 'train', weightsHash: 'ee' }, () => 1.5);
    first.close();
    const db = new DatabaseSync(path);
    db.exec(`DROP TABLE releases;
      CREATE TABLE releases (
        job_id TEXT NOT NULL, round INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('train', 'eval')),
        licence_id TEXT NOT NULL, weights_hash TEXT NOT NULL, released_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, round, kind)) STRICT;
      INSERT INTO releases VALUES ('old', 1, 'train', '3', 'ee', 1);
      DELETE FROM schema_migrations WHERE version = 4;`);
    expect(() => db.exec(`INSERT INTO releases VALUES ('old', 0, 'statistics', '3', 'ee', 1)`)).toThrow(/CHECK/);
    db.close();
    const ledger = EpsilonLedger.open(path);
    try {
      expect(ledger.release('old', 1, 'train')).toMatchObject({ weightsHash: 'ee' });
      ledger.book(3n, { jobId: 'old', round: 0, kind: 'statistics', weightsHash: 'ff' }, () => 2);
      expect(ledger.release('old', 0, 'statistics')).toBeDefined();
      expect(ledger.entry(3n, 'old')).toMatchObject({ rounds: 1, epsilon: 2 });
    } finally {
      ledger.close();
    }
  });
});
