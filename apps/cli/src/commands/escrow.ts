// Per-job escrow and models as licensed derivatives (issue 20, docs/ECONOMICS.md): `job open|escrow|settle|refund`
// (the buyer locks a job's exact price; anyone settles with a receipt the silos co-signed; the unpaid rest goes back
// to the buyer after the windows), `earnings` and `withdraw` for owners, `dataset job-terms` (an owner's rate per
// row-round, rows, derivative share, silo key), and `model register|price|licence|claim` for trained models.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { openChain } from '../chain-connect.js';
import { coordinatorUrl, parseJobId, type JobView } from '../coordinator-api.js';
import { readCoordinator } from '../coordinator-session.js';
import { CliError } from '../errors.js';
import { loadOwner } from '../owner.js';
import { formatEth, parseAddress, parseId, parseUint } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';

type ContributionPayment = import('@sealfold/chain').ContributionPayment;
type TxResult = import('@sealfold/chain').TxResult;
type ReceiptBundle = import('@sealfold/chain').ReceiptBundle;

/** A job's escrow id: 64 hex digits, with or without 0x (what `job open` prints). */
export function parseEscrowId(value: string | undefined, what = '<job>'): string {
  if (value === undefined) throw new CliError('INVALID_ARGUMENT', `${what} is required`);
  const v = value.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{64}$/.test(v))
    throw new CliError('INVALID_ARGUMENT', `${what} must be a job escrow id (64 hex digits), got "${value}"`);
  return `0x${v}`;
}

/** An ETH amount as a decimal (e.g. 0.01) → wei. */
export function parseEthAmount(value: unknown, what: string): bigint {
  const v = String(value).trim();
  const m = /^([0-9]+)(?:\.([0-9]{1,18}))?$/.exec(v);
  if (m === null) throw new CliError('INVALID_ARGUMENT', `${what} must be an ETH amount (e.g. 0.01), got "${v}"`);
  return BigInt(m[1]) * 10n ** 18n + BigInt((m[2] ?? '').padEnd(18, '0') || '0');
}

const tx = (r: TxResult) => ({ txHash: r.hash, blockNumber: r.blockNumber, gasUsed: r.gasUsed });
const iso = (unix: bigint) => new Date(Number(unix) * 1000).toISOString();

async function readJson(file: string, what: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError('INVALID_ARGUMENT', `${what} ${file} is not JSON: ${(error as Error).message}`);
  }
}

type JobRequest = import('@sealfold/protocol').JobRequest;

/** The job request to open: from a JSON file (the request, or {request, signature}) or the coordinator's job. */
async function loadRequest(ctx: Context, env: NodeJS.ProcessEnv, args: string[], o: Record<string, unknown>) {
  const { parseJobRequest } = await import('@sealfold/protocol');
  if ((o.request === undefined) === (args[0] === undefined))
    throw new CliError('INVALID_ARGUMENT', 'give the coordinator job id or --request <file>, one of them');
  let json: unknown;
  if (o.request !== undefined) {
    json = await readJson(String(o.request), '--request');
    if (json !== null && typeof json === 'object' && 'request' in json) json = (json as { request: unknown }).request;
  } else {
    const id = parseJobId(args[0]);
    // Jobs are private to their buyer: read with the keystore wallet's session (SIWE, as `job watch`).
    json = (await readCoordinator<JobView>(ctx, coordinatorUrl(o.coordinator, env), `/jobs/${id}`)).request;
  }
  try {
    return parseJobRequest(json);
  } catch (error) {
    throw new CliError('INVALID_ARGUMENT', `not a valid job request: ${(error as Error).message}`);
  }
}

/**
 * Locks the exact price of a signed request on exactly the escrow terms it signs (the silos compare the on-chain
 * header with them field by field): `job open`, and `job create` for datasets with a job rate.
 */
