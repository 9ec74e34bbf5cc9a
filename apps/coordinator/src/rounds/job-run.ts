// One job being trained: offers the job to the silos serving its datasets, then runs round after round — global
// model, aggregation, strategy step (libs/fl), federated evaluation — committing the global model after each round.
// Aggregation is SecAgg+ (libs/secagg server) unless the buyer signed `secagg.enabled: false`: then each silo that
// allows it sends its weighted update in the clear (`plain-update`) and the coordinator sums them. Training settings,
// clip, maxWeight and the minimum contributors come from the signed request; k and t from deriveRoundParams, the
// same derivation every silo runs on the roster it verified.
// Resuming (after a restart, or on another coordinator after a failover): the run goes on from the last committed
// global model. The round in flight when the previous run stopped is re-run under its number only if no silo was
// asked for its masked input yet; otherwise silos may have released it, and the one-release-per-round rule of their
// ledgers (which refuse a second release of (job, round, kind)) forbids re-running it: the round is recorded as
// abandoned, and the job goes on with the next round number (one more is skipped when silos may already have
// evaluated the lost model, since a silo refuses a round whose model is not the one it evaluated). Every write goes
// through `ctx.fenced`: only the holder of the job's lease commits.
// Plain class (no Nest): the JobRunner service creates one per running job.
import {
  SECAGG_TYPE_CODES,
  SecAggCodecError,
  WireCodecError,
  decodeControlPayload,
  decodePlainUpdate,
  decodeSecAggMessage,
  encodeControlFrame,
  encodeSecAggMessage,
  encodeWireFrame,
  isSecAggClientMessage,
  jobRequestToJson,
  STATISTICS_ROUND,
  trainingToFloats,
  WIRE_CLOSE_CODES,
  type WireControl,
  evaluationRound,
  type SecAggParams,
  type TrainingFloats,
  type WireControlInput,
  type WireControlType,
  type WireFrame,
} from '@sealfold/protocol';
import {
  EVAL_VECTOR_CLIP,
  combineEval,
  decodeWeights,
  evalFromSum,
  encodeWeights,
  FlError,
  PreprocessError,
  STATS_BITS,
  STATS_CLIP,
  STATS_MAX_WEIGHT,
  encodingFromStatistics,
  initialWeights,
  majorityBaseline,
  statisticsFromSum,
  statisticsLength,
  type InputEncoding,
  type JobStatistics,
  parseModelSpec,
  serverStrategy,
  signedDpAddsNoise,
  weightedSum,
  type ServerStrategy,
} from '@sealfold/fl';
import {
  SecAggError,
  SecAggServer,
  deriveRoundParams,
  driveSecAgg,
  type SecAggDriveResult,
  type SecAggResult,
} from '@sealfold/secagg';
import type { JobRecord } from '../jobs/jobs.repository.js';
import type { SiloSession } from '../gateway/silo-session.js';
import type { SqlExecutor } from '../database/database.js';
import type { InflightStage, RoundRecord, RoundsRepository } from './rounds.repository.js';

