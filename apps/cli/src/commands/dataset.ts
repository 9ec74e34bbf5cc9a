// `sealfold dataset inspect|add|register|verify|cat|export-car|terms|list` (and `reseal`, dataset-reseal.ts): preview
// what a CSV would publish, seal it (validate → age-encrypt to yourself → IPFS), write its manifest, register it on
// chain, and get it back.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { errorCode } from '@sealfold/protocol';
import type { CommandResult, Context } from '../context.js';
import { openChain, type OpenChain } from '../chain-connect.js';
import { writeFileAtomic } from '../atomic-file.js';
import { CliError } from '../errors.js';
import { loadOwner } from '../owner.js';
import { createProgress } from '../progress.js';
import { readRecords, saveRecord, type DatasetRecord } from '../records.js';
import { assertHas, openStore, type CliStore } from '../store.js';
import { formatEth, parseDays, parseEpsilon, parseId, parseSmallInt, parseUint } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';
import { askYesNo, canPrompt } from '../prompt.js';
import { termsJson, termsText } from '../terms.js';
import { registerDatasetReseal } from './dataset-reseal.js';

type Manifest = import('@sealfold/dataset').Manifest;
type InspectResult = import('@sealfold/dataset').InspectResult;

/** `--k`: 1..1000000. */
function parseK(value: unknown): number {
  const k = parseSmallInt(String(value), '--k', 1_000_000);
  if (k === 0) throw new CliError('INVALID_ARGUMENT', '--k must be at least 1');
  return k;
}

/** The inspection options shared by `inspect` and `add`: label, declared schema, k. */
async function inspectOptions(o: Record<string, unknown>) {
  const ds = await import('@sealfold/dataset');
  const schema = o.schema === undefined ? undefined : ds.parseSchemaJson(await readFile(String(o.schema), 'utf8'));
  const label = o.label === undefined ? (schema?.label ?? '') : String(o.label);
  if (label === '') throw new CliError('INVALID_ARGUMENT', '--label must name the label column (or give --schema)');
  return { label, ...(schema ? { schema } : {}), ...(o.k === undefined ? {} : { k: parseK(o.k) }) };
}

const cell = (s: string | number, w: number) => String(s).padEnd(w);

/** The preview: the schema as inferred or declared, and exactly what the manifest would publish. */
function previewText(file: string, r: InspectResult): string {
  const w = Math.max(6, ...r.columns.map((c) => c.name.length)) + 2;
  const lines = [
    `${basename(file)}: ${r.rows} rows, ${r.columns.length} columns; k = ${r.k} (no value occurring in fewer rows is published)`,
    `${cell('column', w)}${cell('type', 13)}${cell('role', 9)}${cell('missing', 9)}${cell('distinct', 10)}${cell('rare', 6)}features`,
  ];
  for (const c of r.columns)
    lines.push(
      `${cell(c.name, w)}${cell(c.type, 13)}${cell(c.role, 9)}${cell(c.missing, 9)}${cell(c.distinct ?? '-', 10)}` +
        `${cell(c.rare ?? '-', 6)}${c.features.length === 0 ? '-' : c.features.length === 1 ? c.features[0] : `${c.features.length} (${c.features[0]} …)`}`,
    );
  lines.push('', 'will be public (the manifest is on IPFS and cannot be unpublished):');
  lines.push(`  the column names, types and roles above, ${r.rows} rows, k, the commitment, your name and terms`);
  for (const c of r.columns)
    if (c.published.length > 0)
      lines.push(`  ${c.role === 'label' ? 'classes' : 'levels'} of "${c.name}": ${c.published.join(', ')}`);
  const hashed = r.schema.columns.filter((c) => c.type === 'categorical' && c.encoding === 'hash');
  if (hashed.length > 0)
    lines.push(`  no value of ${hashed.map((c) => `"${c.name}"`).join(', ')} (feature-hashed: levels not public)`);
  const missing = r.columns.filter((c) => c.missing > 0);
  if (missing.length > 0)
    lines.push(
      '',
      `missing values (masked, sealed as they are): ${missing.map((c) => `"${c.name}" ${c.missing} (first line ${c.firstMissingLine})`).join(', ')}`,
    );
  if (r.refusal) lines.push('', `sealing would refuse this file: ${r.refusal.message}`);
  return lines.join('\n');
}

