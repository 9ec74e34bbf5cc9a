// Enforces the module rules of docs/ARCHITECTURE.md on the source tree:
//   1. libs never import apps;
//   2. the pure libs (protocol, crypto, dataset, secagg, fl, sqlite) never import @nestjs/*;
//   3. libs reach each other only through `@sealfold/<lib>` (no relative paths across libs);
//   4. no import cycles between libs.
// Usage: node scripts/check-deps.mjs [root]   — exits 1 and lists every violation.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export const PURE_LIBS = ['protocol', 'crypto', 'dataset', 'secagg', 'fl', 'sqlite'];

const importRe =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'generated') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (/\.(ts|mts|js|mjs)$/.test(name)) yield path;
  }
}

/** Returns the import specifiers of a source file (comments are stripped first). */
export function importsOf(source) {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"])\/\/.*$/gm, '$1');
  return [...code.matchAll(importRe)].map((m) => m[1] ?? m[2] ?? m[3]);
}

export function checkDependencies(root) {
  const libsDir = join(root, 'libs');
  const violations = [];
  const edges = new Map();
  if (!existsSync(libsDir)) return { violations, edges };
  const libs = readdirSync(libsDir).filter((d) => statSync(join(libsDir, d)).isDirectory());
  for (const lib of libs) {
    edges.set(lib, new Set());
    for (const file of walk(join(libsDir, lib))) {
      const rel = relative(root, file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('@nestjs/') && PURE_LIBS.includes(lib)) {
          violations.push(`${rel}: libs/${lib} must not import ${spec} (pure libs never import Nest)`);
        }
        const alias = /^@sealfold\/([a-z0-9-]+)/.exec(spec);
        if (alias) {
          if (!libs.includes(alias[1])) violations.push(`${rel}: imports unknown lib ${spec}`);
          else if (alias[1] !== lib) edges.get(lib).add(alias[1]);
          continue;
        }
        if (!spec.startsWith('.')) continue;
        const target = relative(root, resolve(dirname(file), spec)).split(sep);
        if (target[0] === 'apps') violations.push(`${rel}: libs must not import apps (${spec})`);
        else if (target[0] === 'libs' && target[1] !== lib) {
          violations.push(`${rel}: import libs/${target[1]} as @sealfold/${target[1]}, not by relative path (${spec})`);
          edges.get(lib).add(target[1]);
        } else if (target[0] !== 'libs') violations.push(`${rel}: libs must not import outside libs/ (${spec})`);
      }
    }
  }
  // Cycle detection: depth-first search with colours; report each cycle once as a path.
  const state = new Map();
  const stack = [];
  const visit = (lib) => {
    state.set(lib, 'active');
    stack.push(lib);
    for (const next of edges.get(lib) ?? []) {
      if (state.get(next) === 'active') {
        violations.push(`import cycle between libs: ${[...stack.slice(stack.indexOf(next)), next].join(' -> ')}`);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(lib, 'done');
  };
  for (const lib of libs) if (!state.has(lib)) visit(lib);
  return { violations, edges };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve(process.argv[2] ?? new URL('..', import.meta.url).pathname);
  const { violations, edges } = checkDependencies(root);
  if (violations.length) {
    console.error(
      `dependency check: ${violations.length} violation(s)\n${violations.map((v) => `  - ${v}`).join('\n')}`,
    );
    process.exit(1);
  }
  const graph = [...edges].map(([lib, deps]) => `${lib} -> ${[...deps].sort().join(', ') || '(none)'}`).join('; ');
  console.log(`dependency check: ok (${graph})`);
}
