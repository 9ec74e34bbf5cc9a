// An owner's earnings from job escrows (pay per job, what it can withdraw) and a registered model's parents and
// royalties (issue 20), over the coordinator's read-only /escrow routes. Moving money is the owner's own transaction
// (`sealfold withdraw`, `sealfold model claim`): this page only reads.
import { api, type EarningsView, type ModelAssetView } from '../api.js';
import { formatEth, shortAddress } from '../format.js';
import { useApp } from '../state.js';
import { Card, ErrorMessage, Loading, useLoad } from '../ui.js';

/** A share in micros (1e6 = 100%) as a percentage. */
const percent = (micros: number): string => `${+(micros / 10_000).toFixed(4)}%`;
/** A job or model id, shortened for tables (the full id is its title). */
const shortId = (id: string) => `${id.slice(0, 10)}…${id.slice(-4)}`;

export function EarningsPage() {
  const app = useApp();
  const address = app.account ?? app.session?.address ?? null;
  const data = useLoad(async () => (address ? api<EarningsView>(`/escrow/earnings/${address}`) : null), [address]);
  const e = data.data;
  return (
    <>
      <h1>My earnings</h1>
      {!address ? (
        <p>
          Connect your wallet to see what jobs paid your datasets.{' '}
          <button type="button" onClick={() => void app.connect()}>
            Connect wallet
          </button>
        </p>
      ) : null}
      <ErrorMessage error={data.error} />
      {address && data.loading && !e ? <Loading what="your earnings" /> : null}
      {e ? (
        <>
          <div class="grid">
            <Card title="Withdrawable now">
              <p class="lead">
                <strong>{formatEth(e.withdrawable.total)}</strong>
              </p>
              <dl>
                <dt>From job escrows</dt>
                <dd>{formatEth(e.withdrawable.jobEscrow)}</dd>
                <dt>From model licences</dt>
                <dd>{formatEth(e.withdrawable.modelAsset)}</dd>
              </dl>
              <p class="muted small">
                Read on chain now. Withdraw with <code>sealfold withdraw</code> (your own transaction).
              </p>
            </Card>
            <Card title="Earned from jobs">
              <p class="lead">
                <strong>{formatEth(e.totalNet)}</strong>
              </p>
              <p class="muted small">
                After the protocol fee, over {e.jobs.length} job{e.jobs.length === 1 ? '' : 's'}: each dataset is paid
                rate × rows × the rounds its silo contributed, on a receipt the silos co-signed.
              </p>
            </Card>
          </div>
          <h2>Pay per job</h2>
          {e.jobs.length === 0 ? (
            <p>No job has paid your datasets yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Pay per job</caption>
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Dataset</th>
                    <th scope="col" class="num">
                      Rounds
                    </th>
                    <th scope="col" class="num">
                      Paid
                    </th>
                    <th scope="col" class="num">
                      Fee
                    </th>
                    <th scope="col" class="num">
                      Net
                    </th>
                    <th scope="col">Model</th>
                  </tr>
                </thead>
                <tbody>
                  {e.jobs.flatMap((j) =>
                    j.datasets.map((d, i) => (
                      <tr key={`${j.jobId}-${d.datasetId}`}>
                        {i === 0 ? (
                          <th scope="row" rowSpan={j.datasets.length}>
                            <code title={j.jobId}>{shortId(j.jobId)}</code>
                          </th>
                        ) : null}
                        <td>
                          <a href={`#/datasets/${d.datasetId}`}>#{d.datasetId}</a>
                        </td>
                        <td class="num">{d.rounds}</td>
                        <td class="num">{formatEth(d.amount)}</td>
                        <td class="num">{formatEth(d.fee)}</td>
                        <td class="num">{formatEth(d.net)}</td>
                        {i === 0 ? (
                          <td rowSpan={j.datasets.length}>
                            {j.modelId ? (
                              <a href={`#/model-assets/${j.modelId.slice(2)}`}>parents and royalties</a>
                            ) : (
                              <span class="muted">not registered</span>
                            )}
                          </td>
                        ) : null}
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
            </div>
          )}
          <h2>Royalties from models</h2>
          {e.royalties.length === 0 ? (
            <p>No royalty claimed yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Royalties claimed from models’ upstream pots</caption>
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Parent dataset</th>
                    <th scope="col" class="num">
                      Claimed
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {e.royalties.map((r) => (
                    <tr key={r.txHash + r.datasetId}>
                      <th scope="row">
                        <a href={`#/model-assets/${r.modelId.slice(2)}`} title={r.modelId}>
                          {shortId(r.modelId)}
                        </a>
                      </th>
                      <td>#{r.datasetId}</td>
                      <td class="num">{formatEth(r.amount)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="muted small">
            Jobs and royalties from the coordinator’s index of chain events
            {e.indexedToBlock ? ` (blocks before ${e.indexedToBlock})` : ''}; the chain is the authority.
          </p>
        </>
      ) : null}
    </>
  );
}

export function ModelAssetPage({ id }: { id: string }) {
  const model = useLoad(() => api<ModelAssetView>(`/escrow/models/${id}`), [id]);
  const m = model.data;
  return (
    <>
      <h1>Model {shortId(`0x${id}`)}</h1>
      <ErrorMessage error={model.error} />
      {model.loading && !m ? <Loading what="the model" /> : null}
      {m ? (
        <>
          <div class="grid">
            <Card title="Licence">
              <dl>
                <dt>Owner</dt>
                <dd>
                  <code>{m.owner}</code>
                </dd>
                <dt>Price</dt>
                <dd>{m.price === '0' ? 'not for sale' : formatEth(m.price)}</dd>
                <dt>Sales so far</dt>
                <dd>
                  {formatEth(m.gross)} ({m.sales.length} licence{m.sales.length === 1 ? '' : 's'})
                </dd>
              </dl>
            </Card>
            <Card title="Upstream royalties">
              <dl>
                <dt>Share to parents</dt>
                <dd>{percent(m.stackMicros)} of every sale</dd>
                <dt>Routed so far</dt>
                <dd>{formatEth(m.upstreamPot)}</dd>
              </dl>
              <p class="muted small">
                A parent’s share is its owner’s derivative terms weighted by rows × rounds it trained. Claim with{' '}
                <code>sealfold model claim</code>; it is credited to the dataset’s owner then.
              </p>
            </Card>
          </div>
          <div class="table-wrap">
            <table>
              <caption>Parents: the datasets that trained it ({m.parents.length})</caption>
              <thead>
                <tr>
                  <th scope="col">Dataset</th>
                  <th scope="col">Owner</th>
                  <th scope="col" class="num">
                    Share
                  </th>
                  <th scope="col" class="num">
                    Claimed
                  </th>
                  <th scope="col" class="num">
                    Due
                  </th>
                </tr>
              </thead>
              <tbody>
                {m.parents.map((p) => (
                  <tr key={p.datasetId}>
                    <th scope="row">
                      <a href={`#/datasets/${p.datasetId}`}>#{p.datasetId}</a>
                    </th>
                    <td>
                      <code title={p.owner}>{shortAddress(p.owner)}</code>
                    </td>
                    <td class="num">{percent(p.shareMicros)}</td>
                    <td class="num">{formatEth(p.claimed)}</td>
                    <td class="num">{formatEth(p.due)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {m.sales.length ? (
            <div class="table-wrap">
              <table>
                <caption>Licence sales</caption>
                <thead>
                  <tr>
                    <th scope="col">Buyer</th>
                    <th scope="col" class="num">
                      Price
                    </th>
                    <th scope="col" class="num">
                      To parents
                    </th>
                    <th scope="col" class="num">
                      Fee
                    </th>
                    <th scope="col" class="num">
                      Block
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {m.sales.map((s) => (
                    <tr key={s.txHash}>
                      <th scope="row">
                        <code title={s.buyer}>{shortAddress(s.buyer)}</code>
                      </th>
                      <td class="num">{formatEth(s.price)}</td>
                      <td class="num">{formatEth(s.upstream)}</td>
                      <td class="num">{formatEth(s.fee)}</td>
                      <td class="num">{s.blockNumber}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          <p class="muted small">
            Owner, price, shares and royalties read on chain now; the parents are recomputed from the job’s pinned terms
            and receipt and checked against the model’s parents root.
          </p>
        </>
      ) : null}
    </>
  );
}