export async function lockJobEscrow(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  request: JobRequest,
  buyer: Awaited<ReturnType<typeof loadOwner>>,
  maxPrice?: bigint,
) {
  const { hashJobRequest, sealfoldDomain } = await import('@sealfold/chain');
  const { jobPrice } = await import('@sealfold/protocol');
  const { client } = await openChain(ctx, env, buyer.wallet, {
    beforeFunding: async (c) => {
      if (BigInt(request.chainId) !== c.chainId)
        throw new CliError('WRONG_CHAIN', `the request is for chain ${request.chainId}; this chain is ${c.chainId}`);
      if (maxPrice !== undefined) {
        const terms = await Promise.all(request.datasets.map((id) => c.getJobTerms(id)));
        const price = jobPrice(
          terms.map((t) => ({ rate: t.ratePerRowRound, rows: t.rows })),
          request.rounds,
        );
        if (price > maxPrice)
          throw new CliError(
            'PRICE_ABOVE_MAX',
            `the job costs ${formatEth(price)} at the rates in force now, above --max-price ${formatEth(maxPrice)}`,
          );
      }
    },
  });
  if (!client.addresses) throw new CliError('NOT_DEPLOYED', 'the chain has no Sealfold contracts');
  const requestDigest = hashJobRequest(sealfoldDomain(client.chainId, client.addresses.datasetLicence), request);
  const r = await client.openJobEscrow({
    requestDigest,
    coordinator: request.coordinator,
    threshold: request.secagg.minContributors,
    rounds: request.rounds,
    datasets: request.datasets.map((datasetId, i) => ({ datasetId, licenceId: request.licences[i] })),
    // The escrow terms the buyer signed, exactly: the silos compare the on-chain header with them field by field.
    runDeadline: request.escrow.runDeadline,
    confirmWindow: request.escrow.confirmWindow,
    fallbackWindow: request.escrow.fallbackWindow,
    feeBps: request.escrow.feeBps,
  });
  return { r, requestDigest };
}

async function open(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const maxPrice = o.maxPrice === undefined ? undefined : parseEthAmount(o.maxPrice, '--max-price');
  const request: JobRequest = await loadRequest(ctx, env, args, o);
  const { requestsEscrow } = await import('@sealfold/protocol');
  if (!requestsEscrow(request))
    throw new CliError(
      'NO_ESCROW_TERMS',
      'the request signs no escrow terms (its datasets charged no job rate when it was signed): nothing to open',
    );
  const buyer = await loadOwner(ctx);
  if (request.buyer.toLowerCase() !== buyer.address.toLowerCase())
    throw new CliError(
      'NOT_BUYER',
      `the request is ${request.buyer}'s; your wallet is ${buyer.address} (only the buyer opens its escrow)`,
    );
  const { r, requestDigest } = await lockJobEscrow(ctx, env, request, buyer, maxPrice);
  const confirmEnd = r.header.runDeadline + BigInt(r.header.confirmWindow);
  const settleEnd = confirmEnd + BigInt(r.header.fallbackWindow);
  return {
    json: {
      jobId: r.jobId,
      requestDigest,
      buyer: r.buyer,
      coordinator: r.header.coordinator,
      threshold: r.header.threshold,
      rounds: r.header.rounds,
      feeBps: r.header.feeBps,
      lockedWei: r.locked,
      runDeadline: r.header.runDeadline,
      confirmEnd,
      settleEnd,
      datasets: r.pinned.map((p, i) => ({
        datasetId: p.datasetId,
        licenceId: r.licenceIds[i],
        payee: p.payee,
        siloSigner: p.signer,
        rateWei: p.rate,
        rows: p.rows,
      })),
      ...tx(r),
    },
    text:
      `${r.jobId}\nlocked ${formatEth(r.locked)} for ${r.header.rounds} rounds of datasets ${r.pinned.map((p) => p.datasetId).join(', ')}` +
      ` (receipts list them in this order)\nrun until ${iso(r.header.runDeadline)}; the coordinator confirms until ${iso(confirmEnd)}, ` +
      `t = ${r.header.threshold} silos until ${iso(settleEnd)}; then \`sealfold job refund ${r.jobId}\` returns what was not paid\ntx ${r.hash}`,
  };
}

