// `sealfold audit membership`: the owner audits a released model against its own rows. Members are the rows the job
// trained on, non-members rows it never saw; a loss-threshold attack and offline LiRA (shadow models trained here, on
// halves of those rows) try to tell them apart. Reports AUC and TPR at a low FPR with confidence intervals, and the
// smallest ε the model's training could have had given how well the attacks did, beside the accountant's ε.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { CliError } from '../errors.js';
import { parseId, parseSmallInt } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';
import { readRecords } from '../records.js';

type LocalData = import('@sealfold/fl').LocalData;
type AttackResult = import('@sealfold/fl').AttackResult;

/** What `model pull` writes beside model.json (apps/cli model.ts). */
interface Provenance {
  format: string;
  jobId?: string;
  modelSpec: unknown;
  datasets?: string[];
  epsilonSpent?: number;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

/**
 * Reads a `sealfold model pull` directory: the spec and ε from sealfold.json, the weights from model.json's manifest
 * and weights.bin (float32, in manifest order), placed in the layout order of @sealfold/fl by weight name.
 */
export async function loadPulledModel(
  dir: string,
): Promise<{ provenance: Provenance; weights: Float32Array; parameters: number }> {
  const fl = await import('@sealfold/fl');
  const read = async (name: string): Promise<Buffer> => {
    const path = join(dir, name);
    if (!existsSync(path))
      throw new CliError('BAD_MODEL', `${dir} has no ${name}: give the directory \`sealfold model pull\` wrote`);
    return readFile(path);
  };
  let provenance: Provenance;
  let manifest: { weightsManifest?: { paths: string[]; weights: WeightSpec[] }[] };
  try {
    provenance = JSON.parse((await read('sealfold.json')).toString('utf8')) as Provenance;
    manifest = JSON.parse((await read('model.json')).toString('utf8')) as typeof manifest;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError('BAD_MODEL', `${dir}: sealfold.json or model.json is not JSON`);
  }
  if (provenance.format !== 'sealfold-model-provenance/v1')
    throw new CliError('BAD_MODEL', `${dir}/sealfold.json has format ${String(provenance.format)}`);
  let layout;
  try {
    ({ layout } = fl.parseModelSpec(provenance.modelSpec));
  } catch (error) {
    throw new CliError('BAD_MODEL', `${dir}/sealfold.json: ${(error as Error).message}`);
  }
  const groups = manifest.weightsManifest ?? [];
  if (groups.length !== 1 || groups[0].paths.length !== 1 || groups[0].paths[0] !== './weights.bin')
    throw new CliError('BAD_MODEL', `${dir}/model.json must list one weights file, ./weights.bin`);
  const bin = await read('weights.bin');
  const bytes = new Uint8Array(bin.byteLength);
  bytes.set(bin);
  const view = new DataView(bytes.buffer);
  const byName = new Map<string, Float32Array>();
  let offset = 0;
  for (const w of groups[0].weights) {
    if (w.dtype !== 'float32' || w.quantization !== undefined)
      throw new CliError('BAD_MODEL', `weight ${w.name} is ${w.dtype}${w.quantization ? ', quantised' : ''}`);
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (offset + 4 * size > bytes.length) throw new CliError('BAD_MODEL', 'weights.bin is shorter than model.json');
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = view.getFloat32(offset + 4 * i, true);
    byName.set(w.name, values);
    offset += 4 * size;
  }
  if (offset !== bytes.length) throw new CliError('BAD_MODEL', 'weights.bin is longer than model.json says');
  const weights = new Float32Array(layout.totalSize);
  for (const e of layout.entries) {
    const values = byName.get(e.name);
    if (!values || values.length !== e.size)
      throw new CliError('BAD_MODEL', `model.json has no weight ${e.name} of ${e.size} values for the spec`);
    weights.set(values, e.offset);
  }
  return { provenance, weights, parameters: layout.totalSize };
}

/**
 * Row list: comma- or whitespace-separated 0-based data-row indices and inclusive ranges `a-b` (the header is not a
 * row), given inline or as the path of a file holding such a list.
 */
export async function parseRows(value: string, what: string, rows: number): Promise<number[]> {
  const text = existsSync(value) ? await readFile(value, 'utf8') : value;
  const out: number[] = [];
  for (const part of text.split(/[\s,]+/).filter((p) => p !== '')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new CliError('INVALID_ARGUMENT', `${what}: "${part}" is not a row index or a range a-b`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new CliError('INVALID_ARGUMENT', `${what}: range ${part} runs backwards`);
    if (b >= rows) throw new CliError('INVALID_ARGUMENT', `${what}: row ${b} is past the last row (${rows - 1})`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  if (out.length === 0) throw new CliError('INVALID_ARGUMENT', `${what} lists no rows`);
  return out;
}

function positiveNumber(value: unknown, what: string, max: number): number {
  const x = Number(value);
  if (!(Number.isFinite(x) && x > 0 && x <= max))
    throw new CliError('INVALID_ARGUMENT', `${what} must be a number in (0, ${max}], got "${String(value)}"`);
  return x;
}

function atLeastOne(n: number, what: string): number {
  if (n < 1) throw new CliError('INVALID_ARGUMENT', `${what} must be at least 1`);
  return n;
}

function attackJson(r: AttackResult) {
  return {
    auc: r.auc.auc,
    aucCi: [r.auc.ci.lower, r.auc.ci.upper],
    tprAtFpr: r.tprAtLowFpr.tpr,
    tprCi: [r.tprAtLowFpr.ci.lower, r.tprAtLowFpr.ci.upper],
    fprAchieved: r.tprAtLowFpr.fpr,
    epsilonLowerBound: r.epsilonLowerBound.epsilon,
  };
}

async function membership(ctx: Context, args: string[], o: Record<string, unknown>): Promise<CommandResult> {
  const dir = resolve(args[0]);
  const fl = await import('@sealfold/fl');
  const ds = await import('@sealfold/dataset');
  const { provenance, weights, parameters } = await loadPulledModel(dir);

  // The owner's rows, encoded as the silo encodes them (libs/dataset inspectCsv → toDense, schema inferred or given).
  if (o.data === undefined) throw new CliError('INVALID_ARGUMENT', '--data <csv> (your dataset) is required');
  const label = o.label === undefined ? undefined : String(o.label);
  let schema: import('@sealfold/dataset').DatasetSchema | undefined;
  if (o.schema !== undefined) schema = ds.parseSchemaJson(await readFile(String(o.schema), 'utf8'));
  if (!schema && !label) throw new CliError('INVALID_ARGUMENT', '--label <column> (or --schema <file>) is required');
  const csv = await readFile(String(o.data));
  const inspected = await ds.inspectCsv([csv], { label: label ?? schema!.label, ...(schema ? { schema } : {}) });
  const dense = await ds.toDense([csv], inspected.schema);
  const data: LocalData = {
    features: dense.features,
    labels: dense.labels,
    numFeatures: dense.featureNames.length,
    numClasses: dense.classes.length,
  };

  // Which rows the job trained on.
  let members: number[];
  let nonMembers: number[];
  let split: string;
  /** --dataset-id only: whether the CSV's commitment was checked against the CLI's record of the sealed dataset. */
  let verified: boolean | null = null;
  if (o.members !== undefined || o.holdout !== undefined) {
    if (o.members === undefined || o.holdout === undefined)
      throw new CliError('INVALID_ARGUMENT', '--members and --holdout go together');
    if (o.datasetId !== undefined)
      throw new CliError('INVALID_ARGUMENT', 'give either --dataset-id (the silo split) or --members/--holdout');
    members = await parseRows(String(o.members), '--members', dense.rows);
    nonMembers = await parseRows(String(o.holdout), '--holdout', dense.rows);
    split = 'explicit';
  } else if (o.datasetId !== undefined) {
    const id = parseId(String(o.datasetId), '--dataset-id');
    if (provenance.datasets && !provenance.datasets.includes(id.toString()))
      throw new CliError(
        'DATASET_NOT_IN_JOB',
        `the model's job trained on datasets ${provenance.datasets.join(', ')}, not ${id}: its rows are all non-members`,
      );
    // The split follows the row order and count: the CSV must be the file sealed as this dataset. The CLI's record of
    // it (written by `dataset add`) holds its commitment; without one the check is skipped and said so.
    const record = (await readRecords(ctx)).find((r) => r.chain?.datasetId === id.toString());
    if (record && record.commitment !== inspected.commitment)
      throw new CliError(
        'CSV_MISMATCH',
        `${String(o.data)} is not the file sealed as dataset ${id}: its commitment differs from the one \`dataset add\` recorded`,
      );
    verified = record !== undefined;
    // The silo's own split (apps/silo job-runner admit): seeded by the dataset id, DEFAULT_VALIDATION_FRACTION held
    // out for federated evaluation and never trained on.
    const s = fl.splitTrainValidation(dense.rows, {
      validationFraction: fl.DEFAULT_VALIDATION_FRACTION,
      seed: id.toString(),
    });
    members = Array.from(s.train);
    nonMembers = Array.from(s.validation);
    split = `silo split of dataset ${id} (${fl.DEFAULT_VALIDATION_FRACTION * 100} % held out)`;
  } else
    throw new CliError(
      'INVALID_ARGUMENT',
      'say which rows the job trained on: --dataset-id <id> (the silo’s own train/held-out split), or --members and --holdout',
    );
  const overlap = new Set(members);
  if (nonMembers.some((i) => overlap.has(i)))
    throw new CliError('INVALID_ARGUMENT', 'a row is in both --members and --holdout');

  const shadows = parseSmallInt(String(o.shadows), '--shadows', 256);
  if (shadows % 2 !== 0) throw new CliError('INVALID_ARGUMENT', '--shadows must be even (complementary halves)');
  const optimizer = String(o.optimizer);
  if (optimizer !== 'sgd' && optimizer !== 'adam')
    throw new CliError('INVALID_ARGUMENT', `--optimizer must be sgd or adam, got "${optimizer}"`);
  const shadowTraining = {
    epochs: atLeastOne(parseSmallInt(String(o.epochs), '--epochs', 1000), '--epochs'),
    batchSize: atLeastOne(parseSmallInt(String(o.batchSize), '--batch-size', 65536), '--batch-size'),
    optimizer: optimizer as 'sgd' | 'adam',
    learningRate: positiveNumber(o.learningRate, '--learning-rate', 10),
  };
  const delta = positiveNumber(o.delta, '--delta', 0.5);
  const targetFpr = positiveNumber(o.fpr, '--fpr', 0.5);

  await fl.initBackend();
  const showProgress = !ctx.json && process.stderr.isTTY === true;
  let report;
  try {
    report = await fl.auditMembership({
      modelSpec: provenance.modelSpec,
      weights,
      data,
      members,
      nonMembers,
      shadows,
      shadowTraining,
      seed: String(o.seed),
      delta,
      targetFpr,
      onShadow: (done, total) => {
        if (showProgress) process.stderr.write(`\rshadow models ${done}/${total}${done === total ? '\n' : ''}`);
      },
    });
  } catch (error) {
    if ((error as { name?: string }).name === 'FlError')
      throw new CliError('INVALID_ARGUMENT', (error as Error).message);
    throw error;
  }
  const accountantEpsilon =
    typeof provenance.epsilonSpent === 'number' && provenance.epsilonSpent > 0 ? provenance.epsilonSpent : null;
  const lowerBound = Math.max(
    report.lossThreshold.epsilonLowerBound.epsilon,
    report.lira?.epsilonLowerBound.epsilon ?? 0,
  );
  const json = {
    model: dir,
    jobId: provenance.jobId ?? null,
    parameters,
    rows: dense.rows,
    members: report.members,
    nonMembers: report.nonMembers,
    split,
    csvVerified: verified,
    shadows,
    delta,
    targetFpr,
    confidence: report.confidence,
    lossThreshold: attackJson(report.lossThreshold),
    lira: report.lira ? attackJson(report.lira) : null,
    epsilonLowerBound: lowerBound,
    accountantEpsilon,
  };
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const line = (name: string, r: AttackResult) =>
    `${name.padEnd(15)} AUC ${r.auc.auc.toFixed(3)} [${r.auc.ci.lower.toFixed(3)}, ${r.auc.ci.upper.toFixed(3)}]   ` +
    `TPR@${pct(targetFpr)} FPR ${pct(r.tprAtLowFpr.tpr)} [${pct(r.tprAtLowFpr.ci.lower)}, ${pct(r.tprAtLowFpr.ci.upper)}]` +
    `${r.tprAtLowFpr.fpr < targetFpr ? ` (at FPR ${pct(r.tprAtLowFpr.fpr)})` : ''}   ε ≥ ${r.epsilonLowerBound.epsilon.toFixed(3)}`;
  const text = [
    `model      ${dir}${provenance.jobId ? ` (job ${provenance.jobId.slice(0, 16)}…)` : ''}, ${parameters} parameters`,
    `rows       ${report.members} members, ${report.nonMembers} non-members (${split}); ${shadows} shadow models`,
    line('loss threshold', report.lossThreshold),
    ...(report.lira ? [line('offline LiRA', report.lira)] : []),
    `ε          empirical lower bound ${lowerBound.toFixed(3)} (95 % confidence, δ = ${delta}); accountant ${accountantEpsilon === null ? 'none (trained without DP)' : accountantEpsilon}`,
    ...(accountantEpsilon !== null && lowerBound > accountantEpsilon
      ? ['WARNING    the attacks did better than the accountant allows: check the training or the member lists']
      : []),
    ...(verified === false
      ? [
          `note       no \`dataset add\` record of dataset ${String(o.datasetId)} in this home: the CSV was not checked against its commitment`,
        ]
      : []),
    ...(report.nonMembers * targetFpr < 1
      ? [
          `note       ${report.nonMembers} non-members resolve no FPR below ${pct(1 / report.nonMembers)}: TPR is at FPR 0`,
        ]
      : []),
  ].join('\n');
  return { json, text };
}

export function registerAudit(program: Command, runner: Runner): void {
  const audit = program.command('audit').description('privacy audits an owner runs with its own data');
  audit
    .command('membership')
    .description('membership-inference audit of a pulled model against your own rows (loss threshold + offline LiRA)')
    .argument(
      '<modelDir>',
      'a model directory written by `sealfold model pull` (model.json, weights.bin, sealfold.json)',
    )
    .option('--data <csv>', 'your dataset as CSV (the file you sealed)')
    .option('--label <column>', 'the label column (as given to `dataset add`)')
    .option('--schema <file>', 'the schema JSON, if you gave one to `dataset add`')
    .option('--dataset-id <id>', 'your dataset id in the job: members/non-members are the silo’s train/held-out split')
    .option(
      '--members <rows>',
      'rows the model trained on: indices and ranges (0-based, e.g. 0-99,120) or a file of them',
    )
    .option('--holdout <rows>', 'rows the model never saw, same form as --members')
    .option('--shadows <n>', 'LiRA shadow models, even; 0 runs only the loss-threshold attack', '8')
    .option('--epochs <n>', 'shadow training: epochs (match the job: rounds × local epochs)', '20')
    .option('--batch-size <n>', 'shadow training: batch size', '32')
    .option('--learning-rate <x>', 'shadow training: learning rate', '0.1')
    .option('--optimizer <name>', 'shadow training: sgd or adam', 'sgd')
    .option('--delta <δ>', 'δ of the empirical ε bound (the job’s δ)', '1e-5')
    .option('--fpr <x>', 'the low false-positive rate to report the TPR at', '0.001')
    .option('--seed <seed>', 'seeds the shadow models’ data halves and initial weights', 'sealfold-audit')
    .addHelpText(
      'after',
      `
Members are the rows the job trained on; non-members rows it never saw. --dataset-id uses the silo's own split
(a seeded shuffle by dataset id; 10 % held out for federated evaluation, never trained on) — the CSV must be the
file sealed as that dataset (checked against the commitment \`dataset add\` recorded, when this home has it).
Otherwise list both with --members and --holdout, split at random.
The shadow models train here on halves of members ∪ non-members (every row is out of half of them) with the
--epochs/--batch-size/--learning-rate/--optimizer you give: the closer to the job's training, the stronger LiRA.
The ε lower bound holds with 95 % confidence for any threshold attack; it can show that a model leaks more than its
ε allows, never that it leaks less (see docs/PRIVACY.md).
${JSON_NOTE}
  {"model", "jobId", "parameters", "rows", "members", "nonMembers", "split", "csvVerified", "shadows", "delta", "targetFpr",
   "confidence", "lossThreshold": {"auc", "aucCi", "tprAtFpr", "tprCi", "fprAchieved", "epsilonLowerBound"},
   "lira": {…}|null, "epsilonLowerBound", "accountantEpsilon"|null}`,
    )
    .action(runner.action((ctx, args, o) => membership(ctx, args, o)));
}
