// `sealfold job create|watch|list|cancel|link`: the buyer's training jobs. `create` builds the JobRequest (v2) from licences
// the buyer holds on chain — naming the coordinator (GET /info), the buyer's own age recipient, the training settings,
// DP parameters and SecAgg+ terms — signs it (EIP-712) with the keystore wallet and submits it; the coordinator checks
// it again and answers with the job id (the request's digest) or a refusal carrying its reason.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { toJson } from '../context.js';
import { openChain } from '../chain-connect.js';
import {
  CoordinatorRefusal,
  TERMINAL,
  callCoordinator,
  coordinatorUrl,
  parseJobId,
  type JobView,
} from '../coordinator-api.js';
import { readCoordinator, sessionToken } from '../coordinator-session.js';
import { CliError, EXIT_OK, EXIT_USER } from '../errors.js';
import { decodeLicenceId, licenceRef, resolveLicenceRef } from '../licence-ref.js';
import { loadOwner } from '../owner.js';
import { formatEpsilon, formatEth, parseId, parseSeconds, parseSmallInt } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';
import {
  DEFAULT_TRAINING,
  EPSILON_UNBOUNDED_MILLI,
  STRATEGY_NAMES,
  isStrategyName,
  jobSchemaHash,
  withFeatureRanges,
} from '@sealfold/protocol';

const DEADLINE_SECONDS = 3600n;

function parseDatasetList(value: unknown): bigint[] {
  const parts = String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0)
    throw new CliError('INVALID_ARGUMENT', '--datasets needs at least one dataset id (e.g. 1,2,3)');
  const ids = parts.map((p) => parseId(p, '--datasets entry'));
  if (new Set(ids.map(String)).size !== ids.length)
    throw new CliError('INVALID_ARGUMENT', '--datasets must not repeat an id');
  return ids;
}

function parsePositive(value: unknown, what: string, max: number): number {
  const v = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(v) || v <= 0 || v > max)
    throw new CliError('INVALID_ARGUMENT', `${what} must be a number in (0, ${max}], got "${String(value)}"`);
  return v;
}

function parseNonNegative(value: unknown, what: string, max: number): number {
  const v = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(v) || v < 0 || v > max)
    throw new CliError('INVALID_ARGUMENT', `${what} must be a number in [0, ${max}], got "${String(value)}"`);
  return v;
}

async function readModelSpec(file: string): Promise<Record<string, unknown>> {
  const { parseModelSpec } = await import('@sealfold/fl');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== undefined) throw error;
    throw new CliError('INVALID_MODEL_SPEC', `${file} is not JSON: ${(error as Error).message}`);
  }
  try {
    parseModelSpec(json);
  } catch (error) {
    throw new CliError('INVALID_MODEL_SPEC', `${file}: ${(error as Error).message}`);
  }
  return json as Record<string, unknown>;
}

type ChainClient = Awaited<ReturnType<typeof openChain>>['client'];
type LicenceInfo = import('@sealfold/chain').LicenceInfo;

/**
 * One licence per dataset, the buyer's own: the ones named with --licence (checked on chain), else for each dataset
 * the valid licence with the most left — one the job's ε fits (a job without DP noise needs the unlimited budget),
 * then the latest expiry (never first), the larger ε budget, more jobs, the newest. A dataset without one refuses
 * the job here, before anything is signed, naming `licence buy`.
 */
async function chooseLicences(
  client: ChainClient,
  buyer: string,
  datasets: readonly bigint[],
  named: readonly string[] | undefined,
  job: { needsUnlimitedEpsilon: boolean },
): Promise<bigint[]> {
  const chosen = new Map<string, bigint>();
  for (const value of (named ?? []).flatMap((v) => v.split(',')).filter((v) => v.trim() !== '')) {
    const id = await resolveLicenceRef(client, value, '--licence');
    const datasetId = decodeLicenceId(id).datasetId;
    if (!datasets.includes(datasetId))
      throw new CliError(
        'INVALID_ARGUMENT',
        `--licence ${value} is for dataset ${datasetId}, which --datasets does not name`,
      );
    if (chosen.has(String(datasetId)))
      throw new CliError('INVALID_ARGUMENT', `--licence names two licences for dataset ${datasetId}`);
    const check = await client.checkLicenceById(id, datasetId, buyer);
    if (!check.valid)
      throw new CliError(
        'LICENCE_INVALID',
        `--licence ${licenceRef(id)} cannot be used for dataset ${datasetId}: ${check.reason}` +
          (check.reason === 'expired' || check.reason === 'revoked'
            ? `; \`sealfold licence buy ${datasetId}\` buys a new one`
            : ''),
      );
    chosen.set(String(datasetId), id);
  }
  const now = BigInt(Math.floor(Date.now() / 1000));
  const held =
    chosen.size === datasets.length
      ? []
      : (await client.licencesOf(buyer)).filter((l) => !l.revoked && (l.expiresAt === 0n || l.expiresAt > now));
  const fits = (l: LicenceInfo) => !job.needsUnlimitedEpsilon || l.epsilonBudgetMilli === EPSILON_UNBOUNDED_MILLI;
  const expiry = (l: LicenceInfo) => (l.expiresAt === 0n ? 1n << 64n : l.expiresAt);
  const better = (a: LicenceInfo, b: LicenceInfo): number =>
    Number(fits(b)) - Number(fits(a)) ||
    (expiry(b) > expiry(a) ? 1 : expiry(b) < expiry(a) ? -1 : 0) ||
    b.epsilonBudgetMilli - a.epsilonBudgetMilli ||
    b.maxJobs - a.maxJobs ||
    (b.licenceId > a.licenceId ? 1 : -1);
  const missing: bigint[] = [];
  const unfit: string[] = [];
  const licences = datasets.map((id) => {
    const named = chosen.get(String(id));
    const best = named === undefined ? held.filter((l) => l.datasetId === id).sort(better)[0] : undefined;
    if (named === undefined && best === undefined) missing.push(id);
    const eps = named !== undefined ? decodeLicenceId(named).epsilonBudgetMilli : best?.epsilonBudgetMilli;
    if (job.needsUnlimitedEpsilon && eps !== undefined && eps !== EPSILON_UNBOUNDED_MILLI)
      unfit.push(`dataset ${id} (licence ${licenceRef(named ?? best!.licenceId)}, ε ${formatEpsilon(eps)})`);
    return named ?? best?.licenceId ?? 0n;
  });
  if (missing.length > 0)
    throw new CliError(
      'NO_LICENCE',
      `you hold no valid licence for dataset${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ` +
        missing.map((id) => `\`sealfold licence buy ${id}\``).join(', ') +
        ' (or ask the owner for `licence grant`)',
    );
  if (unfit.length > 0)
    throw new CliError(
      'EPSILON_BUDGET',
      `a job without DP noise has an unbounded ε, which only a licence with the unlimited ε budget admits; ` +
        `${unfit.join(', ')} would refuse it. Add DP (--dp-noise 1.1 --dp-clip 1 --dp-delta 1e-5) or use licences ` +
        `with \`--epsilon unlimited\` (the owner's \`dataset terms <id> --epsilon unlimited\` or \`licence grant … --epsilon unlimited\`)`,
    );
  return licences;
}

