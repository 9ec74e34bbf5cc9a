// glibc malloc settings for Sealfold's long-running processes (silo, coordinator, benchmarks).
//
// A SecAgg+ round churns tens of megabytes: node:crypto hands every 64 KiB of mask keystream back in a fresh buffer,
// and masked vectors and frames are megabytes each. With glibc's defaults, large blocks are mmap'd and unmapped and
// the heap top is trimmed, so the same memory is faulted in again and again. Measured on a 2-core machine of this
// kind (SecAgg+ client, n = 100, d = 1e6, 15 masks): masked-input stage median 27 ms with these settings, 53–59 ms
// without. GLIBC_TUNABLES is read only when a process starts (glibc manual, "Tunables"), so launchers set it for
// their children, and `sealfold silo start` / `sealfold coordinator start` re-execute themselves once in place with
// it (scripts/reexec.mjs: same pid, signals untouched). Other libcs ignore the variable. A GLIBC_TUNABLES already set
// by the operator is left as it is.
import { reexecSelf } from './reexec.mjs';

/** Blocks up to 64 MiB come from the heap, and up to 256 MiB of free heap stays mapped for reuse. */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456';

/** `env` with the malloc settings added, unless GLIBC_TUNABLES is already set there. */
export function tunedEnv(env = process.env) {
  return env.GLIBC_TUNABLES === undefined ? { ...env, GLIBC_TUNABLES: MALLOC_TUNABLES } : env;
}

/** Whether this process started with the settings (or with the operator's own GLIBC_TUNABLES). */
export const mallocTuned = (env = process.env) => env.GLIBC_TUNABLES !== undefined;

/**
 * For a long-running command: makes sure it runs with the malloc settings. When they are not in effect (on Linux,
 * unless SEALFOLD_NO_MALLOC_TUNING=1) the command re-executes itself in place with them; where it cannot (no
 * execve), it runs as it is. Call it before anything else runs.
 */
export function ensureMallocTuning() {
  if (process.platform === 'linux' && !mallocTuned() && process.env.SEALFOLD_NO_MALLOC_TUNING !== '1')
    reexecSelf({ env: tunedEnv() });
}
