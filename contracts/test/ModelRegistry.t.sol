// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Fixture} from "./utils/Fixture.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {Cid} from "../src/lib/Cid.sol";
import {DatasetNFT} from "../src/DatasetNFT.sol";
import {Vm} from "./utils/TestBase.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract ModelRegistryTest is Fixture {
    event ModelRecorded(
        bytes32 indexed jobId,
        address indexed coordinator,
        bytes modelCid,
        uint256[] datasetIds,
        uint32 rounds,
        uint32 epsilonSpentMilli
    );

    bytes32 internal constant JOB = keccak256("job-1");
    uint256 internal d1;
    uint256 internal d2;

    function setUp() public override {
        super.setUp();
        d1 = registerAs(owner, defaultTerms());
        d2 = registerAs(stranger, defaultTerms());
    }

    function testRecordAndLookups() public {
        uint256[] memory ids = _ids(d1, d2);
        vm.expectEmit(true, true, false, true);
        emit ModelRecorded(JOB, coordinator, CID_RAW, ids, 10, 2500);
        vm.prank(coordinator);
        registry.record(JOB, CID_RAW, ids, 10, 2500);

        assertTrue(registry.isRecorded(coordinator, JOB), "recorded");
        ModelRegistry.ModelRecord memory r = registry.modelOf(coordinator, JOB);
        assertEq(r.modelCid, CID_RAW, "cid");
        assertEq(r.datasetsHash, keccak256(abi.encodePacked(d1, d2)), "commitment to the dataset ids");
        assertEq(r.datasetCount, 2, "datasets");
        assertEq(r.rounds, 10, "rounds");
        assertEq(r.epsilonSpentMilli, 2500, "epsilon");
        assertEq(r.recordedAt, block.timestamp, "time");
        assertEq(r.recordedBlock, block.number, "block of the ModelRecorded event");
        assertEq(r.coordinator, coordinator, "coordinator");
        assertEq(
            registry.modelURI(coordinator, JOB),
            "ipfs://bafkreiaiibwftxwbcxf2zioylqkc6si74vstfu7uud2oz2ku72wazt6bre",
            "modelURI"
        );
    }

    /// The event carries the ids the stored hash commits to, so a client can recover and check them.
    function testEventCarriesTheIdsTheRecordCommitsTo() public {
        uint256 d3 = registerAs(owner, defaultTerms());
        uint256[] memory ids = new uint256[](3);
        (ids[0], ids[1], ids[2]) = (d1, d2, d3);
        vm.recordLogs();
        vm.prank(coordinator);
        registry.record(JOB, CID_RAW, ids, 4, 900);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].topics[0], ModelRecorded.selector, "ModelRecorded");
        assertEq(logs[0].topics[1], JOB, "jobId indexed");
        assertEq(logs[0].topics[2], bytes32(uint256(uint160(coordinator))), "coordinator indexed");
        (, uint256[] memory logged,,) = abi.decode(logs[0].data, (bytes, uint256[], uint32, uint32));
        ModelRegistry.ModelRecord memory r = registry.modelOf(coordinator, JOB);
        assertEq(keccak256(abi.encodePacked(logged)), r.datasetsHash, "logged ids match the stored hash");
        assertEq(logged.length, r.datasetCount, "logged ids match the stored count");
    }

    /// `record` checks existence as 1 <= id <= lastDatasetId, which holds because DatasetNFT mints ids in sequence
    /// and never burns: pin that equivalence against `exists`.
    function testFuzzExistsIsTheMintedRange(uint256 id) public view {
        uint256 last = nft.lastDatasetId();
        id = bound(id, 0, last + 3);
        assertTrue(nft.exists(id) == (id >= 1 && id <= last), "exists iff minted");
    }

    /// EIP-7825 caps a transaction at 2^24 gas; a job may train on JOB_MAX_DATASETS = 1024 datasets
    /// (libs/protocol/src/job.ts), and its record must fit in one transaction with room to spare.
    function testRecordOf1024DatasetsFitsOneTransaction() public {
        uint256 n = 1024;
        uint256[] memory ids = new uint256[](n);
        ids[0] = d1;
        ids[1] = d2;
        DatasetNFT.Terms memory terms = defaultTerms();
        for (uint256 i = 2; i < n; ++i) {
            ids[i] = registerAs(owner, terms);
        }
        bytes memory data = abi.encodeCall(ModelRegistry.record, (JOB, CID_RAW, ids, 10, 2500));
        vm.prank(coordinator);
        uint256 before = gasleft();
        (bool ok,) = address(registry).call(data);
        uint256 execution = before - gasleft();
        assertTrue(ok, "recorded");
        uint256 txGas = _intrinsicGas(data) + execution;
        assertLe(txGas, 1 << 24, "EIP-7825 transaction gas cap");
        assertLe(txGas, 2_000_000, "well under the cap: under 2k gas per dataset");
        ModelRegistry.ModelRecord memory r = registry.modelOf(coordinator, JOB);
        assertEq(r.datasetCount, n, "count");
        assertEq(r.datasetsHash, keccak256(abi.encodePacked(ids)), "hash");
    }

    function testOnlyCoordinatorRecords() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, registry.COORDINATOR_ROLE()
            )
        );
        vm.prank(stranger);
        registry.record(JOB, CID_RAW, _ids(d1, 0), 1, 0);
        assertFalse(registry.isRecorded(coordinator, JOB), "not recorded");
    }

    /// Attack: coordinator B, also holding COORDINATOR_ROLE, records job A's id first with its own model. Before
    /// records were keyed by their writer, A could then never record its job and buyers read B's model.
    function testAnotherCoordinatorCannotSquatAJobRecord() public {
        address squatter = makeAccount("squatter");
        bytes32 role = registry.COORDINATOR_ROLE();
        vm.prank(admin);
        registry.grantRole(role, squatter);
        vm.prank(squatter);
        registry.record(JOB, cidOf(666), _ids(d1, 0), 1, 0);
        assertFalse(registry.isRecorded(coordinator, JOB), "B's record is not A's");

        vm.prank(coordinator);
        registry.record(JOB, CID_RAW, _ids(d1, 0), 3, 800);
        assertEq(registry.modelOf(coordinator, JOB).modelCid, CID_RAW, "A's record under A");
        assertEq(registry.modelOf(squatter, JOB).modelCid, cidOf(666), "B's record only under B");
    }

    function testRecordsOncePerJob() public {
        vm.startPrank(coordinator);
        registry.record(JOB, CID_RAW, _ids(d1, 0), 1, 0);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.JobAlreadyRecorded.selector, coordinator, JOB));
        registry.record(JOB, CID_RAW, _ids(d2, 0), 2, 0);
        vm.stopPrank();
    }

    function testRejectsBadInput() public {
        vm.startPrank(coordinator);
        vm.expectRevert(ModelRegistry.ZeroJobId.selector);
        registry.record(bytes32(0), CID_RAW, _ids(d1, 0), 1, 0);
        vm.expectRevert(Cid.InvalidCid.selector);
        registry.record(JOB, "not a cid", _ids(d1, 0), 1, 0);
        vm.expectRevert(ModelRegistry.NoDatasets.selector);
        registry.record(JOB, CID_RAW, new uint256[](0), 1, 0);
        vm.expectRevert(ModelRegistry.ZeroRounds.selector);
        registry.record(JOB, CID_RAW, _ids(d1, 0), 0, 0);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.DatasetIdsNotSorted.selector, 1));
        registry.record(JOB, CID_RAW, _ids(d2, d1), 1, 0);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.DatasetIdsNotSorted.selector, 1));
        registry.record(JOB, CID_RAW, _ids(d1, d1), 1, 0);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownDataset.selector, 77));
        registry.record(JOB, CID_RAW, _ids(d1, 77), 1, 0);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, coordinator, JOB));
        registry.modelOf(coordinator, JOB);
    }

    /// @dev Intrinsic gas of a call transaction with `data`: 21,000 plus calldata (EIP-2028: 4 per zero byte, 16
    /// per other byte), or the EIP-7623 floor (10 per token; a zero byte is 1 token, another byte 4) if higher.
    function _intrinsicGas(bytes memory data) private pure returns (uint256) {
        uint256 zeros;
        for (uint256 i; i < data.length; ++i) {
            if (data[i] == 0) ++zeros;
        }
        uint256 tokens = zeros + 4 * (data.length - zeros);
        uint256 standard = 21_000 + 4 * tokens;
        uint256 floor = 21_000 + 10 * tokens;
        return standard > floor ? standard : floor;
    }

    /// @dev One or two dataset ids (`b` == 0 means one).
    function _ids(uint256 a, uint256 b) private pure returns (uint256[] memory ids) {
        ids = new uint256[](b == 0 ? 1 : 2);
        ids[0] = a;
        if (b != 0) ids[1] = b;
    }
}
