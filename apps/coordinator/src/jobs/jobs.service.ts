// Job admission and lifecycle. Admission checks run cheapest first and nothing is written until all pass:
// body shape → coordinator = this one → EIP-712 signature (chain id, deadline, signer = buyer) → job id (the digest)
// and nonce unused → licences valid on chain. Everything the silos act on (recipient, training, DP, SecAgg+ terms) is
// inside the signed request: the coordinator adds only the model spec, whose hash is signed too.
import { Inject, Injectable } from '@nestjs/common';
import { SignatureError, hashJobRequest, verifyJobRequest } from '@sealfold/chain';
import {
  JobSchemaError,
  computeJobSchema,
  jobCancelMessage,
  jobRequestJsonSchema,
  jobRequestToJson,
  jobSchemaHash,
  jobSchemaInputWidth,
  jobSchemaMismatch,
  jobSchemaSchema,
  requestsEscrow,
  type JobPlanView,
  type JobView,
} from '@sealfold/protocol';
import { parseRecipient } from '@sealfold/crypto';
import { STRATEGY_NAMES, isStrategyName, modelSpecHash } from '@sealfold/fl';
import { getAddress, verifyMessage } from 'ethers';
import { z } from 'zod';
import { ApiError, parseOr400 } from '../common/api-error.js';
import { ChainService } from '../chain/chain.service.js';
import { mapBounded } from '../common/map-bounded.js';
import { DatasetsRepository } from '../datasets/datasets.repository.js';
import { JobEvents } from './job-events.js';
import { JobsRepository, NonceReplayError, TERMINAL_STATUSES, type JobRecord } from './jobs.repository.js';

const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte hex signature');

export const submitJobSchema = z
  .object({
    /**
     * The JobRequest v2 in JSON form (bigints as decimal strings): it names this coordinator, the model recipient,
     * the training settings, DP parameters and SecAgg+ terms, all under the buyer's signature.
     */
    request: z.unknown(),
    /** EIP-712 signature of `request` by `request.buyer` (domain version "2"). */
    signature,
    /** The model specification (@sealfold/fl ModelSpec); its modelSpecHash must equal request.modelSpecHash. */
    modelSpec: z.record(z.string(), z.unknown()),
    /** The job schema (GET /jobs/plan); its jobSchemaHash must equal request.jobSchemaHash. */
    jobSchema: z.unknown(),
  })
  .strict();

export const cancelJobSchema = z.object({ signature }).strict();

/** Chain reads of one submission (a licence, a job rate per dataset) pending at once. */
const CHAIN_READS_IN_PARALLEL = 16;

const SIGNATURE_FAILURES: Record<string, { status: number; code: string }> = {
  malformed: { status: 400, code: 'MALFORMED_SIGNATURE' },
  'wrong-chain': { status: 400, code: 'WRONG_CHAIN_ID' },
  expired: { status: 400, code: 'REQUEST_EXPIRED' },
  'signer-mismatch': { status: 401, code: 'SIGNATURE_MISMATCH' },
};

export type { JobView };

export const toJobView = (j: JobRecord): JobView => ({
  id: j.id,
  buyer: getAddress(j.buyer),
  status: j.status,
  reasonCode: j.reasonCode,
  reason: j.reason,
  rounds: j.rounds,
  currentRound: j.currentRound,
  request: jobRequestToJson(j.request),
  recipient: j.recipient,
  modelSpec: j.modelSpec,
  jobSchema: j.jobSchema,
  majorityBaseline: j.majorityBaseline,
  settlement: j.settlement,
  createdAt: new Date(j.createdAt).toISOString(),
  updatedAt: new Date(j.updatedAt).toISOString(),
});

@Injectable()
export class JobsService {
  constructor(
    @Inject(JobsRepository) private readonly jobs: JobsRepository,
    @Inject(ChainService) private readonly chainService: ChainService,
    @Inject(JobEvents) private readonly events: JobEvents,
    @Inject(DatasetsRepository) private readonly datasets: DatasetsRepository,
  ) {}

  /**
   * The job schema of `datasetIds` (issue 13 §3), from their public manifests as indexed: common features by name
   * and type, the union of classes in one fixed order. 404 for an unknown dataset, 409 when one has no valid
   * manifest or the datasets cannot train together (the message names the dataset and column).
   */
  async plan(datasetIds: readonly string[]): Promise<JobPlanView> {
    const inputs = [];
    for (const id of datasetIds) {
      const d = await this.datasets.getDataset(id);
      if (!d) throw new ApiError(404, 'DATASET_NOT_FOUND', `no dataset ${id}`);
      if (!d.manifest) throw new ApiError(409, 'NO_MANIFEST', `dataset ${id} has no valid manifest (yet)`);
      inputs.push({ id, schema: d.manifest.schema });
    }
    try {
      const plan = computeJobSchema(inputs);
      return { datasets: [...datasetIds], ...plan, inputWidth: jobSchemaInputWidth(plan.schema) };
    } catch (error) {
      if (error instanceof JobSchemaError) throw new ApiError(409, error.code, error.message);
      throw error;
    }
  }

