// Sealfold web app: market, licences, jobs (live), models, owner and operator views over the coordinator's REST API,
// with an injected EIP-1193 wallet for sign-in and purchases. Routes are URL fragments (#/datasets/3), so the
// coordinator serves one page and no API path is shadowed.
import { render, type JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Info, type SessionView } from './api.js';
import { shortAddress } from './format.js';
import { LicencesPage, OwnerPage } from './pages/account.js';
import { DatasetPage } from './pages/dataset.js';
import { EarningsPage, ModelAssetPage } from './pages/earnings.js';
import { JobPage, JobsPage, ModelPage } from './pages/jobs.js';
import { MarketPage } from './pages/market.js';
import { OperatorPage } from './pages/operator.js';
import { redeemSignInCode, signIn as siwe, storedSession, storeSession, takeSignInCode } from './session.js';
import { AppContext, type AppState, type RecentPurchase } from './state.js';
import { describeError } from './ui.js';
import { connectWallet, ensureChain, injectedProvider, switchChain, useDevProvider, WalletError } from './wallet.js';

const NAV = [
  ['#/', 'Market'],
  ['#/licences', 'My licences'],
  ['#/jobs', 'My jobs'],
  ['#/new-job', 'New job'],
  ['#/owner', 'My datasets'],
  ['#/earnings', 'My earnings'],
  ['#/operator', 'Operator'],
] as const;

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function route(hash: string) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [page, id] = parts;
  if (!page) return <MarketPage />;
  if (page === 'datasets' && id && /^\d+$/.test(id)) return <DatasetPage id={id} />;
  if (page === 'licences') return <LicencesPage />;
  if (page === 'jobs' && id && /^[0-9a-f]{64}$/.test(id)) return <JobPage id={id} />;
  if (page === 'jobs') return <JobsPage />;
  if (page === 'models' && id && /^[0-9a-f]{64}$/.test(id)) return <ModelPage jobId={id} />;
  if (page === 'owner') return <OwnerPage />;
  if (page === 'earnings') return <EarningsPage />;
  if (page === 'model-assets' && id && /^[0-9a-fA-F]{64}$/.test(id)) return <ModelAssetPage id={id.toLowerCase()} />;
  if (page === 'new-job') return <LazyNewJob />;
  if (page === 'operator') return <OperatorPage />;
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no page here. <a href="#/">Back to the market</a>
      </p>
    </>
  );
}

/**
 * The New job page is loaded on demand: it brings the JobRequest schema (zod), which would triple the first load.
 */
function LazyNewJob() {
  const [Page, setPage] = useState<(() => JSX.Element) | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    import('./pages/new-job.js').then((m) => setPage(() => m.NewJobPage), setError);
  }, []);
  if (error)
    return (
      <p role="alert" class="error">
        Could not load this page: {describeError(error)}
      </p>
    );
  return Page ? <Page /> : <p role="status">Loading…</p>;
}

/** A one-time sign-in link's code, taken out of the URL before anything renders. */
const signInCode = takeSignInCode();

