// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Fixture} from "./utils/Fixture.sol";
import {TestToken, FeeOnTransferToken} from "./utils/TestTokens.sol";
import {DatasetNFT} from "../src/DatasetNFT.sol";
import {DatasetLicence} from "../src/DatasetLicence.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

/// @dev Tries to withdraw twice by re-entering from its receive hook.
contract ReentrantOwner {
    DatasetLicence internal immutable licences;
    uint256 public reentryAttempts;
    bool public reentrySucceeded;

    constructor(DatasetLicence licences_) {
        licences = licences_;
    }

    function withdraw() external {
        licences.withdraw();
    }

    receive() external payable {
        ++reentryAttempts;
        try licences.withdraw() {
            reentrySucceeded = true;
        } catch {}
    }
}

contract DatasetLicenceTest is Fixture {
    event LicencePurchased(
        uint256 indexed licenceId,
        uint256 indexed datasetId,
        address indexed buyer,
        address owner,
        address paymentToken,
        uint256 price,
        uint256 fee,
        uint64 expiresAt
    );

    uint256 internal datasetId;

    function setUp() public override {
        super.setUp();
        datasetId = registerAs(owner, defaultTerms());
    }

    function testPurchaseMintsLicenceWithDatasetTerms() public {
        uint256 fee = (PRICE * FEE_BPS) / 10_000;
        uint64 expiresAt = uint64(block.timestamp + 30 days);
        vm.expectEmit(false, true, true, true);
        emit LicencePurchased(0, datasetId, buyer, owner, address(0), PRICE, fee, expiresAt);
        uint256 id = buyAs(buyer, datasetId, PRICE);

        assertEq(licences.ownerOf(id), buyer, "holder");
        DatasetLicence.LicenceInfo memory info = licences.licenceOf(id);
        assertEq(info.serial, 1, "serial");
        assertEq(info.datasetId, datasetId, "dataset");
        assertEq(info.holder, buyer, "holder in info");
        assertEq(info.expiresAt, expiresAt, "expiry");
        assertEq(info.maxJobs, 5, "maxJobs");
        assertEq(info.epsilonBudgetMilli, 3000, "epsilon");
        assertFalse(info.revoked, "revoked");
        assertFalse(info.granted, "granted");
        assertEq(licences.licenceCount(), 1, "count");

        assertEq(licences.owedEth(owner), 0, "proceeds are escrowed, not credited at sale");
        DatasetLicence.SaleInfo memory sale = licences.saleOf(id);
        assertEq(sale.amount, PRICE - fee, "escrow");
        assertEq(sale.vestsAt, expiresAt, "vests at expiry");
        assertEq(licences.accruedFees(address(0)), fee, "fees");
        assertEq(address(licences).balance, PRICE, "contract balance");
        (bool valid, DatasetLicence.Validity reason) = licences.isValid(id, datasetId, buyer);
        assertTrue(valid, "valid");
        assertTrue(reason == DatasetLicence.Validity.Valid, "reason Valid");
    }

    /// Attack (issue 11): the owner worsens the terms after the buyer read them (100x price, 1 job, ε 0.001, 1 s).
    /// Before pinning, the purchase paid the new price for the new terms; now the pinned hash refuses it.
    function testTermsChangedAfterTheBuyerReadThemAreRefused() public {
        bytes32 seen = nft.termsHashOf(datasetId);
        DatasetNFT.Terms memory worse = defaultTerms();
        worse.priceWei = PRICE * 100;
        worse.maxJobs = 1;
        worse.epsilonBudgetMilli = 1;
        worse.licenceDuration = 1;
        vm.prank(owner);
        nft.setTerms(datasetId, worse);
        bytes32 current = nft.termsHashOf(datasetId);
        vm.deal(buyer, PRICE * 100);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.TermsChanged.selector, datasetId, seen, current));
        vm.prank(buyer);
        licences.purchase{value: PRICE * 100}(datasetId, seen);
        assertEq(licences.licenceCount(), 0, "nothing sold");
    }

    /// Every listed field is pinned, the owner's minimum of independent owners included.
    function testFuzzAnyChangedFieldIsRefused(uint8 field, uint256 delta) public {
        DatasetNFT.Terms memory t = defaultTerms();
        bytes32 seen = nft.termsHashOf(datasetId);
        delta = bound(delta, 1, 1000);
        field = uint8(bound(field, 0, 6));
        if (field == 0) t.priceWei += delta;
        else if (field == 1) t.licenceDuration += uint64(delta);
        else if (field == 2) t.maxJobs += uint32(delta);
        else if (field == 3) t.epsilonBudgetMilli += uint32(delta);
        else if (field == 4) t.minOwners += uint16(delta);
        else if (field == 5) t.dpLevel = 1 - t.dpLevel;
        else t.royaltyBps += uint96(delta); // 500 + at most 1000 stays under the 10,000 cap
        vm.prank(owner);
        nft.setTerms(datasetId, t);
        vm.deal(buyer, t.priceWei);
        vm.expectRevert(
            abi.encodeWithSelector(DatasetLicence.TermsChanged.selector, datasetId, seen, keccak256(abi.encode(t)))
        );
        vm.prank(buyer);
        licences.purchase{value: t.priceWei}(datasetId, seen);
    }

    /// Attack (issue 11): the owner revokes right after the sale. Before escrow it kept the whole payment; now the
    /// buyer is credited the unused share in the same call and can withdraw it.
    function testRevokeRightAfterSaleRefundsTheBuyer() public {
        uint256 id = buyAs(buyer, datasetId, PRICE);
        uint256 net = PRICE - (PRICE * FEE_BPS) / 10_000;
        vm.prank(owner);
        licences.revoke(id, "changed my mind");
        assertEq(licences.owedEth(buyer), net, "whole escrow back: no time used");
        assertEq(licences.owedEth(owner), 0, "owner keeps nothing");
        uint256 before = buyer.balance;
        vm.prank(buyer);
        licences.withdraw();
        assertEq(buyer.balance - before, net, "refund withdrawn");
        assertEq(releaseOne(id), 0, "a revoked sale releases nothing more");
    }

    function testRevokeHalfwaySplitsTheEscrowEvenAfterTheOwnerWithdrew() public {
        uint256 id = buyAs(buyer, datasetId, PRICE);
        uint256 net = PRICE - (PRICE * FEE_BPS) / 10_000;
        vm.warp(block.timestamp + 15 days);
        releaseOne(id);
        vm.prank(owner);
        licences.withdraw();
        vm.prank(owner);
        licences.revoke(id, "halfway");
        assertEq(licences.owedEth(buyer), net - net / 2, "unused half refunded");
        assertEq(licences.owedEth(owner), 0, "the owner had already been paid its half");
        assertEq(address(licences).balance, licences.owedEth(buyer) + licences.accruedFees(address(0)), "balance");
    }

    function testRefundGoesToTheHolderAndPerpetualLicencesVestOverAYear() public {
        DatasetNFT.Terms memory t = defaultTerms();
        t.licenceDuration = 0;
        vm.prank(owner);
        nft.setTerms(datasetId, t);
        uint256 id = buyAs(buyer, datasetId, PRICE);
        uint256 net = PRICE - (PRICE * FEE_BPS) / 10_000;
        assertEq(licences.saleOf(id).vestsAt, block.timestamp + 365 days, "perpetual vests over a year");
        vm.prank(buyer);
        licences.transferFrom(buyer, stranger, id);
        vm.warp(block.timestamp + 73 days); // a fifth of the year
        vm.prank(owner);
        licences.revoke(id, "r");
        assertEq(licences.owedEth(stranger), net - net / 5, "the holder, who lost the licence, is refunded");
        assertEq(licences.owedEth(buyer), 0, "the former holder is not");
        assertEq(licences.owedEth(owner), net / 5, "vested part to the owner");
    }

    function testTokenRefundOnRevoke() public {
        TestToken token = new TestToken();
        DatasetNFT.Terms memory t = defaultTerms();
        t.paymentToken = address(token);
        t.priceToken = 100e18;
        vm.prank(owner);
        nft.setTerms(datasetId, t);
        token.mint(buyer, 100e18);
        bytes32 pinned = nft.termsHashOf(datasetId);
        vm.startPrank(buyer);
        token.approve(address(licences), 100e18);
        uint256 id = licences.purchaseWithToken(datasetId, pinned);
        vm.stopPrank();
        uint256 net = 100e18 - (100e18 * uint256(FEE_BPS)) / 10_000;
        vm.warp(block.timestamp + 3 days);
        vm.prank(owner);
        licences.revoke(id, "r");
        uint256 vested = (net * 3) / 30;
        assertEq(licences.owedToken(address(token), owner), vested, "owner");
        assertEq(licences.owedToken(address(token), buyer), net - vested, "buyer");
        vm.prank(buyer);
        licences.withdrawToken(address(token));
        assertEq(token.balanceOf(buyer), net - vested, "refund withdrawn in the token paid");
    }

    /// The refund arithmetic: the owner gets the vested share (rounded down), the holder the rest; together exactly
    /// the escrow, the holder never more than it paid, and the owner's share monotone in time.
    function testFuzzRefundArithmetic(uint88 price, uint64 duration, uint64 elapsed, uint64 releasedAt) public {
        price = uint88(bound(price, 1, type(uint88).max));
        duration = uint64(bound(duration, 0, nft.MAX_LICENCE_DURATION()));
        elapsed = uint64(bound(elapsed, 0, uint256(nft.MAX_LICENCE_DURATION()) + 400 days));
        releasedAt = uint64(bound(releasedAt, 0, elapsed));
        DatasetNFT.Terms memory t = defaultTerms();
        t.priceWei = price;
        t.licenceDuration = duration;
        vm.prank(owner);
        nft.setTerms(datasetId, t);
        uint256 start = block.timestamp;
        uint256 id = buyAs(buyer, datasetId, price);
        uint256 net = licences.saleOf(id).amount;
        assertEq(net + licences.accruedFees(address(0)), price, "escrow + fee == price");

        vm.warp(start + releasedAt);
        releaseOne(id);
        uint256 early = licences.owedEth(owner);
        vm.warp(start + elapsed);
        vm.prank(owner);
        licences.revoke(id, "fuzz");
        uint256 toOwner = licences.owedEth(owner);
        uint256 refund = licences.owedEth(buyer);
        uint256 period = duration == 0 ? 365 days : duration;
        uint256 expectedVested = elapsed >= period ? net : (net * elapsed) / period;
        assertEq(toOwner, expectedVested, "owner share");
        assertEq(toOwner + refund, net, "owner + refund == escrow");
        assertLe(refund, price, "refund <= paid");
        assertLe(early, toOwner, "owner share monotone");
        assertEq(address(licences).balance, toOwner + refund + licences.accruedFees(address(0)), "balance");
    }

    function testFuzzRejectsAnyPaymentButTheExactPrice(uint256 value) public {
        value = bound(value, 0, 100 ether);
        vm.assume(value != PRICE);
        vm.deal(buyer, value);
        bytes32 pinned = nft.termsHashOf(datasetId);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.IncorrectPayment.selector, PRICE, value));
        vm.prank(buyer);
        licences.purchase{value: value}(datasetId, pinned);
    }

    function testFuzzFeeSplit(uint88 price, uint16 feeBps) public {
        vm.assume(price > 0);
        feeBps = uint16(bound(feeBps, 0, 1_000));
        vm.prank(admin);
        licences.setFee(feeBps);
        DatasetNFT.Terms memory t = defaultTerms();
        t.priceWei = price;
        vm.prank(owner);
        nft.setTerms(datasetId, t);

        uint256 id = buyAs(buyer, datasetId, price);
        uint256 fee = licences.accruedFees(address(0));
        assertEq(fee, (uint256(price) * feeBps) / 10_000, "fee");
        vm.warp(block.timestamp + 30 days);
        releaseOne(id);
        assertEq(licences.owedEth(owner) + fee, price, "credit + fee == price");
        assertLe(fee * 10, price, "fee <= 10%");
    }

    function testRejectsDelistedUnknownAndTokenOnlyDatasets() public {
        vm.prank(owner);
        nft.delist(datasetId);
        vm.deal(buyer, 1 ether);
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.DatasetNotListed.selector, datasetId));
        licences.purchase{value: PRICE}(datasetId, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        licences.purchase{value: PRICE}(99, bytes32(0));
        vm.stopPrank();

        TestToken token = new TestToken();
        DatasetNFT.Terms memory t = defaultTerms();
        t.priceWei = 0;
        t.paymentToken = address(token);
        t.priceToken = 5e18;
        uint256 tokenOnly = registerAs(owner, t);
        bytes32 pinned = nft.termsHashOf(tokenOnly);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.EthPaymentNotAccepted.selector, tokenOnly));
        vm.prank(buyer);
        licences.purchase{value: 0}(tokenOnly, pinned);
    }

    function testVestedProceedsGoToTheOwnerAtReleaseTime() public {
        uint256 a = buyAs(buyer, datasetId, PRICE);
        uint256 share = PRICE - (PRICE * FEE_BPS) / 10_000;
        vm.warp(block.timestamp + 10 days);
        assertEq(releaseOne(a), (share * 10) / 30, "a third vested");
        vm.prank(owner);
        nft.transferFrom(owner, stranger, datasetId);
        uint256 b = buyAs(buyer, datasetId, PRICE);
        vm.warp(block.timestamp + 30 days);
        uint256[] memory ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
        licences.release(ids);
        assertEq(licences.owedEth(owner), (share * 10) / 30, "old owner keeps what vested while it owned");
        assertEq(licences.owedEth(stranger), 2 * share - (share * 10) / 30, "new owner earns the rest");
        assertEq(licences.release(ids), 0, "nothing twice");
    }

    function testWithdrawPaysOnceAndKeepsAccounting() public {
        uint256 a = buyAs(buyer, datasetId, PRICE);
        uint256 b = buyAs(stranger, datasetId, PRICE);
        vm.warp(block.timestamp + 30 days);
        releaseOne(a);
        releaseOne(b);
        uint256 owed = licences.owedEth(owner);
        uint256 before = owner.balance;
        vm.prank(owner);
        licences.withdraw();
        assertEq(owner.balance - before, owed, "paid");
        assertEq(licences.owedEth(owner), 0, "nothing owed");
        vm.expectRevert(DatasetLicence.NothingToWithdraw.selector);
        vm.prank(owner);
        licences.withdraw();

        // After a withdrawal, credits continue from zero.
        uint256 c = buyAs(buyer, datasetId, PRICE);
        vm.warp(block.timestamp + 30 days);
        releaseOne(c);
        assertEq(licences.owedEth(owner), owed / 2, "fresh credit");

        uint256 fees = licences.accruedFees(address(0));
        vm.prank(stranger); // anyone may trigger; the treasury receives
        licences.withdrawFees();
        assertEq(treasury.balance, fees, "treasury paid");
        assertEq(address(licences).balance, licences.owedEth(owner), "balance == owed after fee payout");
        vm.expectRevert(DatasetLicence.NothingToWithdraw.selector);
        licences.withdrawFees();
    }

    function testWithdrawIsNotReentrant() public {
        ReentrantOwner attacker = new ReentrantOwner(licences);
        vm.prank(owner);
        nft.transferFrom(owner, address(attacker), datasetId);
        uint256 a = buyAs(buyer, datasetId, PRICE);
        uint256 b = buyAs(stranger, datasetId, PRICE);
        vm.warp(block.timestamp + 30 days);
        releaseOne(a);
        releaseOne(b);
        uint256 owed = licences.owedEth(address(attacker));
        attacker.withdraw();
        assertEq(address(attacker).balance, owed, "paid exactly once");
        assertEq(attacker.reentryAttempts(), 1, "re-entry attempted");
        assertFalse(attacker.reentrySucceeded(), "re-entry refused");
        assertEq(address(licences).balance, licences.accruedFees(address(0)), "only fees remain");
    }

    function testPlainEthIsRefused() public {
        vm.deal(buyer, 1 ether);
        vm.prank(buyer);
        (bool ok,) = address(licences).call{value: 1 ether}("");
        assertFalse(ok, "plain transfer accepted");
    }

    function testTokenPurchaseAndWithdraw() public {
        TestToken token = new TestToken();
        DatasetNFT.Terms memory t = defaultTerms();
        t.paymentToken = address(token);
        t.priceToken = 100e18;
        vm.prank(owner);
        nft.setTerms(datasetId, t);
        token.mint(buyer, 100e18);
        bytes32 pinned = nft.termsHashOf(datasetId);
        t.priceToken = 99e18;
        bytes32 cheaper = keccak256(abi.encode(t));
        vm.startPrank(buyer);
        token.approve(address(licences), 100e18);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.TermsChanged.selector, datasetId, cheaper, pinned));
        licences.purchaseWithToken(datasetId, cheaper);
        uint256 id = licences.purchaseWithToken(datasetId, pinned);
        vm.stopPrank();
        assertEq(licences.ownerOf(id), buyer, "holder");
        uint256 fee = (100e18 * uint256(FEE_BPS)) / 10_000;
        assertEq(licences.owedToken(address(token), owner), 0, "escrowed");
        vm.warp(block.timestamp + 30 days);
        releaseOne(id);
        assertEq(licences.owedToken(address(token), owner), 100e18 - fee, "owner credit");
        assertEq(licences.accruedFees(address(token)), fee, "token fees");

        vm.prank(owner);
        licences.withdrawToken(address(token));
        assertEq(token.balanceOf(owner), 100e18 - fee, "owner paid");
        licences.withdrawTokenFees(address(token));
        assertEq(token.balanceOf(treasury), fee, "treasury paid");
        assertEq(token.balanceOf(address(licences)), 0, "nothing left");
        vm.expectRevert(DatasetLicence.NothingToWithdraw.selector);
        vm.prank(owner);
        licences.withdrawToken(address(token));
    }

    function testTokenPurchaseWithoutAllowanceOrWithFeeOnTransferFails() public {
        FeeOnTransferToken token = new FeeOnTransferToken();
        DatasetNFT.Terms memory t = defaultTerms();
        t.paymentToken = address(token);
        t.priceToken = 100e18;
        vm.prank(owner);
        nft.setTerms(datasetId, t);
        token.mint(buyer, 200e18);
        bytes32 pinned = nft.termsHashOf(datasetId);
        vm.startPrank(buyer);
        vm.expectRevert(); // ERC20InsufficientAllowance from the token
        licences.purchaseWithToken(datasetId, pinned);
        token.approve(address(licences), 100e18);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.TokenTransferShortfall.selector, 100e18, 99e18));
        licences.purchaseWithToken(datasetId, pinned);
        vm.stopPrank();
    }

    function testGrantAndRevokeByOwner() public {
        vm.prank(owner);
        uint256 id = licences.grant(datasetId, buyer, 0, 2, 500);
        DatasetLicence.LicenceInfo memory info = licences.licenceOf(id);
        assertTrue(info.granted, "granted");
        assertEq(info.expiresAt, 0, "perpetual");
        assertEq(info.maxJobs, 2, "jobs");
        assertEq(info.epsilonBudgetMilli, 500, "epsilon");
        assertEq(licences.owedEth(owner), 0, "no revenue from a grant");

        vm.prank(owner);
        licences.revoke(id, "breach of terms");
        (bool valid, DatasetLicence.Validity reason) = licences.isValid(id, datasetId, buyer);
        assertFalse(valid, "revoked licence valid");
        assertTrue(reason == DatasetLicence.Validity.Revoked, "reason Revoked");
        assertTrue(licences.licenceOf(id).revoked, "revoked flag");
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.AlreadyRevoked.selector, id));
        vm.prank(owner);
        licences.revoke(id, "again");
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.RevokedLicenceNotTransferable.selector, id));
        vm.prank(buyer);
        licences.transferFrom(buyer, stranger, id);
    }

    function testGrantValidatesTerms() public {
        vm.startPrank(owner);
        vm.expectRevert(DatasetLicence.InvalidGrantTerms.selector);
        licences.grant(datasetId, buyer, 0, 0, 500);
        vm.expectRevert(DatasetLicence.InvalidGrantTerms.selector);
        licences.grant(datasetId, buyer, 0, 1, 0);
        vm.expectRevert(DatasetLicence.InvalidGrantTerms.selector);
        licences.grant(datasetId, buyer, uint64(type(uint32).max) + 1, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(0)));
        licences.grant(datasetId, address(0), 0, 1, 1);
        vm.stopPrank();
    }

    function testFuzzOnlyTheDatasetOwnerGrantsAndRevokes(address caller) public {
        vm.assume(caller != owner);
        uint256 id = buyAs(buyer, datasetId, PRICE);
        bytes memory err = abi.encodeWithSelector(DatasetLicence.NotDatasetOwner.selector, datasetId, caller);
        vm.expectRevert(err);
        vm.prank(caller);
        licences.grant(datasetId, caller, 0, 1, 1);
        vm.expectRevert(err);
        vm.prank(caller);
        licences.revoke(id, "not mine");
        assertFalse(licences.licenceOf(id).revoked, "still not revoked");
    }

    function testNewDatasetOwnerRevokes() public {
        uint256 id = buyAs(buyer, datasetId, PRICE);
        vm.prank(owner);
        nft.transferFrom(owner, stranger, datasetId);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.NotDatasetOwner.selector, datasetId, owner));
        vm.prank(owner);
        licences.revoke(id, "former owner");
        vm.prank(stranger);
        licences.revoke(id, "current owner");
        assertTrue(licences.licenceOf(id).revoked, "revoked");
    }

    function testFuzzExpiry(uint64 duration, uint64 elapsed) public {
        duration = uint64(bound(duration, 1, 10 * 365 days));
        elapsed = uint64(bound(elapsed, 0, 20 * 365 days));
        DatasetNFT.Terms memory t = defaultTerms();
        t.licenceDuration = duration;
        vm.prank(owner);
        nft.setTerms(datasetId, t);
        uint256 id = buyAs(buyer, datasetId, PRICE);
        vm.warp(block.timestamp + elapsed);
        (bool valid, DatasetLicence.Validity reason) = licences.isValid(id, datasetId, buyer);
        if (elapsed < duration) {
            assertTrue(valid && reason == DatasetLicence.Validity.Valid, "valid before expiry");
        } else {
            assertFalse(valid, "valid after expiry");
            assertTrue(reason == DatasetLicence.Validity.Expired, "reason Expired");
        }
    }

    function testValidityReasons() public {
        uint256 other = registerAs(stranger, defaultTerms());
        uint256 id = buyAs(buyer, datasetId, PRICE);
        _expectValidity(id + 1, datasetId, buyer, DatasetLicence.Validity.NotFound);
        _expectValidity(id, other, buyer, DatasetLicence.Validity.WrongDataset);
        _expectValidity(id, datasetId, stranger, DatasetLicence.Validity.NotHolder);

        // Transfer: the holder at check time counts.
        vm.prank(buyer);
        licences.transferFrom(buyer, stranger, id);
        _expectValidity(id, datasetId, buyer, DatasetLicence.Validity.NotHolder);
        _expectValidity(id, datasetId, stranger, DatasetLicence.Validity.Valid);

        // Revoked takes precedence over expired.
        vm.warp(block.timestamp + 31 days);
        _expectValidity(id, datasetId, stranger, DatasetLicence.Validity.Expired);
        vm.prank(owner);
        licences.revoke(id, "r");
        _expectValidity(id, datasetId, stranger, DatasetLicence.Validity.Revoked);
    }

    function testFirstValidFindsTheHoldersLicence() public {
        uint256 a = buyAs(buyer, datasetId, PRICE);
        uint256 b = buyAs(buyer, datasetId, PRICE);
        vm.prank(owner);
        licences.revoke(a, "r");
        uint256[] memory ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
        (uint256 found, DatasetLicence.Validity reason) = licences.firstValid(ids, datasetId, buyer);
        assertEq(found, b, "second candidate");
        assertTrue(reason == DatasetLicence.Validity.Valid, "valid");
        (found, reason) = licences.firstValid(ids, datasetId, stranger);
        assertEq(found, 0, "none for stranger");
        assertTrue(reason == DatasetLicence.Validity.NotHolder, "last reason");
        (found, reason) = licences.firstValid(new uint256[](0), datasetId, buyer);
        assertTrue(found == 0 && reason == DatasetLicence.Validity.NotFound, "empty");
    }

    function testLicenceIdEncodesItsTerms() public {
        uint256 id = buyAs(buyer, datasetId, PRICE);
        uint64 expiresAt = uint64(block.timestamp + 30 days);
        uint256 expected = (uint256(1) << 200) | (datasetId << 136) | (uint256(expiresAt) << 72) | (uint256(5) << 40)
            | (uint256(3000) << 8);
        assertEq(id, expected, "layout");
        vm.prank(owner);
        uint256 g = licences.grant(datasetId, buyer, 0, 1, 1);
        assertEq(g, (uint256(2) << 200) | (datasetId << 136) | (uint256(1) << 40) | (uint256(1) << 8) | 1, "grant");
    }

    function testRoyaltyOnLicenceResaleGoesToDatasetOwner() public {
        uint256 id = buyAs(buyer, datasetId, PRICE);
        (address receiver, uint256 amount) = licences.royaltyInfo(id, 2 ether);
        assertEq(receiver, owner, "receiver");
        assertEq(amount, 0.1 ether, "5% of 2 ether");
        vm.prank(owner);
        nft.transferFrom(owner, stranger, datasetId);
        (receiver,) = licences.royaltyInfo(id, 2 ether);
        assertEq(receiver, stranger, "follows the dataset owner");
        assertTrue(licences.supportsInterface(type(IERC2981).interfaceId), "ERC-2981");
        assertTrue(licences.supportsInterface(type(IERC721).interfaceId), "ERC-721");
    }

    function testFeeAdministration() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, licences.FEE_ADMIN_ROLE()
            )
        );
        vm.prank(stranger);
        licences.setFee(10);
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.FeeTooHigh.selector, 1_001, 1_000));
        licences.setFee(1_001);
        licences.setFee(1_000);
        assertEq(licences.feeBps(), 1_000, "fee");
        vm.expectRevert(DatasetLicence.ZeroAddress.selector);
        licences.setTreasury(address(0));
        licences.setTreasury(stranger);
        assertEq(licences.treasury(), stranger, "treasury");
        vm.stopPrank();
    }

    function testConstructorValidates() public {
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.FeeTooHigh.selector, 1_001, 1_000));
        new DatasetLicence(nft, admin, treasury, 1_001);
        vm.expectRevert(DatasetLicence.ZeroAddress.selector);
        new DatasetLicence(nft, admin, address(0), 0);
    }

    function _expectValidity(uint256 id, uint256 dataset, address holder, DatasetLicence.Validity expected)
        private
        view
    {
        (bool valid, DatasetLicence.Validity reason) = licences.isValid(id, dataset, holder);
        assertEq(uint8(reason), uint8(expected), "validity reason");
        assertTrue(valid == (expected == DatasetLicence.Validity.Valid), "valid flag");
    }
}
