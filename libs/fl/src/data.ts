// Dense local data as libs/dataset delivers it, its validation, and the per-owner train/validation split.
import { FlError, assertArg } from './errors.js';
import { SeededRng, permutation } from './rng.js';

/** Row-major samples: features.length = n × numFeatures, labels.length = n, labels in [0, numClasses). */
export interface LocalData {
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly numFeatures: number;
  readonly numClasses: number;
}

/** Checks shapes, label range and finiteness; returns the sample count. */
export function validateLocalData(data: LocalData): number {
  const bad = (m: string): never => {
    throw new FlError('INVALID_DATA', m);
  };
  if (!(data.features instanceof Float32Array)) bad('features must be a Float32Array');
  if (!(data.labels instanceof Int32Array)) bad('labels must be an Int32Array');
  if (!Number.isInteger(data.numFeatures) || data.numFeatures < 1) bad('numFeatures must be a positive integer');
  if (!Number.isInteger(data.numClasses) || data.numClasses < 2) bad('numClasses must be an integer ≥ 2');
  const n = data.labels.length;
  if (data.features.length !== n * data.numFeatures)
    bad(`features has ${data.features.length} values, expected ${n} × ${data.numFeatures}`);
  for (let i = 0; i < n; i++)
    if (data.labels[i] < 0 || data.labels[i] >= data.numClasses) bad(`label ${i} is outside [0, ${data.numClasses})`);
  for (let i = 0; i < data.features.length; i++)
    if (!Number.isFinite(data.features[i])) bad(`feature ${i} is not finite`);
  return n;
}

export interface Split {
  readonly train: Uint32Array;
  readonly validation: Uint32Array;
}

/** The held-out fraction a silo keeps unless its owner sets another. */
export const DEFAULT_VALIDATION_FRACTION = 0.1;

/**
 * How many of `numSamples` rows `splitTrainValidation` holds out: round(n·f), at least 1 and leaving at least 1 when
 * f > 0 and n ≥ 2. A function of the (public) row count only, so a buyer can compute each silo's training rows.
 */
export function validationCount(numSamples: number, validationFraction: number): number {
  let k = Math.round(numSamples * validationFraction);
  if (validationFraction > 0 && numSamples >= 2) k = Math.min(Math.max(k, 1), numSamples - 1);
  return k;
}

/**
 * Deterministic train/validation split of sample indices for one owner: a seeded shuffle (seed e.g. the owner's
 * dataset id), the first round(n × validationFraction) indices (at least one when 0 < fraction and n ≥ 2) go to
 * validation. Both parts are returned in ascending order.
 */
export function splitTrainValidation(
  numSamples: number,
  options: { validationFraction: number; seed: number | string },
): Split {
  assertArg(Number.isInteger(numSamples) && numSamples >= 0, 'numSamples must be a non-negative integer');
  const f = options.validationFraction;
  assertArg(Number.isFinite(f) && f >= 0 && f < 1, 'validationFraction must be in [0, 1)');
  const perm = permutation(numSamples, new SeededRng(options.seed, 'sealfold/fl/split'));
  const k = validationCount(numSamples, f);
  return { validation: perm.slice(0, k).sort(), train: perm.slice(k).sort() };
}

/** The samples at `indices`, copied. */
export function selectSamples(data: LocalData, indices: ArrayLike<number>): LocalData {
  const n = data.labels.length;
  const d = data.numFeatures;
  const features = new Float32Array(indices.length * d);
  const labels = new Int32Array(indices.length);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j];
    if (!Number.isInteger(i) || i < 0 || i >= n)
      throw new FlError('INVALID_ARGUMENT', `sample index ${i} out of range`);
    features.set(data.features.subarray(i * d, (i + 1) * d), j * d);
    labels[j] = data.labels[i];
  }
  return { features, labels, numFeatures: d, numClasses: data.numClasses };
}
