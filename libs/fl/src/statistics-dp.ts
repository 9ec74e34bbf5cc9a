// Differentially private feature statistics (issue 13 §4 with DP): before round 1 each silo releases, through the
// SecAgg+ sum, its label counts and per-feature figures. With a DP job those figures are a release like any other:
// each silo clips every row's contribution and adds Gaussian noise to its OWN figures before masking, then books the
// release's ε on its ledger, composed with training (dataset-epsilon.ts).
//
// Mechanism (the Gaussian mechanism, Dwork & Roth 2014, "The Algorithmic Foundations of Differential Privacy",
// Thm. A.1 / §3.5; its RDP α·Δ²/(2σ²Δ²) = α/(2σ²) for noise σ·Δ, Mironov 2017, Cor. 3): one row changes the
// released vector (add-or-remove-one adjacency) by
//   - its label: +1 on one label count                                             (squared norm 1)
//   - per numeric feature with a signed range [lo, hi]: u = (clip(x) − c)/h ∈ [−1, 1] with c, h the range's centre
//     and half-width, so (Σu, Σu²) moves by (u, u²), squared norm ≤ 2; a missing value moves the missing count by 1
//   - per numeric feature without a range: only its missing count (Σx and Σx² are not released)       (≤ 1)
//   - per categorical feature: +1 on one level count (a missing value moves no released figure)       (≤ 1)
// so the L2 sensitivity is Δ = √(1 + Σ_numeric (2 with a range, else 1) + #categorical). Every other figure (rows,
// a numeric feature's count, a categorical feature's missing count, Σx and Σx² in the data's units, rounding to
// integers) is computed from the noised ones: post-processing, free (Dwork & Roth Prop. 2.1).
//
// Noise: each silo adds the WHOLE N(0, σ²Δ²) to its own figures (not a 1/n share of it): its guarantee then holds
// whatever the other silos add, including a buyer's own datasets that add none (trust model: a buyer may deal with
// itself) or owners who collude with the coordinator. The price is √n times the noise on the sum.
import type { JobSchema } from '@sealfold/protocol';
import { assertArg } from './errors.js';
import type { JobStatistics, RawRows } from './preprocess.js';
import { CryptoUniform, GaussianSampler, SeededRng } from './rng.js';

/**
 * The statistics release costs at most this share of the dataset's planned training ε on its own: its noise
 * multiplier σ_stats is the smallest whose single Gaussian release is (share · ε_train, δ)-DP (dataset-epsilon.ts).
 * The composed total is charged, never the share.
 */
export const STATISTICS_EPSILON_SHARE = 0.25;

/** L2 sensitivity Δ of one row on the released statistics vector (see the module comment). */
export function statisticsSensitivity(job: JobSchema): number {
  let squared = 1; // the label count
  for (const f of job.features) squared += f.type === 'numeric' && f.range ? 2 : 1;
  return Math.sqrt(squared);
}

/** A numeric feature's range as centre and half-width. */
const centreAndHalfWidth = ([lo, hi]: readonly [number, number]) => ({ c: (lo + hi) / 2, h: (hi - lo) / 2 });

/**
 * The figures a silo releases, in the units the sensitivity is stated in (before noise): label counts; per numeric
 * feature its missing count and, with a range, Σu and Σu² of its values clipped into the range and normalised to
 * u = (x − c)/h ∈ [−1, 1]; per categorical feature its level counts. One row moves this vector by at most
 * statisticsSensitivity(job) in L2 norm.
 */
export function statisticsRelease(raw: RawRows, job: JobSchema): Float64Array {
  const F = job.features.length;
  assertArg(raw.values.length === raw.rows * F && raw.missing.length === raw.rows * F, 'rows do not fit the schema');
  const width = job.features.reduce(
    (n, f) => n + (f.type === 'categorical' ? f.levels.length : f.range ? 3 : 1),
    job.classes.length,
  );
  const out = new Float64Array(width);
  for (let r = 0; r < raw.rows; r++) out[raw.labels[r]]++;
  let at = job.classes.length;
  job.features.forEach((f, j) => {
    if (f.type === 'categorical') {
      for (let r = 0; r < raw.rows; r++) if (!raw.missing[r * F + j]) out[at + raw.values[r * F + j]]++;
      at += f.levels.length;
      return;
    }
    const range = f.range && centreAndHalfWidth(f.range);
    for (let r = 0; r < raw.rows; r++) {
      const i = r * F + j;
      if (raw.missing[i]) {
        out[at]++;
        continue;
      }
      if (!f.range || !range) continue;
      // Clipped into the signed range, so that |u| ≤ 1 whatever the row holds.
      const u = (Math.min(f.range[1], Math.max(f.range[0], raw.values[i])) - range.c) / range.h;
      out[at + 1] += u;
      out[at + 2] += u * u;
    }
    at += range ? 3 : 1;
  });
  return out;
}

