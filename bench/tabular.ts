// `npm run bench -- tabular [--json] [--tables cars,iris] [--rounds R] [--local-epochs E] [--folds K] [--runs N]
//   [--central-seeds S]`
// Issue 13 on public tables: vega-datasets cars (label Origin; missing mpg and horsepower; the date Year a day-count
// feature, the name column dropped) and iris, each split over three owners that each lack one class. The whole flow
// runs through the real CLI (bench/lib/tabular-flow.ts: chain, coordinator, three silos and the buyer as separate
// processes; seal, register, buy, job plan, job create, watch, model pull, model predict), and the accuracy of the
// pulled model on held-out rows stands beside centralised training of the same model with the same preprocessing
// (the pulled model's encoding: global statistics summed through SecAgg+) and the same budget (rounds × local
// epochs passes, batch size, Adam, learning rate) on the same rows the silos train on (each shard without the
// validation split its silo holds out), and beside the majority-class baseline.
// One training run's accuracy on ~80 held-out rows moves by several points with its seed, so both sides are
// averaged alike: K folds (fold f holds out the rows with index % 5 === f; 5 folds hold out every row once), on
// each fold N federated jobs (each its own random initial weights and shuffles) and S centralised seeds.
// Target: |mean federated − mean centralised| ≤ 3 points on each table. Default schedule 50 rounds × 1 local epoch.
import {
  DEFAULT_TABULAR_TRAINING,
  TabularFlow,
  carsTable,
  centralisedAccuracy,
  irisTable,
  siloTrainingRows,
  splitForOwners,
  type TabularTraining,
  type Table,
} from './lib/tabular-flow.js';
import { type Figure, figure, report, wantsJson } from './lib/report.js';
import { positiveIntegerArg } from './lib/args.js';

const log = (line: string): void => {
  if (!wantsJson()) console.log(line);
};

// The same 50 passes as the e2e flow's 10 rounds × 5 epochs, signed as 50 rounds × 1 local epoch: less client drift
// per round on owners that each lack a class (at 10 × 5 cars misses the target by ~4.4 points; docs/ARCHITECTURE.md).
const training: TabularTraining = {
  ...DEFAULT_TABULAR_TRAINING,
  rounds: positiveIntegerArg('rounds', 50),
  epochs: positiveIntegerArg('local-epochs', 1),
};
const FOLDS = positiveIntegerArg('folds', 5, 5);
const RUNS = positiveIntegerArg('runs', 1, 10);
const CENTRAL_SEEDS = positiveIntegerArg('central-seeds', 5, 20);

const TABLES = (() => {
  const i = process.argv.indexOf('--tables');
  const names = i >= 0 ? String(process.argv[i + 1]).split(',') : ['cars', 'iris'];
  const unknown = names.filter((n) => n !== 'cars' && n !== 'iris');
  if (unknown.length > 0 || names.length === 0)
    throw new Error(`--tables takes cars and/or iris, got ${names.join(',')}`);
  return names;
})();

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (0 for one value). */
const sd = (xs: readonly number[]) =>
  xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
const pct = (x: number) => (x * 100).toFixed(1);
const points = (x: number) => Math.round(x * 10_000) / 100;

