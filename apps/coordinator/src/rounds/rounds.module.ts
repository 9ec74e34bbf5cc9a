import { Global, Module } from '@nestjs/common';
import { JobRunner } from './job-runner.service.js';
import { RoundsRepository } from './rounds.repository.js';

@Global()
@Module({ providers: [RoundsRepository, JobRunner], exports: [RoundsRepository, JobRunner] })
export class RoundsModule {}
