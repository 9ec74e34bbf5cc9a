// Module resolve hook: `@sealfold/<lib>` → <repo>/dist/libs/<lib>/src/index.js.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const alias = /^@sealfold\/([a-z][a-z0-9-]*)$/;

/** The hook itself, synchronous: for `module.registerHooks` (in-thread) and, wrapped, for `module.register`. */
export function resolveAlias(specifier, context, nextResolve) {
  const match = alias.exec(specifier);
  if (match) {
    const target = new URL(`libs/${match[1]}/src/index.js`, dist);
    if (!existsSync(target)) throw new Error(`@sealfold/${match[1]} is not built: run \`npm run build\``);
    return { url: pathToFileURL(target.pathname).href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function resolve(specifier, context, nextResolve) {
  return resolveAlias(specifier, context, nextResolve);
}
