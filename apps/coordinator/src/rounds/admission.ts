// Who takes part in a round: the job is offered to the silo serving each of its datasets (again to a reconnected
// silo, in its new session), the replies are recorded as participants, and the members of a round are the silos that
// accepted in their current session. Too few members fail the job with the silos' refusal reasons and the datasets
// no silo serves. The SecAgg+ roster each silo verifies on chain is sent from here, only when it changed.
import { controlFrameEncoder, encodeControlFrame, jobRequestToJson, type WireControl } from '@sealfold/protocol';
import type { SiloSession } from '../gateway/silo-session.js';
import type { ParticipantRecord } from './rounds.repository.js';
import { SECAGG_MIN_CLIENTS } from './round-params.js';
import { JobStop, type Member, type RunScope } from './run-context.js';

export class Admission {
  /** Offers sent, by dataset: the session they went to. */
  private readonly offered = new Map<string, string>();
  /** The roster each dataset's silo last received, as `sessionId|members` (see JobRun.startRound). */
  private readonly rosterSent = new Map<string, string>();
  private readonly replies = new Map<string, WireControl<'job-reply'>>();
  private current: Member[] = [];
  /** `current` by session: JobRun looks up the sender of every frame (O(1), not a scan of n members). */
  private bySession = new Map<SiloSession, Member>();

  /** `dimension`: the model's parameter count, in the offer. */
  constructor(
    private readonly scope: RunScope,
    private readonly dimension: number,
  ) {}

  private get id(): string {
    return this.scope.job.id;
  }

  /** The members of the round being run (set by `gather`). */
  get members(): readonly Member[] {
    return this.current;
  }

  /** The member connected through `session`, if any. */
  memberOf(session: SiloSession): Member | undefined {
    return this.bySession.get(session);
  }

  /** A silo's `job-reply`: kept only when it answers the offer sent to this very session. */
  onReply(session: SiloSession, reply: WireControl<'job-reply'>): void {
    if (this.offered.get(reply.datasetId) === session.sessionId) this.replies.set(reply.datasetId, reply);
  }

  /** The connected silos whose current session was offered the job (they take part, or were asked to). */
  offeredSessions(): SiloSession[] {
    const sessions: SiloSession[] = [];
    for (const datasetId of this.scope.job.request.datasets.map(String)) {
      const session = this.scope.ctx.siloFor(datasetId);
      if (session && this.offered.get(datasetId) === session.sessionId) sessions.push(session);
    }
    return sessions;
  }

  /** Offers the job to every dataset's silo that has not answered in its current session; keeps those that accept. */
  async gather(): Promise<void> {
    const { job, ctx } = this.scope;
    const datasets = job.request.datasets.map(String);
    const { stageTimeoutMs } = ctx.settings;
    // Wait (up to a stage timeout) until every dataset has a connected silo.
    await this.scope.until(() => datasets.every((id) => ctx.siloFor(id)), stageTimeoutMs);
    const waiting: string[] = [];
    // Validated and serialised once: the signed request lists every dataset and licence, so encoding it per offer
    // would be O(n²) per job (5 ms per offer at n = 1000); each offer adds its dataset and client id.
    let encodeOffer: ((own: { datasetId: string; clientId: number }) => Uint8Array) | undefined;
    for (const [index, datasetId] of datasets.entries()) {
      const session = ctx.siloFor(datasetId);
      if (!session || this.offered.get(datasetId) === session.sessionId) continue;
      this.offered.set(datasetId, session.sessionId);
      this.replies.delete(datasetId);
      encodeOffer ??= controlFrameEncoder(
        'job-offer',
        ['datasetId', 'clientId'],
        {
          jobId: this.id,
          request: jobRequestToJson(job.request),
          signature: job.signature,
          modelSpec: job.modelSpec,
          jobSchema: job.jobSchema,
          dimension: this.dimension,
        },
        { jobId: this.id },
      );
      session.sendRaw(encodeOffer({ datasetId, clientId: index + 1 }));
      waiting.push(datasetId);
    }
    await this.scope.until(() => waiting.every((id) => this.replies.has(id)), stageTimeoutMs);
    if (waiting.length > 0)
      await ctx.fenced(async (tx) => {
        for (const datasetId of waiting) {
          const reply = this.replies.get(datasetId);
          const session = ctx.siloFor(datasetId);
          await ctx.rounds.recordParticipant(tx, this.id, {
            datasetId,
            clientId: datasets.indexOf(datasetId) + 1,
            silo: session?.address ?? 'unknown',
            accepted: reply?.accept === true,
            reason: reply ? (reply.accept ? null : (reply.reason ?? 'declined')) : 'no reply',
          });
        }
      });
    const accepted = new Map(
      (await ctx.rounds.participants(this.id)).filter((p) => p.accepted).map((p) => [p.datasetId, p]),
    );
    this.current = [];
    for (const [index, datasetId] of datasets.entries()) {
      const session = ctx.siloFor(datasetId);
      const p = accepted.get(datasetId);
      // Accepted in this very session: a reconnected silo gets a fresh offer first.
      if (session && p && p.silo === session.address && this.offered.get(datasetId) === session.sessionId)
        this.current.push({ datasetId, clientId: index + 1, session });
    }
    this.bySession = new Map(this.current.map((m) => [m.session, m]));
  }

