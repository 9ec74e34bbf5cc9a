// Delivery of the final model: a versioned bundle (model spec + flat weights + provenance), encrypted with age v1 to
// the buyer's X25519 recipient, stored in the content store, provenance recorded on chain through ModelRegistry.
import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { encrypt } from '@sealfold/crypto';
import {
  DEFAULT_VALIDATION_FRACTION,
  datasetEpsilon,
  encodeWeights,
  modelSpecHash,
  planDatasetDp,
  validationCount,
} from '@sealfold/fl';
import {
  EPSILON_UNBOUNDED_MILLI,
  MODEL_BUNDLE_FORMAT,
  SealfoldError,
  dpParamsToFloats,
  encodeModelBundle,
  epsilonToMilli,
  inputEncodingSchema,
  jobRequestToJson,
  modelBundleMetadataSchema,
  type ModelBundleMetadata,
  type ModelProvenanceView,
  type ModelRecordView,
} from '@sealfold/protocol';
import { ApiError } from '../common/api-error.js';
import { ChainService } from '../chain/chain.service.js';
import { CoordinatorDatabase, type SqlExecutor } from '../database/database.js';
import { DatasetsRepository } from '../datasets/datasets.repository.js';
import type { JobRecord } from '../jobs/jobs.repository.js';
import { RoundsRepository } from '../rounds/rounds.repository.js';
import { CONTENT_STORE, type CoordinatorContentStore } from './content-store.port.js';

export type ModelRecord = ModelRecordView;

export class ModelDeliveryError extends SealfoldError {
  override readonly name = 'ModelDeliveryError';
}

/**
 * ε of the job (Rényi-DP accountant, libs/fl) in thousandths, rounded up; EPSILON_UNBOUNDED_MILLI
 * (libs/protocol) when the job adds no noise. The largest ε any dataset's silo books (libs/fl datasetEpsilon, the
 * computation the silo's ledger and `job create` use): the statistics release composed with `rounds` training
 * updates and evaluations, the noise multipliers derived from the signed terms. Record level: DP-SGD on each
 * dataset's training split (the manifest's row count less the silos' default held-out share); the uint32 maximum
 * when a row count is unknown or δ ≥ 1/rows (no finite bound to record).
 */
export function epsilonSpentMilli(
  job: JobRecord,
  rounds: number,
  rowsOf: (datasetId: bigint) => number | null | undefined = () => undefined,
): number {
  const dp = dpParamsToFloats(job.request.dp);
  if (dp.noiseMultiplier === 0 || dp.delta === 0) return EPSILON_UNBOUNDED_MILLI;
  const released = { train: rounds, eval: rounds, statistics: 1 };
  const { batchSize, localEpochs } = job.request.training;
  const terms = { ...dp, rounds: job.request.rounds, batchSize, localEpochs };
  if (dp.level === 'owner') return epsilonToMilli(datasetEpsilon(planDatasetDp(terms), released));
  let worst = 0;
  for (const id of job.request.datasets) {
    const rows = rowsOf(id);
    if (!rows || !(dp.delta < 1 / rows)) return EPSILON_UNBOUNDED_MILLI;
    const trainRows = rows - validationCount(rows, DEFAULT_VALIDATION_FRACTION);
    worst = Math.max(worst, datasetEpsilon(planDatasetDp({ ...terms, trainRows }), released));
  }
  return epsilonToMilli(worst);
}

@Injectable()
export class ModelsService {
  constructor(
    @Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(RoundsRepository) private readonly rounds: RoundsRepository,
    @Optional() @Inject(CONTENT_STORE) private readonly store: CoordinatorContentStore | null,
  ) {}