async function escrowView(ctx: Context, env: NodeJS.ProcessEnv, args: string[]): Promise<CommandResult> {
  const id = parseEscrowId(args[0]);
  const { client } = await openChain(ctx, env);
  const [e, terms] = await Promise.all([client.getEscrow(id), client.escrowTerms(id)]);
  const confirmEnd = terms.header.runDeadline + BigInt(terms.header.confirmWindow);
  const datasets = terms.pinned.map((p, i) => ({
    index: i,
    datasetId: p.datasetId,
    payee: p.payee,
    siloSigner: p.signer,
    rateWei: p.rate,
    rows: p.rows,
    paid: e.paidIndices.includes(i),
  }));
  return {
    json: {
      jobId: id,
      buyer: e.buyer,
      coordinator: terms.header.coordinator,
      threshold: terms.header.threshold,
      rounds: terms.header.rounds,
      lockedWei: e.locked,
      paidWei: e.paid,
      refunded: e.refunded,
      runDeadline: e.runDeadline,
      confirmEnd,
      settleEnd: e.settleEnd,
      datasets,
    },
    text: [
      `job ${id} (buyer ${e.buyer})`,
      `locked ${formatEth(e.locked)}, paid ${formatEth(e.paid)}${e.refunded ? ', refunded and closed' : ''}`,
      `run until ${iso(e.runDeadline)}; coordinator confirms until ${iso(confirmEnd)}; settle until ${iso(e.settleEnd)}`,
      ...datasets.map(
        (d) => `  #${d.index} dataset ${d.datasetId}  payee ${d.payee}  ${d.rows} rows  ${d.paid ? 'paid' : 'unpaid'}`,
      ),
    ].join('\n'),
  };
}

const paymentJson = (p: ContributionPayment) => ({
  jobId: p.jobId,
  datasetId: p.datasetId,
  payee: p.payee,
  rounds: p.rounds,
  amountWei: p.amount,
  feeWei: p.fee,
  netWei: p.net,
  txHash: p.txHash,
  blockNumber: p.blockNumber,
});

/**
 * One bundle from several files of the same receipt: each owner exports its own silo's signature (`silo receipts`),
 * and t of them together settle in the fallback window without the coordinator. The receipts must be identical; a
 * dataset (or the coordinator) signing differently in two files is refused.
 */
function mergeReceiptBundles(bundles: readonly ReceiptBundle[], files: readonly string[]): ReceiptBundle {
  const [first, ...rest] = bundles;
  const receiptKey = (b: ReceiptBundle) => JSON.stringify(b.receipt);
  const siloSignatures: Record<string, string> = { ...first.siloSignatures };
  let coordinatorSignature = first.coordinatorSignature;
  rest.forEach((b, i) => {
    if (receiptKey(b) !== receiptKey(first))
      throw new CliError(
        'RECEIPT_MISMATCH',
        `${files[i + 1]} holds another receipt than ${files[0]}: settle them apart`,
      );
    for (const [datasetId, sig] of Object.entries(b.siloSignatures)) {
      if (siloSignatures[datasetId] !== undefined && siloSignatures[datasetId] !== sig)
        throw new CliError('RECEIPT_MISMATCH', `two different signatures of dataset ${datasetId} in --receipts files`);
      siloSignatures[datasetId] = sig;
    }
    if (b.coordinatorSignature !== undefined) {
      if (coordinatorSignature !== undefined && coordinatorSignature !== b.coordinatorSignature)
        throw new CliError('RECEIPT_MISMATCH', 'two different coordinator signatures in --receipts files');
      coordinatorSignature = b.coordinatorSignature;
    }
  });
  return { receipt: first.receipt, ...(coordinatorSignature ? { coordinatorSignature } : {}), siloSignatures };
}

async function settle(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const id = parseEscrowId(args[0]);
  const files = (o.receipts as string[] | undefined) ?? [];
  if (files.length === 0) throw new CliError('INVALID_ARGUMENT', '--receipts <file> is required');
  const { parseReceiptBundle } = await import('@sealfold/chain');
  const bundles = [];
  for (const file of files) bundles.push(parseReceiptBundle(await readJson(file, '--receipts'), file));
  const bundle = mergeReceiptBundles(bundles, files);
  const sender = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, sender.wallet);
  const r = await client.settleJob(id, bundle);
  return {
    json: {
      jobId: id,
      paidWei: r.paidNow,
      byCoordinator: r.byCoordinator,
      byQuorum: r.byQuorum,
      payments: r.payments.map(paymentJson),
      ...tx(r),
    },
    text:
      (r.payments.length === 0
        ? `paid nothing (every signing dataset was already paid, or only the coordinator signed)`
        : r.payments
            .map((p) => `dataset ${p.datasetId}: ${p.rounds} rounds, ${formatEth(p.net)} to ${p.payee}`)
            .join('\n')) + `\ntx ${r.hash}`,
  };
}

