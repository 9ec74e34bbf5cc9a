// JSON-RPC plumbing: a provider tuned for local chains, a fast liveness/chain-id probe, and error classification.
import { FetchRequest, JsonRpcProvider, Network, isError } from 'ethers';
import { InvalidArgumentError, RpcUnavailableError, WrongChainError } from './errors.js';

export const DEFAULT_RPC_TIMEOUT_MS = 10_000;

function checkedUrl(rpcUrl: string): URL {
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch (cause) {
    throw new InvalidArgumentError(`invalid RPC URL: ${rpcUrl}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(`RPC URL must be http(s): ${rpcUrl}`);
  return url;
}

/**
 * One request to `eth_chainId` with a hard timeout. Throws RpcUnavailableError when nothing answers (no retries: a
 * down RPC should fail the command now, not after minutes) and WrongChainError when the chain id differs.
 */
export async function probeChainId(
  rpcUrl: string,
  expected?: bigint,
  timeoutMs = DEFAULT_RPC_TIMEOUT_MS,
): Promise<bigint> {
  checkedUrl(rpcUrl);
  let body: { result?: unknown; error?: { message?: string } };
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    body = (await res.json()) as typeof body;
  } catch (cause) {
    const reason = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
    throw new RpcUnavailableError(rpcUrl, `RPC endpoint ${rpcUrl} is unavailable (${reason})`, { cause });
  }
  if (typeof body.result !== 'string' || !/^0x[0-9a-fA-F]+$/.test(body.result))
    throw new RpcUnavailableError(
      rpcUrl,
      `RPC endpoint ${rpcUrl} gave no chain id (${body.error?.message ?? 'no result'})`,
    );
  const actual = BigInt(body.result);
  if (expected !== undefined && actual !== expected) throw new WrongChainError(expected, actual);
  return actual;
}

/**
 * A JsonRpcProvider for a known chain: static network (no background detection loop), `cacheTimeout: -1` (otherwise
 * ethers serves a cached nonce and the first transaction after a deployment fails; DESIGN §4) and a request timeout.
 */
export function createProvider(rpcUrl: string, chainId: bigint, timeoutMs = DEFAULT_RPC_TIMEOUT_MS): JsonRpcProvider {
  checkedUrl(rpcUrl);
  const request = new FetchRequest(rpcUrl);
  request.timeout = timeoutMs;
  return new JsonRpcProvider(request, Network.from(chainId), {
    staticNetwork: Network.from(chainId),
    cacheTimeout: -1,
    polling: false,
  });
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN']);

/**
 * HTTP statuses saying the node did not answer the call (RFC 9110 §15.5.9 408 Request Timeout: the server gave up
 * receiving it, as Node's HTTP server does for a request it could not read in time; 503, 504): like a timeout, not
 * an answer.
 */
const UNANSWERED_STATUSES = new Set([408, 503, 504]);

/** True when `err` (from ethers or fetch) means the endpoint could not be reached or did not answer. */
export function isUnreachable(err: unknown): boolean {
  if (isError(err, 'TIMEOUT') || isError(err, 'NETWORK_ERROR')) return true;
  if (isError(err, 'SERVER_ERROR')) {
    const status = Number.parseInt(String(err.info?.responseStatus ?? ''), 10);
    if (UNANSWERED_STATUSES.has(status)) return true;
  }
  for (const e of errorChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (e instanceof Error && /fetch failed|ECONNREFUSED|socket hang up/.test(e.message)) return true;
  }
  return false;
}

/** `err` and what it wraps (`cause`, or ethers' `error`), at most 6 deep. */
function* errorChain(err: unknown): Generator<unknown> {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    yield e;
    e = (e as { cause?: unknown; error?: unknown }).cause ?? (e as { error?: unknown }).error;
  }
}

/**
 * True when `err` is a connection the server closed under the request (ECONNRESET, "socket hang up"): on a reused
 * keep-alive socket the server may close it as the client sends (Node's http docs, request.reusedSocket); a read may
 * then be sent again.
 */
export function isConnectionReset(err: unknown): boolean {
  for (const e of errorChain(err)) {
    if ((e as { code?: unknown }).code === 'ECONNRESET') return true;
    if (e instanceof Error && /socket hang up/.test(e.message)) return true;
  }
  return false;
}

/** Maps transport failures to RpcUnavailableError; other errors pass through. */
export function wrapRpcError(err: unknown, provider: JsonRpcProvider): unknown {
  if (err instanceof RpcUnavailableError) return err;
  if (isUnreachable(err)) {
    const url = provider._getConnection().url;
    return new RpcUnavailableError(url, `RPC endpoint ${url} is unavailable (${(err as Error).message})`, {
      cause: err,
    });
  }
  return err;
}