  /**
   * Encrypts, stores and records the final model; idempotent per job (a resumed job reuses its record). `rounds`:
   * the rounds committed; `roundsRun`: the highest round number used, committed or abandoned — every silo released
   * at most once per round number, so the privacy cost is counted over those. `write` runs the record's insert
   * (the job's lease-fenced transaction when a run delivers).
   */
  async deliver(
    job: JobRecord,
    weights: Float32Array,
    rounds: number,
    roundsRun: number = rounds,
    write: <T>(fn: (tx: SqlExecutor) => Promise<T>) => Promise<T> = (fn) => this.db.transaction(fn),
  ): Promise<ModelRecord> {
    const existing = await this.get(job.id, false);
    if (existing) return existing;
    if (!this.store) throw new ModelDeliveryError('MODEL_STORE_UNAVAILABLE', 'no content store is configured');
    if (!job.recipient) throw new ModelDeliveryError('NO_RECIPIENT', 'the job names no age recipient');
    const history = (await this.rounds.rounds(job.id)).filter((r) => r.status === 'completed');
    // The indexed public manifests' row counts (record-level ε is per dataset).
    const datasets = new DatasetsRepository(this.db);
    const rows = new Map<bigint, number | null | undefined>();
    for (const id of job.request.datasets) rows.set(id, (await datasets.getDataset(String(id)))?.rows);
    const epsilon = epsilonSpentMilli(job, roundsRun, (id) => rows.get(id));
    const metadata: ModelBundleMetadata = {
      format: MODEL_BUNDLE_FORMAT,
      jobId: job.id,
      modelSpecHash: modelSpecHash(job.modelSpec),
      strategy: job.request.strategy,
      rounds,
      datasets: job.request.datasets.map(String),
      epsilonSpentMilli: epsilon,
      delta: dpParamsToFloats(job.request.dp).delta,
      metrics: history.map((r) => ({
        round: r.round,
        participants: r.participants,
        loss: r.loss,
        accuracy: r.accuracy,
      })),
      ...(job.majorityBaseline !== null ? { majorityBaseline: job.majorityBaseline } : {}),
    };
    // The bundle: metadata, the signed request, the spec and the flat weights (libs/fl weight codec, base64).
    const bundle = encodeModelBundle({
      ...metadata,
      request: jobRequestToJson(job.request),
      modelSpec: job.modelSpec,
      weights: Buffer.from(encodeWeights(weights)).toString('base64'),
      ...(job.encoding ? { encoding: inputEncodingSchema.parse(job.encoding) } : {}),
    });
    const ciphertext = encrypt(bundle, [job.recipient]);
    const cid = await this.store.add(ciphertext);
    const chain = this.chain.optional();
    if (!chain) throw new ModelDeliveryError('CHAIN_UNAVAILABLE', 'no chain to record the provenance on');
    const txHash = await chain.recordModel({
      jobId: job.id,
      modelCid: cid,
      datasets: job.request.datasets,
      rounds,
      epsilonSpentMilli: epsilon,
    });
    const sha256 = createHash('sha256').update(ciphertext).digest('hex');
    await write((tx) =>
      tx.run(
        `INSERT INTO models (job_id, cid, recipient, bytes, sha256, tx_hash, metadata_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        job.id,
        cid,
        job.recipient,
        ciphertext.length,
        sha256,
        txHash,
        JSON.stringify(metadata),
        Date.now(),
      ),
    );
    return (await this.get(job.id))!;
  }

  async get(jobId: string, required = true): Promise<ModelRecord | undefined> {
    const row = await this.db.get<{
      job_id: string;
      cid: string;
      recipient: string;
      bytes: number;
      sha256: string;
      tx_hash: string | null;
      metadata_json: string;
      created_at: number;
    }>('SELECT * FROM models WHERE job_id = ?', jobId);
    if (!row) {
      if (required) throw new ApiError(404, 'MODEL_NOT_FOUND', `no model for job ${jobId} (yet)`);
      return undefined;
    }
    return {
      jobId: row.job_id,
      cid: row.cid,
      recipient: row.recipient,
      bytes: Number(row.bytes),
      sha256: row.sha256,
      txHash: row.tx_hash,
      metadata: modelBundleMetadataSchema.parse(JSON.parse(row.metadata_json)),
      createdAt: new Date(Number(row.created_at)).toISOString(),
    };
  }

  /** The job's ModelRegistry record read on chain now (not this database's word); 404 before it is recorded. */
  async provenance(jobId: string): Promise<ModelProvenanceView> {
    const delivered = (await this.get(jobId))!;
    const chain = this.chain.require();
    const onChain = await chain.readModel(jobId);
    if (!onChain)
      throw new ApiError(404, 'MODEL_NOT_RECORDED', `the model of job ${jobId} is not recorded on chain (yet)`);
    return {
      jobId,
      chainId: chain.chainId.toString(),
      registry: onChain.registry,
      coordinator: onChain.coordinator,
      modelCid: onChain.modelCid,
      datasetIds: onChain.datasets.map(String),
      rounds: onChain.rounds,
      epsilonSpentMilli: onChain.epsilonSpentMilli,
      recordedAt: onChain.recordedAt,
      matchesDelivery: onChain.modelCid === delivered.cid,
    };
  }
}
