// In-process notifications between feature modules (jobs → rounds, rounds → progress). Nothing here is persisted:
// the database is the source of truth, these only wake listeners up.
import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';

export interface JobProgress {
  readonly jobId: string;
  readonly status: 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
  /** The round in progress (1-based), 0 before the first. */
  readonly round: number;
  readonly rounds: number;
  /** SecAgg+/round stage name, e.g. `advertise-keys`, `masked-input`, `evaluate`, `committed`. */
  readonly stage: string;
  readonly participants: number;
  readonly dropouts: number;
  readonly loss?: number;
  readonly accuracy?: number;
  readonly reason?: string;
  readonly at: number;
}

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