type JobPlanView = import('@sealfold/protocol').JobPlanView;

/** The job schema the coordinator computes for `datasets` (GET /jobs/plan): what `job create` signs the hash of. */
/** `--feature-range name=min:max` values (repeated) as ranges by feature name. */
function parseFeatureRanges(values: unknown): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const value of (values as string[] | undefined) ?? []) {
    const m = /^(.+)=([^:]+):([^:]+)$/.exec(value);
    const lo = Number(m?.[2]);
    const hi = Number(m?.[3]);
    if (!m || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi))
      throw new CliError('INVALID_ARGUMENT', `--feature-range must be name=min:max with min < max, got "${value}"`);
    out[m[1]] = [lo, hi];
  }
  return out;
}

/** The plan with signed ranges on some numeric features (the hash is the new schema's). */
function withRanges(view: JobPlanView, ranges: Record<string, [number, number]>): JobPlanView {
  if (Object.keys(ranges).length === 0) return view;
  try {
    const schema = withFeatureRanges(view.schema, ranges);
    return { ...view, schema, hash: jobSchemaHash(schema) };
  } catch (error) {
    throw new CliError('INVALID_ARGUMENT', `--feature-range: ${(error as Error).message}`);
  }
}

async function fetchPlan(base: string, datasets: readonly bigint[]): Promise<JobPlanView> {
  return callCoordinator<JobPlanView>(base, 'GET', `/jobs/plan?datasets=${datasets.join(',')}`);
}

async function plan(ctx: Context, env: NodeJS.ProcessEnv, o: Record<string, unknown>): Promise<CommandResult> {
  const datasets = parseDatasetList(o.datasets);
  const view = await fetchPlan(coordinatorUrl(o.coordinator, env), datasets);
  // The DP level each dataset's terms count ε in (read on chain): a DP job must sign that level for every dataset.
  const { client } = await openChain(ctx, env);
  const dpLevels = Object.fromEntries(
    await Promise.all(datasets.map(async (id) => [String(id), (await client.getTerms(id)).dpLevel] as const)),
  );
  const levels = [...new Set(Object.values(dpLevels))];
  const features = view.schema.features.map((f) =>
    f.type === 'categorical'
      ? `  ${f.name} (categorical: ${f.levels.join(', ')})`
      : f.source === 'date'
        ? `  ${f.name} (date: days since 1970-01-01, standardised)`
        : `  ${f.name} (numeric)`,
  );
  const lacking = Object.entries(view.missingClasses)
    .filter(([, c]) => c.length > 0)
    .map(([id, c]) => `  dataset ${id} has no rows of ${c.join(', ')}`);
  const dropped = view.dropped.map(
    (d) =>
      `  dataset ${d.datasetId}: "${d.column}" (${d.reason === 'type-conflict' ? 'type differs' : d.reason === 'not-encodable' ? 'not encodable by job schema v1: a hashed, boolean, text or ignored column, or a date without its epochDays part' : 'not in every dataset'})`,
  );
  const text = [
    `job schema ${view.hash}`,
    `label "${view.schema.label}", classes in this order: ${view.schema.classes.map((c, i) => `${i} ${c}`).join(', ')}`,
    `features (model input width ${view.inputWidth}):`,
    ...features,
    ...(lacking.length ? ['classes some owners lack (fine: they train on the ones they have):', ...lacking] : []),
    ...(dropped.length ? ['columns left out:', ...dropped] : []),
    `DP level of each dataset's ε budget (its terms): ${Object.entries(dpLevels)
      .map(([id, l]) => `${id} ${l}`)
      .join(', ')}` +
      (levels.length > 1
        ? ' — mixed: a job with DP noise can only sign one level, so it would be refused by some silos'
        : ` — sign --dp-level ${levels[0]} for a job with DP noise`),
  ].join('\n');
  ctx.note(`a model for this job maps ${view.inputWidth} inputs to ${view.schema.classes.length} classes`);
  return { json: { ...view, dpLevels }, text };
}

