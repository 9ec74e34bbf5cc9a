// The silo gateway: silos connect OUT to `/silo` (so it works behind NAT), answer a signed challenge, announce their
// datasets (ownership checked on chain), then exchange binary wire frames (libs/protocol wire.ts) with the rounds.
// A bad frame closes only its own connection, with a close code and reason; other silos and rounds go on.
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  WIRE_CLOSE_CODES,
  WIRE_SUBPROTOCOL,
  WireCodecError,
  decodeControlPayload,
  decodeWireFrame,
  encodeControlFrame,
  siloAuthMessage,
  type WireControl,
  type WireFrame,
  type WireFrameType,
} from '@sealfold/protocol';
import { getAddress, verifyMessage } from 'ethers';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ChainService } from '../chain/chain.service.js';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';
import { COORDINATOR_ID } from '../database/database.module.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { SocketSiloSession, type SiloSession } from './silo-session.js';
import { UpgradeRouter } from './upgrade-router.js';
import { mapBounded } from '../common/map-bounded.js';

/** Frames a silo may send once authenticated; everything else from a silo is a protocol violation. */
const SILO_TYPES: ReadonlySet<WireFrameType> = new Set([
  'announce',
  'job-reply',
  'secagg',
  'plain-update',
  'eval-result',
  'error',
  'receipt-signature',
]);

export interface GatewayEvents {
  /** A silo authenticated and its announced datasets were checked. */
  ready: [session: SiloSession];
  /** A silo's connection ended (any reason). */
  gone: [session: SiloSession, reason: string];
  /** A frame for the rounds (job-reply, secagg, plain-update, eval-result, error). */
  frame: [session: SiloSession, frame: WireFrame];
}

/**
 * Announce bounds. Each dataset costs one on-chain ownerOf read, so a wallet that owns nothing could otherwise keep
 * the coordinator reading the chain for as long as it likes: an announcement names at most
 * MAX_ANNOUNCE_DATASETS ids, a connection at most MAX_CONNECTION_DATASETS distinct ids over its life, and at most
 * ANNOUNCE_BURST announces per ANNOUNCE_WINDOW_MS, one at a time; past any of them the connection is closed (4429).
 * The reads of one announcement run OWNER_READS_IN_PARALLEL at a time.
 */
export const MAX_ANNOUNCE_DATASETS = 64;
export const MAX_CONNECTION_DATASETS = 128;
export const ANNOUNCE_BURST = 3;
export const ANNOUNCE_WINDOW_MS = 10_000;
export const OWNER_READS_IN_PARALLEL = 8;

interface Connection {
  readonly socket: WebSocket;
  readonly challenge: WireControl<'challenge'>;
  session?: SocketSiloSession;
  alive: boolean;
  authTimer?: NodeJS.Timeout;
  /** Distinct dataset ids this connection had checked on chain. */
  readonly announcedIds: Set<string>;
  /** Times of the recent announces (within ANNOUNCE_WINDOW_MS). */
  announceTimes: number[];
  announcing: boolean;
}

/** RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the close code. */
function closeReason(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= 123
    ? text
    : bytes
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD$/, '') + '...';
}

