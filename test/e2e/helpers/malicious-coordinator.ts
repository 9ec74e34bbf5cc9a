// A malicious coordinator for the adversary suite (issue 11): a WebSocket server that speaks the real silo wire
// protocol (libs/protocol frames, control schemas and SecAgg+ codecs) and drives libs/secagg's SecAggServer, but
// chooses freely what it sends: any offer, roster, round number, model, SecAgg+ parameters and client list, and as
// many runs of one round as it likes. Real silos (`startSilo`) connect to it as they would to the real coordinator.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import {
  SECAGG_TYPE_CODES,
  WIRE_SUBPROTOCOL,
  decodeControlPayload,
  decodeSecAggMessage,
  decodeWireFrame,
  encodeControlFrame,
  encodeSecAggMessage,
  encodeWireFrame,
  siloAuthMessage,
  type SecAggClientMessage,
  type SecAggParams,
  type WireControl,
  type WireControlInput,
  type WireFrame,
} from '@sealfold/protocol';
import { SecAggServer, type SecAggServerStep } from '@sealfold/secagg';
import { verifyMessage } from 'ethers';
import { WebSocketServer, type WebSocket } from 'ws';

/** A refusal a silo reported (an `error` control frame), with the job and round it was about. */
export interface SiloError {
  readonly jobId: string;
  readonly round: number;
  readonly code: string;
  readonly message: string;
}

export class SiloConnection {
  readonly errors: SiloError[] = [];
  readonly replies: WireControl<'job-reply'>[] = [];
  /** SecAgg+ message types this silo sent, per `${jobId}/${round}`. */
  readonly sent = new Map<string, string[]>();
  datasets: string[] = [];
  constructor(
    readonly ws: WebSocket,
    readonly address: string,
  ) {}

  send(frame: Uint8Array): void {
    this.ws.send(frame, { binary: true });
  }

  sendControl<T extends Parameters<typeof encodeControlFrame>[0]>(
    type: T,
    body: WireControlInput<T>,
    envelope: { jobId: string; round?: number },
  ): void {
    this.send(encodeControlFrame(type, body, envelope));
  }
}

export interface RunOptions {
  readonly jobId: string;
  /** The SecAgg+ round id (evaluationRound(r) for an evaluation). */
  readonly round: number;
  readonly params: SecAggParams;
  /** Client ids listed in the setup (ghosts included). */
  readonly clients: readonly number[];
  /** Which connection answers for which client id; ids without one are ghosts that never answer. */
  readonly members: ReadonlyMap<number, SiloConnection>;
  /** Per-stage wait for the live members (a silo that reported an error is not waited for). */
  readonly stageTimeoutMs?: number;
}

export interface RunResult {
  readonly step: Exclude<SecAggServerStep, { kind: 'send' }>;
  /** Client message types received, by type. */
  readonly received: Record<string, number>;
  /** Refusals reported by the members during the run. */
  readonly errors: SiloError[];
}

interface ActiveRun {
  readonly server: SecAggServer;
  readonly received: Record<string, number>;
  wake(): void;
}

