// `sealfold licence buy|grant|revoke|list|check`: licences of datasets on chain.
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { openChain, type SealfoldChain } from '../chain-connect.js';
import { CliError } from '../errors.js';
import { licenceRef, resolveLicenceRef } from '../licence-ref.js';
import { loadOwner } from '../owner.js';
import {
  formatEpsilon,
  formatEth,
  formatExpiry,
  parseAddress,
  parseDuration,
  epsilonJson,
  parseEpsilon,
  parseId,
  parseSmallInt,
  parseUint,
} from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';
import { termsDiff, termsJson, termsText } from '../terms.js';

type LicenceInfo = import('@sealfold/chain').LicenceInfo;

const REASON_TEXT: Record<string, string> = {
  valid: 'valid',
  'not-found': 'no licence for this dataset',
  'wrong-dataset': 'the licence is for another dataset',
  'not-holder': 'the address does not hold the licence',
  revoked: 'the licence was revoked',
  expired: 'the licence has expired',
};

function tx(r: { hash: string; blockNumber: bigint; gasUsed: bigint }) {
  return { txHash: r.hash, blockNumber: r.blockNumber, gasUsed: r.gasUsed };
}

function licenceJson(l: LicenceInfo) {
  return {
    licenceId: l.licenceId,
    licence: licenceRef(l.licenceId),
    datasetId: l.datasetId,
    holder: l.holder,
    expiresAt: l.expiresAt,
    maxJobs: l.maxJobs,
    epsilon: epsilonJson(l.epsilonBudgetMilli),
    revoked: l.revoked,
    granted: l.granted,
  };
}

const HASH = /^0x[0-9a-fA-F]{64}$/;

/**
 * Buys at the listed ETH price, pinned to the terms shown: the terms read now, which must hash to `--terms-hash`
 * when given (the `termsHash` that `dataset show` printed). A listing changed since it was shown is refused here
 * with the differences, and if it changes between this read and the transaction, by the contract (TermsChanged).
 */
async function buy(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const datasetId = parseId(args[0], 'dataset id');
  const value = o.valueWei === undefined ? undefined : parseUint(String(o.valueWei), '--value-wei');
  const shownHash = o.termsHash === undefined ? undefined : String(o.termsHash);
  if (shownHash !== undefined && !HASH.test(shownHash))
    throw new CliError('INVALID_ARGUMENT', `--terms-hash must be 0x and 64 hex digits, got "${shownHash}"`);
  const owner = await loadOwner(ctx);
  // Checked before the dev faucet funds a fresh wallet: buying what does not exist or is not for sale costs nothing.
  const { client } = await openChain(ctx, env, owner.wallet, {
    beforeFunding: (c) => assertForSale(c, datasetId, owner.address),
  });
  const { termsHash } = await import('@sealfold/chain');
  const shown = await client.getTerms(datasetId);
  if (shownHash !== undefined && termsHash(shown).toLowerCase() !== shownHash.toLowerCase())
    throw new CliError(
      'TERMS_CHANGED',
      `the terms of dataset ${datasetId} changed since they were shown (--terms-hash ${shownHash}); nothing was paid. ` +
        `They are now:\n${termsText(shown)}\nReview them and buy again with the new terms hash ${termsHash(shown)}.`,
    );
  let r: Awaited<ReturnType<typeof client.purchaseLicence>>;
  try {
    r = await client.purchaseLicence(datasetId, { terms: shown, ...(value === undefined ? {} : { value }) });
  } catch (error) {
    if ((error as { errorName?: string }).errorName !== 'TermsChanged') throw error;
    const now = await client.getTerms(datasetId);
    throw new CliError(
      'TERMS_CHANGED',
      `the owner changed the terms of dataset ${datasetId} while the purchase was sent; nothing was paid. ` +
        `Changed: ${termsDiff(shown, now).join(', ')}. Review them and buy again.`,
      undefined,
      { cause: error },
    );
  }
  const json = {
    licenceId: r.licenceId,
    licence: licenceRef(r.licenceId),
    datasetId,
    holder: owner.address,
    priceWei: r.price,
    expiresAt: r.expiresAt,
    pinnedTerms: termsJson(r.terms),
    termsHash: r.termsHash,
    ...tx(r),
  };
  return {
    json,
    text:
      `licence ${licenceRef(r.licenceId)} for dataset ${datasetId}: paid ${formatEth(r.price)}, expires ${formatExpiry(r.expiresAt)}\n` +
      `bought on these terms (pinned, hash ${r.termsHash}):\n${termsText(r.terms)}\ntx ${r.hash} (gas ${r.gasUsed})`,
  };
}

