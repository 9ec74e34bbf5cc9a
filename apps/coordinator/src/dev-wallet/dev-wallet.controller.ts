import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { apiErrorSchema } from '../common/api-error.js';
import { DevWalletService } from './dev-wallet.service.js';

/** Embedded dev chain only (the module is not loaded on an RPC chain). */
@ApiTags('dev chain')
@Controller('dev')
export class DevWalletController {
  constructor(@Inject(DevWalletService) private readonly dev: DevWalletService) {}

  @Post('faucet')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Embedded dev chain only: 100 dev ETH for an address holding less than 1 (from the public dev mnemonic)',
  })
  @ApiOkResponse({ schema: { type: 'object' } })
  @ApiBadRequestResponse({ description: 'INVALID_ADDRESS', schema: apiErrorSchema })
  fund(@Body() body: unknown) {
    return this.dev.fund(body);
  }

  @Post('rpc')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Embedded dev chain only: JSON-RPC for a browser dev wallet (reads, fee data, eth_sendRawTransaction)',
  })
  @ApiOkResponse({ schema: { type: 'object' } })
  @ApiBadRequestResponse({ description: 'INVALID_RPC', schema: apiErrorSchema })
  rpc(@Body() body: unknown) {
    return this.dev.rpc(body);
  }
}
