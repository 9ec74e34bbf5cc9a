// glibc malloc settings for Sealfold's long-running processes (silo, coordinator, benchmarks).
//
// A SecAgg+ round churns tens of megabytes: node:crypto hands every 64 KiB of mask keystream back in a fresh buffer,
// and masked vectors and frames are megabytes each. With glibc's defaults, large blocks are mmap'd and unmapped and
// the heap top is trimmed, so the same memory is faulted in again and again. Measured on a 2-core machine of this
// kind (SecAgg+ client, n = 100, d = 1e6, 15 masks): masked-input stage median 27 ms with these settings, 53–59 ms
// without. GLIBC_TUNABLES is read only when a process starts (glibc manual, "Tunables"), so launchers set it for
// their children, and `sealfold silo start` / `sealfold coordinator start` re-execute themselves once with it.
// Other libcs ignore the variable. A GLIBC_TUNABLES already set by the operator is left as it is.
import { spawn } from 'node:child_process';

/** Blocks up to 64 MiB come from the heap, and up to 256 MiB of free heap stays mapped for reuse. */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456';

/** `env` with the malloc settings added, unless GLIBC_TUNABLES is already set there. */
export function tunedEnv(env = process.env) {
  return env.GLIBC_TUNABLES === undefined ? { ...env, GLIBC_TUNABLES: MALLOC_TUNABLES } : env;
}

/** Whether this process started with the settings (or with the operator's own GLIBC_TUNABLES). */
export const mallocTuned = (env = process.env) => env.GLIBC_TUNABLES !== undefined;

const RELAYED = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_NUMBER = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * For a long-running command: makes sure it runs with the malloc settings. When they are not in effect (on Linux,
 * unless SEALFOLD_NO_MALLOC_TUNING=1) this process becomes a launcher: it runs the same command again in a child
 * with them, mirrors the child's exit, and never resolves. In the child (or when the settings were already there)
 * it resolves at once, after taking relayed signals (acceptRelayedSignals).
 */
export async function ensureMallocTuning() {
  if (process.platform === 'linux' && !mallocTuned() && process.env.SEALFOLD_NO_MALLOC_TUNING !== '1')
    await relaunchTuned();
  acceptRelayedSignals();
}

/**
 * Runs this same command again in a child with the malloc settings; never resolves (the child's exit ends this
 * process). Signals sent to this process reach the child over an IPC channel (acceptRelayedSignals), because the
 * child shares the terminal's process group: a Ctrl-C or a systemd stop already signals it directly, and a second OS
 * signal would cut a graceful shutdown short.
 */
function relaunchTuned() {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...tunedEnv(), SEALFOLD_RELAYED_SIGNALS: '1' },
  });
  for (const signal of RELAYED)
    process.on(signal, () => {
      if (child.connected) child.send({ sealfoldSignal: signal });
    });
  return new Promise(() => {
    child.once('error', (error) => {
      process.stderr.write(`sealfold: could not start itself again with malloc settings: ${error.message}\n`);
      process.exit(1);
    });
    child.once('exit', (code, signal) => process.exit(code ?? 128 + (SIGNAL_NUMBER[signal] ?? 15)));
  });
}

/**
 * In a child started by relaunchTuned: a relayed signal is handled like the OS signal, once — of an OS
 * signal and its relayed copy, whichever arrives second (within a second) is the echo and is dropped. A signal with no handler of
 * the command's own ends the process as Node's default would. A lost parent counts as SIGTERM.
 */
function acceptRelayedSignals() {
  if (process.env.SEALFOLD_RELAYED_SIGNALS !== '1' || !process.send) return;
  delete process.env.SEALFOLD_RELAYED_SIGNALS;
  const lastSeen = new Map();
  for (const signal of RELAYED)
    process.on(signal, function defaultUnlessHandled() {
      const now = Date.now();
      const previous = lastSeen.get(signal) ?? 0;
      lastSeen.set(signal, now);
      // Either copy may come first; the later one, within the second, is the echo and must not end the process.
      if (process.listenerCount(signal) === 1 && now - previous >= 1000) process.exit(128 + SIGNAL_NUMBER[signal]);
    });
  process.on('message', (message) => {
    const signal = message && typeof message === 'object' ? message.sealfoldSignal : undefined;
    if (!RELAYED.includes(signal) || Date.now() - (lastSeen.get(signal) ?? 0) < 1000) return;
    process.emit(signal, signal);
  });
  process.once('disconnect', () => process.emit('SIGTERM', 'SIGTERM'));
  process.channel?.unref();
}
