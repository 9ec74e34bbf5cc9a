// `sealfold silo start`: the data owner's node in the foreground. It dials out to the coordinator, proves its wallet,
// announces the datasets it serves and trains on them locally when a licensed job arrives. The decrypted data and
// the ε ledger stay in <home>/silo (0700); only masked updates and evaluation counts leave.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeTextAtomic } from '../atomic-file.js';
import type { CommandResult, Context } from '../context.js';
import { toJson } from '../context.js';
import { openChain } from '../chain-connect.js';
import { coordinatorUrls } from '../coordinator-api.js';
import { CliError } from '../errors.js';
import { loadOwner } from '../owner.js';
import { parseId, parseSmallInt } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';
import { openStore } from '../store.js';
import { parseEscrowId } from './escrow.js';

async function start(ctx: Context, env: NodeJS.ProcessEnv, o: Record<string, unknown>): Promise<CommandResult> {
  const urls = coordinatorUrls(o.coordinator, env);
  const base = urls.join(', ');
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, owner.wallet);
  let datasets: bigint[];
  if (o.datasets !== undefined) {
    datasets = String(o.datasets)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => parseId(s, '--datasets entry'));
  } else {
    // Default: every dataset this wallet owns on chain.
    datasets = (await client.listDatasets({ limit: 10_000, owner: owner.address })).map((d) => d.datasetId);
  }
  const follow = o.datasets === undefined;
  if (datasets.length === 0 && !follow) throw new CliError('NO_DATASETS', `--datasets names no dataset`);
  if (datasets.length === 0)
    ctx.note(`wallet ${owner.address} owns no dataset on chain yet: the silo serves each one you register from now on`);
  const { store } = await openStore(ctx, env);
  const { pino } = await import('pino');
  // JSON log lines on stderr (stdout carries the one start record for scripts).
  const logger = pino({ level: env.SEALFOLD_LOG_LEVEL || 'info', base: { role: 'silo' } }, pino.destination(2));
  const { startSilo } = await import('../../../silo/src/bootstrap.js');
  const silo = await startSilo({
    coordinatorUrl: urls,
    wallet: owner.wallet,
    identities: [owner.identity],
    chain: client,
    store,
    datasets,
    stateDir: join(ctx.paths.home, 'silo'),
    logger,
    ...(o.minOwners !== undefined
      ? { minIndependentOwners: parseSmallInt(String(o.minOwners), '--min-owners', 255) }
      : {}),
    // The owner's local page (ε ledger, refused and halted jobs): loopback and a random token unless told otherwise.
    ...(o.page === false
      ? {}
      : {
          ownerPage: {
            host: String(o.pageHost ?? '127.0.0.1'),
            port: o.pagePort === undefined ? 0 : parseSmallInt(String(o.pagePort), '--page-port', 65_535),
          },
        }),
    // Without --datasets the silo serves every dataset the wallet owns, also those registered after it started.
    ...(follow ? { followNewDatasets: { intervalMs: Number(env.SEALFOLD_SILO_DATASET_POLL_MS || 5000) } } : {}),
  });
  ctx.onClose(() => silo.close());
  const readyTimeoutMs = Number(env.SEALFOLD_SILO_READY_TIMEOUT_MS || 60_000);
  const stopStatus = connectionStatus(ctx, silo.client, base, readyTimeoutMs);
  ctx.onClose(stopStatus);
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const ready = await Promise.race([
    silo.client.ready(readyTimeoutMs).then(
      () => true,
      (error: Error) => error,
    ),
    stopped.then(() => false),
  ]);
  if (ready instanceof Error)
    throw new CliError(
      'COORDINATOR_UNREACHABLE',
      `the silo could not join the coordinator at ${base} within ${readyTimeoutMs / 1000} s` +
        `${silo.client.lastError ? ` (last error: ${silo.client.lastError})` : ''}; is \`sealfold coordinator start\` ` +
        `running there? (--coordinator or SEALFOLD_COORDINATOR_URL; SEALFOLD_SILO_READY_TIMEOUT_MS sets the wait)`,
    );
  if (ready) {
    const json = {
      address: owner.address,
      coordinator: silo.client.coordinatorUrl,
      datasets: datasets.map(String),
      accepted: silo.client.accepted,
      stateDir: join(ctx.paths.home, 'silo'),
      page: silo.ownerPage?.url ?? null,
    };
    if (ctx.json) process.stdout.write(`${toJson({ event: 'ready', ...json })}\n`);
    else
      process.stdout.write(
        `silo ${owner.address} connected to ${json.coordinator}; serving datasets ${json.accepted.join(', ') || '(none accepted)'}\n` +
          `private state in ${json.stateDir}; Ctrl-C stops it\n` +
          (json.page ? `your ledger (this machine only, keep the link private): ${json.page}\n` : ''),
      );
    await stopped;
  }
  return { json: {}, text: '', printed: true };
}

