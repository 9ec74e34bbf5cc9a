// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EscrowFixture} from "./utils/EscrowFixture.sol";
import {JobEscrow} from "../src/JobEscrow.sol";
import {ModelAsset} from "../src/ModelAsset.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// Model registration as a licensed derivative and the O(1) upstream pot (ECONOMICS §2.8, invariants 10 and 12).
contract ModelAssetTest is EscrowFixture {
    function _settled(uint256 n, uint256 mask, bool withCoordinator)
        internal
        returns (JobEscrow.Header memory h, JobEscrow.Pinned[] memory p, JobEscrow.JobReceipt memory r)
    {
        uint256[] memory ids = listDatasets(n);
        h = headerWith(2);
        bytes32 jobId;
        (jobId, p) = openJob(buyer, h, ids);
        r = receiptOf(jobId, fullRounds(n));
        if (!withCoordinator) vm.warp(uint256(h.runDeadline) + h.confirmWindow);
        settleAs(h, p, r, mask, withCoordinator);
    }

    function testBuyerRegistersTheModelOnceFromAConfirmedReceipt() public {
        (JobEscrow.Header memory h, JobEscrow.Pinned[] memory p, JobEscrow.JobReceipt memory r) = _settled(3, 7, true);
        vm.expectRevert(abi.encodeWithSelector(ModelAsset.NotBuyer.selector, stranger, buyer));
        vm.prank(stranger);
        models.register(h, p, r);
        vm.prank(buyer);
        uint256 id = models.register(h, p, r);
        assertEq(id, uint256(r.jobId), "model id = job id");
        assertEq(models.ownerOf(id), buyer, "minted to the buyer");
        (uint256[] memory parents, uint32[] memory shares, bytes32 root, uint32 stack) = models.parentsOf(p, r);
        assertEq(parents.length, 3, "three parents");
        assertEq(models.modelOf(id).parentsRoot, root, "root stored");
        assertEq(stack, 3 * (SHARE / 3), "equal weights: S = 3 x floor(s/3)");
        assertEq(shares[0], SHARE / 3, "share weighted by rows x rounds");
        // Invariant 10: provenance is pinned at most once per job.
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidSender.selector, address(0)));
        models.register(h, p, r);
    }

    /// The coordinator's confirmation alone (no silo paid on the receipt), or fewer than t silos, registers nothing.
    function testCoordinatorOnlyOrBelowThresholdRegistersNothing() public {
        (JobEscrow.Header memory h, JobEscrow.Pinned[] memory p, JobEscrow.JobReceipt memory r) = _settled(3, 0, true);
        bytes32 digest = escrow.hashReceipt(r);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ModelAsset.ReceiptNotConfirmed.selector, digest, 0, 2));
        models.register(h, p, r);
        settleAs(h, p, r, 1, false);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ModelAsset.ReceiptNotConfirmed.selector, digest, 1, 2));
        models.register(h, p, r);
        settleAs(h, p, r, 2, false);
        vm.prank(buyer);
        models.register(h, p, r);
    }

    function testDerivativesRefusedByAParent() public {
        uint256[] memory ids = new uint256[](2);
        ids[0] = listDataset(ownerAt(0), 0, RATE, ROWS);
        ids[1] = listDatasetWith(ownerAt(1), 1, address(0), RATE, ROWS, false, 0);
        JobEscrow.Header memory h = headerWith(2);
        (bytes32 jobId, JobEscrow.Pinned[] memory p) = openJob(buyer, h, ids);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(2));
        settleAs(h, p, r, 3, true);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ModelAsset.DerivativesNotAllowed.selector, ids[1]));
        models.register(h, p, r);
    }

    /// Invariant 12: per sale ownerCredit + fee + upstream == P; claims pay ⌊G·share⌋ − taken, are idempotent, and
    /// their sum never exceeds the pot ⌊G·S⌋.
    function testFuzzSalesAndClaimsNeverOverdrawThePot(uint96 price, uint8 sales) public {
        price = uint96(bound(price, 1, 1e24));
        sales = uint8(bound(sales, 1, 6));
        (JobEscrow.Header memory h, JobEscrow.Pinned[] memory p, JobEscrow.JobReceipt memory r) = _settled(3, 7, true);
        vm.prank(buyer);
        uint256 id = models.register(h, p, r);
        vm.prank(buyer);
        models.setLicencePrice(id, price);
        (uint256[] memory parents, uint32[] memory shares, bytes32 root, uint32 stack) = models.parentsOf(p, r);
        uint256 ownerBefore = models.owed(address(0), buyer);
        for (uint256 i; i < sales; ++i) {
            address who = vm.addr(1000 + i);
            vm.deal(who, price);
            vm.prank(who);
            models.buyLicence{value: price}(id);
            assertTrue(models.isLicensed(id, who), "licensed");
        }
        uint256 gross = uint256(price) * sales;
        uint256 pot = (gross * stack) / 1e6;
        assertEq(
            models.owed(address(0), buyer) - ownerBefore + models.accruedFees(address(0)) + pot, gross, "P = owner + fee + pot"
        );
        uint256 claimed;
        for (uint256 i; i < parents.length; ++i) {
            bytes32[] memory proof = _proof(parents, shares, i);
            claimed += models.claimUpstream(id, parents[i], shares[i], proof);
            assertEq(models.claimUpstream(id, parents[i], shares[i], proof), 0, "idempotent");
        }
        assertLe(claimed, pot, "pot never overdrawn");
        assertEq(address(models).balance, models.owed(address(0), buyer) + models.accruedFees(address(0)) + pot - claimed
            + _owedToParents(parents), "balance accounted");
        assertEq(models.modelOf(id).parentsRoot, root, "root");
        bytes32[] memory proof0 = _proof(parents, shares, 0);
        vm.expectRevert(abi.encodeWithSelector(ModelAsset.NotAParent.selector, id, parents[0]));
        models.claimUpstream(id, parents[0], shares[0] + 1, proof0);
    }

    /// Shells do not raise the stack: splitting one parent into equal-rate shells keeps S (weights are rows × rounds).
    function testFuzzShellsDoNotRaiseTheStack(uint64 rows, uint8 shells) public {
        rows = uint64(bound(rows, 10, 1e9));
        shells = uint8(bound(shells, 2, 5));
        JobEscrow.Pinned[] memory whole = new JobEscrow.Pinned[](2);
        whole[0] = JobEscrow.Pinned(1, owner, owner, RATE, rows, true, SHARE);
        whole[1] = JobEscrow.Pinned(2, stranger, stranger, RATE, rows, true, SHARE);
        JobEscrow.Pinned[] memory split = new JobEscrow.Pinned[](shells + 1);
        for (uint256 k; k < shells; ++k) {
            split[k] = JobEscrow.Pinned(10 + k, owner, owner, RATE, rows / shells, true, SHARE);
        }
        split[shells] = JobEscrow.Pinned(2, stranger, stranger, RATE, rows, true, SHARE);
        (,,, uint32 stackWhole) = models.parentsOf(whole, receiptOf(bytes32(uint256(1)), fullRounds(2)));
        (,,, uint32 stackSplit) = models.parentsOf(split, receiptOf(bytes32(uint256(1)), fullRounds(shells + 1)));
        assertLe(stackSplit, stackWhole, "S does not grow with shells");
        assertLe(stackWhole, SHARE, "S <= max s_i");
    }

    function _owedToParents(uint256[] memory parents) internal view returns (uint256 total) {
        for (uint256 i; i < parents.length; ++i) {
            total += models.owed(address(0), ownerAt(i));
        }
    }

    /// @dev Proof of leaf `i` in the tree `ModelAsset` builds (commutative pairs, odd node carried up).
    function _proof(uint256[] memory parents, uint32[] memory shares, uint256 i)
        internal
        view
        returns (bytes32[] memory proof)
    {
        bytes32[] memory level = new bytes32[](parents.length);
        for (uint256 k; k < parents.length; ++k) {
            level[k] = models.leafOf(parents[k], shares[k]);
        }
        bytes32[] memory path = new bytes32[](8);
        uint256 depth;
        for (uint256 width = level.length; width > 1; width = (width + 1) / 2) {
            uint256 sibling = i ^ 1;
            if (sibling < width) path[depth++] = level[sibling];
            for (uint256 j; j < width / 2; ++j) {
                (bytes32 a, bytes32 b) = (level[2 * j], level[2 * j + 1]);
                level[j] = a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
            }
            if (width % 2 == 1) level[width / 2] = level[width - 1];
            i /= 2;
        }
        proof = new bytes32[](depth);
        for (uint256 k; k < depth; ++k) {
            proof[k] = path[k];
        }
    }
}
