// Job admission and lifecycle. Admission checks run cheapest first and nothing is written until all pass:
// body shape → EIP-712 signature (chain id, deadline, signer = buyer) → nonce unused → licences valid on chain.
import { Inject, Injectable } from '@nestjs/common';
import { SignatureError, hashJobRequest, verifyJobRequest } from '@sealfold/chain';
import { jobCancelMessage, jobRequestJsonSchema, jobRequestToJson } from '@sealfold/protocol';
import { modelSpecHash } from '@sealfold/fl';
import { getAddress, verifyMessage } from 'ethers';
import { z } from 'zod';
import { ApiError, parseOr400 } from '../common/api-error.js';
import { ChainService } from '../chain/chain.service.js';
import { JobEvents } from './job-events.js';
import {
  JobsRepository,
  NonceReplayError,
  TERMINAL_STATUSES,
  type JobRecord,
  type JobStatus,
  type TrainingSettings,
} from './jobs.repository.js';

export const SUPPORTED_STRATEGIES = ['fedavg', 'fedprox', 'fedadam'] as const;

/** age X25519 recipient (Bech32, HRP `age`): https://age-encryption.org/v1 "X25519 recipient type". */
const ageRecipient = z.string().regex(/^age1[02-9ac-hj-np-z]{58}$/, 'must be an age X25519 recipient (age1…)');
const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte hex signature');

export const trainingSchema = z
  .object({
    localEpochs: z.number().int().min(1).max(1000).default(1),
    batchSize: z.number().int().min(1).max(65_536).default(32),
    learningRate: z.number().positive().max(10).default(0.1),
    updateClip: z.number().positive().max(1e6).default(1),
    maxWeight: z.number().int().min(1).max(1_000_000).default(10_000),
    secureAggregation: z
      .boolean()
      .default(true)
      .describe(
        'Sum the updates with SecAgg+ (default). false: each silo sends its update in the clear and the coordinator ' +
          'sums them; silos refuse such jobs (secagg-required) unless their owner allows plain aggregation.',
      ),
  })
  .strict();

export const submitJobSchema = z
  .object({
    /** The JobRequest in JSON form (bigints as decimal strings). */
    request: z.unknown(),
    /** EIP-712 signature of `request` by `request.buyer`. */
    signature,
    /** age recipient the final model is encrypted to (not part of the signed request: the buyer names it here). */
    recipient: ageRecipient,
    /** The model specification (@sealfold/fl ModelSpec); its modelSpecHash must equal request.modelSpecHash. */
    modelSpec: z.record(z.string(), z.unknown()),
    /** Local training and quantisation settings (defaults: 1 epoch, batch 32, lr 0.1, clip 1, max weight 10000). */
    training: trainingSchema.prefault({}),
  })
  .strict();

export const cancelJobSchema = z.object({ signature }).strict();

const SIGNATURE_FAILURES: Record<string, { status: number; code: string }> = {
  malformed: { status: 400, code: 'MALFORMED_SIGNATURE' },
  'wrong-chain': { status: 400, code: 'WRONG_CHAIN_ID' },
  expired: { status: 400, code: 'REQUEST_EXPIRED' },
  'signer-mismatch': { status: 401, code: 'SIGNATURE_MISMATCH' },
};

export interface JobView {
  id: string;
  buyer: string;
  status: JobStatus;
  reasonCode: string | null;
  reason: string | null;
  rounds: number;
  currentRound: number;
  request: ReturnType<typeof jobRequestToJson>;
  recipient: string | null;
  modelSpec: Record<string, unknown>;
  training: TrainingSettings;
  createdAt: string;
  updatedAt: string;
}

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
  training: j.training,
  createdAt: new Date(j.createdAt).toISOString(),
  updatedAt: new Date(j.updatedAt).toISOString(),
});

@Injectable()
export class JobsService {
  constructor(
    @Inject(JobsRepository) private readonly jobs: JobsRepository,
    @Inject(ChainService) private readonly chainService: ChainService,
    @Inject(JobEvents) private readonly events: JobEvents,
  ) {}

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
    if (!(SUPPORTED_STRATEGIES as readonly string[]).includes(request.strategy))
      throw new ApiError(400, 'UNSUPPORTED_STRATEGY', `strategy must be one of ${SUPPORTED_STRATEGIES.join(', ')}`);
    const chain = this.chainService.require();

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
    if (this.jobs.nonceUsed(buyer, request.nonce))
      throw new ApiError(409, 'NONCE_REPLAYED', `nonce ${request.nonce} of ${buyer} was already used`);

    // A silo re-checks its own licence before training; this check keeps unlicensed jobs from being scheduled at all.
    const failures: { datasetId: string; licenceId: string; code: string; reason: string }[] = [];
    for (let i = 0; i < request.datasets.length; i++) {
      const check = await chain.checkLicence(buyer, request.datasets[i], request.licences[i]);
      if (!check.valid)
        failures.push({
          datasetId: request.datasets[i].toString(),
          licenceId: request.licences[i].toString(),
          code: check.code,
          reason: check.reason,
        });
    }
    if (failures.length > 0)
      throw new ApiError(
        403,
        failures[0].code,
        `no valid licence for dataset ${failures[0].datasetId}: ${failures[0].reason}`,
        failures,
      );

    // The EIP-712 digest is the job id: one id per signed request, stable across coordinators.
    const id = hashJobRequest(chain.domain, request).slice(2);
    let job: JobRecord;
    try {
      job = this.jobs.insert({
        id,
        request: { ...request, buyer },
        signature: input.signature,
        recipient: input.recipient,
        modelSpec: input.modelSpec,
        training: input.training,
      });
    } catch (error) {
      if (error instanceof NonceReplayError) throw new ApiError(409, 'NONCE_REPLAYED', error.message);
      throw error;
    }
    this.events.emit('scheduled', job.id);
    return job;
  }

  get(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) throw new ApiError(404, 'JOB_NOT_FOUND', `no job ${id}`);
    return job;
  }

  list(query: unknown): JobRecord[] {
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
  cancel(id: string, body: unknown): JobRecord {
    const { signature: sig } = parseOr400(cancelJobSchema, body, 'BODY');
    const job = this.get(id);
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
      !this.jobs.transition(id, ['pending', 'running'], 'cancelled', {
        code: 'CANCELLED',
        message: 'cancelled by the buyer',
      })
    )
      throw new ApiError(409, 'JOB_FINISHED', `job is already ${this.get(id).status}`);
    this.events.emit('cancelled', id);
    return this.get(id);
  }
}
