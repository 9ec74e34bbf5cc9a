import { Global, Module } from '@nestjs/common';
import { InfoController } from '../info/info.controller.js';
import { SiloGateway } from './silo-gateway.service.js';
import { UpgradeRouter } from './upgrade-router.js';

@Global()
@Module({
  controllers: [InfoController],
  providers: [UpgradeRouter, SiloGateway],
  exports: [UpgradeRouter, SiloGateway],
})
export class GatewayModule {}
