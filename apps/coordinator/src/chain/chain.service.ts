import { Inject, Injectable, Optional } from '@nestjs/common';
import { ApiError } from '../common/api-error.js';
import { COORDINATOR_CHAIN, type CoordinatorChain } from './chain.port.js';

/** Access to the chain port; routes that need the chain answer 503 CHAIN_UNAVAILABLE when none is configured. */
@Injectable()
export class ChainService {
  constructor(@Optional() @Inject(COORDINATOR_CHAIN) private readonly chain: CoordinatorChain | null) {}

  get available(): boolean {
    return this.chain !== null && this.chain !== undefined;
  }

  /** The chain, or a 503 with reason when none is configured. */
  require(): CoordinatorChain {
    if (!this.chain) throw new ApiError(503, 'CHAIN_UNAVAILABLE', 'no chain is configured (SEALFOLD_CHAIN_RPC)');
    return this.chain;
  }

  optional(): CoordinatorChain | undefined {
    return this.chain ?? undefined;
  }
}