async function refund(ctx: Context, env: NodeJS.ProcessEnv, args: string[]): Promise<CommandResult> {
  const id = parseEscrowId(args[0]);
  const sender = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, sender.wallet);
  const r = await client.refundJob(id);
  return {
    json: { jobId: id, buyer: r.buyer, refundedWei: r.amount, ...tx(r) },
    text: `refunded ${formatEth(r.amount)} to ${r.buyer} (\`sealfold withdraw\` from that wallet)\ntx ${r.hash}`,
  };
}

async function earnings(ctx: Context, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env);
  const [payments, owed] = await Promise.all([client.earningsOf(owner.address), client.escrowOwed(owner.address)]);
  const total = payments.reduce((s, p) => s + p.net, 0n);
  const withdrawable = owed.jobEscrow + owed.modelAsset;
  return {
    json: {
      address: owner.address,
      jobs: payments.map(paymentJson),
      earnedWei: total,
      withdrawableWei: withdrawable,
      withdrawable: { jobEscrowWei: owed.jobEscrow, modelAssetWei: owed.modelAsset },
    },
    text: [
      owner.address,
      ...(payments.length === 0
        ? ['no job payments yet']
        : payments.map(
            (p) =>
              `job ${p.jobId}  dataset ${p.datasetId}  ${p.rounds} rounds  ${formatEth(p.net)} (fee ${formatEth(p.fee)})`,
          )),
      `earned from jobs   ${formatEth(total)}`,
      `withdrawable now   ${formatEth(withdrawable)} (job escrow ${formatEth(owed.jobEscrow)}, model licences ${formatEth(owed.modelAsset)}; \`sealfold withdraw\`)`,
    ].join('\n'),
  };
}

async function withdraw(ctx: Context, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, owner.wallet);
  const r = await client.withdrawEarnings();
  const amount = r.jobEscrow + r.modelAsset;
  return {
    json: {
      address: owner.address,
      amountWei: amount,
      jobEscrowWei: r.jobEscrow,
      modelAssetWei: r.modelAsset,
      transactions: r.transactions.map(tx),
    },
    text: `withdrew ${formatEth(amount)} to ${owner.address}\n${r.transactions.map((t) => `tx ${t.hash} (gas ${t.gasUsed})`).join('\n')}`,
  };
}

async function jobTerms(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const datasetId = parseId(args[0], '<datasetId>');
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, o.rateWei === undefined ? undefined : owner.wallet);
  if (o.rateWei !== undefined) {
    if (o.rows === undefined) throw new CliError('INVALID_ARGUMENT', '--rows is required with --rate-wei');
    const sharePercent = o.derivativeShare === undefined ? undefined : Number(o.derivativeShare);
    if (sharePercent !== undefined && !(Number.isFinite(sharePercent) && sharePercent >= 0 && sharePercent <= 50))
      throw new CliError(
        'INVALID_ARGUMENT',
        `--derivative-share must be a percentage in [0, 50], got "${String(o.derivativeShare)}"`,
      );
    await client.setJobTerms(datasetId, {
      ratePerRowRound: parseUint(String(o.rateWei), '--rate-wei'),
      rows: parseUint(String(o.rows), '--rows'),
      derivativesAllowed: sharePercent !== undefined,
      derivativeShareMicros: sharePercent === undefined ? 0 : Math.round(sharePercent * 10_000),
      ...(o.siloSigner !== undefined ? { siloSigner: parseAddress(String(o.siloSigner), '--silo-signer') } : {}),
    });
  }
  const t = await client.getJobTerms(datasetId);
  return {
    json: {
      datasetId,
      owner: t.owner,
      rateWei: t.ratePerRowRound,
      rows: t.rows,
      derivativesAllowed: t.derivativesAllowed,
      derivativeSharePercent: t.derivativeShareMicros / 10_000,
      siloSigner: t.siloSigner,
      currency: t.currency,
    },
    text:
      t.ratePerRowRound === 0n
        ? `dataset ${datasetId} offers no paid jobs (\`--rate-wei <n> --rows <n>\` sets a rate)`
        : `dataset ${datasetId}: ${t.ratePerRowRound} wei per row per round, ${t.rows} rows; receipts signed by ${t.siloSigner}; ` +
          (t.derivativesAllowed
            ? `derivative models owe it up to ${t.derivativeShareMicros / 10_000}% of their licence sales`
            : 'no derivative models'),
  };
}