  /** GET /jobs/plan's query: `datasets=1,2,3`. */
  planQuery(query: unknown): Promise<JobPlanView> {
    const q = parseOr400(
      z
        .object({
          datasets: z
            .string()
            .max(20_000)
            .regex(/^(0|[1-9][0-9]{0,77})(,(0|[1-9][0-9]{0,77}))*$/, 'comma-separated decimal dataset ids'),
        })
        .strict(),
      query,
      'QUERY',
    );
    const ids = q.datasets.split(',');
    if (new Set(ids).size !== ids.length) throw new ApiError(400, 'INVALID_QUERY', 'datasets must be distinct');
    return this.plan(ids);
  }

  async submit(body: unknown): Promise<JobRecord> {
    const input = parseOr400(submitJobSchema, body, 'BODY');
    const request = parseOr400(jobRequestJsonSchema, input.request, 'JOB_REQUEST');
    let specHash: string;
    try {
      specHash = modelSpecHash(input.modelSpec);
    } catch (error) {
      throw new ApiError(400, 'INVALID_MODEL_SPEC', (error as Error).message);
    }
    if (specHash !== request.modelSpecHash.toLowerCase())
      throw new ApiError(
        400,
        'MODEL_SPEC_MISMATCH',
        `modelSpec hashes to ${specHash}, the request names ${request.modelSpecHash}`,
      );
    // The model is sealed to this recipient after the last round (X25519 or hybrid post-quantum): a recipient that
    // does not parse (a bad checksum, a key of another length) is refused now, not after training.
    try {
      parseRecipient(request.recipient);
    } catch (error) {
      throw new ApiError(
        400,
        'UNSUPPORTED_RECIPIENT',
        `the model cannot be encrypted to ${request.recipient.slice(0, 16)}…: ${(error as Error).message}`,
      );
    }
    if (!isStrategyName(request.strategy))
      throw new ApiError(400, 'UNSUPPORTED_STRATEGY', `strategy must be one of ${STRATEGY_NAMES.join(', ')}`);
    // Every released sum holds at least `secagg.minContributors` owners' inputs (silos enforce it): a job naming fewer
    // datasets can never run a round, so it is refused now rather than failing after a stage timeout.
    if (request.datasets.length < request.secagg.minContributors)
      throw new ApiError(
        400,
        'TOO_FEW_DATASETS',
        `the request names ${request.datasets.length} dataset(s) but secagg.minContributors is ${request.secagg.minContributors}: ` +
          `a job needs at least ${request.secagg.minContributors} datasets (one silo each) to run`,
      );
    const chain = this.chainService.require();
    // The request names the coordinator that runs it (and records the model on chain): another coordinator's job is
    // not ours to run, and a silo treats this address as never an independent owner.
    if (!chain.coordinatorAddress)
      throw new ApiError(
        503,
        'NO_COORDINATOR_ACCOUNT',
        'this coordinator has no chain account, so it cannot run jobs (GET /info coordinatorAddress is null)',
      );
    if (getAddress(request.coordinator) !== getAddress(chain.coordinatorAddress))
      throw new ApiError(
        400,
        'WRONG_COORDINATOR',
        `the request names coordinator ${getAddress(request.coordinator)}, this coordinator is ${getAddress(chain.coordinatorAddress)} (GET /info coordinatorAddress)`,
      );

    let buyer: string;
    try {
      buyer = verifyJobRequest(chain.domain, request, input.signature);
    } catch (error) {
      if (error instanceof SignatureError) {
        const f = SIGNATURE_FAILURES[error.reason] ?? { status: 400, code: 'BAD_SIGNATURE' };
        throw new ApiError(f.status, f.code, error.message);
      }
      throw error;
    }
    // The EIP-712 digest is the job id: one id per signed request, stable across coordinators. The same signed
    // request submitted again (by anyone) is the same job: it cannot be re-routed, only refused as a duplicate.
    const id = hashJobRequest(chain.domain, request).slice(2);
    if (await this.jobs.get(id)) throw new ApiError(409, 'JOB_EXISTS', `job ${id} was already submitted`);
    if (await this.jobs.nonceUsed(buyer, request.nonce))
      throw new ApiError(409, 'NONCE_REPLAYED', `nonce ${request.nonce} of ${buyer} was already used`);

    // The job schema must be the signed one and, for every dataset whose manifest is indexed, map its columns (the
    // silos check both again on their own rows); a buyer may sign a narrower schema than GET /jobs/plan's.
    const jobSchema = parseOr400(jobSchemaSchema, input.jobSchema, 'JOB_SCHEMA');
    if (jobSchemaHash(jobSchema) !== request.jobSchemaHash.toLowerCase())
      throw new ApiError(
        400,
        'JOB_SCHEMA_MISMATCH',
        `jobSchema hashes to ${jobSchemaHash(jobSchema)}, the request signs ${request.jobSchemaHash}`,
      );
    for (const datasetId of request.datasets) {
      const manifest = (await this.datasets.getDataset(String(datasetId)))?.manifest;
      const mismatch = manifest && jobSchemaMismatch(jobSchema, manifest.schema);
      if (mismatch)
        throw new ApiError(
          409,
          'JOB_SCHEMA_UNMAPPABLE',
          `dataset ${datasetId} cannot be mapped onto the job schema: column "${mismatch.column}": ${mismatch.message}`,
        );
    }

    // A silo re-checks its own licence before training; this check keeps unlicensed jobs from being scheduled at all.
    // The reads run CHAIN_READS_IN_PARALLEL at a time: one after another, 1000 datasets' took ~100 s (bench scale).
    const checks = await mapBounded(request.datasets, CHAIN_READS_IN_PARALLEL, (datasetId, i) =>
      chain.checkLicence(buyer, datasetId, request.licences[i]),
    );
    const failures: { datasetId: string; licenceId: string; code: string; reason: string }[] = [];
    for (const [i, check] of checks.entries())
      if (!check.valid)
        failures.push({
          datasetId: request.datasets[i].toString(),
          licenceId: request.licences[i].toString(),
          code: check.code,
          reason: check.reason,
        });
    if (failures.length > 0)
      throw new ApiError(
        403,
        failures[0].code,
        `no valid licence for dataset ${failures[0].datasetId}: ${failures[0].reason}`,
        failures,
      );

    // Issue 20: a dataset that charges a job rate trains only under an open escrow of the signed terms. A request
    // that signs none (NO_ESCROW: e.g. the web page, which cannot lock a price) would be refused by each such silo
    // after the offers; refuse it here, naming the datasets, before anything is scheduled.
    if (!requestsEscrow(request)) {
      const rates = await mapBounded(request.datasets, CHAIN_READS_IN_PARALLEL, (datasetId) =>
        chain.jobRate(datasetId),
      );
      const charging = request.datasets.filter((_, i) => rates[i] > 0n).map(String);
      if (charging.length > 0)
        throw new ApiError(
          409,
          'ESCROW_REQUIRED',
          `dataset${charging.length > 1 ? 's' : ''} ${charging.join(', ')} charge${charging.length > 1 ? '' : 's'} a job rate per row and round: ` +
            'the request must sign escrow terms and the buyer lock the price before the silos train (`sealfold job create` does both)',
          charging.map((datasetId) => ({ datasetId })),
        );
    }

    let job: JobRecord;
    try {
      job = await this.jobs.insert({
        id,
        request: { ...request, buyer },
        signature: input.signature,
        modelSpec: input.modelSpec,
        jobSchema,
      });
    } catch (error) {
      if (error instanceof NonceReplayError) throw new ApiError(409, 'NONCE_REPLAYED', error.message);
      throw error;
    }
    this.events.emit('scheduled', job.id);
    return job;
  }

