import { Global, Module } from '@nestjs/common';
import { JobRunner } from './job-runner.service.js';
import { JobLeases } from './job-leases.js';
import { RoundsRepository } from './rounds.repository.js';

@Global()
@Module({ providers: [RoundsRepository, JobLeases, JobRunner], exports: [RoundsRepository, JobLeases, JobRunner] })
export class RoundsModule {}