function previewJson(file: string, r: InspectResult) {
  return {
    file,
    rows: r.rows,
    k: r.k,
    commitment: r.commitment,
    columns: r.columns,
    publicSchema: r.schema,
    classes: r.classes,
    refusal: r.refusal ? { code: r.refusal.code, message: r.refusal.message } : null,
  };
}

async function inspect(ctx: Context, args: string[], o: Record<string, unknown>): Promise<CommandResult> {
  const file = args[0];
  const ds = await import('@sealfold/dataset');
  const r = await ds.inspectCsv(createReadStream(file), { ...(await inspectOptions(o)), refuseRare: false });
  if (o.writeSchema !== undefined) {
    const out = String(o.writeSchema);
    await writeFileAtomic(out, [Buffer.from(`${JSON.stringify(r.privateSchema, null, 2)}\n`)], 0o600);
    ctx.note(`wrote the full schema (private: it lists every level) to ${out}; edit it and pass it as --schema`);
  }
  return { json: previewJson(file, r), text: previewText(file, r), ...(r.refusal ? { exitCode: 1 } : {}) };
}

const TERMS_JSON =
  '{"priceWei", "paymentToken"|null, "priceToken", "licenceDurationSeconds", "maxJobs", "epsilon", "dpLevel", "minOwners", "royaltyBps", "listed"}';

export async function readManifest(s: CliStore, cid: string): Promise<Manifest> {
  const { parseManifest } = await import('@sealfold/dataset');
  await assertHas(s, cid);
  const store = s.store;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of store.cat(cid)) {
    size += chunk.length;
    if (size > 4 * 1024 * 1024) throw new CliError('INVALID_MANIFEST', `${cid} is not a manifest (larger than 4 MiB)`);
    chunks.push(chunk);
  }
  return parseManifest(Buffer.concat(chunks));
}

/**
 * Mints the dataset token for a stored manifest: tokenURI ipfs://<manifestCid>, the commitment, the offered terms
 * (libs/dataset registrationOf), and the owner's policy (the fewest independent owners per job; the chain client's
 * default when not given).
 */
async function register(
  chain: OpenChain,
  manifestCid: string,
  manifest: Manifest,
  policy: { minOwners?: number; dpLevel?: 'record' | 'owner' } = {},
) {
  const { registrationOf } = await import('@sealfold/dataset');
  const registration = registrationOf(manifestCid, manifest);
  return chain.client.registerDataset({ ...registration, terms: { ...registration.terms, ...policy } });
}

/** `--dp-level`: what the licence's ε protects, and so the only DP level the owner's silo trains. */
function parseDpLevel(value: unknown): 'record' | 'owner' {
  const level = String(value);
  if (level !== 'record' && level !== 'owner')
    throw new CliError('INVALID_ARGUMENT', `--dp-level must be record or owner, got "${level}"`);
  return level;
}

/** `--min-owners`: 1..65535 (uint16 on chain). */
function parseMinOwners(value: unknown): number {
  const n = parseSmallInt(String(value), '--min-owners', 0xffff);
  if (n === 0) throw new CliError('INVALID_ARGUMENT', '--min-owners must be at least 1');
  return n;
}

function addResultText(json: Record<string, unknown>): string {
  const lines = [
    `manifest   ${json.manifestCid}`,
    `sealed     ${json.ciphertextCid} (${json.ciphertextBytes} bytes, age-v1 to ${json.recipientType === 'X25519' ? 'an X25519' : 'a hybrid post-quantum'} recipient)`,
    `rows       ${json.rows}   classes ${(json.classes as string[]).join(', ')}`,
    `commitment ${json.commitment}`,
  ];
  if (json.datasetId !== null)
    lines.push(`dataset id ${json.datasetId}   tx ${json.txHash}   gas used ${json.gasUsed}`);
  else lines.push('not registered on chain (--no-register)');
  return lines.join('\n');
}

