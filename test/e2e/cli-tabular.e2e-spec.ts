// Issue 13 "Done when", through the real CLI (bench/lib/tabular-flow.ts: every party its own `sealfold` process):
// vega-datasets cars (missing values, a categorical label, a date and an identifier column) and iris, each split over
// three owners that each lack one class. Owners `dataset inspect` and `dataset add --yes`; the buyer `licence buy`s,
// reads `job plan`, signs `job create`, follows `job watch`, `model pull`s and runs `model predict` on raw held-out
// rows. Every manifest sealed is scanned for values occurring in fewer than k rows of its file; a file with a value a
// numeric column cannot hold is refused naming its line, column and what to do, and nothing is registered.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { EmbeddedIpfsStore } from '@sealfold/storage';
import {
  DEFAULT_TABULAR_TRAINING,
  TabularFlow,
  carsTable,
  irisTable,
  splitForOwners,
  toCsv,
  type AddedShard,
  type OwnerSplit,
  type Table,
  type TrainedTable,
} from '../../bench/lib/tabular-flow.js';
import { TEST_TIMEOUT_MS } from './cli-harness.js';
import { manifestLeaks, rareValues } from './helpers/leak-scan.js';

jest.setTimeout(TEST_TIMEOUT_MS);

interface ErrorJson {
  error: { code: string; message: string };
}

