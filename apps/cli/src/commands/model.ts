// `sealfold model pull|predict`: the buyer's trained model. Fetches the age-encrypted bundle the coordinator stored on IPFS,
// checks it against the provenance record on chain (ModelRegistry: job → model CID), decrypts it with the buyer's
// age identity and writes a TensorFlow.js layers-model directory (model.json + weights.bin, the format of
// `model.save('file://…')`, loadable with `tf.loadLayersModel`).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import type { SealfoldChain } from '@sealfold/chain';
import type { JobRequest } from '@sealfold/protocol';
import { openChain } from '../chain-connect.js';
import { coordinatorUrl, parseJobId, type JobView } from '../coordinator-api.js';
import { readCoordinator } from '../coordinator-session.js';
import { CliError } from '../errors.js';
import { loadOwner } from '../owner.js';
import { parseAddress } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';
import { assertHas, openStore } from '../store.js';

type ModelRecordView = import('@sealfold/protocol').ModelRecordView;
type ModelBundle = import('@sealfold/protocol').ModelBundle;

const MAX_MODEL_BYTES = 512 * 1024 * 1024;

async function readAll(source: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > limit) throw new CliError('MODEL_TOO_LARGE', `the model object is larger than ${limit} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts, total);
}

/** Writes model.json + weights.bin for `spec` with `weights` through tfjs's own serialisation (tf.io.withSaveHandler). */
export async function saveTfjsModel(
  spec: unknown,
  weights: Float32Array,
  dir: string,
): Promise<{ weightBytes: number }> {
  const fl = await import('@sealfold/fl');
  const tf = await import('@tensorflow/tfjs-core');
  const { spec: parsed } = fl.parseModelSpec(spec);
  await fl.useBackendFor(parsed);
  const built = fl.buildModel(parsed, { weights });
  let weightBytes = 0;
  try {
    await built.model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        if (!artifacts.weightData || !artifacts.weightSpecs)
          throw new CliError('INTERNAL', 'tfjs produced no weights', 2);
        const data = tf.io.concatenateArrayBuffers(
          Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData],
        );
        weightBytes = data.byteLength;
        // The layout tfjs-node's file:// handler writes (tfjs-core io/model_artifacts): one weights group, one file.
        const modelJson = {
          modelTopology: artifacts.modelTopology,
          format: 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          weightsManifest: [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs }],
        };
        await writeFile(join(dir, 'weights.bin'), Buffer.from(data), { mode: 0o600 });
        await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson), { mode: 0o600 });
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
  } finally {
    built.model.dispose();
  }
  return { weightBytes };
}

/**
 * The coordinator account whose ModelRegistry record counts for this job (records are keyed by their writer, so
 * another coordinator cannot claim the job id first): `--coordinator-address`, else the `coordinator` named in the
 * signed request (JobRequest v2), else the account the coordinator we submitted to reports at GET /info.
 */
/**
 * The coordinator whose ModelRegistry record to trust: `--coordinator-address`, else the one the buyer signed into
 * the job request. The request comes from the coordinator, so it counts only if its EIP-712 digest is the job id.
 */
async function recordingCoordinator(
  ctx: Context,
  base: string,
  jobId: string,
  o: Record<string, unknown>,
  client: SealfoldChain,
): Promise<string> {
  if (o.coordinatorAddress !== undefined) return parseAddress(String(o.coordinatorAddress), '--coordinator-address');
  const job = await readCoordinator<JobView>(ctx, base, `/jobs/${jobId}`);
  const { parseJobRequest } = await import('@sealfold/protocol');
  const { hashJobRequest, sealfoldDomain } = await import('@sealfold/chain');
  let request: JobRequest;
  try {
    request = parseJobRequest(job.request);
  } catch (error) {
    throw new CliError(
      'PROVENANCE_MISMATCH',
      `the coordinator's copy of job ${jobId} is not a valid request: ${String(error)}`,
    );
  }
  const digest = hashJobRequest(sealfoldDomain(client.chainId, client.addresses!.datasetLicence), request).slice(2);
  if (digest !== jobId)
    throw new CliError('PROVENANCE_MISMATCH', `the coordinator's copy of job ${jobId} is not the request you signed`);
  return request.coordinator;
}