async function add(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const file = args[0];
  const name = String(o.name ?? '').trim();
  if (name === '') throw new CliError('INVALID_ARGUMENT', '--name must not be empty');
  const label = String(o.label ?? '');
  if (label === '') throw new CliError('INVALID_ARGUMENT', '--label must name the label column');
  const description = String(o.description ?? '');
  const priceWei = parseUint(String(o.priceWei), '--price-wei');
  const durationSeconds = parseDays(String(o.durationDays));
  if (durationSeconds === 0n) throw new CliError('INVALID_ARGUMENT', '--duration-days must be at least 1');
  const { epsilon } = parseEpsilon(String(o.epsilon));
  const maxJobs = parseSmallInt(String(o.maxJobs), '--max-jobs', 0xffffffff);
  if (maxJobs === 0) throw new CliError('INVALID_ARGUMENT', '--max-jobs must be at least 1');
  const minOwners = o.minOwners === undefined ? undefined : parseMinOwners(o.minOwners);
  const dpLevel = o.dpLevel === undefined ? undefined : parseDpLevel(o.dpLevel);
  const registerOnChain = o.register !== false;
  // The manifest is public for good: a person accepts the preview, a script says --yes (issue 13 §1).
  const confirmed = o.yes === true;
  if (!confirmed && (ctx.json || !canPrompt()))
    throw new CliError(
      'CONFIRMATION_REQUIRED',
      `dataset add publishes a manifest that cannot be unpublished: review it with \`sealfold dataset inspect ${file}` +
        ` --label ${label}\`, then pass --yes (stdin is not a terminal${ctx.json ? ', or --json' : ''})`,
    );

  const ds = await import('@sealfold/dataset');
  const options = await inspectOptions(o);
  const schema = options.schema;
  const size = (await stat(file)).size;
  // Asked at a terminal: a first pass previews what would be published (nothing written) before the question; the
  // seal below re-reads the file and its commitment must match. Confirmed up front (--yes): one pass, the seal's own
  // inspection (the same refusals, before the ciphertext completes) is the preview, printed once it is known.
  let preview: InspectResult | undefined;
  if (!confirmed) {
    preview = await ds.inspectCsv(createReadStream(file), { ...options, refuseRare: false });
    if (!ctx.json) process.stderr.write(`${previewText(file, preview)}\n\n`);
    if (preview.refusal) throw preview.refusal;
    if (!(await askYesNo('Publish this manifest and seal the data? [y/N] ')))
      throw new CliError('NOT_CONFIRMED', 'not confirmed: nothing was added');
  }

  const owner = await loadOwner(ctx);
  // Reach the chain before sealing: an unreachable RPC fails the command with nothing stored.
  const chain = registerOnChain ? await openChain(ctx, env, owner.wallet) : undefined;
  const { store } = await openStore(ctx, env);

  // One pass: the inspector validates the bytes as they stream into the encryptor and on into the store; invalid
  // input never completes a ciphertext and a failed add deletes the blocks it created (libs/dataset sealDataset).
  const progress = createProgress(`sealing ${basename(file)}`, size, !ctx.json && process.stderr.isTTY === true);
  // Ctrl-C / SIGTERM while sealing aborts the add, which deletes the blocks it created: nothing stays behind.
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let sealed: import('@sealfold/dataset').SealedDataset;
  try {
    sealed = await ds.sealDataset({
      source: createReadStream(file),
      label,
      ...(schema ? { schema } : {}),
      ...(options.k === undefined ? {} : { k: options.k }),
      recipients: [owner.recipient],
      store,
      name,
      description,
      owner: owner.address,
      terms: {
        priceWei: priceWei.toString(),
        licenceDurationSeconds: Number(durationSeconds),
        epsilonBudget: epsilon,
        maxJobs,
      },
      signal: interrupt.signal,
      onPlaintext: (n) => progress.advance(n),
    });
  } catch (error) {
    if (interrupt.signal.aborted)
      throw new CliError('INTERRUPTED', `interrupted while sealing ${basename(file)}: nothing was added`);
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  progress.finish();
  const { manifest, manifestCid, inspected } = sealed;
  const recipientType = manifest.sealed.recipientType;
  if (!preview && !ctx.json) process.stderr.write(`${previewText(file, inspected)}\n\n`);
  if (preview && inspected.commitment !== preview.commitment) {
    // The file changed between the preview and the seal: what was accepted is not what would be published.
    await store.unpin(manifestCid);
    await store.unpin(manifest.sealed.cid);
    throw new CliError('FILE_CHANGED', `${basename(file)} changed while it was being sealed: nothing was added`);
  }

  const record: DatasetRecord = {
    manifestCid,
    name,
    ciphertextCid: manifest.sealed.cid,
    commitment: inspected.commitment,
    rows: inspected.rows,
    createdAt: manifest.createdAt,
  };
  let reg: Awaited<ReturnType<typeof register>> | undefined;
  if (chain) {
    try {
      reg = await register(chain, manifestCid, manifest, {
        ...(minOwners === undefined ? {} : { minOwners }),
        ...(dpLevel === undefined ? {} : { dpLevel }),
      });
    } catch (error) {
      // Sealed and stored but not registered: recorded as such, and the user is told how to finish.
      await saveRecord(ctx, record);
      throw new CliError(
        errorCode(error) ?? 'REGISTER_FAILED',
        `sealed as manifest ${manifestCid}, but the chain registration failed: ${(error as Error).message}; ` +
          `retry with \`sealfold dataset register ${manifestCid}\``,
        1,
        { cause: error },
      );
    }
    record.chain = { chainId: chain.client.chainId.toString(), datasetId: reg.datasetId.toString(), txHash: reg.hash };
  }
  await saveRecord(ctx, record);
  const json = {
    manifestCid,
    ciphertextCid: manifest.sealed.cid,
    ciphertextBytes: manifest.sealed.bytes,
    recipientType,
    plaintextBytes: size,
    rows: inspected.rows,
    classes: inspected.classes,
    columns: inspected.schema.columns.length,
    publicSchema: manifest.schema,
    commitment: inspected.commitment,
    owner: owner.address,
    datasetId: reg?.datasetId ?? null,
    txHash: reg?.hash ?? null,
    gasUsed: reg?.gasUsed ?? null,
    chainId: chain?.client.chainId ?? null,
  };
  return { json, text: addResultText(json) };
}

async function registerCommand(ctx: Context, env: NodeJS.ProcessEnv, args: string[]): Promise<CommandResult> {
  const manifestCid = args[0];
  const owner = await loadOwner(ctx);
  const chain = await openChain(ctx, env, owner.wallet);
  const store = await openStore(ctx, env);
  const manifest = await readManifest(store, manifestCid);
  if (manifest.owner !== owner.address)
    throw new CliError(
      'NOT_OWNER',
      `manifest ${manifestCid} belongs to ${manifest.owner}, not to your wallet ${owner.address}`,
    );
  await store.store.pin(manifestCid);
  const reg = await register(chain, manifestCid, manifest);
  await saveRecord(ctx, {
    manifestCid,
    name: manifest.name,
    ciphertextCid: manifest.sealed.cid,
    commitment: manifest.commitment,
    rows: manifest.rows,
    createdAt: manifest.createdAt,
    chain: { chainId: chain.client.chainId.toString(), datasetId: reg.datasetId.toString(), txHash: reg.hash },
  });
  return {
    json: {
      manifestCid,
      datasetId: reg.datasetId,
      txHash: reg.hash,
      gasUsed: reg.gasUsed,
      chainId: chain.client.chainId,
    },
    text: `dataset id ${reg.datasetId}   tx ${reg.hash}   gas used ${reg.gasUsed}`,
  };
}

async function verify(ctx: Context, env: NodeJS.ProcessEnv, args: string[]): Promise<CommandResult> {
  const manifestCid = args[0];
  const ds = await import('@sealfold/dataset');
  const crypto = await import('@sealfold/crypto');
  const owner = await loadOwner(ctx);
  const store = await openStore(ctx, env);
  const manifest = await readManifest(store, manifestCid);
  await assertHas(store, manifest.sealed.cid);
  const progress = createProgress('verifying', manifest.sealed.bytes, !ctx.json && process.stderr.isTTY === true);
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of store.store.cat(manifest.sealed.cid)) {
      progress.advance(chunk.length);
      yield chunk;
    }
  }
  const result = await ds.inspectCsv(crypto.decryptChunks(counted(), [owner.identity]), {
    label: manifest.schema.label,
    schema: manifest.schema,
  });
  progress.finish();
  const ok = result.commitment === manifest.commitment && result.rows === manifest.rows;
  if (!ok)
    throw new CliError(
      'COMMITMENT_MISMATCH',
      `manifest ${manifestCid}: the sealed data does not match its manifest (commitment ${result.commitment}, ` +
        `rows ${result.rows}; the manifest says ${manifest.commitment}, ${manifest.rows} rows)`,
    );
  return {
    json: { ok, manifestCid, ciphertextCid: manifest.sealed.cid, commitment: result.commitment, rows: result.rows },
    text: `ok: ${manifest.rows} rows, commitment ${result.commitment} matches manifest ${manifestCid}`,
  };
}

