import { Global, Module } from '@nestjs/common';
import { DatasetsModule } from '../datasets/datasets.module.js';
import { JobEvents } from './job-events.js';
import { JobsController } from './jobs.controller.js';
import { JobsRepository } from './jobs.repository.js';
import { JobsService } from './jobs.service.js';

@Global()
@Module({
  imports: [DatasetsModule],
  controllers: [JobsController],
  providers: [JobsRepository, JobsService, JobEvents],
  exports: [JobsRepository, JobsService, JobEvents],
})
export class JobsModule {}
