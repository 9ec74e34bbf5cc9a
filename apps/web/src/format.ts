// Display helpers: ETH amounts, durations, ε and its DP level, shortened addresses, licence references.
import { EPSILON_UNBOUNDED_MILLI } from '../../../libs/protocol/src/epsilon.js';
import { licenceRef } from '../../../libs/protocol/src/licence-id.js';

const WEI_PER_ETH = 10n ** 18n;

/** Wei (decimal string or bigint) as ETH with up to 6 decimals, exact (no float rounding of the integer part). */
export function formatEth(wei: string | bigint): string {
  const v = BigInt(wei);
  const whole = v / WEI_PER_ETH;
  const frac = (v % WEI_PER_ETH).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''} ETH`;
}

export function formatDuration(seconds: string | number | bigint): string {
  const s = Number(seconds);
  if (s === 0) return 'never expires';
  const days = s / 86_400;
  if (days >= 1) return `${+days.toFixed(1)} day${days === 1 ? '' : 's'}`;
  const hours = s / 3600;
  if (hours >= 1) return `${+hours.toFixed(1)} h`;
  return `${s} s`;
}

/** ε budget and what it means (docs/ARCHITECTURE.md "Choosing ε": ≤ 1 strong, ≈ 8 the common deployed setting). */
export function epsilonLevel(milli: number): { epsilon: string; level: string } {
  if (milli >= EPSILON_UNBOUNDED_MILLI) return { epsilon: 'unlimited', level: 'no DP budget' };
  const eps = milli / 1000;
  const level = eps <= 1 ? 'strong' : eps <= 8 ? 'moderate' : 'weak';
  return { epsilon: `ε = ${eps}`, level };
}

export const shortAddress = (a: string): string => (a.length > 12 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a);

export const formatTime = (unixSeconds: number): string =>
  unixSeconds === 0 ? 'never' : new Date(unixSeconds * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

/** A licence as people see it: `<datasetId>-<serial>` (libs/protocol licenceRef, as the CLI prints it). */
export const licenceLabel = (id: string): string => licenceRef(BigInt(id));