describe('tabular data through the real CLI (issue 13: cars and iris, every owner lacking a class)', () => {
  let flow: TabularFlow;
  const tables: { table: Table; split: OwnerSplit }[] = [];
  let added: AddedShard[][];
  const trained = new Map<string, TrainedTable>();

  beforeAll(async () => {
    for (const table of [carsTable(), await irisTable()]) tables.push({ table, split: splitForOwners(table) });
    flow = await TabularFlow.start('sealfold-cli-tabular-');
    added = await flow.addShards(tables);
    await flow.startSilos();
    await flow.buyLicences(added.flat().map((a) => a.datasetId));
    // Both jobs at once on the same three silos (and half the wall time).
    const runs = await Promise.all(
      tables.map(({ table, split }, t) => flow.train(table, split, added[t], DEFAULT_TABULAR_TRAINING)),
    );
    runs.forEach((run, t) => trained.set(tables[t].table.name, run));
    // ~30 CLI processes and two 10-round jobs: 4–6 min on a 2-core machine under other load, 9+ min when it is
    // saturated (load 20), hence more than the suite's 10 min default for this one hook.
  }, 1_200_000);

  afterAll(async () => {
    await flow?.close();
  });

  it('dataset inspect previews each shard: its classes (one missing per owner), cars with missing values, no refusal', () => {
    for (const [t, { table, split }] of tables.entries())
      for (const [k, shard] of added[t].entries()) {
        expect(shard.inspect.refusal).toBeNull();
        expect(shard.inspect.classes).toEqual(split.classes.filter((_, c) => c !== k));
        if (table.name === 'cars') {
          const columns = shard.inspect.columns as {
            name: string;
            type: string;
            role: string;
            missing: number;
            published: string[];
          }[];
          const byName = new Map(columns.map((c) => [c.name, c]));
          // The identifier: inferred text (ignored) on the whole file, a feature-hashed categorical on a shard of
          // ~100 rows; either way no name is published (the job plan drops it below).
          expect(byName.get('Name')).toMatchObject({ published: [] });
          expect(byName.get('Year')).toMatchObject({ type: 'date' });
          expect(byName.get('Horsepower')?.type).toBe('integer');
          // Between them the shards hold the cars without mpg or horsepower (some held out), sealed as missing.
          expect(byName.get('Miles_per_Gallon')?.type).toBe('float');
        }
      }
    const carsMissing = added[0]
      .map((s) => s.inspect.columns as { name: string; missing: number }[])
      .flat()
      .filter((c) => c.name === 'Miles_per_Gallon' || c.name === 'Horsepower')
      .reduce((n, c) => n + c.missing, 0);
    expect(carsMissing).toBeGreaterThan(5);
  });

  it.each(['cars', 'iris'])(
    '%s: job plan, job create, job watch, model pull and model predict on raw held-out rows',
    (name) => {
      const t = tables.findIndex((x) => x.table.name === name);
      const { table, split } = tables[t];
      const run = trained.get(name)!;

      // The plan: the union of the classes in one order, each owner lacking its one.
      expect(run.plan.schema.classes).toEqual(split.classes);
      expect(run.plan.schema.label).toBe(table.label);
      expect(added[t].map((s) => run.plan.missingClasses[s.datasetId])).toEqual(split.classes.map((c) => [c]));
      if (name === 'cars') {
        // Job schema v1 encodes numbers, dates (as their day count) and published levels: the identifier is dropped,
        // said so; the date Year is a numeric feature the pulled model reads from its raw ISO 8601 strings.
        expect(run.plan.schema.features.map((f) => f.name)).toEqual([
          'Miles_per_Gallon',
          'Cylinders',
          'Displacement',
          'Horsepower',
          'Weight_in_lbs',
          'Acceleration',
          'Year',
        ]);
        expect(run.plan.schema.features.at(-1)).toEqual({ name: 'Year', type: 'numeric', source: 'date' });
        expect(run.plan.dropped.map((d) => [d.column, d.reason])).toEqual([
          ['Name', 'not-encodable'],
          ['Name', 'not-encodable'],
          ['Name', 'not-encodable'],
        ]);
      } else expect(run.plan.inputWidth).toBe(4);

      // The majority baseline from the securely summed label counts, in job watch and in the pulled model.
      const labelAt = table.header.indexOf(table.label);
      const counts = split.classes.map((c) => split.train.filter((r) => r[labelAt] === c).length);
      const majority = Math.max(...counts) / split.train.length;
      // Each silo trains on its rows outside its validation split: the baseline is over those, close to the pool's.
      expect(Math.abs((run.watch.end.majorityBaseline as number) - majority)).toBeLessThan(0.03);
      expect(run.pull.majorityBaseline).toBe(run.watch.end.majorityBaseline);
      expect(run.watch.events.filter((e) => e.event === 'round' && e.status === 'completed')).toHaveLength(
        DEFAULT_TABULAR_TRAINING.rounds,
      );

      // model predict --json: one known class per held-out row, scored against the rows' own labels.
      expect(run.predict.rows).toBe(split.heldOut.length);
      expect(run.predict.labelled).toBe(split.heldOut.length);
      expect(run.predict.classes).toEqual(split.classes);
      expect(run.predict.predictions.every((p) => split.classes.includes(p))).toBe(true);
      const accuracy = run.predict.accuracy!;
      const truth = split.heldOut.map((r) => r[labelAt]);
      expect(accuracy).toBeCloseTo(truth.filter((c, i) => c === run.predict.predictions[i]).length / truth.length, 10);
      // Held-out majority: cars 47/82 USA (0.573), iris 1/3. Measured through the CLI (10 rounds × 5 epochs, Adam
      // 0.05): cars 0.695, 0.695, 0.659 (without, with, with Year) since silos train with the logit-adjusted loss
      // (0.585–0.646 before; centralised with the same rows and budget 0.70–0.73, `npm run bench -- tabular`); 12
      // simulated runs of these shards with Year 0.634–0.720. iris 0.967 in every run. The cars bound asks for more
      // than always answering USA, with room for a loaded runner; iris asks for real learning.
      const heldOutMajority = Math.max(...split.classes.map((c) => truth.filter((x) => x === c).length)) / truth.length;
      if (name === 'cars') expect(accuracy).toBeGreaterThan(heldOutMajority);
      else expect(accuracy).toBeGreaterThan(Math.max(0.8, heldOutMajority + 0.3));

      // Without --json: a CSV column headed by the label's name, one class per row, the accuracy on stderr.
      expect(run.predictText.code).toBe(0);
      expect(run.predictText.stdout.trimEnd().split('\n')).toEqual([table.label, ...run.predict.predictions]);
      expect(run.predictText.stderr).toContain(
        `accuracy ${accuracy.toFixed(4)} on the ${split.heldOut.length} rows that carry "${table.label}"`,
      );
    },
  );

  it('no manifest sealed holds a value occurring in fewer than k rows of its file', async () => {
    const { EmbeddedIpfsStore } = await import('@sealfold/storage');
    // The embedded store takes no repo lock: the test opens it beside the running processes, to read only.
    const store: EmbeddedIpfsStore = await EmbeddedIpfsStore.open(join(flow.dataDir, 'ipfs'));
    try {
      let scanned = 0;
      for (const shard of added.flat()) {
        const chunks: Uint8Array[] = [];
        for await (const c of store.cat(shard.manifestCid)) chunks.push(c);
        const csv = await readFile(shard.csv, 'utf8');
        const rare = await rareValues(csv, Number(shard.inspect.k));
        expect(Number(shard.inspect.k)).toBe(10);
        expect(rare.size).toBeGreaterThan(0); // every shard has rare values for the scan to find
        expect({ manifest: shard.manifestCid, leaks: manifestLeaks(Buffer.concat(chunks), rare) }).toEqual({
          manifest: shard.manifestCid,
          leaks: [],
        });
        scanned++;
      }
      expect(scanned).toBe(6);
    } finally {
      await store.close();
    }
  });

  it('dataset add of a file with text in a numeric column is refused naming line, column and what to do; nothing is registered', async () => {
    const cars = tables[0].table;
    const rows = cars.rows.slice(0, 60).map((r) => [...r]);
    const hp = cars.header.indexOf('Horsepower');
    rows[4][hp] = '1O5'; // a letter O for a zero: line 6 of the file (the header is line 1), column 5
    const file = join(flow.dir, 'cars-typo.csv');
    await writeFile(file, toCsv(cars.header, rows));
    const before = await flow.json<{ datasets: unknown[]; unregistered: unknown[] }>('owner-1', ['dataset', 'list']);
    const inspect = await flow.run('owner-1', ['dataset', 'inspect', file, '--label', 'Origin']);
    const add = await flow.json<ErrorJson>('owner-1', [
      'dataset',
      'add',
      '--yes',
      file,
      '--name',
      'cars with a typo',
      '--label',
      'Origin',
    ]);
    for (const r of [inspect, add]) expect(r.code).toBe(1);
    expect(inspect.stderr).toMatch(/line 6, column 5: column "Horsepower" holds numbers, but this value is text/);
    expect(add.body.error.message).toMatch(
      /^line 6, column 5: column "Horsepower" holds numbers, but this value is text/,
    );
    // What to do: fix it, call it a missing token, or declare the column's type.
    expect(add.body.error.message).toMatch(/Fix the value, list it as a missing token .* or declare the column's type/);
    // Not the value itself (it could be private), and nothing sealed or registered.
    expect(add.body.error.message).not.toContain('1O5');
    const after = await flow.json<{ datasets: unknown[]; unregistered: unknown[] }>('owner-1', ['dataset', 'list']);
    expect(after.body.datasets).toHaveLength(before.body.datasets.length);
    expect(after.body.unregistered).toHaveLength(before.body.unregistered.length);
  });
});
