// Ordered schema migrations of the coordinator's database, on SQLite and PostgreSQL alike, applied by
// @sealfold/sqlite `migrateAsync` (each once, in its own transaction, recorded in `schema_migrations`); a migration
// is never edited after release — a change is a new migration appended at the end. A shared text is SQLite's STRICT
// dialect, given to PostgreSQL with its column types widened (@sealfold/sqlite migrationSql); a text that must
// differ is written per engine.
import { migrationSql, type Migration } from '@sealfold/sqlite';

// Migration 5, both engines: who runs each job (rounds/job-leases.ts), and the round in flight.
const LEASES = `
  -- One row per job that a coordinator has run: the holder's id, the fencing token (incremented on every
  -- acquisition; every write of the job's run checks it in its own transaction) and when the lease lapses (ms).
  CREATE TABLE job_leases (
    job_id      TEXT PRIMARY KEY REFERENCES jobs(id),
    holder      TEXT NOT NULL,
    token       INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
  ) STRICT;
  -- The round whose global model went out and was not committed yet, and how far it got: 'started' (no silo was
  -- asked for its masked input: the round may run again under its number), 'released' (silos may have released
  -- their input: never re-run, abandoned) or 'evaluated' (silos may also have evaluated its lost model).
  ALTER TABLE jobs ADD COLUMN inflight_round INTEGER;
  ALTER TABLE jobs ADD COLUMN inflight_stage TEXT CHECK (inflight_stage IN ('started', 'released', 'evaluated'));
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      -- Position of each chain event indexer: the next block to read.
      CREATE TABLE index_cursors (
        name       TEXT PRIMARY KEY,
        next_block TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      -- Dataset tokens (decimal ids) and their manifests, as indexed from chain events and fetched from IPFS.
      CREATE TABLE datasets (
        id              TEXT PRIMARY KEY,
        owner           TEXT NOT NULL,
        token_uri       TEXT NOT NULL,
        manifest_cid    TEXT,
        manifest_json   TEXT,
        manifest_error  TEXT,
        name            TEXT,
        features_json   TEXT,
        label           TEXT,
        classes_json    TEXT,
        rows            INTEGER,
        block_number    INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX datasets_owner ON datasets(owner);
      CREATE INDEX datasets_label ON datasets(label);

      CREATE TABLE licences (
        id             TEXT PRIMARY KEY,
        dataset_id     TEXT NOT NULL,
        holder         TEXT NOT NULL,
        expires_at     INTEGER NOT NULL,
        max_jobs       INTEGER,
        epsilon_milli  INTEGER,
        revoked        INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
        block_number   INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX licences_holder ON licences(holder);
      CREATE INDEX licences_dataset ON licences(dataset_id);

      -- Jobs: the signed request is kept verbatim so that silos can verify it themselves.
      CREATE TABLE jobs (
        id             TEXT PRIMARY KEY,
        buyer          TEXT NOT NULL,
        nonce          TEXT NOT NULL,
        request_json   TEXT NOT NULL,
        signature      TEXT NOT NULL,
        recipient      TEXT,
        status         TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
        reason_code    TEXT,
        reason         TEXT,
        rounds         INTEGER NOT NULL,
        current_round  INTEGER NOT NULL DEFAULT 0,
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        UNIQUE (buyer, nonce)
      ) STRICT;
      CREATE INDEX jobs_status ON jobs(status);
      CREATE INDEX jobs_buyer ON jobs(buyer);

      -- One row per finished (or aborted) round.
      CREATE TABLE rounds (
        job_id        TEXT NOT NULL REFERENCES jobs(id),
        round         INTEGER NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('completed', 'aborted')),
        participants  INTEGER NOT NULL,
        dropouts      INTEGER NOT NULL,
        loss          REAL,
        accuracy      REAL,
        reason        TEXT,
        started_at    INTEGER NOT NULL,
        finished_at   INTEGER NOT NULL,
        PRIMARY KEY (job_id, round)
      ) STRICT;

      -- The last committed global model of each job (restart point) and the strategy's state.
      CREATE TABLE global_models (
        job_id          TEXT PRIMARY KEY REFERENCES jobs(id),
        round           INTEGER NOT NULL,
        weights         BLOB NOT NULL,
        strategy_state  BLOB,
        updated_at      INTEGER NOT NULL
      ) STRICT;

      -- The delivered model: ciphertext CID and provenance.
      CREATE TABLE models (
        job_id         TEXT PRIMARY KEY REFERENCES jobs(id),
        cid            TEXT NOT NULL,
        recipient      TEXT NOT NULL,
        bytes          INTEGER NOT NULL,
        sha256         TEXT NOT NULL,
        tx_hash        TEXT,
        metadata_json  TEXT NOT NULL,
        created_at     INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'job model spec and training settings',
    sql: `
      -- The model specification whose hash the buyer signed, and the training settings chosen at submission.
      ALTER TABLE jobs ADD COLUMN model_spec_json TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE jobs ADD COLUMN training_json TEXT NOT NULL DEFAULT '{}';
      -- Silos that accepted a job, and their fixed SecAgg+ client ids (1-based position of the dataset).
      CREATE TABLE job_participants (
        job_id      TEXT NOT NULL REFERENCES jobs(id),
        dataset_id  TEXT NOT NULL,
        client_id   INTEGER NOT NULL,
        silo        TEXT NOT NULL,
        accepted    INTEGER NOT NULL CHECK (accepted IN (0, 1)),
        reason      TEXT,
        PRIMARY KEY (job_id, dataset_id)
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: 'read sessions (Sign-In with Ethereum)',
    sql: `
      -- EIP-4361 nonces handed out and not yet used; a nonce is deleted when a session is opened with it.
      CREATE TABLE auth_nonces (
        nonce       TEXT PRIMARY KEY,
        expires_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX auth_nonces_expiry ON auth_nonces(expires_at);
      -- Bearer tokens, kept only as their SHA-256 (a copy of the database does not open sessions).
      CREATE TABLE auth_sessions (
        token_sha256  TEXT PRIMARY KEY,
        address       TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX auth_sessions_expiry ON auth_sessions(expires_at);
    `,
  },
  {
    version: 4,
    name: 'job request v2',
    sql: `
      -- JobRequest v2 (EIP-712 domain version "2") signs the recipient, training settings and SecAgg+ terms, so the
      -- training settings the coordinator kept beside the request go, and the recipient column is a copy of the
      -- signed one. v1 jobs stay on record (request_version 1) but no silo would verify them any more: the ones not
      -- finished are failed, and the repository reads v2 jobs only.
      ALTER TABLE jobs ADD COLUMN request_version INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE jobs DROP COLUMN training_json;
      UPDATE jobs SET status = 'failed', reason_code = 'REQUEST_V1',
                      reason = 'signed under JobRequest v1, which silos no longer accept; sign the job again'
       WHERE status IN ('pending', 'running');
    `,
  },
  {
    version: 5,
    name: 'job leases and abandoned rounds',
    sql: {
      sqlite: `
        ${LEASES}
        -- SQLite cannot change a CHECK constraint in place: the rounds table is rebuilt (nothing references it).
        CREATE TABLE rounds_v5 (
          job_id        TEXT NOT NULL REFERENCES jobs(id),
          round         INTEGER NOT NULL,
          status        TEXT NOT NULL CHECK (status IN ('completed', 'aborted', 'abandoned')),
          participants  INTEGER NOT NULL,
          dropouts      INTEGER NOT NULL,
          loss          REAL,
          accuracy      REAL,
          reason        TEXT,
          started_at    INTEGER NOT NULL,
          finished_at   INTEGER NOT NULL,
          PRIMARY KEY (job_id, round)
        ) STRICT;
        INSERT INTO rounds_v5 SELECT * FROM rounds;
        DROP TABLE rounds;
        ALTER TABLE rounds_v5 RENAME TO rounds;
      `,
      postgres: `
        ${migrationSql({ sql: LEASES }, 'postgres')}
        ALTER TABLE rounds DROP CONSTRAINT rounds_status_check;
        ALTER TABLE rounds ADD CONSTRAINT rounds_status_check CHECK (status IN ('completed', 'aborted', 'abandoned'));
      `,
    },
  },
  {
    version: 6,
    name: 'job request v3: job schema',
    sql: `
      -- JobRequest v3 (EIP-712 domain version "3") signs the job schema hash (issue 13): the schema is kept beside
      -- the request, and the run records the input encoding (global feature statistics) and the majority-class
      -- baseline. Unfinished v2 jobs can no longer be verified by any silo: they fail, and stay on record.
      ALTER TABLE jobs ADD COLUMN job_schema_json TEXT;
      ALTER TABLE jobs ADD COLUMN encoding_json TEXT;
      ALTER TABLE jobs ADD COLUMN majority_baseline REAL;
      UPDATE jobs SET status = 'failed', reason_code = 'REQUEST_V2',
                      reason = 'signed under JobRequest v2, which silos no longer accept; sign the job again'
       WHERE status IN ('pending', 'running') AND request_version = 2;
    `,
  },
  {
    version: 7,
    name: 'job escrows and model assets (index)',
    sql: `
      -- JobEscrow and ModelAsset events (issue 20), indexed under their own cursor ('escrow'). The chain is the
      -- authority: these tables list (an owner's earnings, a model's sales); state is read on chain when shown.
      -- Ids are 0x + 64 hex (a model's id is its job's), addresses checksummed, wei amounts decimal strings.
      CREATE TABLE escrow_jobs (
        job_id          TEXT PRIMARY KEY,
        buyer           TEXT NOT NULL,
        request_digest  TEXT NOT NULL,
        terms_hash      TEXT NOT NULL,
        locked          TEXT NOT NULL,
        run_deadline    INTEGER NOT NULL,
        refunded        TEXT,
        block_number    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX escrow_jobs_buyer ON escrow_jobs(buyer);
      -- One payment per (job, dataset): JobEscrow pays each dataset of a job at most once.
      CREATE TABLE escrow_payments (
        job_id        TEXT NOT NULL,
        dataset_id    TEXT NOT NULL,
        payee         TEXT NOT NULL,
        rounds        INTEGER NOT NULL,
        amount        TEXT NOT NULL,
        fee           TEXT NOT NULL,
        tx_hash       TEXT NOT NULL,
        block_number  INTEGER NOT NULL,
        PRIMARY KEY (job_id, dataset_id)
      ) STRICT;
      CREATE INDEX escrow_payments_payee ON escrow_payments(payee);
      CREATE TABLE model_assets (
        model_id        TEXT PRIMARY KEY,
        registered_to   TEXT NOT NULL,
        receipt_digest  TEXT NOT NULL,
        parents_root    TEXT NOT NULL,
        stack_micros    INTEGER NOT NULL,
        parent_count    INTEGER NOT NULL,
        block_number    INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE model_licence_sales (
        tx_hash       TEXT NOT NULL,
        log_index     INTEGER NOT NULL,
        model_id      TEXT NOT NULL,
        buyer         TEXT NOT NULL,
        owner         TEXT NOT NULL,
        price         TEXT NOT NULL,
        fee           TEXT NOT NULL,
        upstream      TEXT NOT NULL,
        block_number  INTEGER NOT NULL,
        PRIMARY KEY (tx_hash, log_index)
      ) STRICT;
      CREATE INDEX model_licence_sales_model ON model_licence_sales(model_id);
      CREATE TABLE upstream_claims (
        tx_hash       TEXT NOT NULL,
        log_index     INTEGER NOT NULL,
        model_id      TEXT NOT NULL,
        dataset_id    TEXT NOT NULL,
        account       TEXT NOT NULL,
        amount        TEXT NOT NULL,
        block_number  INTEGER NOT NULL,
        PRIMARY KEY (tx_hash, log_index)
      ) STRICT;
      CREATE INDEX upstream_claims_account ON upstream_claims(account);
    `,
  },
  {
    version: 8,
    name: 'job request v4: escrow terms, settlement',
    sql: `
      -- JobRequest v4 (EIP-712 domain version "4") signs the escrow terms (issue 20): unfinished v3 jobs can no longer
      -- be verified by any silo. The settlement column keeps the co-signed receipt bundle and the settle transaction.
      ALTER TABLE jobs ADD COLUMN settlement_json TEXT;
      -- Per committed round, the receipt transcript: the datasets whose input entered the sum, the model's SHA-256.
      CREATE TABLE round_transcripts (
        job_id TEXT NOT NULL,
        round INTEGER NOT NULL,
        contributors_json TEXT NOT NULL,
        model_digest TEXT NOT NULL,
        PRIMARY KEY (job_id, round)
      );
      UPDATE jobs SET status = 'failed', reason_code = 'REQUEST_V3',
                      reason = 'signed under JobRequest v3, which silos no longer accept; sign the job again'
       WHERE status IN ('pending', 'running') AND request_version = 3;
    `,
  },
];
