// The hash a buyer pins when it buys a licence, kept apart from the client so that a browser bundle can compute it
// from the terms it shows without pulling in the contract artifacts (ethers' ABI coder and keccak256 only).
import { AbiCoder } from 'ethers/abi';
import { keccak256 } from 'ethers/crypto';
import type { DpLevel } from '@sealfold/protocol';

/** DatasetNFT's `Terms.dpLevel` codes, in order (DP_LEVEL_RECORD = 0, DP_LEVEL_OWNER = 1); the names are libs/protocol's
 * DP levels, which a buyer signs in its job request. */
export const DATASET_DP_LEVELS: readonly DpLevel[] = ['record', 'owner'];
export type DatasetDpLevel = DpLevel;

/** The on-chain code of a DP level; throws a RangeError for anything else. */
export function dpLevelCode(level: DatasetDpLevel): number {
  const code = DATASET_DP_LEVELS.indexOf(level);
  if (code < 0) throw new RangeError(`unknown DP level ${String(level)}: expected ${DATASET_DP_LEVELS.join(' or ')}`);
  return code;
}

/** The DP level of an on-chain code; throws a RangeError for a code DatasetNFT never stores. */
export function dpLevelOf(code: number | bigint): DatasetDpLevel {
  const level = DATASET_DP_LEVELS[Number(code)];
  if (level === undefined) throw new RangeError(`unknown DatasetNFT DP level code ${code}`);
  return level;
}

/** DatasetNFT's `Terms` struct, in field order. */
export const TERMS_TUPLE =
  'tuple(uint256 priceWei, address paymentToken, uint256 priceToken, uint64 licenceDuration, uint32 maxJobs, ' +
  'uint32 epsilonBudgetMilli, uint8 dpLevel, uint16 minOwners, uint96 royaltyBps, bool listed)';

/** A listing's terms, every field present (callers validate; the ABI coder refuses out-of-range values). */
export interface TermsFields {
  readonly priceWei: bigint;
  readonly paymentToken: string;
  readonly priceToken: bigint;
  readonly licenceDuration: bigint;
  readonly maxJobs: number;
  readonly epsilonBudgetMilli: number;
  /** What ε protects: 'record' (any one row) or 'owner' (the whole dataset); DatasetNFT.DP_LEVEL_* on chain. */
  readonly dpLevel: DatasetDpLevel;
  readonly minOwners: number;
  readonly royaltyBps: number;
  readonly listed: boolean;
}

/** keccak256(abi.encode(terms)), as DatasetNFT.termsHashOf computes it over the whole listing. */
export function encodeTermsHash(t: TermsFields): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      [TERMS_TUPLE],
      [
        [
          t.priceWei,
          t.paymentToken,
          t.priceToken,
          t.licenceDuration,
          t.maxJobs,
          t.epsilonBudgetMilli,
          dpLevelCode(t.dpLevel),
          t.minOwners,
          t.royaltyBps,
          t.listed,
        ],
      ],
    ),
  );
}
