// Sign-In with Ethereum (EIP-4361) against the coordinator: GET /auth/nonce → the wallet signs the message with
// personal_sign (EIP-191) → POST /auth/session → a bearer token for /jobs, /models and /progress. The token lives in
// sessionStorage (this tab only) and is dropped when the wallet's account changes.
import { formatSiweMessage } from '../../../libs/protocol/src/siwe.js';
import { api, type SessionView } from './api.js';
import { personalSign } from './wallet.js';

const KEY = 'sealfold.session';

export function storedSession(): SessionView | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as SessionView | null;
    return s && Date.parse(s.expiresAt) > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function storeSession(s: SessionView | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

interface NonceView {
  nonce: string;
  domain: string;
  uri: string;
  chainId: string;
  statement: string;
  expiresAt: string;
}

/** Signs in as `address` (EIP-55) for an hour (the coordinator may cap the session shorter). */
export async function signIn(address: string): Promise<SessionView> {
  const n = await api<NonceView>('/auth/nonce');
  const message = formatSiweMessage({
    domain: n.domain,
    address,
    statement: n.statement,
    uri: n.uri,
    chainId: BigInt(n.chainId),
    nonce: n.nonce,
    issuedAt: new Date().toISOString(),
    expirationTime: new Date(Date.now() + 3600_000).toISOString(),
  });
  const signature = await personalSign(address, message);
  return api<SessionView>('/auth/session', { method: 'POST', body: { message, signature } });
}

/**
 * A one-time sign-in link (`sealfold job link`, embedded dev chain only) puts its code in the fragment:
 * `#/jobs/<id>?signin=<code>`. Taken out before the first render and the address bar rewritten without it, so it
 * stays in neither the visible URL nor a bookmark; the fragment never reached any server.
 */
export function takeSignInCode(): string | null {
  const m = /^(#[^?]*)\?(?:.*&)?signin=([A-Za-z0-9_-]{1,100})(?:&.*)?$/.exec(location.hash);
  if (!m) return null;
  history.replaceState(history.state, '', `${location.pathname}${location.search}${m[1]}`);
  return m[2];
}

/** Spends a sign-in link code for a session of the address that made the link (POST body: in no access log). */
export function redeemSignInCode(code: string): Promise<SessionView> {
  return api<SessionView>('/dev/sign-in-links/redeem', { method: 'POST', body: { code } });
}
