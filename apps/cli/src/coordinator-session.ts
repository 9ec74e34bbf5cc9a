// Read sessions on the coordinator: the buyer signs in with its keystore wallet (Sign-In with Ethereum, EIP-4361,
// personal_sign) and reads its jobs, rounds, models and progress with the bearer token it gets. Tokens are cached in
// <home>/sessions.json (0600, one per coordinator URL and address) and renewed shortly before they expire or when
// the coordinator no longer knows them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTextAtomic } from './atomic-file.js';
import type { Context } from './context.js';
import { CoordinatorRefusal, callCoordinator } from './coordinator-api.js';
import { CliError } from './errors.js';
import { loadOwner } from './owner.js';

/** Lifetime asked for in the message (the coordinator caps sessions at 24 h). */
const SESSION_MS = 12 * 3600_000;
/** A token this close to its expiry is renewed first. */
const RENEW_BEFORE_MS = 60_000;

interface CachedSession {
  address: string;
  token: string;
  expiresAt: string;
}

type Cache = Record<string, CachedSession>;

const cacheFile = (ctx: Context) => join(ctx.paths.home, 'sessions.json');

async function readCache(ctx: Context): Promise<Cache> {
  try {
    const parsed = JSON.parse(await readFile(cacheFile(ctx), 'utf8')) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Cache) : {};
  } catch {
    return {};
  }
}

/** Written to a temporary sibling (0600) and renamed: a crash never leaves a torn cache, and no one else reads it. */
async function writeCache(ctx: Context, cache: Cache): Promise<void> {
  await writeTextAtomic(cacheFile(ctx), JSON.stringify(cache, null, 2), 0o600);
}

const keyOf = (base: string, address: string) => `${base} ${address.toLowerCase()}`;

/** Signs in anew: GET /auth/nonce → EIP-4361 message signed with personal_sign → POST /auth/session. */
async function signIn(ctx: Context, base: string): Promise<CachedSession> {
  const owner = await loadOwner(ctx);
  const { formatSiweMessage } = await import('@sealfold/protocol');
  const n = await callCoordinator<{ nonce: string; domain: string; uri: string; chainId: string; statement: string }>(
    base,
    'GET',
    '/auth/nonce',
  );
  const now = Date.now();
  let message: string;
  try {
    message = formatSiweMessage({
      domain: n.domain,
      address: owner.address,
      statement: n.statement,
      uri: n.uri,
      chainId: BigInt(n.chainId),
      nonce: n.nonce,
      issuedAt: new Date(now).toISOString(),
      expirationTime: new Date(now + SESSION_MS).toISOString(),
    });
  } catch (error) {
    throw new CliError(
      'COORDINATOR_PROTOCOL',
      `the coordinator's sign-in fields are invalid: ${(error as Error).message}`,
      2,
    );
  }
  const signature = await owner.wallet.signMessage(message);
  const s = await callCoordinator<{ token: string; address: string; expiresAt: string }>(
    base,
    'POST',
    '/auth/session',
    {
      message,
      signature,
    },
  );
  const session = { address: owner.address, token: s.token, expiresAt: s.expiresAt };
  const cache = await readCache(ctx);
  for (const [k, v] of Object.entries(cache)) if (!(Date.parse(v.expiresAt) > now)) delete cache[k];
  cache[keyOf(base, owner.address)] = session;
  await writeCache(ctx, cache);
  return session;
}

/** A valid bearer token for the keystore wallet on `base`: the cached one, or a new sign-in. */
export async function sessionToken(ctx: Context, base: string, renew = false): Promise<string> {
  const owner = await loadOwner(ctx);
  const cached = (await readCache(ctx))[keyOf(base, owner.address)];
  if (
    !renew &&
    cached &&
    typeof cached.token === 'string' &&
    Date.parse(cached.expiresAt) - RENEW_BEFORE_MS > Date.now()
  )
    return cached.token;
  return (await signIn(ctx, base)).token;
}

/** A signed-in GET; a token the coordinator no longer knows (restart, expiry) is renewed once. */
export async function readCoordinator<T>(ctx: Context, base: string, path: string): Promise<T> {
  try {
    return await callCoordinator<T>(base, 'GET', path, undefined, await sessionToken(ctx, base));
  } catch (error) {
    if (!(error instanceof CoordinatorRefusal && error.status === 401 && error.reasonCode === 'SESSION_INVALID'))
      throw error;
    return callCoordinator<T>(base, 'GET', path, undefined, await sessionToken(ctx, base, true));
  }
}
