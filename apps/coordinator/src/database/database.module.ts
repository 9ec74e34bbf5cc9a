import { join } from 'node:path';
import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';
import { HealthService } from '../health/health.service.js';
import { CoordinatorDatabase } from './database.js';

/** Owns the database handle for the application's lifetime; closes it last on shutdown. */
@Injectable()
export class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}
  onApplicationShutdown(): void {
    this.db.close();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: CoordinatorDatabase,
      inject: [COORDINATOR_CONFIG, HealthService],
      useFactory: (config: CoordinatorConfig, health: HealthService) => {
        const { db } = CoordinatorDatabase.open(join(config.dataDir, 'coordinator.db'));
        health.register('database', async () => {
          db.get('SELECT 1');
          return { ok: true };
        });
        return db;
      },
    },
    DatabaseLifecycle,
  ],
  exports: [CoordinatorDatabase],
})
export class DatabaseModule {}
