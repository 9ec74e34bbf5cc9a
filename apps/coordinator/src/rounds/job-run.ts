// One job being trained: the round loop. Each round gathers its members (admission.ts), sums the feature statistics
// once per run before the first round (statistics-sum.ts), sends the global model, aggregates, takes the strategy
// step (libs/fl), evaluates the new model (evaluation.ts) and commits it. Aggregation is SecAgg+ (libs/secagg server,
// driven over the gateway by sum-channel.ts) unless the buyer signed `secagg.enabled: false`: then each silo that
// allows it sends its weighted update in the clear (`plain-update`) and the coordinator sums them. Training settings,
// clip, maxWeight and the minimum contributors come from the signed request; k and t from deriveRoundParams
// (round-params.ts), the same derivation every silo runs on the roster it verified.
// Resuming (after a restart, or on another coordinator after a failover): the run goes on from the last committed
// global model. The round in flight when the previous run stopped is re-run under its number only if no silo was
// asked for its masked input yet; otherwise silos may have released it, and the one-release-per-round rule of their
// ledgers (which refuse a second release of (job, round, kind)) forbids re-running it: the round is recorded as
// abandoned, and the job goes on with the next round number (one more is skipped when silos may already have
// evaluated the lost model, since a silo refuses a round whose model is not the one it evaluated). Every write goes
// through `ctx.fenced`: only the holder of the job's lease commits. The gateway's frames for the job arrive in
// `onFrame`, which hands each to the stage it belongs to.
// Plain class (no Nest): the JobRunner service creates one per running job.
import {
  decodeControlPayload,
  encodeControlFrame,
  encodeWireFrame,
  trainingToFloats,
  type TrainingFloats,
  type WireFrame,
} from '@sealfold/protocol';
import {
  encodeWeights,
  FlError,
  initialWeights,
  parseModelSpec,
  serverStrategy,
  weightedSum,
  weightsDigest,
  type ServerStrategy,
} from '@sealfold/fl';
import type { SecAggResult } from '@sealfold/secagg';
import type { JobSettlementView } from '@sealfold/protocol';
import type { CoordinatorChain } from '../chain/chain.port.js';
import type { JobRecord } from '../jobs/jobs.repository.js';
import type { SiloSession } from '../gateway/silo-session.js';
import type { InflightStage, RoundRecord } from './rounds.repository.js';
import { Admission } from './admission.js';
import { Evaluation } from './evaluation.js';
import { roundParams } from './round-params.js';
import { ReceiptCollection, type DeliveredModel } from './receipt-collection.js';
import { JobStop, type RunContext, type RunScope } from './run-context.js';
import { StatisticsSum } from './statistics-sum.js';
import { SumChannel } from './sum-channel.js';

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
  private round = 0;
  private readonly d: number;
  /** false only when the buyer signed `secagg.enabled: false`. */
  private readonly secure: boolean;
  /** The signed training settings, as floats. */
  private readonly training: TrainingFloats;
  /** The signed strategy's server step and state codec (libs/fl registry). */
  private readonly strategy: ServerStrategy;
  /** Who takes part in each round. */
  private readonly admission: Admission;
  /** The one sum over the members in progress (SecAgg+ or plain). */
  private readonly channel: SumChannel;
  private readonly statisticsSum: StatisticsSum;
  private readonly evaluation: Evaluation;
  /** The co-signed receipt at the job's end (issue 20). */
  private readonly receipts: ReceiptCollection;

  constructor(
    private readonly job: JobRecord,
    private readonly ctx: RunContext,
  ) {
    this.d = parseModelSpec(job.modelSpec).layout.totalSize;
    this.secure = job.request.secagg.enabled;
    this.training = trainingToFloats(job.request.training);
    this.strategy = serverStrategy(job.request.strategy);
    const scope: RunScope = {
      job,
      ctx,
      secure: this.secure,
      until: (done, ms) => this.until(done, ms),
      markInflight: (round, stage) => this.markInflight(round, stage),
    };
    this.admission = new Admission(scope, this.d);
    this.channel = new SumChannel(scope, this.training.maxWeight);
    this.statisticsSum = new StatisticsSum(scope, this.channel, (round) => this.admission.sendRoster(round));
    this.evaluation = new Evaluation(scope, this.channel, this.training.maxWeight);
    this.receipts = new ReceiptCollection(scope);
  }

  /** After delivery: the silos co-sign the job's receipt and the escrow is settled (undefined without escrow). */
  collectReceipt(chain: CoordinatorChain, model: DeliveredModel): Promise<JobSettlementView | undefined> {
    return this.receipts.collect(chain, model);
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

  /** Frames for this job from the gateway. */
  onFrame(session: SiloSession, frame: WireFrame): void {
    const member = () => this.admission.memberOf(session);
    switch (frame.type) {
      case 'job-reply':
        this.admission.onReply(session, decodeControlPayload('job-reply', frame.payload));
        break;
      case 'eval-result':
        this.evaluation.onResult(member(), decodeControlPayload('eval-result', frame.payload), this.round);
        break;
      case 'secagg':
        if (!this.channel.onSecAgg(member(), session, frame)) return;
        break;
      case 'plain-update':
        if (!this.channel.onPlainUpdate(member(), session, frame)) return;
        break;
      case 'receipt-signature':
        this.receipts.onSignature(session, decodeControlPayload('receipt-signature', frame.payload));
        break;
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
      await this.admission.gather();
      // Before any model goes out: the round is in flight. Without SecAgg+ a silo releases its update as soon as it
      // trained, so the round counts as released from its start.
      await this.markInflight(round, this.secure ? 'started' : 'released');
      await this.admission.requireEnough(round);
      if (!this.statisticsSum.summed) await this.statisticsSum.sum(round, this.admission.members);
      const result = this.secure ? await this.secureAggregate(round, global) : await this.plainAggregate(round, global);
      const dropouts = result.dropouts;
      if (result.totalWeight <= 0)
        throw new JobStop('failed', 'NO_WEIGHT', `round ${round}: the contributors declared no samples`);
      ({ weights: global, state } = this.strategy.step(global, result.sum, result.totalWeight, state));
      const contributors = new Set(result.contributors);
      const evaluated = await this.evaluation.evaluate(
        round,
        global,
        this.admission.members.filter((m) => contributors.has(m.clientId)),
      );
      if (evaluated) lastEval = evaluated;
      const encodedState = this.strategy.encodeState(state);
      const weights = global;
      // The receipt transcript (issue 20): a contributor's client id is its dataset's 1-based request index.
      const transcript = {
        contributors: result.contributors.map((c) => String(this.job.request.datasets[c - 1])),
        modelDigest: `0x${weightsDigest(weights)}`,
      };
      await this.ctx.fenced((tx) =>
        this.ctx.rounds.commitRound(
          tx,
          this.id,
          weights,
          encodedState,
          {
            round,
            status: 'completed',
            participants: result.contributors.length,
            dropouts,
            loss: evaluated?.loss ?? null,
            accuracy: evaluated?.accuracy ?? null,
            reason: null,
            startedAt,
            finishedAt: Date.now(),
          },
          transcript,
        ),
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

  /**
   * Sends the round's global model to every member and, for SecAgg+, the roster the silos check on chain — only to
   * a member whose session has not yet seen this very roster. A silo keeps the verified roster for the job and
   * re-checks it only when it changes (a dropout, a reconnected silo), rather than reading every owner on chain in
   * every round; an unchanged roster gives the coordinator nothing new to claim.
   */
  private startRound(round: number, global: Float32Array): void {
    this.admission.sendRoster(round);
    this.statisticsSum.send(this.admission.members);
    const model = encodeWireFrame({
      type: 'round-start',
      jobId: this.id,
      round,
      stage: 0,
      payload: encodeWeights(global),
    });
    for (const m of this.admission.members) m.session.sendRaw(model);
  }

  /**
   * Aggregation without SecAgg+: each member trains and sends (w_u, x_u); the sum is Σ w_u · clip(x_u) with the
   * same per-coordinate clip [−c, c] SecAgg+ applies before quantisation, so both paths feed the strategy alike.
   */
  private async plainAggregate(round: number, global: Float32Array): Promise<RoundSum> {
    const members = this.admission.members;
    const started = performance.now();
    const updates = await this.channel.collectPlain(round, this.d, members, this.ctx.settings.trainTimeoutMs, () => {
      this.startRound(round, global);
      this.ctx.progress({ round, stage: 'plain-update', participants: members.length, dropouts: 0 });
    });
    const dropouts = members.length - updates.size;
    this.ctx.stageObserved('plain-update', (performance.now() - started) / 1000, dropouts);
    if (updates.size === 0) throw new JobStop('failed', 'NO_CONTRIBUTIONS', `round ${round}: no silo sent its update`);
    const { sum, totalWeight } = weightedSum([...updates.values()], { clip: this.training.updateClip });
    return { sum, totalWeight, contributors: [...updates.keys()].sort((a, b) => a - b), dropouts };
  }

  private async secureAggregate(round: number, global: Float32Array): Promise<RoundSum> {
    const members = this.admission.members;
    const params = roundParams(
      members.length,
      this.d,
      this.training.updateClip,
      this.training.maxWeight,
      this.job.request.secagg.minContributors,
    );
    this.startRound(round, global);
    const { outcome: step, dropouts } = await this.channel.secAggOverWire(
      round,
      params,
      members,
      true,
      (stage, n, lost) => this.ctx.progress({ round, stage, participants: n, dropouts: lost }),
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

  /** Tells the silos that took part how the job ended. */
  announceEnd(status: 'completed' | 'failed' | 'cancelled', reason?: string): void {
    for (const session of this.admission.offeredSessions())
      session.sendRaw(
        encodeControlFrame(
          'job-end',
          { jobId: this.id, status, ...(reason ? { reason: reason.slice(0, 1024) } : {}) },
          { jobId: this.id, round: this.round },
        ),
      );
  }
}

const sumOf = (r: SecAggResult) => ({
  sum: Float32Array.from(r.sum),
  totalWeight: r.totalWeight,
  contributors: Array.from(r.contributors),
});
