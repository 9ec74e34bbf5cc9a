// The owner's local page: what this silo has released (the ε ledger per licence), the job offers it refused and why,
// and the jobs it halted. This is the silo's private state — the coordinator never holds it — so the page is served
// by the silo itself (node:http, no framework), bound to 127.0.0.1 by default, and opened only with a random token:
// `?token=` once (it becomes an HttpOnly, SameSite=Strict cookie and the address bar drops it) or that cookie.
// Server-rendered HTML: every value is escaped, no script at all, and a CSP that allows only this origin's stylesheet.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeLicenceId, EPSILON_UNBOUNDED_MILLI, licenceRef } from '@sealfold/protocol';
import type { EpsilonLedger, LedgerLicenceView, RefusalView } from './ledger.js';

export interface OwnerPageOptions {
  readonly ledger: EpsilonLedger;
  readonly owner: string;
  /** Datasets this silo serves and its connection state, read on every request. */
  readonly status: () => { readonly datasets: readonly string[]; readonly connection: string };
  /** Default 127.0.0.1: the page is for the owner's own machine. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Default 32 random bytes (base64url); tests and scripts may pass their own (at least 16 characters). */
  readonly token?: string;
}

export interface OwnerPage {
  /** The page's address with its token: what `sealfold silo start` prints. */
  readonly url: string;
  /** The address without the token. */
  readonly origin: string;
  close(): Promise<void>;
}

/** CSP Level 3: nothing but this origin's stylesheet; no script, no frame, no form, no base. */
export const OWNER_PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const COOKIE = 'sealfold_silo';