async function create(ctx: Context, env: NodeJS.ProcessEnv, o: Record<string, unknown>): Promise<CommandResult> {
  const datasets = parseDatasetList(o.datasets);
  const rounds = parseSmallInt(String(o.rounds), '--rounds', 10_000);
  if (rounds < 1) throw new CliError('INVALID_ARGUMENT', '--rounds must be at least 1');
  const strategy = String(o.strategy);
  if (!isStrategyName(strategy))
    throw new CliError('INVALID_ARGUMENT', `--strategy must be one of ${STRATEGY_NAMES.join(', ')}, got "${strategy}"`);
  const dpLevel = String(o.dpLevel);
  if (dpLevel !== 'record' && dpLevel !== 'owner')
    throw new CliError('INVALID_ARGUMENT', `--dp-level must be record or owner, got "${dpLevel}"`);
  const targetEpsilon =
    o.targetEpsilon === undefined ? undefined : parsePositive(o.targetEpsilon, '--target-epsilon', 1e4);
  if (targetEpsilon !== undefined && o.dpNoise !== undefined)
    throw new CliError('INVALID_ARGUMENT', '--target-epsilon chooses σ: give it or --dp-noise, not both');
  const aiming = targetEpsilon !== undefined;
  let noiseMultiplier = parseNonNegative(o.dpNoise ?? '0', '--dp-noise', 1000);
  // A target ε with no C or δ named signs C = 1 and δ = 1e-5 (the common record-level setting).
  const clipNorm = parseNonNegative(o.dpClip ?? (aiming ? '1' : '0'), '--dp-clip', 1e6);
  const delta = parseNonNegative(o.dpDelta ?? (aiming ? '1e-5' : '0'), '--dp-delta', 0.999);
  if ((noiseMultiplier > 0 || aiming) && clipNorm === 0)
    throw new CliError('INVALID_ARGUMENT', 'DP noise needs a positive --dp-clip (the clipping norm C)');
  if ((noiseMultiplier > 0 || aiming) && delta === 0)
    throw new CliError('INVALID_ARGUMENT', 'DP noise needs a --dp-delta > 0');
  const localEpochs = parseSmallInt(String(o.epochs), '--epochs', 1000);
  const batchSize = parseSmallInt(String(o.batchSize), '--batch-size', 65_536);
  if (localEpochs < 1 || batchSize < 1)
    throw new CliError('INVALID_ARGUMENT', '--epochs and --batch-size must be at least 1');
  const optimizer = String(o.optimizer);
  if (optimizer !== 'sgd' && optimizer !== 'adam')
    throw new CliError('INVALID_ARGUMENT', `--optimizer must be sgd or adam, got "${optimizer}"`);
  // μ is signed as 0 unless the strategy is fedprox (where it defaults to 0.01).
  const mu = o.mu === undefined ? (strategy === 'fedprox' ? '0.01' : '0') : String(o.mu);
  const fedProxMu = parseNonNegative(mu, '--mu', 100);
  if (fedProxMu > 0 && strategy !== 'fedprox')
    throw new CliError('INVALID_ARGUMENT', '--mu is the FedProx term: it needs --strategy fedprox');
  const maxWeight = parseSmallInt(String(o.maxWeight), '--max-weight', 1_000_000);
  const askedMinContributors =
    o.minContributors === undefined ? undefined : parseSmallInt(String(o.minContributors), '--min-contributors', 255);
  if (maxWeight < 1) throw new CliError('INVALID_ARGUMENT', '--max-weight must be at least 1');
  if (askedMinContributors !== undefined && askedMinContributors < 3)
    throw new CliError('INVALID_ARGUMENT', '--min-contributors must be at least 3 (SecAgg+ needs t > k/2, k ≥ 3)');
  // Every released sum holds at least minContributors (≥ 3) owners' inputs: fewer datasets can never run a round.
  const tooFew = (min: number, why: string) =>
    new CliError(
      'TOO_FEW_DATASETS',
      `a job needs at least ${min} datasets (${why}: every round sums that many owners' updates, one silo per ` +
        `dataset); --datasets names ${datasets.length}`,
    );
  if (datasets.length < (askedMinContributors ?? 3))
    throw tooFew(askedMinContributors ?? 3, `--min-contributors ${askedMinContributors ?? '3 (the least)'}`);
  const trainingFloats = {
    localEpochs,
    batchSize,
    learningRate: parsePositive(o.lr, '--lr', 10),
    optimizer: optimizer as 'sgd' | 'adam',
    fedProxMu,
    updateClip: parsePositive(o.updateClip, '--update-clip', 1e6),
    maxWeight,
  } as const;
  const modelSpec = await readModelSpec(String(o.model));
  const base = coordinatorUrl(o.coordinator, env);
  // The job schema (features, their order and levels, the class order) the silos map their rows onto; signed,
  // with the --feature-range domains (each silo clips into them before its noised statistics).
  const jobPlan = withRanges(await fetchPlan(base, datasets), parseFeatureRanges(o.featureRange));
  {
    const { parseModelSpec } = await import('@sealfold/fl');
    const { spec, layout } = parseModelSpec(modelSpec);
    const inputs = spec.inputShape.reduce((a, b) => a * b, 1);
    const outputs = layout.outputShape.reduce((a, b) => a * b, 1);
    if (inputs !== jobPlan.inputWidth || outputs !== jobPlan.schema.classes.length)
      throw new CliError(
        'MODEL_SCHEMA_MISMATCH',
        `--model maps ${inputs} inputs to ${outputs} classes; the job schema of datasets ${datasets.join(', ')} encodes ` +
          `${jobPlan.inputWidth} inputs and ${jobPlan.schema.classes.length} classes (\`sealfold job plan --datasets ${datasets.join(',')}\`)`,
      );
  }

  const { modelSpecHash } = await import('@sealfold/fl');
  // σ for a target ε and the ε each dataset will be charged, before anything is signed.
  let epsilons: Record<string, number> | undefined;
  if (aiming || noiseMultiplier > 0) {
    const plan = await planDp(base, datasets, {
      level: dpLevel,
      targetEpsilon,
      noiseMultiplier,
      delta,
      rounds,
      batchSize,
      localEpochs,
    });
    noiseMultiplier = plan.noiseMultiplier;
    epsilons = plan.epsilons;
    const unranged = jobPlan.schema.features.filter((f) => f.type === 'numeric' && !f.range).map((f) => f.name);
    if (unranged.length > 0)
      ctx.note(
        `with DP the silos release no Σx/Σx² for a numeric feature without --feature-range: ${unranged.join(', ')} ` +
          'will not be standardised (mean 0, std 1)',
      );
    ctx.note(
      `DP (${dpLevel} level): σ = ${noiseMultiplier}, C = ${clipNorm}, δ = ${delta}; ε charged per dataset: ${Object.entries(
        plan.epsilons,
      )
        .map(([id, e]) => `${id}: ${e.toFixed(2)}`)
        .join(', ')}`,
    );
  }
  const { dpParamsFromFloats, jobRequestToJson, trainingFromFloats } = await import('@sealfold/protocol');
  const { sealfoldDomain, signJobRequest } = await import('@sealfold/chain');
  let training;
  try {
    training = trainingFromFloats(trainingFloats);
  } catch (error) {
    throw new CliError('INVALID_ARGUMENT', (error as Error).message);
  }
  const buyer = await loadOwner(ctx);
  const { client } = await openChain(ctx, env);
  if (!client.addresses) throw new CliError('NOT_DEPLOYED', 'the chain has no Sealfold contracts');

  // Each owner publishes the fewest contributors it accepts per sum (terms.minOwners); its silo refuses a request
  // signed below it. Sign the largest of them unless asked for more.
  const listed = await Promise.all(datasets.map(async (id) => ({ id, terms: await client.getTerms(id) })));
  const policies = listed.map(({ id, terms }) => ({ id, min: terms.minOwners }));
  // Each dataset's terms name the DP level its ε budget is counted in; its silo trains no other (dp-level-mismatch).
  const otherLevel = noiseMultiplier > 0 ? listed.find(({ terms }) => terms.dpLevel !== dpLevel) : undefined;
  if (otherLevel)
    throw new CliError(
      'DP_LEVEL_MISMATCH',
      `dataset ${otherLevel.id}'s terms count its ε budget at ${otherLevel.terms.dpLevel} level; its silo would refuse ` +
        `--dp-level ${dpLevel} (\`sealfold job plan\` shows each dataset's level)`,
    );
  const strictest = policies.reduce((a, b) => (b.min > a.min ? b : a), { id: 0n, min: 3 });
  if (askedMinContributors !== undefined && askedMinContributors < strictest.min)
    throw new CliError(
      'INVALID_ARGUMENT',
      `--min-contributors ${askedMinContributors} is below what the owner of dataset ${strictest.id} requires (${strictest.min}); its silo would refuse the job`,
    );
  const minContributors = askedMinContributors ?? strictest.min;
  if (minContributors > datasets.length)
    throw tooFew(minContributors, `the owner of dataset ${strictest.id} requires ${strictest.min} owners per sum`);

  const licences = await chooseLicences(client, buyer.address, datasets, o.licence as string[] | undefined, {
    needsUnlimitedEpsilon: noiseMultiplier === 0,
  });
  const escrow = await escrowTermsFor(client, datasets, o);
  // The request names the coordinator that runs it; a coordinator refuses a request naming another one.
  const info = await callCoordinator<{ coordinatorAddress: string | null }>(base, 'GET', '/info');
  if (!info.coordinatorAddress)
    throw new CliError('NO_COORDINATOR_ACCOUNT', `the coordinator at ${base} has no chain account: it cannot run jobs`);
  const request = {
    buyer: buyer.address,
    coordinator: info.coordinatorAddress,
    datasets,
    licences,
    modelSpecHash: modelSpecHash(modelSpec),
    jobSchemaHash: jobPlan.hash,
    // The final model is sealed to the buyer's own keystore recipient, under the buyer's signature.
    recipient: buyer.recipient,
    strategy,
    rounds,
    training,
    dp: dpParamsFromFloats({ noiseMultiplier, clipNorm, delta, level: dpLevel }),
    secagg: { enabled: o.plain !== true, minContributors },
    escrow,
    nonce: BigInt(`0x${randomBytes(16).toString('hex')}`),
    deadline: BigInt(Math.floor(Date.now() / 1000)) + DEADLINE_SECONDS,
    chainId: client.chainId,
  };
  const signature = await signJobRequest(
    buyer.wallet,
    sealfoldDomain(client.chainId, client.addresses.datasetLicence),
    request,
  );
  // Datasets with a job rate: lock the price before the coordinator offers the job (silos refuse it until then).
  let escrowed: { jobId: string; locked: bigint } | undefined;
  if (escrow.runDeadline !== 0n) {
    const { lockJobEscrow, parseEthAmount } = await import('./escrow.js');
    const maxPrice = o.maxPrice === undefined ? undefined : parseEthAmount(o.maxPrice, '--max-price');
    const { r } = await lockJobEscrow(ctx, env, request, buyer, maxPrice);
    escrowed = { jobId: r.jobId, locked: r.locked };
    ctx.note(`locked ${formatEth(r.locked)} in job escrow ${r.jobId} (\`sealfold job escrow ${r.jobId}\`)`);
  }
  const job = await callCoordinator<JobView>(base, 'POST', '/jobs', {
    request: jobRequestToJson(request),
    signature,
    modelSpec,
    jobSchema: jobPlan.schema,
  });
  return {
    json: {
      jobId: job.id,
      status: job.status,
      buyer: job.buyer,
      datasets: datasets.map(String),
      licences: licences.map(String),
      licenceRefs: licences.map(licenceRef),
      rounds,
      coordinator: base,
      escrow: escrowed ? { ...escrow, escrowJobId: escrowed.jobId, lockedWei: escrowed.locked } : null,
      ...(epsilons ? { dp: { level: dpLevel, noiseMultiplier, clipNorm, delta, epsilon: epsilons } } : {}),
    },
    text:
      `${job.id}\n(job ${job.status}; datasets ${datasets.join(', ')} under licences ${licences.map(licenceRef).join(', ')}; ${rounds} rounds; \`sealfold job watch ${job.id.slice(0, 12)}…\`)` +
      (escrowed
        ? `\nescrow ${escrowed.jobId}: ${formatEth(escrowed.locked)} locked; run deadline ${new Date(Number(escrow.runDeadline) * 1000).toISOString()}, then the settlement windows`
        : ''),
  };
}

