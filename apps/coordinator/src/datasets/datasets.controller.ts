import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { apiErrorSchema } from '../common/api-error.js';
import type { DatasetView, LicenceView } from './datasets.repository.js';
import { DatasetsService, type TermsView } from './datasets.service.js';

const datasetSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    owner: { type: 'string' },
    tokenUri: { type: 'string' },
    manifestCid: { type: 'string', nullable: true },
    manifestError: { type: 'string', nullable: true },
    name: { type: 'string', nullable: true },
    features: { type: 'array', nullable: true, items: { type: 'object' } },
    label: { type: 'string', nullable: true },
    classes: { type: 'array', nullable: true, items: { type: 'string' } },
    rows: { type: 'integer', nullable: true },
    manifest: {
      type: 'object',
      nullable: true,
      description:
        'the validated manifest (libs/dataset, formatVersion 1 or 2; 2 records the age recipient type that sealed the data)',
    },
    blockNumber: { type: 'integer' },
  },
};

@ApiTags('datasets')
@Controller()
export class DatasetsController {
  constructor(@Inject(DatasetsService) private readonly datasets: DatasetsService) {}

  @Get('datasets')
  @ApiOperation({ summary: 'Indexed datasets, filtered by owner or schema compatibility' })
  @ApiQuery({ name: 'owner', required: false })
  @ApiQuery({ name: 'features', required: false, description: 'comma-separated feature names the dataset must have' })
  @ApiQuery({ name: 'label', required: false, description: 'label column name' })
  @ApiQuery({ name: 'classes', required: false, description: 'comma-separated classes, exact set' })
  @ApiQuery({ name: 'compatibleWith', required: false, description: 'a dataset id: same features, label and classes' })
  @ApiQuery({ name: 'includeInvalid', required: false, enum: ['true', 'false'] })
  @ApiOkResponse({ schema: { type: 'array', items: datasetSchema } })
  @ApiBadRequestResponse({ description: 'INVALID_QUERY', schema: apiErrorSchema })
  list(@Query() query: Record<string, string>): Promise<DatasetView[]> {
    return this.datasets.list(query);
  }

  @Get('datasets/:id')
  @ApiOperation({ summary: 'One indexed dataset with its manifest' })
  @ApiOkResponse({ schema: datasetSchema })
  @ApiNotFoundResponse({ description: 'DATASET_NOT_FOUND', schema: apiErrorSchema })
  get(@Param('id') id: string): Promise<DatasetView> {
    return this.datasets.get(id);
  }

  @Get('datasets/:id/terms')
  @ApiOperation({
    summary:
      'The listing of a dataset, read on chain now: price, duration, jobs, ε budget and its DP level, minimum owners, listed',
    description:
      'Integers are decimal strings. `termsHash` = keccak256(abi.encode(terms)) (DatasetNFT.termsHashOf): pass the ' +
      'hash of the terms you were shown to DatasetLicence.purchase, which reverts TermsChanged if they changed.',
  })
  @ApiOkResponse({ schema: { type: 'object' } })
  @ApiNotFoundResponse({ description: 'DATASET_NOT_FOUND', schema: apiErrorSchema })
  @ApiServiceUnavailableResponse({ description: 'CHAIN_UNAVAILABLE', schema: apiErrorSchema })
  terms(@Param('id') id: string): Promise<TermsView> {
    return this.datasets.terms(id);
  }

  @Get('licences')
  @ApiOperation({ summary: 'Indexed licences (from chain events); `active` = unrevoked and unexpired now' })
  @ApiQuery({ name: 'holder', required: false })
  @ApiQuery({ name: 'datasetId', required: false })
  @ApiQuery({ name: 'active', required: false, enum: ['true', 'false'] })
  @ApiOkResponse({ schema: { type: 'array', items: { type: 'object' } } })
  @ApiBadRequestResponse({ description: 'INVALID_QUERY', schema: apiErrorSchema })
  licences(@Query() query: Record<string, string>): Promise<LicenceView[]> {
    return this.datasets.licences(query);
  }
}
