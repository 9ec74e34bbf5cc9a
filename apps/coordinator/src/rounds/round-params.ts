// The SecAgg+ parameters of the coordinator's sums (training, feature statistics, evaluation): derived, never chosen.
import type { SecAggParams } from '@sealfold/protocol';
import { SecAggError, deriveRoundParams } from '@sealfold/secagg';
import { JobStop } from './run-context.js';

/** SecAgg+ needs n ≥ 3 (libs/secagg validateParams). */
export const SECAGG_MIN_CLIENTS = 3;

/**
 * The SecAgg+ parameters of a run over `n` members: libs/secagg deriveRoundParams from the signed clip, maxWeight
 * and minimum contributors — the derivation each silo repeats on the roster it verified. A job whose signed terms
 * cannot be met by this many members, or that leaves fewer than 8 quantisation bits, fails.
 */
export function roundParams(
  n: number,
  d: number,
  clip: number,
  maxWeight: number,
  minContributors: number,
): SecAggParams {
  let params: SecAggParams;
  try {
    params = deriveRoundParams({ n, d, clip, maxWeight, minContributors });
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
