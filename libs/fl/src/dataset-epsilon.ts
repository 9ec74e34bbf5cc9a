// The ε one dataset's silo charges for one job: ONE computation, used by the silo's ledger (admission reservation and
// every booking), the buyer's planner (`job create`, the ε the buyer signs for) and the coordinator's provenance.
//
// A job with DP makes three kinds of release from a dataset: the feature statistics (once, before round 1,
// statistics-dp.ts), one training update per round and one evaluation vector per round. They compose in Rényi DP
// (Mironov 2017, "Rényi Differential Privacy", Prop. 1: RDP adds up at each order α), then convert to (ε, δ):
//  - record level: training rows go through DP-SGD (sampled Gaussian) and the statistics; held-out rows through the
//    evaluations and the statistics. Each row is in one split, so the dataset's ε is the larger of the two
//    (parallel composition, McSherry 2009, §4.1) — the statistics are composed into BOTH sides;
//  - owner level: every release is a Gaussian mechanism, so they compose into one Gaussian of multiplier
//    (Σ releases/σ_i²)^(−1/2) (RDP α/(2σ²) is additive in 1/σ²).
// Without noise (σ = 0 or δ = 0) the job has no finite ε: Infinity.
import {
  RDP_ORDERS,
  dpSgdSchedule,
  epsilonFromRdp,
  gaussianEpsilon,
  gaussianRdp,
  jobEpsilon,
  noiseMultiplierFor,
  recordLevelEpsilon,
  recordLevelEvalNoiseMultiplier,
  releasesEpsilon,
  sampledGaussianRdp,
  smallestNoiseMultiplier,
} from './accountant.js';
import { dpParamsToFloats, type JobDpParams } from '@sealfold/protocol';
import { assertArg } from './errors.js';
import { STATISTICS_EPSILON_SHARE } from './statistics-dp.js';

/** What the ε of a dataset in a job depends on: the signed DP terms and the dataset's DP-SGD schedule. */
export interface DatasetDpTerms {
  readonly level: 'record' | 'owner';
  readonly noiseMultiplier: number;
  readonly delta: number;
  /** Signed rounds. */
  readonly rounds: number;
  /** Record level: rows of the training split DP-SGD samples from (rows less the held-out share). */
  readonly trainRows?: number;
  readonly batchSize?: number;
  readonly localEpochs?: number;
}

/** The noise multipliers a silo derives from the signed terms (never from the coordinator's word). */
export interface DatasetDpPlan extends DatasetDpTerms {
  /** ε of the job's training releases alone, at all signed rounds (what σ_eval and σ_stats are sized from). */
  readonly trainEpsilon: number;
  /** σ of each evaluation release: record level σ_eval (recordLevelEvalNoiseMultiplier); owner level σ. */
  readonly evalNoiseMultiplier: number;
  /** σ of the statistics release (per unit of its sensitivity Δ, statistics-dp.ts). */
  readonly statisticsNoiseMultiplier: number;
}

/** Releases a job made (or may make) from a dataset. */
export interface DatasetReleases {
  readonly train: number;
  readonly eval: number;
  readonly statistics: number;
}

/** Every release a job of `rounds` rounds may make: the statistics, one update and one evaluation per round. */
export const allReleases = (rounds: number): DatasetReleases => ({ train: rounds, eval: rounds, statistics: 1 });

/** The job adds noise: σ > 0 and δ > 0 (else no finite ε, and no noise on the statistics either). */
export const hasNoise = (dp: { readonly noiseMultiplier: number; readonly delta: number }): boolean =>
  dp.noiseMultiplier > 0 && dp.delta > 0;

/** The signed DP terms add noise, so the silos noised their statistics: how the coordinator decodes their sum. */
export const signedDpAddsNoise = (dp: JobDpParams): boolean => hasNoise(dpParamsToFloats(dp));

/**
 * σ of the statistics release: the smallest whose one Gaussian release is (STATISTICS_EPSILON_SHARE · ε_train,
 * δ)-DP (Balle & Wang 2018 would give a slightly smaller σ; the RDP bound is what the accountant composes).
 */
export function statisticsNoiseMultiplier(trainEpsilon: number, delta: number): number {
  return noiseMultiplierFor({ targetEpsilon: STATISTICS_EPSILON_SHARE * trainEpsilon, rounds: 1, delta });
}

/** The dataset's derived noise multipliers; undefined when the job adds no noise. */
export function planDatasetDp(terms: DatasetDpTerms): DatasetDpPlan | undefined {
  if (!hasNoise(terms)) return undefined;
  const { delta, rounds } = terms;
  if (terms.level === 'owner') {
    const trainEpsilon = jobEpsilon(terms, rounds);
    return {
      ...terms,
      trainEpsilon,
      evalNoiseMultiplier: terms.noiseMultiplier,
      statisticsNoiseMultiplier: statisticsNoiseMultiplier(trainEpsilon, delta),
    };
  }
  const trainEpsilon = recordLevelEpsilon(recordSchedule(terms, rounds));
  return {
    ...terms,
    trainEpsilon,
    evalNoiseMultiplier: recordLevelEvalNoiseMultiplier({ trainEpsilon, rounds, delta }),
    statisticsNoiseMultiplier: statisticsNoiseMultiplier(trainEpsilon, delta),
  };
}

