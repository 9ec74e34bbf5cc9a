// Licence ids for people. A licence's token id carries its terms (contracts/src/lib/LicenceId.sol:
// serial (56) | datasetId (64) | expiresAt (64) | maxJobs (32) | epsilonBudgetMilli (32) | granted (8)), so it is a
// 60-odd digit number; people see `<datasetId>-<serial>` (unique: the serial is). One home for the CLI and the web.
import { SealfoldError } from './errors.js';

const U64 = (1n << 64n) - 1n;
const U56 = (1n << 56n) - 1n;

/** The fields of a licence id (LicenceId.decode). */
export function decodeLicenceId(id: bigint) {
  return {
    serial: (id >> 200n) & U56,
    datasetId: (id >> 136n) & U64,
    expiresAt: (id >> 72n) & U64,
    maxJobs: Number((id >> 40n) & 0xffffffffn),
    epsilonBudgetMilli: Number((id >> 8n) & 0xffffffffn),
    granted: (id & 0xffn) !== 0n,
  };
}

/** `<datasetId>-<serial>`, e.g. `4-2`. */
export function licenceRef(id: bigint): string {
  const f = decodeLicenceId(id);
  return `${f.datasetId}-${f.serial}`;
}

export type ParsedLicenceRef = { full: bigint } | { datasetId: bigint; serial: bigint };

/** Either form: the full decimal token id or `<datasetId>-<serial>`; SealfoldError INVALID_LICENCE_REF otherwise. */
export function parseLicenceRef(value: string, what = 'licence id'): ParsedLicenceRef {
  const v = value.trim();
  const short = /^([0-9]{1,20})-([0-9]{1,17})$/.exec(v);
  if (short) {
    const datasetId = BigInt(short[1]);
    const serial = BigInt(short[2]);
    if (datasetId === 0n || datasetId > U64 || serial === 0n || serial > U56)
      throw new SealfoldError('INVALID_LICENCE_REF', `${what} "${value}": no licence has that dataset id or serial`);
    return { datasetId, serial };
  }
  if (/^[0-9]{1,78}$/.test(v) && BigInt(v) > 0n && BigInt(v) < 1n << 256n) return { full: BigInt(v) };
  throw new SealfoldError(
    'INVALID_LICENCE_REF',
    `${what} must be <datasetId>-<serial> (e.g. 4-2) or the full token id, got "${value}"`,
  );
}
