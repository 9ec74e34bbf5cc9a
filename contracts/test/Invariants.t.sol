// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {TestBase} from "./utils/TestBase.sol";
import {DatasetNFT} from "../src/DatasetNFT.sol";
import {DatasetLicence} from "../src/DatasetLicence.sol";

/// @dev Drives the market with random but well-formed actions by a small set of actors, and records in ghost
/// variables what went in and out. Calls that should fail are tried too; if one succeeds, a flag is raised.
contract MarketHandler is TestBase {
    DatasetNFT public immutable nft;
    DatasetLicence public immutable licences;
    address public immutable admin;
    address public immutable treasury;

    address[] public actors;
    uint256[] public datasetIds;
    uint256[] public licenceIds;
    mapping(uint256 licenceId => bool) public revokedByHandler;

    uint256 public paidIn;
    uint256 public withdrawnByOwners;
    uint256 public feesPaidOut;
    uint256 public feesCharged;
    uint256 public refunded;
    mapping(uint256 licenceId => uint256) public paidFor;
    mapping(uint256 licenceId => uint256) public refundOf;
    bool public unauthorisedGrantOrRevoke;
    bool public wrongPaymentAccepted;
    bool public staleTermsSold;
    bool public creditTakenBack;
    bool public refundAboveEscrow;

    /// @dev Credits only grow, except by the account's own withdrawal: what an owner (or a refunded buyer) was
    /// credited can never be taken back. `withdrawer` is the one account allowed to go down in this action.
    modifier creditsNeverShrink(address withdrawer) {
        uint256[] memory before = new uint256[](actors.length);
        for (uint256 i; i < actors.length; ++i) {
            before[i] = licences.owedEth(actors[i]);
        }
        _;
        for (uint256 i; i < actors.length; ++i) {
            if (actors[i] != withdrawer && licences.owedEth(actors[i]) < before[i]) creditTakenBack = true;
        }
    }

    constructor(DatasetNFT nft_, DatasetLicence licences_, address admin_, address treasury_) {
        nft = nft_;
        licences = licences_;
        admin = admin_;
        treasury = treasury_;
        for (uint256 i; i < 4; ++i) {
            actors.push(vm.addr(uint256(keccak256(abi.encode("actor", i)))));
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function licenceCount() external view returns (uint256) {
        return licenceIds.length;
    }

    function register(uint256 actorSeed, uint256 price, uint64 duration, uint96 royalty) external {
        address who = _actor(actorSeed);
        DatasetNFT.Terms memory t = DatasetNFT.Terms({
            priceWei: bound(price, 1, 100 ether),
            paymentToken: address(0),
            priceToken: 0,
            licenceDuration: uint64(bound(duration, 0, 365 days)),
            maxJobs: 3,
            epsilonBudgetMilli: 1000,
            dpLevel: 0,
            minOwners: 3,
            royaltyBps: uint96(bound(royalty, 0, 10_000)),
            listed: true
        });
        bytes memory cid = abi.encodePacked(hex"01551220", keccak256(abi.encode(datasetIds.length, who)));
        vm.prank(who);
        datasetIds.push(nft.register(cid, keccak256(cid), t));
    }

    function purchase(uint256 actorSeed, uint256 datasetSeed) external creditsNeverShrink(address(0)) {
        if (datasetIds.length == 0) return;
        address who = _actor(actorSeed);
        uint256 id = datasetIds[datasetSeed % datasetIds.length];
        DatasetNFT.Terms memory t = nft.termsOf(id);
        if (!t.listed) return;
        uint256 feesBefore = licences.accruedFees(address(0));
        vm.deal(who, who.balance + t.priceWei);
        vm.prank(who);
        uint256 lid = licences.purchase{value: t.priceWei}(id, keccak256(abi.encode(t)));
        licenceIds.push(lid);
        paidFor[lid] = t.priceWei;
        paidIn += t.priceWei;
        feesCharged += licences.accruedFees(address(0)) - feesBefore;
    }

    /// The owner changes the terms after the buyer read them; the buyer's pinned purchase must fail.
    function purchaseAfterTermsChanged(uint256 actorSeed, uint256 datasetSeed, uint256 newPrice, uint16 minOwners)
        external
    {
        if (datasetIds.length == 0) return;
        address who = _actor(actorSeed);
        uint256 id = datasetIds[datasetSeed % datasetIds.length];
        DatasetNFT.Terms memory seen = nft.termsOf(id);
        DatasetNFT.Terms memory changed = seen;
        changed.priceWei = bound(newPrice, 1, 100 ether);
        changed.minOwners = uint16(bound(minOwners, 1, 50));
        if (keccak256(abi.encode(changed)) == keccak256(abi.encode(seen))) return;
        vm.prank(nft.ownerOf(id));
        nft.setTerms(id, changed);
        vm.deal(who, who.balance + changed.priceWei);
        vm.prank(who);
        try licences.purchase{value: changed.priceWei}(id, keccak256(abi.encode(seen))) {
            staleTermsSold = true;
        } catch {}
    }

    function release(uint256 licenceSeed) external creditsNeverShrink(address(0)) {
        if (licenceIds.length == 0) return;
        uint256[] memory ids = new uint256[](1);
        ids[0] = licenceIds[licenceSeed % licenceIds.length];
        licences.release(ids);
    }

    function purchaseWithWrongValue(uint256 actorSeed, uint256 datasetSeed, uint256 value) external {
        if (datasetIds.length == 0) return;
        address who = _actor(actorSeed);
        uint256 id = datasetIds[datasetSeed % datasetIds.length];
        uint256 price = nft.termsOf(id).priceWei;
        value = bound(value, 0, 200 ether);
        if (value == price) value = price + 1;
        vm.deal(who, who.balance + value);
        bytes32 pinned = nft.termsHashOf(id);
        vm.prank(who);
        try licences.purchase{value: value}(id, pinned) {
            wrongPaymentAccepted = true;
        } catch {}
    }

    function withdraw(uint256 actorSeed) external creditsNeverShrink(_actor(actorSeed)) {
        address who = _actor(actorSeed);
        uint256 owed = licences.owedEth(who);
        if (owed == 0) return;
        uint256 before = who.balance;
        vm.prank(who);
        licences.withdraw();
        withdrawnByOwners += who.balance - before;
    }

    function withdrawFees() external {
        if (licences.accruedFees(address(0)) == 0) return;
        uint256 before = treasury.balance;
        licences.withdrawFees();
        feesPaidOut += treasury.balance - before;
    }

    function setFee(uint16 bps) external {
        vm.prank(admin);
        licences.setFee(uint16(bound(bps, 0, 1_000)));
    }

    function transferDataset(uint256 datasetSeed, uint256 toSeed) external {
        if (datasetIds.length == 0) return;
        uint256 id = datasetIds[datasetSeed % datasetIds.length];
        address from = nft.ownerOf(id);
        vm.prank(from);
        nft.transferFrom(from, _actor(toSeed), id);
    }

    function transferLicence(uint256 licenceSeed, uint256 toSeed) external {
        if (licenceIds.length == 0) return;
        uint256 id = licenceIds[licenceSeed % licenceIds.length];
        if (licences.licenceOf(id).revoked) return;
        address from = licences.ownerOf(id);
        vm.prank(from);
        licences.transferFrom(from, _actor(toSeed), id);
    }

    function escrowed() external view returns (uint256 total) {
        for (uint256 i; i < licenceIds.length; ++i) {
            DatasetLicence.SaleInfo memory sale = licences.saleOf(licenceIds[i]);
            total += sale.amount - sale.released;
        }
    }

    function toggleListing(uint256 datasetSeed) external {
        if (datasetIds.length == 0) return;
        uint256 id = datasetIds[datasetSeed % datasetIds.length];
        address o = nft.ownerOf(id);
        vm.prank(o);
        if (nft.termsOf(id).listed) nft.delist(id);
        else nft.list(id);
    }

    function grant(uint256 datasetSeed, uint256 toSeed, uint64 duration) external {
        if (datasetIds.length == 0) return;
        uint256 id = datasetIds[datasetSeed % datasetIds.length];
        vm.prank(nft.ownerOf(id));
        licenceIds.push(licences.grant(id, _actor(toSeed), uint64(bound(duration, 0, 365 days)), 1, 500));
    }

    function revoke(uint256 licenceSeed) external creditsNeverShrink(address(0)) {
        if (licenceIds.length == 0) return;
        uint256 id = licenceIds[licenceSeed % licenceIds.length];
        DatasetLicence.LicenceInfo memory info = licences.licenceOf(id);
        if (info.revoked) return;
        address datasetOwner = nft.ownerOf(info.datasetId);
        DatasetLicence.SaleInfo memory sale = licences.saleOf(id);
        uint256 holderBefore = licences.owedEth(info.holder);
        uint256 ownerBefore = licences.owedEth(datasetOwner);
        vm.prank(datasetOwner);
        licences.revoke(id, "handler");
        revokedByHandler[id] = true;
        uint256 expectedRefund = sale.amount - sale.released - sale.releasable;
        if (info.holder != datasetOwner) {
            uint256 refund = licences.owedEth(info.holder) - holderBefore;
            if (refund != expectedRefund) refundAboveEscrow = true;
            if (licences.owedEth(datasetOwner) - ownerBefore != sale.releasable) refundAboveEscrow = true;
            refundOf[id] = refund;
        } else {
            refundOf[id] = expectedRefund;
        }
        refunded += refundOf[id];
    }

    function grantOrRevokeAsNonOwner(uint256 actorSeed, uint256 datasetSeed, uint256 licenceSeed) external {
        if (datasetIds.length == 0) return;
        address who = _actor(actorSeed);
        uint256 id = datasetIds[datasetSeed % datasetIds.length];
        if (nft.ownerOf(id) != who) {
            vm.prank(who);
            try licences.grant(id, who, 0, 1, 1) {
                unauthorisedGrantOrRevoke = true;
            } catch {}
        }
        if (licenceIds.length == 0) return;
        uint256 lid = licenceIds[licenceSeed % licenceIds.length];
        if (nft.ownerOf(licences.licenceOf(lid).datasetId) != who) {
            vm.prank(who);
            try licences.revoke(lid, "intruder") {
                unauthorisedGrantOrRevoke = true;
            } catch {}
        }
    }

    function warp(uint256 secondsForward) external {
        vm.warp(block.timestamp + bound(secondsForward, 1, 60 days));
    }

    function _actor(uint256 seed) private view returns (address) {
        return actors[seed % actors.length];
    }
}

/// @notice Invariants of the licence market under random sequences of handler actions.
contract MarketInvariantTest is TestBase {
    DatasetNFT internal nft;
    DatasetLicence internal licences;
    MarketHandler internal handler;

    function setUp() public {
        address admin = vm.addr(0xad);
        address treasury = vm.addr(0x7e);
        nft = new DatasetNFT();
        licences = new DatasetLicence(nft, admin, treasury, 250);
        handler = new MarketHandler(nft, licences, admin, treasury);
    }

    /// @dev Read by the invariant fuzzer: only the handler is called.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// The contract holds exactly what it owes: escrow not yet released, unwithdrawn credits and unpaid fees.
    function invariant_balanceEqualsEscrowPlusOwedPlusFees() public view {
        uint256 owed = licences.accruedFees(address(0)) + handler.escrowed();
        for (uint256 i; i < handler.actorCount(); ++i) {
            owed += licences.owedEth(handler.actors(i));
        }
        assertEq(address(licences).balance, owed, "balance != owed + fees");
    }

    /// Value is conserved: withdrawals + fees paid out never exceed payments, and nothing is created or lost.
    function invariant_valueConserved() public view {
        uint256 out = handler.withdrawnByOwners() + handler.feesPaidOut();
        assertLe(out, handler.paidIn(), "paid out more than paid in");
        assertEq(out + address(licences).balance, handler.paidIn(), "value created or lost");
        assertLe(handler.feesCharged() * 10, handler.paidIn(), "fees above 10%");
    }

    /// A buyer never gets back more than it paid for a licence, refunds never exceed the escrow, credits are never
    /// taken back (an owner cannot lose what it was paid), and terms changed after the buyer read them never sell.
    function invariant_refundsBoundedAndCreditsKept() public view {
        for (uint256 i; i < handler.licenceCount(); ++i) {
            uint256 id = handler.licenceIds(i);
            assertLe(handler.refundOf(id), handler.paidFor(id), "refund above the price paid");
        }
        assertLe(handler.refunded() + handler.feesCharged(), handler.paidIn(), "refunds + fees above payments");
        assertFalse(handler.refundAboveEscrow(), "revocation split differs from the escrow");
        assertFalse(handler.creditTakenBack(), "a credit shrank without its owner withdrawing");
        assertFalse(handler.staleTermsSold(), "sold on terms the buyer did not pin");
    }

    /// A revoked or expired licence is never valid, whoever holds it.
    function invariant_revokedOrExpiredNeverValid() public view {
        for (uint256 i; i < handler.licenceCount(); ++i) {
            uint256 id = handler.licenceIds(i);
            DatasetLicence.LicenceInfo memory info = licences.licenceOf(id);
            (bool valid, DatasetLicence.Validity reason) = licences.isValid(id, info.datasetId, info.holder);
            bool expired = info.expiresAt != 0 && block.timestamp >= info.expiresAt;
            if (handler.revokedByHandler(id)) assertTrue(info.revoked, "revocation lost");
            if (info.revoked) {
                assertFalse(valid, "revoked licence valid");
                assertTrue(reason == DatasetLicence.Validity.Revoked, "reason not Revoked");
            } else if (expired) {
                assertFalse(valid, "expired licence valid");
                assertTrue(reason == DatasetLicence.Validity.Expired, "reason not Expired");
            } else {
                assertTrue(valid, "live licence invalid for its holder");
            }
        }
    }

    /// Only the dataset owner grants or revokes; payments other than the exact price are refused.
    function invariant_onlyOwnerGrantsRevokesAndExactPayment() public view {
        assertFalse(handler.unauthorisedGrantOrRevoke(), "non-owner granted or revoked");
        assertFalse(handler.wrongPaymentAccepted(), "wrong payment accepted");
    }
}
