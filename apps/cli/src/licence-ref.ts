// Licence ids for people. A licence's token id carries its terms (contracts/src/lib/LicenceId.sol:
// serial (56) | datasetId (64) | expiresAt (64) | maxJobs (32) | epsilonBudgetMilli (32) | granted (8)), so it is a
// 60-odd digit number; the CLI prints `<datasetId>-<serial>` (unique: the serial is) and accepts both forms.
import { CliError } from './errors.js';

type SealfoldChain = import('@sealfold/chain').SealfoldChain;

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

/** Either form: the full decimal token id or `<datasetId>-<serial>`. */
export function parseLicenceRef(value: string, what = 'licence id'): ParsedLicenceRef {
  const v = value.trim();
  const short = /^([0-9]{1,20})-([0-9]{1,17})$/.exec(v);
  if (short) {
    const datasetId = BigInt(short[1]);
    const serial = BigInt(short[2]);
    if (datasetId === 0n || datasetId > U64 || serial === 0n || serial > U56)
      throw new CliError('INVALID_ARGUMENT', `${what} "${value}": no licence has that dataset id or serial`);
    return { datasetId, serial };
  }
  if (/^[0-9]{1,78}$/.test(v) && BigInt(v) > 0n && BigInt(v) < 1n << 256n) return { full: BigInt(v) };
  throw new CliError(
    'INVALID_ARGUMENT',
    `${what} must be <datasetId>-<serial> as the CLI prints it (e.g. 4-2) or the full token id, got "${value}"`,
  );
}

/**
 * The full token id of a licence reference. The short form is looked up in the licence contract's issue events
 * (LicencePurchased / LicenceGranted, indexed by dataset id), so it works for the owner and the holder alike.
 */
export async function resolveLicenceRef(client: SealfoldChain, value: string, what = 'licence id'): Promise<bigint> {
  const ref = parseLicenceRef(value, what);
  if ('full' in ref) return ref.full;
  const addresses = client.addresses;
  if (!addresses) throw new CliError('NOT_DEPLOYED', 'the chain has no Sealfold contracts');
  const [{ Contract }, { ARTIFACTS }] = await Promise.all([import('ethers'), import('@sealfold/chain')]);
  const licence = new Contract(addresses.datasetLicence, ARTIFACTS.DatasetLicence.abi, client.provider);
  const from = Number(addresses.deployBlock ?? 0n);
  for (const filter of [
    licence.filters.LicencePurchased(null, ref.datasetId),
    licence.filters.LicenceGranted(null, ref.datasetId),
  ]) {
    for (const log of await licence.queryFilter(filter, from, 'latest')) {
      const id = BigInt(log.topics[1]);
      if (decodeLicenceId(id).serial === ref.serial) return id;
    }
  }
  throw new CliError('NO_SUCH_LICENCE', `no licence ${ref.datasetId}-${ref.serial} was issued on this chain`);
}