/** A model id: the job escrow id it was trained under. */
const parseModelId = (value: string | undefined) => parseEscrowId(value, '<model>');

async function modelRegister(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const id = parseEscrowId(args[0]);
  const price = o.price === undefined ? undefined : parseEthAmount(o.price, '--price');
  const buyer = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, buyer.wallet);
  const r = await client.registerModel(id, { price });
  return {
    json: {
      modelId: id,
      owner: buyer.address,
      parents: r.parents.map((p) => ({ datasetId: p.datasetId, sharePercent: p.shareMicros / 10_000 })),
      upstreamPercent: r.stackMicros / 10_000,
      priceWei: price ?? 0n,
      receiptDigest: r.receiptDigest,
      ...tx(r),
    },
    text:
      `model ${id} registered to ${buyer.address}\nparents: ${r.parents.map((p) => `dataset ${p.datasetId} (${p.shareMicros / 10_000}%)`).join(', ')}; ` +
      `${r.stackMicros / 10_000}% of each licence sale goes to them\n` +
      (price ? `licence price ${formatEth(price)}` : 'not for sale yet (`sealfold model price <model> <eth>`)'),
  };
}

async function modelPrice(ctx: Context, env: NodeJS.ProcessEnv, args: string[]): Promise<CommandResult> {
  const id = parseModelId(args[0]);
  const price = parseEthAmount(args[1], '<eth>');
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, owner.wallet);
  const r = await client.setModelLicencePrice(id, price);
  return {
    json: { modelId: id, priceWei: price, ...tx(r) },
    text: price === 0n ? `model ${id} is no longer for sale` : `model ${id} licence price ${formatEth(price)}`,
  };
}

async function modelLicence(ctx: Context, env: NodeJS.ProcessEnv, args: string[]): Promise<CommandResult> {
  const id = parseModelId(args[0]);
  const buyer = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, buyer.wallet);
  const r = await client.buyModelLicence(id);
  return {
    json: {
      modelId: id,
      holder: buyer.address,
      owner: r.owner,
      priceWei: r.price,
      feeWei: r.fee,
      upstreamWei: r.upstream,
      ...tx(r),
    },
    text: `licensed model ${id} for ${formatEth(r.price)}: ${formatEth(r.upstream)} to its parents' pot, ${formatEth(r.price - r.fee - r.upstream)} to ${r.owner}\ntx ${r.hash}`,
  };
}

async function modelClaim(ctx: Context, env: NodeJS.ProcessEnv, args: string[]): Promise<CommandResult> {
  const id = parseModelId(args[0]);
  const datasetId = parseId(args[1] ?? '', '<datasetId>');
  const sender = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, sender.wallet);
  const r = await client.claimUpstream(id, datasetId);
  return {
    json: { modelId: id, datasetId, account: r.account ?? null, amountWei: r.amount, ...tx(r) },
    text:
      r.amount === 0n
        ? `nothing new is due to dataset ${datasetId} from model ${id}`
        : `credited ${formatEth(r.amount)} to ${r.account} (owner of dataset ${datasetId}; \`sealfold withdraw\`)`,
  };
}

const find = (program: Command, name: string): Command => {
  const c = program.commands.find((x) => x.name() === name);
  if (c === undefined) throw new Error(`command ${name} must be registered before the escrow commands`);
  return c;
};

const TX_FIELDS = '"txHash", "blockNumber", "gasUsed"';