  async get(id: string): Promise<JobRecord> {
    const job = await this.jobs.get(id);
    if (!job) throw new ApiError(404, 'JOB_NOT_FOUND', `no job ${id}`);
    return job;
  }

  async list(query: unknown): Promise<JobRecord[]> {
    const q = parseOr400(
      z
        .object({
          buyer: z
            .string()
            .regex(/^0x[0-9a-fA-F]{40}$/)
            .optional(),
          status: z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        })
        .strict(),
      query,
      'QUERY',
    );
    return this.jobs.list(q);
  }

  /** Cancels a pending or running job; only the buyer may (EIP-191 signature over jobCancelMessage). */
  async cancel(id: string, body: unknown): Promise<JobRecord> {
    const { signature: sig } = parseOr400(cancelJobSchema, body, 'BODY');
    const job = await this.get(id);
    let signer: string;
    try {
      signer = verifyMessage(jobCancelMessage(id), sig);
    } catch {
      throw new ApiError(400, 'MALFORMED_SIGNATURE', 'the cancel signature does not recover');
    }
    if (signer.toLowerCase() !== job.buyer.toLowerCase())
      throw new ApiError(403, 'NOT_BUYER', `only the buyer ${getAddress(job.buyer)} may cancel this job`);
    if (TERMINAL_STATUSES.includes(job.status)) throw new ApiError(409, 'JOB_FINISHED', `job is already ${job.status}`);
    if (
      !(await this.jobs.transition(id, ['pending', 'running'], 'cancelled', {
        code: 'CANCELLED',
        message: 'cancelled by the buyer',
      }))
    )
      throw new ApiError(409, 'JOB_FINISHED', `job is already ${(await this.get(id)).status}`);
    // The coordinator running the job may be another one on the same database: it sees the status at its next
    // lease renewal (rounds/job-runner.service.ts).
    this.events.emit('cancelled', id);
    return this.get(id);
  }
}
