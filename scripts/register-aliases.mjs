// Resolves `@sealfold/<lib>` to the compiled lib in dist/ at run time (tsc keeps `paths` imports as written).
// Used as `node --import ./scripts/register-aliases.mjs dist/...`.
import { register } from 'node:module';

register('./alias-hooks.mjs', import.meta.url);
