// Validation of command-line values at the boundary: every refusal names the option and the expected form.
import { EPSILON_UNBOUNDED_MILLI } from '@sealfold/protocol';
import { CliError } from './errors.js';

export function parseUint(value: string, what: string): bigint {
  if (!/^[0-9]+$/.test(value.trim()))
    throw new CliError('INVALID_ARGUMENT', `${what} must be a non-negative integer, got "${value}"`);
  return BigInt(value.trim());
}

export function parseId(value: string, what: string): bigint {
  const id = parseUint(value, what);
  if (id === 0n) throw new CliError('INVALID_ARGUMENT', `${what} must be at least 1`);
  return id;
}

export function parseSmallInt(value: string, what: string, max: number): number {
  const v = parseUint(value, what);
  if (v > BigInt(max)) throw new CliError('INVALID_ARGUMENT', `${what} must be at most ${max}, got ${v}`);
  return Number(v);
}

/**
 * A privacy budget ε: a decimal (e.g. 8 or 2.5; the chain stores it in thousandths) or `unlimited` (EPSILON_UNBOUNDED_MILLI,
 * libs/protocol: the uint32 maximum, 4294967.295, which also reads as unlimited) — the only budget that admits a job without DP noise.
 */
export function parseEpsilon(value: string, what = '--epsilon'): { epsilon: number; milli: number } {
  const v = value.trim().toLowerCase();
  if (v === 'unlimited') return { epsilon: EPSILON_UNBOUNDED_MILLI / 1000, milli: EPSILON_UNBOUNDED_MILLI };
  if (!/^[0-9]+(\.[0-9]{1,3})?$/.test(v))
    throw new CliError(
      'INVALID_ARGUMENT',
      `${what} must be \`unlimited\` or a decimal with at most 3 decimals (e.g. 8 or 2.5), got "${value}"`,
    );
  const milli = Math.round(Number(v) * 1000);
  if (milli > EPSILON_UNBOUNDED_MILLI)
    throw new CliError('INVALID_ARGUMENT', `${what} is at most 4294967.295 (= unlimited), got "${value}"`);
  if (milli === 0) throw new CliError('INVALID_ARGUMENT', `${what} must be positive, got "${value}"`);
  return { epsilon: milli / 1000, milli };
}

/** ε for people: `unlimited` for the chain's maximum, else the decimal. */
export function formatEpsilon(milli: number): string {
  return milli === EPSILON_UNBOUNDED_MILLI ? 'unlimited' : String(milli / 1000);
}

/** ε in thousandths as JSON shows it: the decimal; the unlimited budget is its value, 4294967.295. */
export function epsilonJson(milli: number): number {
  return milli / 1000;
}

const UNIT_SECONDS: Record<string, bigint> = { s: 1n, m: 60n, h: 3600n, d: 86_400n };

/** A licence duration: `0` (never expires), or an integer with a unit: `90s`, `15m`, `12h`, `30d`. Returns seconds. */
export function parseDuration(value: string, what = '--duration'): bigint {
  const m = /^([0-9]+)([smhd]?)$/.exec(value.trim());
  if (m === null || (m[2] === '' && m[1] !== '0'))
    throw new CliError(
      'INVALID_ARGUMENT',
      `${what} must be 0 (never expires) or a number with a unit s, m, h or d (e.g. 30d), got "${value}"`,
    );
  return BigInt(m[1]) * (UNIT_SECONDS[m[2]] ?? 1n);
}

/** Whole seconds of a window or run time (`parseDuration` forms, never 0). */
export function parseSeconds(value: unknown, what: string): number {
  const s = parseDuration(String(value), what);
  if (s === 0n) throw new CliError('INVALID_ARGUMENT', `${what} must be positive (e.g. 2h, 1d)`);
  if (s > 90n * 86_400n) throw new CliError('INVALID_ARGUMENT', `${what} is at most 90 days`);
  return Number(s);
}

export function parseDays(value: string, what = '--duration-days'): bigint {
  return parseUint(value, what) * 86_400n;
}

/** An EVM address (any case; checksummed on output by the chain client, which also rejects a bad checksum). */
export function parseAddress(value: string, what: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value.trim()))
    throw new CliError('INVALID_ADDRESS', `${what} is not a valid address (0x followed by 40 hex digits): "${value}"`);
  return value.trim();
}

export function formatEth(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = (wei % 10n ** 18n).toString().padStart(18, '0').replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''} ETH`;
}

export function formatExpiry(expiresAt: bigint): string {
  return expiresAt === 0n ? 'never' : new Date(Number(expiresAt) * 1000).toISOString();
}
