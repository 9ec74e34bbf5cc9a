import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';
import { HealthService } from '../health/health.service.js';
import { CoordinatorDatabase } from './database.js';

/**
 * The coordinator's id, shown to silos in their challenge and on /info: one per database, so every coordinator
 * sharing a PostgreSQL database is the same service to the silos.
 */
export const COORDINATOR_ID = Symbol('COORDINATOR_ID');

/** Owns the database handle for the application's lifetime; closes it last on shutdown. */
@Injectable()
export class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}
  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: CoordinatorDatabase,
      inject: [COORDINATOR_CONFIG, HealthService],
      useFactory: async (config: CoordinatorConfig, health: HealthService) => {
        const { db, applied } = await CoordinatorDatabase.open(
          config.databaseUrl || join(config.dataDir, 'coordinator.db'),
        );
        new Logger('Database').log(
          `${db.engine} at ${db.location}${applied.length ? `; migrations applied: ${applied.join(', ')}` : ''}`,
        );
        health.register('database', async () => {
          await db.get('SELECT 1 AS ok');
          return { ok: true };
        });
        return db;
      },
    },
    {
      provide: COORDINATOR_ID,
      inject: [CoordinatorDatabase],
      useFactory: (db: CoordinatorDatabase) =>
        db.metaOnce('coordinator_id', `sealfold-coordinator-${randomBytes(8).toString('hex')}`),
    },
    DatabaseLifecycle,
  ],
  exports: [CoordinatorDatabase, COORDINATOR_ID],
})
export class DatabaseModule {}
