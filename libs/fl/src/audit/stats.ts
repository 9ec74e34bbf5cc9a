// The statistics of a membership-inference audit, pure JS: ROC/AUC with a DeLong interval, TPR at a fixed low FPR
// with a Clopper–Pearson interval, and the empirical ε lower bound a threshold attack implies.
// Scores are "higher = more likely a member" throughout.
import { assertArg } from '../errors.js';

// ---- special functions ----------------------------------------------------------------------------------------

/** log Γ(x), x > 0 (Lanczos approximation, g = 7, n = 9; ~15 significant digits). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta (modified Lentz; Press et al., Numerical Recipes §6.4 "betacf"). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b), a, b > 0, x ∈ [0, 1]. */
export function regularizedBeta(x: number, a: number, b: number): number {
  assertArg(a > 0 && b > 0, 'beta parameters must be > 0');
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(x, a, b)) / a
    : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/**
 * The p-quantile of Beta(a, b): Newton's method on I_x(a, b) − p with the Beta density as derivative, kept inside a
 * bisection bracket (I_x is increasing in x), to ~1e-14 relative.
 */
export function betaQuantile(p: number, a: number, b: number): number {
  assertArg(p >= 0 && p <= 1, 'p must be in [0, 1]');
  assertArg(a > 0 && b > 0, 'beta parameters must be > 0');
  if (p === 0) return 0;
  if (p === 1) return 1;
  const logBeta = logGamma(a) + logGamma(b) - logGamma(a + b);
  let lo = 0;
  let hi = 1;
  let x = a / (a + b);
  for (let i = 0; i < 200; i++) {
    const f = regularizedBeta(x, a, b) - p;
    if (f === 0) return x;
    if (f < 0) lo = x;
    else hi = x;
    const density = Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - logBeta);
    let next = x - f / density;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - x) <= 1e-14 * Math.max(x, 1e-300) || hi - lo <= 1e-300) return next;
    x = next;
  }
  return x;
}

