// Sign-In with Ethereum (EIP-4361) against a running coordinator, as a buyer's client does it.
import { formatSiweMessage, type SiweMessage } from '@sealfold/protocol';

export interface SigningWallet {
  readonly address: string;
  signMessage(message: string): Promise<string>;
}

/** GET /auth/nonce and the signed message for it; `change` alters fields before signing (for attack tests). */
export async function signedSiwe(
  url: string,
  wallet: SigningWallet,
  change: Partial<SiweMessage> = {},
): Promise<{ message: string; signature: string }> {
  const res = await fetch(`${url}/auth/nonce`);
  if (res.status !== 200) throw new Error(`GET /auth/nonce: ${res.status} ${await res.text()}`);
  const n = (await res.json()) as { nonce: string; domain: string; uri: string; chainId: string; statement: string };
  const now = Date.now();
  const message = formatSiweMessage({
    domain: n.domain,
    address: wallet.address,
    statement: n.statement,
    uri: n.uri,
    chainId: BigInt(n.chainId),
    nonce: n.nonce,
    issuedAt: new Date(now).toISOString(),
    expirationTime: new Date(now + 3600_000).toISOString(),
    ...change,
  });
  return { message, signature: await wallet.signMessage(message) };
}

/** POST /auth/session with a signed message: the raw response. */
export const postSession = (url: string, body: unknown) =>
  fetch(`${url}/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Signs in as `wallet`; returns the bearer token. */
export async function signIn(url: string, wallet: SigningWallet): Promise<string> {
  const res = await postSession(url, await signedSiwe(url, wallet));
  if (res.status !== 201) throw new Error(`POST /auth/session: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** fetch with `Authorization: Bearer <token>`. */
export const authed =
  (token: string) =>
  (input: string, init: RequestInit = {}) =>
    fetch(input, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
    });
