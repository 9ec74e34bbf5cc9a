// Indexes JobEscrow and ModelAsset events into the database under its own cursor, one pass every
// SEALFOLD_INDEX_INTERVAL_MS (as the dataset indexer, datasets/chain-indexer.service.ts). A batch is written in one
// transaction, then the cursor moves: at-least-once delivery onto idempotent writes.
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ChainService } from '../chain/chain.service.js';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';
import { PollingLoop } from '../common/polling-loop.js';
import { HealthService } from '../health/health.service.js';
import { EscrowRepository } from './escrow.repository.js';

@Injectable()
export class EscrowIndexer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('EscrowIndexer');
  private readonly loop: PollingLoop;
  private lastError: string | undefined;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(EscrowRepository) private readonly repo: EscrowRepository,
    @Inject(HealthService) health: HealthService,
  ) {
    this.loop = new PollingLoop(() => this.sync(), this.config.indexIntervalMs);
    if (this.enabled)
      health.register('escrowIndexer', async () =>
        this.lastError ? { ok: false, error: this.lastError } : { ok: true },
      );
  }

  private get enabled(): boolean {
    return this.chain.optional()?.escrowDeployed === true;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass to the head. Errors are logged and retried next pass. */
  async sync(): Promise<void> {
    const chain = this.chain.optional();
    if (!chain?.escrowDeployed) return;
    try {
      await chain.syncEscrow(this.repo.cursor(), (events) => this.repo.record(events));
      this.lastError = undefined;
    } catch (error) {
      this.lastError = (error as Error).message;
      this.log.warn(`escrow sync failed: ${this.lastError}`);
    }
  }
}
