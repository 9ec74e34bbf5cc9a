// The one registry of server strategies: their names (what a buyer may sign, what a coordinator runs, what a silo
// admits), their server step, and the codec of the state a strategy carries from round to round (stored with each
// committed global model, so a restarted coordinator resumes where it stopped). Decoding validates: a stored state
// that does not fit the model or is not a FedAdam state is refused, never used.
import { decodeWeights, encodeWeights } from './codec.js';
import { STRATEGY_NAMES, isStrategyName, type StrategyName } from '@sealfold/protocol';
import { FlError } from './errors.js';
import { fedAdamInit, fedAdamStep, fedAvgStep, type FedAdamState } from './strategy.js';

// The names are signed in JobRequest.strategy: libs/protocol holds them; they are re-exported here.
export { STRATEGY_NAMES, isStrategyName, type StrategyName };

/** A server strategy over flat weights of dimension d: state in, state out; `undefined` state for stateless ones. */
export interface ServerStrategy {
  readonly name: StrategyName;
  /** The state before round 1. */
  init(d: number): FedAdamState | undefined;
  /** One server step from Σ w_u·x_u and Σ w_u (libs/fl strategy.ts). */
  step(
    global: Float32Array,
    sum: Float32Array,
    totalWeight: number,
    state: FedAdamState | undefined,
  ): { weights: Float32Array; state: FedAdamState | undefined };
  /** The state as stored text; `undefined` for a stateless strategy. */
  encodeState(state: FedAdamState | undefined): string | undefined;
  /** A stored state, checked against the model dimension d. */
  decodeState(text: string | undefined, d: number): FedAdamState | undefined;
}

/** FedAvg (McMahan et al. 2017): stateless. */
const stateless = (name: StrategyName): ServerStrategy => ({
  name,
  init: () => undefined,
  step: (global, sum, totalWeight) => ({ weights: fedAvgStep(global, sum, totalWeight), state: undefined }),
  encodeState: () => undefined,
  decodeState: (text) => {
    if (text !== undefined) throw new FlError('INVALID_ARGUMENT', `${name} carries no state`);
    return undefined;
  },
});

const fedAdam: ServerStrategy = {
  name: 'fedadam',
  init: (d) => fedAdamInit(d),
  step(global, sum, totalWeight, state) {
    if (!state) throw new FlError('INVALID_ARGUMENT', 'fedadam needs its state');
    return fedAdamStep(global, sum, totalWeight, state);
  },
  encodeState(state) {
    if (!state) throw new FlError('INVALID_ARGUMENT', 'fedadam needs its state');
    return encodeFedAdamState(state);
  },
  decodeState(text, d) {
    if (text === undefined) throw new FlError('INVALID_ARGUMENT', 'fedadam state missing');
    return decodeFedAdamState(text, d);
  },
};

const REGISTRY: Readonly<Record<StrategyName, ServerStrategy>> = {
  fedavg: stateless('fedavg'),
  fedprox: stateless('fedprox'),
  fedadam: fedAdam,
};

/** The server strategy of a signed name; refuses a name outside STRATEGY_NAMES. */
export function serverStrategy(name: string): ServerStrategy {
  if (!isStrategyName(name))
    throw new FlError('INVALID_ARGUMENT', `strategy "${name}" is not one of ${STRATEGY_NAMES.join(', ')}`);
  return REGISTRY[name];
}

const base64 = (weights: Float32Array) => Buffer.from(encodeWeights(weights)).toString('base64');

/** FedAdam state as JSON: hyper-parameters, round, and m, v as base64 weight vectors (codec.ts). */
export function encodeFedAdamState(s: FedAdamState): string {
  return JSON.stringify({
    eta: s.eta,
    beta1: s.beta1,
    beta2: s.beta2,
    tau: s.tau,
    round: s.round,
    m: base64(s.m),
    v: base64(s.v),
  });
}

/**
 * Parses `encodeFedAdamState` output and checks it (Reddi et al. 2021, Algorithm 2): η, τ > 0, β₁, β₂ ∈ [0, 1),
 * round a non-negative integer, m and v of length d with finite entries and v ≥ 0.
 */
export function decodeFedAdamState(text: string, d: number): FedAdamState {
  const bad = (why: string): never => {
    throw new FlError('INVALID_ARGUMENT', `FedAdam state: ${why}`);
  };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return bad('not JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) bad('not an object');
  const num = (key: string) => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${key} must be a finite number`);
    return v as number;
  };
  const eta = num('eta');
  const beta1 = num('beta1');
  const beta2 = num('beta2');
  const tau = num('tau');
  const round = num('round');
  if (!(eta > 0) || !(tau > 0)) bad('eta and tau must be > 0');
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) bad('beta1 and beta2 must be in [0, 1)');
  if (!Number.isInteger(round) || round < 0) bad('round must be an integer ≥ 0');
  const vector = (key: string) => {
    const v = o[key];
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) bad(`${key} must be base64`);
    const w = decodeWeights(new Uint8Array(Buffer.from(v as string, 'base64')), d);
    if (!w.every(Number.isFinite)) bad(`${key} has a non-finite entry`);
    return w;
  };
  const m = vector('m');
  const v = vector('v');
  if (!v.every((x) => x >= 0)) bad('v must be ≥ 0');
  return { eta, beta1, beta2, tau, round, m, v };
}