function App() {
  const hash = useHash();
  const [info, setInfo] = useState<Info | null>(null);
  const [account, setAccount] = useState<string | null>(null);
  const [session, setSession] = useState<SessionView | null>(storedSession());
  const [notice, setNotice] = useState<{ text: string; error: boolean; wrongChain?: boolean } | null>(null);

  // A notice belongs to the page it was shown on.
  useEffect(() => setNotice(null), [hash]);

  useEffect(() => {
    api<Info>('/info').then(setInfo, (e: unknown) => setNotice({ text: describeError(e), error: true }));
  }, []);

  // A one-time sign-in link (the demo prints one): this tab gets a session of the account that made it.
  useEffect(() => {
    if (!signInCode) return;
    redeemSignInCode(signInCode).then(
      (s) => {
        storeSession(s);
        setSession(s);
        setNotice({ text: `Signed in as ${shortAddress(s.address)} by a one-time link.`, error: false });
      },
      (e: unknown) =>
        setNotice({
          text:
            e instanceof ApiError && (e.status === 401 || e.status === 404)
              ? e.status === 401
                ? 'This sign-in link was already used or has expired. Ask for a new one (sealfold job link <job id>) or sign in with a wallet.'
                : 'Sign-in links work only on the embedded dev chain. Sign in with your wallet.'
              : describeError(e),
          error: true,
        }),
    );
  }, []);

  // Follow the wallet: another account drops the session (it was signed by the previous one).
  useEffect(() => {
    const eth = injectedProvider();
    if (!eth?.on) return;
    const onAccounts = (...args: unknown[]) => {
      const next = (args[0] as string[] | undefined)?.[0];
      setAccount((prev) => (next && prev && next.toLowerCase() === prev.toLowerCase() ? prev : null));
      setSession(null);
      storeSession(null);
    };
    eth.on('accountsChanged', onAccounts);
    return () => eth.removeListener?.('accountsChanged', onAccounts);
  }, []);

  const fail = (e: unknown) =>
    setNotice({
      text: describeError(e),
      error: true,
      wrongChain: e instanceof WalletError && e.kind === 'WRONG_CHAIN',
    });

  const connect = useCallback(async () => {
    setNotice(null);
    try {
      const address = await connectWallet();
      setAccount(address);
      if (session && session.address.toLowerCase() !== address.toLowerCase()) {
        setSession(null);
        storeSession(null);
      }
      if (info?.chainId) await ensureChain(BigInt(info.chainId));
    } catch (e) {
      fail(e);
    }
  }, [info, session]);

  /** Embedded dev chain only: a fresh key made in this tab, funded by the dev faucet, used instead of a wallet. */
  const useDevWallet = useCallback(async () => {
    setNotice(null);
    try {
      if (!info?.chainId) throw new Error('The coordinator has no chain.');
      const { createDevWallet } = await import('./dev-wallet.js');
      const dev = await createDevWallet(BigInt(info.chainId));
      useDevProvider(dev.provider);
      setSession(null);
      storeSession(null);
      setAccount(await connectWallet());
      setNotice({ text: `Dev wallet ${shortAddress(dev.address)} ready, funded with dev ETH.`, error: false });
    } catch (e) {
      fail(e);
    }
  }, [info]);

  const signIn = useCallback(async () => {
    setNotice(null);
    try {
      const address = account ?? (await connectWallet());
      setAccount(address);
      if (info?.chainId) await ensureChain(BigInt(info.chainId));
      const s = await siwe(address);
      storeSession(s);
      setSession(s);
      setNotice({ text: `Signed in as ${shortAddress(s.address)}.`, error: false });
    } catch (e) {
      fail(e);
    }
  }, [account, info]);

  const signOut = useCallback(() => {
    storeSession(null);
    setSession(null);
  }, []);

  const [recentPurchases, setRecentPurchases] = useState<readonly RecentPurchase[]>([]);
  const notePurchase = useCallback((purchase: RecentPurchase) => setRecentPurchases((list) => [...list, purchase]), []);

  const state: AppState = { info, account, session, connect, signIn, signOut, recentPurchases, notePurchase };
  const current = '#/' + (hash.replace(/^#\/?/, '').split('/')[0] ?? '');

  return (
    <AppContext.Provider value={state}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Sealfold
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a
                  href={href}
                  aria-current={current === href || (href === '#/' && current === '#/datasets') ? 'page' : undefined}
                >
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="wallet">
          {account ? (
            <span class="account" title={account}>
              <span class="visually-hidden">Connected account </span>
              {shortAddress(account)}
            </span>
          ) : session ? (
            // Signed in without a wallet in this tab (a one-time link): reads work, purchases connect a wallet.
            <span class="account" title={session.address}>
              <span class="visually-hidden">Signed in as </span>
              {shortAddress(session.address)}
            </span>
          ) : null}
          {!account && session ? (
            <button type="button" class="secondary" onClick={signOut}>
              Sign out
            </button>
          ) : null}
          {!account && !session && info?.devWallet ? (
            <button type="button" class="secondary" onClick={() => void useDevWallet()}>
              Use a dev wallet
            </button>
          ) : null}
          {!account ? (
            <button type="button" onClick={() => void connect()}>
              Connect wallet
            </button>
          ) : !session ? (
            <button type="button" onClick={() => void signIn()}>
              Sign in
            </button>
          ) : (
            <button type="button" class="secondary" onClick={signOut}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <div class="notice-area" aria-live="polite">
        {notice ? (
          <p class={notice.error ? 'error' : 'success'} role={notice.error ? 'alert' : 'status'}>
            {notice.text}{' '}
            {notice.wrongChain && info?.chainId ? (
              <button type="button" onClick={() => void switchChain(BigInt(info.chainId!)).then(connect, fail)}>
                Switch network
              </button>
            ) : null}
          </p>
        ) : null}
      </div>
      <main id="main" tabIndex={-1}>
        {route(hash)}
      </main>
      <footer>
        <p class="muted small">
          Chain {info?.chainId ?? '–'} · <a href="/docs">REST API</a> · data stays with its owners; only aggregated,
          privacy-protected models leave the silos.
        </p>
      </footer>
    </AppContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
