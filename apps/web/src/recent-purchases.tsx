// Licences bought in this tab, against lists read from the coordinator's index of chain events. The index trails the
// chain (one poll, more when the coordinator is busy), so a page opened right after a purchase can read a list without
// it. Such a page says so and re-reads the list every second until the licence shows, for at most INDEX_WAIT_MS.
import { licenceLabel } from './format.js';
import { type RecentPurchase, useApp } from './state.js';
import { usePolling } from './ui.js';

/** How long a page waits for the index to list a licence bought here before saying the coordinator is behind. */
export const INDEX_WAIT_MS = 120_000;

export interface UnindexedPurchases {
  /** Bought less than INDEX_WAIT_MS ago: the list is being re-read. */
  waiting: RecentPurchase[];
  /** Bought longer ago and still not listed. */
  late: RecentPurchase[];
}

/**
 * The connected account's purchases from this tab that `listed` (licence ids, null while loading) lacks; while any
 * is recent, `reload` runs every second.
 */
export function useUnindexedPurchases(listed: readonly string[] | null, reload: () => void): UnindexedPurchases {
  const app = useApp();
  const account = app.account?.toLowerCase();
  const missing =
    listed === null || !account
      ? []
      : app.recentPurchases.filter((p) => p.holder.toLowerCase() === account && !listed.includes(p.licenceId));
  const now = Date.now();
  const waiting = missing.filter((p) => now - p.at < INDEX_WAIT_MS);
  usePolling(reload, 1000, waiting.length > 0);
  return { waiting, late: missing.filter((p) => now - p.at >= INDEX_WAIT_MS) };
}

export function UnindexedPurchaseNotes({ waiting, late }: UnindexedPurchases) {
  const name = (p: RecentPurchase) => <span title={p.licenceId}>{licenceLabel(p.licenceId)}</span>;
  return (
    <>
      {waiting.map((p) => (
        <p role="status" class="muted" key={p.licenceId}>
          Licence {name(p)}, bought just now, is yours on chain; waiting for the coordinator’s index to list it…
        </p>
      ))}
      {late.map((p) => (
        <p role="status" class="muted" key={p.licenceId}>
          Licence {name(p)} is yours on chain, but the coordinator’s index has not listed it after{' '}
          {INDEX_WAIT_MS / 60_000} minutes: the coordinator is behind the chain. Reload this page later.
        </p>
      ))}
    </>
  );
}