type SiloClient = import('../../../silo/src/silo-client.js').SiloClient;

/**
 * Plain status lines on stderr beside the JSON logs, for the operator: while the first connection fails (bounded by
 * the ready timeout, then the command exits 1), and when an established connection drops (then the silo retries for
 * as long as it runs — a coordinator restart must not stop the owners' silos — saying so every minute).
 */
function connectionStatus(ctx: Context, client: SiloClient, base: string, readyTimeoutMs: number): () => void {
  const startedAt = Date.now();
  let everReady = false;
  let lostAt: number | undefined;
  let lastNote = 0;
  const note = (text: string) => {
    lastNote = Date.now();
    ctx.note(text);
  };
  const off = client.onState((state) => {
    if (state === 'ready') {
      if (lostAt !== undefined) note(`silo: reconnected to ${base}`);
      everReady = true;
      lostAt = undefined;
    } else if (state === 'connecting' && everReady && lostAt === undefined) {
      lostAt = Date.now();
      note(`silo: lost the connection to ${base} (${client.lastError ?? 'closed'}); reconnecting until it is back`);
    }
  });
  const timer = setInterval(() => {
    if (client.state === 'ready' || client.state === 'stopped' || client.lastError === undefined) return;
    if (!everReady && Date.now() - lastNote >= 5000)
      note(
        `silo: coordinator at ${base} not reachable (${client.lastError}); retrying, ` +
          `${Math.max(0, Math.round((readyTimeoutMs - (Date.now() - startedAt)) / 1000))} s left`,
      );
    else if (everReady && lostAt !== undefined && Date.now() - lastNote >= 60_000)
      note(
        `silo: still reconnecting to ${base} (${client.lastError}), disconnected for ${Math.round((Date.now() - lostAt) / 1000)} s`,
      );
  }, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    off();
  };
}

/**
 * `sealfold silo receipts [job]`: the job receipts this silo co-signed, read from its own ledger, as bundles `job
 * settle --receipts` takes. A silo keeps every signature it gave (issue 20 §2), so a lost coordinator database never
 * blocks payment: t owners export theirs and settle in the fallback window without the coordinator.
 */
async function receipts(ctx: Context, args: string[], o: Record<string, unknown>): Promise<CommandResult> {
  const escrowId = args[0] === undefined ? undefined : parseEscrowId(args[0]);
  if (o.out !== undefined && escrowId === undefined)
    throw new CliError('INVALID_ARGUMENT', "--out writes one job's receipt: give the <job> escrow id too");
  const path = join(ctx.paths.home, 'silo', 'ledger.db');
  if (!existsSync(path))
    throw new CliError('NO_SILO', `no silo ledger at ${path}: this home has never run \`sealfold silo start\``);
  const { EpsilonLedger } = await import('../../../silo/src/ledger.js');
  const ledger = EpsilonLedger.open(path);
  let signed;
  try {
    signed = ledger.signedReceipts();
  } finally {
    ledger.close();
  }
  // One bundle per (escrow job, receipt digest): this silo's datasets of the job signed the same receipt.
  const bundles = new Map<
    string,
    { jobId: string; digest: string; receipt: unknown; siloSignatures: Record<string, string> }
  >();
  for (const r of signed) {
    if (escrowId !== undefined && r.escrowJobId.toLowerCase() !== escrowId) continue;
    const key = `${r.escrowJobId}/${r.digest}`;
    const b = bundles.get(key) ?? { jobId: r.escrowJobId, digest: r.digest, receipt: r.receipt, siloSignatures: {} };
    b.siloSignatures[r.datasetId.toString()] = r.signature;
    bundles.set(key, b);
  }
  const list = [...bundles.values()];
  if (escrowId === undefined)
    return {
      json: { receipts: list },
      text:
        list.length === 0
          ? 'this silo has signed no job receipt yet'
          : list
              .map((b) => `${b.jobId}  datasets ${Object.keys(b.siloSignatures).join(', ')}  receipt ${b.digest}`)
              .join('\n'),
    };
  if (list.length === 0)
    throw new CliError(
      'NO_RECEIPT',
      `this silo signed no receipt of job ${escrowId}: it signs when the job ends, or when it next connects`,
    );
  if (list.length > 1)
    throw new CliError(
      'RECEIPT_MISMATCH',
      `this silo's datasets signed ${list.length} different receipts of job ${escrowId}`,
    );
  const [{ receipt, siloSignatures }] = list;
  const bundle = { receipt, siloSignatures };
  if (o.out !== undefined) {
    // Written whole or not at all (temp file, then rename).
    await writeTextAtomic(resolve(String(o.out)), `${JSON.stringify(bundle, null, 2)}\n`, 0o644);
  }
  return {
    json: { jobId: escrowId, ...bundle, ...(o.out !== undefined ? { file: resolve(String(o.out)) } : {}) },
    text:
      `job ${escrowId}: datasets ${Object.keys(siloSignatures).join(', ')} signed` +
      (o.out !== undefined
        ? `; wrote ${resolve(String(o.out))} (\`sealfold job settle ${escrowId} --receipts <file>\`)`
        : ''),
  };
}

