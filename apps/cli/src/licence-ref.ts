// Licence references on the command line: the pure encoding (decodeLicenceId, licenceRef, parseLicenceRef) lives in
// libs/protocol (the web uses it too); this resolves the short form `<datasetId>-<serial>` on chain.
import { decodeLicenceId, parseLicenceRef as parseRef, SealfoldError, type ParsedLicenceRef } from '@sealfold/protocol';
import { CliError } from './errors.js';

type SealfoldChain = import('@sealfold/chain').SealfoldChain;

export { decodeLicenceId, licenceRef } from '@sealfold/protocol';

/** Either form: the full decimal token id or `<datasetId>-<serial>`; a CliError INVALID_ARGUMENT otherwise. */
export function parseLicenceRef(value: string, what = 'licence id'): ParsedLicenceRef {
  try {
    return parseRef(value, what);
  } catch (error) {
    if (error instanceof SealfoldError) throw new CliError('INVALID_ARGUMENT', error.message);
    throw error;
  }
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
