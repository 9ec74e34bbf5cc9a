import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  aucWithCi,
  betaQuantile,
  clopperPearson,
  empiricalEpsilonLowerBound,
  normalQuantile,
  regularizedBeta,
  rocPoints,
  tprAtFpr,
} from './stats.js';

/** Scores on a 0.01 grid, so a strictly increasing transform stays strictly increasing in floating point. */
const scores = fc.array(
  fc.integer({ min: -5000, max: 5000 }).map((k) => k / 100),
  { minLength: 1, maxLength: 40 },
);
/** Integer-valued scores: many ties. */
const tiedScores = fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 40 });

/** AUC by definition: P(x > y) + ½ P(x = y) over all pairs. */
function pairwiseAuc(xs: number[], ys: number[]): number {
  let s = 0;
  for (const x of xs) for (const y of ys) s += x > y ? 1 : x === y ? 0.5 : 0;
  return s / (xs.length * ys.length);
}

describe('special functions', () => {
  it('match known values: I_x(1,1) = x, I_x(a,1) = x^a, Beta quantiles, normal quantiles', () => {
    expect(regularizedBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(regularizedBeta(0.5, 3, 1)).toBeCloseTo(0.125, 12);
    expect(regularizedBeta(0.5, 7, 7)).toBeCloseTo(0.5, 12);
    expect(betaQuantile(0.125, 3, 1)).toBeCloseTo(0.5, 10);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 7);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
  });

  it('Clopper–Pearson matches published values (k = 0: upper = 1 − (α/2)^(1/n); 5/10 → [0.187, 0.813])', () => {
    expect(clopperPearson(0, 100).upper).toBeCloseTo(1 - 0.025 ** (1 / 100), 10);
    expect(clopperPearson(0, 100).lower).toBe(0);
    const half = clopperPearson(5, 10);
    expect(half.lower).toBeCloseTo(0.187086, 5);
    expect(half.upper).toBeCloseTo(0.812914, 5);
  });

  it('Clopper–Pearson contains k/n, stays in [0, 1] and widens with confidence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, f) => {
        const k = Math.round(f * n);
        const ci = clopperPearson(k, n, 0.9);
        const wide = clopperPearson(k, n, 0.99);
        expect(ci.lower).toBeGreaterThanOrEqual(0);
        expect(ci.upper).toBeLessThanOrEqual(1);
        expect(ci.lower).toBeLessThanOrEqual(k / n + 1e-12);
        expect(ci.upper).toBeGreaterThanOrEqual(k / n - 1e-12);
        expect(wide.lower).toBeLessThanOrEqual(ci.lower + 1e-12);
        expect(wide.upper).toBeGreaterThanOrEqual(ci.upper - 1e-12);
      }),
    );
  });
});