export class MaliciousCoordinator {
  readonly silos = new Map<string, SiloConnection>();
  private readonly runs = new Map<string, ActiveRun>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly url: string,
    private readonly chainId: bigint,
  ) {
    wss.on('connection', (ws) => this.onConnection(ws));
  }

  static async start(chainId: bigint): Promise<MaliciousCoordinator> {
    const http = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server: http, path: '/silo', handleProtocols: () => WIRE_SUBPROTOCOL });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    return new MaliciousCoordinator(http, wss, `http://127.0.0.1:${port}`, chainId);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves when `predicate` holds (checked on every frame, and every 50 ms for state outside the wire, e.g. an
   * update a test captured), or rejects after `timeoutMs`.
   */
  until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
      };
      const check = () => {
        if (!predicate()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(check, 50);
      this.waiters.add(check);
    });
  }

  /** The silo of `address` once it has authenticated and announced its datasets. */
  async silo(address: string, timeoutMs = 30_000): Promise<SiloConnection> {
    const key = address.toLowerCase();
    await this.until(() => (this.silos.get(key)?.datasets.length ?? 0) > 0, timeoutMs, `silo ${address}`);
    return this.silos.get(key)!;
  }

  private onConnection(ws: WebSocket): void {
    const nonce = `0x${randomBytes(32).toString('hex')}`;
    const challenge: WireControl<'challenge'> = {
      coordinatorId: 'malicious-coordinator',
      nonce,
      expiresAt: Date.now() + 60_000,
      chainId: this.chainId.toString(),
    };
    let conn: SiloConnection | undefined;
    ws.on('message', (data: Buffer) => {
      const frame = decodeWireFrame(new Uint8Array(data));
      if (!conn) {
        if (frame.type !== 'auth') return ws.close(4403, 'auth first');
        const auth = decodeControlPayload('auth', frame.payload);
        // The silo's wallet signature is checked as the real gateway does: the attacks are not about auth.
        if (verifyMessage(siloAuthMessage(challenge, auth.address), auth.signature) !== auth.address)
          return ws.close(4401, 'bad signature');
        conn = new SiloConnection(ws, auth.address);
        this.silos.set(auth.address.toLowerCase(), conn);
        conn.sendControl('auth-ok', { address: auth.address, sessionId: nonce.slice(2, 34) }, { jobId: '' });
        return;
      }
      this.onFrame(conn, frame);
      this.notify();
    });
    ws.on('close', () => {
      if (conn && this.silos.get(conn.address.toLowerCase()) === conn) this.silos.delete(conn.address.toLowerCase());
      this.notify();
    });
    ws.send(encodeControlFrame('challenge', challenge), { binary: true });
  }

  private onFrame(conn: SiloConnection, frame: WireFrame): void {
    switch (frame.type) {
      case 'announce': {
        const { datasets } = decodeControlPayload('announce', frame.payload);
        conn.datasets = datasets;
        conn.sendControl('announce-result', { accepted: datasets, rejected: [] }, { jobId: '' });
        return;
      }
      case 'job-reply':
        conn.replies.push(decodeControlPayload('job-reply', frame.payload));
        return;
      case 'error': {
        const body = decodeControlPayload('error', frame.payload);
        conn.errors.push({ jobId: frame.jobId, round: frame.round, ...body });
        return;
      }
      case 'secagg': {
        const message = decodeSecAggMessage(frame.payload) as SecAggClientMessage;
        const key = `${frame.jobId}/${frame.round}`;
        const types = conn.sent.get(key) ?? [];
        types.push(message.type);
        conn.sent.set(key, types);
        const run = this.runs.get(key);
        if (!run) return;
        run.received[message.type] = (run.received[message.type] ?? 0) + 1;
        try {
          run.server.receive(message.sender, message);
        } catch {
          // a message the server refuses is simply not counted
        }
        return;
      }
      default:
        return;
    }
  }

  /** Sends an offer and waits for the silo's reply. */
  async offer(conn: SiloConnection, offer: WireControlInput<'job-offer'>): Promise<WireControl<'job-reply'>> {
    const before = conn.replies.length;
    conn.sendControl('job-offer', offer, { jobId: offer.jobId });
    await this.until(() => conn.replies.length > before, 60_000, `job-reply from ${conn.address}`);
    return conn.replies[before];
  }

  /** Sends `frame` and waits until the silo has handled it (its frames are handled in order: a roster, then …). */
  roster(conns: readonly SiloConnection[], jobId: string, round: number, members: WireControl<'roster'>['members']) {
    for (const c of conns) c.sendControl('roster', { jobId, round, members }, { jobId, round });
  }

  roundStart(conns: readonly SiloConnection[], jobId: string, round: number, weights: Uint8Array): void {
    const frame = encodeWireFrame({ type: 'round-start', jobId, round, stage: 0, payload: weights });
    for (const c of conns) c.send(frame);
  }

  evaluate(conns: readonly SiloConnection[], jobId: string, round: number, weights: Uint8Array): void {
    const frame = encodeWireFrame({ type: 'evaluate', jobId, round, stage: 0, payload: weights });
    for (const c of conns) c.send(frame);
  }

  /**
   * Drives one SecAgg+ run to its end with the coordinator's own choice of parameters and clients: each stage waits
   * until every member that has neither answered nor reported a refusal did so (ghosts are never waited for), or the
   * stage timeout.
   */
  async run(o: RunOptions): Promise<RunResult> {
    const server = new SecAggServer({ jobId: o.jobId, round: o.round, params: o.params, clients: o.clients });
    const key = `${o.jobId}/${o.round}`;
    const received: Record<string, number> = {};
    this.runs.set(key, { server, received, wake: () => this.notify() });
    const errorsBefore = new Map([...o.members.values()].map((c) => [c, c.errors.length]));
    const refused = (id: number) => {
      const c = o.members.get(id);
      if (!c || c.ws.readyState !== c.ws.OPEN) return true;
      return c.errors.slice(errorsBefore.get(c)).some((e) => e.jobId === o.jobId && e.round === o.round);
    };
    let step: SecAggServerStep = server.start();
    try {
      while (step.kind === 'send') {
        for (const [to, message] of step.messages) {
          const c = o.members.get(to);
          if (!c) continue;
          c.send(
            encodeWireFrame({
              type: 'secagg',
              jobId: o.jobId,
              round: o.round,
              stage: SECAGG_TYPE_CODES[message.type as keyof typeof SECAGG_TYPE_CODES],
              payload: encodeSecAggMessage(message),
            }),
          );
        }
        await this.until(
          () => server.complete || [...server.pending].every(refused),
          o.stageTimeoutMs ?? 60_000,
          `stage ${step.stage}`,
        ).catch(() => undefined);
        step = await server.advance();
      }
    } finally {
      this.runs.delete(key);
    }
    const errors = [...o.members.values()].flatMap((c) =>
      c.errors.slice(errorsBefore.get(c)).filter((e) => e.jobId === o.jobId && e.round === o.round),
    );
    return { step, received, errors };
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