/** HTML escaping of text and attribute values (the five characters that can change the parse). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export async function startOwnerPage(options: OwnerPageOptions): Promise<OwnerPage> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('base64url');
  if (token.length < 16 || !/^[A-Za-z0-9_-]+$/.test(token))
    throw new RangeError('the owner page token must be at least 16 base64url characters');
  const expected = Buffer.from(token);
  const matches = (candidate: string | undefined) => {
    const given = Buffer.from(candidate ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  let port = 0;
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      send(res, 500, 'text/plain; charset=utf-8', 'internal error');
    }
  });
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'GET only');
    // DNS rebinding: on loopback, only a loopback Host may read the page (a hostile site's name resolving to
    // 127.0.0.1 would otherwise be same-origin with it).
    if (LOOPBACK.has(host) && !loopbackHost(req.headers.host, port))
      return send(res, 421, 'text/plain; charset=utf-8', 'wrong Host for this local page');
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname === '/owner.css') return send(res, 200, 'text/css; charset=utf-8', CSS);
    if (url.pathname !== '/') return send(res, 404, 'text/plain; charset=utf-8', 'not found');
    const query = url.searchParams.get('token') ?? undefined;
    if (query !== undefined && matches(query)) {
      // The token moves into a cookie and out of the address bar (and out of history and screenshots).
      res.setHeader('set-cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      res.setHeader('location', '/');
      return send(res, 303, 'text/plain; charset=utf-8', 'see /');
    }
    if (!matches(cookieOf(req.headers.cookie, COOKIE)))
      return send(res, 401, 'text/html; charset=utf-8', page('Sealfold silo: locked', LOCKED));
    const status = options.status();
    const body = render(options.owner, status, options.ledger.licences(), options.ledger.refusals());
    send(res, 200, 'text/html; charset=utf-8', page('Sealfold silo: your ledger', body));
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string) {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-security-policy', OWNER_PAGE_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cache-control', 'no-store');
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function loopbackHost(header: string | undefined, port: number): boolean {
  if (!header) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(header.toLowerCase());
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

const epsilon = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '∞ (no noise)');
const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
const shortJob = (id: string) => `${id.slice(0, 12)}…`;

function budgetOf(licenceId: bigint): { budget: string; maxJobs: number } {
  const f = decodeLicenceId(licenceId);
  return {
    budget: f.epsilonBudgetMilli >= EPSILON_UNBOUNDED_MILLI ? 'unlimited' : String(f.epsilonBudgetMilli / 1000),
    maxJobs: f.maxJobs,
  };
}

function render(
  owner: string,
  status: { readonly datasets: readonly string[]; readonly connection: string },
  licences: readonly LedgerLicenceView[],
  refusals: readonly RefusalView[],
): string {
  const e = escapeHtml;
  const halted = licences.flatMap((l) => l.jobs.filter((j) => j.halted).map((j) => ({ licence: l.licenceId, ...j })));
  const licenceRows = licences
    .map((l) => {
      const { budget, maxJobs } = budgetOf(l.licenceId);
      const jobs = l.jobs
        .map(
          (j) =>
            `<li><code title="${e(j.jobId)}">${e(shortJob(j.jobId))}</code>: ${e(j.rounds)} round(s) released, ` +
            `ε released ${e(epsilon(j.releasedEpsilon))}, reserved ${e(epsilon(j.plannedEpsilon))}` +
            `${j.halted ? ' — <strong>halted</strong>' : ''}</li>`,
        )
        .join('');
      return (
        `<tr><th scope="row"><span title="${e(l.licenceId)}">${e(licenceRef(l.licenceId))}</span></th>` +
        `<td>${e(decodeLicenceId(l.licenceId).datasetId)}</td><td>${e(epsilon(l.spent))}</td><td>${e(budget)}</td>` +
        `<td>${e(l.jobs.length)} of ${e(maxJobs)}</td><td><ul>${jobs}</ul></td></tr>`
      );
    })
    .join('');
  const refusalRows = refusals
    .map(
      (r) =>
        `<tr><td><code title="${e(r.jobId)}">${e(shortJob(r.jobId))}</code></td><td>${e(r.datasetId)}</td>` +
        `<td><code>${e(r.reason)}</code></td><td>${e(r.message)}</td><td>${e(time(r.at))}</td></tr>`,
    )
    .join('');
  const haltedRows = halted
    .map(
      (h) =>
        `<tr><td><code title="${e(h.jobId)}">${e(shortJob(h.jobId))}</code></td>` +
        `<td>${e(licenceRef(h.licence))}</td><td>${e(h.halted)}</td></tr>`,
    )
    .join('');
  return `<header><h1>Your silo</h1>
<p>Wallet <code>${e(owner)}</code> · coordinator connection: <strong>${e(status.connection)}</strong> · serving
datasets ${e(status.datasets.join(', ') || 'none')}</p>
<p class="muted">This page is served by your silo on your machine. Nothing here is sent to the coordinator.
<a href="/">Reload</a></p></header>
<main>
<section aria-labelledby="ledger"><h2 id="ledger">Privacy ledger (ε per licence)</h2>
${
  licences.length === 0
    ? '<p>No job has used your data yet.</p>'
    : `<table><caption>ε committed per licence: the larger of each job's reservation and its releases</caption>
<thead><tr><th scope="col">Licence</th><th scope="col">Dataset</th><th scope="col">ε spent</th><th scope="col">ε budget</th><th scope="col">Jobs</th><th scope="col">Job details</th></tr></thead>
<tbody>${licenceRows}</tbody></table>`
}
</section>
<section aria-labelledby="refused"><h2 id="refused">Refused jobs</h2>
${
  refusals.length === 0
    ? '<p>No job offer was refused.</p>'
    : `<table><caption>Job offers this silo refused, newest first</caption>
<thead><tr><th scope="col">Job</th><th scope="col">Dataset</th><th scope="col">Reason</th><th scope="col">Detail</th><th scope="col">When</th></tr></thead>
<tbody>${refusalRows}</tbody></table>`
}
</section>
<section aria-labelledby="halted"><h2 id="halted">Halted jobs</h2>
${
  halted.length === 0
    ? '<p>No job was halted.</p>'
    : `<table><caption>Jobs whose remaining rounds this silo refuses</caption>
<thead><tr><th scope="col">Job</th><th scope="col">Licence</th><th scope="col">Why</th></tr></thead>
<tbody>${haltedRows}</tbody></table>`
}
</section>
</main>`;
}

const LOCKED = `<main><h1>Locked</h1>
<p>This is a silo's private page. Open the address <code>sealfold silo start</code> printed (it carries a token).</p></main>`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/owner.css"></head>
<body>${body}</body></html>`;
}

const CSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 1.5rem;color:#1a1a1a;background:#fff}
h1{margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}caption{text-align:left;color:#4a4a4a;padding:.3rem 0}
th,td{border-bottom:1px solid #ddd;padding:.4rem .5rem;text-align:left;vertical-align:top}
ul{margin:0;padding-left:1.1rem}code{font-size:.92em;white-space:nowrap}.muted{color:#4a4a4a}a{color:#0b57d0}
`;
