// `npm run bench -- privacy [--json] [--members K] [--shadows N] [--epochs E] [--silos N] [--rounds R]
//   [--local-epochs E] [--dp-members K] [--epsilon ε] [--strong-epsilon ε2] [--single-owner-members K]`
// The owner's membership audit (libs/fl auditMembership: loss-threshold attack and offline LiRA, Carlini et al. 2022)
// on MNIST digits (the `mnist` package):
//   positive control — a deliberately overfit non-private 784-128-10 MLP (K members, many epochs of plain SGD): the
//     audit must see the leak (AUC ≥ 0.6);
//   record-level DP — the model `npm run bench -- fl` releases in its record-level setting: its 784-64-10 MLP,
//     FedAvg over N silos of K rows each (default 10 × 600, IID), R rounds × E local epochs of libs/fl DP-SGD in
//     every silo (Poisson lots of 64, lr 0.5, C = 1, σ from the sampled-Gaussian accountant for ε ≤ 8 per silo
//     dataset at δ = 1e-5; bench/fl.ts simulateFedAvg). The audited owner is silo 0: members are its K rows, non-
//     members K held-out rows of its own, drawn at random from the same pool. Targets: AUC ≤ 0.55, TPR at 0.1 % FPR
//     ≤ 1 %, and the empirical ε lower bound ≤ the accountant's ε.
// The owner holds only its own rows, so its shadow models (issue 14) train on halves of members ∪ non-members —
// K rows each, the silo's size — with the job's signed per-silo settings as one run (R·E epochs of the same DP-SGD);
// they cannot see the other silos. Two more federated models tell a leak from an artefact of the audit: a null
// control (silo 0 trains on a third set of its rows instead, the other silos unchanged, audited on the same members
// and non-members; same settings, so it reuses the main model's shadows: AUC must be 0.5 within its interval) and the
// same rows at a smaller ε (a leak from training must shrink with ε). A harsher single-owner case, printed without a
// target: the 784-128-10 MLP trained by DP-SGD at ε ≤ 8 on K rows alone (default 1000, R·E epochs, no averaging
// with other silos), with its own null control; `--single-owner-members 0` skips it. Every AUC comes with its DeLong
// 95 % interval, every TPR with its Clopper–Pearson interval; each stage's wall time is printed.
import { pathToFileURL } from 'node:url';
import {
  type AttackResult,
  type LocalData,
  type MembershipAuditReport,
  type MembershipShadows,
  type ModelSpec,
  type ShadowTraining,
  auditMembership,
  combineEval,
  evaluateLocal,
  initBackend,
  initialWeights,
  membershipShadows,
  recordLevelEpsilon,
  recordLevelNoiseMultiplier,
  selectSamples,
  trainLocal,
} from '@sealfold/fl';
import { loadMnist } from '../libs/fl/test/datasets.js';
import { DP_TRAIN, SPEC as FL_SPEC, simulateFedAvg } from './fl.js';
import { type Figure, figure, report, wantsJson } from './lib/report.js';
import { positiveArg, positiveIntegerArg } from './lib/args.js';

const log = (line: string): void => {
  if (!wantsJson()) console.log(line);
};

const SPEC: ModelSpec = {
  inputShape: [784],
  layers: [
    { type: 'dense', units: 128, activation: 'relu' },
    { type: 'dense', units: 10 },
  ],
};
const DELTA = 1e-5;
const TARGET_FPR = 0.001;
const CLIP_NORM = 1;

/** Trains SPEC from its seed-1 initial weights on `data`; returns the weights. */
/** The positive control's and the single-owner case's MLP (bench fl's record-level model is FL_SPEC, 784-64-10). */
async function train(data: LocalData, training: ShadowTraining, seed: string): Promise<Float32Array> {
  const init = initialWeights(SPEC, 1);
  const r = await trainLocal({ modelSpec: SPEC, globalWeights: init, data, seed, ...training });
  return init.map((w, i) => w + r.update[i]);
}

