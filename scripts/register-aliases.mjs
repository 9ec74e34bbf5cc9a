// Resolves `@sealfold/<lib>` to the compiled lib in dist/ at run time (tsc keeps `paths` imports as written).
// Used as `node --import ./scripts/register-aliases.mjs dist/...`, or imported first by a launcher (bin/sealfold.mjs).
// In-thread hooks (module.registerHooks, Node >= 22.15) where available: `module.register` runs its hooks on a thread
// of their own, whose heap costs ~20 MB of resident memory (measured with `bench ingest`) for a path rewrite.
import * as module from 'node:module';
import { resolveAlias } from './alias-hooks.mjs';

if (typeof module.registerHooks === 'function') module.registerHooks({ resolve: resolveAlias });
else module.register('./alias-hooks.mjs', import.meta.url);
