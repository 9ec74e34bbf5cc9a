// `npm run bench -- fl [--json] [--silos N] [--rounds R] [--local-epochs E] [--per-digit K] [--epsilon ε] [--clip C]`
// Federated simulation: N silos × R rounds in one process, FedAvg with and without SecAgg+ on MNIST digits (the
// `mnist` package) split across owners IID and non-IID (two label shards per silo, McMahan et al. 2017 §3), and
// with owner-level DP (clip + distributed Gaussian noise through SecAgg+). Beside it: centralised training of the
// same model on the pooled data for the same number of passes. Prints accuracy per round and time per round.
import { pathToFileURL } from 'node:url';
import { Wallet } from 'ethers';
import { ed25519 } from '@sealfold/crypto';
import {
  type LocalData,
  type ModelSpec,
  combineEval,
  evaluateLocal,
  fedAvgStep,
  gaussianEpsilon,
  initBackend,
  initialWeights,
  noiseMultiplierFor,
  noiseShareStd,
  l2Norm,
  privatizeUpdate,
  selectSamples,
  trainLocal,
  weightedSum,
  SeededRng,
} from '@sealfold/fl';
import {
  CertificateCache,
  createSessionIdentity,
  makeParams,
  simulateRound,
  type SessionIdentity,
} from '@sealfold/secagg';
import { loadMnist } from '../libs/fl/test/datasets.js';
import { type Figure, figure, report, wantsJson } from './lib/report.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const log = (line: string): void => {
  if (!wantsJson()) console.log(line);
};

export const SPEC: ModelSpec = {
  inputShape: [784],
  layers: [
    { type: 'dense', units: 64, activation: 'relu' },
    { type: 'dense', units: 10 },
  ],
};
const TRAIN = { epochs: arg('local-epochs', 2), batchSize: 32, optimizer: 'sgd' as const, learningRate: 0.1 };

type Aggregation = 'plain' | 'secagg';
interface RunResult {
  readonly accuracy: number[];
  readonly roundMs: number[];
  readonly aggregateMs: number[];
  readonly maxAbsUpdate: number;
  readonly medianNorm: number;
  /** Training throughput over all silos (samples × epochs / training seconds). */
  readonly samplesPerSecond: number;
  /** Final global weights. */
  readonly weights: Float32Array;
}

export function partition(data: LocalData, silos: number, iid: boolean, seed: number): LocalData[] {
  const n = data.labels.length;
  const rng = new SeededRng(seed, 'bench/fl/partition');
  const idx = Array.from({ length: n }, (_, i) => i);
  if (iid) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return Array.from({ length: silos }, (_, s) =>
      selectSamples(
        data,
        idx.filter((_, k) => k % silos === s),
      ),
    );
  }
  // Non-IID: sort by label, cut 2·silos shards, give each silo two random shards.
  idx.sort((a, b) => data.labels[a] - data.labels[b] || a - b);
  const shards = 2 * silos;
  const size = Math.floor(n / shards);
  const order = Array.from({ length: shards }, (_, i) => i);
  for (let i = shards - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return Array.from({ length: silos }, (_, s) =>
    selectSamples(data, [
      ...idx.slice(order[2 * s] * size, (order[2 * s] + 1) * size),
      ...idx.slice(order[2 * s + 1] * size, (order[2 * s + 1] + 1) * size),
    ]),
  );
}

interface Directory {
  identities: Map<number, SessionIdentity>;
  walletOf: (id: number) => string | undefined;
}

async function directory(jobId: string, silos: number): Promise<Directory> {
  const identities = new Map<number, SessionIdentity>();
  const wallets = new Map<number, string>();
  for (let id = 1; id <= silos; id++) {
    const wallet = Wallet.createRandom();
    wallets.set(id, wallet.address);
    identities.set(id, await createSessionIdentity(ed25519, wallet, jobId, id));
  }
  return { identities, walletOf: (id) => wallets.get(id) };
}