  /**
   * Fails the job when the round has fewer members than the coordinator's minimum (`SEALFOLD_MIN_SILOS`) or, with
   * SecAgg+, than SecAgg+ needs — saying why the others are missing.
   */
  async requireEnough(round: number): Promise<void> {
    const needed = Math.max(this.scope.ctx.settings.minSilos, this.scope.secure ? SECAGG_MIN_CLIENTS : 1);
    if (this.current.length < needed)
      throw new JobStop(
        'failed',
        'TOO_FEW_SILOS',
        `round ${round}: ${this.current.length} silos took part, need ${needed}${await this.refusals()}${this.unconnected()}`,
      );
  }

  /** The job's datasets no connected silo serves, e.g. ` (no silo connected for datasets 4, 5)`; empty when none. */
  private unconnected(): string {
    return unconnectedSummary(this.scope.job.request.datasets.map(String).filter((id) => !this.scope.ctx.siloFor(id)));
  }

  /** The silos' refusal reasons, counted, e.g. ` (refused: secagg-required ×3)`; empty when none refused. */
  private async refusals(): Promise<string> {
    return refusalSummary(await this.scope.ctx.rounds.participants(this.id));
  }

  /** The roster (SecAgg+ only), to each member whose session has not seen this very roster. */
  sendRoster(round: number): void {
    if (!this.scope.secure) return;
    const members = this.current.map((m) => ({
      clientId: m.clientId,
      address: m.session.address,
      datasetId: m.datasetId,
    }));
    const key = JSON.stringify(members);
    const roster = encodeControlFrame('roster', { jobId: this.id, round, members }, { jobId: this.id, round });
    for (const m of this.current) {
      const seen = `${m.session.sessionId}|${key}`;
      if (this.rosterSent.get(m.datasetId) !== seen) {
        m.session.sendRaw(roster);
        this.rosterSent.set(m.datasetId, seen);
      }
    }
  }
}

/** ` (no silo connected for datasets 4, 5: …)` for the datasets `missing`; empty when none. */
export function unconnectedSummary(missing: readonly string[]): string {
  return missing.length === 0
    ? ''
    : ` (no silo connected for dataset${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ` +
        "`sealfold silo start` on the owner's machine serves them)";
}

/** The refusal reasons of `participants` (the part before any `:`), counted; empty when none refused. */
export function refusalSummary(participants: readonly ParticipantRecord[]): string {
  const counts = new Map<string, number>();
  for (const p of participants)
    if (!p.accepted && p.reason) {
      const reason = p.reason.split(':')[0];
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
    }
  if (counts.size === 0) return '';
  return ` (refused: ${[...counts].map(([r, n]) => `${r} ×${n}`).join(', ')})`;
}