async function cat(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const manifestCid = args[0];
  const out = String(o.output);
  const store = await openStore(ctx, env);
  const manifest = await readManifest(store, manifestCid);
  await assertHas(store, manifest.sealed.cid);
  if (o.sealed === true) {
    // The ciphertext exactly as stored (an age file: `age -d -i <identity>` opens it); no key needed.
    const bytes = await writeFileAtomic(out, store.store.cat(manifest.sealed.cid), 0o644, (n) => {
      if (n !== manifest.sealed.bytes)
        throw new CliError(
          'SIZE_MISMATCH',
          `the stored ciphertext ${manifest.sealed.cid} has ${n} bytes, the manifest says ${manifest.sealed.bytes}`,
        );
    });
    return {
      json: { manifestCid, output: out, bytes, sealed: true, ciphertextCid: manifest.sealed.cid },
      text: `wrote ${bytes} bytes of ciphertext (age-v1, as stored in ${manifest.sealed.cid}) to ${out}`,
    };
  }
  const crypto = await import('@sealfold/crypto');
  const owner = await loadOwner(ctx);
  // decryptToFile writes a temporary file next to `out` and renames it only after the final chunk authenticates.
  const { bytes } = await crypto.decryptToFile(store.store.cat(manifest.sealed.cid), [owner.identity], out);
  return { json: { manifestCid, output: out, bytes, sealed: false }, text: `wrote ${bytes} bytes to ${out}` };
}

