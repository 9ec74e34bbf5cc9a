// `npm run bench -- tabular [--json] [--rounds R] [--local-epochs E]`
// Issue 13 on public tables: vega-datasets cars (label Origin; missing mpg and horsepower; the date Year a day-count
// feature, the name column dropped) and iris, each split over three owners that each lack one class, every fifth row
// held out. The whole flow runs through the real CLI (bench/lib/tabular-flow.ts: chain, coordinator, three silos and
// the buyer as separate processes; seal, register, buy, job plan, job create, watch, model pull, model predict), and
// the accuracy of the pulled model on the held-out rows stands beside centralised training of the same model with
// the same preprocessing (the pulled model's encoding: global statistics summed through SecAgg+) and the same budget
// (rounds × local epochs passes, batch size, Adam, learning rate) on the same rows the silos train on (each shard
// without the validation split its silo holds out), averaged over five seeds, and beside the majority-class baseline.
// Target: federated within 3 points of centralised on each table.
import {
  DEFAULT_TABULAR_TRAINING,
  TabularFlow,
  carsTable,
  centralisedAccuracy,
  irisTable,
  siloTrainingRows,
  splitForOwners,
  type TabularTraining,
} from './lib/tabular-flow.js';
import { type Figure, figure, report, wantsJson } from './lib/report.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const log = (line: string): void => {
  if (!wantsJson()) console.log(line);
};

const training: TabularTraining = {
  ...DEFAULT_TABULAR_TRAINING,
  rounds: arg('rounds', DEFAULT_TABULAR_TRAINING.rounds),
  epochs: arg('local-epochs', DEFAULT_TABULAR_TRAINING.epochs),
};

async function main(): Promise<void> {
  const tables = [carsTable(), await irisTable()].map((table) => ({ table, split: splitForOwners(table) }));
  log(
    `tabular: ${tables.map((t) => `${t.table.name} (${t.split.train.length} training rows over 3 owners, ${t.split.heldOut.length} held out)`).join(', ')}; ` +
      `${training.rounds} rounds × ${training.epochs} local epochs, batch ${training.batchSize}, Adam lr ${training.lr}, MLP hidden ${training.hidden}`,
  );
  const flow = await TabularFlow.start('sealfold-bench-tabular-');
  const figures: Figure[] = [];
  try {
    const added = await flow.addShards(tables);
    await flow.startSilos();
    await flow.buyLicences(added.flat().map((a) => a.datasetId));
    for (const [t, { table, split }] of tables.entries()) {
      const started = performance.now();
      const run = await flow.train(table, split, added[t], training);
      const seconds = (performance.now() - started) / 1000;
      const federated = run.predict.accuracy!;
      // The rows the silos trained on (each keeps its validation split out), five seeds averaged.
      const trainRows = await siloTrainingRows(split, added[t]);
      const central = await centralisedAccuracy(table, split, trainRows, run.modelDir, training, [1, 2, 3, 4, 5]);
      const centralised = central.mean;
      const majority = run.watch.end.majorityBaseline as number;
      log(
        `${table.name}: job ${run.jobId.slice(0, 12)}… in ${seconds.toFixed(0)} s; features ${run.plan.schema.features.map((f) => f.name).join(', ')}` +
          `; centralised runs ${central.runs.map((a) => (a * 100).toFixed(1)).join(', ')} % on ${trainRows.length} rows` +
          `${run.plan.dropped.length > 0 ? `; dropped ${[...new Set(run.plan.dropped.map((d) => `${d.column} (${d.reason})`))].join(', ')}` : ''}`,
      );
      const points = (x: number) => Math.round(x * 10_000) / 100;
      figures.push(
        figure(
          `${table.name}: federated accuracy (pulled model, held-out rows) vs centralised`,
          points(federated),
          '%',
          points(centralised),
        ),
        figure(`${table.name}: centralised minus federated`, points(centralised - federated), 'points', null, {
          op: '<=',
          of: 'value',
          value: 3,
        }),
        figure(
          `${table.name}: federated accuracy vs majority-class baseline`,
          points(federated),
          '%',
          points(majority),
        ),
      );
    }
  } finally {
    await flow.close();
  }
  report('tabular', figures);
}

await main();
