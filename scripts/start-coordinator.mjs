// `npm start`: the compiled coordinator (dist/apps/coordinator/src/main.js), with the malloc settings of
// scripts/malloc-tuning.mjs (it starts itself once more when they are not in effect yet).
import { ensureMallocTuning } from './malloc-tuning.mjs';

await ensureMallocTuning(); // as a launcher, this never resolves: the child's exit ends this process
await import('./register-aliases.mjs');
await import('../dist/apps/coordinator/src/main.js');
