// An in-process round: real clients and a real server exchanging real frames (every message goes through the
// binary codec, so byte counts are the wire sizes), run by the shared driver (driver.ts) over an in-process
// transport. For tests, benchmarks, the federated harness and local dry runs — no network.
// `dropouts[stage]` lists clients that vanish instead of sending that stage's reply; `intercept` lets a test play a
// misbehaving coordinator by rewriting what a client receives.
import {
  decodeSecAggMessage,
  encodeSecAggMessage,
  type SecAggClientMessage,
  type SecAggParams,
  type SecAggServerMessage,
} from '@sealfold/protocol';
import { SecAggClient, type Curves, type SecAggClientOptions } from './client.js';
import { CLIENT_STEPS, driveSecAgg, type SecAggClientStep, type SecAggTransport } from './driver.js';
import { SecAggError } from './errors.js';
import { SecAggServer, type SecAggServerStage, type SecAggServerStep } from './server.js';
import { CertificateCache, type SessionIdentity } from './session.js';

export interface SimulationOptions {
  readonly jobId: string;
  readonly round: number;
  readonly params: SecAggParams;
  readonly roundSeed?: Uint8Array;
  /** Inputs by client id (the invited clients are its keys): a vector, or a function run when stage 2 begins. */
  readonly inputs: ReadonlyMap<number, SecAggClientOptions['input']>;
  readonly identities: ReadonlyMap<number, SessionIdentity>;
  readonly walletOf: (id: number) => string | undefined;
  /** Clients that drop instead of answering the given stage. */
  readonly dropouts?: Partial<Record<SecAggClientStep, Iterable<number>>>;
  /** Per-client certificate caches (one per client by default, as on real silos). */
  readonly certificatesOf?: (id: number) => CertificateCache;
  /** Rewrite a server message before client `to` sees it (a malicious coordinator). */
  readonly intercept?: (to: number, message: SecAggServerMessage) => SecAggServerMessage;
  readonly curves?: Curves;
  /** Server threads for mask removal (see SecAggServerOptions.workers). */
  readonly serverWorkers?: number;
  /** Client threads for mask expansion (see SecAggClientOptions.workers). */
  readonly clientWorkers?: number;
}

