// The coordinator's REST API as the buyer's commands use it: where it is, and one JSON request with typed failures.
// A refusal keeps the coordinator's machine-readable `code` and its reason, so the user sees why (e.g. NO_LICENCE).
import { CliError } from './errors.js';

export const DEFAULT_COORDINATOR_URL = 'http://127.0.0.1:8080';

/** `--coordinator`, else SEALFOLD_COORDINATOR_URL, else http://127.0.0.1:8080; must be an http(s) URL. */
export function coordinatorUrl(option: unknown, env: NodeJS.ProcessEnv): string {
  const raw =
    typeof option === 'string' && option !== '' ? option : env.SEALFOLD_COORDINATOR_URL || DEFAULT_COORDINATOR_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('INVALID_OPTION', `--coordinator / SEALFOLD_COORDINATOR_URL is not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError('INVALID_OPTION', `the coordinator URL must be http(s), got ${url.protocol}`);
  return url.toString().replace(/\/+$/, '');
}

/**
 * Every coordinator of a deployment (`silo start`): `--coordinator` given several times or as a comma-separated
 * list, else SEALFOLD_COORDINATOR_URL (which may be a list too), else http://127.0.0.1:8080; each checked as above.
 */
export function coordinatorUrls(option: unknown, env: NodeJS.ProcessEnv): string[] {
  const given = (Array.isArray(option) ? option : [option]).filter((o): o is string => typeof o === 'string');
  const raw = given.length > 0 ? given.join(',') : env.SEALFOLD_COORDINATOR_URL || DEFAULT_COORDINATOR_URL;
  const urls = raw
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '')
    .map((u) => coordinatorUrl(u, {}));
  if (urls.length === 0) throw new CliError('INVALID_OPTION', '--coordinator names no URL');
  return [...new Set(urls)];
}

/** A request the coordinator refused: HTTP status, its code (e.g. NO_LICENCE) and reason. */
export class CoordinatorRefusal extends CliError {
  constructor(
    readonly status: number,
    readonly reasonCode: string,
    readonly reason: string,
    readonly details: unknown,
  ) {
    super(reasonCode, `coordinator refused (${status} ${reasonCode}): ${reason}`);
  }
}

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * One JSON request; 2xx → parsed body; 4xx/5xx → CoordinatorRefusal; unreachable → CliError COORDINATOR_UNREACHABLE.
 * `token`: a read session's bearer token (RFC 6750 §2.1), see coordinator-session.ts.
 */
export async function callCoordinator<T>(
  base: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (cause) {
    const why = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
    throw new CliError('COORDINATOR_UNREACHABLE', `cannot reach the coordinator at ${base} (${why})`, 1, { cause });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const e = (parsed ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
    throw new CoordinatorRefusal(
      response.status,
      typeof e.code === 'string' ? e.code : `HTTP_${response.status}`,
      typeof e.message === 'string' ? e.message : text.slice(0, 300) || response.statusText,
      e.details,
    );
  }
  if (parsed === undefined)
    throw new CliError('COORDINATOR_PROTOCOL', `the coordinator answered ${method} ${path} without a JSON body`, 2);
  return parsed as T;
}

/** The job as `GET /jobs/:id` returns it (libs/protocol rest.ts). */
export type JobView = import('@sealfold/protocol').JobView;

export const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** A job id: the EIP-712 digest of the signed request, 64 hex digits (a 0x prefix is accepted and dropped). */
export function parseJobId(value: string): string {
  const v = value.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{64}$/.test(v)) throw new CliError('INVALID_ARGUMENT', `job id must be 64 hex digits, got "${value}"`);
  return v;
}
