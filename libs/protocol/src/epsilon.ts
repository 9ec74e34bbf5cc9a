// ε in thousandths, the one definition. No imports: the web app's first load uses it without the job codec (zod).

/**
 * ε in thousandths, as the contracts and the ledger store it (uint32). The uint32 maximum is "unbounded": as a licence's
 * ε budget it bounds nothing; as a job's ε spent (ModelRegistry) it says the job added no DP noise, so it gave no
 * finite guarantee. Every other value is ε·1000 rounded up. One definition for the silo, the coordinator, the CLI,
 * the demo and the contracts' NatSpec.
 */
export const EPSILON_UNBOUNDED_MILLI = 0xffff_ffff;

/** ε → thousandths, rounded up (never understates); Infinity → EPSILON_UNBOUNDED_MILLI; a finite ε never maps to it. */
export function epsilonToMilli(epsilon: number): number {
  if (Number.isNaN(epsilon) || epsilon < 0) throw new RangeError(`epsilon must be ≥ 0: ${epsilon}`);
  if (epsilon === Infinity) return EPSILON_UNBOUNDED_MILLI;
  return Math.min(EPSILON_UNBOUNDED_MILLI - 1, Math.ceil(epsilon * 1000));
}

/** Thousandths → ε; EPSILON_UNBOUNDED_MILLI → Infinity. */
export function epsilonFromMilli(milli: number): number {
  if (!Number.isInteger(milli) || milli < 0 || milli > EPSILON_UNBOUNDED_MILLI)
    throw new RangeError(`ε in thousandths must be a uint32: ${milli}`);
  return milli === EPSILON_UNBOUNDED_MILLI ? Infinity : milli / 1000;
}
