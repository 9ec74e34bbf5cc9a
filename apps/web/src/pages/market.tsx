// Market: every indexed dataset with its public manifest and its listing, no wallet needed.
import { api, type DatasetView, type TermsView } from '../api.js';
import { epsilonLevel, formatDuration, formatEth, shortAddress } from '../format.js';
import { ErrorMessage, Loading, useLoad } from '../ui.js';

export interface Listing {
  dataset: DatasetView;
  terms: TermsView | null;
  termsError: unknown;
}

export async function loadListings(query = ''): Promise<Listing[]> {
  const datasets = await api<DatasetView[]>(`/datasets${query}`);
  const terms = await Promise.allSettled(datasets.map((d) => api<TermsView>(`/datasets/${d.id}/terms`)));
  return datasets.map((dataset, i) => {
    const t = terms[i];
    return {
      dataset,
      terms: t.status === 'fulfilled' ? t.value : null,
      termsError: t.status === 'rejected' ? t.reason : null,
    };
  });
}

export function MarketPage() {
  const listings = useLoad(() => loadListings(), []);
  return (
    <>
      <h1>Market</h1>
      <p class="lead">
        Sealed datasets you can license for federated training. The data never leaves its owner’s silo; you receive a
        model trained on it under the listed privacy budget.
      </p>
      <ErrorMessage error={listings.error} />
      {listings.loading && !listings.data ? <Loading what="datasets" /> : null}
      {listings.data && listings.data.length === 0 ? <p>No dataset is registered yet.</p> : null}
      {listings.data && listings.data.length > 0 ? <ListingTable listings={listings.data} /> : null}
    </>
  );
}

export function ListingTable({ listings }: { listings: Listing[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Datasets on the market</caption>
        <thead>
          <tr>
            <th scope="col">Dataset</th>
            <th scope="col">Rows</th>
            <th scope="col">Features</th>
            <th scope="col">Classes</th>
            <th scope="col">Price</th>
            <th scope="col">Privacy budget</th>
            <th scope="col">Owner</th>
            <th scope="col">Listing</th>
          </tr>
        </thead>
        <tbody>
          {listings.map(({ dataset: d, terms: t }) => (
            <tr key={d.id}>
              <th scope="row">
                <a href={`#/datasets/${d.id}`}>
                  #{d.id} {d.name ?? 'unnamed'}
                </a>
              </th>
              <td class="num">{d.rows ?? '–'}</td>
              <td class="num">{d.features?.length ?? '–'}</td>
              <td>{d.classes ? `${d.label}: ${d.classes.join(', ')}` : '–'}</td>
              <td class="num">{t ? formatEth(t.priceWei) : '–'}</td>
              <td>{t ? <Epsilon milli={t.epsilonBudgetMilli} /> : '–'}</td>
              <td>
                <code title={d.owner}>{shortAddress(d.owner)}</code>
              </td>
              <td>{t ? <ListingState terms={t} /> : 'unknown'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Epsilon({ milli }: { milli: number }) {
  const e = epsilonLevel(milli);
  return (
    <span>
      {e.epsilon} <span class={`badge level-${e.level.replace(/\W+/g, '-')}`}>{e.level}</span>
    </span>
  );
}

export function ListingState({ terms }: { terms: TermsView }) {
  return terms.listed ? (
    <span class="badge ok">listed · {formatDuration(terms.licenceDuration)}</span>
  ) : (
    <span class="badge off">not for sale</span>
  );
}
