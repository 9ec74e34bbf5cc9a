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

/** Builds into `outDir`; returns the gzip size of app.js. */
export async function buildWeb(outDir = WEB_OUT) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(HERE, 'src', 'main.tsx')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(HERE, 'tsconfig.json'),
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(HERE, 'src', 'app.css'), join(outDir, 'app.css'));
  copyFileSync(join(HERE, 'index.html'), join(outDir, 'index.html'));
  const js = readFileSync(join(outDir, 'app.js'));
  return { outDir, jsBytes: js.length, jsGzipBytes: gzipSync(js, { level: 9 }).length };
}

// Usage: node apps/web/build.mjs [--out <dir>]   (default dist/web)
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const r = await buildWeb(at > 0 ? process.argv[at + 1] : WEB_OUT);
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`web app built into ${r.outDir}: app.js ${kb(r.jsBytes)}, ${kb(r.jsGzipBytes)} gzipped`);
  if (r.jsGzipBytes > FIRST_LOAD_BUDGET_BYTES) {
    console.error(`first-load JS is over the ${kb(FIRST_LOAD_BUDGET_BYTES)} budget`);
    process.exit(1);
  }
}
