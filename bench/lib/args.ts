// A bench's numeric options (`--name value`), refused with a clear error when they are not what the bench can run
// with, instead of running on NaN.

const valueOf = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

/** `--name` as a positive number (sizes, ε, clip norms), or `fallback` when absent. */
export function positiveArg(name: string, fallback: number): number {
  const v = valueOf(name, fallback);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name} must be a positive number`);
  return v;
}

/** `--name` as a positive integer (counts: silos, rounds, runs) up to `max`, or `fallback` when absent. */
export function positiveIntegerArg(name: string, fallback: number, max = Infinity): number {
  const v = valueOf(name, fallback);
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new RangeError(`--${name} must be ${max === Infinity ? 'a positive integer' : `an integer in [1, ${max}]`}`);
  return v;
}
