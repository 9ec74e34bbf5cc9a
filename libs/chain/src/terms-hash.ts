// The hash a buyer pins when it buys a licence, kept apart from the client so that a browser bundle can compute it
// from the terms it shows without pulling in the contract artifacts (ethers' ABI coder and keccak256 only).
import { AbiCoder } from 'ethers/abi';
import { keccak256 } from 'ethers/crypto';

/** DatasetNFT's `Terms` struct, in field order. */
export const TERMS_TUPLE =
  'tuple(uint256 priceWei, address paymentToken, uint256 priceToken, uint64 licenceDuration, uint32 maxJobs, ' +
  'uint32 epsilonBudgetMilli, uint16 minOwners, uint96 royaltyBps, bool listed)';

/** A listing's terms, every field present (callers validate; the ABI coder refuses out-of-range values). */
export interface TermsFields {
  readonly priceWei: bigint;
  readonly paymentToken: string;
  readonly priceToken: bigint;
  readonly licenceDuration: bigint;
  readonly maxJobs: number;
  readonly epsilonBudgetMilli: number;
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
          t.minOwners,
          t.royaltyBps,
          t.listed,
        ],
      ],
    ),
  );
}
