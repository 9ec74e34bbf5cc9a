import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { canRead, CurrentCaller, SessionGuard } from '../auth/session.guard.js';
import { type Caller } from '../auth/auth.service.js';
import { ApiError, apiErrorSchema, openApiSchema } from '../common/api-error.js';
import { RoundsRepository } from '../rounds/rounds.repository.js';
import { cancelJobSchema, JobsService, submitJobSchema, toJobView, type JobView } from './jobs.service.js';
import { jobRequestJsonSchema, type JobPlanView, type JobRoundsView } from '@sealfold/protocol';

const submitBodySchema = openApiSchema(submitJobSchema);
submitBodySchema.properties = { ...submitBodySchema.properties, request: openApiSchema(jobRequestJsonSchema) };

const jobSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'EIP-712 digest of the signed request (64 hex, no 0x)' },
    buyer: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'running', 'completed', 'failed', 'cancelled'] },
    reasonCode: { type: 'string', nullable: true },
    reason: { type: 'string', nullable: true },
    rounds: { type: 'integer' },
    currentRound: { type: 'integer', description: 'rounds completed' },
    request: openApiSchema(jobRequestJsonSchema),
    recipient: { type: 'string', description: 'the signed request.recipient the final model is encrypted to' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
};

@ApiTags('jobs')
@Controller('jobs')
export class JobsController {
  constructor(
    @Inject(JobsService) private readonly jobs: JobsService,
    @Inject(RoundsRepository) private readonly roundsRepo: RoundsRepository,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Submit a signed JobRequest (v4)',
    description:
      'Body `{ request, signature, modelSpec }`. The request (EIP-712 domain version "4") names this coordinator ' +
      '(GET /info coordinatorAddress), the job schema hash (GET /jobs/plan), the age recipient of the final model, the training settings (epochs, batch, ' +
      'lr, optimizer, FedProx μ, update clip, max weight), DP parameters, SecAgg+ terms (enabled, minimum ' +
      'contributors) and escrow terms (currency, run deadline, windows, fee; all zero without a job rate): silos act on these signed values only. Verifies the coordinator, the signature (signer = ' +
      'buyer), chain id, deadline, the job id (= the EIP-712 digest) and nonce (no replay) and a valid licence on ' +
      'chain for every dataset; on success the job is pending and scheduled. Rejections carry a machine-readable `code`.',
  })
  @ApiBody({ schema: submitBodySchema })
  @ApiCreatedResponse({ description: 'Accepted and scheduled.', schema: jobSchema })
  @ApiBadRequestResponse({
    description:
      'INVALID_BODY, INVALID_JOB_REQUEST, INVALID_MODEL_SPEC, MODEL_SPEC_MISMATCH, JOB_SCHEMA_MISMATCH, UNSUPPORTED_RECIPIENT (not an ' +
      'X25519 age1… recipient with a valid checksum), UNSUPPORTED_STRATEGY, ' +
      'WRONG_COORDINATOR (the request names another coordinator), MALFORMED_SIGNATURE, WRONG_CHAIN_ID, REQUEST_EXPIRED',
    schema: apiErrorSchema,
  })
  @ApiUnauthorizedResponse({
    description:
      'SIGNATURE_MISMATCH: the signature is not the buyer’s over this request (e.g. a replayed signature with ' +
      'another recipient or other training settings).',
    schema: apiErrorSchema,
  })
  @ApiForbiddenResponse({
    description:
      'NO_LICENCE, LICENCE_NOT_HOLDER, LICENCE_WRONG_DATASET, LICENCE_EXPIRED, LICENCE_REVOKED, LICENCE_EXHAUSTED',
    schema: apiErrorSchema,
  })
  @ApiConflictResponse({
    description:
      'JOB_EXISTS (this signed request is already a job), NONCE_REPLAYED, ESCROW_REQUIRED (a dataset charges a job ' +
      'rate and the request signs no escrow terms; `details` lists them)',
    schema: apiErrorSchema,
  })
  @ApiServiceUnavailableResponse({
    description: 'CHAIN_UNAVAILABLE, NO_COORDINATOR_ACCOUNT',
    schema: apiErrorSchema,
  })
  async submit(@Body() body: unknown): Promise<JobView> {
    return toJobView(await this.jobs.submit(body));
  }

  @Get('plan')
  @ApiOperation({
    summary: 'The job schema of a set of datasets (what a JobRequest v3 signs the hash of)',
    description:
      'Query `datasets=1,2,3`. From the datasets’ public manifests: the feature columns all of them have (by name, ' +
      'integer and float meet as numeric, categorical levels united and sorted), the union of their label classes ' +
      'in one sorted order (class index i means classes[i] on every silo), the columns dropped and why, the classes ' +
      'each dataset lacks, the model input width, and `hash` = keccak256 of the canonical schema JSON.',
  })
  @ApiQuery({ name: 'datasets', required: true, description: 'comma-separated dataset ids' })
  @ApiOkResponse({ description: 'The job schema plan.' })
  @ApiBadRequestResponse({ description: 'INVALID_QUERY', schema: apiErrorSchema })
  @ApiNotFoundResponse({ description: 'DATASET_NOT_FOUND', schema: apiErrorSchema })
  @ApiConflictResponse({
    description: 'NO_MANIFEST, INCOMPATIBLE_DATASETS (different label columns, no common feature, < 2 classes)',
    schema: apiErrorSchema,
  })
  plan(@Query() query: Record<string, string>): Promise<JobPlanView> {
    return this.jobs.planQuery(query);
  }

  @Get()
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Your jobs, newest first (operators: every buyer’s, `buyer` filters)',
    description: 'A buyer sees only its own jobs; a `buyer` other than the caller lists nothing.',
  })
  @ApiQuery({ name: 'buyer', required: false })
  @ApiQuery({ name: 'status', required: false, enum: ['pending', 'running', 'completed', 'failed', 'cancelled'] })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiOkResponse({ schema: { type: 'array', items: jobSchema } })
  @ApiBadRequestResponse({ description: 'INVALID_QUERY', schema: apiErrorSchema })
  @ApiUnauthorizedResponse({ description: 'SESSION_REQUIRED, SESSION_INVALID', schema: apiErrorSchema })
  async list(@CurrentCaller() caller: Caller, @Query() query: Record<string, string>): Promise<JobView[]> {
    if (caller.operator) return (await this.jobs.list(query)).map(toJobView);
    const jobs = await this.jobs.list({ ...query, buyer: caller.address });
    const asked = query.buyer;
    return asked === undefined || String(asked).toLowerCase() === caller.address ? jobs.map(toJobView) : [];
  }

  @Get(':id')
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'One of your jobs with its status and reason' })
  @ApiOkResponse({ schema: jobSchema })
  @ApiUnauthorizedResponse({ description: 'SESSION_REQUIRED, SESSION_INVALID', schema: apiErrorSchema })
  @ApiNotFoundResponse({ description: 'JOB_NOT_FOUND (also for another buyer’s job)', schema: apiErrorSchema })
  async get(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<JobView> {
    return toJobView(await this.readable(caller, id));
  }

  @Get(':id/rounds')
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Finished rounds of one of your jobs (participants, dropouts, federated loss and accuracy) and its silos',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        rounds: { type: 'array', items: { type: 'object' } },
        participants: { type: 'array', items: { type: 'object' } },
      },
    },
  })
  @ApiUnauthorizedResponse({ description: 'SESSION_REQUIRED, SESSION_INVALID', schema: apiErrorSchema })
  @ApiNotFoundResponse({ description: 'JOB_NOT_FOUND (also for another buyer’s job)', schema: apiErrorSchema })
  async rounds(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<JobRoundsView> {
    await this.readable(caller, id);
    return { rounds: await this.roundsRepo.rounds(id), participants: await this.roundsRepo.participants(id) };
  }

  /** The job if the caller may read it; another buyer's job answers 404 like a missing one (existence not confirmed). */
  private async readable(caller: Caller, id: string) {
    const job = await this.jobs.get(id);
    if (!canRead(caller, job.buyer)) throw new ApiError(404, 'JOB_NOT_FOUND', `no job ${id}`);
    return job;
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a job (buyer only)',
    description:
      'Body `{ signature }`: EIP-191 personal_sign by the buyer over `jobCancelMessage(id)` (@sealfold/protocol).',
  })
  @ApiBody({ schema: openApiSchema(cancelJobSchema) })
  @ApiOkResponse({ schema: jobSchema })
  @ApiBadRequestResponse({ description: 'INVALID_BODY, MALFORMED_SIGNATURE', schema: apiErrorSchema })
  @ApiForbiddenResponse({ description: 'NOT_BUYER', schema: apiErrorSchema })
  @ApiNotFoundResponse({ description: 'JOB_NOT_FOUND', schema: apiErrorSchema })
  @ApiConflictResponse({ description: 'JOB_FINISHED', schema: apiErrorSchema })
  async cancel(@Param('id') id: string, @Body() body: unknown): Promise<JobView> {
    return toJobView(await this.jobs.cancel(id, body));
  }
}