export async function federated(o: {
  parts: LocalData[];
  test: LocalData;
  rounds: number;
  aggregation: Aggregation;
  dp?: { clipNorm: number; noiseMultiplier: number };
  jobId: string;
}): Promise<RunResult> {
  const d = initialWeights(SPEC, 1).length;
  const silos = o.parts.length;
  const dir = o.aggregation === 'secagg' ? await directory(o.jobId, silos) : null;
  const certificates = new CertificateCache();
  const maxWeight = o.dp ? 1 : Math.max(...o.parts.map((p) => p.labels.length));
  const bits = Math.min(24, Math.floor(Math.log2(2 ** 32 / (silos * maxWeight))));
  // The SecAgg+ quantiser clips each coordinate to ±clip. Plain updates stay well inside ±1 here (printed below).
  // With DP the noise share must pass unclipped, or the sum is no longer the Gaussian mechanism: ±(C + 6·std)
  // (a rigorous version is the distributed discrete Gaussian with modular clipping, Kairouz et al. 2021).
  // DP: the coordinator releases only a sum over all `silos` owners (m = n), so each adds σ²C²/n and a full round
  // carries exactly σ²C² (the SecAgg+ threshold t would be the floor if it accepted dropouts).
  const minContributors = silos;
  const noiseStd = o.dp ? noiseShareStd(o.dp.noiseMultiplier, o.dp.clipNorm, minContributors) : 0;
  const params = makeParams({ n: silos, d, clip: o.dp ? o.dp.clipNorm + 6 * noiseStd : 1, bits, maxWeight });
  let w = initialWeights(SPEC, 1);
  const accuracy: number[] = [];
  const roundMs: number[] = [];
  const aggregateMs: number[] = [];
  let maxAbsUpdate = 0;
  const norms: number[] = [];
  let trainSeconds = 0;
  let samplesTrained = 0;
  for (let round = 1; round <= o.rounds; round++) {
    const start = performance.now();
    const updates: { update: Float32Array; weight: number }[] = [];
    for (let s = 0; s < silos; s++) {
      const r = await trainLocal({
        modelSpec: SPEC,
        globalWeights: w,
        data: o.parts[s],
        seed: `${o.jobId}/${s}/${round}`,
        ...TRAIN,
      });
      for (const x of r.update) maxAbsUpdate = Math.max(maxAbsUpdate, Math.abs(x));
      norms.push(l2Norm(r.update));
      trainSeconds += r.metrics.seconds;
      samplesTrained += r.numSamples * TRAIN.epochs;
      if (o.dp) {
        const { noised } = privatizeUpdate(r.update, { ...o.dp, minContributors });
        updates.push({ update: noised, weight: 1 });
      } else updates.push({ update: r.update, weight: r.numSamples });
    }
    const aggStart = performance.now();
    let sum: Float32Array;
    let totalWeight: number;
    if (o.aggregation === 'plain') ({ sum, totalWeight } = weightedSum(updates));
    else {
      const res = await simulateRound({
        jobId: o.jobId,
        round,
        params,
        inputs: new Map(updates.map((u, s) => [s + 1, u])),
        identities: dir!.identities,
        walletOf: dir!.walletOf,
        certificatesOf: () => certificates,
      });
      if (res.outcome.kind !== 'done') throw new Error(`SecAgg+ round ${round} aborted: ${res.outcome.error.message}`);
      if (o.dp && res.outcome.result.contributors.length < minContributors)
        throw new Error(
          `round ${round}: only ${res.outcome.result.contributors.length} contributors, DP needs ${minContributors}`,
        );
      sum = Float32Array.from(res.outcome.result.sum);
      totalWeight = res.outcome.result.totalWeight;
    }
    w = fedAvgStep(w, sum, totalWeight);
    aggregateMs.push(performance.now() - aggStart);
    roundMs.push(performance.now() - start);
    accuracy.push(combineEval(await evaluateLocal(SPEC, w, o.test)).accuracy);
  }
  norms.sort((a, b) => a - b);
  return {
    accuracy,
    roundMs,
    aggregateMs,
    maxAbsUpdate,
    medianNorm: norms[norms.length >> 1],
    samplesPerSecond: samplesTrained / trainSeconds,
    weights: w,
  };
}

export async function centralised(
  train: LocalData,
  test: LocalData,
  rounds: number,
): Promise<{ accuracy: number[]; samplesPerSecond: number }> {
  // One "round" of centralised training = TRAIN.epochs passes over the pooled data, as each silo makes per round.
  let w = initialWeights(SPEC, 1);
  const accuracy: number[] = [];
  let sps = 0;
  for (let e = 1; e <= rounds; e++) {
    const r = await trainLocal({ modelSpec: SPEC, globalWeights: w, data: train, seed: `central/${e}`, ...TRAIN });
    sps = r.metrics.samplesPerSecond;
    w = fedAvgStep(w, r.update, 1);
    accuracy.push(combineEval(await evaluateLocal(SPEC, w, test)).accuracy);
  }
  return { accuracy, samplesPerSecond: sps };
}

