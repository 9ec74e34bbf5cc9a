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

        assertEq(licences.owedEth(owner), PRICE - fee, "owner credit");
        assertEq(licences.accruedFees(address(0)), fee, "fees");
        assertEq(address(licences).balance, PRICE, "contract balance");
        (bool valid, DatasetLicence.Validity reason) = licences.isValid(id, datasetId, buyer);
        assertTrue(valid, "valid");
        assertTrue(reason == DatasetLicence.Validity.Valid, "reason Valid");
    }

    function testFuzzRejectsAnyPaymentButTheExactPrice(uint256 value) public {
        value = bound(value, 0, 100 ether);
        vm.assume(value != PRICE);
        vm.deal(buyer, value);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.IncorrectPayment.selector, PRICE, value));
        vm.prank(buyer);
        licences.purchase{value: value}(datasetId);
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

        buyAs(buyer, datasetId, price);
        uint256 fee = licences.accruedFees(address(0));
        assertEq(fee, (uint256(price) * feeBps) / 10_000, "fee");
        assertEq(licences.owedEth(owner) + fee, price, "credit + fee == price");
        assertLe(fee * 10, price, "fee <= 10%");
    }

    function testRejectsDelistedUnknownAndTokenOnlyDatasets() public {
        vm.prank(owner);
        nft.delist(datasetId);
        vm.deal(buyer, 1 ether);
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.DatasetNotListed.selector, datasetId));
        licences.purchase{value: PRICE}(datasetId);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        licences.purchase{value: PRICE}(99);
        vm.stopPrank();

        TestToken token = new TestToken();
        DatasetNFT.Terms memory t = defaultTerms();
        t.priceWei = 0;
        t.paymentToken = address(token);
        t.priceToken = 5e18;
        uint256 tokenOnly = registerAs(owner, t);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.EthPaymentNotAccepted.selector, tokenOnly));
        vm.prank(buyer);
        licences.purchase{value: 0}(tokenOnly);
    }

    function testRevenueGoesToTheOwnerAtPurchaseTime() public {
        buyAs(buyer, datasetId, PRICE);
        uint256 share = PRICE - (PRICE * FEE_BPS) / 10_000;
        vm.prank(owner);
        nft.transferFrom(owner, stranger, datasetId);
        buyAs(buyer, datasetId, PRICE);
        assertEq(licences.owedEth(owner), share, "old owner keeps the earlier sale");
        assertEq(licences.owedEth(stranger), share, "new owner gets the later sale");
    }

    function testWithdrawPaysOnceAndKeepsAccounting() public {
        buyAs(buyer, datasetId, PRICE);
        buyAs(stranger, datasetId, PRICE);
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
        buyAs(buyer, datasetId, PRICE);
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
        buyAs(buyer, datasetId, PRICE);
        buyAs(stranger, datasetId, PRICE);
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
        vm.startPrank(buyer);
        token.approve(address(licences), 100e18);
        vm.expectRevert(
            abi.encodeWithSelector(DatasetLicence.TokenTermsMismatch.selector, datasetId, address(token), 99e18)
        );
        licences.purchaseWithToken(datasetId, address(token), 99e18);
        uint256 id = licences.purchaseWithToken(datasetId, address(token), 100e18);
        vm.stopPrank();
        assertEq(licences.ownerOf(id), buyer, "holder");
        uint256 fee = (100e18 * uint256(FEE_BPS)) / 10_000;
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
        vm.startPrank(buyer);
        vm.expectRevert(); // ERC20InsufficientAllowance from the token
        licences.purchaseWithToken(datasetId, address(token), 100e18);
        token.approve(address(licences), 100e18);
        vm.expectRevert(abi.encodeWithSelector(DatasetLicence.TokenTransferShortfall.selector, 100e18, 99e18));
        licences.purchaseWithToken(datasetId, address(token), 100e18);
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
        licences.grant(datasetId, buyer, uint64(type(uint40).max) + 1, 1, 1);
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
