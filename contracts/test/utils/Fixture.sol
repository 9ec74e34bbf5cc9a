// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {TestBase} from "./TestBase.sol";
import {DatasetNFT} from "../../src/DatasetNFT.sol";
import {DatasetLicence} from "../../src/DatasetLicence.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";

/// @notice Deploys the three contracts and offers helpers shared by the test suites.
abstract contract Fixture is TestBase {
    DatasetNFT internal nft;
    DatasetLicence internal licences;
    ModelRegistry internal registry;

    address internal admin;
    address internal treasury;
    address internal owner;
    address internal buyer;
    address internal stranger;
    address internal coordinator;

    uint16 internal constant FEE_BPS = 250;
    uint256 internal constant PRICE = 0.01 ether;
    bytes32 internal constant COMMITMENT = keccak256("plaintext");
    /// raw-codec CIDv1 of the bytes "sealfold": bafkreiaiibwftxwbcxf2zioylqkc6si74vstfu7uud2oz2ku72wazt6bre
    bytes internal constant CID_RAW = hex"0155122008406c59dec115cbaca1d85c142f491fe56532d3f4a0f4ece954feac0ccfc189";

    function setUp() public virtual {
        admin = makeAccount("admin");
        treasury = makeAccount("treasury");
        owner = makeAccount("owner");
        buyer = makeAccount("buyer");
        stranger = makeAccount("stranger");
        coordinator = makeAccount("coordinator");
        nft = new DatasetNFT();
        licences = new DatasetLicence(nft, admin, treasury, FEE_BPS);
        registry = new ModelRegistry(nft, admin);
        bytes32 role = registry.COORDINATOR_ROLE();
        vm.prank(admin);
        registry.grantRole(role, coordinator);
    }

    function defaultTerms() internal pure returns (DatasetNFT.Terms memory) {
        return DatasetNFT.Terms({
            priceWei: PRICE,
            paymentToken: address(0),
            priceToken: 0,
            licenceDuration: 30 days,
            maxJobs: 5,
            epsilonBudgetMilli: 3000,
            dpLevel: 0,
            minOwners: 3,
            royaltyBps: 500,
            listed: true
        });
    }

    /// @notice A raw-codec CIDv1 whose digest is derived from `seed`.
    function cidOf(uint256 seed) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"01551220", keccak256(abi.encode(seed)));
    }

    function registerAs(address who, DatasetNFT.Terms memory terms) internal returns (uint256 id) {
        bytes memory cid = cidOf(nft.lastDatasetId() + 1);
        vm.prank(who);
        id = nft.register(cid, COMMITMENT, terms);
    }

    /// @notice Buys as `who`, pinning the terms listed now.
    function buyAs(address who, uint256 datasetId, uint256 value) internal returns (uint256 licenceId) {
        bytes32 pinned = nft.termsHashOf(datasetId);
        vm.deal(who, who.balance + value);
        vm.prank(who);
        licenceId = licences.purchase{value: value}(datasetId, pinned);
    }

    /// @notice Releases the vested proceeds of `licenceId` to its dataset's owner.
    function releaseOne(uint256 licenceId) internal returns (uint256) {
        uint256[] memory ids = new uint256[](1);
        ids[0] = licenceId;
        return licences.release(ids);
    }
}