async function pull(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const jobId = parseJobId(args[0]);
  const out = resolve(String(o.output));
  if (existsSync(out) && o.force !== true)
    throw new CliError('EXISTS', `${out} exists; choose another --output or pass --force to replace it`);
  const base = coordinatorUrl(o.coordinator, env);
  const buyer = await loadOwner(ctx);

  const record = await readCoordinator<ModelRecordView>(ctx, base, `/models/${jobId}`);
  // Provenance is read from the chain, not taken from the coordinator's word: the CID must be the one recorded.
  const { client } = await openChain(ctx, env);
  const coordinator = await recordingCoordinator(ctx, base, jobId, o, client);
  if (!(await client.isModelRecorded(coordinator, `0x${jobId}`)))
    throw new CliError('NO_PROVENANCE', `ModelRegistry has no record by coordinator ${coordinator} for job ${jobId}`);
  const provenance = await client.getModel(coordinator, `0x${jobId}`);
  if (provenance.modelCid !== record.cid)
    throw new CliError(
      'PROVENANCE_MISMATCH',
      `the coordinator names model ${record.cid} but ModelRegistry recorded ${provenance.modelCid} for job ${jobId}`,
    );

  const s = await openStore(ctx, env);
  await assertHas(s, record.cid);
  const ciphertext = await readAll(s.store.cat(record.cid), MAX_MODEL_BYTES);
  const sha256 = createHash('sha256').update(ciphertext).digest('hex');
  if (sha256 !== record.sha256)
    throw new CliError('HASH_MISMATCH', `model object ${record.cid} does not match its SHA-256`);

  const { decrypt } = await import('@sealfold/crypto');
  const { decodeWeights, modelSpecHash, parseModelSpec } = await import('@sealfold/fl');
  const { EPSILON_UNBOUNDED_MILLI, epsilonFromMilli, parseModelBundle } = await import('@sealfold/protocol');
  let bundle: ModelBundle;
  let plaintext: Uint8Array;
  try {
    plaintext = decrypt(ciphertext, [buyer.identity]);
  } catch (error) {
    if ((error as { code?: string }).code !== 'NO_IDENTITY_MATCHED') throw error;
    // The model is sealed to the recipient the buyer signed into the job: name it, and whose key this is.
    const job = await readCoordinator<JobView>(ctx, base, `/jobs/${jobId}`).catch(() => undefined);
    const signed = job?.request.recipient;
    throw new CliError(
      'NOT_RECIPIENT',
      `the model of job ${jobId.slice(0, 12)}… is encrypted to ${signed ? `${signed.slice(0, 20)}… (the recipient its buyer ${job?.buyer ?? ''} signed)` : "its buyer's age recipient"}, ` +
        `not to your keystore's ${buyer.recipient.slice(0, 20)}… (wallet ${buyer.address}); only that buyer's keystore can decrypt it`,
      1,
      { cause: error },
    );
  }
  // Validated against the one sealfold-model/v1 schema (libs/protocol model-bundle.ts): BAD_MODEL names the field.
  try {
    bundle = parseModelBundle(plaintext);
  } catch (error) {
    plaintext.fill(0);
    throw error;
  }
  // ε in thousandths from ModelRegistry; EPSILON_UNBOUNDED_MILLI (no DP noise) is null in JSON, "unbounded" in text.
  const unbounded = provenance.epsilonSpentMilli === EPSILON_UNBOUNDED_MILLI;
  const epsilonSpent = unbounded ? null : epsilonFromMilli(provenance.epsilonSpentMilli);
  if (bundle.jobId !== jobId) throw new CliError('BAD_MODEL', `the bundle is for job ${bundle.jobId}, not ${jobId}`);
  const { layout } = parseModelSpec(bundle.modelSpec);
  const weights = decodeWeights(Buffer.from(bundle.weights, 'base64'), layout.totalSize);

  // Written into a temporary sibling directory and renamed, so a failure never leaves a half-written model.
  await mkdir(dirname(out), { recursive: true });
  const temp = join(dirname(out), `.${randomUUID()}.model.tmp`);
  await mkdir(temp, { mode: 0o700 });
  let weightBytes: number;
  try {
    ({ weightBytes } = await saveTfjsModel(bundle.modelSpec, weights, temp));
    const datasets = provenance.datasetIds.map(String);
    const sidecar = {
      format: 'sealfold-model-provenance/v1',
      jobId,
      modelCid: record.cid,
      modelSpecHash: modelSpecHash(bundle.modelSpec),
      modelSpec: bundle.modelSpec,
      strategy: bundle.strategy,
      rounds: provenance.rounds,
      datasets,
      epsilonSpent,
      coordinator: provenance.coordinator,
      recordedAt: new Date(Number(provenance.recordedAt) * 1000).toISOString(),
      txHash: record.txHash,
      metrics: bundle.metrics ?? [],
      // The input encoding `model predict` applies to raw rows (feature order, standardisation, imputation, one-hot
      // levels, class order), and the accuracy of always predicting the most frequent class.
      ...(bundle.encoding ? { encoding: bundle.encoding } : {}),
      ...(bundle.majorityBaseline !== undefined ? { majorityBaseline: bundle.majorityBaseline } : {}),
    };
    await writeFile(join(temp, 'sealfold.json'), JSON.stringify(sidecar, null, 2), { mode: 0o600 });
    if (existsSync(out)) await rm(out, { recursive: true, force: true });
    await rename(temp, out);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  } finally {
    plaintext.fill(0);
  }

  const metrics = bundle.metrics ?? [];
  const lastAccuracy = [...metrics].reverse().find((m) => m.accuracy !== null)?.accuracy ?? null;
  const json = {
    jobId,
    output: out,
    files: ['model.json', 'weights.bin', 'sealfold.json'],
    modelCid: record.cid,
    ciphertextBytes: ciphertext.length,
    weightBytes,
    parameters: layout.totalSize,
    provenance: {
      datasets: provenance.datasetIds.map(String),
      rounds: provenance.rounds,
      epsilonSpent,
      coordinator: provenance.coordinator,
      recordedAt: provenance.recordedAt,
      txHash: record.txHash,
    },
    accuracy: lastAccuracy,
    majorityBaseline: bundle.majorityBaseline ?? null,
  };
  const text = [
    `model      ${out} (model.json + weights.bin, ${layout.totalSize} parameters; tf.loadLayersModel reads it)`,
    `cid        ${record.cid} (${ciphertext.length} bytes, age-encrypted to ${buyer.recipient.slice(0, 16)}…)`,
    `provenance ModelRegistry: job ${jobId.slice(0, 16)}…, datasets ${json.provenance.datasets.join(', ')}, ${provenance.rounds} rounds, ε ${unbounded ? 'unbounded (no DP noise)' : epsilonSpent}`,
    `           recorded ${new Date(Number(provenance.recordedAt) * 1000).toISOString()} by coordinator ${provenance.coordinator}${record.txHash ? ` (tx ${record.txHash})` : ''}`,
    ...(lastAccuracy !== null ? [`accuracy   ${lastAccuracy.toFixed(4)} (federated evaluation, last round)`] : []),
    ...(bundle.majorityBaseline !== undefined
      ? [`baseline   ${bundle.majorityBaseline.toFixed(4)} (always the most frequent class)`]
      : []),
  ].join('\n');
  return { json, text };
}

