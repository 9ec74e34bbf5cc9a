import { Module } from '@nestjs/common';
import { ChainIndexer } from './chain-indexer.service.js';
import { DatasetsController } from './datasets.controller.js';
import { DatasetsRepository } from './datasets.repository.js';
import { DatasetsService } from './datasets.service.js';

@Module({
  controllers: [DatasetsController],
  providers: [DatasetsRepository, DatasetsService, ChainIndexer],
  exports: [ChainIndexer, DatasetsRepository],
})
export class DatasetsModule {}
