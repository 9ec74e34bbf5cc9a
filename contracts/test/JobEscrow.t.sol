// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EscrowFixture} from "./utils/EscrowFixture.sol";
import {TestToken, FeeOnTransferToken} from "./utils/TestTokens.sol";
import {DatasetNFT} from "../src/DatasetNFT.sol";
import {DatasetLicence} from "../src/DatasetLicence.sol";
import {JobEscrow} from "../src/JobEscrow.sol";
import {PullPayments} from "../src/PullPayments.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @notice A contract silo signer (e.g. a Safe) that accepts exactly the digests its owner approved.
contract ApprovingWallet is IERC1271 {
    mapping(bytes32 => bool) public approved;

    function approve(bytes32 digest) external {
        approved[digest] = true;
    }

    function isValidSignature(bytes32 digest, bytes memory) external view returns (bytes4) {
        return approved[digest] ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}

/// Unit and fuzz tests of JobEscrow (docs/ECONOMICS.md §2, §3 invariants 2–9, §4 attacks). The attacks were run
/// against naive escrows — JobEscrow with one check removed or weakened (paid bit ignored; job id = request digest
/// alone; silo signatures not checked once the coordinator confirmed; a paid bit reverting the batch; settle after
/// settleEnd) — and the tests named in each comment failed there, i.e. the attack went through (commit message of
/// "attack tests seen failing against naive escrows" lists which).
contract JobEscrowTest is EscrowFixture {
    event ContributionPaid(
        bytes32 indexed jobId, uint256 indexed datasetId, address indexed payee, uint32 rounds, uint256 amount
    );

    uint256 internal constant PAY = uint256(RATE) * ROWS * ROUNDS;

    function _job(uint256 n, uint16 t)
        internal
        returns (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p)
    {
        uint256[] memory ids = listDatasets(n);
        h = headerWith(t);
        (jobId, p) = openJob(buyer, h, ids);
    }

    // ---------------------------------------------------------------- open

    function testOpenLocksTheExactPriceAndPinsTheTerms() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        (JobEscrow.Job memory job, address currency) = escrow.jobOf(jobId);
        assertEq(job.locked, 3 * PAY, "locked = sum of rate x rows x R");
        assertEq(address(escrow).balance, 3 * PAY, "escrowed");
        assertEq(job.buyer, buyer, "buyer");
        assertEq(currency, address(0), "ETH");
        assertEq(job.termsHash, escrow.termsHashOf(h, p), "terms hash");
        assertEq(job.settleEnd, h.runDeadline + 3 days, "settle end");
        assertTrue(escrow.isOpenWith(jobId, escrow.termsHashOf(h, p)), "silo view: open with these terms");
        h.rounds += 1;
        assertFalse(escrow.isOpenWith(jobId, escrow.termsHashOf(h, p)), "silo view: other terms");
        vm.warp(h.runDeadline);
        h.rounds -= 1;
        assertFalse(escrow.isOpenWith(jobId, escrow.termsHashOf(h, p)), "silo view: past the run deadline");
    }

    /// Attack (§4): the owner raises the rate between the buyer's read and `open`. The exact-payment rule refuses it.
    /// (Naive version: `msg.value >= total` with the change refunded charged the new rate without the buyer's say.)
    function testOwnerRaisingTheRateBeforeOpenSellsNothing() public {
        uint256[] memory ids = listDatasets(3);
        JobEscrow.Header memory h = headerWith(2);
        uint256[] memory lids = buyLicences(buyer, ids);
        uint256 seen = priceOf(h, pinnedOf(ids));
        vm.prank(ownerAt(1));
        nft.setJobTerms(ids[1], DatasetNFT.JobTerms(address(0), RATE * 2, ROWS, true, SHARE, vm.addr(siloKey(1))));
        vm.deal(buyer, seen);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.IncorrectPayment.selector, seen + PAY, seen));
        escrow.open{value: seen}(keccak256("r"), h, ids, lids, seen);
    }

    function testOpenRefusesBadInput() public {
        uint256[] memory ids = listDatasets(3);
        uint256[] memory lids = buyLicences(buyer, ids);
        JobEscrow.Header memory h = headerWith(2);
        uint256 total = 3 * PAY;
        vm.deal(buyer, 100 ether);
        vm.startPrank(buyer);

        vm.expectRevert(abi.encodeWithSelector(JobEscrow.IncorrectPayment.selector, total, total - 1));
        escrow.open{value: total - 1}(keccak256("r"), h, ids, lids, total);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.IncorrectPayment.selector, total, total - 1));
        escrow.open{value: total}(keccak256("r"), h, ids, lids, total - 1);

        JobEscrow.Header memory bad = headerWith(1);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadHeader.selector, "threshold"));
        escrow.open{value: total}(keccak256("r"), bad, ids, lids, total);
        bad = headerWith(4);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadHeader.selector, "threshold"));
        escrow.open{value: total}(keccak256("r"), bad, ids, lids, total);
        bad = headerWith(2);
        bad.confirmWindow = 1 hours;
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadHeader.selector, "confirmWindow"));
        escrow.open{value: total}(keccak256("r"), bad, ids, lids, total);
        bad = headerWith(2);
        bad.runDeadline = uint40(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadHeader.selector, "runDeadline"));
        escrow.open{value: total}(keccak256("r"), bad, ids, lids, total);
        bad = headerWith(2);
        bad.feeBps = 0;
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadHeader.selector, "feeBps"));
        escrow.open{value: total}(keccak256("r"), bad, ids, lids, total);
        bad = headerWith(2);
        bad.coordinator = address(0);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadHeader.selector, "coordinator"));
        escrow.open{value: total}(keccak256("r"), bad, ids, lids, total);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadDatasetCount.selector, 3, 2));
        escrow.open{value: total}(keccak256("r"), h, ids, _pair(lids[0], lids[1]), total);
        vm.stopPrank();
    }

    function testOpenRefusesBadDatasetsAndLicences() public {
        uint256[] memory ids = listDatasets(3);
        uint256[] memory lids = buyLicences(buyer, ids);
        JobEscrow.Header memory h = headerWith(2);
        uint256 total = 3 * PAY;
        vm.deal(buyer, 100 ether);
        vm.startPrank(buyer);
        uint256[] memory unsorted = new uint256[](3);
        (unsorted[0], unsorted[1], unsorted[2]) = (ids[1], ids[0], ids[2]);
        uint256[] memory unsortedL = new uint256[](3);
        (unsortedL[0], unsortedL[1], unsortedL[2]) = (lids[1], lids[0], lids[2]);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.DatasetIdsNotSorted.selector, 1));
        escrow.open{value: total}(keccak256("r"), h, unsorted, unsortedL, total);

        uint256[] memory wrongLicences = new uint256[](3);
        (wrongLicences[0], wrongLicences[1], wrongLicences[2]) = (lids[1], lids[1], lids[2]);
        vm.expectRevert(
            abi.encodeWithSelector(
                JobEscrow.LicenceInvalid.selector, lids[1], ids[0], DatasetLicence.Validity.WrongDataset
            )
        );
        escrow.open{value: total}(keccak256("r"), h, ids, wrongLicences, total);
        vm.stopPrank();

        // Someone without the licences cannot open a job on them.
        vm.deal(stranger, total);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(JobEscrow.LicenceInvalid.selector, lids[0], ids[0], DatasetLicence.Validity.NotHolder)
        );
        escrow.open{value: total}(keccak256("r"), h, ids, lids, total);

        // A dataset without job terms offers no paid jobs.
        uint256 plain = registerAs(owner, defaultTerms());
        uint256[] memory one = new uint256[](3);
        (one[0], one[1], one[2]) = (ids[0], ids[1], plain);
        uint256[] memory oneL = new uint256[](3);
        (oneL[0], oneL[1], oneL[2]) = (lids[0], lids[1], buyAs(buyer, plain, PRICE));
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.JobsNotOffered.selector, plain, address(0)));
        escrow.open{value: total}(keccak256("r"), h, one, oneL, total);
    }

    function testOpenOncePerJob() public {
        uint256[] memory ids = listDatasets(3);
        uint256[] memory lids = buyLicences(buyer, ids);
        JobEscrow.Header memory h = headerWith(2);
        uint256 total = 3 * PAY;
        vm.deal(buyer, 100 ether);

        vm.prank(buyer);
        bytes32 jobId = escrow.open{value: total}(keccak256("r"), h, ids, lids, total);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.JobExists.selector, jobId));
        escrow.open{value: total}(keccak256("r"), h, ids, lids, total);
    }

    /// Attack (§4): a third party opens an escrow for the buyer's request, to squat its job id. The id is keyed by
    /// the opener, so the buyer's own job is untouched and silos (which look up `jobIdOf(request.buyer, …)`) ignore
    /// the squatter's. (Naive version: id = request digest alone; the squat made the buyer's `open` revert.)
    function testAThirdPartyCannotSquatTheBuyersJobId() public {
        uint256[] memory ids = listDatasets(2);
        JobEscrow.Header memory h = headerWith(2);
        bytes32 request = keccak256("buyer's request");
        uint256 total = 2 * PAY;
        uint256[] memory strangerLids = buyLicences(stranger, ids);
        vm.deal(stranger, total);
        vm.prank(stranger);
        bytes32 squatted = escrow.open{value: total}(request, h, ids, strangerLids, total);
        uint256[] memory lids = buyLicences(buyer, ids);
        vm.deal(buyer, total);
        vm.prank(buyer);
        bytes32 jobId = escrow.open{value: total}(request, h, ids, lids, total);
        assertTrue(jobId != squatted, "distinct jobs");
        assertEq(jobId, escrow.jobIdOf(buyer, request), "the buyer's job is where silos look");
    }

    // ---------------------------------------------------------------- settle: normal path

    function testSettlePaysEachDatasetForItsRoundsOnTheCoordinatorsConfirmation() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        uint32[] memory rounds = fullRounds(3);
        rounds[2] = 2; // silo 2 dropped out after round 2: paid for the 2 rounds it contributed to
        JobEscrow.JobReceipt memory r = receiptOf(jobId, rounds);
        uint256 fee = (PAY * FEE_BPS) / 10_000;
        JobEscrow.Signatures memory s = signatures(r, p, allMask(3), true);
        vm.expectEmit(true, true, true, true);
        emit ContributionPaid(jobId, p[0].datasetId, ownerAt(0), ROUNDS, PAY);
        uint256 paid = escrow.settle(h, p, r, s);
        uint256 partPay = uint256(RATE) * ROWS * 2;
        uint256 partFee = (partPay * FEE_BPS) / 10_000;
        assertEq(paid, 2 * PAY + partPay, "paid now");
        assertEq(escrow.owed(address(0), ownerAt(0)), PAY - fee, "owner 0 credited, less fee");
        assertEq(escrow.owed(address(0), ownerAt(2)), partPay - partFee, "dropout paid its rounds");
        assertEq(escrow.accruedFees(address(0)), 2 * fee + partFee, "fees");
        (JobEscrow.Job memory job,) = escrow.jobOf(jobId);
        assertEq(job.paid, paid, "paid");
        assertEq(job.paidMask, 7, "all three paid");
        JobEscrow.Confirmation memory c = escrow.confirmationOf(jobId, escrow.hashReceipt(r));
        assertTrue(c.byCoordinator, "confirmed by the coordinator");
        assertEq(c.silos, 3, "three silos");

        // Every dataset paid: the buyer's refund opens early and is exact.
        vm.prank(stranger);
        assertEq(escrow.refund(jobId), 3 * PAY - paid, "refund = locked - paid");
        assertEq(escrow.owed(address(0), buyer), 3 * PAY - paid, "buyer credited");

        uint256 before = ownerAt(0).balance;
        vm.prank(ownerAt(0));
        escrow.withdraw(address(0));
        assertEq(ownerAt(0).balance - before, PAY - fee, "withdrawn");
        vm.prank(ownerAt(0));
        vm.expectRevert(PullPayments.NothingToWithdraw.selector);
        escrow.withdraw(address(0));
        escrow.withdrawFees(address(0));
        assertEq(treasury.balance, 2 * fee + partFee, "treasury");
        assertEq(address(escrow).balance, 3 * PAY - paid + 2 * (PAY - fee) + partPay - partFee - (PAY - fee), "rest");
    }

    /// A silo settles alone with its own signature and the coordinator's, and later (after the coordinator's
    /// window) another attests on the receipt the coordinator confirmed, without the coordinator.
    function testLateSingleAttestationOnAConfirmedReceipt() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        settleAs(h, p, r, 1, true);
        vm.warp(h.runDeadline + h.confirmWindow + 1 hours);
        settleAs(h, p, r, 4, false);
        assertEq(escrow.owed(address(0), ownerAt(2)), PAY - (PAY * FEE_BPS) / 10_000, "late silo paid");
        assertEq(escrow.owed(address(0), ownerAt(1)), 0, "silo 1 has not signed");
    }

    /// Attack (§4): the coordinator forges a receipt. Its key alone confirms but pays nothing; signing in a silo's
    /// place fails (`BadSignature`). (Naive version: paying every pinned dataset on the coordinator's signature,
    /// the "confirmation is enough" reading, paid all three here.)
    function testTheCoordinatorsKeyAloneMovesNoMoney() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        assertEq(settleAs(h, p, r, 0, true), 0, "coordinator-only receipt pays 0");
        assertEq(escrow.owed(address(0), ownerAt(0)), 0, "nobody credited");
        (JobEscrow.Job memory job,) = escrow.jobOf(jobId);
        assertEq(job.paid, 0, "nothing paid");

        bytes32 digest = escrow.hashReceipt(r);
        JobEscrow.Signatures memory forged = JobEscrow.Signatures(sign(COORD_KEY, digest), 1, sign(COORD_KEY, digest));
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadSignature.selector, 0));
        escrow.settle(h, p, r, forged);

        // Nor can the coordinator pair silo signatures of one receipt with its own of another.
        JobEscrow.JobReceipt memory other = receiptOf(jobId, fullRounds(3));
        other.modelDigest = keccak256("the coordinator's model");
        JobEscrow.Signatures memory mixed = signatures(r, p, 1, false);
        mixed.coordinator = sign(COORD_KEY, escrow.hashReceipt(other));
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadSignature.selector, 0));
        escrow.settle(h, p, other, mixed);
        mixed = signatures(other, p, 1, false);
        mixed.coordinator = sign(siloKey(0), escrow.hashReceipt(other));
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadCoordinatorSignature.selector, jobId));
        escrow.settle(h, p, other, mixed);
    }

    /// Attack (§4): front-running part of a batch with one of its signatures. The batch still goes through and
    /// skips the paid dataset. (Naive version: reverting on an already-paid bit let anyone block the batch.)
    function testFrontRunningPartOfABatchDoesNotRevertIt() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        JobEscrow.Signatures memory batch = signatures(r, p, 7, true);
        vm.prank(stranger);
        settleAs(h, p, r, 2, true);
        assertEq(escrow.settle(h, p, r, batch), 2 * PAY, "the rest paid");
        assertEq(escrow.settle(h, p, r, batch), 0, "replaying the batch pays nothing");
        (JobEscrow.Job memory job,) = escrow.jobOf(jobId);
        assertEq(job.paid, 3 * PAY, "each dataset once");
    }

    /// Attack (§4): the coordinator equivocates, signing two receipts. Each silo is paid once, on the receipt it
    /// signed; a silo cannot be paid twice by signing both. (Naive version: a paid bit per receipt digest instead
    /// of per job paid silos 0 and 1 twice.)
    function testEquivocatingCoordinatorPaysEachSiloAtMostOnce() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory a = receiptOf(jobId, fullRounds(3));
        JobEscrow.JobReceipt memory b = receiptOf(jobId, fullRounds(3));
        b.modelDigest = keccak256("another model");
        settleAs(h, p, a, 3, true);
        settleAs(h, p, b, 7, true);
        (JobEscrow.Job memory job,) = escrow.jobOf(jobId);
        assertEq(job.paid, 3 * PAY, "three payments, not five");
        assertEq(escrow.confirmationOf(jobId, escrow.hashReceipt(b)).silos, 1, "only silo 2 paid on b");
    }

    function testSettleRefusesMismatchedTermsAndReceipts() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        JobEscrow.Signatures memory s = signatures(r, p, 7, true);

        // Redirecting a payee or raising the rows: the terms no longer hash to the pinned ones.
        JobEscrow.Pinned[] memory q = pinnedOf(_ids(p));
        q[0].payee = stranger;
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.TermsMismatch.selector, jobId));
        escrow.settle(h, q, r, s);
        q = pinnedOf(_ids(p));
        q[1].rows += 1;
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.TermsMismatch.selector, jobId));
        escrow.settle(h, q, r, s);

        // More rounds than R, or than the job completed.
        uint32[] memory tooMany = fullRounds(3);
        tooMany[0] = ROUNDS + 1;
        JobEscrow.JobReceipt memory over = receiptOf(jobId, tooMany);
        _expectSettleRevert(abi.encodeWithSelector(JobEscrow.BadReceipt.selector, jobId), h, p, over, 7, true);
        over = receiptOf(jobId, fullRounds(3));
        over.roundsCompleted = ROUNDS - 1;
        _expectSettleRevert(abi.encodeWithSelector(JobEscrow.BadReceipt.selector, jobId), h, p, over, 7, true);

        // A mask beyond the job's datasets, or signatures that do not match the mask.
        s.signerMask = 15;
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadSignerMask.selector, 15, s.silos.length));
        escrow.settle(h, p, r, s);
        s.signerMask = 3;
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadSignerMask.selector, 3, s.silos.length));
        escrow.settle(h, p, r, s);

        // A silo signature in another silo's slot.
        s = signatures(r, p, 3, true);
        bytes32 digest = escrow.hashReceipt(r);
        s.silos = bytes.concat(sign(siloKey(1), digest), sign(siloKey(0), digest));
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadSignature.selector, 0));
        escrow.settle(h, p, r, s);
    }

    /// A silo whose signer is a contract (ERC-1271) is paid when the contract approves the digest.
    function testERC1271SiloSigner() public {
        ApprovingWallet wallet = new ApprovingWallet();
        uint256[] memory ids = listDatasets(2);
        vm.prank(ownerAt(1));
        nft.setJobTerms(ids[1], DatasetNFT.JobTerms(address(0), RATE, ROWS, true, SHARE, address(wallet)));
        JobEscrow.Header memory h = headerWith(2);
        (bytes32 jobId, JobEscrow.Pinned[] memory p) = openJob(buyer, h, ids);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(2));
        JobEscrow.Signatures memory s = signatures(r, p, 1, true);
        s.signerMask = 3;
        s.silos = bytes.concat(s.silos, new bytes(65));
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadSignature.selector, 1));
        escrow.settle(h, p, r, s);
        wallet.approve(escrow.hashReceipt(r));
        assertEq(escrow.settle(h, p, r, s), 2 * PAY, "both paid");
    }

    // ---------------------------------------------------------------- fallback and windows

    function testFallbackWithTSilosAfterTheCoordinatorsWindow() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(4, 3);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(4));
        uint256 confirmEnd = uint256(h.runDeadline) + h.confirmWindow;
        _expectSettleRevert(
            abi.encodeWithSelector(JobEscrow.CoordinatorWindowOpen.selector, jobId, confirmEnd), h, p, r, 7, false
        );
        vm.warp(confirmEnd);
        _expectSettleRevert(
            abi.encodeWithSelector(JobEscrow.CoordinatorWindowClosed.selector, jobId, confirmEnd), h, p, r, 7, true
        );
        _expectSettleRevert(abi.encodeWithSelector(JobEscrow.BelowThreshold.selector, 2, 3), h, p, r, 3, false);
        assertEq(settleAs(h, p, r, 7, false), 3 * PAY, "t silos settle without the coordinator");
        assertTrue(escrow.confirmationOf(jobId, escrow.hashReceipt(r)).byQuorum, "quorum");
        assertEq(settleAs(h, p, r, 8, false), PAY, "the fourth attests alone on the confirmed receipt");
    }

    /// Attack (§4): a silo withholds its signature to extort the others. With n = t + 1 the others still reach t
    /// in the fallback; the withholder forfeits only its own share, refunded to the buyer. With n = t and no
    /// coordinator the fallback is blocked: the documented limit (ECONOMICS §2.5), refunded in full at settleEnd.
    /// (Naive version: requiring every silo's signature, t = n, let one withholder block all payments.)
    function testAWithholdingSiloForfeitsOnlyItsOwnShare() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        vm.warp(uint256(h.runDeadline) + h.confirmWindow);
        assertEq(settleAs(h, p, r, 3, false), 2 * PAY, "the other two paid");
        vm.warp(uint256(h.runDeadline) + h.confirmWindow + h.fallbackWindow);
        assertEq(escrow.refund(jobId), PAY, "the withholder's share goes back to the buyer");

        (bytes32 job2, JobEscrow.Header memory h2, JobEscrow.Pinned[] memory p2) = _job(2, 2);
        JobEscrow.JobReceipt memory r2 = receiptOf(job2, fullRounds(2));
        vm.warp(uint256(h2.runDeadline) + h2.confirmWindow);
        _expectSettleRevert(abi.encodeWithSelector(JobEscrow.BelowThreshold.selector, 1, 2), h2, p2, r2, 1, false);
    }

    function testRefundOnlyAfterTheWindowsAndOnce() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        settleAs(h, p, r, 1, true);
        uint256 settleEnd = uint256(h.runDeadline) + h.confirmWindow + h.fallbackWindow;
        vm.warp(settleEnd - 1);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.RefundNotYet.selector, jobId, settleEnd));
        escrow.refund(jobId);
        settleAs(h, p, r, 2, false); // the last second for an attestation
        vm.warp(settleEnd);
        // Ocean #1269: a claim after expiry must revert, never turn into a silent cancel.
        _expectSettleRevert(
            abi.encodeWithSelector(JobEscrow.SettlementClosed.selector, jobId, settleEnd), h, p, r, 4, false
        );
        assertEq(escrow.refund(jobId), PAY, "silo 2's share refunded");
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.JobClosed.selector, jobId));
        escrow.refund(jobId);
        _expectSettleRevert(abi.encodeWithSelector(JobEscrow.JobClosed.selector, jobId), h, p, r, 4, false);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.UnknownJob.selector, bytes32(uint256(1))));
        escrow.refund(bytes32(uint256(1)));
    }

    /// Invariants 6 and 7: for any timestamp, settling and refunding are never both possible (while a dataset is
    /// unpaid); refund before settleEnd fails, settle from settleEnd fails.
    function testFuzzSettleAndRefundWindowsAreDisjoint(uint256 offset) public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        settleAs(h, p, r, 1, true);
        uint256 settleEnd = uint256(h.runDeadline) + h.confirmWindow + h.fallbackWindow;
        vm.warp(bound(offset, block.timestamp, settleEnd + 10 days));
        JobEscrow.Signatures memory s = signatures(r, p, 2, false);
        bool settled;
        bool refunded;
        try escrow.settle(h, p, r, s) {
            settled = true;
        } catch {}
        try escrow.refund(jobId) {
            refunded = true;
        } catch {}
        assertTrue(settled != refunded, "exactly one of settle and refund");
        assertEq(settled ? 1 : 0, block.timestamp < settleEnd ? 1 : 0, "settle iff before settleEnd");
    }

    // ---------------------------------------------------------------- replay

    /// Attack (§4): replaying the signatures of job A on job B (same datasets, same terms). The digest binds the
    /// job id; the signatures do not verify. (Naive version: a digest over the receipt without the job id paid job
    /// B from A's signatures.)
    function testSignaturesOfOneJobDoNotSettleAnother() public {
        uint256[] memory ids = listDatasets(3);
        JobEscrow.Header memory h = headerWith(2);
        (bytes32 jobA, JobEscrow.Pinned[] memory p) = openJob(buyer, h, ids);
        (bytes32 jobB,) = openJob(buyer, h, ids);
        JobEscrow.JobReceipt memory ra = receiptOf(jobA, fullRounds(3));
        JobEscrow.Signatures memory sa = signatures(ra, p, 7, true);
        JobEscrow.JobReceipt memory rb = receiptOf(jobA, fullRounds(3));
        rb.jobId = jobB;
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadCoordinatorSignature.selector, jobB));
        escrow.settle(h, p, rb, sa);
        sa.coordinator = sign(COORD_KEY, escrow.hashReceipt(rb));
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadSignature.selector, 0));
        escrow.settle(h, p, rb, sa);
    }

    /// Replay on another chain (a fork with another chain id) and on a second deployment: the EIP-712 domain binds
    /// both, so the same signatures fail there.
    function testSignaturesDoNotReplayAcrossChainsOrDeployments() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        JobEscrow.Signatures memory s = signatures(r, p, 7, true);
        uint256 chain = block.chainid;
        vm.chainId(chain + 1);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadCoordinatorSignature.selector, jobId));
        escrow.settle(h, p, r, s);
        vm.chainId(chain);

        // A second deployment holding a job with the same id (same buyer, same request digest, same terms).
        JobEscrow other = new JobEscrow(nft, licences, treasury, FEE_BPS);
        uint256[] memory ids = _ids(p);
        uint256[] memory lids = buyLicences(buyer, ids);
        vm.deal(buyer, 3 * PAY);
        vm.prank(buyer);
        bytes32 again = other.open{value: 3 * PAY}(keccak256(abi.encode("request", uint256(0))), h, ids, lids, 3 * PAY);
        assertEq(again, jobId, "same job id on the other deployment");
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadCoordinatorSignature.selector, jobId));
        other.settle(h, p, r, s);
        assertEq(escrow.settle(h, p, r, s), 3 * PAY, "the signatures still settle where they were made");
    }

    /// Another EIP-712 signature under the same domain (a JobRequest-like type hash) offered as a receipt fails.
    function testAnotherTypedSignatureIsNotAReceipt() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        bytes32 requestStruct = keccak256(abi.encode(keccak256("JobRequest(address buyer)"), buyer));
        bytes32 otherDigest = keccak256(abi.encodePacked(hex"1901", _domainSeparator(), requestStruct));
        JobEscrow.Signatures memory s = signatures(r, p, 0, true);
        s.coordinator = sign(COORD_KEY, otherDigest);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.BadCoordinatorSignature.selector, jobId));
        escrow.settle(h, p, r, s);
    }

    // ---------------------------------------------------------------- split

    /// Invariant 8: splitting a dataset's rows among k shell owners at the same rate earns exactly what the whole
    /// does, for any rounds. (A per-owner equal split, the naive "share per contributor", paid shells k times more.)
    function testFuzzShellsEarnTheSameAsTheWhole(uint64 rows, uint8 shells, uint32 rounds, uint96 rate) public {
        rows = uint64(bound(rows, 4, 1e12));
        shells = uint8(bound(shells, 2, 4));
        rounds = uint32(bound(rounds, 1, ROUNDS));
        rate = uint96(bound(rate, 1, 1e12));
        uint64[] memory whole = new uint64[](1);
        whole[0] = rows;
        uint64[] memory split = new uint64[](shells);
        uint64 left = rows;
        for (uint256 k; k < shells; ++k) {
            split[k] = k == shells - 1 ? left : rows / shells;
            left -= split[k];
        }
        uint256 paidWhole = _paidFor(whole, rate, rounds, 10);
        assertEq(_paidFor(split, rate, rounds, 20), paidWhole, "shells paid the same as the whole");
        assertEq(paidWhole, uint256(rate) * rows * rounds, "rate x rows x rounds");
    }

    /// @dev Opens a job on datasets of `parts` rows (owners k0, k0+1, …) plus an independent one, settles the parts
    /// for `rounds` rounds, and returns what was paid.
    function _paidFor(uint64[] memory parts, uint96 rate, uint32 rounds, uint256 k0) internal returns (uint256) {
        uint256[] memory ids = new uint256[](parts.length + 1);
        for (uint256 k; k < parts.length; ++k) {
            ids[k] = listDataset(ownerAt(k0 + k), k0 + k, rate, parts[k]);
        }
        ids[parts.length] = listDataset(ownerAt(k0 + 9), k0 + 9, rate, 7);
        JobEscrow.Header memory h = headerWith(2);
        (bytes32 jobId, JobEscrow.Pinned[] memory p) = openJob(buyer, h, ids);
        uint32[] memory r = fullRounds(parts.length + 1);
        for (uint256 k; k < parts.length; ++k) {
            r[k] = rounds;
        }
        return settleAs(h, p, receiptOf(jobId, r), allMask(parts.length), true);
    }

    /// Invariants 2 and 3: whatever the rounds and signers, paid ≤ locked, each dataset at most rate·rows·R, and
    /// paid + refund == locked.
    function testFuzzPaidNeverExceedsLockedAndRefundIsExact(uint256 seed, uint8 n) public {
        n = uint8(bound(n, 2, 8));
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(n, 2);
        uint32[] memory rounds = new uint32[](n);
        for (uint256 i; i < n; ++i) {
            rounds[i] = uint32(uint256(keccak256(abi.encode(seed, i))) % (ROUNDS + 1));
        }
        JobEscrow.JobReceipt memory r = receiptOf(jobId, rounds);
        settleAs(h, p, r, uint256(keccak256(abi.encode(seed))) & allMask(n), true);
        (JobEscrow.Job memory job,) = escrow.jobOf(jobId);
        assertLe(job.paid, job.locked, "paid <= locked");
        for (uint256 i; i < n; ++i) {
            assertLe(escrow.owed(address(0), ownerAt(i)), PAY, "dataset paid at most rate x rows x R");
        }
        vm.warp(job.settleEnd);
        assertEq(escrow.refund(jobId) + job.paid, job.locked, "paid + refund == locked");
    }

    // ---------------------------------------------------------------- ERC-20

    function testERC20JobOpenSettleRefundWithdraw() public {
        TestToken token = new TestToken();
        uint256[] memory ids = new uint256[](2);
        for (uint256 k; k < 2; ++k) {
            ids[k] = listDatasetWith(ownerAt(k), k, address(token), RATE, ROWS, true, SHARE);
        }
        JobEscrow.Header memory h = headerWith(2);
        h.currency = address(token);
        uint256[] memory lids = buyLicences(buyer, ids);
        JobEscrow.Pinned[] memory p = pinnedOf(ids);
        token.mint(buyer, 2 * PAY);
        vm.deal(buyer, 1);
        vm.startPrank(buyer);
        token.approve(address(escrow), 2 * PAY);
        vm.expectRevert(PullPayments.UnexpectedEth.selector);
        escrow.open{value: 1}(keccak256("r"), h, ids, lids, 2 * PAY);
        bytes32 jobId = escrow.open(keccak256("r"), h, ids, lids, 2 * PAY);
        vm.stopPrank();
        (, address currency) = escrow.jobOf(jobId);
        assertEq(currency, address(token), "currency");
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(2));
        settleAs(h, p, r, 1, true);
        vm.warp(uint256(h.runDeadline) + 3 days);
        assertEq(escrow.refund(jobId), PAY, "refund in the token");
        vm.prank(buyer);
        escrow.withdraw(address(token));
        assertEq(token.balanceOf(buyer), PAY, "buyer got its token back");
        vm.prank(ownerAt(0));
        escrow.withdraw(address(token));
        assertEq(token.balanceOf(ownerAt(0)), PAY - (PAY * FEE_BPS) / 10_000, "owner paid in the token");

        // A dataset in ETH cannot join a token job.
        uint256 ethId = listDataset(ownerAt(5), 5, RATE, ROWS);
        uint256[] memory mixed = new uint256[](2);
        (mixed[0], mixed[1]) = (ids[0], ethId);
        uint256[] memory mixedL = new uint256[](2);
        (mixedL[0], mixedL[1]) = (lids[0], buyAs(buyer, ethId, PRICE));
        h.runDeadline = uint40(block.timestamp + 1 days);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(JobEscrow.JobsNotOffered.selector, ethId, address(0)));
        escrow.open(keccak256("r2"), h, mixed, mixedL, 2 * PAY);
    }

    function testFeeOnTransferTokenRefused() public {
        FeeOnTransferToken token = new FeeOnTransferToken();
        uint256[] memory ids = new uint256[](2);
        for (uint256 k; k < 2; ++k) {
            ids[k] = listDatasetWith(ownerAt(k), k, address(token), RATE, ROWS, true, SHARE);
        }
        JobEscrow.Header memory h = headerWith(2);
        h.currency = address(token);
        uint256[] memory lids = buyLicences(buyer, ids);
        token.mint(buyer, 2 * PAY);
        vm.startPrank(buyer);
        token.approve(address(escrow), 2 * PAY);
        vm.expectRevert(
            abi.encodeWithSelector(JobEscrow.TokenTransferShortfall.selector, 2 * PAY, 2 * PAY - (2 * PAY) / 100)
        );
        escrow.open(keccak256("r"), h, ids, lids, 2 * PAY);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- dataset job terms

    function testJobTermsValidation() public {
        uint256 id = registerAs(owner, defaultTerms());
        (DatasetNFT.JobTerms memory t, address o) = nft.jobTermsOf(id);
        assertEq(o, owner, "owner");
        assertEq(t.ratePerRowRound, 0, "no paid jobs by default");
        assertEq(t.siloSigner, owner, "signer defaults to the owner");
        vm.startPrank(owner);
        vm.expectRevert(DatasetNFT.ZeroRows.selector);
        nft.setJobTerms(id, DatasetNFT.JobTerms(address(0), 1, 0, true, 0, address(0)));
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.InvalidDerivativeShare.selector, 500_001));
        nft.setJobTerms(id, DatasetNFT.JobTerms(address(0), 1, 10, true, 500_001, address(0)));
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.InvalidDerivativeShare.selector, 1));
        nft.setJobTerms(id, DatasetNFT.JobTerms(address(0), 1, 10, false, 1, address(0)));
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.InvalidCurrency.selector, stranger));
        nft.setJobTerms(id, DatasetNFT.JobTerms(stranger, 1, 10, true, 0, address(0)));
        nft.setJobTerms(id, DatasetNFT.JobTerms(address(0), 1, 10, true, 0, address(0)));
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.RowsAlreadySet.selector, id, 10));
        nft.setJobTerms(id, DatasetNFT.JobTerms(address(0), 1, 11, true, 0, address(0)));
        nft.setJobTerms(id, DatasetNFT.JobTerms(address(0), 2, 10, true, 0, stranger));
        vm.stopPrank();
        (t,) = nft.jobTermsOf(id);
        assertEq(t.siloSigner, stranger, "signer set");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.NotDatasetOwner.selector, id, stranger));
        nft.setJobTerms(id, DatasetNFT.JobTerms(address(0), 1, 10, true, 0, address(0)));
    }

    /// The terms are hashed from the calldata bytes (JobCalldata.termsHash): a non-canonical encoding of the pinned
    /// terms (dirty high bits in a payee word, which reads as the same address) hashes differently and is refused,
    /// and pays nothing; the same call encoded canonically settles.
    function testNonCanonicalTermsCalldataIsRefused() public {
        (bytes32 jobId, JobEscrow.Header memory h, JobEscrow.Pinned[] memory p) = _job(3, 2);
        JobEscrow.JobReceipt memory r = receiptOf(jobId, fullRounds(3));
        JobEscrow.Signatures memory s = signatures(r, p, 7, true);
        bytes memory data = abi.encodeCall(escrow.settle, (h, p, r, s));
        // After the selector: the header's 8 words, then the offset of `pinned`; its element 0 is (datasetId, payee, …).
        uint256 pinnedAt = 4 + uint256(bytes32(_slice(data, 4 + 8 * 32)));
        bytes memory dirty = bytes.concat(data);
        dirty[pinnedAt + 32 + 32] = 0x01; // most significant byte of element 0's payee word
        (bool ok, bytes memory ret) = address(escrow).call(dirty);
        assertFalse(ok, "dirty terms refused");
        assertEq(ret, abi.encodeWithSelector(JobEscrow.TermsMismatch.selector, jobId), "as a terms mismatch");
        assertEq(escrow.owed(address(0), ownerAt(0)), 0, "nothing paid");
        (ok,) = address(escrow).call(data);
        assertTrue(ok, "the canonical encoding settles");
        assertEq(escrow.owed(address(0), ownerAt(0)), PAY - (PAY * FEE_BPS) / 10_000, "paid");
    }

    function _slice(bytes memory data, uint256 at) internal pure returns (bytes32 word) {
        assembly ("memory-safe") {
            word := mload(add(add(data, 32), at))
        }
    }

    /// @dev Signs first (signing calls `hashReceipt`, which would consume the expected revert), then settles.
    function _expectSettleRevert(
        bytes memory err,
        JobEscrow.Header memory h,
        JobEscrow.Pinned[] memory p,
        JobEscrow.JobReceipt memory r,
        uint256 mask,
        bool withCoordinator
    ) internal {
        JobEscrow.Signatures memory s = signatures(r, p, mask, withCoordinator);
        vm.expectRevert(err);
        escrow.settle(h, p, r, s);
    }

    function _pair(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        (ids[0], ids[1]) = (a, b);
    }

    function _ids(JobEscrow.Pinned[] memory p) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](p.length);
        for (uint256 i; i < p.length; ++i) {
            ids[i] = p[i].datasetId;
        }
    }

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Sealfold"),
                keccak256("1"),
                block.chainid,
                address(escrow)
            )
        );
    }
}