export interface SimulationResult {
  readonly outcome: Exclude<SecAggServerStep, { kind: 'send' }>;
  readonly server: SecAggServer;
  readonly clients: ReadonlyMap<number, SecAggClient>;
  /** Refusals by client id. */
  readonly refusals: ReadonlyMap<number, SecAggError>;
  /** Bytes each client sent (frames). */
  readonly bytesSent: ReadonlyMap<number, number>;
  /** Bytes the server sent to each client. */
  readonly bytesReceived: ReadonlyMap<number, number>;
  /** Milliseconds each client spent handling each stage's message (decode + handle + encode). */
  readonly clientMs: ReadonlyMap<number, Partial<Record<SecAggClientStep, number>>>;
  /** Milliseconds the server spent per stage (receive + advance). */
  readonly serverMs: Partial<Record<SecAggServerStage, number>>;
  /** CPU milliseconds (user + system, all threads of the process, so pool workers count) of the same spans. */
  readonly clientCpuMs: ReadonlyMap<number, Partial<Record<SecAggClientStep, number>>>;
  readonly serverCpuMs: Partial<Record<SecAggServerStage, number>>;
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

export async function simulateRound(o: SimulationOptions): Promise<SimulationResult> {
  const ids = [...o.inputs.keys()];
  const server = new SecAggServer({
    jobId: o.jobId,
    round: o.round,
    params: o.params,
    clients: ids,
    roundSeed: o.roundSeed,
    workers: o.serverWorkers,
  });
  const clients = new Map<number, SecAggClient>();
  for (const id of ids)
    clients.set(
      id,
      new SecAggClient({
        jobId: o.jobId,
        round: o.round,
        id,
        session: o.identities.get(id)!,
        walletOf: o.walletOf,
        input: o.inputs.get(id)!,
        certificates: o.certificatesOf?.(id) ?? new CertificateCache(),
        curves: o.curves,
        workers: o.clientWorkers,
      }),
    );
  const dropAt = new Map<SecAggClientStep, Set<number>>();
  for (const step of CLIENT_STEPS) dropAt.set(step, new Set(o.dropouts?.[step] ?? []));
  const refusals = new Map<number, SecAggError>();
  const bytesSent = new Map<number, number>(ids.map((id) => [id, 0]));
  const bytesReceived = new Map<number, number>(ids.map((id) => [id, 0]));
  const clientMs = new Map<number, Partial<Record<SecAggClientStep, number>>>(ids.map((id) => [id, {}]));
  const serverMs: Partial<Record<SecAggServerStage, number>> = {};
  const clientCpuMs = new Map<number, Partial<Record<SecAggClientStep, number>>>(ids.map((id) => [id, {}]));
  const serverCpuMs: Partial<Record<SecAggServerStage, number>> = {};
  const gone = new Set<number>();
  const addServer = (stage: SecAggServerStage, ms: number, cpu: number) => {
    serverMs[stage] = (serverMs[stage] ?? 0) + ms;
    serverCpuMs[stage] = (serverCpuMs[stage] ?? 0) + cpu;
  };
  let advanceStart = { ms: 0, cpu: 0 };
  let t0 = 0;
  let c0 = 0;

  // The in-process transport of the shared driver: each message goes through the codec to its client, whose reply
  // goes through the codec to the server at once (the server accumulates masked vectors as they arrive).
  const transport: SecAggTransport = {
    async send(messages, stage) {
      if (stage === 'aborted') {
        for (const [to, message] of messages)
          if (!gone.has(to))
            await clients.get(to)!.handle(decodeSecAggMessage(encodeSecAggMessage(message)) as SecAggServerMessage);
        return;
      }
      // The server's start() (setup) counts towards its first stage.
      if (stage === 'advertise-keys') addServer(stage, performance.now() - t0, cpuMs() - c0);
      for (const [to, message] of messages) {
        const delivered = o.intercept ? o.intercept(to, message) : message;
        const frame = encodeSecAggMessage(delivered);
        bytesReceived.set(to, bytesReceived.get(to)! + frame.length);
        if (gone.has(to) || dropAt.get(stage)!.has(to)) {
          gone.add(to);
          continue;
        }
        const client = clients.get(to)!;
        const start = performance.now();
        const startCpu = cpuMs();
        let reply: SecAggClientMessage | null;
        try {
          reply = await client.handle(decodeSecAggMessage(frame) as SecAggServerMessage);
        } catch (err) {
          if (!(err instanceof SecAggError)) throw err;
          refusals.set(to, err);
          gone.add(to);
          continue;
        }
        if (!reply) continue;
        const out = encodeSecAggMessage(reply);
        clientMs.get(to)![stage] = performance.now() - start;
        clientCpuMs.get(to)![stage] = cpuMs() - startCpu;
        bytesSent.set(to, bytesSent.get(to)! + out.length);
        const received = performance.now();
        const receivedCpu = cpuMs();
        server.receive(to, decodeSecAggMessage(out) as SecAggClientMessage);
        addServer(stage, performance.now() - received, cpuMs() - receivedCpu);
      }
    },
    closing() {
      advanceStart = { ms: performance.now(), cpu: cpuMs() };
    },
    closed(stage) {
      addServer(stage, performance.now() - advanceStart.ms, cpuMs() - advanceStart.cpu);
    },
  };
  t0 = performance.now();
  c0 = cpuMs();
  const { outcome } = await driveSecAgg(server, transport);
  return {
    outcome,
    server,
    clients,
    refusals,
    bytesSent,
    bytesReceived,
    clientMs,
    serverMs,
    clientCpuMs,
    serverCpuMs,
  };
}
