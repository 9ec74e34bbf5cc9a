import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { encodeWeights } from './codec.js';
import { FlError } from './errors.js';
import { STRATEGY_NAMES, decodeFedAdamState, encodeFedAdamState, serverStrategy } from './strategies.js';
import { fedAdamInit, fedAdamStep, weightedSum } from './strategy.js';

const f32 = (...xs: number[]): Float32Array => Float32Array.from(xs);

describe('strategy registry', () => {
  it('has one server strategy per signed name and refuses any other name', () => {
    for (const name of STRATEGY_NAMES) expect(serverStrategy(name).name).toBe(name);
    expect(() => serverStrategy('FedAvg')).toThrow(FlError);
    expect(() => serverStrategy('scaffold')).toThrow(/not one of fedavg, fedprox, fedadam/);
  });

  it('fedavg and fedprox are stateless and refuse a stored state', () => {
    for (const name of ['fedavg', 'fedprox']) {
      const s = serverStrategy(name);
      expect(s.init(3)).toBeUndefined();
      expect(s.encodeState(undefined)).toBeUndefined();
      expect(s.step(f32(1, 1), f32(2, 4), 2, undefined).weights).toEqual(f32(2, 3));
      expect(() => s.decodeState('{}', 2)).toThrow(FlError);
    }
  });

  it('fedadam: a state survives encode → decode, and the next step is the same as without it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 16 }),
        fc.integer({ min: 1, max: 100 }),
        (xs, w) => {
          const s = serverStrategy('fedadam');
          const d = xs.length;
          const global = new Float32Array(d);
          const { sum, totalWeight } = weightedSum([{ update: Float32Array.from(xs), weight: w }]);
          const first = s.step(global, sum, totalWeight, s.init(d));
          const restored = s.decodeState(s.encodeState(first.state), d);
          expect(restored).toEqual(first.state);
          const direct = fedAdamStep(first.weights, sum, totalWeight, first.state!);
          expect(s.step(first.weights, sum, totalWeight, restored).weights).toEqual(direct.weights);
        },
      ),
    );
  });

  it('fedadam refuses a stored state that does not fit or is not one', () => {
    const good = encodeFedAdamState(fedAdamInit(3));
    expect(decodeFedAdamState(good, 3).v).toHaveLength(3);
    const edit = (patch: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(good), ...patch });
    expect(() => decodeFedAdamState(good, 4)).toThrow(/expected 4 weights/);
    expect(() => decodeFedAdamState('not json', 3)).toThrow(/not JSON/);
    expect(() => decodeFedAdamState('[]', 3)).toThrow(/not an object/);
    expect(() => decodeFedAdamState(edit({ eta: 0 }), 3)).toThrow(/eta and tau/);
    expect(() => decodeFedAdamState(edit({ beta1: 1 }), 3)).toThrow(/beta1/);
    expect(() => decodeFedAdamState(edit({ round: 1.5 }), 3)).toThrow(/round/);
    expect(() => decodeFedAdamState(edit({ tau: 'x' }), 3)).toThrow(/finite number/);
    expect(() => decodeFedAdamState(edit({ m: '%%' }), 3)).toThrow(/base64/);
    const negative = Buffer.from(encodeWeights(f32(-1, 0, 0))).toString('base64');
    expect(() => decodeFedAdamState(edit({ v: negative }), 3)).toThrow(/v must be ≥ 0/);
    expect(() => serverStrategy('fedadam').decodeState(undefined, 3)).toThrow(/missing/);
  });
});