async function main(): Promise<void> {
  const bases = [carsTable(), await irisTable()].filter((t) => TABLES.includes(t.name));
  // One sealed copy of each table per fold; a fold's table carries the fold in its name (its datasets and files).
  const tables = bases.flatMap((base) =>
    Array.from({ length: FOLDS }, (_, fold) => ({
      base: base.name,
      fold,
      table: { ...base, name: `${base.name}-fold${fold}` } satisfies Table,
      split: splitForOwners(base, fold),
    })),
  );
  log(
    `tabular: ${bases.map((b) => `${b.name} (${tables.find((t) => t.base === b.name)!.split.train.length} training rows over 3 owners, ${tables.find((t) => t.base === b.name)!.split.heldOut.length} held out)`).join(', ')}; ` +
      `${training.rounds} rounds × ${training.epochs} local epochs, batch ${training.batchSize}, Adam lr ${training.lr}, MLP hidden ${training.hidden}; ` +
      `${FOLDS} fold(s) × ${RUNS} federated job(s) and ${CENTRAL_SEEDS} centralised seed(s)`,
  );
  const flow = await TabularFlow.start('sealfold-bench-tabular-');
  const figures: Figure[] = [];
  try {
    const added = await flow.addShards(tables);
    await flow.startSilos();
    await flow.buyLicences(added.flat().map((a) => a.datasetId));
    for (const base of bases) {
      const federated: number[] = [];
      const centralised: number[] = [];
      const majority: number[] = [];
      const foldGaps: number[] = [];
      for (const [t, { table, split }] of tables.entries()) {
        if (tables[t].base !== base.name) continue;
        const fed: number[] = [];
        let modelDir = '';
        for (let r = 0; r < RUNS; r++) {
          const started = performance.now();
          const run = await flow.train(table, split, added[t], training);
          fed.push(run.predict.accuracy!);
          majority.push(run.watch.end.majorityBaseline as number);
          modelDir = run.modelDir;
          log(
            `${table.name}: job ${run.jobId.slice(0, 12)}… in ${((performance.now() - started) / 1000).toFixed(0)} s, ` +
              `${pct(run.predict.accuracy!)} % on ${split.heldOut.length} held-out rows; features ${run.plan.schema.features.map((f) => f.name).join(', ')}` +
              `${run.plan.dropped.length > 0 ? `; dropped ${[...new Set(run.plan.dropped.map((d) => `${d.column} (${d.reason})`))].join(', ')}` : ''}`,
          );
        }
        // The rows the silos trained on (each keeps its validation split out); the encoding is the fold's (the same
        // exact statistics for every job on the fold).
        const trainRows = await siloTrainingRows(split, added[t]);
        const seeds = Array.from({ length: CENTRAL_SEEDS }, (_, i) => i + 1);
        const central = await centralisedAccuracy(table, split, trainRows, modelDir, training, seeds);
        log(`${table.name}: centralised ${central.runs.map(pct).join(', ')} % on ${trainRows.length} rows`);
        federated.push(...fed);
        centralised.push(...central.runs);
        foldGaps.push(central.mean - mean(fed));
      }
      const gap = mean(centralised) - mean(federated);
      log(
        `${base.name}: federated ${pct(mean(federated))} ± ${pct(sd(federated))} % (${federated.length} jobs), ` +
          `centralised ${pct(mean(centralised))} ± ${pct(sd(centralised))} % (${centralised.length} runs); ` +
          `centralised − federated ${(gap * 100).toFixed(1)} points` +
          (foldGaps.length > 1
            ? ` (per fold ${foldGaps.map((g) => (g * 100).toFixed(1)).join(', ')}; standard error ${((sd(foldGaps) / Math.sqrt(foldGaps.length)) * 100).toFixed(1)})`
            : ''),
      );
      figures.push(
        figure(
          `${base.name}: federated accuracy, mean of ${federated.length} jobs (pulled model, held-out rows) vs centralised, mean of ${centralised.length} runs`,
          points(mean(federated)),
          '%',
          points(mean(centralised)),
        ),
        figure(
          `${base.name}: standard deviation over runs, federated vs centralised`,
          points(sd(federated)),
          'points',
          points(sd(centralised)),
        ),
        figure(`${base.name}: |mean centralised − mean federated|`, points(Math.abs(gap)), 'points', null, {
          op: '<=',
          of: 'value',
          value: 3,
        }),
        figure(
          `${base.name}: federated accuracy vs majority-class baseline`,
          points(mean(federated)),
          '%',
          points(mean(majority)),
        ),
      );
    }
  } finally {
    await flow.close();
  }
  report('tabular', figures);
}

await main();
