// The DP level a dataset's owner accepts (DatasetNFT terms `dpLevel`) against the level a buyer signed.
import type { DpLevel, JobDpParams } from '@sealfold/protocol';

/**
 * Why a signed request's DP level is not the one the dataset's terms count ε in, or null when it is. The ε on the
 * licence means a bound per row at record level and per owner at owner level (docs/PRIVACY.md): they are different
 * guarantees from different mechanisms (owner level adds only this silo's share of the noise and relies on the other
 * owners' shares), so a job is trained only at the level the owner published. Without noise the level changes
 * nothing (such jobs need an unlimited ε budget, checked elsewhere).
 */
export function dpLevelMismatch(
  datasetId: bigint,
  signed: Pick<JobDpParams, 'noiseMultiplierMilli' | 'level'>,
  terms: { readonly dpLevel: DpLevel },
): string | null {
  if (signed.noiseMultiplierMilli === 0 || signed.level === terms.dpLevel) return null;
  return `dataset ${datasetId} counts its ε budget at ${terms.dpLevel} level (its on-chain terms); the request signs ${signed.level}-level DP`;
}
