// `npm start`: the compiled coordinator (dist/apps/coordinator/src/main.js), with the malloc settings of
// scripts/malloc-tuning.mjs (it starts itself once more when they are not in effect yet).
import { acceptRelayedSignals, reexecWithMallocTuning } from './malloc-tuning.mjs';

if (await reexecWithMallocTuning()) process.exit(1); // not reached: the child's exit ends this process
acceptRelayedSignals();
await import('./register-aliases.mjs');
await import('../dist/apps/coordinator/src/main.js');
