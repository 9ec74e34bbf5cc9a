import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module.js';
import { type CoordinatorChain } from './chain/chain.port.js';
import { ChainModule } from './chain/chain.module.js';
import { type CoordinatorConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { DatasetsModule } from './datasets/datasets.module.js';
import { DevWalletModule } from './dev-wallet/dev-wallet.module.js';
import { EscrowModule } from './escrow/escrow.module.js';
import { GatewayModule } from './gateway/gateway.module.js';
import { HealthModule } from './health/health.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { type CoordinatorContentStore } from './models/content-store.port.js';
import { ModelsModule } from './models/models.module.js';
import { ProgressModule } from './progress/progress.module.js';
import { RoundsModule } from './rounds/rounds.module.js';

export interface AppDependencies {
  /** The chain adapter, or null when no chain is configured. */
  readonly chain: CoordinatorChain | null;
  /** The content store for models and manifests, or null when none is available. */
  readonly contentStore: CoordinatorContentStore | null;
  /** The chain is the embedded dev chain: serve the dev wallet's faucet and RPC routes (never on an RPC chain). */
  readonly devChain?: boolean;
}

@Module({})
export class AppModule {
  static forRoot(config: CoordinatorConfig, deps: AppDependencies): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MetricsModule,
        HealthModule,
        DatabaseModule,
        ChainModule.forRoot(deps.chain),
        AuthModule,
        JobsModule,
        GatewayModule,
        RoundsModule,
        ModelsModule.forRoot(deps.contentStore),
        ProgressModule,
        DatasetsModule,
        EscrowModule,
        ...(deps.devChain && deps.chain ? [DevWalletModule] : []),
      ],
    };
  }
}