export function registerSilo(program: Command, runner: Runner): void {
  const silo = program.command('silo').description('your data node: trains on your sealed datasets for licensed jobs');
  silo
    .command('start')
    .description('run the silo in the foreground, connected out to the coordinator (works behind NAT)')
    .option(
      '--datasets <ids>',
      'dataset ids to serve, comma-separated (default: every dataset your wallet owns, also ones registered later)',
    )
    .option(
      '--coordinator <url>',
      'coordinator URL; several coordinators sharing one database: repeat it or give a comma-separated list, the ' +
        'silo moves to the next when its connection drops (env SEALFOLD_COORDINATOR_URL; default http://127.0.0.1:8080)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option(
      '--min-owners <n>',
      'fewest distinct dataset owners, other than the buyer, a job and each of its rounds must include (default 3)',
    )
    .option('--page-host <host>', 'address of your local ledger page (default 127.0.0.1: this machine only)')
    .option('--page-port <port>', 'port of your local ledger page (default: any free port)')
    .option('--no-page', 'do not serve the local ledger page')
    .addHelpText(
      'after',
      `
Logs are JSON lines on stderr, beside plain status lines: while the coordinator cannot be reached at start (the
command gives up with COORDINATOR_UNREACHABLE after SEALFOLD_SILO_READY_TIMEOUT_MS, default 60 s) and when a
connection drops (then it reconnects for as long as it runs). Without --datasets, datasets your wallet registers
later are announced within SEALFOLD_SILO_DATASET_POLL_MS (default 5 s). Once the coordinator has accepted the
announcement, one line is printed on stdout
(with --json: {"event": "ready", "address", "coordinator", "datasets", "accepted", "stateDir", "page"}). "page" is
the address of your local ledger page (ε spent per licence, refused and halted jobs; never sent to the coordinator),
with a random token in it: keep it private. It binds to 127.0.0.1 unless --page-host says otherwise.
Stops on SIGINT/SIGTERM. The silo re-checks every job itself: buyer signature, licence on chain, model hash, schema
and the licence's ε budget (ledger in <home>/silo/ledger.db). It releases at most one masked input per job, round
and kind (training, evaluation) — persisted, also across restarts — derives the SecAgg+ parameters and the exact
client list itself from the verified roster, re-checks the licence on chain before every round, and refuses jobs
and rounds with fewer than --min-owners independent owners (owners other than the buyer; the SecAgg+ threshold is
at least that too).`,
    )
    .action(runner.action((ctx, _args, o) => start(ctx, runner.env, o)));
  silo
    .command('receipts')
    .description('the job receipts your silo co-signed, from its own ledger (to settle without the coordinator)')
    .argument('[job]', "job escrow id (64 hex digits): print that job's receipt bundle")
    .option('--out <file>', "write the job's bundle to <file> (the format `job settle --receipts` reads)")
    .addHelpText(
      'after',
      `
A silo signs a job's receipt only after checking it against what it saw itself, and keeps the signature in its
ledger (<home>/silo/ledger.db), also when the coordinator settles. Without a job: one line per receipt signed.
With a job: {"receipt", "siloSignatures": {"<datasetId>": "0x…"}}, this silo's signatures only. To be paid without
the coordinator (after the job's confirm window), owners join t such files: \`sealfold job settle <job> --receipts
a.json --receipts b.json …\`. Works while the silo runs.
${JSON_NOTE}
  without a job: {"receipts": [{"jobId", "digest", "receipt", "siloSignatures"}]}
  with a job: {"jobId", "receipt", "siloSignatures", "file"?}`,
    )
    .action(runner.action((ctx, args, o) => receipts(ctx, args, o)));
}
