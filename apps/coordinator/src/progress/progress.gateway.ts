// Live progress of a job over WebSocket: `GET /progress?job=<id>` upgrades for the job's buyer or an operator, signed
// in with a bearer token (`Authorization: Bearer <token>`, RFC 6750 §2.1, or `access_token=<token>` in the query,
// RFC 6750 §2.3, for clients that cannot set headers): 401 without a valid one, 404 for a job that is not theirs.
// The server sends one JSON text message
// per event ({ type: 'progress', jobId, status, round, rounds, stage, participants, dropouts, loss?, accuracy?,
// reason?, at }), starting with the current state. Clients only listen; anything they send is ignored.
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { WebSocketServer, type WebSocket } from 'ws';
import { AuthService, bearerToken } from '../auth/auth.service.js';
import { canRead } from '../auth/session.guard.js';
import { refuseUpgrade, UpgradeRouter } from '../gateway/upgrade-router.js';
import { JobEvents, type JobProgress } from '../jobs/job-events.js';
import { JobsRepository, type JobRecord } from '../jobs/jobs.repository.js';

@Injectable()
export class ProgressGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });

  constructor(
    @Inject(UpgradeRouter) private readonly router: UpgradeRouter,
    @Inject(JobEvents) private readonly events: JobEvents,
    @Inject(JobsRepository) private readonly jobs: JobsRepository,
    @Inject(AuthService) private readonly auth: AuthService,
  ) {}

  onApplicationBootstrap(): void {
    this.router.register('/progress', (req, socket, head, url) => {
      void (async () => {
        const token = bearerToken(req.headers.authorization) ?? url.searchParams.get('access_token') ?? undefined;
        const caller = await this.auth.authenticate(token);
        if (!caller) return refuseUpgrade(socket, 401, 'Unauthorized', 'sign in first: a bearer token is required');
        const id = url.searchParams.get('job') ?? '';
        const job = /^[0-9a-f]{64}$/.test(id) ? await this.jobs.get(id) : undefined;
        if (!job || !canRead(caller, job.buyer)) return refuseUpgrade(socket, 404, 'Not Found', `no job ${id}`);
        this.wss.handleUpgrade(req, socket, head, (ws) => this.subscribe(ws, job));
      })().catch(() => refuseUpgrade(socket, 503, 'Service Unavailable', 'the database did not answer'));
    });
  }

  beforeApplicationShutdown(): void {
    for (const ws of this.wss.clients) ws.close(1001, 'coordinator shutting down');
    this.wss.close();
  }

  private subscribe(ws: WebSocket, job: JobRecord): void {
    const jobId = job.id;
    const send = (p: JobProgress) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'progress', ...p }));
    };
    send(
      this.events.last(jobId) ?? {
        jobId,
        status: job.status,
        round: job.currentRound,
        rounds: job.rounds,
        stage: job.status,
        participants: 0,
        dropouts: 0,
        ...(job.reason ? { reason: `${job.reasonCode}: ${job.reason}` } : {}),
        at: job.updatedAt,
      },
    );
    const listener = (p: JobProgress) => {
      if (p.jobId === jobId) send(p);
    };
    this.events.on('progress', listener);
    ws.on('close', () => this.events.off('progress', listener));
    ws.on('error', () => this.events.off('progress', listener));
  }
}
