// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title LicenceId
/// @notice A licence's terms never change after issue, so its token id carries them: no storage slot per licence.
/// Layout, most significant bits first:
///   serial (56) | datasetId (64) | expiresAt (64) | maxJobs (32) | epsilonBudgetMilli (32) | granted (8)
/// The serial, unique per licence and increasing, keeps ids unique and orders them by issue.
library LicenceId {
    /// @notice The decoded fields of a licence id.
    struct Fields {
        uint56 serial;
        uint64 datasetId;
        uint64 expiresAt;
        uint32 maxJobs;
        uint32 epsilonBudgetMilli;
        bool granted;
    }

    function encode(Fields memory f) internal pure returns (uint256) {
        return (uint256(f.serial) << 200) | (uint256(f.datasetId) << 136) | (uint256(f.expiresAt) << 72)
            | (uint256(f.maxJobs) << 40) | (uint256(f.epsilonBudgetMilli) << 8) | (f.granted ? 1 : 0);
    }

    function decode(uint256 id) internal pure returns (Fields memory f) {
        f.serial = uint56(id >> 200);
        f.datasetId = uint64(id >> 136);
        f.expiresAt = uint64(id >> 72);
        f.maxJobs = uint32(id >> 40);
        f.epsilonBudgetMilli = uint32(id >> 8);
        f.granted = uint8(id) != 0;
    }

    function datasetId(uint256 id) internal pure returns (uint256) {
        return uint64(id >> 136);
    }

    function expiresAt(uint256 id) internal pure returns (uint64) {
        return uint64(id >> 72);
    }
}