/**
 * parts·perDigit images of each digit, shuffled (loadMnist's seeded permutation) and cut into `parts` equal thirds or
 * halves: the first are the members, the second the non-members, the third (parts = 3) rows neither ever trains
 * on — a random assignment, as the membership game needs. (Taking the first images of each digit as members and the
 * next ones as non-members would let the attacks see any drift in the package's order as "membership".)
 */
function memberSplit(
  perDigit: number,
  seed: number,
  parts: 2 | 3 = 2,
): { data: LocalData; members: number[]; nonMembers: number[]; outsiders: number[] } {
  const data = loadMnist(parts * perDigit, 0, seed);
  const n = data.labels.length / parts;
  const range = (from: number): number[] => Array.from({ length: n }, (_, i) => from + i);
  return { data, members: range(0), nonMembers: range(n), outsiders: parts === 3 ? range(2 * n) : [] };
}

interface DpAudit {
  readonly audit: MembershipAuditReport;
  readonly accountantEpsilon: number;
  readonly noiseMultiplier: number;
  readonly testAccuracy: number;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
const ci = (lo: number, hi: number, f: (x: number) => string): string => `[${f(lo)}, ${f(hi)}]`;

function describe(name: string, r: AttackResult): string {
  const t = r.tprAtLowFpr;
  return (
    `  ${name.padEnd(15)} AUC ${r.auc.auc.toFixed(3)} ${ci(r.auc.ci.lower, r.auc.ci.upper, (x) => x.toFixed(3))}` +
    `   TPR ${pct(t.tpr)} ${ci(t.ci.lower, t.ci.upper, pct)} at FPR ${pct(t.fpr)}` +
    `   ε ≥ ${r.epsilonLowerBound.epsilon.toFixed(3)}`
  );
}

function logReport(title: string, r: MembershipAuditReport): void {
  log(`${title}: ${r.members} members, ${r.nonMembers} non-members, ${r.shadows} shadow models`);
  log(describe('loss threshold', r.lossThreshold));
  if (r.lira) log(describe('offline LiRA', r.lira));
}

const maxEpsilonBound = (r: MembershipAuditReport): number =>
  Math.max(r.lossThreshold.epsilonLowerBound.epsilon, r.lira?.epsilonLowerBound.epsilon ?? 0);

/** Wall time of each stage, printed as it ends and reported as figures. */
const stages: [string, number][] = [];
async function timed<T>(stage: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await fn();
  const seconds = (performance.now() - t0) / 1000;
  stages.push([stage, seconds]);
  log(`  [${stage}: ${seconds.toFixed(1)} s]`);
  return result;
}

/** σ and the accountant's ε for a record-level DP-SGD schedule at ≤ `epsilon` (δ = DELTA). */
function dpSchedule(
  epsilon: number,
  rows: number,
  localEpochs: number,
  rounds: number,
): { noiseMultiplier: number; accountantEpsilon: number } {
  const schedule = { delta: DELTA, rows, batchSize: DP_TRAIN.batchSize, localEpochs, rounds };
  const noiseMultiplier = recordLevelNoiseMultiplier({ targetEpsilon: epsilon, ...schedule });
  return { noiseMultiplier, accountantEpsilon: recordLevelEpsilon({ noiseMultiplier, ...schedule }) };
}

/**
 * Audits every model in `targets` (trained with `training` on rows other than or equal to `members`) on the same
 * members and non-members of `data`, with one set of shadow models (their training never sees the target).
 */
async function auditAll(
  name: string,
  spec: ModelSpec,
  data: LocalData,
  members: readonly number[],
  nonMembers: readonly number[],
  shadows: number,
  training: ShadowTraining,
  targets: readonly { label: string; weights: Float32Array }[],
): Promise<MembershipAuditReport[]> {
  const common = { modelSpec: spec, data, members, nonMembers, shadows, shadowTraining: training };
  const seed = `bench/privacy/${name}`;
  const shadowModels: MembershipShadows = await timed(`${name}: ${shadows} shadow models`, () =>
    membershipShadows({ ...common, seed }),
  );
  const reports: MembershipAuditReport[] = [];
  for (const t of targets)
    reports.push(
      await timed(`${name}: audit of ${t.label}`, () =>
        auditMembership({ ...common, weights: t.weights, seed, delta: DELTA, targetFpr: TARGET_FPR, shadowModels }),
      ),
    );
  return reports;
}

/**
 * Record-level DP as `npm run bench -- fl` releases it: FedAvg over `silos` silos of `siloRows` rows, silo 0 the
 * audited owner. The pool holds the owner's members, non-members and null-control rows (three random thirds of its
 * first 3·siloRows rows) and the other silos' rows; returns the ε (target, and strong) and null-control audits.
 */
async function federated(
  silos: number,
  siloRows: number,
  rounds: number,
  shadows: number,
  test: LocalData,
): Promise<{ main: DpAudit; nullControl: DpAudit; strong: DpAudit }> {
  const localEpochs = DP_TRAIN.epochs;
  const perDigit = ((silos + 2) * siloRows) / 10;
  if (!Number.isInteger(perDigit) || !Number.isInteger(siloRows / 10))
    throw new RangeError('--dp-members must be a multiple of 10');
  // The test set starts at image 800 of each digit.
  if (perDigit > 800)
    throw new RangeError(`(silos + 2) × --dp-members / 10 = ${perDigit} images per digit: at most 800`);
  const pool = loadMnist(perDigit, 0, 12);
  const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
  const owner = selectSamples(pool, range(0, 3 * siloRows));
  const members = range(0, siloRows);
  const nonMembers = range(siloRows, siloRows);
  const outsiders = range(2 * siloRows, siloRows);
  const others = Array.from({ length: silos - 1 }, (_, s) => selectSamples(pool, range((3 + s) * siloRows, siloRows)));
  log(
    `\nrecord-level DP as bench fl releases it: FedAvg of ${silos} silos × ${siloRows} rows (IID), ${rounds} rounds × ` +
      `${localEpochs} local epochs of DP-SGD (784-64-10 MLP, Poisson lots of ${DP_TRAIN.batchSize}, lr ${DP_TRAIN.learningRate}, C = ${CLIP_NORM}); ` +
      `audited owner: silo 0`,
  );
  const run = async (
    epsilon: number,
    label: string,
    ownerRows: readonly number[],
  ): Promise<{ weights: Float32Array; testAccuracy: number; noiseMultiplier: number; accountantEpsilon: number }> => {
    const s = dpSchedule(epsilon, siloRows, localEpochs, rounds);
    const shards = [selectSamples(owner, ownerRows), ...others];
    const sim = await timed(`federated ${label}: ${silos} silos × ${rounds} rounds`, () =>
      simulateFedAvg(shards, test, rounds, DP_TRAIN, { noiseMultiplier: s.noiseMultiplier, clipNorm: CLIP_NORM }),
    );
    const testAccuracy = sim.accuracy[sim.accuracy.length - 1];
    log(
      `federated ${label}: ε = ${s.accountantEpsilon.toFixed(3)} per silo dataset at δ = ${DELTA} (σ = ${s.noiseMultiplier.toFixed(3)}), ` +
        `test accuracy ${pct(testAccuracy)}`,
    );
    return { weights: sim.weights, testAccuracy, ...s };
  };
  // The owner's shadows: its per-silo training (the job's settings) as one run of rounds × local epochs.
  const shadowTraining = (noiseMultiplier: number): ShadowTraining => ({
    ...DP_TRAIN,
    epochs: rounds * localEpochs,
    dp: { noiseMultiplier, clipNorm: CLIP_NORM },
  });
  const epsilon = positiveArg('epsilon', 8);
  const main = await run(epsilon, 'DP', members);
  // Null control: silo 0 trains on the outsiders; same settings, so the main model's shadows serve it too.
  const nullRun = await run(epsilon, 'null control', outsiders);
  const [mainAudit, nullAudit] = await auditAll(
    'federated',
    FL_SPEC,
    owner,
    members,
    nonMembers,
    shadows,
    shadowTraining(main.noiseMultiplier),
    [
      { label: 'DP model', weights: main.weights },
      { label: 'null control', weights: nullRun.weights },
    ],
  );
  logReport(`federated DP ε=${main.accountantEpsilon.toFixed(2)}, audit of silo 0`, mainAudit);
  logReport('federated null control (silo 0 trained on other rows)', nullAudit);
  // A stronger guarantee on the same rows: the leak must shrink with ε (dose–response), else it is not from training.
  const strongRun = await run(positiveArg('strong-epsilon', 2), 'DP strong', members);
  const [strongAudit] = await auditAll(
    'federated-strong',
    FL_SPEC,
    owner,
    members,
    nonMembers,
    shadows,
    shadowTraining(strongRun.noiseMultiplier),
    [{ label: 'DP model', weights: strongRun.weights }],
  );
  logReport(`federated DP ε=${strongRun.accountantEpsilon.toFixed(2)}, audit of silo 0`, strongAudit);
  return {
    main: { audit: mainAudit, ...main },
    nullControl: { audit: nullAudit, ...nullRun },
    strong: { audit: strongAudit, ...strongRun },
  };
}

/**
 * The harsher single-owner case: SPEC trained by DP-SGD at ≤ ε on `rows` rows alone for `epochs` epochs (no other
 * silo's update dilutes it), and its null control (the same training on a third random set), both audited with one
 * set of shadows.
 */
async function singleOwner(
  rows: number,
  epochs: number,
  shadows: number,
  test: LocalData,
): Promise<{ main: DpAudit; nullControl: DpAudit }> {
  const dp = memberSplit(rows / 10, 12, 3);
  const s = dpSchedule(positiveArg('epsilon', 8), rows, epochs, 1);
  const training: ShadowTraining = {
    ...DP_TRAIN,
    epochs,
    dp: { noiseMultiplier: s.noiseMultiplier, clipNorm: CLIP_NORM },
  };
  log(
    `\nsingle-owner DP-SGD (harsher case, no target): 784-128-10 MLP, ε = ${s.accountantEpsilon.toFixed(3)} at δ = ${DELTA}, ` +
      `σ = ${s.noiseMultiplier.toFixed(3)}, C = ${CLIP_NORM}, ${epochs} epochs on ${rows} rows, Poisson lots of ${DP_TRAIN.batchSize}, lr ${DP_TRAIN.learningRate}`,
  );
  const trainOn = async (label: string, trainRows: readonly number[]): Promise<Float32Array> =>
    timed(`single owner ${label}: training`, () =>
      train(selectSamples(dp.data, trainRows), training, `single/${label}`),
    );
  const mainWeights = await trainOn('DP', dp.members);
  const nullWeights = await trainOn('null control', dp.outsiders);
  const [mainAudit, nullAudit] = await auditAll(
    'single-owner',
    SPEC,
    dp.data,
    dp.members,
    dp.nonMembers,
    shadows,
    training,
    [
      { label: 'DP model', weights: mainWeights },
      { label: 'null control', weights: nullWeights },
    ],
  );
  const accuracy = async (w: Float32Array): Promise<number> => combineEval(await evaluateLocal(SPEC, w, test)).accuracy;
  const main = { audit: mainAudit, ...s, testAccuracy: await accuracy(mainWeights) };
  log(`single owner DP: test accuracy ${pct(main.testAccuracy)}`);
  logReport(`single-owner DP ε=${s.accountantEpsilon.toFixed(2)}`, mainAudit);
  logReport('single-owner null control', nullAudit);
  return { main, nullControl: { audit: nullAudit, ...s, testAccuracy: await accuracy(nullWeights) } };
}

async function main(): Promise<void> {
  const started = performance.now();
  const perDigit = positiveIntegerArg('members', 250) / 10;
  const shadows = positiveIntegerArg('shadows', 8);
  const silos = positiveIntegerArg('silos', 10);
  const rounds = positiveIntegerArg('rounds', 15);
  const siloRows = positiveIntegerArg('dp-members', 600);
  const singleOwnerRows = positiveIntegerArg('single-owner-members', 1000);
  const backend = await initBackend();
  log(`backend: ${backend.name}${backend.simd ? ' (SIMD)' : ''} — ${backend.reason}`);
  const test = loadMnist(50, 800, 3);

  // Positive control: plain SGD, many passes over a small shard, no regularisation.
  const overfit: ShadowTraining = {
    epochs: positiveIntegerArg('epochs', 60),
    batchSize: 32,
    optimizer: 'sgd',
    learningRate: 0.1,
  };
  const control = memberSplit(perDigit, 11);
  const controlWeights = await timed('positive control: training', () =>
    train(selectSamples(control.data, control.members), overfit, 'control'),
  );
  const controlTrainAcc = combineEval(
    await evaluateLocal(SPEC, controlWeights, selectSamples(control.data, control.members)),
  ).accuracy;
  const controlTestAcc = combineEval(await evaluateLocal(SPEC, controlWeights, test)).accuracy;
  const controlAudit = await timed(`positive control: audit with ${shadows} shadow models`, () =>
    auditMembership({
      modelSpec: SPEC,
      weights: controlWeights,
      data: control.data,
      members: control.members,
      nonMembers: control.nonMembers,
      shadows,
      shadowTraining: overfit,
      seed: 'bench/privacy/control',
      delta: DELTA,
      targetFpr: TARGET_FPR,
    }),
  );
  log(
    `positive control (non-private, ${overfit.epochs} epochs, batch ${overfit.batchSize}, SGD lr ${overfit.learningRate}): ` +
      `train accuracy ${pct(controlTrainAcc)}, test accuracy ${pct(controlTestAcc)}`,
  );
  logReport('audit', controlAudit);

  const fed = await federated(silos, siloRows, rounds, shadows, test);
  const single =
    singleOwnerRows > 0 ? await singleOwner(singleOwnerRows, rounds * DP_TRAIN.epochs, shadows, test) : null;
  const wallSeconds = (performance.now() - started) / 1000;
  log(`\nwall time ${wallSeconds.toFixed(0)} s`);

  const c = controlAudit;
  const d = fed.main.audit;
  const accountantEpsilon = fed.main.accountantEpsilon;
  const fprPct = 100 * TARGET_FPR;
  const fedName = `record-level DP ε=${accountantEpsilon.toFixed(2)} (bench fl: ${silos} silos × ${siloRows} rows, audit of silo 0)`;
  const figures: Figure[] = [
    figure('positive control (overfit, non-DP): loss-attack AUC vs chance', c.lossThreshold.auc.auc, 'AUC', 0.5, {
      op: '>=',
      of: 'value',
      value: 0.6,
    }),
    figure('positive control (overfit, non-DP): offline LiRA AUC vs chance', c.lira!.auc.auc, 'AUC', 0.5, {
      op: '>=',
      of: 'value',
      value: 0.6,
    }),
    figure(
      'positive control: offline LiRA TPR at 0.1 % FPR vs chance (TPR = FPR)',
      100 * c.lira!.tprAtLowFpr.tpr,
      '%',
      fprPct,
    ),
    figure('positive control: empirical ε lower bound (95 %, max of both attacks)', maxEpsilonBound(c), 'ε', null),
    figure(`${fedName}: loss-attack AUC vs chance`, d.lossThreshold.auc.auc, 'AUC', 0.5, {
      op: '<=',
      of: 'value',
      value: 0.55,
    }),
    figure(`${fedName}: offline LiRA AUC vs chance`, d.lira!.auc.auc, 'AUC', 0.5, {
      op: '<=',
      of: 'value',
      value: 0.55,
    }),
    figure(`${fedName}: loss-attack TPR at 0.1 % FPR vs chance`, 100 * d.lossThreshold.tprAtLowFpr.tpr, '%', fprPct, {
      op: '<=',
      of: 'value',
      value: 1,
    }),
    figure(`${fedName}: offline LiRA TPR at 0.1 % FPR vs chance`, 100 * d.lira!.tprAtLowFpr.tpr, '%', fprPct, {
      op: '<=',
      of: 'value',
      value: 1,
    }),
    // The intervals the point figures above are read with: a target is missed for sure only when the whole interval
    // lies beyond it, met for sure only when the whole interval lies inside it.
    figure(`${fedName}: offline LiRA AUC, 95 % lower bound`, d.lira!.auc.ci.lower, 'AUC', 0.5),
    figure(`${fedName}: offline LiRA AUC, 95 % upper bound`, d.lira!.auc.ci.upper, 'AUC', 0.5),
    figure(
      `${fedName}: offline LiRA TPR at 0.1 % FPR, 95 % upper bound`,
      100 * d.lira!.tprAtLowFpr.ci.upper,
      '%',
      fprPct,
    ),
    figure(
      `${fedName}: empirical ε lower bound (95 %, max of both attacks) vs the accountant’s ε`,
      maxEpsilonBound(d),
      'ε',
      accountantEpsilon,
      { op: '<=', of: 'ratio', value: 1 },
    ),
    figure(`${fedName}: test accuracy vs the positive control`, 100 * fed.main.testAccuracy, '%', 100 * controlTestAcc),
    ...(
      [
        ['federated null control (silo 0 trained on other rows)', fed.nullControl, true],
        [`federated record-level DP ε=${fed.strong.accountantEpsilon.toFixed(2)}`, fed.strong, false],
        ...(single
          ? [
              [
                `single-owner DP-SGD ε=${single.main.accountantEpsilon.toFixed(2)} on ${singleOwnerRows} rows (harsher case, no target)`,
                single.main,
                false,
              ],
              ['single-owner null control', single.nullControl, false],
            ]
          : []),
      ] as [string, DpAudit, boolean][]
    ).flatMap(([name, x, isNullControl]) => {
      const r = x.audit;
      return [
        figure(`${name}: loss-attack AUC vs chance`, r.lossThreshold.auc.auc, 'AUC', 0.5),
        figure(`${name}: offline LiRA AUC vs chance`, r.lira!.auc.auc, 'AUC', 0.5),
        // The null control's interval must hold chance (0.5), else the audit itself is biased.
        figure(
          `${name}: offline LiRA AUC, 95 % lower bound`,
          r.lira!.auc.ci.lower,
          'AUC',
          0.5,
          isNullControl ? { op: '<=', of: 'value', value: 0.5 } : undefined,
        ),
        figure(
          `${name}: offline LiRA AUC, 95 % upper bound`,
          r.lira!.auc.ci.upper,
          'AUC',
          0.5,
          isNullControl ? { op: '>=', of: 'value', value: 0.5 } : undefined,
        ),
        figure(`${name}: offline LiRA TPR at 0.1 % FPR vs chance`, 100 * r.lira!.tprAtLowFpr.tpr, '%', fprPct),
        figure(`${name}: empirical ε lower bound (max of both attacks)`, maxEpsilonBound(r), 'ε', x.accountantEpsilon),
      ];
    }),
    ...(single
      ? [
          figure(
            `single-owner DP-SGD on ${singleOwnerRows} rows: test accuracy`,
            100 * single.main.testAccuracy,
            '%',
            100 * fed.main.testAccuracy,
          ),
        ]
      : []),
    ...stages.map(([stage, seconds]) => figure(`wall time: ${stage}`, seconds, 's', null)),
    figure('wall time: whole bench', wallSeconds, 's', null),
  ];
  report('privacy', figures);
}

// Runs only as a script (npm run bench -- privacy).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
