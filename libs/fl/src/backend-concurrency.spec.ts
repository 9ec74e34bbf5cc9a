// Runs in its own jest module registry, so tfjs has no backend yet when the first calls arrive all at once — as in
// a silo process whose first round starts several trainings together.
import { describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs-core';
import { loadIris } from '../test/datasets.js';
import { withBackendFor } from './backend.js';
import { initialWeights } from './model.js';
import type { ModelSpec } from './spec.js';
import { evaluateLocal, trainLocal } from './train.js';

const spec: ModelSpec = {
  inputShape: [4],
  layers: [
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'dense', units: 3 },
  ],
};
const iris = loadIris();

describe('backend under concurrent first use', () => {
  it('ten trainings and evaluations started together on a fresh backend all complete, each as it would alone', async () => {
    expect(tf.engine().backendName ?? null).toBeNull();
    const weights = initialWeights(spec, 3);
    const train = (k: number) =>
      trainLocal({
        modelSpec: spec,
        globalWeights: weights,
        data: iris,
        epochs: 1,
        batchSize: 16,
        optimizer: 'sgd',
        learningRate: 0.1,
        seed: `concurrent/${k}`,
      });
    const together = await Promise.all([
      ...Array.from({ length: 10 }, (_, k) => train(k)),
      ...Array.from({ length: 3 }, () => evaluateLocal(spec, weights, iris)),
    ]);
    for (let k = 0; k < 10; k++) {
      const alone = await train(k);
      expect((together[k] as typeof alone).update).toEqual(alone.update);
    }
    expect(together[10]).toEqual(await evaluateLocal(spec, weights, iris));
  }, 60_000);

  it('runs one model at a time: a queued call starts only after the one before it finished', async () => {
    const events: string[] = [];
    const slow = withBackendFor(spec, async () => {
      events.push('a start');
      await new Promise((r) => setTimeout(r, 50));
      events.push('a end');
    });
    const failing = withBackendFor(spec, async () => {
      events.push('b start');
      throw new Error('b failed');
    });
    const next = withBackendFor(spec, async () => {
      events.push('c start');
      return 'c';
    });
    await slow;
    await expect(failing).rejects.toThrow('b failed');
    await expect(next).resolves.toBe('c');
    expect(events).toEqual(['a start', 'a end', 'b start', 'c start']);
  });
});
