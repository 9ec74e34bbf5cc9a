// `npm start`: the compiled coordinator (dist/apps/coordinator/src/main.js), with the malloc settings of
// scripts/malloc-tuning.mjs (it re-executes itself in place when they are not in effect yet).
import { ensureMallocTuning } from './malloc-tuning.mjs';

ensureMallocTuning(); // re-executes in place (same pid) when the settings are not in effect yet
await import('./register-aliases.mjs');
await import('../dist/apps/coordinator/src/main.js');