function recordSchedule(terms: DatasetDpTerms, rounds: number) {
  const { trainRows, batchSize, localEpochs } = terms;
  assertArg(
    trainRows !== undefined && batchSize !== undefined && localEpochs !== undefined,
    'record level needs trainRows, batchSize and localEpochs',
  );
  return {
    noiseMultiplier: terms.noiseMultiplier,
    delta: terms.delta,
    rows: trainRows,
    batchSize,
    localEpochs,
    rounds,
  };
}

/** ε of Gaussian releases with the given counts and multipliers, composed (RDP is additive in count/σ²). */
function composedGaussianEpsilon(parts: readonly (readonly [count: number, sigma: number])[], delta: number): number {
  const rate = parts.reduce((r, [count, sigma]) => r + count / (sigma * sigma), 0);
  if (rate === 0) return 0;
  return gaussianEpsilon({ noiseMultiplier: 1 / Math.sqrt(rate), rounds: 1, delta }).epsilon;
}

/**
 * The dataset's ε after `released` releases (Infinity without noise). With no statistics release it is exactly
 * what the accountant gave before statistics were noised (releasesEpsilon; recordLevelEpsilon and the evaluations'
 * Gaussian, their maximum).
 */
export function datasetEpsilon(plan: DatasetDpPlan | undefined, released: DatasetReleases): number {
  if (!plan) return Infinity;
  const { train, eval: evals, statistics } = released;
  assertArg(
    [train, evals, statistics].every((n) => Number.isInteger(n) && n >= 0),
    'release counts must be non-negative integers',
  );
  const { delta } = plan;
  const sigmaStats = plan.statisticsNoiseMultiplier;
  if (plan.level === 'owner') {
    if (statistics === 0) return releasesEpsilon(plan, train + evals);
    return composedGaussianEpsilon(
      [
        [train + evals, plan.noiseMultiplier],
        [statistics, sigmaStats],
      ],
      delta,
    );
  }
  // Held-out rows: the evaluations' Gaussians and the statistics.
  const heldOut =
    statistics === 0
      ? evals > 0
        ? gaussianEpsilon({ noiseMultiplier: plan.evalNoiseMultiplier, rounds: evals, delta }).epsilon
        : 0
      : composedGaussianEpsilon(
          [
            [evals, plan.evalNoiseMultiplier],
            [statistics, sigmaStats],
          ],
          delta,
        );
  // Training rows: DP-SGD's sampled Gaussian steps and the statistics, composed at each RDP order.
  const schedule = recordSchedule(plan, train);
  let training: number;
  if (statistics === 0) training = recordLevelEpsilon(schedule);
  else {
    const { sampleRate, steps } = dpSgdSchedule(schedule);
    const rdp = RDP_ORDERS.map(
      (a) =>
        (steps > 0 ? steps * sampledGaussianRdp(sampleRate, plan.noiseMultiplier, a) : 0) +
        statistics * gaussianRdp(sigmaStats, a),
    );
    const finite = RDP_ORDERS.flatMap((a, i) => (Number.isFinite(rdp[i]) ? [i] : []));
    training = epsilonFromRdp(
      finite.map((i) => RDP_ORDERS[i]),
      finite.map((i) => rdp[i]),
      delta,
    ).epsilon;
  }
  return Math.max(training, heldOut);
}

/** ε of every release the job may make from the dataset (what its silo reserves and the buyer signs for). */
export const plannedDatasetEpsilon = (terms: DatasetDpTerms): number =>
  datasetEpsilon(planDatasetDp(terms), allReleases(terms.rounds));

/**
 * The smallest σ whose planned ε (statistics, training and evaluations composed) is at most `targetEpsilon`:
 * bisection (the planned ε falls as σ grows: every derived multiplier grows with it).
 */
export function datasetNoiseMultiplier(terms: Omit<DatasetDpTerms, 'noiseMultiplier'> & { targetEpsilon: number }) {
  const { targetEpsilon } = terms;
  assertArg(Number.isFinite(targetEpsilon) && targetEpsilon > 0, 'targetEpsilon must be > 0');
  assertArg(Number.isInteger(terms.rounds) && terms.rounds >= 1, 'rounds must be a positive integer');
  assertArg(terms.delta > 0 && terms.delta < 1, 'delta must be in (0, 1)');
  const search =
    terms.level === 'record'
      ? { floor: 0.05, ceiling: 1e5, tolerance: 1e-4, steps: 60 }
      : { floor: 1e-3, ceiling: 1e7, tolerance: 1e-9, steps: 100 };
  return smallestNoiseMultiplier(
    (noiseMultiplier) => plannedDatasetEpsilon({ ...terms, noiseMultiplier }),
    targetEpsilon,
    search,
  );
}
