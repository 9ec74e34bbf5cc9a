import { type DynamicModule, Module } from '@nestjs/common';
import { type CoordinatorConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';

@Module({})
export class AppModule {
  static forRoot(config: CoordinatorConfig): DynamicModule {
    return { module: AppModule, imports: [ConfigModule.forRoot(config), MetricsModule, HealthModule] };
  }
}
