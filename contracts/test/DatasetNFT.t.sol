// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Fixture} from "./utils/Fixture.sol";
import {TestToken} from "./utils/TestTokens.sol";
import {DatasetNFT} from "../src/DatasetNFT.sol";
import {Cid} from "../src/lib/Cid.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

contract DatasetNFTTest is Fixture {
    event DatasetRegistered(uint256 indexed datasetId, address indexed owner, bytes manifestCid, bytes32 commitment);
    event ListingChanged(uint256 indexed datasetId, bool listed);
    event ManifestUpdated(uint256 indexed datasetId, bytes manifestCid);
    event MetadataUpdate(uint256 _tokenId);

    /// A dag-pb CIDv1 (codec 0x70) of another manifest: the codec changes with the digest.
    bytes internal constant CID_DAG_PB =
        hex"01701220aa406c59dec115cbaca1d85c142f491fe56532d3f4a0f4ece954feac0ccfc189";

    function testRegisterMintsToCallerWithSequentialIds() public {
        vm.expectEmit(true, true, false, true);
        emit DatasetRegistered(1, owner, CID_RAW, COMMITMENT);
        vm.prank(owner);
        uint256 id = nft.register(CID_RAW, COMMITMENT, defaultTerms());
        assertEq(id, 1, "first id");
        assertEq(nft.ownerOf(1), owner, "owner");
        assertEq(nft.lastDatasetId(), 1, "lastDatasetId");
        assertTrue(nft.exists(1), "exists");
        assertFalse(nft.exists(2), "2 does not exist");
        assertEq(registerAs(stranger, defaultTerms()), 2, "second id");
    }

    function testTokenUriIsIpfsManifestCid() public {
        vm.prank(owner);
        uint256 id = nft.register(CID_RAW, COMMITMENT, defaultTerms());
        assertEq(nft.tokenURI(id), "ipfs://bafkreiaiibwftxwbcxf2zioylqkc6si74vstfu7uud2oz2ku72wazt6bre", "tokenURI");
        assertEq(nft.manifestCidOf(id), CID_RAW, "manifestCidOf");
    }

    function testTermsRoundTrip() public {
        TestToken token = new TestToken();
        DatasetNFT.Terms memory t = defaultTerms();
        t.paymentToken = address(token);
        t.priceToken = 42e18;
        uint256 id = registerAs(owner, t);
        DatasetNFT.Terms memory got = nft.termsOf(id);
        assertEq(got.priceWei, t.priceWei, "priceWei");
        assertEq(got.paymentToken, t.paymentToken, "paymentToken");
        assertEq(got.priceToken, t.priceToken, "priceToken");
        assertEq(got.licenceDuration, t.licenceDuration, "licenceDuration");
        assertEq(got.maxJobs, t.maxJobs, "maxJobs");
        assertEq(got.epsilonBudgetMilli, t.epsilonBudgetMilli, "epsilon");
        assertEq(got.royaltyBps, t.royaltyBps, "royalty");
        assertTrue(got.listed, "listed");

        // Dropping the token price clears it.
        t.paymentToken = address(0);
        t.priceToken = 0;
        vm.prank(owner);
        nft.setTerms(id, t);
        got = nft.termsOf(id);
        assertEq(got.paymentToken, address(0), "token cleared");
        assertEq(got.priceToken, 0, "token price cleared");
    }

    function testFuzzTermsRoundTrip(
        uint88 priceWei,
        uint64 duration,
        uint32 maxJobs,
        uint32 epsilon,
        uint96 royalty,
        bool listed
    ) public {
        DatasetNFT.Terms memory t = DatasetNFT.Terms({
            priceWei: priceWei,
            paymentToken: address(0),
            priceToken: 0,
            licenceDuration: uint64(bound(duration, 0, nft.MAX_LICENCE_DURATION())),
            maxJobs: uint32(bound(maxJobs, 1, type(uint32).max)),
            epsilonBudgetMilli: uint32(bound(epsilon, 1, type(uint32).max)),
            dpLevel: uint8(epsilon % 2),
            minOwners: uint16(bound(royalty, 1, type(uint16).max)),
            royaltyBps: uint96(bound(royalty, 0, 10_000)),
            listed: listed && priceWei > 0
        });
        uint256 id = registerAs(owner, t);
        DatasetNFT.Terms memory got = nft.termsOf(id);
        assertEq(keccak256(abi.encode(got)), keccak256(abi.encode(t)), "terms differ");
        (address o, uint256 p, uint64 d, uint32 j, uint32 e, bool l, bytes32 h) = nft.ethSaleTerms(id);
        assertEq(h, keccak256(abi.encode(t)), "terms hash");
        assertEq(nft.termsHashOf(id), h, "termsHashOf");
        assertEq(o, owner, "owner");
        assertEq(p, t.priceWei, "price");
        assertEq(d, t.licenceDuration, "duration");
        assertEq(j, t.maxJobs, "jobs");
        assertEq(e, t.epsilonBudgetMilli, "epsilon");
        assertTrue(l == t.listed, "listed");
    }

    function testRejectsInvalidCidAndCommitment() public {
        vm.startPrank(owner);
        vm.expectRevert(Cid.InvalidCid.selector);
        nft.register("", COMMITMENT, defaultTerms());
        vm.expectRevert(Cid.InvalidCid.selector);
        nft.register(bytes("bafkreiaiibwftxwbcxf2zioylqkc6si74vstfu7uud2oz2ku72wazt6bre"), COMMITMENT, defaultTerms());
        vm.expectRevert(DatasetNFT.ZeroCommitment.selector);
        nft.register(CID_RAW, bytes32(0), defaultTerms());
        vm.stopPrank();
    }

    function testRejectsInvalidTerms() public {
        DatasetNFT.Terms memory t = defaultTerms();
        t.royaltyBps = 10_001;
        _expectRegisterRevert(t, abi.encodeWithSelector(DatasetNFT.RoyaltyTooHigh.selector, 10_001, 10_000));

        t = defaultTerms();
        t.priceWei = uint256(type(uint88).max) + 1;
        _expectRegisterRevert(
            t, abi.encodeWithSelector(DatasetNFT.PriceTooHigh.selector, t.priceWei, uint256(type(uint88).max))
        );

        t = defaultTerms();
        t.maxJobs = 0;
        _expectRegisterRevert(t, abi.encodeWithSelector(DatasetNFT.ZeroMaxJobs.selector));

        t = defaultTerms();
        t.epsilonBudgetMilli = 0;
        _expectRegisterRevert(t, abi.encodeWithSelector(DatasetNFT.ZeroEpsilonBudget.selector));

        t = defaultTerms();
        t.licenceDuration = uint64(type(uint32).max) + 1;
        _expectRegisterRevert(
            t,
            abi.encodeWithSelector(
                DatasetNFT.LicenceDurationTooLong.selector, t.licenceDuration, uint64(type(uint32).max)
            )
        );

        t = defaultTerms();
        t.dpLevel = 2;
        _expectRegisterRevert(t, abi.encodeWithSelector(DatasetNFT.UnknownDpLevel.selector, 2));

        t = defaultTerms();
        t.priceToken = 1;
        _expectRegisterRevert(t, abi.encodeWithSelector(DatasetNFT.TokenPriceMismatch.selector, address(0), 1));

        t = defaultTerms();
        t.paymentToken = stranger; // an account without code
        t.priceToken = 1;
        _expectRegisterRevert(t, abi.encodeWithSelector(DatasetNFT.InvalidPaymentToken.selector, stranger));

        t = defaultTerms();
        t.priceWei = 0;
        _expectRegisterRevert(t, abi.encodeWithSelector(DatasetNFT.ListedWithoutPrice.selector));
    }

    /// The DP level is part of the terms: stored, returned, emitted, and covered by the hash a buyer pins.
    function testDpLevelIsPartOfTheTerms() public {
        DatasetNFT.Terms memory t = defaultTerms();
        assertEq(t.dpLevel, nft.DP_LEVEL_RECORD(), "fixture is record level");
        uint256 id = registerAs(owner, t);
        assertEq(nft.termsOf(id).dpLevel, nft.DP_LEVEL_RECORD(), "record level stored");
        bytes32 recordHash = nft.termsHashOf(id);

        t.dpLevel = nft.DP_LEVEL_OWNER();
        vm.expectEmit(true, false, false, true);
        emit DatasetNFT.TermsUpdated(id, t);
        vm.prank(owner);
        nft.setTerms(id, t);
        assertEq(nft.termsOf(id).dpLevel, nft.DP_LEVEL_OWNER(), "owner level stored");
        assertTrue(nft.termsHashOf(id) != recordHash, "the level changes the pinned hash");
        assertEq(nft.termsHashOf(id), keccak256(abi.encode(t)), "hash covers the level");
        // The rest of the listing is untouched by the level sharing its slot.
        DatasetNFT.Terms memory got = nft.termsOf(id);
        assertEq(keccak256(abi.encode(got)), keccak256(abi.encode(t)), "terms round trip");

        t.dpLevel = 7;
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.UnknownDpLevel.selector, 7));
        nft.setTerms(id, t);
    }

    function testOnlyOwnerSetsTermsAndListing() public {
        uint256 id = registerAs(owner, defaultTerms());
        bytes memory notOwner = abi.encodeWithSelector(DatasetNFT.NotDatasetOwner.selector, id, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(notOwner);
        nft.setTerms(id, defaultTerms());
        vm.expectRevert(notOwner);
        nft.delist(id);
        vm.expectRevert(notOwner);
        nft.list(id);
        vm.stopPrank();
    }

    function testListAndDelist() public {
        uint256 id = registerAs(owner, defaultTerms());
        vm.startPrank(owner);
        vm.expectEmit(true, false, false, true);
        emit ListingChanged(id, false);
        nft.delist(id);
        assertFalse(nft.termsOf(id).listed, "delisted");
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.ListingUnchanged.selector, id, false));
        nft.delist(id);
        nft.list(id);
        assertTrue(nft.termsOf(id).listed, "listed");
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.ListingUnchanged.selector, id, true));
        nft.list(id);
        vm.stopPrank();
    }

    function testUnknownDatasetReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.termsOf(7);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.tokenURI(7);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        vm.prank(owner);
        nft.setTerms(7, defaultTerms());
    }

    function testTransferMovesOwnershipAndRoyaltyReceiver() public {
        uint256 id = registerAs(owner, defaultTerms());
        (address receiver, uint256 amount) = nft.royaltyInfo(id, 1 ether);
        assertEq(receiver, owner, "royalty receiver");
        assertEq(amount, 0.05 ether, "royalty 5%");
        vm.prank(owner);
        nft.transferFrom(owner, buyer, id);
        (receiver,) = nft.royaltyInfo(id, 1 ether);
        assertEq(receiver, buyer, "royalty follows the owner");
        vm.prank(buyer);
        nft.delist(id);
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.NotDatasetOwner.selector, id, owner));
        vm.prank(owner);
        nft.list(id);
    }

    function testOwnerReplacesManifestKeepingTokenTermsAndLicences() public {
        uint256 id = registerAs(owner, defaultTerms());
        vm.deal(buyer, 1 ether);
        bytes32 pin = nft.termsHashOf(id);
        vm.prank(buyer);
        uint256 licenceId = licences.purchase{value: defaultTerms().priceWei}(id, pin);
        vm.expectEmit(true, false, false, true);
        emit ManifestUpdated(id, CID_DAG_PB);
        vm.expectEmit(false, false, false, true);
        emit MetadataUpdate(id);
        vm.prank(owner);
        nft.setManifest(id, CID_DAG_PB);
        assertEq(nft.manifestCidOf(id), CID_DAG_PB, "manifestCidOf");
        assertEq(nft.ownerOf(id), owner, "same token, same owner");
        assertEq(nft.termsHashOf(id), pin, "terms untouched");
        assertEq(licences.ownerOf(licenceId), buyer, "licence untouched");
        // The same CID again is refused (a reseal always stores new ciphertext, so a new manifest).
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.ManifestUnchanged.selector, id));
        vm.prank(owner);
        nft.setManifest(id, CID_DAG_PB);
    }

    function testOnlyOwnerSetsManifestAndOnlyValidCids() public {
        uint256 id = registerAs(owner, defaultTerms());
        vm.expectRevert(abi.encodeWithSelector(DatasetNFT.NotDatasetOwner.selector, id, stranger));
        vm.prank(stranger);
        nft.setManifest(id, CID_DAG_PB);
        vm.expectRevert();
        vm.prank(owner);
        nft.setManifest(id, hex"0155");
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        vm.prank(owner);
        nft.setManifest(99, CID_DAG_PB);
        assertEq(nft.manifestCidOf(id), cidOf(id), "unchanged");
    }

    function testSupportsInterfaces() public view {
        assertTrue(nft.supportsInterface(bytes4(0x49064906)), "ERC-4906");
        assertTrue(nft.supportsInterface(type(IERC2981).interfaceId), "ERC-2981");
        assertTrue(nft.supportsInterface(type(IERC721).interfaceId), "ERC-721");
        assertFalse(nft.supportsInterface(0xffffffff), "0xffffffff");
    }

    function _expectRegisterRevert(DatasetNFT.Terms memory t, bytes memory err) private {
        vm.expectRevert(err);
        vm.prank(owner);
        nft.register(CID_RAW, COMMITMENT, t);
    }
}
