import { type DynamicModule, Global, Module } from '@nestjs/common';
import { COORDINATOR_CHAIN, type CoordinatorChain } from './chain.port.js';
import { ChainService } from './chain.service.js';

@Global()
@Module({})
export class ChainModule {
  /** `chain` is the connected adapter, or null when no chain is configured. */
  static forRoot(chain: CoordinatorChain | null): DynamicModule {
    return {
      module: ChainModule,
      providers: [{ provide: COORDINATOR_CHAIN, useValue: chain }, ChainService],
      exports: [ChainService],
    };
  }
}
