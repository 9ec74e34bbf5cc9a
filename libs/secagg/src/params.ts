// Round parameters (Bell et al. CCS 2020 §3–4: neighbourhood of degree k = O(log n), threshold t) with the bound
// that keeps the sum of weighted quantised updates exact in Z_{2^32}.
import { SECAGG_MAX_CLIENTS, SECAGG_MAX_VECTOR_LENGTH, type SecAggParams } from '@sealfold/protocol';
import { refuse } from './errors.js';

/** Arithmetic is in Z_{2^32}: Uint32Array words. */
export const MODULUS_BITS = 32;
const MODULUS_MAX = 2 ** MODULUS_BITS - 1;
/** `shamir-secret-sharing` works over GF(2^8): at most 255 shares. */
export const MAX_NEIGHBOURHOOD = 255;

/**
 * Default neighbourhood size (self included): 2⌈log2 n⌉ + 1, capped at n − 1, made odd (down), at least 3.
 * k − 1 neighbours sit at ring distance ±1…±(k − 1)/2.
 */
export function defaultNeighbourhood(n: number): number {
  let k = Math.min(2 * Math.ceil(Math.log2(n)) + 1, n - 1, MAX_NEIGHBOURHOOD);
  if (k % 2 === 0) k -= 1;
  return Math.max(k, 3);
}

/** Default threshold ⌊k/2⌋ + 1: a strict majority of the neighbourhood. */
export const defaultThreshold = (k: number): number => Math.floor(k / 2) + 1;

export interface SecAggParamsInput {
  readonly n: number;
  readonly d: number;
  readonly clip: number;
  readonly bits: number;
  readonly maxWeight: number;
  readonly k?: number;
  readonly t?: number;
}

