// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Cid} from "./lib/Cid.sol";
import {DatasetNFT} from "./DatasetNFT.sol";

/// @title ModelRegistry
/// @notice Provenance of trained models: for every finished federated job, the coordinator records the model's CID,
/// the datasets it was trained on, the number of rounds and the differential-privacy budget ε it spent. Records are
/// written once and never changed, and are kept under the account that wrote them: a record is addressed by
/// (coordinator, jobId), so one coordinator can never claim another's job id first. The buyer's signed JobRequest
/// names its coordinator, and clients look the record up under that address.
///
/// A job may train on up to 1024 datasets, and one record must fit in one transaction (EIP-7825 caps a
/// transaction at 2^24 gas). So the record stores only a commitment to its dataset list, keccak256 of the packed
/// ids and their count, in three storage slots whatever the list's length; the list itself is in the
/// `ModelRecorded` event, which clients read back (at `recordedBlock`) and check against the commitment.
contract ModelRegistry is AccessControl {
    /// @notice A provenance record as returned by `modelOf`.
    /// @param modelCid Binary CIDv1 of the (encrypted) model on IPFS.
    /// @param datasetsHash keccak256(abi.encodePacked(datasetIds)) of the datasets trained on (strictly increasing
    /// ids); the ids are in the record's `ModelRecorded` event.
    /// @param datasetCount How many datasets were trained on.
    /// @param rounds Federated rounds run.
    /// @param epsilonSpentMilli ε spent by the job, times 1000, rounded up (type(uint32).max: unbounded, no DP noise).
    /// @param recordedAt Block timestamp of the record.
    /// @param recordedBlock Number of the block that holds the record and its `ModelRecorded` event.
    /// @param coordinator The account that recorded it (the key it is stored under).
    struct ModelRecord {
        bytes modelCid;
        bytes32 datasetsHash;
        uint32 datasetCount;
        uint32 rounds;
        uint32 epsilonSpentMilli;
        uint64 recordedAt;
        uint64 recordedBlock;
        address coordinator;
    }

    /// @dev Three slots: the CID digest; the packed scalars (16 + 32 + 32 + 32 + 64 + 64 = 240 bits); the dataset
    /// commitment. The coordinator is the mapping key, not stored again.
    struct StoredRecord {
        bytes32 cidDigest;
        uint16 cidCodec;
        uint32 datasetCount;
        uint32 rounds;
        uint32 epsilonSpentMilli;
        uint64 recordedAt;
        uint64 recordedBlock;
        bytes32 datasetsHash;
    }

    /// @notice May record models: the coordinator service's account.
    bytes32 public constant COORDINATOR_ROLE = keccak256("COORDINATOR_ROLE");

    /// @notice The dataset registry the recorded dataset ids refer to.
    DatasetNFT public immutable datasets;

    mapping(address coordinator => mapping(bytes32 jobId => StoredRecord)) private _records;

    /// @notice A trained model was recorded for job `jobId`: the full dataset list, which the record commits to.
    event ModelRecorded(
        bytes32 indexed jobId,
        address indexed coordinator,
        bytes modelCid,
        uint256[] datasetIds,
        uint32 rounds,
        uint32 epsilonSpentMilli
    );

    /// @notice The job id is zero.
    error ZeroJobId();
    /// @notice `coordinator` already recorded a model for this job.
    error JobAlreadyRecorded(address coordinator, bytes32 jobId);
    /// @notice `coordinator` recorded no model for this job.
    error ModelNotFound(address coordinator, bytes32 jobId);
    /// @notice The dataset list is empty.
    error NoDatasets();
    /// @notice Dataset ids must be strictly increasing (sorted, no duplicates); `index` is the first offender.
    error DatasetIdsNotSorted(uint256 index);
    /// @notice A dataset id does not exist in the registry.
    error UnknownDataset(uint256 datasetId);
    /// @notice Zero rounds were reported.
    error ZeroRounds();
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();

    /// @param datasets_ The dataset registry.
    /// @param admin Receives DEFAULT_ADMIN_ROLE (grants and revokes COORDINATOR_ROLE).
    constructor(DatasetNFT datasets_, address admin) {
        if (address(datasets_) == address(0) || admin == address(0)) revert ZeroAddress();
        datasets = datasets_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Records the provenance of the model trained by job `jobId` under the caller's address. Only
    /// COORDINATOR_ROLE; once per (caller, job). Stores a commitment to `datasetIds` (hash and count) and emits the
    /// list in `ModelRecorded`.
    /// @param jobId The job's id (e.g. the EIP-712 hash of its signed JobRequest).
    /// @param modelCid Binary CIDv1 (sha2-256) of the model on IPFS.
    /// @param datasetIds The datasets trained on, strictly increasing, each registered.
    /// @param rounds Federated rounds run (at least 1).
    /// @param epsilonSpentMilli ε spent, times 1000, rounded up; type(uint32).max when the job added no DP noise
    /// (unbounded ε).
    function record(
        bytes32 jobId,
        bytes calldata modelCid,
        uint256[] calldata datasetIds,
        uint32 rounds,
        uint32 epsilonSpentMilli
    ) external onlyRole(COORDINATOR_ROLE) {
        if (jobId == 0) revert ZeroJobId();
        StoredRecord storage r = _records[msg.sender][jobId];
        if (r.recordedAt != 0) revert JobAlreadyRecorded(msg.sender, jobId);
        (uint16 codec, bytes32 digest) = Cid.parse(modelCid);
        if (datasetIds.length == 0) revert NoDatasets();
        if (rounds == 0) revert ZeroRounds();
        // DatasetNFT mints ids 1, 2, 3, … and has no burn, so an id exists iff 1 <= id <= lastDatasetId: one call
        // instead of one `exists` per id (testExistsIsTheMintedRange pins this).
        uint256 lastDatasetId = datasets.lastDatasetId();
        for (uint256 i; i < datasetIds.length; ++i) {
            uint256 id = datasetIds[i];
            if (i > 0 && id <= datasetIds[i - 1]) revert DatasetIdsNotSorted(i);
            if (id == 0 || id > lastDatasetId) revert UnknownDataset(id);
        }
        r.cidDigest = digest;
        r.cidCodec = codec;
        r.datasetCount = SafeCast.toUint32(datasetIds.length);
        r.rounds = rounds;
        r.epsilonSpentMilli = epsilonSpentMilli;
        r.recordedAt = uint64(block.timestamp);
        r.recordedBlock = uint64(block.number);
        r.datasetsHash = keccak256(abi.encodePacked(datasetIds));
        emit ModelRecorded(jobId, msg.sender, modelCid, datasetIds, rounds, epsilonSpentMilli);
    }

    /// @notice The provenance record `coordinator` wrote for job `jobId`; reverts with `ModelNotFound` if none.
    function modelOf(address coordinator, bytes32 jobId) external view returns (ModelRecord memory) {
        StoredRecord storage r = _records[coordinator][jobId];
        if (r.recordedAt == 0) revert ModelNotFound(coordinator, jobId);
        return ModelRecord({
            modelCid: Cid.toBytes(r.cidCodec, r.cidDigest),
            datasetsHash: r.datasetsHash,
            datasetCount: r.datasetCount,
            rounds: r.rounds,
            epsilonSpentMilli: r.epsilonSpentMilli,
            recordedAt: r.recordedAt,
            recordedBlock: r.recordedBlock,
            coordinator: coordinator
        });
    }

    /// @notice `ipfs://<model CID>` of the model `coordinator` recorded for job `jobId`; reverts with `ModelNotFound`.
    function modelURI(address coordinator, bytes32 jobId) external view returns (string memory) {
        StoredRecord storage r = _records[coordinator][jobId];
        if (r.recordedAt == 0) revert ModelNotFound(coordinator, jobId);
        return string.concat("ipfs://", Cid.toBase32String(r.cidCodec, r.cidDigest));
    }

    /// @notice Whether `coordinator` recorded a model for job `jobId`.
    function isRecorded(address coordinator, bytes32 jobId) external view returns (bool) {
        return _records[coordinator][jobId].recordedAt != 0;
    }
}