async function exportCar(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const cid = args[0];
  const out = String(o.output);
  const store = await openStore(ctx, env);
  await assertHas(store, cid);
  const bytes = await writeFileAtomic(out, store.store.exportCar(cid), 0o644);
  return { json: { cid, output: out, bytes }, text: `wrote ${bytes} bytes (CAR v1, root ${cid}) to ${out}` };
}

async function terms(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const datasetId = parseId(args[0], 'dataset id');
  if (o.list === true && o.delist === true)
    throw new CliError('INVALID_ARGUMENT', '--list and --delist exclude each other');
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, owner.wallet);
  const current = await client.getTerms(datasetId);
  const next = { ...current };
  if (o.priceWei !== undefined) next.priceWei = parseUint(String(o.priceWei), '--price-wei');
  if (o.durationDays !== undefined) next.licenceDuration = parseDays(String(o.durationDays));
  if (o.maxJobs !== undefined) next.maxJobs = parseSmallInt(String(o.maxJobs), '--max-jobs', 0xffffffff);
  if (o.epsilon !== undefined) next.epsilonBudgetMilli = parseEpsilon(String(o.epsilon)).milli;
  if (o.royaltyBps !== undefined) next.royaltyBps = parseSmallInt(String(o.royaltyBps), '--royalty-bps', 10_000);
  if (o.minOwners !== undefined) next.minOwners = parseMinOwners(o.minOwners);
  if (o.dpLevel !== undefined) next.dpLevel = parseDpLevel(o.dpLevel);
  if (o.list === true) next.listed = true;
  if (o.delist === true) next.listed = false;
  const r = await client.setTerms(datasetId, next);
  const { termsHash } = await import('@sealfold/chain');
  const json = { datasetId, terms: termsJson(next), termsHash: termsHash(next), txHash: r.hash, gasUsed: r.gasUsed };
  return { json, text: `dataset ${datasetId}:\n${termsText(next)}\ntx ${r.hash} (gas ${r.gasUsed})` };
}