/** Fills in k and t and validates. */
export function makeParams(input: SecAggParamsInput): SecAggParams {
  const k = input.k ?? defaultNeighbourhood(input.n);
  const params: SecAggParams = {
    n: input.n,
    k,
    t: input.t ?? defaultThreshold(k),
    d: input.d,
    clip: input.clip,
    bits: input.bits,
    maxWeight: input.maxWeight,
  };
  return validateParams(params);
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

/**
 * Checks every parameter, including exactness of the sum. A client sends w·L per coordinate with weight
 * w ≤ maxWeight and quantisation level L ≤ 2^q − 1, plus w itself as an extra coordinate; the sum over at most n
 * clients is exact iff n · maxWeight · (2^q − 1) ≤ 2^32 − 1 (which also bounds the weight sum n · maxWeight).
 */
export function validateParams(p: SecAggParams): SecAggParams {
  const bad = (msg: string) => refuse('INVALID_PARAMS', msg);
  if (!isInt(p.n) || p.n < 3 || p.n > SECAGG_MAX_CLIENTS) bad(`n must be an integer in [3, ${SECAGG_MAX_CLIENTS}]`);
  if (!isInt(p.k) || p.k < 3 || p.k % 2 === 0) bad('k must be an odd integer ≥ 3');
  if (p.k > p.n || p.k > MAX_NEIGHBOURHOOD) bad(`k must be ≤ n and ≤ ${MAX_NEIGHBOURHOOD}`);
  // t > k/2: no two disjoint t-subsets of a neighbourhood exist, so the b-share and the sk-share of one peer
  // can never both be reconstructed from honest reveals (Bonawitz et al. §4, Bell et al. §4).
  if (!isInt(p.t) || p.t <= p.k / 2 || p.t > p.k) bad('t must be an integer with k/2 < t ≤ k');
  if (!isInt(p.d) || p.d < 1 || p.d > SECAGG_MAX_VECTOR_LENGTH)
    bad(`d must be an integer in [1, ${SECAGG_MAX_VECTOR_LENGTH}]`);
  if (typeof p.clip !== 'number' || !Number.isFinite(p.clip) || p.clip <= 0) bad('clip must be a finite number > 0');
  if (!isInt(p.bits) || p.bits < 1 || p.bits > 31) bad('bits must be an integer in [1, 31]');
  if (!isInt(p.maxWeight) || p.maxWeight < 1) bad('maxWeight must be an integer ≥ 1');
  const sumBound = p.n * p.maxWeight * (2 ** p.bits - 1);
  if (sumBound > MODULUS_MAX)
    bad(
      `n·maxWeight·(2^bits − 1) = ${sumBound} exceeds 2^32 − 1: the weighted sum could wrap; ` +
        `lower bits or maxWeight`,
    );
  return Object.freeze({ ...p });
}

/**
 * The largest q with n · maxWeight · (2^q − 1) ≤ 2^32 − 1 (the exactness bound checked in `validateParams`), capped
 * at 16 bits: more levels than that buy no accuracy for clipped float32 updates.
 */
export function quantisationBits(n: number, maxWeight: number): number {
  if (!isInt(n) || n < 1 || !isInt(maxWeight) || maxWeight < 1)
    refuse('INVALID_PARAMS', 'n and maxWeight must be integers ≥ 1');
  const levels = Math.floor(MODULUS_MAX / (n * maxWeight));
  return Math.min(16, Math.floor(Math.log2(levels + 1)));
}

/** What a round's parameters are derived from: the verified roster size and the buyer-signed settings. */
export interface RoundParamsInput {
  /** Clients in the round: the roster every member verified (on chain), not a number the server chose. */
  readonly n: number;
  readonly d: number;
  readonly clip: number;
  readonly maxWeight: number;
  /** Signed lower bound on t (JobRequest.secagg.minContributors). */
  readonly minContributors: number;
  /** The owner's own lower bound on t (silo policy, dataset terms); 0 when none. */
  readonly policyMinContributors?: number;
}

/**
 * The one derivation of a round's SecAgg+ parameters, run by the coordinator and again by every silo, so a silo
 * accepts only parameters it computed itself (the server's `setup.params` are compared with these):
 * k = defaultNeighbourhood(n) (Bell et al. §4: degree O(log n)); t = max(⌊k/2⌋ + 1, the signed minimum, the owner's
 * minimum), refused when t > k — a neighbourhood too small for the owner's minimum cannot give it that guarantee.
 */
export function deriveRoundParams(input: RoundParamsInput): SecAggParams {
  const { n, d, clip, maxWeight, minContributors } = input;
  const policy = input.policyMinContributors ?? 0;
  if (!isInt(minContributors) || minContributors < 0)
    refuse('INVALID_PARAMS', 'minContributors must be an integer ≥ 0');
  if (!isInt(policy) || policy < 0) refuse('INVALID_PARAMS', 'policyMinContributors must be an integer ≥ 0');
  if (!isInt(n) || n < 3) refuse('INVALID_PARAMS', `n must be an integer ≥ 3 (got ${n})`);
  const k = defaultNeighbourhood(n);
  const t = Math.max(defaultThreshold(k), minContributors, policy);
  if (t > k)
    refuse(
      'INVALID_PARAMS',
      `a threshold of ${t} contributors needs a neighbourhood of at least ${t}; n = ${n} gives k = ${k}`,
    );
  return makeParams({ n, d, clip, maxWeight, bits: quantisationBits(n, maxWeight), k, t });
}

/** Width of one quantisation step: 2c / (2^q − 1). */
export const quantisationStep = (p: Pick<SecAggParams, 'clip' | 'bits'>): number => (2 * p.clip) / (2 ** p.bits - 1);

/** Structural equality of two parameter sets. */
export const sameParams = (a: SecAggParams, b: SecAggParams): boolean =>
  a.n === b.n &&
  a.k === b.k &&
  a.t === b.t &&
  a.d === b.d &&
  a.clip === b.clip &&
  a.bits === b.bits &&
  a.maxWeight === b.maxWeight;
