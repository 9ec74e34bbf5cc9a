// Builds the web app into dist/web: one ES module bundle (esbuild: TypeScript + Preact JSX, minified, tree-shaken),
// its stylesheet and index.html. `npm run build:web`; `npm start`, `npm run demo` and the browser tests build it too.
// Prints the gzip size of the first-load JavaScript (budget: 250 KB, issue 15).
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WEB_OUT = join(HERE, '..', '..', 'dist', 'web');
export const FIRST_LOAD_BUDGET_BYTES = 250 * 1024;

/** Builds into `outDir`; returns the gzip size of app.js (the first load: chunks load on demand). */
export async function buildWeb(outDir = WEB_OUT) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    metafile: true,
    entryPoints: [join(HERE, 'src', 'main.tsx')],
    outdir: outDir,
    entryNames: 'app',
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true, // pages loaded on demand (import()) become chunks; app.js is the first load
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(HERE, 'tsconfig.json'), // its paths map @sealfold/* to libs/*/src (the New job page uses libs/fl's spec)
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(HERE, 'src', 'app.css'), join(outDir, 'app.css'));
  copyFileSync(join(HERE, 'index.html'), join(outDir, 'index.html'));
  // The first load: app.js and the chunks it imports statically (transitively); dynamic imports load on demand.
  const outputs = result.metafile.outputs;
  const key = (path) => Object.keys(outputs).find((k) => join(process.cwd(), k) === path || k === path);
  const first = new Set();
  const visit = (k) => {
    if (!k || first.has(k)) return;
    first.add(k);
    for (const i of outputs[k].imports) if (i.kind === 'import-statement') visit(key(i.path) ?? i.path);
  };
  visit(key(join(outDir, 'app.js')));
  let jsBytes = 0;
  let jsGzipBytes = 0;
  for (const k of first) {
    const js = readFileSync(k);
    jsBytes += js.length;
    jsGzipBytes += gzipSync(js, { level: 9 }).length;
  }
  return { outDir, jsBytes, jsGzipBytes, firstLoadFiles: first.size };
}

// Usage: node apps/web/build.mjs [--out <dir>]   (default dist/web)
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const r = await buildWeb(at > 0 ? process.argv[at + 1] : WEB_OUT);
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `web app built into ${r.outDir}: first-load JS (app.js + ${r.firstLoadFiles - 1} chunk) ${kb(r.jsBytes)}, ` +
      `${kb(r.jsGzipBytes)} gzipped`,
  );
  if (r.jsGzipBytes > FIRST_LOAD_BUDGET_BYTES) {
    console.error(`first-load JS is over the ${kb(FIRST_LOAD_BUDGET_BYTES)} budget`);
    process.exit(1);
  }
}
