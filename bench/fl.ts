// `npm run bench -- fl [--json] [--silos N] [--rounds R] [--local-epochs E] [--per-digit K] [--epsilon ε] [--clip C]
//   [--dp-per-digit K] [--dp-rounds R] [--record-dp-only] [--owner-dp-only]`
// Federated simulation: N silos × R rounds in one process on MNIST digits (the `mnist` package) split across owners
// IID and non-IID (two label shards per silo, McMahan et al. 2017 §3). Each silo is the real apps/silo job runner
// (bench/lib/fl-harness.ts): its shard sealed with age into an embedded IPFS store and registered on an embedded
// chain, the buyer's signed job admitted (licence, model hash, schema, ε ledger), local training and privatisation in
// `runner.trainRound`, SecAgg+ clients fed by it, FedAvg, federated evaluation through `runner.evaluate`. Runs:
// plain sum, SecAgg+, non-IID + SecAgg+, owner-level DP + SecAgg+. Beside them: centralised training of the same
// model on the pooled training splits for the same number of passes. Prints accuracy per round and time per round.
// Record-level DP (DP-SGD inside each silo, ε per dataset from the sampled-Gaussian accountant) runs as a libs/fl
// simulation — trainLocal per silo, FedAvg of the updates, no SecAgg+ — on K digits per class (default 600, so each
// silo holds 600 rows) over `--dp-rounds` rounds (default 15: the schedule bench/privacy.ts audits), beside
// non-private FedAvg of the same model, rounds and data; the silo runner does not yet train record-level DP (issue 14,
// step e). `--record-dp-only` runs only that simulation, `--owner-dp-only` only the owner-level DP + SecAgg+ run and
// centralised training (to iterate on one of them).
import { pathToFileURL } from 'node:url';
import {
  type InputEncoding,
  type LocalData,
  type ModelSpec,
  combineEval,
  encodeRows,
  evaluateLocal,
  fedAvgStep,
  initBackend,
  initialWeights,
  noiseMultiplierFor,
  recordLevelEpsilon,
  recordLevelNoiseMultiplier,
  selectSamples,
  trainLocal,
  SeededRng,
} from '@sealfold/fl';
import { defaultNeighbourhood, defaultThreshold } from '@sealfold/secagg';
import { loadMnist } from '../libs/fl/test/datasets.js';
import { FlHarness, type JobRunResult } from './lib/fl-harness.js';
import { type Figure, figure, report, wantsJson } from './lib/report.js';
import { positiveArg, positiveIntegerArg } from './lib/args.js';

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
export const TRAIN = {
  epochs: positiveIntegerArg('local-epochs', 2),
  batchSize: 32,
  optimizer: 'sgd' as const,
  learningRate: 0.1,
};

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

export async function centralised(
  train: LocalData,
  evalSets: readonly LocalData[],
  rounds: number,
): Promise<{ accuracy: number[][]; samplesPerSecond: number }> {
  // One "round" of centralised training = TRAIN.epochs passes over the pooled data, as each silo makes per round.
  let w = initialWeights(SPEC, 1);
  const accuracy: number[][] = evalSets.map(() => []);
  let sps = 0;
  for (let e = 1; e <= rounds; e++) {
    const r = await trainLocal({ modelSpec: SPEC, globalWeights: w, data: train, seed: `central/${e}`, ...TRAIN });
    sps = r.metrics.samplesPerSecond;
    w = fedAvgStep(w, r.update, 1);
    for (const [i, set] of evalSets.entries())
      accuracy[i].push(combineEval(await evaluateLocal(SPEC, w, set)).accuracy);
  }
  return { accuracy, samplesPerSecond: sps };
}

/** DP-SGD settings for the record-level runs: larger lots and step size suit clipped, noised gradients. */
export const DP_TRAIN = { epochs: TRAIN.epochs, batchSize: 64, optimizer: 'sgd' as const, learningRate: 0.5 };

/**
 * FedAvg over `shards` with libs/fl only (equal weights, every silo every round), optionally with record-level DP:
 * each silo runs DP-SGD at σ, C. Returns test accuracy per round, the mean local-training time per silo-round and
 * the final global weights (the released model; `npm run bench -- privacy` audits it).
 */