const tOf = (n: number): number => makeParams({ n, d: 1, clip: 1, bits: 8, maxWeight: 1 }).t;
const pct = (x: number): string => (100 * x).toFixed(1).padStart(5);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const silos = arg('silos', 10);
  const rounds = arg('rounds', 15);
  const perDigit = arg('per-digit', 200);
  const targetEpsilon = arg('epsilon', 8);
  const delta = 1e-5;
  const backend = await initBackend();
  log(`backend: ${backend.name}${backend.simd ? ' (SIMD)' : ''} — ${backend.reason}`);
  const train = loadMnist(perDigit, 0, 1);
  const test = loadMnist(100, 700, 2);
  log(
    `MNIST: ${train.labels.length} training images over ${silos} silos, ${test.labels.length} test images; model 784-64-10 (${initialWeights(SPEC, 1).length} weights); ${rounds} rounds × ${TRAIN.epochs} local epochs, batch ${TRAIN.batchSize}, SGD lr ${TRAIN.learningRate}`,
  );

  const central = await centralised(train, test, rounds);
  const iid = partition(train, silos, true, 1);
  const nonIid = partition(train, silos, false, 1);
  const plain = await federated({ parts: iid, test, rounds, aggregation: 'plain', jobId: 'bench-plain' });
  const secure = await federated({ parts: iid, test, rounds, aggregation: 'secagg', jobId: 'bench-secagg' });
  const skewed = await federated({ parts: nonIid, test, rounds, aggregation: 'secagg', jobId: 'bench-noniid' });
  const sigma = noiseMultiplierFor({ targetEpsilon, rounds, delta });
  const eps = gaussianEpsilon({ noiseMultiplier: sigma, rounds, delta }).epsilon;
  const clipNorm = arg('clip', 1);
  const dp = await federated({
    parts: iid,
    test,
    rounds,
    aggregation: 'secagg',
    dp: { clipNorm, noiseMultiplier: sigma },
    jobId: 'bench-dp',
  });

  log(
    `\nround  central  fedavg-plain  fedavg-secagg  non-iid-secagg  dp-secagg(ε=${eps.toFixed(2)}, σ=${sigma.toFixed(3)}, C=${clipNorm})`,
  );
  for (let r = 0; r < rounds; r++)
    log(
      `${String(r + 1).padStart(5)}  ${pct(central.accuracy[r])}%  ${pct(plain.accuracy[r])}%        ${pct(secure.accuracy[r])}%         ${pct(skewed.accuracy[r])}%          ${pct(dp.accuracy[r])}%`,
    );
  log(
    `max |Δ| coordinate ${Math.max(plain.maxAbsUpdate, secure.maxAbsUpdate).toFixed(3)} (quantiser range ±1); ` +
      `median ‖Δ‖₂ ${plain.medianNorm.toFixed(3)} (DP clip C = ${clipNorm}); SecAgg+ threshold t = ${tOf(silos)}, DP noise over m = ${silos} contributors`,
  );
  log('');

  const last = (xs: number[]): number => 100 * xs[xs.length - 1];
  const figures: Figure[] = [
    figure('final accuracy, FedAvg + SecAgg+ IID vs centralised', last(secure.accuracy), '%', last(central.accuracy), {
      op: '>=',
      of: 'value',
      value: Math.round(10 * (last(central.accuracy) - 1)) / 10,
    }),
    figure('final accuracy, FedAvg + SecAgg+ vs plain sum (IID)', last(secure.accuracy), '%', last(plain.accuracy)),
    figure('final accuracy, non-IID + SecAgg+ vs centralised', last(skewed.accuracy), '%', last(central.accuracy)),
    figure(
      `final accuracy, DP ε=${eps.toFixed(2)} + SecAgg+ vs centralised`,
      last(dp.accuracy),
      '%',
      last(central.accuracy),
      {
        op: '>=',
        of: 'value',
        value: Math.round(10 * (last(central.accuracy) - 5)) / 10,
      },
    ),
    figure('time per round with SecAgg+ vs plain sum', mean(secure.roundMs), 'ms', mean(plain.roundMs)),
    figure('aggregation time per round, SecAgg+ vs plain sum', mean(secure.aggregateMs), 'ms', mean(plain.aggregateMs)),
    figure(
      `training throughput on ${backend.name}, silo-sized batches vs pooled data`,
      plain.samplesPerSecond,
      'samples/s',
      central.samplesPerSecond,
    ),
  ];
  report('fl', figures);
}

// Runs only as a script (npm run bench -- fl); a test can import the functions above.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
