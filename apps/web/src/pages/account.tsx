// Pages about the connected account: my licences, my datasets as an owner.
import { api, type LicenceView } from '../api.js';
import { formatEth, formatTime, licenceLabel } from '../format.js';
import { ensureChain, readLicenceContract } from '../wallet.js';
import { UnindexedPurchaseNotes, useUnindexedPurchases } from '../recent-purchases.js';
import { useApp } from '../state.js';
import { ErrorMessage, Loading, useLoad, usePolling } from '../ui.js';
import { Epsilon, ListingTable, loadListings } from './market.js';

function NeedWallet({ what }: { what: string }) {
  const app = useApp();
  return (
    <p>
      Connect your wallet to see {what}.{' '}
      <button type="button" onClick={() => void app.connect()}>
        Connect wallet
      </button>
    </p>
  );
}

export function LicenceTable({ licences, caption }: { licences: LicenceView[]; caption: string }) {
  if (licences.length === 0) return <p>No licence yet.</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Licence</th>
            <th scope="col">Dataset</th>
            <th scope="col">Holder</th>
            <th scope="col">Expires</th>
            <th scope="col">Jobs</th>
            <th scope="col">Privacy budget</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {licences.map((l) => (
            <tr key={l.id}>
              <th scope="row">
                <span title={l.id}>{licenceLabel(l.id)}</span>
              </th>
              <td>
                <a href={`#/datasets/${l.datasetId}`}>#{l.datasetId}</a>
              </td>
              <td>
                <code>{l.holder}</code>
              </td>
              <td>{formatTime(l.expiresAt)}</td>
              <td class="num">{l.maxJobs ?? '–'}</td>
              <td>{l.epsilonBudgetMilli === null ? '–' : <Epsilon milli={l.epsilonBudgetMilli} />}</td>
              <td>
                {l.revoked ? (
                  <span class="badge off">revoked</span>
                ) : l.active ? (
                  <span class="badge ok">active</span>
                ) : (
                  <span class="badge off">expired</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const LICENCES_REFRESH_MS = 15_000;

export function LicencesPage() {
  const app = useApp();
  const licences = useLoad(
    async () => (app.account ? api<LicenceView[]>(`/licences?holder=${app.account}`) : null),
    [app.account],
  );
  const unindexed = useUnindexedPurchases(licences.data?.map((l) => l.id) ?? null, licences.reload);
  // Licences granted by owners appear without a reload.
  usePolling(licences.reload, LICENCES_REFRESH_MS, app.account !== null);
  return (
    <>
      <h1>My licences</h1>
      {!app.account ? <NeedWallet what="your licences" /> : null}
      <ErrorMessage error={licences.error} />
      {app.account && licences.loading && !licences.data ? <Loading what="licences" /> : null}
      <UnindexedPurchaseNotes {...unindexed} />
      {licences.data && (licences.data.length > 0 || unindexed.waiting.length === 0) ? (
        <LicenceTable licences={licences.data} caption={`Licences held by ${app.account}`} />
      ) : null}
      <p class="muted small">From the coordinator’s index of chain events; the chain is the authority.</p>
    </>
  );
}

export function OwnerPage() {
  const app = useApp();
  const data = useLoad(async () => {
    if (!app.account) return null;
    const listings = await loadListings(`?owner=${app.account}&includeInvalid=true`);
    const sold = await Promise.all(listings.map((l) => api<LicenceView[]>(`/licences?datasetId=${l.dataset.id}`)));
    return { listings, licences: sold.flat() };
  }, [app.account]);
  return (
    <>
      <h1>My datasets</h1>
      {!app.account ? <NeedWallet what="the datasets you own" /> : null}
      <ErrorMessage error={data.error} />
      {app.account && data.loading && !data.data ? <Loading what="your datasets" /> : null}
      {data.data ? (
        <>
          {data.data.listings.length ? (
            <ListingTable listings={data.data.listings} />
          ) : (
            <p>
              You own no dataset. Seal and register one with <code>sealfold dataset add</code>.
            </p>
          )}
          <Revenue />
          <h2>Licences on my datasets</h2>
          <LicenceTable licences={data.data.licences} caption="Licences sold or granted on your datasets" />
        </>
      ) : null}
    </>
  );
}

/** ETH the licence contract owes this account now (released sale proceeds and refunds), read on chain. */
function Revenue() {
  const app = useApp();
  const info = app.info;
  const owed = useLoad(async () => {
    if (!app.account || !info?.domain || !info.chainId) return null;
    await ensureChain(BigInt(info.chainId));
    return (await readLicenceContract(info.domain.verifyingContract, 'owedEth', [app.account])) as bigint;
  }, [app.account, info]);
  return (
    <>
      <h2>Revenue</h2>
      <ErrorMessage error={owed.error} />
      {owed.data !== null && owed.data !== undefined ? (
        <p>
          Withdrawable now: <strong>{formatEth(owed.data)}</strong>{' '}
          <span class="muted small">
            (released proceeds, read on chain; proceeds vest over each licence’s time; withdraw with{' '}
            <code>sealfold funds withdraw</code>)
          </span>
        </p>
      ) : null}
      <p>
        <a href="#/earnings">What jobs paid your datasets, and model royalties</a>
      </p>
    </>
  );
}