/** Refuses, with the reason and what to do, a purchase the contract would revert. */
async function assertForSale(client: SealfoldChain, datasetId: bigint, buyer: string): Promise<void> {
  const [last] = await client.listDatasets({ fromId: datasetId, limit: 1 });
  if (last === undefined || last.datasetId !== datasetId)
    throw new CliError(
      'NO_SUCH_DATASET',
      `there is no dataset ${datasetId} on this chain; \`sealfold dataset list --all\` lists the datasets`,
    );
  if (!last.terms.listed)
    throw new CliError(
      'NOT_LISTED',
      `dataset ${datasetId} is not listed for sale; its owner ${last.owner} can grant you a licence ` +
        `(\`sealfold licence grant ${datasetId} ${buyer}\`)`,
    );
}

async function grant(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const datasetId = parseId(args[0], 'dataset id');
  const to = parseAddress(args[1], 'recipient address');
  const duration = parseDuration(String(o.duration));
  const maxJobs = parseSmallInt(String(o.maxJobs), '--max-jobs', 0xffffffff);
  const { milli } = parseEpsilon(String(o.epsilon));
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, owner.wallet);
  const r = await client.grantLicence(datasetId, to, { duration, maxJobs, epsilonBudgetMilli: milli });
  return {
    json: {
      licenceId: r.licenceId,
      licence: licenceRef(r.licenceId),
      datasetId,
      holder: to,
      expiresAt: r.expiresAt,
      ...tx(r),
    },
    text: `licence ${licenceRef(r.licenceId)} for dataset ${datasetId} granted to ${to}, expires ${formatExpiry(r.expiresAt)}\ntx ${r.hash} (gas ${r.gasUsed})`,
  };
}

async function revoke(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const reason = String(o.reason ?? '');
  const owner = await loadOwner(ctx);
  const { client } = await openChain(ctx, env, owner.wallet);
  const licenceId = await resolveLicenceRef(client, args[0]);
  const r = await client.revokeLicence(licenceId, reason);
  const unit = (v: bigint) =>
    r.paymentToken === '0x0000000000000000000000000000000000000000' ? formatEth(v) : `${v} units of ${r.paymentToken}`;
  return {
    json: {
      licenceId,
      licence: licenceRef(licenceId),
      revoked: true,
      reason,
      holder: r.holder,
      refund: r.refund,
      releasedToOwner: r.releasedToOwner,
      paymentToken: r.paymentToken,
      ...tx(r),
    },
    text:
      `licence ${licenceRef(licenceId)} revoked; ${r.holder} is refunded ${unit(r.refund)} (the unused part of the paid time), ` +
      `you are credited ${unit(r.releasedToOwner)}\ntx ${r.hash} (gas ${r.gasUsed})`,
  };
}

async function holderOf(ctx: Context, o: Record<string, unknown>): Promise<string> {
  return o.holder === undefined ? (await loadOwner(ctx)).address : parseAddress(String(o.holder), '--holder');
}

async function list(ctx: Context, env: NodeJS.ProcessEnv, o: Record<string, unknown>): Promise<CommandResult> {
  const holder = await holderOf(ctx, o);
  const { client } = await openChain(ctx, env);
  const licences = await client.licencesOf(holder);
  const text =
    licences.length === 0
      ? `${holder} holds no licences`
      : licences
          .map(
            (l) =>
              `licence ${licenceRef(l.licenceId).padEnd(6)}  dataset ${l.datasetId}  expires ${formatExpiry(l.expiresAt)}  ` +
              `max jobs ${l.maxJobs}  ε ${formatEpsilon(l.epsilonBudgetMilli)}${l.revoked ? '  REVOKED' : ''}${l.granted ? '  (granted)' : ''}`,
          )
          .join('\n');
  return { json: { holder, licences: licences.map(licenceJson) }, text };
}

async function check(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  const datasetId = parseId(args[0], 'dataset id');
  const holder = await holderOf(ctx, o);
  const { client } = await openChain(ctx, env);
  const r =
    o.licence === undefined
      ? await client.checkLicence(holder, datasetId)
      : await client.checkLicenceById(
          await resolveLicenceRef(client, String(o.licence), '--licence'),
          datasetId,
          holder,
        );
  const json = {
    valid: r.valid,
    reason: r.reason,
    licenceId: r.licenceId ?? null,
    licence: r.licenceId === undefined ? null : licenceRef(r.licenceId),
    datasetId,
    holder,
  };
  const text = r.valid
    ? `valid: licence ${licenceRef(r.licenceId!)} lets ${holder} use dataset ${datasetId}`
    : `not valid: ${REASON_TEXT[r.reason] ?? r.reason}${r.licenceId === undefined ? '' : ` (licence ${licenceRef(r.licenceId)})`}` +
      (r.reason === 'not-found' || r.reason === 'expired' ? `; \`sealfold licence buy ${datasetId}\` buys one` : '');
  // Like test(1): exit 1 when the holder may not use the dataset, so scripts can branch on it.
  return { json, text, exitCode: r.valid ? 0 : 1 };
}

