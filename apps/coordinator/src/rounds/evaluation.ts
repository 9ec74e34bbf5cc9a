// Federated evaluation of a round's new global model by its contributors, on their held-out splits: summed by a
// SecAgg+ run of its own (libs/fl evalVector), or for a job without SecAgg+ from each silo's reported counts.
import { encodeWireFrame, evaluationRound, type WireControl } from '@sealfold/protocol';
import { EVAL_VECTOR_CLIP, combineEval, encodeWeights, evalFromSum } from '@sealfold/fl';
import { roundParams, SECAGG_MIN_CLIENTS } from './round-params.js';
import type { Member, RunScope } from './run-context.js';
import type { SumChannel } from './sum-channel.js';

/** The example-weighted loss and accuracy over the silos that evaluated. */
export interface EvalFigures {
  readonly loss: number;
  readonly accuracy: number;
}

export class Evaluation {
  private readonly evalResults = new Map<number, WireControl<'eval-result'>>();

  /** `maxWeight`: the signed bound on a declared weight (the evaluation sum's n, k and t are the training sum's). */
  constructor(
    private readonly scope: RunScope,
    private readonly channel: SumChannel,
    private readonly maxWeight: number,
  ) {}

  /** A member's `eval-result` (jobs without SecAgg+): kept when it is for the round being run. */
  onResult(member: Member | undefined, result: WireControl<'eval-result'>, round: number): void {
    if (member && result.round === round) this.evalResults.set(member.clientId, result);
  }

  /**
   * Federated evaluation: each contributor evaluates the new global model on its held-out split. With SecAgg+ the
   * results are summed by a SecAgg+ run of their own (round id evaluationRound(round); libs/fl evalVector), so the
   * coordinator learns only the example-weighted accuracy and loss over all of them; without it, each silo reports
   * its counts. Undefined when no silo evaluated anything (or the secure sum aborted).
   */
  async evaluate(round: number, global: Float32Array, members: readonly Member[]): Promise<EvalFigures | undefined> {
    const { job, ctx } = this.scope;
    const frame = encodeWireFrame({
      type: 'evaluate',
      jobId: job.id,
      round,
      stage: 0,
      payload: encodeWeights(global),
    });
    const started = performance.now();
    if (this.scope.secure && members.length < SECAGG_MIN_CLIENTS) return undefined;
    // Silos evaluate (and release) on this model from here on: a lost round must then be skipped past.
    await this.scope.markInflight(round, 'evaluated');
    if (this.scope.secure) {
      // The same n, hence the same k and t, as the round's training sum.
      const params = roundParams(
        members.length,
        2,
        EVAL_VECTOR_CLIP,
        this.maxWeight,
        job.request.secagg.minContributors,
      );
      for (const m of members) m.session.sendRaw(frame);
      ctx.progress({ round, stage: 'evaluate', participants: members.length, dropouts: 0 });
      const { outcome: step, dropouts } = await this.channel.secAggOverWire(
        evaluationRound(round),
        params,
        members,
        false,
      );
      ctx.stageObserved('evaluate', (performance.now() - started) / 1000, dropouts);
      if (step.kind === 'aborted') {
        ctx.log('secure evaluation aborted', { job: job.id, round, code: step.error.code });
        return undefined;
      }
      const result = evalFromSum(step.result.sum, step.result.totalWeight);
      return result && { loss: result.loss, accuracy: result.accuracy };
    }
    this.evalResults.clear();
    for (const m of members) m.session.sendRaw(frame);
    ctx.progress({ round, stage: 'evaluate', participants: members.length, dropouts: 0 });
    await this.scope.until(
      () => members.every((m) => this.evalResults.has(m.clientId) || !m.session.open),
      ctx.settings.stageTimeoutMs,
    );
    ctx.stageObserved('evaluate', (performance.now() - started) / 1000, members.length - this.evalResults.size);
    return combinePlainResults([...this.evalResults.values()]);
  }
}

/** The silos' reported evaluations combined; undefined when none reported. */
export function combinePlainResults(
  results: readonly Pick<WireControl<'eval-result'>, 'examples' | 'accuracy' | 'loss'>[],
): EvalFigures | undefined {
  if (results.length === 0) return undefined;
  // Weighted by examples: accuracy = Σ correct / Σ n, loss = Σ loss·n / Σ n.
  const combined = combineEval(
    results.map((r) => ({ count: r.examples, correct: r.accuracy * r.examples, lossSum: r.loss * r.examples })),
  );
  return { loss: combined.loss, accuracy: combined.accuracy };
}
