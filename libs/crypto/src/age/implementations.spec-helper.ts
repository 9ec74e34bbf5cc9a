// Independent age implementations for interop tests: typage (age-encryption, by age's author) and rage compiled to
// WebAssembly (@kanru/rage-wasm), both from npm; the Go `age` CLI only where it is on PATH.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface RageWasm {
  keygen(): Promise<[secret: string, recipient: string]>;
  encrypt_with_x25519(recipient: string, data: Uint8Array, armor: boolean): Promise<Uint8Array>;
  decrypt_with_x25519(secret: string, data: Uint8Array): Promise<Uint8Array>;
  encrypt_with_user_passphrase(passphrase: string, data: Uint8Array, armor: boolean): Promise<Uint8Array>;
  decrypt_with_user_passphrase(passphrase: string, data: Uint8Array): Promise<Uint8Array>;
}

/**
 * Loads rage's WebAssembly build. It is packaged for bundlers, not for Node, in three ways:
 * - its package.json has only a bundler `module` field (no `main`/`exports`), so neither Node nor jest resolves
 *   `@kanru/rage-wasm`;
 * - it has no `"type": "module"`, so jest treats its ESM `dist/index.js` as CommonJS ("Unexpected token 'export'");
 * - its getrandom glue finds randomness through `self.crypto` (browsers) and otherwise calls `module.require`,
 *   where `module` is the WebAssembly.Module it just instantiated (TypeError "require is not a function").
 * - its passphrase encryption times scrypt with `performance.now()` from an object that is `instanceof Window`.
 * So: the file is imported as a `data:` module (which jest's ESM runtime loads as ESM), with `self` aliased to the
 * global object, whose `crypto` is Node's WebCrypto (getRandomValues), and `Window` to the global's constructor.
 */
export async function loadRage(): Promise<RageWasm> {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@kanru/rage-wasm/package.json');
  const source = readFileSync(join(dirname(pkg), 'dist/index.js'));
  const global = globalThis as { self?: unknown; Window?: unknown };
  global.self ??= globalThis;
  // rage's passphrase encryption times scrypt through `window.performance`, found by `instanceof Window`.
  global.Window ??= globalThis.constructor;
  return (await import(`data:text/javascript;base64,${source.toString('base64')}`)) as RageWasm;
}

/** Whether the Go age CLI (`age`, `age-keygen`) is on PATH. CI installs Debian's; a fresh machine may not have it. */
export function hasGoAge(): boolean {
  try {
    execFileSync('age', ['--version'], { stdio: 'pipe' });
    execFileSync('age-keygen', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
