// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Fixture} from "./utils/Fixture.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {Cid} from "../src/lib/Cid.sol";
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
        assertEq(r.datasetIds.length, 2, "datasets");
        assertEq(r.datasetIds[0], d1, "d1");
        assertEq(r.datasetIds[1], d2, "d2");
        assertEq(r.rounds, 10, "rounds");
        assertEq(r.epsilonSpentMilli, 2500, "epsilon");
        assertEq(r.recordedAt, block.timestamp, "time");
        assertEq(r.coordinator, coordinator, "coordinator");
        assertEq(
            registry.modelURI(coordinator, JOB),
            "ipfs://bafkreiaiibwftxwbcxf2zioylqkc6si74vstfu7uud2oz2ku72wazt6bre",
            "modelURI"
        );
        assertEq(registry.jobCountOfDataset(d1), 1, "by dataset");
        ModelRegistry.JobRef memory ref = registry.jobsOfDataset(d2, 0, 10)[0];
        assertEq(ref.jobId, JOB, "job of d2");
        assertEq(ref.coordinator, coordinator, "coordinator of d2's job");
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
        assertEq(registry.jobCountOfDataset(d1), 2, "both listed, each with its coordinator");
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

    function testFuzzPagination(uint8 jobs, uint8 offset, uint8 limit) public {
        jobs = uint8(bound(jobs, 0, 20));
        vm.startPrank(coordinator);
        for (uint256 i; i < jobs; ++i) {
            registry.record(keccak256(abi.encode(i)), CID_RAW, _ids(d1, 0), 1, 0);
        }
        vm.stopPrank();
        ModelRegistry.JobRef[] memory page = registry.jobsOfDataset(d1, offset, limit);
        uint256 expected = offset >= jobs ? 0 : (limit < jobs - offset ? limit : jobs - offset);
        assertEq(page.length, expected, "page length");
        for (uint256 i; i < page.length; ++i) {
            assertEq(page[i].jobId, keccak256(abi.encode(offset + i)), "page order");
        }
        assertEq(registry.jobsOfDataset(d1, 0, type(uint256).max).length, jobs, "unbounded limit");
    }

    /// @dev One or two dataset ids (`b` == 0 means one).
    function _ids(uint256 a, uint256 b) private pure returns (uint256[] memory ids) {
        ids = new uint256[](b == 0 ? 1 : 2);
        ids[0] = a;
        if (b != 0) ids[1] = b;
    }
}
