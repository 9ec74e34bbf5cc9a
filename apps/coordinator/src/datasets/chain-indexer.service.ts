// Indexes DatasetNFT and DatasetLicence events into sqlite (cursor persisted there too), then fetches and validates
// the manifests of new datasets from the content store (libs/dataset parseManifest). Delivery is at-least-once and
// every write is an upsert of the token's current on-chain state, so a replayed batch changes nothing.
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { parseManifest } from '@sealfold/dataset';
import { ChainService } from '../chain/chain.service.js';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';
import { PollingLoop } from '../common/polling-loop.js';
import { HealthService } from '../health/health.service.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../models/content-store.port.js';
import { DatasetsRepository } from './datasets.repository.js';

const MANIFEST_TIMEOUT_MS = 10_000;

@Injectable()
export class ChainIndexer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('ChainIndexer');
  private readonly loop: PollingLoop;
  private lastError: string | undefined;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(DatasetsRepository) private readonly repo: DatasetsRepository,
    @Inject(CONTENT_STORE) private readonly store: CoordinatorContentStore | null,
    @Inject(HealthService) health: HealthService,
  ) {
    this.loop = new PollingLoop(() => this.sync(), this.config.indexIntervalMs);
    if (chain.available)
      health.register('chainIndexer', async () =>
        this.lastError ? { ok: false, error: this.lastError } : { ok: true },
      );
  }

  onApplicationBootstrap(): void {
    if (!this.chain.available) return;
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass: new events to the head, then pending manifests. Errors are logged and retried next pass. */
  async sync(): Promise<void> {
    const chain = this.chain.optional();
    if (!chain) return;
    try {
      await chain.syncChanges(this.repo.cursor('sealfold'), async (changes) => {
        for (const id of changes.datasets) await this.repo.upsertDataset(await chain.getDataset(id), changes.toBlock);
        for (const id of changes.licences) await this.repo.upsertLicence(await chain.getLicence(id), changes.toBlock);
      });
      this.lastError = undefined;
    } catch (error) {
      this.lastError = (error as Error).message;
      this.log.warn(`chain sync failed: ${this.lastError}`);
    }
    if (!this.store) return;
    let pending;
    try {
      pending = await this.repo.withoutManifest(20);
    } catch (error) {
      // The database did not answer (e.g. PostgreSQL restarting): retried next pass.
      this.lastError = (error as Error).message;
      return;
    }
    for (const d of pending) {
      if (this.loop.isStopped || !d.manifestCid) break;
      try {
        const bytes = await Promise.race([
          this.store.get(d.manifestCid),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('manifest fetch timed out')), MANIFEST_TIMEOUT_MS).unref(),
          ),
        ]);
        const manifest = parseManifest(bytes);
        if (manifest.owner.toLowerCase() !== d.owner.toLowerCase())
          throw new Error(`manifest names owner ${manifest.owner}, the token is owned by ${d.owner}`);
        await this.repo.setManifest(d.id, manifest);
      } catch (error) {
        await this.repo.setManifestError(d.id, (error as Error).message).catch((dbError: unknown) => {
          this.lastError = (dbError as Error).message;
        });
      }
    }
  }
}
