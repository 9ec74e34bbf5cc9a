import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { computeJobSchema, jobSchemaHash, jobTraining, type JobRequest, NO_ESCROW } from '@sealfold/protocol';
import { JobsRepository } from '../jobs/jobs.repository.js';
import { CoordinatorDatabase } from './database.js';
import { MIGRATIONS } from './migrations.js';

// A JobRequest v1 as stored before migration 4 (no coordinator, recipient, training or SecAgg+ terms).
const V1_REQUEST = {
  buyer: '0x' + '11'.repeat(20),
  datasets: ['1'],
  licences: ['2'],
  modelSpecHash: '0x' + 'ab'.repeat(32),
  strategy: 'fedavg',
  rounds: 3,
  dp: { noiseMultiplierMilli: 0, clipNormMicro: '0', deltaAtto: '0' },
  nonce: '1',
  deadline: '2000000000',
  chainId: '31337',
};

const JOB_SCHEMA = computeJobSchema([
  {
    id: '1',
    schema: {
      columns: [
        { name: 'x', type: 'float' },
        { name: 'y', type: 'categorical', levels: ['a', 'b'] },
      ],
      label: 'y',
    },
  },
]).schema;

const v4Request = (nonce: bigint): JobRequest => ({
  buyer: '0x' + '11'.repeat(20),
  coordinator: '0x' + '22'.repeat(20),
  datasets: [1n],
  licences: [2n],
  modelSpecHash: '0x' + 'ab'.repeat(32),
  jobSchemaHash: jobSchemaHash(JOB_SCHEMA),
  recipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
  strategy: 'fedavg',
  rounds: 3,
  training: jobTraining(),
  dp: { noiseMultiplierMilli: 0, clipNormMicro: 0n, deltaAtto: 0n, level: 'record' },
  secagg: { enabled: true, minContributors: 3 },
  escrow: NO_ESCROW,
  nonce,
  deadline: 2_000_000_000n,
  chainId: 31337n,
});

describe('migration 4: JobRequest v2', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-migrations-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails unfinished v1 jobs, keeps every v1 row, and the repository reads and writes v4 jobs only', async () => {
    const path = join(dir, 'coordinator.db');
    const { db: before } = await CoordinatorDatabase.open(
      path,
      MIGRATIONS.filter((m) => m.version < 4),
    );
    const insertV1 = (id: string, nonce: string, status: string) =>
      before.run(
        `INSERT INTO jobs (id, buyer, nonce, request_json, signature, recipient, status, rounds, created_at, updated_at,
                           model_spec_json, training_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, 3, 1, 1, '{}', '{"localEpochs":1}')`,
        id,
        V1_REQUEST.buyer,
        nonce,
        JSON.stringify({ ...V1_REQUEST, nonce }),
        '0x' + '00'.repeat(65),
        'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
        status,
      );
    await insertV1('a'.repeat(64), '1', 'pending');
    await insertV1('b'.repeat(64), '2', 'running');
    await insertV1('c'.repeat(64), '3', 'completed');
    await before.close();

    const { db, applied } = await CoordinatorDatabase.open(path);
    try {
      expect(applied).toEqual(MIGRATIONS.map((m) => m.version).filter((v) => v >= 4));
      const rows = await db.all<{ id: string; status: string; reason_code: string | null; request_version: number }>(
        'SELECT id, status, reason_code, request_version FROM jobs ORDER BY id',
      );
      expect(rows).toEqual([
        { id: 'a'.repeat(64), status: 'failed', reason_code: 'REQUEST_V1', request_version: 1 },
        { id: 'b'.repeat(64), status: 'failed', reason_code: 'REQUEST_V1', request_version: 1 },
        { id: 'c'.repeat(64), status: 'completed', reason_code: null, request_version: 1 },
      ]);
      const jobs = new JobsRepository(db);
      // v1 rows no longer parse as requests: the repository does not read them (nor resume them).
      expect(await jobs.list({ limit: 10 })).toEqual([]);
      expect(await jobs.withStatus('failed')).toEqual([]);
      expect(await jobs.get('a'.repeat(64))).toBeUndefined();
      const job = await jobs.insert({
        id: 'd'.repeat(64),
        request: v4Request(4n),
        signature: '0x' + '00'.repeat(65),
        modelSpec: {},
        jobSchema: JOB_SCHEMA,
      });
      expect(job).toMatchObject({
        status: 'pending',
        recipient: v4Request(4n).recipient,
        request: v4Request(4n),
        jobSchema: JOB_SCHEMA,
        majorityBaseline: null,
        settlement: null,
      });
      expect((await jobs.list({ limit: 10 })).map((j) => j.id)).toEqual(['d'.repeat(64)]);
    } finally {
      await db.close();
    }
  });
});
