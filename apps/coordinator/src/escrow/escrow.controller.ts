import { Controller, Get, Inject, Param } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { EarningsView, EscrowJobView, ModelAssetView } from '@sealfold/protocol';
import { apiErrorSchema, type SchemaObject } from '../common/api-error.js';
import { EscrowRepository, type IndexedModel } from './escrow.repository.js';
import { EscrowService } from './escrow.service.js';

const wei = { type: 'string', pattern: '^[0-9]+$', description: 'wei, decimal' } as const;
const hex32 = { type: 'string', pattern: '^0x[0-9a-f]{64}$' } as const;
const address = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } as const;
const weiOrNull = { ...wei, nullable: true } as const;

const escrowJobSchema: SchemaObject = {
  type: 'object',
  properties: {
    jobId: hex32,
    buyer: address,
    currency: { ...address, description: 'zero address: ETH' },
    phase: { type: 'string', enum: ['running', 'confirming', 'fallback', 'refundable', 'closed'] },
    locked: wei,
    paid: wei,
    refunded: { ...weiOrNull, description: 'credited back to the buyer when the job closed; null while open' },
    coordinator: address,
    threshold: { type: 'integer', description: 'SecAgg threshold t' },
    rounds: { type: 'integer' },
    feeBps: { type: 'integer' },
    windows: {
      type: 'object',
      description: 'Unix seconds on the chain’s clock (chainTime = the latest block’s timestamp)',
      properties: {
        runDeadline: { type: 'integer' },
        confirmEnd: { type: 'integer' },
        settleEnd: { type: 'integer' },
        chainTime: { type: 'integer' },
      },
    },
    datasets: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer', description: 'its bit in receipts' },
          datasetId: { type: 'string' },
          licenceId: { type: 'string' },
          payee: address,
          signer: { ...address, description: 'the silo key pinned to co-sign receipts' },
          ratePerRowRound: wei,
          rows: { type: 'string' },
          maxPay: { ...wei, description: 'rate × rows × rounds' },
          derivativesAllowed: { type: 'boolean' },
          derivativeShareMicros: { type: 'integer' },
          paid: { type: 'boolean' },
          roundsPaid: { type: 'integer', nullable: true },
          amount: { ...weiOrNull, description: 'before the fee' },
          fee: weiOrNull,
          net: weiOrNull,
          txHash: { type: 'string', nullable: true },
        },
      },
    },
    requestDigest: hex32,
    openTx: { type: 'string' },
    openBlock: { type: 'integer' },
  },
};

const earningsSchema: SchemaObject = {
  type: 'object',
  properties: {
    address,
    jobs: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          jobId: hex32,
          amount: wei,
          fee: wei,
          net: wei,
          datasets: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                datasetId: { type: 'string' },
                rounds: { type: 'integer' },
                amount: wei,
                fee: wei,
                net: wei,
                txHash: { type: 'string' },
              },
            },
          },
          modelId: { ...hex32, nullable: true, description: 'the model the job trained, once registered' },
        },
      },
    },
    totalNet: wei,
    royalties: {
      type: 'array',
      items: {
        type: 'object',
        properties: { modelId: hex32, datasetId: { type: 'string' }, amount: wei, txHash: { type: 'string' } },
      },
    },
    withdrawable: {
      type: 'object',
      description: 'read on chain now',
      properties: { jobEscrow: wei, modelAsset: wei, total: wei },
    },
    indexedToBlock: { type: 'string', nullable: true, description: 'the index covers the blocks before this one' },
  },
};

const modelAssetSchema: SchemaObject = {
  type: 'object',
  properties: {
    modelId: hex32,
    owner: address,
    price: { ...wei, description: '"0": not for sale' },
    gross: { ...wei, description: 'licence sales so far' },
    stackMicros: { type: 'integer', description: 'Σ of the parents’ shares, 1e6 = 100%' },
    upstreamPot: { ...wei, description: '⌊gross × stack / 10⁶⌋' },
    receiptDigest: hex32,
    parentsRoot: hex32,
    parents: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          datasetId: { type: 'string' },
          shareMicros: { type: 'integer' },
          owner: { ...address, description: 'the dataset’s owner now, whom a claim credits' },
          claimed: wei,
          due: { ...wei, description: '⌊gross × share / 10⁶⌋ − claimed' },
        },
      },
    },
    sales: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          buyer: address,
          price: wei,
          fee: wei,
          upstream: wei,
          txHash: { type: 'string' },
          blockNumber: { type: 'integer' },
        },
      },
    },
  },
};

