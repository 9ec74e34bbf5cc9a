// In-process notifications between feature modules (jobs → rounds, rounds → progress). Nothing here is persisted:
// the database is the source of truth, these only wake listeners up.
import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';
import type { JobProgressView } from '@sealfold/protocol';

export type JobProgress = JobProgressView;

interface JobEventMap {
  scheduled: [jobId: string];
  cancelled: [jobId: string];
  progress: [progress: JobProgress];
}

@Injectable()
export class JobEvents extends EventEmitter<JobEventMap> {
  private readonly latest = new Map<string, JobProgress>();

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  publish(progress: JobProgress): void {
    this.latest.set(progress.jobId, progress);
    this.emit('progress', progress);
  }

  /** The last progress report of a job in this process, if any. */
  last(jobId: string): JobProgress | undefined {
    return this.latest.get(jobId);
  }
}
