// The attacks on a real (tiny) tfjs model: signals agree with the training loss and the softmax, LiRA's shadows
// split every row evenly, and an overfit model leaks more to both attacks than chance.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { loadIris } from '../../test/datasets.js';
import { initBackend } from '../backend.js';
import { initialWeights } from '../model.js';
import type { ModelSpec } from '../spec.js';
import { evaluateLocal, trainLocal } from '../train.js';
import { selectSamples } from '../data.js';
import { auditMembership, membershipShadows, membershipSignals, offlineLira } from './attack.js';

const spec: ModelSpec = {
  inputShape: [4],
  layers: [
    { type: 'dense', units: 32, activation: 'relu' },
    { type: 'dense', units: 3 },
  ],
};
const iris = loadIris(3);
const members = Array.from({ length: 40 }, (_, i) => i);
const nonMembers = Array.from({ length: 40 }, (_, i) => 40 + i);
const training = { epochs: 150, batchSize: 8, optimizer: 'adam' as const, learningRate: 0.02 };
let weights: Float32Array;

beforeAll(async () => {
  await initBackend();
  const init = initialWeights(spec, 1);
  const r = await trainLocal({
    modelSpec: spec,
    globalWeights: init,
    data: selectSamples(iris, members),
    seed: 1,
    ...training,
  });
  weights = init.map((w, i) => w + r.update[i]);
});

describe('membership signals', () => {
  it('loss is the evaluation cross-entropy; logit confidence is log(p_y / (1 − p_y))', async () => {
    const s = await membershipSignals(spec, weights, iris);
    const sums = await evaluateLocal(spec, weights, iris);
    expect(s.loss.reduce((a, b) => a + b, 0)).toBeCloseTo(sums.lossSum, 2);
    for (let i = 0; i < 10; i++) {
      const p = Math.exp(-s.loss[i]);
      // Well-separated rows have p ≈ 1 in float32: compare where 1 − p is resolvable.
      if (p < 0.999) expect(s.logitConfidence[i]).toBeCloseTo(Math.log(p / (1 - p)), 3);
    }
  });

  it('rejects data that does not fit the model', async () => {
    await expect(membershipSignals(spec, weights, { ...iris, numClasses: 4 })).rejects.toThrow(/3 classes/);
  });
});

describe('offline LiRA and the audit', () => {
  it('puts every row OUT of half the shadows and refuses an odd count', async () => {
    const data = selectSamples(iris, [...members, ...nonMembers]);
    const target = (await membershipSignals(spec, weights, data)).logitConfidence;
    const r = await offlineLira({
      modelSpec: spec,
      data,
      targetConfidence: target,
      shadows: 2,
      training: { ...training, epochs: 5 },
      seed: 's',
    });
    expect(r.outPerRow).toBe(1);
    expect(r.scores.every(Number.isFinite)).toBe(true);
    await expect(
      offlineLira({ modelSpec: spec, data, targetConfidence: target, shadows: 3, training, seed: 's' }),
    ).rejects.toThrow(/even/);
  });

  it('an overfit model leaks: loss-attack AUC above ½; overlapping member lists are refused', async () => {
    const r = await auditMembership({
      modelSpec: spec,
      weights,
      data: iris,
      members,
      nonMembers,
      shadows: 0,
      shadowTraining: training,
      seed: 1,
      delta: 1e-5,
    });
    expect(r).toMatchObject({ members: 40, nonMembers: 40, lira: null });
    expect(r.lossThreshold.auc.auc).toBeGreaterThan(0.5);
    expect(r.lossThreshold.epsilonLowerBound.epsilon).toBeGreaterThanOrEqual(0);
    await expect(
      auditMembership({
        modelSpec: spec,
        weights,
        data: iris,
        members,
        nonMembers: [0, 100],
        shadows: 0,
        shadowTraining: training,
        seed: 1,
        delta: 1e-5,
      }),
    ).rejects.toThrow(/twice/);
  });

  it('shadow models trained once give the same audit as shadows trained inside it, and only for what they fit', async () => {
    const shadowTraining = { ...training, epochs: 5 };
    const base = { modelSpec: spec, data: iris, members, nonMembers, shadows: 4, shadowTraining, seed: 'pre' };
    const shadowModels = await membershipShadows(base);
    expect(shadowModels.outConfidences).toHaveLength(4);
    // Every audited row is OUT of (not NaN in) exactly half the shadows.
    for (let i = 0; i < members.length + nonMembers.length; i++)
      expect(shadowModels.outConfidences.filter((o) => !Number.isNaN(o[i]))).toHaveLength(2);
    const inside = await auditMembership({ ...base, weights, delta: 1e-5 });
    const reused = await auditMembership({ ...base, weights, delta: 1e-5, shadowModels });
    expect(reused).toEqual(inside);
    expect(reused.lira).not.toBeNull();
    await expect(
      auditMembership({ ...base, weights, delta: 1e-5, shadowModels, members: members.slice(1) }),
    ).rejects.toThrow(/other members/);
    await expect(auditMembership({ ...base, weights, delta: 1e-5, shadowModels, shadows: 2 })).rejects.toThrow(
      /4 shadow models, not 2/,
    );
    await expect(
      auditMembership({
        ...base,
        weights,
        delta: 1e-5,
        shadowModels,
        shadowTraining: { ...shadowTraining, dp: { noiseMultiplier: 1, clipNorm: 1 } },
      }),
    ).rejects.toThrow(/other shadow training/);
  });

  it('offline LiRA refuses given shadow outputs that do not put every row OUT of half of them', async () => {
    const data = selectSamples(iris, [...members, ...nonMembers]);
    const target = (await membershipSignals(spec, weights, data)).logitConfidence;
    const allOut = [new Float64Array(data.labels.length), new Float64Array(data.labels.length)];
    await expect(
      offlineLira({
        modelSpec: spec,
        data,
        targetConfidence: target,
        shadows: 2,
        training,
        seed: 's',
        outConfidences: allOut,
      }),
    ).rejects.toThrow(/exactly half/);
  });
});