export async function simulateFedAvg(
  shards: readonly LocalData[],
  test: LocalData,
  rounds: number,
  training: typeof TRAIN | typeof DP_TRAIN,
  dp?: { noiseMultiplier: number; clipNorm: number },
): Promise<{ accuracy: number[]; trainMs: number; weights: Float32Array }> {
  let w = initialWeights(SPEC, 1);
  const accuracy: number[] = [];
  let trainMs = 0;
  for (let r = 1; r <= rounds; r++) {
    const mean = new Float32Array(w.length);
    for (const [i, data] of shards.entries()) {
      const t = performance.now();
      const res = await trainLocal({ modelSpec: SPEC, globalWeights: w, data, seed: `sim/${r}/${i}`, ...training, dp });
      trainMs += performance.now() - t;
      for (let j = 0; j < mean.length; j++) mean[j] += res.update[j] / shards.length;
    }
    w = fedAvgStep(w, mean, 1);
    accuracy.push(combineEval(await evaluateLocal(SPEC, w, test)).accuracy);
  }
  return { accuracy, trainMs: trainMs / (rounds * shards.length), weights: w };
}

/** Median wall time of one local epoch on `data`, plain vs DP-SGD, same model, lot size and step size. */
async function epochTimes(data: LocalData, clipNorm: number): Promise<{ plain: number; dp: number }> {
  const w = initialWeights(SPEC, 1);
  const one = async (dp: boolean): Promise<number> => {
    const r = await trainLocal({
      modelSpec: SPEC,
      globalWeights: w,
      data,
      seed: 'epoch-time',
      ...DP_TRAIN,
      epochs: 1,
      ...(dp ? { dp: { noiseMultiplier: 1, clipNorm } } : {}),
    });
    return r.metrics.seconds * 1000;
  };
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const plain: number[] = [];
  const priv: number[] = [];
  await one(false);
  await one(true);
  for (let i = 0; i < 7; i++) {
    plain.push(await one(false));
    priv.push(await one(true));
  }
  return { plain: med(plain), dp: med(priv) };
}

/**
 * Record-level DP figures: ε = 8 (target: within 5 points of non-private FedAvg on the same data, model and rounds)
 * and ε = 2, each silo's ε at δ for its own rows; and DP-SGD vs plain epoch time.
 */
async function recordLevel(
  silos: number,
  rounds: number,
  clipNorm: number,
  delta: number,
  test: LocalData,
): Promise<Figure[]> {
  // Record-level DP: each silo's ε at δ for its own rows, from the sampled-Gaussian accountant.
  const dpPerDigit = positiveIntegerArg('dp-per-digit', 600);
  const dpShards = partition(loadMnist(dpPerDigit, 0, 1), silos, true, 1);
  const rows = Math.min(...dpShards.map((x) => x.labels.length));
  const schedule = { delta, rows, batchSize: DP_TRAIN.batchSize, localEpochs: DP_TRAIN.epochs, rounds };
  const nonPrivate = await simulateFedAvg(dpShards, test, rounds, TRAIN);
  const recordRuns = [];
  for (const eps of [8, 2]) {
    const noiseMultiplier = recordLevelNoiseMultiplier({ targetEpsilon: eps, ...schedule });
    const epsilon = recordLevelEpsilon({ noiseMultiplier, ...schedule });
    const sim = await simulateFedAvg(dpShards, test, rounds, DP_TRAIN, { noiseMultiplier, clipNorm });
    recordRuns.push({ target: eps, epsilon, noiseMultiplier, ...sim });
  }
  const times = await epochTimes(dpShards[0], clipNorm);
  log(
    `\nrecord-level DP (DP-SGD in each silo; libs/fl simulation, FedAvg without SecAgg+): ${silos} silos × ${rows} rows, δ = ${delta}, C = ${clipNorm}, lot ${DP_TRAIN.batchSize} (Poisson), lr ${DP_TRAIN.learningRate}; non-private FedAvg: batch ${TRAIN.batchSize}, lr ${TRAIN.learningRate}`,
  );
  log(
    `round  non-private  ${recordRuns.map((x) => `ε=${x.epsilon.toFixed(2)} (σ=${x.noiseMultiplier.toFixed(3)})`).join('  ')}`,
  );
  for (let r = 0; r < rounds; r++)
    log(
      `${String(r + 1).padStart(5)}  ${pct(nonPrivate.accuracy[r])}        ${recordRuns.map((x) => pct(x.accuracy[r]) + '                 ').join('')}`,
    );
  log(`one local epoch on ${rows} rows: plain ${times.plain.toFixed(0)} ms, DP-SGD ${times.dp.toFixed(0)} ms`);
  const last = (xs: number[]): number => 100 * xs[xs.length - 1];
  return [
    ...recordRuns.map((x) =>
      figure(
        `final test accuracy, record-level DP ε=${x.epsilon.toFixed(2)} (δ=${delta}, σ=${x.noiseMultiplier.toFixed(3)}) vs non-private FedAvg, ${silos} silos × ${rows} rows`,
        last(x.accuracy),
        '%',
        last(nonPrivate.accuracy),
        x.target === 8
          ? { op: '>=', of: 'value', value: Math.round(10 * (last(nonPrivate.accuracy) - 5)) / 10 }
          : undefined,
      ),
    ),
    figure('DP-SGD local epoch time vs plain epoch (MLP, same lot size)', times.dp, 'ms', times.plain, {
      op: '<=',
      of: 'ratio',
      value: 2,
    }),
  ];
}

