// The one sum over a round's members in progress, over the gateway: a SecAgg+ run (libs/secagg server, `secagg`
// frames) or, for a job without SecAgg+, the collection of each member's `plain-update`. Training updates, feature
// statistics and secure evaluation all go through it, one at a time; JobRun routes those frames here.
import {
  SECAGG_TYPE_CODES,
  SecAggCodecError,
  WireCodecError,
  decodePlainUpdate,
  decodeSecAggMessage,
  encodeSecAggMessage,
  isSecAggClientMessage,
  WIRE_CLOSE_CODES,
  type SecAggParams,
  type WireFrame,
} from '@sealfold/protocol';
import { decodeWeights, FlError } from '@sealfold/fl';
import { SecAggError, SecAggServer, driveSecAgg, type SecAggDriveResult } from '@sealfold/secagg';
import type { SiloSession } from '../gateway/silo-session.js';
import type { Member, RunScope } from './run-context.js';

/** One member's plain update: its declared weight and its vector. */
export interface PlainUpdate {
  readonly weight: number;
  readonly update: Float32Array;
}

export class SumChannel {
  private server: SecAggServer | undefined;
  /** The SecAgg+ round id `server` runs: the round number, or evaluationRound(round) for the evaluation sum. */
  private secaggRound = 0;
  /** Plain updates of the round in flight, by client id (only while a plain round collects). */
  private plainUpdates: Map<number, PlainUpdate> | undefined;
  /** The round id and vector length the plain updates being collected have (a round, or STATISTICS_ROUND). */
  private plainExpect = { round: 0, d: 0 };

  /** `maxWeight`: the signed bound on a declared weight. */
  constructor(
    private readonly scope: RunScope,
    private readonly maxWeight: number,
  ) {}

  private get id(): string {
    return this.scope.job.id;
  }

  private send(session: SiloSession, frame: WireFrame): boolean {
    return session.open && session.send(frame);
  }

  /**
   * A `secagg` frame from `member`: to the server of the SecAgg+ run in progress, if it is this frame's run. False
   * when the frame was dropped or its session closed; true once the server took or refused the message.
   */
  onSecAgg(member: Member | undefined, session: SiloSession, frame: WireFrame): boolean {
    if (!member || !this.server || frame.round !== this.secaggRound) return false;
    let message;
    try {
      message = decodeSecAggMessage(frame.payload);
    } catch (error) {
      if (error instanceof SecAggCodecError) {
        session.close(WIRE_CLOSE_CODES.malformedFrame, `secagg ${error.code}: ${error.message}`);
        return false;
      }
      throw error;
    }
    if (!isSecAggClientMessage(message)) {
      session.close(WIRE_CLOSE_CODES.protocolViolation, `a silo may not send ${message.type}`);
      return false;
    }
    try {
      this.server.receive(member.clientId, message);
    } catch (error) {
      // The server ignores a refused message; the client then counts as dropped at the end of the stage.
      if (!(error instanceof SecAggError)) throw error;
      this.scope.ctx.log('secagg message refused', { job: this.id, client: member.clientId, code: error.code });
    }
    return true;
  }

  /**
   * A `plain-update` frame from `member`: kept if plain updates of its round are being collected, once per member.
   * True when it was kept.
   */
  onPlainUpdate(member: Member | undefined, session: SiloSession, frame: WireFrame): boolean {
    const updates = this.plainUpdates;
    if (!member || !updates || frame.round !== this.plainExpect.round || updates.has(member.clientId)) return false;
    let weight: number;
    let update: Float32Array;
    try {
      const decoded = decodePlainUpdate(frame.payload);
      weight = decoded.weight;
      update = decodeWeights(decoded.weights, this.plainExpect.d);
    } catch (error) {
      if (error instanceof WireCodecError || error instanceof FlError) {
        session.close(WIRE_CLOSE_CODES.malformedFrame, `plain-update: ${error.message}`);
        return false;
      }
      throw error;
    }
    // The same bound SecAgg+ puts on a declared weight (it must fit the exact modular sum).
    if (weight > this.maxWeight) {
      session.close(WIRE_CLOSE_CODES.protocolViolation, `weight ${weight} above maxWeight`);
      return false;
    }
    updates.set(member.clientId, { weight, update });
    return true;
  }

  /**
   * Collects the plain updates of round id `round` (vector length `d`) from `members`: `request` sends what asks
   * for them; done when every member sent one or disconnected, or after `timeoutMs`. By client id.
   */
  async collectPlain(
    round: number,
    d: number,
    members: readonly Member[],
    timeoutMs: number,
    request: () => void,
  ): Promise<Map<number, PlainUpdate>> {
    const updates = new Map<number, PlainUpdate>();
    this.plainUpdates = updates;
    this.plainExpect = { round, d };
    try {
      request();
      await this.scope.until(() => members.every((m) => updates.has(m.clientId) || !m.session.open), timeoutMs);
    } finally {
      this.plainUpdates = undefined;
    }
    return updates;
  }

  /**
   * Runs one SecAgg+ run (id `secaggRound`) over `members` with the shared libs/secagg driver, over the gateway:
   * each stage's messages go out as `secagg` frames; a stage closes when everyone answered or everyone missing has
   * disconnected, or at its timeout (the training timeout for the masked input). With `observeStages`, each stage's
   * duration and dropouts go to the metrics; `onStage` hears of each stage as it starts.
   */
  async secAggOverWire(
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
    const { stageTimeoutMs, trainTimeoutMs } = this.scope.ctx.settings;
    let started = 0;
    let dropouts = 0;
    this.server = server;
    this.secaggRound = secaggRound;
    try {
      return await driveSecAgg(server, {
        send: async (messages, stage) => {
          // The training inputs are asked for only once the round is on record as released (never re-run).
          if (observeStages && stage === 'masked-input') await this.scope.markInflight(secaggRound, 'released');
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
          this.scope.until(
            () => server.complete || [...server.pending].every((id) => !byId.get(id)?.session.open),
            stage === 'masked-input' ? trainTimeoutMs : stageTimeoutMs,
          ),
        closing: (stage, missing) => {
          dropouts += missing;
          if (observeStages) this.scope.ctx.stageObserved(stage, (performance.now() - started) / 1000, missing);
        },
      });
    } finally {
      this.server = undefined;
    }
  }
}