/**
 * The escrow terms to sign (issue 20): none when no dataset charges a job rate (licences alone grant access), else a
 * run deadline `--run-time` from the chain's clock, the windows given and the deployed JobEscrow's fee. A job mixing
 * charging and free datasets cannot be escrowed (JobEscrow pins a rate for every dataset): refused before signing.
 */
async function escrowTermsFor(
  client: import('@sealfold/chain').SealfoldChain,
  datasets: readonly bigint[],
  o: Record<string, unknown>,
): Promise<import('@sealfold/protocol').JobEscrowTerms> {
  const { ESCROW_MAX_DATASETS, NO_ESCROW, jobEscrowTerms, jobRateKind } = await import('@sealfold/protocol');
  if (!client.addresses?.jobEscrow) return NO_ESCROW;
  const rates = await Promise.all(
    datasets.map(async (id) => ({ id, rate: (await client.getJobTerms(id)).ratePerRowRound })),
  );
  let kind;
  try {
    kind = jobRateKind(rates);
  } catch (error) {
    throw new CliError('MIXED_JOB_RATES', (error as Error).message);
  }
  if (kind === 'free') return NO_ESCROW;
  if (datasets.length > ESCROW_MAX_DATASETS)
    throw new CliError(
      'TOO_MANY_DATASETS',
      `a paid job has at most ${ESCROW_MAX_DATASETS} datasets (JobEscrow's limit) and this one has ${datasets.length}: ` +
        'split it into several jobs',
    );
  const confirmWindow = parseSeconds(o.confirmWindow, '--confirm-window');
  const fallbackWindow = parseSeconds(o.fallbackWindow, '--fallback-window');
  for (const [w, name] of [
    [confirmWindow, '--confirm-window'],
    [fallbackWindow, '--fallback-window'],
  ] as const)
    if (w < 86_400 || w > 30 * 86_400)
      throw new CliError('INVALID_ARGUMENT', `${name} must be between 1d and 30d (wide enough for retries)`);
  const [now, feeBps] = await Promise.all([client.latestTimestamp(), client.escrowFeeBps()]);
  try {
    return jobEscrowTerms({
      now,
      feeBps,
      runSeconds: parseSeconds(o.runTime, '--run-time'),
      confirmWindow,
      fallbackWindow,
    });
  } catch (error) {
    throw new CliError('INVALID_ARGUMENT', (error as Error).message);
  }
}

/**
 * The DP noise multiplier and the ε each dataset's silo will book: libs/fl plannedDatasetEpsilon, the computation
 * each silo reserves and books with — the statistics release, the training updates and the evaluations composed.
 * Record level: each silo runs DP-SGD on its training split (rows from the dataset's public manifest, as indexed by
 * the coordinator, less the silos' default held-out share), so the ε differs per dataset; a target ε signs the σ
 * the smallest dataset needs (rounded up to the signed 1/1000). Owner level: every dataset books the same ε.
 */
