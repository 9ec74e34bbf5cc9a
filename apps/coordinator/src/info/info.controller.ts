import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { WIRE_SUBPROTOCOL, WIRE_VERSION, type InfoView } from '@sealfold/protocol';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ChainService } from '../chain/chain.service.js';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';
import { DevWalletService } from '../dev-wallet/dev-wallet.service.js';
import { SiloGateway } from '../gateway/silo-gateway.service.js';

@ApiTags('operations')
@Controller('info')
export class InfoController {
  constructor(
    @Inject(SiloGateway) private readonly gateway: SiloGateway,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Optional() @Inject(DevWalletService) private readonly devWallet?: DevWalletService | null,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'Who this coordinator is: id, chain, EIP-712 domain, wallet, contracts (DatasetNFT, JobEscrow), wire protocol, connected silos',
  })
  @ApiOkResponse({ schema: { type: 'object' } })
  info(): InfoView {
    const chain = this.chain.optional();
    return {
      coordinatorId: this.gateway.coordinatorId,
      chainId: chain ? chain.chainId.toString() : null,
      domain: chain ? { ...chain.domain, chainId: chain.domain.chainId.toString() } : null,
      coordinatorAddress: chain?.coordinatorAddress ?? null,
      contracts: chain
        ? { datasetNFT: chain.contracts.datasetNFT, jobEscrow: chain.contracts.jobEscrow ?? null }
        : null,
      wire: {
        path: '/silo',
        subprotocol: WIRE_SUBPROTOCOL,
        version: WIRE_VERSION,
        maxFrameBytes: this.config.maxFrameBytes,
      },
      devWallet: this.devWallet !== undefined && this.devWallet !== null,
      silos: this.gateway.silos().map((s) => ({ address: s.address, datasets: [...s.datasets] })),
    };
  }
}
