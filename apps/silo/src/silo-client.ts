// The silo's connection to the coordinator. The silo dials OUT (it works behind NAT), proves its wallet with a
// signed challenge, announces the datasets it serves, and then only reacts: offers go to the job runner, rounds to
// a fresh SecAgg+ client wrapped around local training (and, for the evaluation, one around the held-out counts).
// Nothing but masked vectors (evaluation counts in the clear only for jobs without SecAgg+) and
// refusal reasons leaves through here.
import { type Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { ed25519, type Ed25519 } from '@sealfold/crypto';
import { decodeWeights, evalFromSum } from '@sealfold/fl';
import {
  SECAGG_TYPE_CODES,
  WIRE_DEFAULT_MAX_FRAME_BYTES,
  WIRE_SUBPROTOCOL,
  decodeControlPayload,
  decodeSecAggMessage,
  decodeWireFrame,
  encodeControlFrame,
  encodePlainUpdate,
  encodeSecAggMessage,
  encodeWireFrame,
  errorCode,
  evaluationRound,
  isWireControlType,
  STATISTICS_ROUND,
  siloAuthMessage,
  type SecAggServerMessage,
  type WireControl,
  type WireFrame,
} from '@sealfold/protocol';
import {
  CertificateCache,
  createSessionIdentity,
  SecAggClient,
  type SecAggInput,
  type SessionIdentity,
} from '@sealfold/secagg';
import { encodeWeights } from '@sealfold/fl';
import { type Wallet } from 'ethers';
import { JobRefusal, excludedOwners, refusalOf, type SiloJobRunner } from './job-runner.js';

export interface SiloClientOptions {
  /**
   * Base URL of the coordinator, e.g. http://127.0.0.1:8080 (the silo endpoint is `/silo`), or of each coordinator
   * of one deployment (several sharing one database): the silo connects to the first, and after a lost connection
   * or a failed attempt to the next one (round robin), re-announcing its datasets there. A job is run by the
   * coordinator its silos are connected to (apps/coordinator JobRunner), so silos follow their job by moving on
   * together when its coordinator dies.
   */
  readonly coordinatorUrl: string | readonly string[];
  readonly wallet: Wallet;
  /** Dataset token ids this silo serves. */
  readonly datasets: readonly bigint[];
  readonly runner: SiloJobRunner;
  readonly logger: Logger;
  /** Checks that a peer's wallet owns the dataset it claims (on chain); the chain is the PKI. */
  /** A dataset's owner (one ownerOf view); undefined when it does not exist. */
  readonly ownerOf: (datasetId: bigint) => Promise<string | undefined>;
  readonly reconnect?: { readonly minMs?: number; readonly maxMs?: number };
  readonly maxFrameBytes?: number;
  readonly curves?: { readonly ed25519: Ed25519 };
  /**
   * Whether this owner accepts jobs whose updates are summed without SecAgg+ (the coordinator would see each
   * update). Off by default: a buyer who signs `secagg.enabled: false` does not decide for the owner.
   */
  readonly allowPlainAggregation?: boolean;
}

interface JobState {
  readonly clientId: number;
  readonly datasetId: bigint;
  readonly session: SessionIdentity;
  readonly certificates: CertificateCache;
  /** Dataset ids of the signed request: every roster member must own one of them. */
  readonly request: readonly bigint[];
  /** Addresses never counted as independent owners: the buyer and the coordinator of the signed request. */
  readonly excluded: ReadonlySet<string>;
  /** The last roster, verified on chain and against the owner policy; `error` says why it was refused. */
  roster?: { readonly clients: readonly number[]; readonly error?: string };
  /** On-chain owner of each dataset of the request, looked up once per job. */
  readonly owners: Map<string, Promise<string | undefined>>;
  /** Wallet of each SecAgg+ client id of the current round, checked on chain (the chain is the PKI). */
  walletOf: ReadonlyMap<number, string>;
  readonly secagg: boolean;
  round?: { readonly number: number; readonly client?: SecAggClient };
  /** The SecAgg+ client of the job's statistics sum (round id STATISTICS_ROUND), built from its setup. */
  statistics?: SecAggClient;
  /**
   * The current round's secure evaluation (round id evaluationRound(round)): its SecAgg+ client is built when the
   * setup arrives (the run is over the round's contributors, a subset of the verified roster).
   */
  evaluation?: {
    readonly number: number;
    client?: SecAggClient;
    readonly prepared: Awaited<ReturnType<SiloJobRunner['prepareEvaluation']>>;
  };
}

export type SiloConnectionState = 'idle' | 'connecting' | 'authenticating' | 'ready' | 'stopped';

export class SiloClient {
  private socket: WebSocket | undefined;
  private stateValue: SiloConnectionState = 'idle';
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private inbox: Promise<void> = Promise.resolve();
  private readonly jobs = new Map<string, JobState>();
  private readonly listeners = new Set<(state: SiloConnectionState) => void>();
  /** Datasets the coordinator accepted after checking ownership on chain. */
  accepted: string[] = [];
  /** Why the last connection attempt failed or closed (for the operator), until the silo is ready again. */
  lastError: string | undefined;
  /** Connection attempts since the last successful one. */
  get failedAttempts(): number {
    return this.attempt;
  }
  /** The dataset ids announced: the coordinator replaces its view of a connection with each announcement. */
  private readonly served: string[];
  private announcing = false;
  private announceAgain = false;
  private readonly urls: readonly string[];
  private urlIndex = 0;

  constructor(private readonly options: SiloClientOptions) {
    this.served = options.datasets.map(String);
    this.urls = typeof options.coordinatorUrl === 'string' ? [options.coordinatorUrl] : [...options.coordinatorUrl];
    if (this.urls.length === 0) throw new TypeError('at least one coordinator URL is needed');
  }

  /** The coordinator this silo connects (or is connected) to. */
  get coordinatorUrl(): string {
    return this.urls[this.urlIndex];
  }

  /** Calls `listener` on every state change until the returned function is called. */
  onState(listener: (state: SiloConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Serves more datasets (e.g. registered after the silo started): the whole list is announced again on this
   * connection, one announcement at a time (the gateway closes a connection that announces while its previous
   * announcement is being checked, or more than 3 times in 10 s).
   */
  serve(datasets: readonly bigint[]): void {
    const added = datasets.map(String).filter((id) => !this.served.includes(id));
    if (added.length === 0) return;
    this.served.push(...added);
    if (this.stateValue === 'ready') this.announce();
  }

  private announce(): void {
    if (this.announcing) {
      this.announceAgain = true;
      return;
    }
    this.announcing = true;
    this.send(encodeControlFrame('announce', { datasets: [...this.served] }));
  }

  get state(): SiloConnectionState {
    return this.stateValue;
  }

  /** Resolves when the silo is authenticated and its datasets are announced. */
  ready(timeoutMs = 30_000): Promise<void> {
    if (this.stateValue === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`silo not ready within ${timeoutMs} ms (state ${this.stateValue})`));
      }, timeoutMs);
      const listener = (state: SiloConnectionState) => {
        if (state !== 'ready') return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve();
      };
      this.listeners.add(listener);
    });
  }

  start(): void {
    if (this.stateValue !== 'idle') return;
    this.connect();
  }

  async stop(): Promise<void> {
    this.setState('stopped');
    clearTimeout(this.timer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close(1001, 'silo stopping');
      setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2000).unref();
    });
  }

  private setState(state: SiloConnectionState): void {
    if (this.stateValue === 'stopped' && state !== 'stopped') return;
    this.stateValue = state;
    for (const l of [...this.listeners]) l(state);
  }

  private connect(): void {
    this.setState('connecting');
    const url = new URL('/silo', this.coordinatorUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, WIRE_SUBPROTOCOL, {
      maxPayload: this.options.maxFrameBytes ?? WIRE_DEFAULT_MAX_FRAME_BYTES,
    });
    this.socket = socket;
    socket.binaryType = 'nodebuffer';
    socket.on('open', () => {
      this.attempt = 0;
      this.lastError = undefined;
      this.setState('authenticating');
    });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) return socket.close(4415, 'text frames are not part of the protocol');
      // Frames are handled one at a time, in arrival order: a roster must be fully checked on chain before the
      // SecAgg+ messages that follow it are verified against it (several frames can arrive in one TCP read).
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      this.inbox = this.inbox
        .then(() => this.onFrame(bytes))
        .catch((error: unknown) => {
          this.options.logger.error({ err: (error as Error).message }, 'silo frame handling failed');
        });
    });
    socket.on('close', (code, reason) => {
      this.options.logger.warn({ code, reason: reason.toString() }, 'connection to coordinator closed');
      this.socket = undefined;
      this.announcing = false;
      this.announceAgain = false;
      if (code !== 1006 || this.lastError === undefined)
        this.lastError = `connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`;
      // A round in flight is lost with the connection; the coordinator treats this silo as dropped.
      for (const job of this.jobs.values()) job.round = undefined;
      // The next attempt goes to the next coordinator of the deployment (the same one when there is one).
      this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      if (this.stateValue !== 'stopped') this.scheduleReconnect();
    });
    socket.on('error', (error) => {
      this.lastError = error.message;
      this.options.logger.warn({ err: error.message }, 'coordinator connection error');
    });
  }

  /** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015). */
  private scheduleReconnect(): void {
    this.setState('connecting');
    const min = this.options.reconnect?.minMs ?? 250;
    const max = this.options.reconnect?.maxMs ?? 15_000;
    const delay = Math.random() * Math.min(max, min * 2 ** this.attempt++);
    this.timer = setTimeout(() => this.connect(), delay);
    this.timer.unref?.();
  }

  private send(frame: Uint8Array): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(frame, { binary: true });
  }

  private async onFrame(bytes: Uint8Array): Promise<void> {
    let frame: WireFrame;
    try {
      frame = decodeWireFrame(bytes, { maxFrameBytes: this.options.maxFrameBytes });
    } catch (error) {
      this.socket?.close(4400, `malformed frame: ${(error as Error).message}`.slice(0, 120));
      return;
    }
    if (isWireControlType(frame.type)) {
      const body = decodeControlPayload(frame.type, frame.payload);
      switch (frame.type) {
        case 'challenge':
          return this.onChallenge(body as WireControl<'challenge'>);
        case 'auth-ok':
          this.announce();
          return;
        case 'announce-result': {
          const result = body as WireControl<'announce-result'>;
          this.accepted = result.accepted;
          this.announcing = false;
          if (result.rejected.length) this.options.logger.warn({ rejected: result.rejected }, 'datasets rejected');
          if (this.stateValue === 'ready')
            this.options.logger.info({ accepted: result.accepted }, 'datasets announced');
          this.setState('ready');
          if (this.announceAgain) {
            this.announceAgain = false;
            this.announce();
          }
          return;
        }
        case 'job-offer':
          return this.onOffer(body as WireControl<'job-offer'>);
        case 'roster':
          return this.onRoster(body as WireControl<'roster'>);
        case 'statistics-request':
          return this.onStatisticsRequest(body as WireControl<'statistics-request'>);
        case 'statistics': {
          const { jobId, statistics } = body as WireControl<'statistics'>;
          if (!this.jobs.has(jobId)) return;
          try {
            this.options.runner.setStatistics(jobId, statistics);
          } catch (error) {
            this.refuseRound(jobId, STATISTICS_ROUND, error);
          }
          return;
        }
        case 'receipt-request':
          return this.onReceiptRequest(body as WireControl<'receipt-request'>);
        case 'job-end': {
          const end = body as WireControl<'job-end'>;
          this.jobs.delete(end.jobId);
          this.options.runner.finish(end.jobId);
          this.options.logger.info({ jobId: end.jobId, status: end.status }, 'job ended');
          return;
        }
        case 'error':
          this.options.logger.warn({ error: body }, 'coordinator reported an error');
          return;
        default:
          return;
      }
    }
    switch (frame.type) {
      case 'round-start':
        return this.onRoundStart(frame);
      case 'secagg':
        return this.onSecAgg(frame);
      case 'evaluate':
        return this.onEvaluate(frame);
      default:
        return;
    }
  }

  private async onChallenge(challenge: WireControl<'challenge'>): Promise<void> {
    if (challenge.expiresAt < Date.now()) return;
    const address = this.options.wallet.address;
    const signature = await this.options.wallet.signMessage(siloAuthMessage(challenge, address));
    this.send(encodeControlFrame('auth', { address, signature }));
  }

  /**
   * The coordinator asks for this silo's signature of the job receipt (issue 20): the runner checks it against the
   * ledger and the chain and signs with the dataset's silo signer key; a refusal travels back with its reason.
   */
  private async onReceiptRequest(req: WireControl<'receipt-request'>): Promise<void> {
    const datasetId = BigInt(req.datasetId);
    const reply = (body: { signature: string } | { refused: string }) =>
      this.send(
        encodeControlFrame(
          'receipt-signature',
          { jobId: req.jobId, datasetId: req.datasetId, ...body },
          { jobId: req.jobId },
        ),
      );
    if (!this.served.includes(req.datasetId))
      return reply({ refused: `receipt-refused: this silo does not serve dataset ${req.datasetId}` });
    try {
      const { signature, escrowJobId } = await this.options.runner.signReceipt({
        jobId: req.jobId,
        datasetId,
        receipt: req.receipt,
        transcript: req.transcript,
      });
      this.options.logger.info({ jobId: req.jobId, escrowJobId, datasetId: req.datasetId }, 'job receipt signed');
      reply({ signature });
    } catch (error) {
      const { reason, message } = refusalOf(error);
      this.options.logger.warn({ jobId: req.jobId, reason, detail: message }, 'job receipt refused');
      reply({ refused: `${reason}: ${message}`.slice(0, 1024) });
    }
  }

  private async onOffer(offer: WireControl<'job-offer'>): Promise<void> {
    const reply = (accept: boolean, reason?: string) =>
      this.send(
        encodeControlFrame(
          'job-reply',
          { jobId: offer.jobId, datasetId: offer.datasetId, accept, ...(reason ? { reason } : {}) },
          { jobId: offer.jobId },
        ),
      );
    const datasetId = BigInt(offer.datasetId);
    try {
      // Training settings, clip, maxWeight and SecAgg+ terms are the signed request's (verified in admit).
      if (!offer.request.secagg.enabled && !this.options.allowPlainAggregation)
        throw new JobRefusal('secagg-required', 'this silo only contributes through SecAgg+');
      await this.options.runner.admit({
        jobId: offer.jobId,
        request: offer.request,
        signature: offer.signature,
        datasetId,
        modelSpec: offer.modelSpec,
        jobSchema: offer.jobSchema,
      });
      const session = await createSessionIdentity(
        this.options.curves?.ed25519 ?? ed25519,
        this.options.wallet,
        offer.jobId,
        offer.clientId,
      );
      this.jobs.set(offer.jobId, {
        clientId: offer.clientId,
        datasetId,
        session,
        certificates: new CertificateCache(),
        request: offer.request.datasets,
        excluded: excludedOwners(offer.request),
        owners: new Map(),
        walletOf: new Map(),
        secagg: offer.request.secagg.enabled,
      });
      this.options.logger.info({ jobId: offer.jobId, datasetId: offer.datasetId }, 'job accepted');
      reply(true);
    } catch (error) {
      const { reason, message } = refusalOf(error);
      this.options.logger.warn({ jobId: offer.jobId, reason, detail: message }, 'job refused');
      try {
        this.options.runner.recordRefusal(offer.jobId, datasetId, reason, message);
      } catch (recordError) {
        this.options.logger.warn({ jobId: offer.jobId, err: (recordError as Error).message }, 'refusal not recorded');
      }
      reply(false, `${reason}: ${message}`.slice(0, 512));
    }
  }

  /**
   * The round's members. Each must be the on-chain owner of a dataset of the signed request, so a coordinator
   * cannot slip its own clients into a neighbourhood (Sybils would let it unmask an owner).
   */
  private async onRoster(roster: WireControl<'roster'>): Promise<void> {
    const job = this.jobs.get(roster.jobId);
    if (!job) return;
    // Owners are read from the chain in parallel and remembered for the job (a transfer mid-job is not followed).
    const owners = await Promise.all(
      roster.members.map((m) => {
        const datasetId = BigInt(m.datasetId);
        if (!job.request.includes(datasetId)) return undefined;
        let owner = job.owners.get(m.datasetId);
        if (!owner) {
          owner = this.options.ownerOf(datasetId);
          job.owners.set(m.datasetId, owner);
          owner.catch(() => job.owners.delete(m.datasetId));
        }
        return owner.catch(() => undefined);
      }),
    );
    const walletOf = new Map<number, string>();
    const seen = new Set<string>();
    for (const [i, m] of roster.members.entries()) {
      const owner = owners[i];
      if (!owner || owner.toLowerCase() !== m.address.toLowerCase() || seen.has(m.datasetId)) {
        this.options.logger.warn({ jobId: roster.jobId, clientId: m.clientId }, 'roster member is not a dataset owner');
        walletOf.clear();
        break;
      }
      seen.add(m.datasetId);
      walletOf.set(m.clientId, owner);
    }
    // An empty map makes the SecAgg+ client refuse every key (no verifiable wallet): the round fails safe.
    job.walletOf = walletOf;
    job.roster = this.checkRoster(job, roster, walletOf);
  }

  /**
   * The owner policy on a verified roster (issue 11): this silo is in it, no client id twice, and at least
   * the job's owner policy (runner.minOwnersOf) of distinct owners that are neither the buyer nor the coordinator.
   */
  private checkRoster(
    job: JobState,
    roster: WireControl<'roster'>,
    walletOf: ReadonlyMap<number, string>,
  ): NonNullable<JobState['roster']> {
    const clients = roster.members.map((m) => m.clientId).sort((a, b) => a - b);
    const refused = (error: string) => {
      this.options.logger.warn({ jobId: roster.jobId, error }, 'roster refused');
      return { clients, error };
    };
    if (walletOf.size !== roster.members.length) return refused('a roster member is not the owner of its dataset');
    if (new Set(clients).size !== clients.length) return refused('a client id is listed twice');
    if (!walletOf.has(job.clientId)) return refused('this silo is not in the roster');
    const min = this.options.runner.minOwnersOf(roster.jobId);
    const independent = this.independentOwners(job, clients, walletOf);
    if (independent < min)
      return refused(`${independent} independent owner(s) in the round; this silo requires ${min}`);
    return { clients };
  }

  private independentOwners(job: JobState, clients: readonly number[], walletOf: ReadonlyMap<number, string>) {
    const owners = clients.map((id) => walletOf.get(id)?.toLowerCase());
    return new Set(owners.filter((o): o is string => o !== undefined && !job.excluded.has(o))).size;
  }

  /** Sends this silo's refusal of a round or evaluation to the coordinator, with its reason. */
  private refuseRound(jobId: string, round: number, error: unknown): void {
    const code = errorCode(error) ?? 'SECAGG_REFUSED';
    this.options.logger.warn({ jobId, round, reason: code, err: (error as Error).message }, 'round refused');
    this.send(
      encodeControlFrame(
        'error',
        { code: String(code).slice(0, 64), message: (error as Error).message.slice(0, 1024) },
        { jobId, round },
      ),
    );
  }

  /** The verified roster of the job, or a refusal. */
  private verifiedRoster(job: JobState): readonly number[] {
    if (!job.roster) throw new JobRefusal('roster-mismatch', 'no roster was received for this round');
    if (job.roster.error) throw new JobRefusal('roster-mismatch', job.roster.error);
    return job.roster.clients;
  }

  private async onRoundStart(frame: WireFrame): Promise<void> {
    const job = this.jobs.get(frame.jobId);
    if (!job) return;
    const globalWeights = decodeWeights(frame.payload);
    if (!job.secagg) {
      let contribution;
      try {
        contribution = await this.options.runner.trainRound(frame.jobId, frame.round, globalWeights);
      } catch (error) {
        return this.refuseRound(frame.jobId, frame.round, error);
      }
      const { update, weight } = contribution;
      this.send(
        encodeWireFrame({
          type: 'plain-update',
          jobId: frame.jobId,
          round: frame.round,
          stage: 0,
          payload: encodePlainUpdate(weight, encodeWeights(update)),
        }),
      );
      return;
    }
    // Everything the round may be run with is fixed here, by the silo: the verified roster is the exact client
    // list, the parameters are derived from its size and the job (issue 11), and (job, round) was never released.
    job.round = undefined;
    let clients: readonly number[];
    let params;
    try {
      clients = this.verifiedRoster(job);
      params = this.options.runner.roundParams(frame.jobId, clients.length, 'train');
      // The licence is read on chain again in prepareRound, beside the key stages, not before them.
      this.options.runner.checkRoundLocally(frame.jobId, frame.round, 'train', globalWeights);
    } catch (error) {
      return this.refuseRound(frame.jobId, frame.round, error);
    }
    // Train now, while the SecAgg+ key stages run (they do not need the update); the contribution is booked on the
    // ledger and handed over only when the masked-input stage asks for it, so an aborted round costs no budget.
    const prepared = this.options.runner.prepareRound(frame.jobId, frame.round, globalWeights);
    prepared.catch((error: unknown) => this.refuseRound(frame.jobId, frame.round, error));
    job.round = {
      number: frame.round,
      client: new SecAggClient({
        jobId: frame.jobId,
        round: frame.round,
        id: job.clientId,
        session: job.session,
        walletOf: (id) => job.walletOf.get(id),
        expectedParams: params,
        expectedClients: clients,
        input: async () => {
          const { contribution, charge } = await prepared;
          charge();
          return { update: contribution.update, weight: contribution.weight };
        },
        certificates: job.certificates,
      }),
    };
  }

  /**
   * The job's statistics sum (issue 13 §4). Without SecAgg+ (the owner allowed plain aggregation) the silo sends its
   * statistics as a plain update of round STATISTICS_ROUND; with SecAgg+ it answers the setup of that run.
   */
  private onStatisticsRequest(request: WireControl<'statistics-request'>): void {
    const job = this.jobs.get(request.jobId);
    if (!job || job.secagg) return;
    let input;
    try {
      input = this.options.runner.statisticsContribution(request.jobId, []);
    } catch (error) {
      return this.refuseRound(request.jobId, STATISTICS_ROUND, error);
    }
    this.send(
      encodeWireFrame({
        type: 'plain-update',
        jobId: request.jobId,
        round: STATISTICS_ROUND,
        stage: 0,
        payload: encodePlainUpdate(input.weight, encodeWeights(input.update)),
      }),
    );
  }

  private async onSecAgg(frame: WireFrame): Promise<void> {
    const job = this.jobs.get(frame.jobId);
    const message = decodeSecAggMessage(frame.payload) as SecAggServerMessage;
    if (job && frame.round === STATISTICS_ROUND && !job.statistics && message.type === 'secagg/setup') {
      try {
        job.statistics = this.statisticsClient(job, frame.jobId, message);
      } catch (error) {
        return this.refuseRound(frame.jobId, frame.round, error);
      }
    }
    if (job?.evaluation?.number === frame.round && !job.evaluation.client && message.type === 'secagg/setup') {
      try {
        job.evaluation.client = this.evaluationClient(job, frame.jobId, message);
      } catch (error) {
        job.evaluation = undefined;
        return this.refuseRound(frame.jobId, frame.round, error);
      }
    }
    const client =
      frame.round === STATISTICS_ROUND
        ? job?.statistics
        : job?.round?.number === frame.round
          ? job.round.client
          : job?.evaluation?.number === frame.round
            ? job.evaluation.client
            : undefined;
    if (!client) return;
    try {
      const reply = await client.handle(message);
      if (!reply) return;
      this.send(
        encodeWireFrame({
          type: 'secagg',
          jobId: frame.jobId,
          round: frame.round,
          stage: SECAGG_TYPE_CODES[reply.type],
          payload: encodeSecAggMessage(reply),
        }),
      );
    } catch (error) {
      // A refusal (e.g. an unmask request that would reveal one owner) ends our part in this round.
      this.refuseRound(frame.jobId, frame.round, error);
    }
  }

  /**
   * The SecAgg+ client of the job's statistics sum, from its setup: the clients are exactly the verified roster,
   * this silo among them, with enough independent owners; the parameters are the silo's own derivation (d from the
   * signed job schema, weight 1, the exact-level clip), so the vector layout is the one the silo signed up for.
   */
  private statisticsClient(
    job: JobState,
    jobId: string,
    setup: Extract<SecAggServerMessage, { type: 'secagg/setup' }>,
  ): SecAggClient {
    const roster = this.verifiedRoster(job);
    const clients = Array.from(setup.clients).sort((a, b) => a - b);
    if (clients.length !== roster.length || clients.some((id, i) => id !== roster[i]))
      throw new JobRefusal('roster-mismatch', 'the statistics sum lists other clients than the verified roster');
    const params = this.options.runner.statisticsParams(jobId, clients.length);
    return new SecAggClient({
      jobId,
      round: STATISTICS_ROUND,
      id: job.clientId,
      session: job.session,
      walletOf: (id) => job.walletOf.get(id),
      expectedParams: params,
      expectedClients: clients,
      input: (): SecAggInput => this.options.runner.statisticsContribution(jobId, clients),
      certificates: job.certificates,
    });
  }

  /**
   * The SecAgg+ client of a secure evaluation, built from its setup: the clients must be members of the verified
   * roster (the round's contributors; no ghost ids), this silo among them, with enough independent owners, and the
   * parameters are the silo's own derivation for that many clients.
   */
  private evaluationClient(
    job: JobState,
    jobId: string,
    setup: Extract<SecAggServerMessage, { type: 'secagg/setup' }>,
  ): SecAggClient {
    const evaluation = job.evaluation!;
    const roster = new Set(this.verifiedRoster(job));
    const clients = Array.from(setup.clients);
    if (!clients.includes(job.clientId) || clients.some((id) => !roster.has(id)))
      throw new JobRefusal('roster-mismatch', 'the evaluation lists clients outside the verified roster');
    const min = this.options.runner.minOwnersOf(jobId);
    const independent = this.independentOwners(job, clients, job.walletOf);
    if (independent < min)
      throw new JobRefusal('roster-mismatch', `${independent} independent owner(s) in the evaluation, need ${min}`);
    const params = this.options.runner.roundParams(jobId, clients.length, 'eval');
    return new SecAggClient({
      jobId,
      round: evaluation.number,
      id: job.clientId,
      session: job.session,
      walletOf: (id) => job.walletOf.get(id),
      expectedParams: params,
      expectedClients: clients,
      input: (): SecAggInput => {
        evaluation.prepared.charge();
        return evaluation.prepared.input(params);
      },
      certificates: job.certificates,
    });
  }

  /**
   * Federated evaluation of round `frame.round`'s model, gated by the runner (prepareEvaluation): only a round this
   * silo contributed to, once, and the model must be the next round's global model. With SecAgg+ the counts go only
   * into a sum over the round's contributors; without it they are sent in the clear, so never with DP.
   */
  private async onEvaluate(frame: WireFrame): Promise<void> {
    const job = this.jobs.get(frame.jobId);
    if (!job) return;
    const weights = decodeWeights(frame.payload);
    const round = job.secagg ? evaluationRound(frame.round) : frame.round;
    job.evaluation = undefined;
    let prepared;
    try {
      if (job.secagg) this.verifiedRoster(job);
      else if (this.options.runner.jobOf(frame.jobId)?.dp.noiseMultiplier)
        throw new JobRefusal('secagg-required', 'a DP job is evaluated only through SecAgg+');
      prepared = await this.options.runner.prepareEvaluation(frame.jobId, frame.round, weights);
    } catch (error) {
      return this.refuseRound(frame.jobId, round, error);
    }
    if (job.secagg) {
      job.evaluation = { number: round, prepared };
      return;
    }
    const vector = prepared.input({ maxWeight: 1_000_000, t: 1 });
    if (vector.weight === 0) return;
    prepared.charge();
    const sums = evalFromSum(vector.update, 1)!;
    this.send(
      encodeControlFrame(
        'eval-result',
        {
          jobId: frame.jobId,
          round: frame.round,
          loss: sums.loss,
          accuracy: sums.accuracy,
          examples: vector.weight,
        },
        { jobId: frame.jobId, round: frame.round },
      ),
    );
  }
}
