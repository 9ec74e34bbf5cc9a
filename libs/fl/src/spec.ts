// Model spec: a validated JSON subset of tfjs layers, its shape inference, parameter count, weight layout and hash.
// No Node built-in here: the web app validates and hashes a buyer's custom model with this same module.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { canonicalJson } from '@sealfold/protocol';
import { FlError } from './errors.js';

export { canonicalJson };

export const MODEL_LIMITS = {
  maxLayers: 32,
  maxParameters: 5_000_000,
  maxUnits: 4096,
  maxFilters: 512,
  maxKernelSize: 11,
  maxInputSize: 1_000_000,
} as const;

export const ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'tanh',
  'softplus',
  'softmax',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

const positiveInt = (max: number) => z.number().int().min(1).max(max);
const activation = z.enum(ACTIVATIONS);
const pair = (max: number) => z.union([positiveInt(max), z.tuple([positiveInt(max), positiveInt(max)])]);
const padding = z.enum(['valid', 'same']);

const denseLayer = z.strictObject({
  type: z.literal('dense'),
  units: positiveInt(MODEL_LIMITS.maxUnits),
  activation: activation.optional(),
  useBias: z.boolean().optional(),
});
const conv2dLayer = z.strictObject({
  type: z.literal('conv2d'),
  filters: positiveInt(MODEL_LIMITS.maxFilters),
  kernelSize: pair(MODEL_LIMITS.maxKernelSize),
  strides: pair(MODEL_LIMITS.maxKernelSize).optional(),
  padding: padding.optional(),
  activation: activation.optional(),
  useBias: z.boolean().optional(),
});
const maxPooling2dLayer = z.strictObject({
  type: z.literal('maxPooling2d'),
  poolSize: pair(MODEL_LIMITS.maxKernelSize).optional(),
  strides: pair(MODEL_LIMITS.maxKernelSize).optional(),
  padding: padding.optional(),
});
const flattenLayer = z.strictObject({ type: z.literal('flatten') });
const dropoutLayer = z.strictObject({ type: z.literal('dropout'), rate: z.number().min(0).lt(1) });
const batchNormalizationLayer = z.strictObject({
  type: z.literal('batchNormalization'),
  momentum: z.number().gt(0).lt(1).optional(),
  epsilon: z.number().gt(0).max(1).optional(),
});
const activationLayer = z.strictObject({ type: z.literal('activation'), activation });

export const layerSpecSchema = z.discriminatedUnion('type', [
  denseLayer,
  conv2dLayer,
  maxPooling2dLayer,
  flattenLayer,
  dropoutLayer,
  batchNormalizationLayer,
  activationLayer,
]);

export const modelSpecSchema = z.strictObject({
  /** Shape of one sample without the batch axis: [features] or [height, width, channels] (channels last). */
  inputShape: z.array(positiveInt(MODEL_LIMITS.maxInputSize)).min(1).max(3),
  layers: z.array(layerSpecSchema).min(1).max(MODEL_LIMITS.maxLayers),
});

export type LayerSpec = z.infer<typeof layerSpecSchema>;
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** One weight tensor inside the flat Float32Array. `trainable` is false for batch-norm moving statistics. */
export interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  readonly trainable: boolean;
  /** How `initialWeights` fills it. */
  readonly init: 'glorotUniform' | 'zeros' | 'ones';
  readonly fanIn: number;
  readonly fanOut: number;
}

export interface WeightLayout {
  readonly entries: readonly WeightEntry[];
  readonly totalSize: number;
  readonly outputShape: readonly number[];
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);
const asPair = (v: number | readonly [number, number]): [number, number] =>
  typeof v === 'number' ? [v, v] : [v[0], v[1]];

/** The tfjs layer name for layer i (explicit names keep weight names stable across builds). */
export const layerName = (i: number, layer: LayerSpec): string => `l${i}_${layer.type}`;

function poolOut(size: number, window: number, stride: number, pad: 'valid' | 'same'): number {
  return pad === 'same' ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1;
}

/**
 * Validates a spec (schema, shapes, limits) and returns it with its weight layout. Throws FlError
 * INVALID_MODEL_SPEC or MODEL_LIMIT_EXCEEDED. The returned spec is the parsed input, with no defaults filled in,
 * so that its hash is the hash the buyer computed.
 */
