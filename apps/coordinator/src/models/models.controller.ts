import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { apiErrorSchema } from '../common/api-error.js';
import { ModelsService, type ModelRecord } from './models.service.js';

@ApiTags('models')
@Controller('models')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  @Get(':jobId')
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
  @ApiNotFoundResponse({ description: 'MODEL_NOT_FOUND', schema: apiErrorSchema })
  get(@Param('jobId') jobId: string): ModelRecord {
    return this.models.get(jobId)!;
  }
}
