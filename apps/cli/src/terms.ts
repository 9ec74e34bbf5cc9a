// How the CLI shows a dataset's listed licence terms, the same in `dataset show`, `dataset terms` and `licence buy`
// (what the buyer is shown is what `licence buy` pins).
import { epsilonJson, formatEpsilon, formatEth } from './parse.js';

type DatasetTerms = import('@sealfold/chain').DatasetTerms;

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

/** The terms in the `--json` form: ε as a number (null: unbounded), durations in seconds, amounts as decimal strings (bigints). */
export function termsJson(t: DatasetTerms) {
  return {
    priceWei: t.priceWei,
    paymentToken: t.paymentToken === ZERO_ADDRESS ? null : t.paymentToken,
    priceToken: t.priceToken,
    licenceDurationSeconds: t.licenceDuration,
    maxJobs: t.maxJobs,
    epsilon: epsilonJson(t.epsilonBudgetMilli),
    dpLevel: t.dpLevel,
    minOwners: t.minOwners,
    royaltyBps: t.royaltyBps,
    listed: t.listed,
  };
}

function duration(seconds: bigint): string {
  if (seconds === 0n) return 'never expire';
  return seconds % 86_400n === 0n ? `last ${seconds / 86_400n} days` : `last ${seconds} s`;
}

/** One line per concern: price, what a licence allows, the owner's policy. */
export function termsText(t: DatasetTerms): string {
  const token = t.paymentToken === ZERO_ADDRESS ? '' : ` or ${t.priceToken} units of ERC-20 ${t.paymentToken}`;
  return [
    `price      ${t.priceWei === 0n ? 'not sold for ETH' : formatEth(t.priceWei)}${token}${t.listed ? '' : ' (not listed)'}`,
    `licence    ${duration(t.licenceDuration)}, ${t.maxJobs} jobs, ε ${formatEpsilon(t.epsilonBudgetMilli)} ${t.dpLevel === 'owner' ? 'per owner (owner-level DP: the whole dataset)' : 'per row (record-level DP)'}`,
    `policy     at least ${t.minOwners} independent contributing owners per job; resale royalty ${t.royaltyBps / 100}%`,
  ].join('\n');
}

/** The fields that differ between two listings, as "name: before → after" (empty when equal). */
export function termsDiff(before: DatasetTerms, after: DatasetTerms): string[] {
  const b = termsJson(before);
  const a = termsJson(after);
  return (Object.keys(b) as (keyof typeof b)[])
    .filter((k) => String(b[k]) !== String(a[k]))
    .map((k) => `${k}: ${String(b[k])} → ${String(a[k])}`);
}
