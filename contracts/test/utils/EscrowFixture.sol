// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Fixture} from "./Fixture.sol";
import {DatasetNFT} from "../../src/DatasetNFT.sol";
import {JobEscrow} from "../../src/JobEscrow.sol";
import {ModelAsset} from "../../src/ModelAsset.sol";

/// @notice Deploys JobEscrow and ModelAsset beside the fixture's contracts and builds jobs, receipts and signatures.
/// Dataset k of a test is owned by `ownerAt(k)` and its silo signs with `siloKey(k)`.
abstract contract EscrowFixture is Fixture {
    JobEscrow internal escrow;
    ModelAsset internal models;
    address internal coord;

    uint256 internal constant COORD_KEY = 0xC00D;
    uint96 internal constant RATE = 1e9;
    uint64 internal constant ROWS = 1000;
    uint32 internal constant ROUNDS = 5;
    uint32 internal constant SHARE = 100_000;

    mapping(uint256 datasetId => uint256) internal siloKeyOf;
    uint256 private _nextRequest;

    function setUp() public virtual override {
        super.setUp();
        escrow = new JobEscrow(nft, licences, treasury, FEE_BPS);
        models = new ModelAsset(escrow, treasury, FEE_BPS);
        coord = vm.addr(COORD_KEY);
    }

    function siloKey(uint256 k) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode("silo", k)));
    }

    function ownerAt(uint256 k) internal pure returns (address) {
        return vm.addr(uint256(keccak256(abi.encode("owner", k))));
    }

    /// @notice Registers a dataset for `who` with job terms; its silo key is `siloKey(k)`.
    function listDataset(address who, uint256 k, uint96 rate, uint64 rows) internal returns (uint256 id) {
        return listDatasetWith(who, k, address(0), rate, rows, true, SHARE);
    }

    function listDatasetWith(
        address who,
        uint256 k,
        address currency,
        uint96 rate,
        uint64 rows,
        bool derivatives,
        uint32 share
    ) internal returns (uint256 id) {
        id = registerAs(who, defaultTerms());
        vm.prank(who);
        nft.setJobTerms(
            id,
            DatasetNFT.JobTerms({
                currency: currency,
                ratePerRowRound: rate,
                rows: rows,
                derivativesAllowed: derivatives,
                derivativeShareMicros: share,
                siloSigner: vm.addr(siloKey(k))
            })
        );
        siloKeyOf[id] = siloKey(k);
    }

    /// @notice `n` datasets of distinct owners at the default rate and rows.
    function listDatasets(uint256 n) internal returns (uint256[] memory ids) {
        ids = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            ids[k] = listDataset(ownerAt(k), k, RATE, ROWS);
        }
    }

    function headerWith(uint16 t) internal view returns (JobEscrow.Header memory) {
        return JobEscrow.Header({
            currency: address(0),
            coordinator: coord,
            threshold: t,
            rounds: ROUNDS,
            runDeadline: uint40(block.timestamp + 1 days),
            confirmWindow: 1 days,
            fallbackWindow: 2 days,
            feeBps: FEE_BPS
        });
    }

    function pinnedOf(uint256[] memory ids) internal view returns (JobEscrow.Pinned[] memory p) {
        p = new JobEscrow.Pinned[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            (DatasetNFT.JobTerms memory t, address owner_) = nft.jobTermsOf(ids[i]);
            p[i] = JobEscrow.Pinned({
                datasetId: ids[i],
                payee: owner_,
                signer: t.siloSigner,
                rate: t.ratePerRowRound,
                rows: t.rows,
                derivativesAllowed: t.derivativesAllowed,
                derivativeShareMicros: t.derivativeShareMicros
            });
        }
    }

    function priceOf(JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) internal pure returns (uint256 total) {
        for (uint256 i; i < p.length; ++i) {
            total += uint256(p[i].rate) * p[i].rows * h.rounds;
        }
    }

    function buyLicences(address who, uint256[] memory ids) internal returns (uint256[] memory lids) {
        lids = new uint256[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            lids[i] = buyAs(who, ids[i], PRICE);
        }
    }

    /// @notice Opens a job as `who` (licences bought first) at the current terms, paying the exact price.
    function openJob(address who, JobEscrow.Header memory h, uint256[] memory ids)
        internal
        returns (bytes32 jobId, JobEscrow.Pinned[] memory p)
    {
        uint256[] memory lids = buyLicences(who, ids);
        p = pinnedOf(ids);
        uint256 total = priceOf(h, p);
        vm.deal(who, who.balance + total);
        vm.prank(who);
        jobId = escrow.open{value: total}(keccak256(abi.encode("request", _nextRequest++)), h, ids, lids, total);
    }

    /// @notice A receipt in which dataset i contributed `rounds[i]` rounds.
    function receiptOf(bytes32 jobId, uint32[] memory rounds) internal pure returns (JobEscrow.JobReceipt memory r) {
        uint32 completed;
        for (uint256 i; i < rounds.length; ++i) {
            if (rounds[i] > completed) completed = rounds[i];
        }
        r = JobEscrow.JobReceipt({
            jobId: jobId,
            roundsCompleted: completed,
            modelDigest: keccak256(abi.encode("model", jobId)),
            modelCidDigest: keccak256(abi.encode("cid", jobId)),
            transcriptRoot: keccak256(abi.encode("transcript", jobId)),
            roundsByDataset: rounds,
            epsilonSpentMilli: 2500,
            valuationDigest: keccak256(abi.encode("loo", jobId))
        });
    }

    function fullRounds(uint256 n) internal pure returns (uint32[] memory rounds) {
        rounds = new uint32[](n);
        for (uint256 i; i < n; ++i) {
            rounds[i] = ROUNDS;
        }
    }

    function sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @notice The silos of `mask` (by their pinned keys) and, if `withCoordinator`, the coordinator sign `r`.
    function signatures(
        JobEscrow.JobReceipt memory r,
        JobEscrow.Pinned[] memory p,
        uint256 mask,
        bool withCoordinator
    ) internal view returns (JobEscrow.Signatures memory s) {
        bytes32 digest = escrow.hashReceipt(r);
        s.signerMask = mask;
        if (withCoordinator) s.coordinator = sign(COORD_KEY, digest);
        for (uint256 i; i < p.length; ++i) {
            if ((mask >> i) & 1 == 1) s.silos = bytes.concat(s.silos, sign(siloKeyOf[p[i].datasetId], digest));
        }
    }

    function allMask(uint256 n) internal pure returns (uint256) {
        return n == 256 ? type(uint256).max : (uint256(1) << n) - 1;
    }

    function settleAs(
        JobEscrow.Header memory h,
        JobEscrow.Pinned[] memory p,
        JobEscrow.JobReceipt memory r,
        uint256 mask,
        bool withCoordinator
    ) internal returns (uint256) {
        return escrow.settle(h, p, r, signatures(r, p, mask, withCoordinator));
    }
}
