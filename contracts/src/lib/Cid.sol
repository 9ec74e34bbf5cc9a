// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title Cid
/// @notice Compact storage of CIDv1 content identifiers whose multihash is sha2-256 (what `ipfs add --cid-version 1`
/// and Helia produce). A CID is kept as its multicodec (uint16) and its 32-byte digest, one slot instead of the
/// three a 59-character base32 string would take, and is rendered back as the multibase base32 string on demand.
/// @dev Binary CIDv1 layout (multiformats/cid spec): <version varint = 0x01><codec varint><multihash>, multihash =
/// <code varint = 0x12 sha2-256><length varint = 0x20><32-byte digest>. Varints are unsigned LEB128 (multiformats
/// unsigned-varint spec), minimally encoded.
library Cid {
    /// @notice The bytes are not a CIDv1 with a sha2-256 multihash and a codec below 2^16.
    error InvalidCid();

    bytes32 private constant BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

    /// @notice Splits a binary CIDv1 into its codec and sha2-256 digest, rejecting anything else.
    function parse(bytes calldata cid) internal pure returns (uint16 codec, bytes32 digest) {
        if (cid.length < 36 || cid[0] != 0x01) revert InvalidCid();
        uint256 value;
        uint256 i = 1;
        // Codec varint: at most 3 bytes, enough for codes below 2^16.
        for (uint256 shift; ; shift += 7) {
            if (i > 3) revert InvalidCid();
            uint8 b = uint8(cid[i++]);
            value |= uint256(b & 0x7f) << shift;
            if (b < 0x80) {
                // Minimal encoding: a final byte of zero after a continuation byte is a padded varint.
                if (b == 0 && i > 2) revert InvalidCid();
                break;
            }
        }
        if (value == 0 || value > type(uint16).max) revert InvalidCid();
        if (cid.length != i + 34 || cid[i] != 0x12 || cid[i + 1] != 0x20) revert InvalidCid();
        return (uint16(value), bytes32(cid[i + 2:]));
    }

    /// @notice The binary CIDv1 for a codec and sha2-256 digest.
    function toBytes(uint16 codec, bytes32 digest) internal pure returns (bytes memory) {
        if (codec < 0x80) return abi.encodePacked(uint8(0x01), uint8(codec), uint16(0x1220), digest);
        if (codec < 0x4000) {
            return abi.encodePacked(uint8(0x01), uint8(codec | 0x80), uint8(codec >> 7), uint16(0x1220), digest);
        }
        return abi.encodePacked(
            uint8(0x01), uint8(codec | 0x80), uint8((codec >> 7) | 0x80), uint8(codec >> 14), uint16(0x1220), digest
        );
    }

    /// @notice The CID as a multibase string: "b" followed by RFC 4648 §6 base32, lowercase, without padding.
    function toBase32String(uint16 codec, bytes32 digest) internal pure returns (string memory) {
        bytes memory data = toBytes(codec, digest);
        bytes memory out = new bytes(1 + (data.length * 8 + 4) / 5);
        out[0] = "b";
        uint256 buffer;
        uint256 bits;
        uint256 j = 1;
        for (uint256 i; i < data.length; ++i) {
            buffer = (buffer << 8) | uint8(data[i]);
            bits += 8;
            while (bits >= 5) {
                bits -= 5;
                out[j++] = BASE32_ALPHABET[(buffer >> bits) & 31];
            }
        }
        if (bits > 0) out[j] = BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
        return string(out);
    }
}