/** Adds the escrow commands to `job`, `model` and `dataset` (registered first) and `earnings`/`withdraw`. */
export function registerEscrow(program: Command, runner: Runner): void {
  const env = runner.env;
  const job = find(program, 'job');
  job
    .command('open')
    .description(
      'open the escrow of a signed job request and lock its exact price (buyer; `job create` does it for its own jobs)',
    )
    .argument('[jobId]', "the coordinator's job id (its request is read from GET /jobs/<id>)")
    .option('--request <file>', 'the signed job request as JSON (the request, or {"request", "signature"}) instead')
    .option('--coordinator <url>', 'coordinator URL (env SEALFOLD_COORDINATOR_URL; default http://127.0.0.1:8080)')
    .option('--max-price <eth>', 'refuse, before anything is sent, if the job costs more than this')
    .addHelpText(
      'after',
      `
The price is Σ rate × rows × rounds over the request's datasets, at the job rates their owners set now
(\`dataset job-terms\`); it is locked exactly. Pinned with it: the request's coordinator, its SecAgg threshold t
(secagg.minContributors) and rounds, the escrow terms the request signs (currency, run deadline, confirm and fallback
windows, fee: \`job create --run-time/--confirm-window/--fallback-window\`), each dataset's payee and silo key. A silo
trains only if the escrow on chain holds exactly these terms and the exact price. Datasets
are pinned in increasing id order: receipts list their rounds in that order. There is no cancel: what is not paid
by the end of the fallback window is refunded (\`job refund\`). The escrow id printed is keccak256(buyer, request
digest), not the coordinator's job id.
${JSON_NOTE}
  {"jobId", "requestDigest", "buyer", "coordinator", "threshold", "rounds", "feeBps", "lockedWei", "runDeadline",
   "confirmEnd", "settleEnd" (unix seconds), "datasets": [{"datasetId", "licenceId", "payee", "siloSigner",
   "rateWei", "rows"}], ${TX_FIELDS}}`,
    )
    .action(runner.action((ctx, args, o) => open(ctx, env, args, o)));
  job
    .command('escrow')
    .description("a job escrow's state: locked, paid, windows, each dataset's payee and whether it was paid")
    .argument('<job>', 'job escrow id (64 hex digits, as `job open` prints it)')
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"jobId", "buyer", "coordinator", "threshold", "rounds", "lockedWei", "paidWei", "refunded", "runDeadline",\n   "confirmEnd", "settleEnd", "datasets": [{"index", "datasetId", "payee", "siloSigner", "rateWei", "rows", "paid"}]}`,
    )
    .action(runner.action((ctx, args) => escrowView(ctx, env, args)));
  job
    .command('settle')
    .description('pay the datasets whose silos signed a job receipt (anyone may send it; pay goes to the payees)')
    .argument('<job>', 'job escrow id')
    .requiredOption(
      '--receipts <file>',
      'the receipt and its signatures (JSON, below); repeat it to join the signatures of several files of one receipt',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .addHelpText(
      'after',
      `
The file: {"receipt": {"jobId", "roundsCompleted", "modelDigest", "modelCidDigest", "transcriptRoot",
"roundsByDataset": [..] (job order), "epsilonSpentMilli", "valuationDigest"}, "coordinatorSignature"?: "0x…",
"siloSignatures": {"<datasetId>": "0x…"}} — EIP-712 JobReceipt signatures (domain "Sealfold" "1", this chain, the
JobEscrow address). Dataset i is paid rate × rows × its rounds only with its silo's own signature plus the
coordinator's (until the run deadline + confirm window) or, after that window, t silo signatures. The coordinator's
signature alone pays nothing. Every signature is checked against its pinned key before sending; a dataset already
paid is skipped. Each silo keeps what it signed: \`sealfold silo receipts <job> --out <file>\` on each owner's machine,
then one \`job settle <job> --receipts <file> --receipts <file> …\` with t files settles without the coordinator.
${JSON_NOTE}
  {"jobId", "paidWei", "byCoordinator", "byQuorum", "payments": [{"jobId", "datasetId", "payee", "rounds",
   "amountWei", "feeWei", "netWei", "txHash", "blockNumber"}], ${TX_FIELDS}}`,
    )
    .action(runner.action((ctx, args, o) => settle(ctx, env, args, o)));
  job
    .command('refund')
    .description('credit the buyer with what a job did not pay, once (after settlement closes, or when all is paid)')
    .argument('<job>', 'job escrow id')
    .addHelpText('after', `${JSON_NOTE}\n  {"jobId", "buyer", "refundedWei", ${TX_FIELDS}}`)
    .action(runner.action((ctx, args) => refund(ctx, env, args)));

  program
    .command('earnings')
    .description('what jobs paid your datasets, per job, and what you can withdraw now (owner)')
    .addHelpText(
      'after',
      `
Per job: ContributionPaid events of the job escrow naming your wallet (amount before and after the protocol fee).
Withdrawable: the job escrow's credit (job pay, a buyer's refunds) and the model asset's (model licence sales,
upstream royalties). Licence sale proceeds are separate: \`funds balance\`.
${JSON_NOTE}
  {"address", "jobs": [{"jobId", "datasetId", "payee", "rounds", "amountWei", "feeWei", "netWei", "txHash",
   "blockNumber"}], "earnedWei", "withdrawableWei", "withdrawable": {"jobEscrowWei", "modelAssetWei"}}`,
    )
    .action(runner.action((ctx) => earnings(ctx, env)));
  program
    .command('withdraw')
    .description(
      'withdraw what job escrows and model licences owe your wallet (fails with "nothing to withdraw" when none)',
    )
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"address", "amountWei", "jobEscrowWei", "modelAssetWei", "transactions": [{${TX_FIELDS}}]}`,
    )
    .action(runner.action((ctx) => withdraw(ctx, env)));

  find(program, 'dataset')
    .command('job-terms')
    .description("show or set a dataset's paid-job terms: rate per row per round, rows, derivative share, silo key")
    .argument('<datasetId>', 'dataset token id')
    .option('--rate-wei <n>', 'wei per row per round (0 = no paid jobs); with --rows, sets the terms')
    .option('--rows <n>', "the dataset's row count (as in its manifest; fixed once set)")
    .option('--derivative-share <percent>', 'allow derivative models and take this share of their licence sales (≤ 50)')
    .option('--silo-signer <address>', "the silo key that co-signs job receipts (default: the owner's wallet)")
    .addHelpText(
      'after',
      `