/** The p-quantile of N(0, 1) (Acklam's rational approximation, relative error < 1.15e-9). */
export function normalQuantile(p: number): number {
  assertArg(p > 0 && p < 1, 'p must be in (0, 1)');
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lowTail = (q: number): number => {
    const r = Math.sqrt(-2 * Math.log(q));
    return (
      (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) /
      ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1)
    );
  };
  if (p < 0.02425) return lowTail(p);
  if (p > 1 - 0.02425) return -lowTail(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

// ---- intervals ------------------------------------------------------------------------------------------------

export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

/**
 * Clopper–Pearson ("exact") interval for a binomial proportion k/n at two-sided confidence `confidence`
 * (Clopper & Pearson 1934): lower = B⁻¹(α/2; k, n−k+1), upper = B⁻¹(1−α/2; k+1, n−k), with 0 at k = 0 and 1 at k = n.
 * For a one-sided bound at level 1−α, call it with confidence 1−2α.
 */
export function clopperPearson(k: number, n: number, confidence = 0.95): Interval {
  assertArg(Number.isInteger(n) && n >= 1, 'n must be a positive integer');
  assertArg(Number.isInteger(k) && k >= 0 && k <= n, 'k must be an integer in [0, n]');
  assertArg(confidence > 0 && confidence < 1, 'confidence must be in (0, 1)');
  const alpha = 1 - confidence;
  return {
    lower: k === 0 ? 0 : betaQuantile(alpha / 2, k, n - k + 1),
    upper: k === n ? 1 : betaQuantile(1 - alpha / 2, k + 1, n - k),
  };
}

// ---- ROC ------------------------------------------------------------------------------------------------------

function checkScores(members: ArrayLike<number>, nonMembers: ArrayLike<number>): void {
  assertArg(members.length > 0 && nonMembers.length > 0, 'need at least one member and one non-member score');
  for (const s of [members, nonMembers])
    for (let i = 0; i < s.length; i++) assertArg(!Number.isNaN(s[i]), 'scores must not be NaN');
}

/** Midranks (1-based; ties share the mean of their ranks) of `values`. */
function midranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

export interface AucResult {
  /** P(score(member) > score(non-member)) + ½ P(tie) (Mann–Whitney U / (m·n)). */
  readonly auc: number;
  /** DeLong, DeLong & Clarke-Pearson 1988 variance, normal interval clipped to [0, 1]. */
  readonly ci: Interval;
  readonly standardError: number;
}

/**
 * AUC of the ROC curve and its DeLong interval, from midranks (Sun & Xu 2014, "Fast implementation of DeLong's
 * algorithm", §2): V10_i = (R_i − R^X_i)/n for member i, V01_j = 1 − (R_j − R^Y_j)/m for non-member j, where R is the
 * rank in the pooled sample and R^X, R^Y the ranks within each group; Var = S10/m + S01/n.
 */
export function aucWithCi(members: ArrayLike<number>, nonMembers: ArrayLike<number>, confidence = 0.95): AucResult {
  checkScores(members, nonMembers);
  const m = members.length;
  const n = nonMembers.length;
  const pooled = new Float64Array(m + n);
  pooled.set(Array.from(members), 0);
  pooled.set(Array.from(nonMembers), m);
  const r = midranks(pooled);
  const rx = midranks(members);
  const ry = midranks(nonMembers);
  let rankSum = 0;
  for (let i = 0; i < m; i++) rankSum += r[i];
  const auc = (rankSum - (m * (m + 1)) / 2) / (m * n);
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  for (let i = 0; i < m; i++) v10[i] = (r[i] - rx[i]) / n;
  for (let j = 0; j < n; j++) v01[j] = 1 - (r[m + j] - ry[j]) / m;
  const variance = (xs: Float64Array): number => {
    if (xs.length < 2) return 0;
    let s = 0;
    for (const x of xs) s += (x - auc) * (x - auc);
    return s / (xs.length - 1);
  };
  const se = Math.sqrt(variance(v10) / m + variance(v01) / n);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  return {
    auc,
    standardError: se,
    ci: { lower: Math.max(0, auc - z * se), upper: Math.min(1, auc + z * se) },
  };
}

export interface RocPoint {
  /** Predict "member" when score ≥ threshold. */
  readonly threshold: number;
  readonly truePositives: number;
  readonly falsePositives: number;
}

/** Every distinct operating point of "member iff score ≥ t", from t = +∞ (nothing flagged) down to the lowest score. */
export function rocPoints(members: ArrayLike<number>, nonMembers: ArrayLike<number>): RocPoint[] {
  checkScores(members, nonMembers);
  const all = [
    ...Array.from(members, (s) => ({ s, member: true })),
    ...Array.from(nonMembers, (s) => ({ s, member: false })),
  ].sort((a, b) => b.s - a.s);
  const points: RocPoint[] = [{ threshold: Infinity, truePositives: 0, falsePositives: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < all.length;) {
    const t = all[i].s;
    while (i < all.length && all[i].s === t) {
      if (all[i].member) tp++;
      else fp++;
      i++;
    }
    points.push({ threshold: t, truePositives: tp, falsePositives: fp });
  }
  return points;
}

export interface TprAtFpr {
  /** The FPR asked for. */
  readonly targetFpr: number;
  /** The threshold's FPR on these non-members (≤ targetFpr). */
  readonly fpr: number;
  readonly tpr: number;
  readonly threshold: number;
  /** Clopper–Pearson interval of the TPR (members flagged out of all members). */
  readonly ci: Interval;
}

/**
 * TPR at the lowest threshold whose FPR on the non-members stays ≤ targetFpr (Carlini et al. 2022, "Membership
 * Inference Attacks From First Principles", §III-A: report TPR at low FPR, not only AUC). With fewer than 1/targetFpr
 * non-members this is the TPR at FPR 0: members scored above every non-member.
 */
export function tprAtFpr(
  members: ArrayLike<number>,
  nonMembers: ArrayLike<number>,
  targetFpr: number,
  confidence = 0.95,
): TprAtFpr {
  assertArg(targetFpr >= 0 && targetFpr < 1, 'targetFpr must be in [0, 1)');
  const m = members.length;
  const n = nonMembers.length;
  const points = rocPoints(members, nonMembers);
  let best = points[0];
  for (const p of points) if (p.falsePositives / n <= targetFpr) best = p;
  return {
    targetFpr,
    fpr: best.falsePositives / n,
    tpr: best.truePositives / m,
    threshold: best.threshold,
    ci: clopperPearson(best.truePositives, m, confidence),
  };
}

export interface EpsilonLowerBound {
  /** ≥ 0; 0 when no threshold rules out any ε > 0 at this confidence. */
  readonly epsilon: number;
  /** The threshold that gave it (Infinity when epsilon is 0). */
  readonly threshold: number;
  /** Upper confidence bounds of the rates at that threshold. */
  readonly fprUpper: number;
  readonly fnrUpper: number;
  /** Thresholds tried (the Bonferroni count). */
  readonly thresholds: number;
}

/**
 * The ε any (ε, δ)-DP training must have had for this attack to do as well as it did, at confidence `confidence`.
 * (ε, δ)-DP bounds every test between "trained with x" and "without x": FPR + e^ε·FNR ≥ 1 − δ and
 * FNR + e^ε·FPR ≥ 1 − δ (Kairouz, Oh & Viswanath 2015, Thm. 2.1), so
 * ε ≥ max(log((1 − δ − FPR)/FNR), log((1 − δ − FNR)/FPR)); with the rates replaced by their one-sided
 * Clopper–Pearson upper bounds the bound holds with the stated confidence (Jagielski, Ullman & Oprea 2020,
 * "Auditing Differentially Private Machine Learning", Alg. 2; Nasr et al. 2021, "Adversary Instantiation", §3).
 * The threshold is picked here from the same scores, so the confidence is split over every candidate threshold
 * (Bonferroni over the candidate thresholds — every distinct score, at most `maxThresholds` — and the two rates).
 */
export function empiricalEpsilonLowerBound(
  members: ArrayLike<number>,
  nonMembers: ArrayLike<number>,
  options: { delta: number; confidence?: number; maxThresholds?: number },
): EpsilonLowerBound {
  checkScores(members, nonMembers);
  const { delta } = options;
  const confidence = options.confidence ?? 0.95;
  const maxThresholds = options.maxThresholds ?? 1000;
  assertArg(delta >= 0 && delta < 1, 'delta must be in [0, 1)');
  assertArg(confidence > 0 && confidence < 1, 'confidence must be in (0, 1)');
  assertArg(Number.isInteger(maxThresholds) && maxThresholds >= 1, 'maxThresholds must be a positive integer');
  const m = members.length;
  const points = rocPoints(members, nonMembers).slice(1); // t = +∞ flags nothing: FPR 0, FNR 1, no information
  // Candidate thresholds: every operating point, or maxThresholds of them evenly spaced. They come from the pooled
  // scores without the membership labels, so the union bound over them is fixed before the labels are looked at.
  const candidates: RocPoint[] =
    points.length <= maxThresholds
      ? points
      : Array.from(
          { length: maxThresholds },
          (_, k) => points[Math.round((k * (points.length - 1)) / Math.max(1, maxThresholds - 1))],
        );
  // One-sided upper bounds at level 1 − α/(2K) (K thresholds, two rates), memoised by count.
  const level = 1 - (1 - confidence) / (2 * candidates.length);
  const upper = (n: number): ((k: number) => number) => {
    const memo = new Map<number, number>();
    return (k) => {
      let u = memo.get(k);
      if (u === undefined) memo.set(k, (u = k === n ? 1 : betaQuantile(level, k + 1, n - k)));
      return u;
    };
  };
  const fprUpper = upper(nonMembers.length);
  const fnrUpper = upper(members.length);
  let best: EpsilonLowerBound = {
    epsilon: 0,
    threshold: Infinity,
    fprUpper: 1,
    fnrUpper: 1,
    thresholds: candidates.length,
  };
  for (const p of candidates) {
    const fprHi = fprUpper(p.falsePositives);
    const fnrHi = fnrUpper(m - p.truePositives);
    const terms = [(1 - delta - fprHi) / fnrHi, (1 - delta - fnrHi) / fprHi].filter((x) => x > 0);
    const eps = Math.max(0, ...terms.map(Math.log));
    if (eps > best.epsilon)
      best = { epsilon: eps, threshold: p.threshold, fprUpper: fprHi, fnrUpper: fnrHi, thresholds: candidates.length };
  }
  return best;
}