export function registerLicence(program: Command, runner: Runner): void {
  const licence = program.command('licence').description('buy, grant, revoke, list and check dataset licences');
  const env = runner.env;
  licence
    .command('buy')
    .description(
      'buy a licence of a listed dataset at its listed ETH price, pinned to the terms shown (escrowed for the owner)',
    )
    .argument('<datasetId>', 'dataset token id')
    .option(
      '--terms-hash <hash>',
      'the termsHash `dataset show` printed: refuse unless the listing is still exactly that',
    )
    .option('--value-wei <n>', 'amount to send (default: the listed price; the contract refuses any other amount)')
    .addHelpText(
      'after',
      `
The purchase is pinned to every listed field (price, duration, jobs, ε, minimum owners, royalty, token price): if
the owner changes any of them before the transaction lands, it is refused (TERMS_CHANGED) and nothing is paid.
The price is held in escrow and earned by the owner over the licence's time; if the owner revokes the licence,
the unused part is credited to the holder (\`funds withdraw\`).
Licences print as <datasetId>-<serial> (e.g. 4-2); every command accepts that or the full token id.
${JSON_NOTE}
  {"licenceId" (full token id), "licence" (<datasetId>-<serial>), "datasetId", "holder", "priceWei", "expiresAt" (unix s, 0 = never), "pinnedTerms": {"priceWei",
   "paymentToken"|null, "priceToken", "licenceDurationSeconds", "maxJobs", "epsilon", "minOwners", "royaltyBps",
   "listed"}, "termsHash", "txHash", "blockNumber", "gasUsed"}`,
    )
    .action(runner.action((ctx, args, o) => buy(ctx, env, args, o)));
  licence
    .command('grant')
    .description('grant a licence of your dataset to an address, free of charge (dataset owner only)')
    .argument('<datasetId>', 'dataset token id')
    .argument('<to>', 'holder address')
    .option('--duration <d>', 'validity: 0 (never expires) or a number with unit s|m|h|d', '30d')
    .option('--max-jobs <n>', 'training jobs the licence allows', '10')
    .option(
      '--epsilon <e>',
      'ε budget of the licence: a decimal, or `unlimited` (the only budget a job without DP noise fits)',
      '8',
    )
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"licenceId", "licence", "datasetId", "holder", "expiresAt", "txHash", "blockNumber", "gasUsed"}`,
    )
    .action(runner.action((ctx, args, o) => grant(ctx, env, args, o)));
  licence
    .command('revoke')
    .description(
      'revoke a licence of your dataset (dataset owner only); its holder is refunded the unused part of the paid time',
    )
    .argument('<licence>', 'licence: <datasetId>-<serial> as `licence list` prints it, or the full token id')
    .option('--reason <text>', 'reason recorded on chain (at most 1024 characters)', '')
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"licenceId", "licence", "revoked": true, "reason", "holder", "refund", "releasedToOwner", "paymentToken", "txHash", "blockNumber", "gasUsed"}`,
    )
    .action(runner.action((ctx, args, o) => revoke(ctx, env, args, o)));
  licence
    .command('list')
    .description('licences an address holds now (default: your wallet)')
    .option('--holder <address>', 'holder address')
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"holder", "licences": [{"licenceId", "licence", "datasetId", "holder", "expiresAt", "maxJobs", "epsilon", "revoked", "granted"}]}`,
    )
    .action(runner.action((ctx, _args, o) => list(ctx, env, o)));
  licence
    .command('check')
    .description('whether an address may use a dataset now; exit 0 when valid, 1 when not (with the reason)')
    .argument('<datasetId>', 'dataset token id')
    .option('--holder <address>', 'holder address (default: your wallet)')
    .option('--licence <licence>', 'check this licence only (<datasetId>-<serial> or the full token id)')
    .addHelpText(
      'after',
      `${JSON_NOTE}\n  {"valid", "reason": "valid"|"not-found"|"wrong-dataset"|"not-holder"|"revoked"|"expired", "licenceId"|null, "licence"|null, "datasetId", "holder"}`,
    )
    .action(runner.action((ctx, args, o) => check(ctx, env, args, o)));
}