Jobs opened afterwards pin these terms; open jobs keep theirs. Without --derivative-share, models trained on the
dataset cannot be registered as derivatives.
${JSON_NOTE}
  {"datasetId", "owner", "rateWei", "rows", "derivativesAllowed", "derivativeSharePercent", "siloSigner", "currency"}`,
    )
    .action(runner.action((ctx, args, o) => jobTerms(ctx, env, args, o)));

  const model = find(program, 'model');
  model
    .command('register')
    .description('register the model your job trained as an NFT whose parents are its datasets (buyer)')
    .argument('<job>', 'job escrow id (the model id is the same)')
    .option('--price <eth>', 'and put licences of it on sale at this price')
    .addHelpText(
      'after',
      `
Needs a receipt of the job confirmed on chain with at least t silos paid on it (read back from the settle
transactions). Parents are the datasets that contributed a round; each one's share of licence sales is its owner's
derivative share weighted by rows × rounds. Refused if a contributing dataset does not allow derivatives.
${JSON_NOTE}
  {"modelId", "owner", "parents": [{"datasetId", "sharePercent"}], "upstreamPercent", "priceWei", "receiptDigest",
   ${TX_FIELDS}}`,
    )
    .action(runner.action((ctx, args, o) => modelRegister(ctx, env, args, o)));
  model
    .command('price')
    .description('set the licence price of your model in ETH (0 stops sales)')
    .argument('<model>', 'model id (its job escrow id)')
    .argument('<eth>', 'price, e.g. 0.01')
    .addHelpText('after', `${JSON_NOTE}\n  {"modelId", "priceWei", ${TX_FIELDS}}`)
    .action(runner.action((ctx, args) => modelPrice(ctx, env, args)));
  model
    .command('licence')
    .description("buy a licence of a registered model at its price; its parents' share goes to their pot")
    .argument('<model>', 'model id (its job escrow id)')
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"modelId", "holder", "owner", "priceWei", "feeWei", "upstreamWei", ${TX_FIELDS}}`,
    )
    .action(runner.action((ctx, args) => modelLicence(ctx, env, args)));
  model
    .command('claim')
    .description("credit a parent dataset's owner with its share of a model's licence sales (anyone may send it)")
    .argument('<model>', 'model id')
    .argument('<datasetId>', 'the parent dataset')
    .addHelpText('after', `${JSON_NOTE}\n  {"modelId", "datasetId", "account", "amountWei", ${TX_FIELDS}}`)
    .action(runner.action((ctx, args) => modelClaim(ctx, env, args)));
}