/**
 * JobStatistics from released (noised) figures, by post-processing only: counts rounded, rows = Σ label counts,
 * a numeric feature's count = rows − missing, Σx = c·count + h·Σu and Σx² = c²·count + 2ch·Σu + h²·Σu² (x = c + h·u),
 * 0 without a range; a categorical feature's missing count = rows − Σ level counts. Counts may be negative.
 */
export function statisticsFromRelease(figures: ArrayLike<number>, job: JobSchema): JobStatistics {
  let at = 0;
  const next = () => figures[at++];
  const labelCounts = job.classes.map(() => Math.round(next()));
  const rows = labelCounts.reduce((a, b) => a + b, 0);
  const features = job.features.map((f): JobStatistics['features'][number] => {
    if (f.type === 'categorical') {
      const levelCounts = f.levels.map(() => Math.round(next()));
      return { type: 'categorical', missing: rows - levelCounts.reduce((a, b) => a + b, 0), levelCounts };
    }
    const missing = Math.round(next());
    const count = rows - missing;
    if (!f.range) return { type: 'numeric', count, missing, sum: 0, sumSquares: 0 };
    const { c, h } = centreAndHalfWidth(f.range);
    const su = next();
    const su2 = next();
    return {
      type: 'numeric',
      count,
      missing,
      sum: c * count + h * su,
      sumSquares: c * c * count + 2 * c * h * su + h * h * su2,
    };
  });
  assertArg(at === figures.length, 'released figures do not have the job schema layout');
  return { rows, labelCounts, features };
}

/**
 * This silo's statistics with record-level DP, from its rows in the job's raw layout: N(0, σ²Δ²) added to each
 * released figure (statisticsRelease: values clipped into the signed ranges), then post-processed into
 * JobStatistics (statisticsFromRelease). Counts may come out negative: the sum's reader clamps
 * (clampNoisyStatistics). Noise from node:crypto; `seed` only for reproducible tests (seeded noise is not private).
 */
export function privatizeStatistics(
  raw: RawRows,
  job: JobSchema,
  noiseMultiplier: number,
  options: { readonly seed?: string } = {},
): JobStatistics {
  assertArg(Number.isFinite(noiseMultiplier) && noiseMultiplier > 0, 'noiseMultiplier must be > 0');
  const std = noiseMultiplier * statisticsSensitivity(job);
  const gauss = new GaussianSampler(
    options.seed === undefined ? new CryptoUniform() : new SeededRng(options.seed, 'sealfold/fl/statistics'),
  );
  const figures = statisticsRelease(raw, job).map((x) => x + std * gauss.next());
  return statisticsFromRelease(figures, job);
}

/**
 * Noised summed statistics made valid (post-processing): counts rounded and clamped at 0, rows = Σ label counts,
 * a numeric feature's missing count clamped into [0, rows] and its count = rows − missing, Σx² ≥ 0. Categorical
 * level counts and missing counts are clamped at 0 each (they need not add up to rows any more).
 */
export function clampNoisyStatistics(stats: JobStatistics): JobStatistics {
  const count = (x: number) => Math.max(0, Math.round(x));
  const labelCounts = stats.labelCounts.map(count);
  const rows = labelCounts.reduce((a, b) => a + b, 0);
  return {
    rows,
    labelCounts,
    features: stats.features.map((f) => {
      if (f.type === 'categorical')
        return { type: 'categorical', missing: count(f.missing), levelCounts: f.levelCounts.map(count) };
      const missing = Math.min(rows, count(f.missing));
      return { type: 'numeric', count: rows - missing, missing, sum: f.sum, sumSquares: Math.max(0, f.sumSquares) };
    }),
  };
}
