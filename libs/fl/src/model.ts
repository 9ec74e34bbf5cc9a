// Builds tfjs models from a spec, with deterministic initial weights, and moves weights to and from one Float32Array.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FlError } from './errors.js';
import { SeededRng } from './rng.js';
import { type LayerSpec, type ModelSpec, type WeightLayout, layerName, parseModelSpec } from './spec.js';

/**
 * Initial weights of `spec` from `seed`, computed in plain JS (independent of backend): kernels Glorot-uniform
 * (Glorot & Bengio 2010: U(±√(6/(fan_in+fan_out))), Keras fans: receptive field × channels), biases and
 * batch-norm β / moving mean zero, γ / moving variance one.
 */
export function initialWeights(spec: unknown, seed: number | string): Float32Array {
  const { layout } = parseModelSpec(spec);
  const rng = new SeededRng(seed, 'sealfold/fl/init');
  const out = new Float32Array(layout.totalSize);
  for (const e of layout.entries) {
    if (e.init === 'ones') out.fill(1, e.offset, e.offset + e.size);
    else if (e.init === 'glorotUniform') {
      const limit = Math.sqrt(6 / (e.fanIn + e.fanOut));
      for (let i = 0; i < e.size; i++) out[e.offset + i] = (2 * rng.nextFloat() - 1) * limit;
    }
  }
  return out;
}

// buildModel overwrites every variable with its flat weights at once, so tfjs's own random kernel initialisers would be
// wasted work: drawing truncated-normal kernels in JS cost ~4 ms per build of a 784-128-10 model (two builds per silo
// per round). Kernels start as zeros instead.
const UNUSED_INIT = 'zeros';

function toLayer(i: number, layer: LayerSpec, inputShape?: number[]): tfl.layers.Layer {
  const common = { name: layerName(i, layer), ...(inputShape ? { inputShape } : {}) };
  switch (layer.type) {
    case 'dense':
      return tfl.layers.dense({
        ...common,
        units: layer.units,
        activation: layer.activation ?? 'linear',
        useBias: layer.useBias ?? true,
        kernelInitializer: UNUSED_INIT,
      });
    case 'conv2d':
      return tfl.layers.conv2d({
        ...common,
        filters: layer.filters,
        kernelSize: layer.kernelSize,
        strides: layer.strides ?? 1,
        padding: layer.padding ?? 'valid',
        activation: layer.activation ?? 'linear',
        useBias: layer.useBias ?? true,
        kernelInitializer: UNUSED_INIT,
        dataFormat: 'channelsLast',
      });
    case 'maxPooling2d':
      return tfl.layers.maxPooling2d({
        ...common,
        poolSize: layer.poolSize ?? 2,
        strides: layer.strides ?? layer.poolSize ?? 2,
        padding: layer.padding ?? 'valid',
      });
    case 'flatten':
      return tfl.layers.flatten(common);
    case 'dropout':
      return tfl.layers.dropout({ ...common, rate: layer.rate });
    case 'batchNormalization':
      return tfl.layers.batchNormalization({
        ...common,
        axis: -1,
        momentum: layer.momentum ?? 0.99,
        epsilon: layer.epsilon ?? 1e-3,
      });
    case 'activation':
      return tfl.layers.activation({ ...common, activation: layer.activation });
  }
}

export interface BuiltModel {
  readonly spec: ModelSpec;
  readonly layout: WeightLayout;
  readonly model: tfl.Sequential;
  /** The model's weight variables in layout order. */
  readonly variables: readonly tfl.LayerVariable[];
}

/**
 * Builds the tfjs model for `spec` on the active backend and loads `weights` (or `initialWeights(spec, seed)`).
 * The caller disposes `model` (model.dispose()).
 */
export function buildModel(
  specInput: unknown,
  init: { seed: number | string } | { weights: Float32Array },
): BuiltModel {
  const { spec, layout } = parseModelSpec(specInput);
  const weights = 'weights' in init ? init.weights : initialWeights(spec, init.seed);
  const model = tfl.sequential({
    layers: spec.layers.map((l, i) => toLayer(i, l, i === 0 ? [...spec.inputShape] : undefined)),
  });
  try {
    // Container.weights lists all trainable weights before all non-trainable ones, and tfjs suffixes duplicate
    // variable names; match the layout by each variable's original (scoped) name instead.
    const byName = new Map(model.weights.map((v) => [v.originalName, v]));
    if (byName.size !== layout.entries.length)
      throw new FlError('WEIGHTS_MISMATCH', `tfjs built ${byName.size} weights, layout has ${layout.entries.length}`);
    const variables = layout.entries.map((e) => {
      const v = byName.get(e.name);
      if (!v || v.shape.join(',') !== e.shape.join(',') || v.trainable !== e.trainable)
        throw new FlError('WEIGHTS_MISMATCH', `layout weight ${e.name} [${e.shape}] has no matching tfjs variable`);
      return v;
    });
    const built: BuiltModel = { spec, layout, model, variables };
    setFlatWeights(built, weights);
    return built;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** All weights of the model (trainable and not, in layout order) as one Float32Array. */
export function flattenWeights(built: BuiltModel): Float32Array {
  const out = new Float32Array(built.layout.totalSize);
  built.variables.forEach((v, k) => {
    const e = built.layout.entries[k];
    out.set(v.read().dataSync() as Float32Array, e.offset);
  });
  return out;
}

/** Loads a flat weight vector (layout order) into the model's variables. */
export function setFlatWeights(built: BuiltModel, flat: Float32Array): void {
  if (!(flat instanceof Float32Array) || flat.length !== built.layout.totalSize)
    throw new FlError('WEIGHTS_MISMATCH', `expected a Float32Array of ${built.layout.totalSize} weights`);
  for (let i = 0; i < flat.length; i++)
    if (!Number.isFinite(flat[i])) throw new FlError('WEIGHTS_MISMATCH', `weight ${i} is not finite`);
  built.variables.forEach((v, k) => {
    const e = built.layout.entries[k];
    const t = tf.tensor(flat.subarray(e.offset, e.offset + e.size), e.shape as number[], 'float32');
    v.write(t);
    t.dispose();
  });
}
