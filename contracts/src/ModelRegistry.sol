// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Cid} from "./lib/Cid.sol";
import {DatasetNFT} from "./DatasetNFT.sol";

/// @title ModelRegistry
/// @notice Provenance of trained models: for every finished federated job, the coordinator records the model's CID,
/// the datasets it was trained on, the number of rounds and the differential-privacy budget ε it spent. Records are
/// written once and never changed, and are kept under the account that wrote them: a record is addressed by
/// (coordinator, jobId), so one coordinator can never claim another's job id first. The buyer's signed JobRequest
/// names its coordinator, and clients look the record up under that address.
contract ModelRegistry is AccessControl {
    /// @notice A provenance record as returned by `modelOf`.
    /// @param modelCid Binary CIDv1 of the (encrypted) model on IPFS.
    /// @param datasetIds Datasets trained on, strictly increasing.
    /// @param rounds Federated rounds run.
    /// @param epsilonSpentMilli ε spent by the job, times 1000, rounded up (type(uint32).max: unbounded, no DP noise).
    /// @param recordedAt Block timestamp of the record.
    /// @param coordinator The account that recorded it (the key it is stored under).
    struct ModelRecord {
        bytes modelCid;
        uint256[] datasetIds;
        uint32 rounds;
        uint32 epsilonSpentMilli;
        uint64 recordedAt;
        address coordinator;
    }

    /// @notice A recorded job, as listed per dataset by `jobsOfDataset`.
    struct JobRef {
        address coordinator;
        bytes32 jobId;
    }

    struct StoredRecord {
        bytes32 cidDigest;
        uint16 cidCodec;
        uint32 rounds;
        uint32 epsilonSpentMilli;
        uint64 recordedAt;
        address coordinator;
        uint256[] datasetIds;
    }

    /// @notice May record models: the coordinator service's account.
    bytes32 public constant COORDINATOR_ROLE = keccak256("COORDINATOR_ROLE");

    /// @notice The dataset registry the recorded dataset ids refer to.
    DatasetNFT public immutable datasets;

    mapping(address coordinator => mapping(bytes32 jobId => StoredRecord)) private _records;
    mapping(uint256 datasetId => JobRef[]) private _jobsByDataset;

    /// @notice A trained model was recorded for job `jobId`.
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
    /// COORDINATOR_ROLE; once per (caller, job).
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
        for (uint256 i; i < datasetIds.length; ++i) {
            if (i > 0 && datasetIds[i] <= datasetIds[i - 1]) revert DatasetIdsNotSorted(i);
            if (!datasets.exists(datasetIds[i])) revert UnknownDataset(datasetIds[i]);
            _jobsByDataset[datasetIds[i]].push(JobRef({coordinator: msg.sender, jobId: jobId}));
        }
        r.cidDigest = digest;
        r.cidCodec = codec;
        r.rounds = rounds;
        r.epsilonSpentMilli = epsilonSpentMilli;
        r.recordedAt = uint64(block.timestamp);
        r.coordinator = msg.sender;
        r.datasetIds = datasetIds;
        emit ModelRecorded(jobId, msg.sender, modelCid, datasetIds, rounds, epsilonSpentMilli);
    }

    /// @notice The provenance record `coordinator` wrote for job `jobId`; reverts with `ModelNotFound` if none.
    function modelOf(address coordinator, bytes32 jobId) external view returns (ModelRecord memory) {
        StoredRecord storage r = _records[coordinator][jobId];
        if (r.recordedAt == 0) revert ModelNotFound(coordinator, jobId);
        return ModelRecord({
            modelCid: Cid.toBytes(r.cidCodec, r.cidDigest),
            datasetIds: r.datasetIds,
            rounds: r.rounds,
            epsilonSpentMilli: r.epsilonSpentMilli,
            recordedAt: r.recordedAt,
            coordinator: r.coordinator
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

    /// @notice How many recorded jobs trained on dataset `datasetId`.
    function jobCountOfDataset(uint256 datasetId) external view returns (uint256) {
        return _jobsByDataset[datasetId].length;
    }

    /// @notice Up to `limit` recorded jobs (coordinator, job id) that trained on `datasetId`, oldest first, starting
    /// at `offset`.
    function jobsOfDataset(uint256 datasetId, uint256 offset, uint256 limit)
        external
        view
        returns (JobRef[] memory jobIds)
    {
        JobRef[] storage all = _jobsByDataset[datasetId];
        if (offset >= all.length) return new JobRef[](0);
        uint256 end = limit >= all.length - offset ? all.length : offset + limit;
        jobIds = new JobRef[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            jobIds[i - offset] = all[i];
        }
    }
}
