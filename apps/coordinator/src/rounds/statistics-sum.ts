// The feature statistics of a job (issue 13 §4), summed before round 1 every time a run starts: a SecAgg+ run of
// their own (round id STATISTICS_ROUND) or, for a job without SecAgg+, the plain sum of each member's statistics.
// The summed figures then go to every member (a reconnected silo too) before it trains.
import { encodeControlFrame, STATISTICS_ROUND, type JobSchema } from '@sealfold/protocol';
import {
  PreprocessError,
  STATS_BITS,
  STATS_CLIP,
  STATS_MAX_WEIGHT,
  encodingFromStatistics,
  majorityBaseline,
  signedDpAddsNoise,
  statisticsFromSum,
  statisticsLength,
  weightedSum,
  type InputEncoding,
  type JobStatistics,
} from '@sealfold/fl';
import { roundParams } from './round-params.js';
import { JobStop, type Member, type RunScope } from './run-context.js';
import type { PlainUpdate, SumChannel } from './sum-channel.js';

/** What the summed statistics give the job: the global figures, the input encoding, the majority-class baseline. */
export interface SummedStatistics {
  readonly statistics: JobStatistics;
  readonly encoding: InputEncoding;
  readonly majorityBaseline: number;
}

export class StatisticsSum {
  /** The summed feature statistics (before round 1, every time the run starts) and who was sent them. */
  private statistics: JobStatistics | undefined;
  private readonly statisticsSent = new Map<string, string>();

  /** `sendRoster`: the roster to the members before the secure sum (Admission.sendRoster). */
  constructor(
    private readonly scope: RunScope,
    private readonly channel: SumChannel,
    private readonly sendRoster: (round: number) => void,
  ) {}

  private get id(): string {
    return this.scope.job.id;
  }

  /** Whether this run has summed the statistics yet. */
  get summed(): boolean {
    return this.statistics !== undefined;
  }

  /**
   * Issue 13 §4: before round 1, one sum over the members of each silo's per-feature count, missing count, Σx, Σx²
   * (categorical: level counts) and label counts, as exact fixed-point digits (libs/fl preprocess) — through a
   * SecAgg+ run of its own (round id STATISTICS_ROUND, weight 1, d from the signed job schema) or, for a plain job,
   * as plain updates. Every silo then standardises and imputes with the global figures; the encoding and the
   * majority-class baseline are recorded for the model bundle and `job watch`.
   */
  async sum(round: number, members: readonly Member[]): Promise<void> {
    const { job, ctx } = this.scope;
    const schema = job.jobSchema;
    const d = statisticsLength(schema);
    let sum: ArrayLike<number>;
    let contributors: number;
    const started = performance.now();
    ctx.progress({ round, stage: 'statistics', participants: members.length, dropouts: 0 });
    if (this.scope.secure) {
      const params = roundParams(members.length, d, STATS_CLIP, STATS_MAX_WEIGHT, job.request.secagg.minContributors);
      if (params.bits !== STATS_BITS)
        throw new JobStop('failed', 'PARAMS_INFEASIBLE', `the statistics sum needs ${STATS_BITS} quantisation bits`);
      this.sendRoster(round);
      const { outcome } = await this.channel.secAggOverWire(STATISTICS_ROUND, params, members, false);
      if (outcome.kind === 'aborted')
        throw new JobStop('failed', outcome.error.code, `the feature statistics sum aborted: ${outcome.error.message}`);
      sum = outcome.result.sum;
      contributors = outcome.result.contributors.length;
    } else {
      const updates = await this.channel.collectPlain(STATISTICS_ROUND, d, members, ctx.settings.stageTimeoutMs, () => {
        const request = encodeControlFrame('statistics-request', { jobId: this.id }, { jobId: this.id });
        for (const m of members) m.session.sendRaw(request);
      });
      if (updates.size === 0) throw new JobStop('failed', 'NO_CONTRIBUTIONS', 'no silo sent its feature statistics');
      sum = plainStatisticsSum([...updates.values()]);
      contributors = updates.size;
    }
    ctx.stageObserved('statistics', (performance.now() - started) / 1000, members.length - contributors);
    const summed = summedStatistics(sum, contributors, schema, { noisy: signedDpAddsNoise(job.request.dp) });
    this.statistics = summed.statistics;
    await ctx.statistics(summed.encoding, summed.majorityBaseline);
    ctx.progress({
      round,
      stage: 'statistics',
      participants: contributors,
      dropouts: members.length - contributors,
      majorityBaseline: summed.majorityBaseline,
    });
  }

  /** The summed statistics, to each member whose session has not received them (a reconnected silo too). */
  send(members: readonly Member[]): void {
    if (!this.statistics) return;
    const frame = encodeControlFrame('statistics', { jobId: this.id, statistics: this.statistics }, { jobId: this.id });
    for (const m of members)
      if (this.statisticsSent.get(m.datasetId) !== m.session.sessionId) {
        m.session.sendRaw(frame);
        this.statisticsSent.set(m.datasetId, m.session.sessionId);
      }
  }
}

/** The plain fallback's sum of the members' statistics inputs: clipped like SecAgg+ clips them (STATS_CLIP). */
export function plainStatisticsSum(updates: readonly PlainUpdate[]): Float32Array {
  return weightedSum(updates, { clip: STATS_CLIP }).sum;
}

/**
 * The global statistics, encoding and baseline from a sum over `contributors` silos; a bad sum fails the job.
 * `noisy`: a DP job's silos noised their statistics, so counts are rounded and clamped rather than refused.
 */
export function summedStatistics(
  sum: ArrayLike<number>,
  contributors: number,
  schema: JobSchema,
  options: { noisy: boolean } = { noisy: false },
): SummedStatistics {
  let statistics: JobStatistics;
  let encoding: InputEncoding;
  try {
    statistics = statisticsFromSum(sum, contributors, schema, options);
    encoding = encodingFromStatistics(schema, statistics, options);
  } catch (error) {
    if (error instanceof PreprocessError) throw new JobStop('failed', 'BAD_STATISTICS', error.message);
    throw error;
  }
  return { statistics, encoding, majorityBaseline: majorityBaseline(statistics).accuracy };
}