export async function planDp(
  base: string,
  datasets: readonly bigint[],
  p: {
    level: 'record' | 'owner';
    targetEpsilon?: number;
    noiseMultiplier: number;
    delta: number;
    rounds: number;
    batchSize: number;
    localEpochs: number;
  },
): Promise<{ noiseMultiplier: number; epsilons: Record<string, number> }> {
  const fl = await import('@sealfold/fl');
  const signable = (sigma: number) => Math.ceil(sigma * 1000) / 1000;
  const terms = {
    level: p.level,
    delta: p.delta,
    rounds: p.rounds,
    batchSize: p.batchSize,
    localEpochs: p.localEpochs,
  };
  const rows: { id: bigint; trainRows?: number }[] = [];
  for (const id of datasets) {
    if (p.level === 'owner') {
      rows.push({ id });
      continue;
    }
    const view = await callCoordinator<{ rows: number | null }>(base, 'GET', `/datasets/${id}`);
    if (!view.rows)
      throw new CliError(
        'INVALID_ARGUMENT',
        `dataset ${id} has no row count in its manifest: cannot size record-level DP`,
      );
    // δ < 1/rows, or the guarantee allows publishing a whole row (the silo refuses: delta-too-large).
    if (!(p.delta < 1 / view.rows))
      throw new CliError(
        'INVALID_ARGUMENT',
        `record-level DP on dataset ${id} (${view.rows} rows) needs --dp-delta below 1/rows = ${(1 / view.rows).toPrecision(3)}`,
      );
    rows.push({ id, trainRows: view.rows - fl.validationCount(view.rows, fl.DEFAULT_VALIDATION_FRACTION) });
  }
  const targetEpsilon = p.targetEpsilon;
  const noiseMultiplier =
    targetEpsilon === undefined
      ? p.noiseMultiplier
      : signable(
          Math.max(...rows.map((r) => fl.datasetNoiseMultiplier({ ...terms, trainRows: r.trainRows, targetEpsilon }))),
        );
  const epsilons = Object.fromEntries(
    rows.map((r) => [String(r.id), fl.plannedDatasetEpsilon({ ...terms, noiseMultiplier, trainRows: r.trainRows })]),
  );
  return { noiseMultiplier, epsilons };
}

/** One progress report as the coordinator publishes it (libs/protocol rest.ts). */
type Progress = import('@sealfold/protocol').JobProgressView;

const fmt = (v: number | undefined, digits: number) => (v === undefined || v === null ? '-' : v.toFixed(digits));

/** A finished round as `GET /jobs/:id/rounds` lists it (libs/protocol rest.ts). */
type JobRoundsView = import('@sealfold/protocol').JobRoundsView;
type RoundView = import('@sealfold/protocol').RoundView;

/** A finished round as the watcher reports it. */
interface FinishedRound {
  round: number;
  rounds: number;
  status: RoundView['status'];
  participants: number;
  dropouts: number;
  loss?: number | null;
  accuracy?: number | null;
  reason?: string | null;
}

/** How often a watcher with nothing new to show says what it is waiting for (text mode). */
const WAITING_NOTE_MS = 30_000;

/**
 * Draws the TTY bar (stderr), or plain lines, or JSON lines. Every finished round is reported exactly once and in
 * round order, whether it is seen live (the `committed` progress report) or in the job's round history: a round
 * seen live after a gap waits until the history fills the gap (`gap()` says when to fetch it); `end()` reports
 * whatever is left, in order.
 */
export function createRenderer(ctx: Pick<Context, 'json'>) {
  const tty = !ctx.json && process.stderr.isTTY === true;
  let lastLine = '';
  let next = 1;
  let lastNews = Date.now();
  let latest: Progress | undefined;
  let baselineSaid = false;
  const known = new Map<number, FinishedRound>();
  const reported = new Map<number, { round: number; accuracy: number | null; loss: number | null }>();
  const print = (r: FinishedRound) => {
    reported.set(r.round, { round: r.round, accuracy: r.accuracy ?? null, loss: r.loss ?? null });
    lastNews = Date.now();
    if (ctx.json) {
      process.stdout.write(
        `${toJson({ event: 'round', round: r.round, rounds: r.rounds, status: r.status, accuracy: r.accuracy ?? null, loss: r.loss ?? null, participants: r.participants, dropouts: r.dropouts, reason: r.reason ?? null })}\n`,
      );
      return;
    }
    const line =
      r.status !== 'completed'
        ? `round ${r.round}/${r.rounds}  ${r.status}${r.reason ? `: ${r.reason}` : ''}`
        : `round ${r.round}/${r.rounds}  accuracy ${fmt(r.accuracy ?? undefined, 4)}  loss ${fmt(r.loss ?? undefined, 4)}  silos ${r.participants}${r.dropouts ? `  dropouts ${r.dropouts}` : ''}`;
    if (tty) {
      process.stderr.write(`\r\x1b[2K${line}\n`);
      lastLine = '';
    } else process.stdout.write(`${line}\n`);
  };
  const flush = () => {
    while (known.has(next)) {
      const r = known.get(next)!;
      known.delete(next);
      next++;
      if (!reported.has(r.round)) print(r);
    }
  };
  const finished = (r: FinishedRound) => {
    if (r.round < next || known.has(r.round) || r.round < 1) return;
    known.set(r.round, r);
    flush();
  };
  const say = (text: string) => {
    if (ctx.json) return;
    if (tty) {
      process.stderr.write(`\r\x1b[2K${text}\n`);
      lastLine = '';
    } else process.stdout.write(`${text}\n`);
  };
  return {
    reported,
    /** True when a later round is known but an earlier one is not: the caller should read the round history. */
    gap: () => known.size > 0,
    /** A line saying what the job waits for (silos to connect and accept, or the next round). */
    waiting(job: JobView) {
      lastNews = Date.now();
      say(
        job.status === 'pending'
          ? `job ${job.id.slice(0, 12)}… pending: waiting for the datasets' silos to connect and accept (round ${next}/${job.rounds})`
          : `job ${job.id.slice(0, 12)}… ${job.status}: waiting for round ${next}/${job.rounds}`,
      );
    },
    /** Called now and then: says what is awaited when nothing was reported for a while (text mode). */
    tick() {
      if (ctx.json || tty || Date.now() - lastNews < WAITING_NOTE_MS || latest === undefined) return;
      const p = latest;
      say(
        `still waiting (${Math.round((Date.now() - lastNews + WAITING_NOTE_MS) / 1000)} s): job ${p.status}, round ${p.round}/${p.rounds}, stage ${p.stage}, silos ${p.participants}`,
      );
      lastNews = Date.now();
    },
    progress(p: Progress) {
      latest = p;
      if (ctx.json) process.stdout.write(`${toJson({ event: 'progress', ...p })}\n`);
      // Said once: the accuracy of always predicting the most frequent class, what federated accuracy must beat.
      if (p.majorityBaseline !== undefined && !baselineSaid) {
        baselineSaid = true;
        say(`majority-class baseline ${fmt(p.majorityBaseline, 4)} (from the owners' securely summed label counts)`);
      }
      // A committed round is finished, evaluated or not (a plain job with DP has no evaluation).
      if (p.stage === 'committed') finished({ ...p, status: 'completed' });
      if (!tty || TERMINAL.has(p.status)) return;
      const width = 24;
      const done = Math.min(width, Math.round((width * reported.size) / Math.max(1, p.rounds)));
      const line =
        `round ${String(p.round).padStart(String(p.rounds).length)}/${p.rounds} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ` +
        `${p.stage.padEnd(14)} silos ${p.participants}`;
      if (line !== lastLine) process.stderr.write(`\r\x1b[2K${line}`);
      lastLine = line;
    },
    history(rounds: readonly RoundView[], total: number) {
      for (const r of [...rounds].sort((a, b) => a.round - b.round)) finished({ ...r, rounds: total });
    },
    end() {
      // Whatever is still held back (a gap the history never filled) is reported now, in order.
      for (const r of [...known.values()].sort((a, b) => a.round - b.round)) if (!reported.has(r.round)) print(r);
      known.clear();
      if (tty && lastLine !== '') process.stderr.write('\n');
    },
  };
}