describe('ROC / AUC', () => {
  it('equals the pairwise definition (with ties) and its DeLong interval contains it', () => {
    fc.assert(
      fc.property(fc.oneof(scores, tiedScores), fc.oneof(scores, tiedScores), (xs, ys) => {
        const r = aucWithCi(xs, ys);
        expect(r.auc).toBeCloseTo(pairwiseAuc(xs, ys), 10);
        expect(r.ci.lower).toBeLessThanOrEqual(r.auc + 1e-12);
        expect(r.ci.upper).toBeGreaterThanOrEqual(r.auc - 1e-12);
        expect(r.ci.lower).toBeGreaterThanOrEqual(0);
        expect(r.ci.upper).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('is 1 for a perfect separator, 0 for a reversed one, ½ for identical samples', () => {
    fc.assert(
      fc.property(scores, scores, (xs, ys) => {
        const hi = xs.map((x) => x + 200);
        expect(aucWithCi(hi, ys).auc).toBe(1);
        expect(aucWithCi(ys, hi).auc).toBe(0);
        expect(aucWithCi(xs, [...xs].reverse()).auc).toBeCloseTo(0.5, 12);
      }),
    );
  });

  it('is invariant under strictly increasing transforms and flips to 1 − AUC under decreasing ones', () => {
    fc.assert(
      fc.property(fc.oneof(scores, tiedScores), fc.oneof(scores, tiedScores), (xs, ys) => {
        const a = aucWithCi(xs, ys).auc;
        const up = (x: number) => x ** 3 + 5 * x;
        expect(aucWithCi(xs.map(up), ys.map(up)).auc).toBeCloseTo(a, 12);
        expect(
          aucWithCi(
            xs.map((x) => -x),
            ys.map((x) => -x),
          ).auc,
        ).toBeCloseTo(1 - a, 12);
      }),
    );
  });

  it('rocPoints run from (0, 0) to (m, n), monotone', () => {
    fc.assert(
      fc.property(tiedScores, tiedScores, (xs, ys) => {
        const p = rocPoints(xs, ys);
        expect(p[0]).toMatchObject({ truePositives: 0, falsePositives: 0 });
        expect(p[p.length - 1]).toMatchObject({ truePositives: xs.length, falsePositives: ys.length });
        for (let i = 1; i < p.length; i++) {
          expect(p[i].truePositives).toBeGreaterThanOrEqual(p[i - 1].truePositives);
          expect(p[i].falsePositives).toBeGreaterThanOrEqual(p[i - 1].falsePositives);
          expect(p[i].threshold).toBeLessThan(p[i - 1].threshold);
        }
      }),
    );
  });

  it('TPR at a low FPR respects the FPR, lies in its Clopper–Pearson interval, and is the best such threshold', () => {
    fc.assert(
      fc.property(scores, scores, fc.double({ min: 0, max: 0.5, noNaN: true }), (xs, ys, target) => {
        const r = tprAtFpr(xs, ys, target);
        expect(r.fpr).toBeLessThanOrEqual(target);
        expect(r.ci.lower).toBeLessThanOrEqual(r.tpr + 1e-12);
        expect(r.ci.upper).toBeGreaterThanOrEqual(r.tpr - 1e-12);
        // One step lower would pass more non-members than the target allows (or there is no lower step).
        const lower = rocPoints(xs, ys).find((p) => p.threshold < r.threshold);
        if (lower) expect(lower.falsePositives / ys.length).toBeGreaterThan(target);
      }),
    );
  });

  it('TPR at FPR 0 counts the members above every non-member', () => {
    const r = tprAtFpr([10, 9, 8, 3, 1], [0, 2, 5, 4], 0.001);
    expect(r).toMatchObject({ tpr: 3 / 5, fpr: 0, threshold: 8 });
  });
});

describe('empirical ε lower bound', () => {
  it('is never negative and never infinite', () => {
    fc.assert(
      fc.property(fc.oneof(scores, tiedScores), fc.oneof(scores, tiedScores), (xs, ys) => {
        const r = empiricalEpsilonLowerBound(xs, ys, { delta: 1e-5 });
        expect(r.epsilon).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(r.epsilon)).toBe(true);
      }),
    );
  });

  it('is 0 when members and non-members score alike (the same multiset)', () => {
    fc.assert(
      fc.property(fc.oneof(scores, tiedScores), (xs) => {
        expect(empiricalEpsilonLowerBound(xs, [...xs].reverse(), { delta: 1e-5 }).epsilon).toBe(0);
      }),
    );
  });

  it('is 0 on average for two samples of one distribution (≤ 5 % of trials above 0 at 95 % confidence)', () => {
    let positive = 0;
    const trials = 30;
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 60, maxLength: 60 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 60, maxLength: 60 }),
        (xs, ys) => {
          if (empiricalEpsilonLowerBound(xs, ys, { delta: 1e-5 }).epsilon > 0) positive++;
        },
      ),
      { numRuns: trials, seed: 14 },
    );
    expect(positive / trials).toBeLessThanOrEqual(0.05);
  });

  it('perfect separation of n vs n gives log((1 − u)/u), u the one-sided Clopper–Pearson bound at α/(2K)', () => {
    const n = 200;
    const members = Array.from({ length: n }, (_, i) => 1000 + i);
    const nonMembers = Array.from({ length: n }, (_, i) => i);
    const r = empiricalEpsilonLowerBound(members, nonMembers, { delta: 0 });
    expect(r.thresholds).toBe(2 * n);
    const u = 1 - (0.05 / (2 * r.thresholds)) ** (1 / n);
    expect(r.epsilon).toBeCloseTo(Math.log((1 - u) / u), 6);
    expect(r.epsilon).toBeLessThan(Math.log(n));
    // Less separation, smaller bound.
    const overlap = empiricalEpsilonLowerBound(
      members.map((x) => x - 1200),
      nonMembers,
      { delta: 0 },
    );
    expect(overlap.epsilon).toBeLessThan(r.epsilon);
  });
});