@Injectable()
export class SiloGateway
  extends EventEmitter<GatewayEvents>
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly log = new Logger('SiloGateway');
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, SocketSiloSession>();
  /** The session that last announced each dataset (siloFor's index; entries leave with their session). */
  private readonly announcedBy = new Map<string, SocketSiloSession>();
  private heartbeat?: NodeJS.Timeout;
  readonly coordinatorId: string;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(UpgradeRouter) private readonly router: UpgradeRouter,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(COORDINATOR_ID) coordinatorId: string,
  ) {
    super();
    this.setMaxListeners(0);
    this.coordinatorId = coordinatorId;
    // maxPayload: the WebSocket layer refuses a larger message (close 1009) before buffering it.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.maxFrameBytes,
      handleProtocols: (protocols) => (protocols.has(WIRE_SUBPROTOCOL) ? WIRE_SUBPROTOCOL : false),
    });
  }

  onApplicationBootstrap(): void {
    this.router.register('/silo', (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    this.heartbeat = setInterval(() => this.beat(), this.config.heartbeatMs);
    this.heartbeat.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.heartbeat);
    for (const c of this.connections) this.closeConnection(c, WIRE_CLOSE_CODES.goingAway, 'coordinator shutting down');
    for (const c of this.connections) c.socket.terminate();
    this.wss.close();
  }

  /** Authenticated silos, by address. */
  silos(): SiloSession[] {
    return [...this.sessions.values()].filter((s) => s.open);
  }

  /**
   * The connected silo serving `datasetId`, if any: the session that last announced it (an index, so that a round
   * over n datasets looks its silos up in O(n), not O(n²) — bench scale), else the first connected one serving it.
   */
  siloFor(datasetId: string): SiloSession | undefined {
    const last = this.announcedBy.get(datasetId);
    if (last?.open && last.datasets.has(datasetId) && this.sessions.get(last.address) === last) return last;
    return this.silos().find((s) => s.datasets.has(datasetId));
  }

  private accept(socket: WebSocket): void {
    const challenge: WireControl<'challenge'> = {
      coordinatorId: this.coordinatorId,
      nonce: `0x${randomBytes(32).toString('hex')}`,
      expiresAt: Date.now() + this.config.authTimeoutMs,
      chainId: (this.chain.optional()?.chainId ?? 0n).toString(),
    };
    const conn: Connection = {
      socket,
      challenge,
      alive: true,
      announcedIds: new Set(),
      announceTimes: [],
      announcing: false,
    };
    this.connections.add(conn);
    conn.authTimer = setTimeout(
      () => this.closeConnection(conn, WIRE_CLOSE_CODES.authTimeout, 'authentication timed out'),
      this.config.authTimeoutMs,
    );
    socket.on('pong', () => (conn.alive = true));
    socket.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    socket.on('error', (error) => this.log.debug(`silo socket error: ${error.message}`));
    socket.on('close', (code, reason) => this.onClose(conn, code, reason.toString()));
    this.sendFrame(conn, encodeControlFrame('challenge', challenge), 'challenge');
  }

  private sendFrame(conn: Connection, bytes: Uint8Array, type: string): void {
    if (conn.socket.readyState !== conn.socket.OPEN) return;
    conn.socket.send(bytes, { binary: true });
    this.metrics.wireBytes.labels('out').inc(bytes.length);
    this.metrics.wireFrames.labels('out', type).inc();
  }

  private closeConnection(conn: Connection, code: number, reason: string): void {
    clearTimeout(conn.authTimer);
    if (conn.socket.readyState === conn.socket.OPEN || conn.socket.readyState === conn.socket.CONNECTING) {
      this.metrics.connectionsClosed.labels(String(code)).inc();
      conn.socket.close(code, closeReason(reason));
      // A peer that never completes the closing handshake is cut off.
      setTimeout(() => conn.socket.terminate(), 2000).unref();
    }
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    clearTimeout(conn.authTimer);
    this.connections.delete(conn);
    const session = conn.session;
    if (session && this.sessions.get(session.address) === session) {
      this.sessions.delete(session.address);
      this.metrics.silosConnected.set(this.sessions.size);
    }
    if (session)
      for (const id of session.datasets) if (this.announcedBy.get(id) === session) this.announcedBy.delete(id);
    if (session) this.emit('gone', session, `connection closed (${code}${reason ? `: ${reason}` : ''})`);
  }

  /** Dead-connection detection: a connection that did not answer the previous ping is terminated. */
  private beat(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        this.metrics.connectionsClosed.labels('heartbeat').inc();
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    this.metrics.wireBytes.labels('in').inc(bytes.length);
    if (!isBinary) return this.closeConnection(conn, WIRE_CLOSE_CODES.textFrame, 'text frames are not accepted');
    let frame: WireFrame;
    try {
      frame = decodeWireFrame(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
        maxFrameBytes: this.config.maxFrameBytes,
      });
    } catch (error) {
      if (error instanceof WireCodecError) {
        const code = error.code === 'OVERSIZED' ? WIRE_CLOSE_CODES.frameTooLarge : WIRE_CLOSE_CODES.malformedFrame;
        return this.closeConnection(conn, code, `${error.code}: ${error.message}`);
      }
      throw error;
    }
    this.metrics.wireFrames.labels('in', frame.type).inc();
    try {
      if (!conn.session) return this.onAuth(conn, frame);
      if (!SILO_TYPES.has(frame.type))
        return this.closeConnection(conn, WIRE_CLOSE_CODES.protocolViolation, `a silo may not send ${frame.type}`);
      if (frame.type === 'announce') {
        const body = decodeControlPayload('announce', frame.payload);
        const refusal = this.announceRefusal(conn, body);
        if (refusal) return this.closeConnection(conn, WIRE_CLOSE_CODES.tooManyRequests, refusal);
        conn.announcing = true;
        void this.onAnnounce(conn, conn.session, body).finally(() => (conn.announcing = false));
        return;
      }
      // Control payloads are validated here, so a malformed one closes its connection and never reaches a round.
      if (
        frame.type === 'job-reply' ||
        frame.type === 'eval-result' ||
        frame.type === 'error' ||
        frame.type === 'receipt-signature'
      )
        decodeControlPayload(frame.type, frame.payload);
      this.emit('frame', conn.session, frame);
    } catch (error) {
      if (error instanceof WireCodecError)
        return this.closeConnection(conn, WIRE_CLOSE_CODES.malformedFrame, `${error.code}: ${error.message}`);
      this.log.error(`silo frame handler failed: ${(error as Error).stack ?? String(error)}`);
    }
  }

  private onAuth(conn: Connection, frame: WireFrame): void {
    if (frame.type !== 'auth')
      return this.closeConnection(conn, WIRE_CLOSE_CODES.protocolViolation, `expected auth, got ${frame.type}`);
    const auth = decodeControlPayload('auth', frame.payload);
    if (Date.now() > conn.challenge.expiresAt)
      return this.closeConnection(conn, WIRE_CLOSE_CODES.authFailed, 'challenge expired');
    let signer: string;
    try {
      // EIP-191 personal_sign: keccak256("\x19Ethereum Signed Message:\n" ‖ len(message) ‖ message).
      signer = verifyMessage(siloAuthMessage(conn.challenge, auth.address), auth.signature);
    } catch {
      return this.closeConnection(conn, WIRE_CLOSE_CODES.authFailed, 'signature does not recover');
    }
    if (signer.toLowerCase() !== auth.address.toLowerCase())
      return this.closeConnection(conn, WIRE_CLOSE_CODES.authFailed, 'signature is not by the claimed address');
    clearTimeout(conn.authTimer);
    const address = getAddress(auth.address);
    const previous = this.sessions.get(address);
    const session = new SocketSiloSession(
      address,
      randomUUID(),
      conn.socket,
      (n, type) => {
        this.metrics.wireBytes.labels('out').inc(n);
        this.metrics.wireFrames.labels('out', type).inc();
      },
      (code, reason) => this.closeConnection(conn, code, reason),
    );
    conn.session = session;
    this.sessions.set(address, session);
    this.metrics.silosConnected.set(this.sessions.size);
    if (previous) previous.close(WIRE_CLOSE_CODES.replaced, 'replaced by a newer connection of the same silo');
    this.sendFrame(conn, encodeControlFrame('auth-ok', { address, sessionId: session.sessionId }), 'auth-ok');
  }

  /** Why this announce is past a limit (then the connection is closed), or undefined; records it otherwise. */
  private announceRefusal(conn: Connection, body: WireControl<'announce'>): string | undefined {
    const ids = new Set(body.datasets);
    if (ids.size > MAX_ANNOUNCE_DATASETS)
      return `TOO_MANY_DATASETS: ${ids.size} datasets in one announcement, at most ${MAX_ANNOUNCE_DATASETS}`;
    const fresh = [...ids].filter((id) => !conn.announcedIds.has(id)).length;
    if (conn.announcedIds.size + fresh > MAX_CONNECTION_DATASETS)
      return `TOO_MANY_DATASETS: more than ${MAX_CONNECTION_DATASETS} distinct datasets on one connection`;
    if (conn.announcing) return 'TOO_MANY_ANNOUNCES: the previous announcement is still being checked';
    const now = Date.now();
    conn.announceTimes = conn.announceTimes.filter((t) => now - t < ANNOUNCE_WINDOW_MS);
    if (conn.announceTimes.length >= ANNOUNCE_BURST)
      return `TOO_MANY_ANNOUNCES: at most ${ANNOUNCE_BURST} announcements per ${ANNOUNCE_WINDOW_MS / 1000} s`;
    conn.announceTimes.push(now);
    for (const id of ids) conn.announcedIds.add(id);
    return undefined;
  }

  private async onAnnounce(conn: Connection, session: SocketSiloSession, body: WireControl<'announce'>): Promise<void> {
    const chain = this.chain.optional();
    const checked = await mapBounded(
      [...new Set(body.datasets)],
      OWNER_READS_IN_PARALLEL,
      async (id): Promise<{ datasetId: string; reason?: string }> => {
        if (!chain) return { datasetId: id, reason: 'CHAIN_UNAVAILABLE: the coordinator has no chain configured' };
        try {
          const owner = await chain.ownerOf(BigInt(id));
          if (owner === undefined) return { datasetId: id, reason: 'UNKNOWN_DATASET: no such dataset token' };
          if (owner !== session.address)
            return { datasetId: id, reason: `NOT_OWNER: dataset ${id} is owned by ${owner}` };
          return { datasetId: id };
        } catch (error) {
          return { datasetId: id, reason: `CHAIN_ERROR: ${(error as Error).message.slice(0, 200)}` };
        }
      },
    );
    const accepted = checked.filter((c) => c.reason === undefined).map((c) => c.datasetId);
    const rejected = checked.flatMap((c) =>
      c.reason === undefined ? [] : [{ datasetId: c.datasetId, reason: c.reason }],
    );
    session.datasets = new Set(accepted);
    for (const id of accepted) this.announcedBy.set(id, session);
    this.sendFrame(conn, encodeControlFrame('announce-result', { accepted, rejected }), 'announce-result');
    this.emit('ready', session);
  }
}