/**
 * `model predict <dir> <rows.csv>`: the pulled model on raw rows. The bundle's input encoding (sealfold.json) maps
 * columns by name, standardises and imputes with the owners' global statistics and one-hot encodes, as the silos did.
 */
async function predict(ctx: Context, args: string[]): Promise<CommandResult> {
  const dir = resolve(args[0]);
  const rowsFile = resolve(args[1]);
  const { readFile } = await import('node:fs/promises');
  const { createReadStream } = await import('node:fs');
  const fl = await import('@sealfold/fl');
  const { inputEncodingSchema } = await import('@sealfold/protocol');
  const { csvRecords } = await import('@sealfold/dataset');
  let sidecar: { format?: unknown; modelSpec?: unknown; encoding?: unknown };
  try {
    sidecar = JSON.parse(await readFile(join(dir, 'sealfold.json'), 'utf8')) as typeof sidecar;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliError(
        'NOT_FOUND',
        `${dir} has no sealfold.json: \`sealfold model pull <jobId> -o ${args[0]}\` writes it`,
      );
    throw new CliError('BAD_MODEL', `${join(dir, 'sealfold.json')} is not JSON: ${(error as Error).message}`);
  }
  if (sidecar.format !== 'sealfold-model-provenance/v1')
    throw new CliError('BAD_MODEL', `${join(dir, 'sealfold.json')} is not a sealfold model provenance file`);
  if (sidecar.encoding === undefined)
    throw new CliError(
      'NO_ENCODING',
      'this model carries no input encoding (trained before job schemas): it cannot read raw rows',
    );
  const encoding = inputEncodingSchema.safeParse(sidecar.encoding);
  if (!encoding.success)
    throw new CliError(
      'BAD_MODEL',
      `sealfold.json encoding: ${encoding.error.issues[0]?.path.join('.')}: ${encoding.error.issues[0]?.message}`,
    );
  const enc = encoding.data;
  let layout;
  try {
    ({ layout } = fl.parseModelSpec(sidecar.modelSpec));
  } catch (error) {
    throw new CliError('BAD_MODEL', `sealfold.json modelSpec: ${(error as Error).message}`);
  }
  const bin = await readFile(join(dir, 'weights.bin'));
  if (bin.byteLength !== layout.totalSize * 4)
    throw new CliError('BAD_MODEL', `weights.bin has ${bin.byteLength} bytes, the model ${layout.totalSize * 4}`);
  const weights = new Float32Array(new Uint8Array(bin).buffer, 0, layout.totalSize);
  const records: string[][] = [];
  for await (const record of csvRecords(createReadStream(rowsFile))) records.push(record);
  let data;
  try {
    data = fl.encodeRows(fl.rawRowsFromRecords(records, enc), enc);
  } catch (error) {
    if (error instanceof fl.PreprocessError) throw new CliError('INVALID_ROWS', `${args[1]}: ${error.message}`);
    throw error;
  }
  const k = enc.classes.length;
  const probabilities = await fl.predictLocal(sidecar.modelSpec, weights, data);
  const predictions = Array.from({ length: data.labels.length }, (_, r) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (probabilities[r * k + c] > probabilities[r * k + best]) best = c;
    return enc.classes[best];
  });
  // Rows that carry the label column (held-out rows) are scored: the model's accuracy on them.
  const labelAt = records[0].indexOf(enc.label);
  let labelled = 0;
  let correct = 0;
  if (labelAt >= 0)
    records.slice(1).forEach((rec, r) => {
      const truth = rec[labelAt].trim();
      if (truth === '') return;
      labelled++;
      if (truth === predictions[r]) correct++;
    });
  const accuracy = labelled > 0 ? correct / labelled : null;
  if (accuracy !== null) ctx.note(`accuracy ${accuracy.toFixed(4)} on the ${labelled} rows that carry "${enc.label}"`);
  return {
    json: {
      rows: predictions.length,
      classes: enc.classes,
      predictions,
      probabilities: predictions.map((_, r) => Array.from(probabilities.subarray(r * k, (r + 1) * k))),
      labelled,
      accuracy,
    },
    text: [enc.label, ...predictions].join('\n'),
  };
}

