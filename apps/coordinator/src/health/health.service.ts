import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { Inject, Injectable } from '@nestjs/common';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';

export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly error: string };
export type ReadinessCheck = () => Promise<CheckResult>;

/** Liveness is "the event loop answers"; readiness runs every registered check (data dir now; chain, IPFS later). */
@Injectable()
export class HealthService {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(@Inject(COORDINATOR_CONFIG) config: CoordinatorConfig) {
    this.register('dataDir', async () => {
      try {
        await access(config.dataDir, constants.W_OK);
        return { ok: true };
      } catch {
        return { ok: false, error: 'data directory is not writable' };
      }
    });
  }

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  async readiness(): Promise<{ ready: boolean; checks: Record<string, CheckResult> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          return [name, await check()] as const;
        } catch (error) {
          return [name, { ok: false, error: (error as Error).message } as CheckResult] as const;
        }
      }),
    );
    return { ready: entries.every(([, r]) => r.ok), checks: Object.fromEntries(entries) };
  }
}