@ApiTags('escrow')
@Controller('escrow')
export class EscrowController {
  constructor(
    @Inject(EscrowService) private readonly escrow: EscrowService,
    @Inject(EscrowRepository) private readonly repo: EscrowRepository,
  ) {}

  @Get('jobs/:jobId')
  @ApiOperation({
    summary:
      'A job’s escrow, read on chain now: locked, paid, refunded, windows, each dataset’s payee, rate, rows, pay',
    description:
      'JobEscrow (issue 20). The pinned terms are read back from the open transaction and checked against the ' +
      'job’s termsHash; payments and the refund come from the job’s events. Wei amounts are decimal strings.',
  })
  @ApiParam({
    name: 'jobId',
    description: 'the escrow job id (64 hex digits, 0x optional), as `sealfold job open` prints',
  })
  @ApiOkResponse({ schema: escrowJobSchema })
  @ApiBadRequestResponse({ description: 'INVALID_JOB_ID', schema: apiErrorSchema })
  @ApiNotFoundResponse({ description: 'ESCROW_NOT_FOUND', schema: apiErrorSchema })
  @ApiServiceUnavailableResponse({ description: 'CHAIN_UNAVAILABLE, ESCROW_UNAVAILABLE', schema: apiErrorSchema })
  job(@Param('jobId') jobId: string): Promise<EscrowJobView> {
    return this.escrow.job(jobId);
  }

  @Get('earnings/:address')
  @ApiOperation({
    summary: 'An owner’s pay per job (ContributionPaid events, indexed) and what it may withdraw (read on chain now)',
    description:
      'Jobs are listed from the coordinator’s index of JobEscrow events, up to `indexedToBlock`; `withdrawable` is ' +
      'JobEscrow.owed and ModelAsset.owed now. Withdrawing is the owner’s own transaction (`sealfold withdraw`).',
  })
  @ApiOkResponse({ schema: earningsSchema })
  @ApiBadRequestResponse({ description: 'INVALID_ADDRESS', schema: apiErrorSchema })
  @ApiServiceUnavailableResponse({ description: 'CHAIN_UNAVAILABLE, ESCROW_UNAVAILABLE', schema: apiErrorSchema })
  earnings(@Param('address') owner: string): Promise<EarningsView> {
    return this.escrow.earnings(owner);
  }

  @Get('models')
  @ApiOperation({ summary: 'Models registered as derivative assets (ModelAsset, indexed), newest first' })
  @ApiOkResponse({
    schema: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          modelId: hex32,
          registeredTo: address,
          stackMicros: { type: 'integer' },
          parentCount: { type: 'integer' },
          blockNumber: { type: 'integer' },
        },
      },
    },
  })
  models(): Promise<IndexedModel[]> {
    return this.repo.models();
  }

  @Get('models/:modelId')
  @ApiOperation({
    summary: 'A registered model, read on chain now: owner, price, sales, its parents and each parent’s royalties',
    description:
      'ModelAsset (issue 20). The parents and shares are recomputed from the job’s pinned terms and the receipt the ' +
      'model was registered from, and checked against its parentsRoot; `sales` are indexed ModelLicenceSold events.',
  })
  @ApiParam({ name: 'modelId', description: 'the model id: its job’s escrow id (64 hex digits, 0x optional)' })
  @ApiOkResponse({ schema: modelAssetSchema })
  @ApiBadRequestResponse({ description: 'INVALID_MODEL_ID', schema: apiErrorSchema })
  @ApiNotFoundResponse({ description: 'MODEL_NOT_REGISTERED', schema: apiErrorSchema })
  @ApiServiceUnavailableResponse({ description: 'CHAIN_UNAVAILABLE, ESCROW_UNAVAILABLE', schema: apiErrorSchema })
  model(@Param('modelId') modelId: string): Promise<ModelAssetView> {
    return this.escrow.model(modelId);
  }
}