/**
 * Raw MNIST rows (pixels p0…p783, class i named "i") through a job's input encoding, as `model predict` puts a
 * buyer's rows through the encoding in the model bundle: the silos trained on encoded (standardised) pixels, so the
 * unseen test images must be encoded the same way before the global model sees them.
 */
export function encodeForJob(data: LocalData, encoding: InputEncoding): LocalData {
  const d = data.numFeatures;
  const F = encoding.features.length;
  const rows = data.labels.length;
  const column = encoding.features.map((f) => Number(f.name.slice(1)));
  const values = new Float64Array(rows * F);
  for (let r = 0; r < rows; r++) for (let k = 0; k < F; k++) values[r * F + k] = data.features[r * d + column[k]];
  const labels = Int32Array.from(data.labels, (c) => encoding.classes.indexOf(String(c)));
  return encodeRows({ rows, values, missing: new Uint8Array(rows * F), labels }, encoding);
}

const pct = (x: number): string => (100 * x).toFixed(1).padStart(5);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A harness run plus the buyer's view: accuracy of each round's global model on the unseen test images. */
interface Run extends JobRunResult {
  readonly testAccuracy: number[];
}

async function main(): Promise<void> {
  const silos = positiveIntegerArg('silos', 10);
  // 30 rounds: the IID target compares final accuracies, and FedAvg (14 local steps a round per silo) still gained
  // ~0.1 point a round at 15, where the centralised model (126 steps a round) had levelled off (89.1 at 15, 89.0 at 30).
  const rounds = positiveIntegerArg('rounds', 30);
  const dpRounds = positiveIntegerArg('dp-rounds', 15);
  const perDigit = positiveIntegerArg('per-digit', 200);
  const targetEpsilon = positiveArg('epsilon', 8);
  const clipNorm = positiveArg('clip', 1);
  const delta = 1e-5;
  const backend = await initBackend();
  log(`backend: ${backend.name}${backend.simd ? ' (SIMD)' : ''} — ${backend.reason}`);
  const train = loadMnist(perDigit, 0, 1);
  const test = loadMnist(100, 700, 2);
  if (process.argv.includes('--record-dp-only')) {
    report('fl', await recordLevel(silos, dpRounds, clipNorm, delta, test));
    return;
  }
  log(
    `MNIST: ${train.labels.length} images over ${silos} silos (each keeps 10 % held out for federated evaluation), ${test.labels.length} unseen test images; model 784-64-10 (${initialWeights(SPEC, 1).length} weights); ${rounds} rounds × ${TRAIN.epochs} local epochs, batch ${TRAIN.batchSize}, SGD lr ${TRAIN.learningRate}`,
  );

  const setupStart = performance.now();
  const ownerDpOnly = process.argv.includes('--owner-dp-only');
  const harness = await FlHarness.start({ owners: silos });
  try {
    const iid = await harness.addDatasets(partition(train, silos, true, 1), 'mnist-iid');
    const nonIid = ownerDpOnly ? [] : await harness.addDatasets(partition(train, silos, false, 1), 'mnist-noniid');
    log(
      `setup: embedded chain, ${iid.length + nonIid.length} shards sealed (age → embedded IPFS) and registered in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`,
    );
    const run = async (datasets: bigint[], o: Partial<Parameters<FlHarness['runJob']>[0]>): Promise<Run> => {
      const testAccuracy: number[] = [];
      let encodedTest: LocalData | undefined;
      const result = await harness.runJob({
        datasets,
        spec: SPEC,
        training: TRAIN,
        rounds,
        aggregation: 'secagg',
        ...o,
        onRound: async (_, w, encoding) => {
          encodedTest ??= encodeForJob(test, encoding);
          testAccuracy.push(combineEval(await evaluateLocal(SPEC, w, encodedTest)).accuracy);
        },
      });
      return { ...result, testAccuracy };
    };
    // σ is signed in thousandths: round up so the job's ε stays at or below the target.
    const sigma = Math.ceil(1000 * noiseMultiplierFor({ targetEpsilon, rounds, delta })) / 1000;
    // The pixels' public range as encoded (the `mnist` package gives 0…1), signed like `job create --feature-range
    // p0=0:1 …`: under DP each silo clips into it before its noised Σx/Σx², so the pixels are standardised as in the
    // non-private runs (a feature without a signed range is not).
    const pixelRanges = Object.fromEntries(
      Array.from({ length: SPEC.inputShape[0] }, (_, j) => [`p${j}`, [0, 1] as const]),
    );
    const ownerDp = () => run(iid, { dp: { noiseMultiplier: sigma, clipNorm, delta }, featureRanges: pixelRanges });
    if (ownerDpOnly) {
      // Iterating on the owner-level DP run alone: it, and centralised training on the same pooled rows.
      const dp = await ownerDp();
      const [centralHeldOut, centralTest] = (
        await centralised(dp.pooledTrain, [dp.pooledValidation, encodeForJob(test, dp.encoding)], rounds)
      ).accuracy;
      log(`\nround  central        dp-secagg (ε=${dp.epsilon.toFixed(2)}, σ=${sigma}, C=${clipNorm})`);
      for (let r = 0; r < rounds; r++)
        log(
          `${String(r + 1).padStart(5)}  ${pct(centralHeldOut[r])} /${pct(centralTest[r])}  ${pct(dp.rounds[r].accuracy)} /${pct(dp.testAccuracy[r])}`,
        );
      const last = (xs: number[]): number => 100 * xs[xs.length - 1];
      report('fl', [
        figure(
          `final test accuracy, DP ε=${dp.epsilon.toFixed(2)} + SecAgg+ vs centralised`,
          last(dp.testAccuracy),
          '%',
          last(centralTest),
        ),
      ]);
      return;
    }
    const plain = await run(iid, { aggregation: 'plain' });
    const secure = await run(iid, {});
    const skewed = await run(nonIid, {});
    const dp = await ownerDp();
    const central = await centralised(
      secure.pooledTrain,
      [secure.pooledValidation, encodeForJob(test, secure.encoding)],
      rounds,
    );

    const recordFigures = await recordLevel(silos, dpRounds, clipNorm, delta, test);
    const [centralHeldOut, centralTest] = central.accuracy;

    log(
      `\naccuracy per round: federated evaluation on the silos' held-out splits (${secure.rounds[0].evalCount} images, via runner.evaluate) / unseen test set`,
    );
    log(
      `round  central        fedavg-plain   fedavg-secagg  non-iid-secagg dp-secagg (ε=${dp.epsilon.toFixed(2)}, σ=${sigma}, C=${clipNorm})`,
    );
    const cell = (a: number[], b: number[], r: number) => `${pct(a[r])} /${pct(b[r])}  `;
    for (let r = 0; r < rounds; r++)
      log(
        `${String(r + 1).padStart(5)}  ${cell(centralHeldOut, centralTest, r)}` +
          [plain, secure, skewed, dp]
            .map((x) =>
              cell(
                x.rounds.map((y) => y.accuracy),
                x.testAccuracy,
                r,
              ),
            )
            .join(''),
      );
    const secureRuns = [secure, skewed, dp];
    const maxSumError = Math.max(...secureRuns.flatMap((x) => x.rounds.map((y) => y.sumError! / y.quantStep!)));
    log(
      `max |Δ| coordinate ${Math.max(...[plain, secure].flatMap((x) => x.rounds.map((y) => y.maxAbsUpdate))).toFixed(3)} (quantiser range ±${secure.params!.clip}); ` +
        `SecAgg+ n = ${silos}, k = ${secure.params!.k}, t = ${secure.params!.t}, ${secure.params!.bits} bits; every SecAgg+ sum within ${maxSumError.toFixed(2)} quantiser steps of the plain sum of the same contributions; ` +
        `DP noise shares sized for t = ${Math.max(defaultThreshold(defaultNeighbourhood(silos)), 3)} of ${silos} contributors, ε on every silo's ledger ${dp.epsilon.toFixed(3)}`,
    );
    const trainPerRound = (x: Run) => mean(x.rounds.map((y) => y.trainMs)).toFixed(0);
    log(
      `local training per round (inside runner.trainRound, all silos): plain ${trainPerRound(plain)} ms, SecAgg+ ${trainPerRound(secure)} ms, non-IID ${trainPerRound(skewed)} ms, DP ${trainPerRound(dp)} ms (the machine is shared: compare the outside-training figure)`,
    );
    // Owner-level DP with few owners: the mean update carries noise of norm ≈ σC·√d / n against a signal ≤ C.
    const d = initialWeights(SPEC, 1).length;
    log(
      `DP signal/noise per round: clipped mean update ‖·‖₂ ≤ C = ${clipNorm}, noise on it ≈ σC√d/n = ${((sigma * clipNorm * Math.sqrt(d)) / silos).toFixed(1)} — owner-level DP needs owners in the thousands, not ${silos}`,
    );
    log('');

    const last = (xs: number[]): number => 100 * xs[xs.length - 1];
    const fedLast = (x: Run): number => 100 * x.rounds[x.rounds.length - 1].accuracy;
    const perRound = (x: Run) => x.rounds.map((y) => y.roundMs);
    const overhead = (x: Run) => x.rounds.map((y) => y.roundMs - y.trainMs);
    const within = (points: number) => ({
      op: '>=' as const,
      of: 'value' as const,
      value: Math.round(10 * (last(centralTest) - points)) / 10,
    });
    const figures: Figure[] = [
      figure(
        'final test accuracy, FedAvg + SecAgg+ IID vs centralised',
        last(secure.testAccuracy),
        '%',
        last(centralTest),
        within(1),
      ),
      figure(
        'final federated-evaluation accuracy (silos’ held-out splits), SecAgg+ IID vs centralised on the same images',
        fedLast(secure),
        '%',
        last(centralHeldOut),
      ),
      figure(
        'final test accuracy, FedAvg + SecAgg+ vs plain sum (IID)',
        last(secure.testAccuracy),
        '%',
        last(plain.testAccuracy),
      ),
      figure(
        'final test accuracy, non-IID + SecAgg+ vs centralised',
        last(skewed.testAccuracy),
        '%',
        last(centralTest),
      ),
      figure(
        `final test accuracy, DP ε=${dp.epsilon.toFixed(2)} + SecAgg+ vs centralised`,
        last(dp.testAccuracy),
        '%',
        last(centralTest),
        within(5),
      ),
      ...recordFigures,
      figure('time per round with SecAgg+ vs plain sum', mean(perRound(secure)), 'ms', mean(perRound(plain))),
      figure(
        'time per round outside local training (aggregation + FedAvg step), SecAgg+ vs plain sum',
        mean(overhead(secure)),
        'ms',
        mean(overhead(plain)),
      ),
      figure(
        `training throughput on ${backend.name}, silo-sized shards vs pooled data`,
        (secure.pooledTrain.labels.length * TRAIN.epochs) / (mean(secure.rounds.map((y) => y.trainMs)) / 1000),
        'samples/s',
        central.samplesPerSecond,
      ),
    ];
    report('fl', figures);
  } finally {
    await harness.close();
  }
}

// Runs only as a script (npm run bench -- fl); a test can import the functions above.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
