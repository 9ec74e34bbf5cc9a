import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One Prometheus registry per coordinator instance (not the global one, so tests can boot several). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'sealfold_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly silosConnected = new Gauge({
    name: 'sealfold_silos_connected',
    help: 'Authenticated silo connections.',
    registers: [this.registry],
  });
  readonly wireBytes = new Counter({
    name: 'sealfold_wire_bytes_total',
    help: 'Bytes of silo WebSocket frames, by direction (in = from silos).',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly wireFrames = new Counter({
    name: 'sealfold_wire_frames_total',
    help: 'Silo WebSocket frames by direction and frame type.',
    labelNames: ['direction', 'type'] as const,
    registers: [this.registry],
  });
  readonly connectionsClosed = new Counter({
    name: 'sealfold_silo_connections_closed_total',
    help: 'Silo connections closed by the coordinator, by close code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly roundDuration = new Histogram({
    name: 'sealfold_round_duration_seconds',
    help: 'Duration of a federated round (all stages, evaluation included), by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly stageDuration = new Histogram({
    name: 'sealfold_round_stage_duration_seconds',
    help: 'Duration of each round stage.',
    labelNames: ['stage'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly roundParticipants = new Gauge({
    name: 'sealfold_round_participants',
    help: 'Silos that contributed to the last completed round.',
    registers: [this.registry],
  });
  readonly dropouts = new Counter({
    name: 'sealfold_round_dropouts_total',
    help: 'Silos that dropped out of a round, by stage.',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });
  readonly jobsByOutcome = new Counter({
    name: 'sealfold_jobs_total',
    help: 'Jobs by admission result or final status.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    this.registry.setDefaultLabels({ service: 'coordinator' });
    collectDefaultMetrics({ register: this.registry, prefix: 'sealfold_' });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
