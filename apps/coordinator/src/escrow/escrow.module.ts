import { Module } from '@nestjs/common';
import { EscrowController } from './escrow.controller.js';
import { EscrowIndexer } from './escrow-indexer.service.js';
import { EscrowRepository } from './escrow.repository.js';
import { EscrowService } from './escrow.service.js';

/** Job escrows, owners' earnings and model royalties (issue 20): read-only REST routes and their event index. */
@Module({
  controllers: [EscrowController],
  providers: [EscrowRepository, EscrowService, EscrowIndexer],
  exports: [EscrowIndexer],
})
export class EscrowModule {}