/** One dataset as a buyer sees it before buying: owner, manifest, every listed term and the hash to pin. */
async function show(ctx: Context, env: NodeJS.ProcessEnv, args: string[]): Promise<CommandResult> {
  const datasetId = parseId(args[0], 'dataset id');
  const { client } = await openChain(ctx, env);
  const d = await client.getDataset(datasetId);
  // One dataset, asked for by the user: the one place the CLI reads the registration event for its commitment.
  const commitment = await client.datasetCommitment(datasetId);
  const { termsHash } = await import('@sealfold/chain');
  const hash = termsHash(d.terms);
  const name = (await readRecords(ctx)).find((r) => r.manifestCid === d.manifestCid)?.name ?? null;
  return {
    json: {
      datasetId: d.datasetId,
      owner: d.owner,
      manifestCid: d.manifestCid,
      name,
      commitment,
      terms: termsJson(d.terms),
      termsHash: hash,
    },
    text: [
      `dataset    ${d.datasetId}${name ? `  ${name}` : ''}`,
      `owner      ${d.owner}`,
      `manifest   ${d.manifestCid}`,
      termsText(d.terms),
      `terms hash ${hash} (buy exactly these: \`sealfold licence buy ${d.datasetId} --terms-hash ${hash}\`)`,
    ].join('\n'),
  };
}

async function list(ctx: Context, env: NodeJS.ProcessEnv, o: Record<string, unknown>): Promise<CommandResult> {
  const records = await readRecords(ctx);
  const owner = o.all === true ? undefined : await loadOwner(ctx);
  const { client } = await openChain(ctx, env);
  // Contract views only (an ownerOf per id when filtering by owner): no log scan, which public RPCs cap.
  const onChain = await client.listDatasets({ limit: 10_000, owner: owner?.address });
  const registered = new Set(onChain.map((d) => d.manifestCid));
  const datasets = onChain.map((d) => ({
    datasetId: d.datasetId,
    owner: d.owner,
    manifestCid: d.manifestCid,
    name: records.find((r) => r.manifestCid === d.manifestCid)?.name ?? null,
    priceWei: d.terms.priceWei,
    minOwners: d.terms.minOwners,
    listed: d.terms.listed,
  }));
  const unregistered = records
    .filter((r) => !registered.has(r.manifestCid))
    .map((r) => ({ manifestCid: r.manifestCid, name: r.name, createdAt: r.createdAt }));
  const lines = datasets.map(
    (d) =>
      `${String(d.datasetId).padStart(4)}  ${d.manifestCid}  ${d.listed ? formatEth(d.priceWei) : 'not listed'}` +
      `  ≥${d.minOwners} owners/job` +
      `${d.name ? `  ${d.name}` : ''}${owner ? '' : `  owner ${d.owner}`}`,
  );
  for (const u of unregistered) lines.push(`   -  ${u.manifestCid}  sealed, not registered  ${u.name}`);
  return {
    json: { owner: owner?.address ?? null, datasets, unregistered },
    text: lines.length ? lines.join('\n') : 'no datasets',
  };
}