/** Why a job stopped without completing. `shutdown` leaves it running in the database (resumed at next start). */
export class JobStop extends Error {
  override readonly name = 'JobStop';
  constructor(
    readonly kind: 'failed' | 'cancelled' | 'shutdown',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RunSettings {
  readonly stageTimeoutMs: number;
  readonly trainTimeoutMs: number;
  readonly minSilos: number;
}

export interface RunProgress {
  round: number;
  stage: string;
  participants: number;
  dropouts: number;
  loss?: number;
  accuracy?: number;
  /** Accuracy of always predicting the most frequent class (securely summed label counts). */
  majorityBaseline?: number;
}

/** What the run needs from its surroundings (gateway, metrics, progress, model delivery). */
export interface RunContext {
  readonly settings: RunSettings;
  readonly rounds: RoundsRepository;
  /** Runs a write in one transaction that checks the job's lease (LeaseLostError when it was taken over). */
  fenced<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  siloFor(datasetId: string): SiloSession | undefined;
  progress(p: RunProgress): void;
  /** The job's feature statistics were summed: its input encoding and majority-class baseline, to record (fenced). */
  statistics(encoding: InputEncoding, majorityBaseline: number): Promise<void>;
  stageObserved(stage: string, seconds: number, dropouts: number): void;
  log(message: string, fields?: Record<string, unknown>): void;
}

interface Member {
  readonly datasetId: string;
  readonly clientId: number;
  session: SiloSession;
}

/** SecAgg+ needs n ≥ 3 (libs/secagg validateParams). */
const SECAGG_MIN_CLIENTS = 3;

/** What a round's aggregation hands to the strategy step, whichever way the updates were summed. */
interface RoundSum {
  /** Σ w_u · x_u over the contributors (length d). */
  readonly sum: Float32Array;
  /** Σ w_u over the contributors. */
  readonly totalWeight: number;
  /** Client ids whose updates are in the sum. */
  readonly contributors: readonly number[];
  /** Members that did not contribute (dropped out at some stage). */
  readonly dropouts: number;
}

export class JobRun {
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  /** Offers sent, by dataset: the session they went to. */
  private readonly offered = new Map<string, string>();
  /** The roster each dataset's silo last received, as `sessionId|members` (see startRound). */
  private readonly rosterSent = new Map<string, string>();
  private readonly replies = new Map<string, WireControl<'job-reply'>>();
  private readonly evalResults = new Map<number, WireControl<'eval-result'>>();
  private members: Member[] = [];
  private server: SecAggServer | undefined;
  /** The SecAgg+ round id `server` runs: the round number, or evaluationRound(round) for the evaluation sum. */
  private secaggRound = 0;
  /** Plain updates of the round in flight, by client id (only while a plain round collects). */
  private plainUpdates: Map<number, { weight: number; update: Float32Array }> | undefined;
  /** The round id and vector length the plain updates being collected have (a round, or STATISTICS_ROUND). */
  private plainExpect = { round: 0, d: 0 };
  /** The summed feature statistics (before round 1, every time the run starts) and who was sent them. */
  private statistics: JobStatistics | undefined;
  private readonly statisticsSent = new Map<string, string>();
  private round = 0;
  private readonly d: number;
  /** false only when the buyer signed `secagg.enabled: false`. */
  private readonly secure: boolean;
  /** The signed training settings, as floats. */
  private readonly training: TrainingFloats;
  /** The signed strategy's server step and state codec (libs/fl registry). */
  private readonly strategy: ServerStrategy;

  constructor(
    private readonly job: JobRecord,
    private readonly ctx: RunContext,
  ) {
    this.d = parseModelSpec(job.modelSpec).layout.totalSize;
    this.secure = job.request.secagg.enabled;
    this.training = trainingToFloats(job.request.training);
    this.strategy = serverStrategy(job.request.strategy);
  }

  get id(): string {
    return this.job.id;
  }

  stop(stop: JobStop): void {
    if (!this.abort.signal.aborted) this.abort.abort(stop);
    this.wake?.();
  }

  /** A silo connected or announced: a waiting stage may proceed. */
  poke(): void {
    this.wake?.();
  }

  private checkStopped(): void {
    if (this.abort.signal.aborted) throw this.abort.signal.reason as JobStop;
  }

  /** Waits until `done()` holds, `ms` pass, or the run is stopped (then throws). */
  private async until(done: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      this.checkStopped();
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    this.checkStopped();
  }

  private send(session: SiloSession, frame: WireFrame): boolean {
    return session.open && session.send(frame);
  }

  /** Frames for this job from the gateway. */
  onFrame(session: SiloSession, frame: WireFrame): void {
    switch (frame.type) {
      case 'job-reply': {
        const reply = decodeControlPayload('job-reply', frame.payload);
        if (this.offered.get(reply.datasetId) === session.sessionId) this.replies.set(reply.datasetId, reply);
        break;
      }
      case 'eval-result': {
        const member = this.members.find((m) => m.session === session);
        const result = decodeControlPayload('eval-result', frame.payload);
        if (member && result.round === this.round) this.evalResults.set(member.clientId, result);
        break;
      }
      case 'secagg': {
        const member = this.members.find((m) => m.session === session);
        if (!member || !this.server || frame.round !== this.secaggRound) return;
        let message;
        try {
          message = decodeSecAggMessage(frame.payload);
        } catch (error) {
          if (error instanceof SecAggCodecError) {
            session.close(WIRE_CLOSE_CODES.malformedFrame, `secagg ${error.code}: ${error.message}`);
            return;
          }
          throw error;
        }
        if (!isSecAggClientMessage(message)) {
          session.close(WIRE_CLOSE_CODES.protocolViolation, `a silo may not send ${message.type}`);
          return;
        }
        try {
          this.server.receive(member.clientId, message);
        } catch (error) {
          // The server ignores a refused message; the client then counts as dropped at the end of the stage.
          if (!(error instanceof SecAggError)) throw error;
          this.ctx.log('secagg message refused', { job: this.id, client: member.clientId, code: error.code });
        }
        break;
      }
      case 'plain-update': {
        const member = this.members.find((m) => m.session === session);
        const updates = this.plainUpdates;
        if (!member || !updates || frame.round !== this.plainExpect.round || updates.has(member.clientId)) return;
        let weight: number;
        let update: Float32Array;
        try {
          const decoded = decodePlainUpdate(frame.payload);
          weight = decoded.weight;
          update = decodeWeights(decoded.weights, this.plainExpect.d);
        } catch (error) {
          if (error instanceof WireCodecError || error instanceof FlError) {
            session.close(WIRE_CLOSE_CODES.malformedFrame, `plain-update: ${error.message}`);
            return;
          }
          throw error;
        }
        // The same bound SecAgg+ puts on a declared weight (it must fit the exact modular sum).
        if (weight > this.training.maxWeight) {
          session.close(WIRE_CLOSE_CODES.protocolViolation, `weight ${weight} above maxWeight`);
          return;
        }
        updates.set(member.clientId, { weight, update });
        break;
      }
      case 'error':
        this.ctx.log('silo reported an error', {
          job: this.id,
          silo: session.address,
          ...decodeControlPayload('error', frame.payload),
        });
        break;
      default:
        break;
    }
    this.wake?.();
  }

  /**
   * Runs the job to its end; resolves with the final global model. Throws JobStop when the job fails, is cancelled,
   * or the coordinator shuts down.
   */
  async run(): Promise<{
    weights: Float32Array;
    /** Rounds committed. */
    rounds: number;
    /** The highest round number used (committed or abandoned). */
    roundsRun: number;
    lastEval?: { loss: number; accuracy: number };
  }> {
    const committed = await this.ctx.rounds.lastCommitted(this.id);
    let global = committed?.weights ?? initialWeights(this.job.modelSpec, this.id);
    if (global.length !== this.d)
      throw new JobStop('failed', 'MODEL_MISMATCH', 'committed model does not fit the spec');
    let state;
    try {
      state = committed ? this.strategy.decodeState(committed.strategyState, this.d) : this.strategy.init(this.d);
    } catch (error) {
      if (error instanceof FlError) throw new JobStop('failed', 'STRATEGY_STATE', error.message);
      throw error;
    }
    let lastEval: { loss: number; accuracy: number } | undefined;
    for (let round = await this.firstRound(committed?.round ?? 0); round <= this.job.rounds; round++) {
      this.round = round;
      const startedAt = Date.now();
      await this.gather();
      // Before any model goes out: the round is in flight. Without SecAgg+ a silo releases its update as soon as it
      // trained, so the round counts as released from its start.
      await this.markInflight(round, this.secure ? 'started' : 'released');
      const needed = Math.max(this.ctx.settings.minSilos, this.secure ? SECAGG_MIN_CLIENTS : 1);
      if (this.members.length < needed)
        throw new JobStop(
          'failed',
          'TOO_FEW_SILOS',
          `round ${round}: ${this.members.length} silos took part, need ${needed}${await this.refusals()}${this.unconnected()}`,
        );
      if (!this.statistics) await this.sumStatistics(round);
      const result = this.secure ? await this.secureAggregate(round, global) : await this.plainAggregate(round, global);
      const dropouts = result.dropouts;
      if (result.totalWeight <= 0)
        throw new JobStop('failed', 'NO_WEIGHT', `round ${round}: the contributors declared no samples`);
      ({ weights: global, state } = this.strategy.step(global, result.sum, result.totalWeight, state));
      const contributors = new Set(result.contributors);
      const evaluated = await this.evaluate(
        round,
        global,
        this.members.filter((m) => contributors.has(m.clientId)),
      );
      if (evaluated) lastEval = evaluated;
      const encodedState = this.strategy.encodeState(state);
      const weights = global;
      await this.ctx.fenced((tx) =>
        this.ctx.rounds.commitRound(tx, this.id, weights, encodedState, {
          round,
          status: 'completed',
          participants: result.contributors.length,
          dropouts,
          loss: evaluated?.loss ?? null,
          accuracy: evaluated?.accuracy ?? null,
          reason: null,
          startedAt,
          finishedAt: Date.now(),
        }),
      );
      this.ctx.progress({
        round,
        stage: 'committed',
        participants: result.contributors.length,
        dropouts,
        ...(evaluated ?? {}),
      });
    }
    const history = await this.ctx.rounds.rounds(this.id);
    const done = history.filter((r) => r.status === 'completed').length;
    if (done === 0)
      throw new JobStop('failed', 'NO_ROUND_COMMITTED', `none of the ${this.job.rounds} rounds could be committed`);
    return { weights: global, rounds: done, roundsRun: this.job.rounds, lastEval };
  }

  /**
   * The round to run first: after the last committed or recorded one, unless a round was in flight. That one is
   * run again if no silo was asked for its masked input ('started'); else it is abandoned (recorded, never re-run),
   * and so is the next when silos may have evaluated its model ('evaluated').
   */
  private async firstRound(lastCommitted: number): Promise<number> {
    const recorded = await this.ctx.rounds.rounds(this.id);
    let next = Math.max(lastCommitted, ...recorded.map((r) => r.round)) + 1;
    const inflight = await this.ctx.rounds.inflight(this.id);
    if (!inflight || inflight.round < next) return next;
    if (inflight.stage === 'started') return inflight.round;
    const now = Date.now();
    const abandoned = (round: number, reason: string): RoundRecord => ({
      round,
      status: 'abandoned' as const,
      participants: 0,
      dropouts: 0,
      loss: null,
      accuracy: null,
      reason,
      startedAt: now,
      finishedAt: now,
    });
    await this.ctx.fenced(async (tx) => {
      await this.ctx.rounds.insertRound(
        tx,
        this.id,
        abandoned(
          inflight.round,
          'INTERRUPTED: the coordinator running it stopped after silos were asked for their masked inputs; ' +
            'a released round is never run again',
        ),
      );
      next = inflight.round + 1;
      if (inflight.stage === 'evaluated' && next <= this.job.rounds) {
        await this.ctx.rounds.insertRound(
          tx,
          this.id,
          abandoned(
            next,
            `SKIPPED: silos may have evaluated round ${inflight.round}'s lost model and would refuse another one`,
          ),
        );
        next++;
      }
    });
    this.ctx.log('interrupted round abandoned', { job: this.id, round: inflight.round, stage: inflight.stage, next });
    return next;
  }

  /** Records how far the round in flight got, before the frames of that stage go out (fenced). */
  private markInflight(round: number, stage: InflightStage): Promise<void> {
    return this.ctx.fenced((tx) => this.ctx.rounds.markInflight(tx, this.id, round, stage));
  }

  /** Offers the job to every dataset's silo that has not answered in its current session; keeps those that accept. */
  private async gather(): Promise<void> {
    const datasets = this.job.request.datasets.map(String);
    const { stageTimeoutMs } = this.ctx.settings;
    // Wait (up to a stage timeout) until every dataset has a connected silo.
    await this.until(() => datasets.every((id) => this.ctx.siloFor(id)), stageTimeoutMs);
    const waiting: string[] = [];
    for (const [index, datasetId] of datasets.entries()) {
      const session = this.ctx.siloFor(datasetId);
      if (!session || this.offered.get(datasetId) === session.sessionId) continue;
      this.offered.set(datasetId, session.sessionId);
      this.replies.delete(datasetId);
      const offer: WireControlInput<'job-offer'> = {
        jobId: this.id,
        request: jobRequestToJson(this.job.request),
        signature: this.job.signature,
        modelSpec: this.job.modelSpec,
        jobSchema: this.job.jobSchema,
        datasetId,
        clientId: index + 1,
        dimension: this.d,
      };
      session.sendRaw(encodeOffer(offer));
      waiting.push(datasetId);
    }
    await this.until(() => waiting.every((id) => this.replies.has(id)), stageTimeoutMs);
    if (waiting.length > 0)
      await this.ctx.fenced(async (tx) => {
        for (const datasetId of waiting) {
          const reply = this.replies.get(datasetId);
          const session = this.ctx.siloFor(datasetId);
          await this.ctx.rounds.recordParticipant(tx, this.id, {
            datasetId,
            clientId: datasets.indexOf(datasetId) + 1,
            silo: session?.address ?? 'unknown',
            accepted: reply?.accept === true,
            reason: reply ? (reply.accept ? null : (reply.reason ?? 'declined')) : 'no reply',
          });
        }
      });
    const accepted = new Map(
      (await this.ctx.rounds.participants(this.id)).filter((p) => p.accepted).map((p) => [p.datasetId, p]),
    );
    this.members = [];
    for (const [index, datasetId] of datasets.entries()) {
      const session = this.ctx.siloFor(datasetId);
      const p = accepted.get(datasetId);
      // Accepted in this very session: a reconnected silo gets a fresh offer first.
      if (session && p && p.silo === session.address && this.offered.get(datasetId) === session.sessionId)
        this.members.push({ datasetId, clientId: index + 1, session });
    }
  }

  /** The job's datasets no connected silo serves, e.g. ` (no silo connected for datasets 4, 5)`; empty when none. */
  private unconnected(): string {
    const missing = this.job.request.datasets.map(String).filter((id) => !this.ctx.siloFor(id));
    return missing.length === 0
      ? ''
      : ` (no silo connected for dataset${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ` +
          "`sealfold silo start` on the owner's machine serves them)";
  }

  /** The silos' refusal reasons, counted, e.g. ` (refused: secagg-required ×3)`; empty when none refused. */
  private async refusals(): Promise<string> {
    const counts = new Map<string, number>();
    for (const p of await this.ctx.rounds.participants(this.id))
      if (!p.accepted && p.reason) {
        const reason = p.reason.split(':')[0];
        counts.set(reason, (counts.get(reason) ?? 0) + 1);
      }
    if (counts.size === 0) return '';
    return ` (refused: ${[...counts].map(([r, n]) => `${r} ×${n}`).join(', ')})`;
  }

  /**
   * Sends the round's global model to every member and, for SecAgg+, the roster the silos check on chain — only to
   * a member whose session has not yet seen this very roster. A silo keeps the verified roster for the job and
   * re-checks it only when it changes (a dropout, a reconnected silo), rather than reading every owner on chain in
   * every round; an unchanged roster gives the coordinator nothing new to claim.
   */
  private startRound(round: number, global: Float32Array): void {
    this.sendRoster(round);
    this.sendStatistics();
    const model = encodeWireFrame({
      type: 'round-start',
      jobId: this.id,
      round,
      stage: 0,
      payload: encodeWeights(global),
    });
    for (const m of this.members) m.session.sendRaw(model);
  }

  /** The roster (SecAgg+ only), to each member whose session has not seen this very roster. */
  private sendRoster(round: number): void {
    if (!this.secure) return;
    const members = this.members.map((m) => ({
      clientId: m.clientId,
      address: m.session.address,
      datasetId: m.datasetId,
    }));
    const key = JSON.stringify(members);
    const roster = encodeControlFrameFor('roster', this.id, round, { jobId: this.id, round, members });
    for (const m of this.members) {
      const seen = `${m.session.sessionId}|${key}`;
      if (this.rosterSent.get(m.datasetId) !== seen) {
        m.session.sendRaw(roster);
        this.rosterSent.set(m.datasetId, seen);
      }
    }
  }

  /** The summed statistics, to each member whose session has not received them (a reconnected silo too). */
  private sendStatistics(): void {
    if (!this.statistics) return;
    const frame = encodeControlFrame('statistics', { jobId: this.id, statistics: this.statistics }, { jobId: this.id });
    for (const m of this.members)
      if (this.statisticsSent.get(m.datasetId) !== m.session.sessionId) {
        m.session.sendRaw(frame);
        this.statisticsSent.set(m.datasetId, m.session.sessionId);
      }
  }

  /**
   * Issue 13 §4: before round 1, one sum over the members of each silo's per-feature count, missing count, Σx, Σx²
   * (categorical: level counts) and label counts, as exact fixed-point digits (libs/fl preprocess) — through a
   * SecAgg+ run of its own (round id STATISTICS_ROUND, weight 1, d from the signed job schema) or, for a plain job,
   * as plain updates. Every silo then standardises and imputes with the global figures; the encoding and the
   * majority-class baseline are recorded for the model bundle and `job watch`.
   */
  private async sumStatistics(round: number): Promise<void> {
    const schema = this.job.jobSchema;
    const d = statisticsLength(schema);
    const members = this.members;
    let sum: ArrayLike<number>;
    let contributors: number;
    const started = performance.now();
    this.ctx.progress({ round, stage: 'statistics', participants: members.length, dropouts: 0 });
    if (this.secure) {
      const params = this.roundParamsFor(members.length, d, STATS_CLIP, STATS_MAX_WEIGHT);
      if (params.bits !== STATS_BITS)
        throw new JobStop('failed', 'PARAMS_INFEASIBLE', `the statistics sum needs ${STATS_BITS} quantisation bits`);
      this.sendRoster(round);
      const { outcome } = await this.secAggOverWire(STATISTICS_ROUND, params, members, false);
      if (outcome.kind === 'aborted')
        throw new JobStop('failed', outcome.error.code, `the feature statistics sum aborted: ${outcome.error.message}`);
      sum = outcome.result.sum;
      contributors = outcome.result.contributors.length;
    } else {
      const updates = new Map<number, { weight: number; update: Float32Array }>();
      this.plainUpdates = updates;
      this.plainExpect = { round: STATISTICS_ROUND, d };
      try {
        const request = encodeControlFrame('statistics-request', { jobId: this.id }, { jobId: this.id });
        for (const m of members) m.session.sendRaw(request);
        await this.until(
          () => members.every((m) => updates.has(m.clientId) || !m.session.open),
          this.ctx.settings.stageTimeoutMs,
        );
      } finally {
        this.plainUpdates = undefined;
      }
      if (updates.size === 0) throw new JobStop('failed', 'NO_CONTRIBUTIONS', 'no silo sent its feature statistics');
      sum = weightedSum([...updates.values()], { clip: STATS_CLIP }).sum;
      contributors = updates.size;
    }
    this.ctx.stageObserved('statistics', (performance.now() - started) / 1000, members.length - contributors);
    let stats: JobStatistics;
    let encoding: InputEncoding;
    try {
      stats = statisticsFromSum(sum, contributors, schema, { noisy: signedDpAddsNoise(this.job.request.dp) });
      encoding = encodingFromStatistics(schema, stats);
    } catch (error) {
      if (error instanceof PreprocessError) throw new JobStop('failed', 'BAD_STATISTICS', error.message);
      throw error;
    }
    this.statistics = stats;
    const baseline = majorityBaseline(stats).accuracy;
    await this.ctx.statistics(encoding, baseline);
    this.ctx.progress({
      round,
      stage: 'statistics',
      participants: contributors,
      dropouts: members.length - contributors,
      majorityBaseline: baseline,
    });
  }

  /**
   * Aggregation without SecAgg+: each member trains and sends (w_u, x_u); the sum is Σ w_u · clip(x_u) with the
   * same per-coordinate clip [−c, c] SecAgg+ applies before quantisation, so both paths feed the strategy alike.
   */
  private async plainAggregate(round: number, global: Float32Array): Promise<RoundSum> {
    const members = this.members;
    const updates = new Map<number, { weight: number; update: Float32Array }>();
    this.plainUpdates = updates;
    this.plainExpect = { round, d: this.d };
    const started = performance.now();
    try {
      this.startRound(round, global);
      this.ctx.progress({ round, stage: 'plain-update', participants: members.length, dropouts: 0 });
      await this.until(
        () => members.every((m) => updates.has(m.clientId) || !m.session.open),
        this.ctx.settings.trainTimeoutMs,
      );
    } finally {
      this.plainUpdates = undefined;
    }
    const dropouts = members.length - updates.size;
    this.ctx.stageObserved('plain-update', (performance.now() - started) / 1000, dropouts);
    if (updates.size === 0) throw new JobStop('failed', 'NO_CONTRIBUTIONS', `round ${round}: no silo sent its update`);
    const { sum, totalWeight } = weightedSum([...updates.values()], { clip: this.training.updateClip });
    return { sum, totalWeight, contributors: [...updates.keys()].sort((a, b) => a - b), dropouts };
  }

  private async secureAggregate(round: number, global: Float32Array): Promise<RoundSum> {
    const members = this.members;
    const params = this.roundParams(members.length, this.d, this.training.updateClip);
    this.startRound(round, global);
    const { outcome: step, dropouts } = await this.secAggOverWire(round, params, members, true, (stage, n, lost) =>
      this.ctx.progress({ round, stage, participants: n, dropouts: lost }),
    );
    if (step.kind === 'aborted') {
      const record: RoundRecord = {
        round,
        status: 'aborted',
        participants: members.length,
        dropouts,
        loss: null,
        accuracy: null,
        reason: `${step.error.code}: ${step.error.message}`,
        startedAt: Date.now(),
        finishedAt: Date.now(),
      };
      await this.ctx.fenced((tx) => this.ctx.rounds.insertRound(tx, this.id, record));
      throw new JobStop('failed', step.error.code, `round ${round} aborted: ${step.error.message}`);
    }
    return { ...sumOf(step.result), dropouts };
  }

  /**
   * The SecAgg+ parameters of a run over `n` members: libs/secagg deriveRoundParams from the signed clip, maxWeight
   * and minimum contributors — the derivation each silo repeats on the roster it verified. A job whose signed terms
   * cannot be met by this many members, or that leaves fewer than 8 quantisation bits, fails.
   */
  private roundParams(n: number, d: number, clip: number): SecAggParams {
    return this.roundParamsFor(n, d, clip, this.training.maxWeight);
  }

  private roundParamsFor(n: number, d: number, clip: number, maxWeight: number): SecAggParams {
    let params: SecAggParams;
    try {
      params = deriveRoundParams({ n, d, clip, maxWeight, minContributors: this.job.request.secagg.minContributors });
    } catch (error) {
      if (error instanceof SecAggError) throw new JobStop('failed', 'PARAMS_INFEASIBLE', error.message);
      throw error;
    }
    if (params.bits < 8)
      throw new JobStop(
        'failed',
        'PARAMS_INFEASIBLE',
        `${n} silos × maxWeight ${maxWeight} leave ${params.bits} quantisation bits`,
      );
    return params;
  }

  /**
   * Runs one SecAgg+ run (id `secaggRound`) over `members` with the shared libs/secagg driver, over the gateway:
   * each stage's messages go out as `secagg` frames; a stage closes when everyone answered or everyone missing has
   * disconnected, or at its timeout (the training timeout for the masked input). With `observeStages`, each stage's
   * duration and dropouts go to the metrics; `onStage` hears of each stage as it starts.
   */
  private async secAggOverWire(
    secaggRound: number,
    params: SecAggParams,
    members: readonly Member[],
    observeStages: boolean,
    onStage?: (stage: string, participants: number, dropoutsSoFar: number) => void,
  ): Promise<SecAggDriveResult> {
    const server = new SecAggServer({
      jobId: this.id,
      round: secaggRound,
      params,
      clients: members.map((m) => m.clientId),
    });
    const byId = new Map(members.map((m) => [m.clientId, m]));
    const { stageTimeoutMs, trainTimeoutMs } = this.ctx.settings;
    let started = 0;
    let dropouts = 0;
    this.server = server;
    this.secaggRound = secaggRound;
    try {
      return await driveSecAgg(server, {
        send: async (messages, stage) => {
          // The training inputs are asked for only once the round is on record as released (never re-run).
          if (observeStages && stage === 'masked-input') await this.markInflight(secaggRound, 'released');
          started = performance.now();
          for (const [to, message] of messages) {
            const member = byId.get(to);
            if (!member) continue;
            this.send(member.session, {
              type: 'secagg',
              jobId: this.id,
              round: secaggRound,
              stage: SECAGG_TYPE_CODES[message.type],
              payload: encodeSecAggMessage(message),
            });
          }
          if (stage !== 'aborted') onStage?.(stage, messages.size, dropouts);
        },
        settle: (stage) =>
          this.until(
            () => server.complete || [...server.pending].every((id) => !byId.get(id)?.session.open),
            stage === 'masked-input' ? trainTimeoutMs : stageTimeoutMs,
          ),
        closing: (stage, missing) => {
          dropouts += missing;
          if (observeStages) this.ctx.stageObserved(stage, (performance.now() - started) / 1000, missing);
        },
      });
    } finally {
      this.server = undefined;
    }
  }

  /**
   * Federated evaluation: each contributor evaluates the new global model on its held-out split. With SecAgg+ the
   * results are summed by a SecAgg+ run of their own (round id evaluationRound(round); libs/fl evalVector), so the
   * coordinator learns only the example-weighted accuracy and loss over all of them; without it, each silo reports
   * its counts. Undefined when no silo evaluated anything (or the secure sum aborted).
   */
  private async evaluate(
    round: number,
    global: Float32Array,
    members: readonly Member[],
  ): Promise<{ loss: number; accuracy: number } | undefined> {
    const frame = encodeWireFrame({
      type: 'evaluate',
      jobId: this.id,
      round,
      stage: 0,
      payload: encodeWeights(global),
    });
    const started = performance.now();
    if (this.secure && members.length < SECAGG_MIN_CLIENTS) return undefined;
    // Silos evaluate (and release) on this model from here on: a lost round must then be skipped past.
    await this.markInflight(round, 'evaluated');
    if (this.secure) {
      // The same n, hence the same k and t, as the round's training sum.
      const params = this.roundParams(members.length, 2, EVAL_VECTOR_CLIP);
      for (const m of members) m.session.sendRaw(frame);
      this.ctx.progress({ round, stage: 'evaluate', participants: members.length, dropouts: 0 });
      const { outcome: step, dropouts } = await this.secAggOverWire(evaluationRound(round), params, members, false);
      this.ctx.stageObserved('evaluate', (performance.now() - started) / 1000, dropouts);
      if (step.kind === 'aborted') {
        this.ctx.log('secure evaluation aborted', { job: this.id, round, code: step.error.code });
        return undefined;
      }
      const result = evalFromSum(step.result.sum, step.result.totalWeight);
      return result && { loss: result.loss, accuracy: result.accuracy };
    }
    this.evalResults.clear();
    for (const m of members) m.session.sendRaw(frame);
    this.ctx.progress({ round, stage: 'evaluate', participants: members.length, dropouts: 0 });
    await this.until(
      () => members.every((m) => this.evalResults.has(m.clientId) || !m.session.open),
      this.ctx.settings.stageTimeoutMs,
    );
    this.ctx.stageObserved('evaluate', (performance.now() - started) / 1000, members.length - this.evalResults.size);
    const results = [...this.evalResults.values()];
    if (results.length === 0) return undefined;
    // Weighted by examples: accuracy = Σ correct / Σ n, loss = Σ loss·n / Σ n.
    const combined = combineEval(
      results.map((r) => ({ count: r.examples, correct: r.accuracy * r.examples, lossSum: r.loss * r.examples })),
    );
    return { loss: combined.loss, accuracy: combined.accuracy };
  }

  /** Tells the silos that took part how the job ended. */
  announceEnd(status: 'completed' | 'failed' | 'cancelled', reason?: string): void {
    for (const datasetId of this.job.request.datasets.map(String)) {
      const session = this.ctx.siloFor(datasetId);
      if (session && this.offered.get(datasetId) === session.sessionId)
        session.sendRaw(
          encodeControlFrameFor('job-end', this.id, this.round, {
            jobId: this.id,
            status,
            ...(reason ? { reason: reason.slice(0, 1024) } : {}),
          }),
        );
    }
  }
}

const sumOf = (r: SecAggResult) => ({
  sum: Float32Array.from(r.sum),
  totalWeight: r.totalWeight,
  contributors: Array.from(r.contributors),
});

function encodeOffer(offer: WireControlInput<'job-offer'>): Uint8Array {
  return encodeControlFrame('job-offer', offer, { jobId: offer.jobId });
}

function encodeControlFrameFor<T extends WireControlType>(
  type: T,
  jobId: string,
  round: number,
  body: WireControlInput<T>,
): Uint8Array {
  return encodeControlFrame(type, body, { jobId, round });
}
