// Settings that a process reads only when it starts (V8 flags, GLIBC_TUNABLES) are applied by re-executing the same
// command in place with them: process.execve replaces the process image (execve(2)), so the pid, terminal, process
// group and signals stay the command's own and no launcher process is left beside it. Plain JavaScript with no
// imports beyond node: (bin/sealfold.mjs loads it before building).

/**
 * Re-executes this command with `flags` added to node's own and with `env`. Call it before anything else runs: no
 * handle, thread or pending write survives the exec. Returns false, and changes nothing, where there is no execve
 * (Windows, Node before 22.15): the command then runs as it is.
 */
export function reexecSelf({ flags = [], env = process.env } = {}) {
  if (typeof process.execve !== 'function') return false;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], env);
  return true; // not reached: execve returns only by throwing
}
