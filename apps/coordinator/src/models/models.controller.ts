import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { type Caller } from '../auth/auth.service.js';
import { canRead, CurrentCaller, SessionGuard } from '../auth/session.guard.js';
import { ApiError, apiErrorSchema } from '../common/api-error.js';
import { JobsRepository } from '../jobs/jobs.repository.js';
import type { ModelProvenanceView } from '@sealfold/protocol';
import { ModelsService, type ModelRecord } from './models.service.js';

@ApiTags('models')
@Controller('models')
export class ModelsController {
  constructor(
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(JobsRepository) private readonly jobs: JobsRepository,
  ) {}

  @Get(':jobId')
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'The delivered model of a job: CID of the age-encrypted bundle and its provenance',
    description:
      'The ciphertext at `cid` is age v1, to the job’s recipient; it decrypts to JSON `sealfold-model/v1` with ' +
      '`modelSpec`, `weights` (base64 of the @sealfold/fl weight codec), `request` and per-round `metrics`.',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        jobId: { type: 'string' },
        cid: { type: 'string' },
        recipient: { type: 'string' },
        bytes: { type: 'integer' },
        sha256: { type: 'string' },
        txHash: { type: 'string', nullable: true, description: 'ModelRegistry record transaction' },
        metadata: { type: 'object' },
        createdAt: { type: 'string', format: 'date-time' },
      },
    },
  })
  @ApiUnauthorizedResponse({ description: 'SESSION_REQUIRED, SESSION_INVALID', schema: apiErrorSchema })
  @ApiNotFoundResponse({ description: 'MODEL_NOT_FOUND (also for another buyer’s job)', schema: apiErrorSchema })
  async get(@CurrentCaller() caller: Caller, @Param('jobId') jobId: string): Promise<ModelRecord> {
    const job = await this.jobs.get(jobId);
    if (!job || !canRead(caller, job.buyer))
      throw new ApiError(404, 'MODEL_NOT_FOUND', `no model for job ${jobId} (yet)`);
    return (await this.models.get(jobId))!;
  }

  @Get(':jobId/provenance')
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'The model’s provenance as recorded on chain (ModelRegistry.modelOf, read now)',
    description:
      'Datasets, rounds, ε (thousandths; 4294967295 = no DP noise) and CID from the chain, and whether that CID is ' +
      'the delivered model’s.',
  })
  @ApiOkResponse({ schema: { type: 'object' } })
  @ApiUnauthorizedResponse({ description: 'SESSION_REQUIRED, SESSION_INVALID', schema: apiErrorSchema })
  @ApiNotFoundResponse({
    description: 'MODEL_NOT_FOUND (also for another buyer’s job), MODEL_NOT_RECORDED',
    schema: apiErrorSchema,
  })
  @ApiServiceUnavailableResponse({ description: 'CHAIN_UNAVAILABLE', schema: apiErrorSchema })
  async provenance(@CurrentCaller() caller: Caller, @Param('jobId') jobId: string): Promise<ModelProvenanceView> {
    const job = await this.jobs.get(jobId);
    if (!job || !canRead(caller, job.buyer))
      throw new ApiError(404, 'MODEL_NOT_FOUND', `no model for job ${jobId} (yet)`);
    return this.models.provenance(jobId);
  }
}
