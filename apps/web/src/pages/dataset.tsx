// One dataset: its public manifest, its listing, and "Buy a licence" pinned to exactly the terms shown.
import { useState } from 'preact/hooks';
import { encodeTermsHash } from '../../../../libs/chain/src/terms-hash.js';
import { api, type DatasetView, type TermsView } from '../api.js';
import { formatDuration, formatEth, licenceLabel, shortAddress } from '../format.js';
import { useApp } from '../state.js';
import { Card, ErrorMessage, Loading, useLoad } from '../ui.js';
import {
  balanceOf,
  ensureChain,
  licenceInterface,
  sendTransaction,
  waitForReceipt,
  WalletError,
  type Receipt,
} from '../wallet.js';
import { Epsilon, ListingState } from './market.js';

/**
 * The hash of the terms this page shows, computed here (not taken from the coordinator): the purchase then pays for
 * these terms or reverts TermsChanged, whatever the coordinator says.
 */
export function shownTermsHash(t: TermsView): string {
  return encodeTermsHash({
    priceWei: BigInt(t.priceWei),
    paymentToken: t.paymentToken,
    priceToken: BigInt(t.priceToken),
    licenceDuration: BigInt(t.licenceDuration),
    maxJobs: t.maxJobs,
    epsilonBudgetMilli: t.epsilonBudgetMilli,
    dpLevel: t.dpLevel,
    minOwners: t.minOwners,
    royaltyBps: t.royaltyBps,
    listed: t.listed,
  });
}

const ZERO_ADDRESS = /^0x0{40}$/;

export function DatasetPage({ id }: { id: string }) {
  const loaded = useLoad(async () => {
    const [dataset, terms] = await Promise.all([
      api<DatasetView>(`/datasets/${id}`),
      api<TermsView>(`/datasets/${id}/terms`),
    ]);
    return { dataset, terms };
  }, [id]);
  if (!loaded.data)
    return (
      <>
        <h1>Dataset #{id}</h1>
        <ErrorMessage error={loaded.error} />
        {loaded.loading ? <Loading what="the dataset" /> : null}
      </>
    );
  const { dataset: d, terms: t } = loaded.data;
  return (
    <>
      <p>
        <a href="#/">← Market</a>
      </p>
      <h1>
        Dataset #{d.id} {d.name ?? ''}
      </h1>
      <div class="grid">
        <Card title="Public manifest">
          <dl>
            <dt>Owner</dt>
            <dd>
              <code>{d.owner}</code>
            </dd>
            <dt>Rows</dt>
            <dd>{d.rows ?? '–'}</dd>
            <dt>Label</dt>
            <dd>{d.label ?? '–'}</dd>
            <dt>Classes</dt>
            <dd>{d.classes?.join(', ') ?? '–'}</dd>
            <dt>Manifest</dt>
            <dd>
              <code class="wrap">{d.manifestCid ?? d.tokenUri}</code>
            </dd>
          </dl>
          {d.manifestError ? <p class="error">Manifest not usable: {d.manifestError}</p> : null}
          {d.features ? (
            <table>
              <caption>Schema ({d.features.length} feature columns)</caption>
              <thead>
                <tr>
                  <th scope="col">Column</th>
                  <th scope="col">Type</th>
                </tr>
              </thead>
              <tbody>
                {d.features.map((f) => (
                  <tr key={f.name}>
                    <td>{f.name}</td>
                    <td>{f.type}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </Card>
        <Card title="Licence terms">
          <dl>
            <dt>Price</dt>
            <dd>{ZERO_ADDRESS.test(t.paymentToken) ? formatEth(t.priceWei) : `${t.priceToken} tokens`}</dd>
            <dt>Duration</dt>
            <dd>{formatDuration(t.licenceDuration)}</dd>
            <dt>Jobs per licence</dt>
            <dd>{t.maxJobs}</dd>
            <dt>Privacy budget</dt>
            <dd>
              <Epsilon milli={t.epsilonBudgetMilli} />{' '}
              {t.dpLevel === 'owner' ? 'per owner (the whole dataset)' : 'per row (record-level DP)'}
            </dd>
            <dt>Independent owners per job</dt>
            <dd>at least {t.minOwners}</dd>
            <dt>Royalty on derived models</dt>
            <dd>{t.royaltyBps / 100} %</dd>
            <dt>Listing</dt>
            <dd>
              <ListingState terms={t} />
            </dd>
            <dt>Terms hash</dt>
            <dd>
              <code class="wrap">{shownTermsHash(t)}</code>
            </dd>
          </dl>
          <BuyLicence dataset={d} terms={t} />
        </Card>
      </div>
    </>
  );
}

function BuyLicence({ dataset, terms }: { dataset: DatasetView; terms: TermsView }) {
  const app = useApp();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [bought, setBought] = useState<{ licenceId: string; tx: string } | null>(null);
  if (!terms.listed) return <p>This dataset is not for sale now.</p>;
  if (!ZERO_ADDRESS.test(terms.paymentToken)) return <p>This listing is priced in a token; buy it with the CLI.</p>;
  if (!app.account)
    return (
      <p>
        <button type="button" onClick={() => void app.connect()}>
          Connect wallet to buy
        </button>
      </p>
    );

  const buy = async () => {
    setError(null);
    setBought(null);
    try {
      const info = app.info;
      if (!info?.domain || !info.chainId) throw new Error('This coordinator has no chain configured.');
      setBusy('Checking network…');
      await ensureChain(BigInt(info.chainId));
      const price = BigInt(terms.priceWei);
      if ((await balanceOf(app.account!)) < price)
        throw new WalletError('NO_FUNDS', `Not enough ETH: the licence costs ${formatEth(price)} plus gas.`);
      setBusy('Confirm the purchase in your wallet…');
      const data = licenceInterface.encodeFunctionData('purchase', [BigInt(dataset.id), shownTermsHash(terms)]);
      const hash = await sendTransaction(
        { from: app.account!, to: info.domain.verifyingContract, data, value: price },
        'purchase',
      );
      setBusy('Waiting for the transaction to be mined…');
      const receipt = await waitForReceipt(hash);
      const licenceId = licenceIdFrom(receipt);
      if (licenceId) app.notePurchase({ licenceId, datasetId: dataset.id, holder: app.account!, at: Date.now() });
      setBought({ licenceId: licenceId ?? '?', tx: hash });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div class="actions">
      <button type="button" onClick={() => void buy()} disabled={busy !== null}>
        Buy licence for {formatEth(terms.priceWei)}
      </button>
      <p class="muted small">
        Pays the owner {shortAddress(dataset.owner)} on chain; the purchase is pinned to the terms above.
      </p>
      {busy ? (
        <p role="status" class="muted">
          {busy}
        </p>
      ) : null}
      <ErrorMessage error={error} />
      {bought ? (
        <p role="status" class="success">
          Licence <span title={bought.licenceId}>{licenceLabel(bought.licenceId)}</span> is yours (transaction{' '}
          <code>{shortAddress(bought.tx)}</code>). <a href="#/licences">My licences</a>
        </p>
      ) : null}
    </div>
  );
}

function licenceIdFrom(receipt: Receipt): string | null {
  for (const log of receipt.logs) {
    try {
      const parsed = licenceInterface.parseLog(log);
      if (parsed?.name === 'LicencePurchased') return String(parsed.args.getValue('licenceId'));
    } catch {
      // a log of another contract
    }
  }
  return null;
}