export function registerModel(program: Command, runner: Runner): void {
  const env = runner.env;
  const model = program.command('model').description('trained models delivered to you (buyer)');
  model
    .command('pull')
    .description('download, verify against ModelRegistry, decrypt, and save a job’s model as a tfjs model directory')
    .argument('<jobId>', 'job id (64 hex digits)')
    .requiredOption('-o, --output <dir>', 'output directory (model.json, weights.bin, sealfold.json)')
    .option('--force', 'replace an existing output directory')
    .option('--coordinator <url>', 'coordinator URL (env SEALFOLD_COORDINATOR_URL; default http://127.0.0.1:8080)')
    .option(
      '--coordinator-address <address>',
      "the coordinator account whose ModelRegistry record to trust (default: the signed request's, else GET /info's)",
    )
    .addHelpText(
      'after',
      `
The directory is what tfjs's model.save('file://dir') writes: load it with tf.loadLayersModel('file://dir/model.json')
(tfjs-node) or tf.io.fromMemory. sealfold.json carries the provenance (datasets, rounds, ε, coordinator, metrics) and
the input encoding: the model takes rows as the job encoded them (standardised with the owners' global figures,
imputed, one-hot), not raw values; \`sealfold model predict <dir> <rows.csv>\` applies it to raw rows.
${JSON_NOTE}
  {"jobId", "output", "files", "modelCid", "ciphertextBytes", "weightBytes", "parameters",
   "provenance": {"datasets", "rounds", "epsilonSpent", "coordinator", "recordedAt", "txHash"}, "accuracy"}
  "epsilonSpent" is null when the job added no DP noise (its ε is unbounded).`,
    )
    .action(runner.action((ctx, args, o) => pull(ctx, env, args, o)));
  model
    .command('predict')
    .description(
      'predict the class of each row of a CSV with a pulled model (raw rows: the model carries its encoding)',
    )
    .argument('<dir>', 'a model directory written by `model pull`')
    .argument('<rows>', 'CSV file with a header; columns by name, in any order; extra columns are ignored')
    .addHelpText(
      'after',
      `
The model's input encoding travels in its bundle (sealfold.json "encoding"): the feature columns in model order, each
numeric one standardised with the owners' global mean and standard deviation (summed through SecAgg+ before round 1)
and a missing value (empty, NA, N/A, NaN, null, ?) imputed with the mean; each categorical one one-hot over its
levels, a missing value imputed with the most frequent level; outputs in the job schema's class order. Prints one
predicted class per row (a CSV column headed by the label's name); rows that carry the label column are scored and the
accuracy goes to stderr. A value it cannot read (not a number, an unknown level) is refused naming row and column.
${JSON_NOTE}
  {"rows", "classes", "predictions": [..], "probabilities": [[..]], "labelled", "accuracy"|null}`,
    )
    .action(runner.action((ctx, args) => predict(ctx, args)));
}