/** The job's finished rounds, or [] when the coordinator does not list them. */
async function roundHistory(ctx: Context, base: string, jobId: string): Promise<readonly RoundView[]> {
  try {
    const r = await readCoordinator<JobRoundsView>(ctx, base, `/jobs/${jobId}/rounds`);
    return Array.isArray(r.rounds) ? r.rounds : [];
  } catch (error) {
    if (error instanceof CoordinatorRefusal && error.status === 404) return [];
    throw error;
  }
}

/** Subscribes to the coordinator's progress WebSocket; resolves false when the coordinator has none (then poll). */
async function streamProgress(
  base: string,
  token: string,
  jobId: string,
  onProgress: (p: Progress) => void,
  isDone: () => Promise<boolean>,
): Promise<boolean> {
  const { WebSocket } = await import('ws');
  const url = new URL(`/progress?job=${jobId}`, base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise<boolean>((resolve, reject) => {
    // The read session's token (RFC 6750 §2.1); a refusal (401/404) falls back to polling the REST API.
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    let opened = false;
    let settled = false;
    const settle = (value: boolean | Error) => {
      if (settled) return;
      settled = true;
      clearInterval(check);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    // A terminal report ends the watch; the status is also re-read now and then in case a report was missed.
    const check = setInterval(() => {
      isDone().then(
        (done) => done && settle(true),
        (error: unknown) => settle(error as Error),
      );
    }, 5000);
    socket.on('open', () => (opened = true));
    socket.on('unexpected-response', () => settle(false));
    socket.on('message', (data) => {
      let p: Progress;
      try {
        p = JSON.parse(String(data)) as Progress;
      } catch {
        return;
      }
      if (p.jobId !== undefined && p.jobId !== jobId) return;
      onProgress(p);
      if (TERMINAL.has(p.status)) settle(true);
    });
    socket.on('error', (error) => {
      if (!opened) settle(false);
      else settle(new CliError('COORDINATOR_UNREACHABLE', `progress stream failed: ${error.message}`));
    });
    socket.on('close', () => {
      if (!settled)
        settle(opened ? new CliError('COORDINATOR_UNREACHABLE', 'the coordinator closed the progress stream') : false);
    });
  });
}

async function watch(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const id = parseJobId(args[0]);
  const base = coordinatorUrl(o.coordinator, env);
  let job = await readCoordinator<JobView>(ctx, base, `/jobs/${id}`);
  const render = createRenderer(ctx);
  // Rounds finished before we connected come from the job's history; later ones live from the progress stream.
  render.history(await roundHistory(ctx, base, id), job.rounds);
  if (!TERMINAL.has(job.status)) {
    render.waiting(job);
    // A live round after a gap (a report missed) is held back until the history fills the gap: one read at a time.
    let filling: Promise<void> | undefined;
    const fillGap = () => {
      if (filling || !render.gap()) return;
      filling = roundHistory(ctx, base, id)
        .then((rounds) => render.history(rounds, job.rounds))
        .catch(() => {})
        .finally(() => (filling = undefined));
    };
    const refresh = async () => {
      job = await readCoordinator<JobView>(ctx, base, `/jobs/${id}`);
      render.tick();
      fillGap();
      return TERMINAL.has(job.status);
    };
    const onProgress = (p: Progress) => {
      render.progress(p);
      fillGap();
    };
    const streamed = await streamProgress(base, await sessionToken(ctx, base), id, onProgress, refresh);
    if (!streamed) {
      // No progress stream: poll the job and its round history.
      while (!(await refresh())) {
        render.history(await roundHistory(ctx, base, id), job.rounds);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    await filling;
    job = await readCoordinator<JobView>(ctx, base, `/jobs/${id}`);
  }
  // Whatever the stream may have missed (a reconnect, a report dropped at the end).
  render.history(await roundHistory(ctx, base, id), job.rounds);
  render.end();
  const rounds = [...render.reported.values()].sort((x, y) => x.round - y.round);
  const last = rounds.length > 0 ? rounds[rounds.length - 1] : { accuracy: null, loss: null };
  const exitCode = job.status === 'completed' ? EXIT_OK : EXIT_USER;
  const summary = {
    jobId: id,
    status: job.status,
    rounds: job.rounds,
    currentRound: job.currentRound,
    reasonCode: job.reasonCode,
    reason: job.reason,
    accuracy: last.accuracy,
    loss: last.loss,
    majorityBaseline: job.majorityBaseline,
  };
  if (ctx.json) {
    process.stdout.write(`${toJson({ event: 'end', ...summary })}\n`);
    return { json: summary, text: '', printed: true, exitCode };
  }
  const text =
    job.status === 'completed'
      ? `job ${id} completed: ${job.currentRound}/${job.rounds} rounds${last.accuracy !== null ? `, accuracy ${fmt(last.accuracy, 4)}` : ''}` +
        `${job.majorityBaseline !== null ? ` (majority-class baseline ${fmt(job.majorityBaseline, 4)}${last.accuracy !== null && last.accuracy <= job.majorityBaseline ? ': the model learnt nothing beyond it' : ''})` : ''}` +
        `; \`sealfold model pull ${id.slice(0, 12)}… -o model\``
      : `job ${id} ${job.status}${job.reason ? `: ${job.reasonCode ? `${job.reasonCode} ` : ''}${job.reason}` : ''}`;
  return { json: summary, text, exitCode };
}

async function list(ctx: Context, env: NodeJS.ProcessEnv, o: Record<string, unknown>): Promise<CommandResult> {
  const base = coordinatorUrl(o.coordinator, env);
  const query = new URLSearchParams();
  // The coordinator shows a buyer its own jobs only; --all asks for every buyer's, which only operators get.
  if (o.all !== true) query.set('buyer', (await loadOwner(ctx)).address);
  if (o.status !== undefined) query.set('status', String(o.status));
  const jobs = await readCoordinator<JobView[]>(ctx, base, `/jobs?${query}`);
  const rows = jobs.map((j) => ({
    jobId: j.id,
    buyer: j.buyer,
    status: j.status,
    round: j.currentRound,
    rounds: j.rounds,
    datasets: j.request.datasets,
    reason: j.reason,
    createdAt: j.createdAt,
  }));
  const text =
    rows.length === 0
      ? 'no jobs'
      : rows
          .map(
            (r) =>
              `${r.jobId}  ${r.status.padEnd(9)} ${String(r.round).padStart(3)}/${r.rounds}  datasets ${r.datasets.join(',')}  ${r.createdAt}${r.reason ? `  (${r.reason})` : ''}`,
          )
          .join('\n');
  return { json: { jobs: rows }, text };
}

async function cancel(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const id = parseJobId(args[0]);
  const base = coordinatorUrl(o.coordinator, env);
  const { jobCancelMessage } = await import('@sealfold/protocol');
  const buyer = await loadOwner(ctx);
  // EIP-191 personal_sign over the cancellation message; the coordinator accepts it from the job's buyer only.
  const signature = await buyer.wallet.signMessage(jobCancelMessage(id));
  const job = await callCoordinator<JobView>(base, 'DELETE', `/jobs/${id}`, { signature });
  return { json: { jobId: job.id, status: job.status, reason: job.reason }, text: `job ${job.id} ${job.status}` };
}

/**
 * A one-time link that opens the job's live page in the web app signed in as this wallet (embedded dev chain only:
 * the coordinator's POST /dev/sign-in-links, which needs this wallet's read session). The code rides in the URL
 * fragment, which the browser never sends to a server; the page spends it once and drops it from the address bar.
 */
async function link(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const id = parseJobId(args[0]);
  const base = coordinatorUrl(o.coordinator, env);
  // The job must be readable by this wallet (its buyer, or an operator): a link to a page that says "not found" helps
  // no one. Also opens (or reuses) the read session the link hands over.
  await readCoordinator<JobView>(ctx, base, `/jobs/${id}`);
  let minted: { code: string; expiresAt: string };
  try {
    minted = await callCoordinator(base, 'POST', '/dev/sign-in-links', {}, await sessionToken(ctx, base));
  } catch (error) {
    if (error instanceof CoordinatorRefusal && error.status === 404)
      throw new CliError(
        'NOT_DEV_CHAIN',
        `sign-in links exist only on the embedded dev chain; open ${base}/#/jobs/${id} and sign in with your wallet`,
      );
    throw error;
  }
  const url = `${base}/#/jobs/${id}?signin=${minted.code}`;
  const { address } = await loadOwner(ctx);
  return {
    json: { jobId: id, url, address, expiresAt: minted.expiresAt },
    text:
      `${url}\n` +
      `opens job ${id.slice(0, 12)}… live, signed in as ${address}; works once, until ${minted.expiresAt} (keep it private)`,
  };
}

export function registerJob(program: Command, runner: Runner): void {
  const env = runner.env;
  const coordinatorOption = (c: Command) =>
    c.option('--coordinator <url>', 'coordinator URL (env SEALFOLD_COORDINATOR_URL; default http://127.0.0.1:8080)');
  const job = program.command('job').description('federated training jobs on licensed datasets (buyer)');
  coordinatorOption(
    job
      .command('plan')
      .description('the job schema of some datasets: common features, the class order, what each owner lacks')
      .requiredOption('--datasets <ids>', 'dataset token ids, comma-separated'),
  )
    .addHelpText(
      'after',
      `
From the datasets' public manifests (the coordinator's GET /jobs/plan): the feature columns every dataset has (by
name; integer and float meet as numeric; categorical levels united), the union of the label classes in one fixed
order (class index i means the same class on every silo and at model output i), the model input width, the classes
each owner lacks (fine) and the columns left out. \`job create\` signs this schema's hash; each silo maps its rows
onto it and refuses, naming the column, a schema it cannot map. Before round 1 the owners' feature statistics are
summed through SecAgg+ and every silo standardises and imputes with the global figures (in the model bundle).
Also, read on chain, the DP level each dataset's terms count its ε budget in (record: any one row; owner: the whole
dataset): a job with DP noise must sign that level (\`job create --dp-level\`), else the dataset's silo refuses it.
${JSON_NOTE}
  {"datasets", "schema": {"format", "label", "features": [{"name", "type", "levels"?}], "classes"}, "hash",
   "inputWidth", "dropped": [{"datasetId", "column", "reason"}], "missingClasses": {"<datasetId>": [..]},
   "dpLevels": {"<datasetId>": "record"|"owner"}}`,
    )
    .action(runner.action((ctx, _args, o) => plan(ctx, env, o)));
  coordinatorOption(
    job
      .command('create')
      .description('build, sign (EIP-712, your wallet) and submit a training job; prints the job id')
      .requiredOption(
        '--datasets <ids>',
        'dataset token ids, comma-separated: at least --min-contributors (3), a valid licence of yours for each',
      )
      .option(
        '--licence <licences>',
        'use these licences (<datasetId>-<serial> or full ids; comma-separated or repeated); default: per dataset the valid licence with the most left',
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .requiredOption('--model <file>', 'model specification (JSON, @sealfold/fl ModelSpec)')
      .option('--rounds <n>', 'federated rounds', '10')
      .option('--strategy <name>', `aggregation strategy: ${STRATEGY_NAMES.join(', ')}`, 'fedavg')
      .option(
        '--dp-level <level>',
        "what DP protects: record (DP-SGD in each silo, any one row) or owner; must be every dataset's terms' level",
        'record',
      )
      .option(
        '--target-epsilon <ε>',
        'choose σ so that no dataset is charged more than ε (needs the datasets’ row counts)',
      )
      .option('--dp-noise <sigma>', 'explicit DP noise multiplier σ (default 0 = no noise)')
      .option(
        '--dp-clip <C>',
        'L2 clip C: of each example’s gradient (record) or owner update (owner); default 1 with --target-epsilon, else 0',
      )
      .option(
        '--dp-delta <delta>',
        'DP δ (record level: below 1/rows of every dataset); default 1e-5 with --target-epsilon, else 0',
      )
      .option('--epochs <n>', 'local epochs per round', String(DEFAULT_TRAINING.localEpochs))
      .option('--batch-size <n>', 'local batch size', String(DEFAULT_TRAINING.batchSize))
      .option('--lr <rate>', 'local learning rate (signed to 1e-6)', String(DEFAULT_TRAINING.learningRate))
      .option('--optimizer <name>', 'local optimizer: sgd or adam', DEFAULT_TRAINING.optimizer)
      .option('--mu <μ>', 'FedProx proximal term μ (only with --strategy fedprox; default 0.01 there)')
      .option(
        '--update-clip <c>',
        'per-coordinate clip of each update before SecAgg+ quantisation',
        String(DEFAULT_TRAINING.updateClip),
      )
      .option(
        '--max-weight <n>',
        'largest sample-count weight a silo may declare (SecAgg+ bound)',
        String(DEFAULT_TRAINING.maxWeight),
      )
      .option(
        '--min-contributors <n>',
        "fewest owners whose inputs any released sum may hold (SecAgg+ t ≥ this); default: 3, or the largest minOwners of the datasets' terms",
      )
      .option('--plain', 'sign secagg.enabled = false: plain aggregation (silos refuse unless their owner allows it)')
      .option(
        '--run-time <duration>',
        'datasets with a job rate: how long the job may run from now (s, m, h or d)',
        '1d',
      )
      .option('--max-price <eth>', 'datasets with a job rate: refuse, before anything is sent, above this price')
      .option(
        '--confirm-window <duration>',
        "datasets with a job rate: after the run, the coordinator's window to confirm receipts (1d–30d)",
        '1d',
      )
      .option(
        '--fallback-window <duration>',
        'datasets with a job rate: then the window in which t silos settle without it (1d–30d)',
        '2d',
      )
      .option(
        '--feature-range <name=min:max>',
        'the domain of a numeric feature (repeatable), signed in the job schema: with DP each silo clips into it before its noised feature statistics',
        (value: string, previous: string[] = []) => [...previous, value],
      ),
  )
    .addHelpText(
      'after',
      `
Everything the silos act on is signed (EIP-712 JobRequest v4): this coordinator's address (from its GET /info), the
job schema's hash (\`job plan\`; the model must map its input width to its classes), the age recipient of the final model (your keystore's), the training settings above, the DP parameters and the SecAgg+
terms, and the escrow terms. The job id is the request's digest; nobody can resubmit your signature with other
settings or recipient. Escrow: when the datasets charge a job rate (\`dataset job-terms\`), the request signs the
run deadline (now + --run-time), the windows, ETH and the escrow's fee; the silos train only once \`job open\` has
locked the exact price on those terms: \`job create\` opens the escrow (locks Σ rate × rows × rounds, like \`job open\`)
before it submits the job. Datasets without a job rate sign no escrow (licences alone).
DP: --target-epsilon 8 (record level) picks the σ the smallest dataset needs and prints, before signing, the ε each
dataset's silo will book (the accountant's: the noised feature statistics, DP-SGD on its rows, batch, epochs and rounds,
and the evaluations, composed); --dp-noise signs σ as given. With DP the feature statistics (mean, std, counts) are
noised too: give --feature-range name=min:max for each numeric feature to have it standardised.
Refused before signing (exit 1): fewer datasets than --min-contributors (TOO_FEW_DATASETS), a dataset without a
valid licence of yours (NO_LICENCE; \`sealfold licence buy <id>\`), a job without DP noise on a licence whose ε
budget is not unlimited (EPSILON_BUDGET). A coordinator refusal (bad signature, replayed nonce…) prints its code and
reason, exit 1.
${JSON_NOTE}
  {"jobId", "status", "buyer", "datasets": [..], "licences": [..] (full ids), "licenceRefs": [..] (<datasetId>-<serial>),
   "rounds", "coordinator", "escrow": null | {"currency", "runDeadline", "confirmWindow", "fallbackWindow", "feeBps", "escrowJobId",
   "lockedWei"},
   "dp"?: {"level", "noiseMultiplier", "clipNorm", "delta", "epsilon": {"<datasetId>": ε}}}`,
    )
    .action(runner.action((ctx, _args, o) => create(ctx, env, o)));
  coordinatorOption(
    job
      .command('watch')
      .description('follow a job round by round until it ends (exit 0 completed, 1 failed or cancelled)')
      .argument('<jobId>', 'job id (64 hex digits)'),
  )
    .addHelpText(
      'after',
      `
A progress bar on a terminal (stderr), else one line per finished round, in round order, a line saying what the job
waits for at the start, and a "still waiting" line every 30 s without news.
With --json, one JSON object per line, of three kinds:
  {"event": "progress", "jobId", "status", "round", "rounds", "stage", "participants", "dropouts", "loss"?, "accuracy"?,
   "majorityBaseline"?}
      as the coordinator reports it (stage e.g. statistics, advertise-keys, masked-input, evaluate, committed);
  {"event": "round", "round", "rounds", "status": "completed"|"aborted", "accuracy"|null, "loss"|null, "participants",
   "dropouts", "reason"|null}
      once per finished round, in round order (accuracy and loss are null when the round had no evaluation);
  {"event": "end", "jobId", "status", "rounds", "currentRound", "reasonCode", "reason", "accuracy", "loss",
   "majorityBaseline"}
      last, once. majorityBaseline: the accuracy of always predicting the most frequent class (from the securely
      summed label counts); an accuracy at or below it means the model learnt nothing.`,
    )
    .action(runner.action((ctx, args, o) => watch(ctx, env, args, o)));
  coordinatorOption(
    job
      .command('list')
      .description('your jobs on the coordinator, newest first')
      .option('--all', 'every buyer’s jobs (coordinator operators only; others get their own)')
      .option('--status <status>', 'only jobs with this status (pending, running, completed, failed, cancelled)'),
  )
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"jobs": [{"jobId", "buyer", "status", "round", "rounds", "datasets", "reason", "createdAt"}]}`,
    )
    .action(runner.action((ctx, _args, o) => list(ctx, env, o)));
  coordinatorOption(
    job
      .command('cancel')
      .description('cancel your pending or running job (signed with your wallet)')
      .argument('<jobId>', 'job id (64 hex digits)'),
  )
    .addHelpText('after', `${JSON_NOTE}\n  {"jobId", "status": "cancelled", "reason"}`)
    .action(runner.action((ctx, args, o) => cancel(ctx, env, args, o)));
  coordinatorOption(
    job
      .command('link')
      .description("a one-time link to the job's live page in the web app, signed in as you (embedded dev chain only)")
      .argument('<jobId>', 'job id (64 hex digits)'),
  )
    .addHelpText(
      'after',
      `
The coordinator hands this wallet's read session to the browser that opens the link first: the link works once,
for 10 minutes, and only while the coordinator runs on the embedded dev chain (\`sealfold coordinator start\` without
SEALFOLD_CHAIN_RPC). Anyone who opens it first reads your jobs: do not share it. On another chain: open the web app
and sign in with your wallet.
${JSON_NOTE}
  {"jobId", "url", "address", "expiresAt"}`,
    )
    .action(runner.action((ctx, args, o) => link(ctx, env, args, o)));
}
