// Serves the built web app (apps/web, built into dist/web by apps/web/build.mjs) at `/`, same origin as the REST API,
// so the browser's session token and WebSocket need no CORS. The files are read once at start; the app routes by URL
// fragment (#/market, #/jobs/<id>), so only `/` and the files themselves are served and no API path is shadowed.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextFunction, Request, Response } from 'express';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/**
 * Content Security Policy (CSP Level 3): scripts, styles and connections only from this origin ('self' covers the
 * same-origin ws: of /progress), no framing (clickjacking of wallet prompts), no inline script.
 */
export const WEB_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";

interface WebFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/**
 * dist/web of the project: found upward from this module (apps/… in tests, dist/apps/… when compiled) at the first
 * directory whose package.json is Sealfold's. Not by its sources: the container image has package.json and dist/
 * but no apps/.
 */
export function defaultWebDir(from = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    if (isSealfoldRoot(dir)) return join(dir, 'dist', 'web');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

function isSealfoldRoot(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'sealfold';
  } catch {
    return false;
  }
}

/** Reads the built app; null when it has not been built (the coordinator then serves the API only). */
export function loadWebApp(dir: string): Map<string, WebFile> | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, WebFile>();
  for (const name of readdirSync(dir, { recursive: true }).map(String)) {
    const path = join(dir, name);
    const type = TYPES[extname(name)];
    if (!type || !statSync(path).isFile()) continue;
    const body = readFileSync(path);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(`/${name.split('\\').join('/')}`, { body, type, etag });
  }
  files.set('/', files.get('/index.html')!);
  return files;
}

/** Express middleware answering GET/HEAD for the app's files; everything else goes on to the API. */
export function webAppMiddleware(files: Map<string, WebFile>) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const file = files.get(req.path);
    if (!file) return next();
    res.setHeader('content-type', file.type);
    res.setHeader('etag', file.etag);
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    if (file.type.startsWith('text/html')) res.setHeader('content-security-policy', WEB_CSP);
    if (req.headers['if-none-match'] === file.etag) return void res.status(304).end();
    res.status(200).end(req.method === 'HEAD' ? undefined : file.body);
  };
}
