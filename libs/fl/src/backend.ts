// TensorFlow.js backend choice: tfjs-node (native) when it loads, else wasm (SIMD), else the pure-JS cpu backend.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FlError } from './errors.js';
import type { ModelSpec } from './spec.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  readonly name: BackendName;
  /** Why this backend was chosen (which ones failed and why). */
  readonly reason: string;
  readonly simd?: boolean;
}

const ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
let chosen: BackendInfo | null = null;

async function load(name: BackendName): Promise<void> {
  if (name === 'tensorflow') {
    // Optional dependency, absent where libtensorflow could not be downloaded: a variable specifier keeps the
    // type checker from requiring it.
    const specifier = '@tensorflow/tfjs-node';
    await import(specifier);
  } else if (name === 'wasm') {
    // The node build reads its .wasm files next to itself in node_modules; no setWasmPaths needed.
    await import('@tensorflow/tfjs-backend-wasm');
  }
  if (!(await tf.setBackend(name))) throw new Error(`setBackend('${name}') returned false`);
  await tf.ready();
}

/**
 * Selects the fastest backend that loads, in the order tensorflow → wasm → cpu, starting from `prefer` if given.
 * Idempotent: later calls return the first choice unless `prefer` differs. The apps log the returned value.
 */
export async function initBackend(options: { prefer?: BackendName } = {}): Promise<BackendInfo> {
  if (chosen && (!options.prefer || options.prefer === chosen.name)) {
    if (tf.getBackend() !== chosen.name) await tf.setBackend(chosen.name);
    return chosen;
  }
  // Concurrent first calls share one selection: interleaved setBackend calls leave tfjs on a half-initialised
  // backend ("Backend 'cpu' has not yet been initialized"), as ten silos starting their first round at once showed.
  if (!options.prefer) return (selecting ??= selectBackend({}).finally(() => (selecting = undefined)));
  return selectBackend(options);
}

let selecting: Promise<BackendInfo> | undefined;

async function selectBackend(options: { prefer?: BackendName }): Promise<BackendInfo> {
  // PROD silences the "install tfjs-node" banner and skips per-op debug checks.
  tf.env().set('PROD', true);
  const order = options.prefer ? [options.prefer, ...ORDER.filter((n) => n !== options.prefer)] : ORDER;
  const failures: string[] = [];
  for (const name of order) {
    try {
      await load(name);
      const simd = name === 'wasm' ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : undefined;
      const why = failures.length ? `; unavailable: ${failures.join('; ')}` : '';
      chosen = {
        name,
        reason: `${options.prefer === name ? 'preferred' : 'first available'}${why}`,
        ...(simd === undefined ? {} : { simd }),
      };
      return chosen;
    } catch (e) {
      failures.push(`${name} (${(e as Error).message.split('\n')[0]})`);
    }
  }
  throw new FlError('BACKEND_UNAVAILABLE', failures.join('; '));
}

/** The tfjs kernels a layer type needs for a training step (forward and gradients). */
const KERNELS: Partial<Record<ModelSpec['layers'][number]['type'], readonly string[]>> = {
  conv2d: ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'],
  maxPooling2d: ['MaxPool', 'MaxPoolGrad'],
  batchNormalization: ['FusedBatchNorm', 'Rsqrt'],
};

/** Kernels `spec` needs that `backend` lacks (wasm has no Conv2DBackpropFilter, so conv models train on cpu). */
export function missingKernels(spec: ModelSpec, backend: string): string[] {
  const needed = new Set(spec.layers.flatMap((l) => KERNELS[l.type] ?? []));
  return [...needed].filter((k) => tf.getKernel(k, backend) === undefined);
}

/**
 * Makes the active backend one that can train `spec`: the chosen backend if it has every needed kernel, else cpu.
 * The backend is process-global in tfjs: call it inside `withBackendFor`, which runs one model at a time.
 */
export async function useBackendFor(spec: ModelSpec): Promise<BackendName> {
  const info = chosen ?? (await initBackend());
  const target: BackendName = missingKernels(spec, info.name).length === 0 ? info.name : 'cpu';
  if (tf.getBackend() !== target && !(await tf.setBackend(target)))
    throw new FlError('BACKEND_UNAVAILABLE', `cannot switch to ${target}`);
  return target;
}

let exclusiveTail: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` with a backend that can train `spec` active, after every earlier call has finished: one training or
 * evaluation at a time per process, because the tfjs backend is process-global and a conv model (cpu) would
 * otherwise switch it under a dense model's training (wasm). Callers queue in order; a failure frees the queue.
 */
export function withBackendFor<T>(spec: ModelSpec, fn: (backend: BackendName) => Promise<T>): Promise<T> {
  const run = exclusiveTail.then(async () => fn(await useBackendFor(spec)));
  exclusiveTail = run.catch(() => undefined);
  return run;
}