export function registerDataset(program: Command, runner: Runner): void {
  const env = runner.env;
  const dataset = program.command('dataset').description('preview, seal, register, verify and read back datasets');
  dataset
    .command('inspect')
    .description(
      'show the inferred (or declared) schema of a CSV and exactly what its manifest would make public; writes nothing',
    )
    .argument('<file>', 'CSV file (RFC 4180 with a header row; gzip detected by its magic bytes)')
    .option('--label <column>', "name of the label column (default: the --schema file's label)")
    .option(
      '--schema <file>',
      'a declared schema (JSON; libs/dataset/dataset-schema.schema.json); the file must match it',
    )
    .option('--k <n>', "no value occurring in fewer than k rows is published (default: the schema's k, else 10)")
    .option('--write-schema <file>', 'save the full inferred schema (private: every level) as a template for --schema')
    .addHelpText(
      'after',
      `
Exit 1 when sealing would refuse the file (e.g. a class occurring in fewer than k rows); invalid CSV, a stray
token in a numeric column or a missing label stop with the line and column and what to do.
${JSON_NOTE}
  {"file", "rows", "k", "commitment", "columns": [{"name", "type", "role", "missing", "firstMissingLine"|null,
   "distinct"|null, "rare"|null, "features": [..], "published": [..]}], "publicSchema", "classes",
   "refusal": {"code", "message"}|null}`,
    )
    .action(runner.action((ctx, args, o) => inspect(ctx, args, o)));
  dataset
    .command('add')
    .description(
      'validate a CSV, age-encrypt it to yourself, add it to IPFS, write its manifest and register it on chain',
    )
    .argument('<file>', 'CSV file (RFC 4180 with a header row; gzip detected by its magic bytes)')
    .requiredOption('--name <name>', 'dataset name, in the public manifest (required)')
    .requiredOption('--label <column>', 'name of the label column (required)')
    .option(
      '--schema <file>',
      'a declared schema (JSON; libs/dataset/dataset-schema.schema.json); the file must match it',
    )
    .option('--k <n>', "no value occurring in fewer than k rows is published (default: the schema's k, else 10)")
    .option(
      '--yes',
      'accept what becomes public without asking (required when stdin is not a terminal): the file is read once and the preview printed after the seal',
    )
    .option('--description <text>', 'description (in the public manifest)', '')
    .option('--price-wei <n>', 'licence price in wei; 0 = not listed for sale (grant only)', '0')
    .option('--duration-days <n>', 'licence duration offered, in days', '30')
    .option('--max-jobs <n>', 'training jobs per licence', '10')
    .option(
      '--epsilon <e>',
      'ε budget per licence: a decimal, or `unlimited` (the only budget a job without DP noise fits)',
      '8',
    )
    .option('--min-owners <n>', 'your policy: fewest independent contributing owners per job (shown to buyers)', '3')
    .option(
      '--dp-level <level>',
      'what the ε budget protects, the only DP level your silo trains: record (any one row) or owner (the whole dataset)',
      'record',
    )
    .option('--no-register', 'seal and store only; register later with `dataset register`')
    .addHelpText(
      'after',
      `
First shows what \`dataset inspect\` shows (on stderr) and asks before publishing; --yes accepts it unasked. Missing
values (empty, NA, N/A, NaN, null, or a column's own "missing" tokens) are sealed as such. Invalid input (ragged
rows, bad quoting, a stray token in a numeric column, a row without a label, empty file, missing label column,
duplicate header, schema mismatch, a class occurring in fewer than k rows) stops with the line and column and what
to do, and adds nothing: no manifest, no pinned blocks. A progress bar (bytes, MB/s, ETA) is drawn on stderr when
it is a terminal.
${JSON_NOTE}
  {"manifestCid", "ciphertextCid", "ciphertextBytes", "recipientType": "mlkem768x25519"|"X25519",
   "plaintextBytes", "rows", "classes": [..], "columns", "publicSchema" (the manifest's schema),
   "commitment" (hex SHA-256), "owner", "datasetId"|null, "txHash"|null, "gasUsed"|null, "chainId"|null}`,
    )
    .action(runner.action((ctx, args, o) => add(ctx, env, args, o)));
  dataset
    .command('register')
    .description(
      'register an already sealed manifest of yours on chain (after `add --no-register` or a failed registration)',
    )
    .argument('<manifestCid>', 'manifest CID')
    .addHelpText('after', `${JSON_NOTE}\n  {"manifestCid", "datasetId", "txHash", "gasUsed", "chainId"}`)
    .action(runner.action((ctx, args) => registerCommand(ctx, env, args)));
  dataset
    .command('verify')
    .description('fetch and decrypt the sealed data, recompute its commitment and compare with the manifest')
    .argument('<manifestCid>', 'manifest CID')
    .addHelpText(
      'after',
      `Exit 1 with COMMITMENT_MISMATCH when they differ.\n${JSON_NOTE}\n  {"ok": true, "manifestCid", "ciphertextCid", "commitment", "rows"}`,
    )
    .action(runner.action((ctx, args) => verify(ctx, env, args)));
  dataset
    .command('cat')
    .description(
      'decrypt the sealed data to a file (written to a temporary file, renamed once fully authenticated), or with ' +
        '--sealed write the ciphertext exactly as stored',
    )
    .argument('<manifestCid>', 'manifest CID')
    .requiredOption('-o, --output <file>', 'output file (plaintext: mode 0600; --sealed: 0644)')
    .option('--sealed', 'write the age ciphertext as stored, without decrypting (no keystore needed)')
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"manifestCid", "output", "bytes", "sealed": boolean, "ciphertextCid" (with --sealed)}`,
    )
    .action(runner.action((ctx, args, o) => cat(ctx, env, args, o)));
  dataset
    .command('export-car')
    .description('export a CID (a manifest or a sealed object) and its blocks as a CAR v1 file')
    .argument('<cid>', 'root CID')
    .requiredOption('-o, --output <file>', 'CAR output file')
    .addHelpText('after', `${JSON_NOTE}\n  {"cid", "output", "bytes"}`)
    .action(runner.action((ctx, args, o) => exportCar(ctx, env, args, o)));
  dataset
    .command('terms')
    .description('change the licence terms of your dataset on chain (unchanged fields keep their values)')
    .argument('<datasetId>', 'dataset token id')
    .option('--price-wei <n>', 'licence price in wei')
    .option('--duration-days <n>', 'licence duration in days (0 = never expires)')
    .option('--max-jobs <n>', 'training jobs per licence')
    .option(
      '--epsilon <e>',
      'ε budget per licence: a decimal, or `unlimited` (the only budget a job without DP noise fits)',
    )
    .option('--royalty-bps <n>', 'ERC-2981 royalty on licence resales, in basis points')
    .option('--min-owners <n>', 'your policy: fewest independent contributing owners per job (shown to buyers)')
    .option(
      '--dp-level <level>',
      'what the ε budget protects, the only DP level your silo trains: record (any one row) or owner (the whole dataset)',
    )
    .option('--list', 'list the dataset for sale')
    .option('--delist', 'withdraw the dataset from sale (existing licences stay valid)')
    .addHelpText(
      'after',
      `
Licences already sold keep their terms; a buyer whose purchase was pinned to the old terms is refused.
${JSON_NOTE}
  {"datasetId", "terms": ${TERMS_JSON}, "termsHash", "txHash", "gasUsed"}`,
    )
    .action(runner.action((ctx, args, o) => terms(ctx, env, args, o)));
  dataset
    .command('show')
    .description('one dataset on chain: owner, manifest, every listed licence term and the terms hash to buy by')
    .argument('<datasetId>', 'dataset token id')
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"datasetId", "owner", "manifestCid", "name"|null, "commitment", "terms": ${TERMS_JSON}, "termsHash"}`,
    )
    .action(runner.action((ctx, args) => show(ctx, env, args)));
  dataset
    .command('list')
    .description('your datasets on chain, and manifests you sealed but did not register')
    .option('--all', 'every dataset on chain, not only yours')
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"owner"|null, "datasets": [{"datasetId", "owner", "manifestCid", "name"|null, "priceWei", "minOwners", "listed"}],\n   "unregistered": [{"manifestCid", "name", "createdAt"}]}`,
    )
    .action(runner.action((ctx, _args, o) => list(ctx, env, o)));
  registerDatasetReseal(dataset, runner);
}