export function parseModelSpec(input: unknown): { spec: ModelSpec; layout: WeightLayout } {
  const parsed = modelSpecSchema.safeParse(input);
  if (!parsed.success) throw new FlError('INVALID_MODEL_SPEC', z.prettifyError(parsed.error));
  const spec = parsed.data;
  if (product(spec.inputShape) > MODEL_LIMITS.maxInputSize)
    throw new FlError('MODEL_LIMIT_EXCEEDED', `input size exceeds ${MODEL_LIMITS.maxInputSize}`);
  let shape = [...spec.inputShape];
  const entries: WeightEntry[] = [];
  let offset = 0;
  const add = (
    name: string,
    s: number[],
    trainable: boolean,
    init: WeightEntry['init'],
    fanIn = 0,
    fanOut = 0,
  ): void => {
    const size = product(s);
    entries.push({ name, shape: s, offset, size, trainable, init, fanIn, fanOut });
    offset += size;
    if (offset > MODEL_LIMITS.maxParameters)
      throw new FlError('MODEL_LIMIT_EXCEEDED', `more than ${MODEL_LIMITS.maxParameters} parameters`);
  };
  const bad = (i: number, msg: string): never => {
    throw new FlError('INVALID_MODEL_SPEC', `layers[${i}]: ${msg}`);
  };
  spec.layers.forEach((layer, i) => {
    const name = layerName(i, layer);
    switch (layer.type) {
      case 'dense': {
        if (shape.length !== 1) bad(i, `dense needs a flat input, got shape [${shape}] (add a flatten layer)`);
        add(`${name}/kernel`, [shape[0], layer.units], true, 'glorotUniform', shape[0], layer.units);
        if (layer.useBias ?? true) add(`${name}/bias`, [layer.units], true, 'zeros');
        shape = [layer.units];
        break;
      }
      case 'conv2d': {
        if (shape.length !== 3) bad(i, `conv2d needs a [height, width, channels] input, got [${shape}]`);
        const [kh, kw] = asPair(layer.kernelSize);
        const [sh, sw] = asPair(layer.strides ?? 1);
        const pad = layer.padding ?? 'valid';
        const [h, w, c] = shape;
        const oh = poolOut(h, kh, sh, pad);
        const ow = poolOut(w, kw, sw, pad);
        if (oh < 1 || ow < 1) bad(i, `kernel ${kh}x${kw} does not fit input ${h}x${w}`);
        add(`${name}/kernel`, [kh, kw, c, layer.filters], true, 'glorotUniform', kh * kw * c, kh * kw * layer.filters);
        if (layer.useBias ?? true) add(`${name}/bias`, [layer.filters], true, 'zeros');
        shape = [oh, ow, layer.filters];
        break;
      }
      case 'maxPooling2d': {
        if (shape.length !== 3) bad(i, `maxPooling2d needs a [height, width, channels] input, got [${shape}]`);
        const [ph, pw] = asPair(layer.poolSize ?? 2);
        const [sh, sw] = asPair(layer.strides ?? layer.poolSize ?? 2);
        const pad = layer.padding ?? 'valid';
        const oh = poolOut(shape[0], ph, sh, pad);
        const ow = poolOut(shape[1], pw, sw, pad);
        if (oh < 1 || ow < 1) bad(i, `pool ${ph}x${pw} does not fit input ${shape[0]}x${shape[1]}`);
        shape = [oh, ow, shape[2]];
        break;
      }
      case 'flatten':
        shape = [product(shape)];
        break;
      case 'batchNormalization': {
        const c = shape[shape.length - 1];
        add(`${name}/gamma`, [c], true, 'ones');
        add(`${name}/beta`, [c], true, 'zeros');
        add(`${name}/moving_mean`, [c], false, 'zeros');
        add(`${name}/moving_variance`, [c], false, 'ones');
        break;
      }
      case 'dropout':
      case 'activation':
        break;
    }
  });
  if (shape.length !== 1) throw new FlError('INVALID_MODEL_SPEC', `the model output must be flat, got [${shape}]`);
  return { spec, layout: { entries, totalSize: offset, outputShape: shape } };
}

/** The weight layout of a spec, computed without tfjs (the coordinator needs it for strategy steps). */
export const weightLayout = (spec: unknown): WeightLayout => parseModelSpec(spec).layout;

/** True when the last layer ends in softmax, so the model outputs probabilities; otherwise it outputs logits. */
export function outputsProbabilities(spec: ModelSpec): boolean {
  const last = spec.layers[spec.layers.length - 1];
  return (last.type === 'dense' || last.type === 'activation') && last.activation === 'softmax';
}

/** SHA-256 of the canonical JSON of a validated spec, as 0x-prefixed hex (a bytes32 for the signed JobRequest). */
export function modelSpecHash(spec: unknown): `0x${string}` {
  const parsed = parseModelSpec(spec).spec;
  return `0x${bytesToHex(sha256(utf8ToBytes(canonicalJson(parsed))))}`;
}
