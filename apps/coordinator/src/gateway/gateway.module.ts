import { Global, Module } from '@nestjs/common';
import { SiloGateway } from './silo-gateway.service.js';
import { UpgradeRouter } from './upgrade-router.js';

@Global()
@Module({ providers: [UpgradeRouter, SiloGateway], exports: [UpgradeRouter, SiloGateway] })
export class GatewayModule {}
