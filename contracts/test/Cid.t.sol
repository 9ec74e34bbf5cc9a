// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {TestBase} from "./utils/TestBase.sol";
import {Cid} from "../src/lib/Cid.sol";

/// @dev Exposes the library with calldata arguments, as the contracts use it.
contract CidHarness {
    function parse(bytes calldata cid) external pure returns (uint16 codec, bytes32 digest) {
        return Cid.parse(cid);
    }

    function roundTrip(bytes calldata cid) external pure returns (bytes memory) {
        (uint16 codec, bytes32 digest) = Cid.parse(cid);
        return Cid.toBytes(codec, digest);
    }

    function toString(bytes calldata cid) external pure returns (string memory) {
        (uint16 codec, bytes32 digest) = Cid.parse(cid);
        return Cid.toBase32String(codec, digest);
    }
}

/// Vectors computed with the `multiformats` package (CID.createV1(code, sha256("sealfold")).toString()).
contract CidTest is TestBase {
    CidHarness internal cid;
    bytes32 internal constant DIGEST = 0x08406c59dec115cbaca1d85c142f491fe56532d3f4a0f4ece954feac0ccfc189;

    function setUp() public {
        cid = new CidHarness();
    }

    function testRawCodec() public view {
        bytes memory b = hex"0155122008406c59dec115cbaca1d85c142f491fe56532d3f4a0f4ece954feac0ccfc189";
        (uint16 codec, bytes32 digest) = cid.parse(b);
        assertEq(codec, 0x55, "codec");
        assertEq(digest, DIGEST, "digest");
        assertEq(cid.roundTrip(b), b, "round trip");
        assertEq(cid.toString(b), "bafkreiaiibwftxwbcxf2zioylqkc6si74vstfu7uud2oz2ku72wazt6bre", "base32");
    }

    function testDagPbCodec() public view {
        bytes memory b = hex"0170122008406c59dec115cbaca1d85c142f491fe56532d3f4a0f4ece954feac0ccfc189";
        assertEq(cid.toString(b), "bafybeiaiibwftxwbcxf2zioylqkc6si74vstfu7uud2oz2ku72wazt6bre", "base32");
        assertEq(cid.roundTrip(b), b, "round trip");
    }

    function testTwoByteCodecs() public view {
        bytes memory dagJson = hex"01a902122008406c59dec115cbaca1d85c142f491fe56532d3f4a0f4ece954feac0ccfc189";
        bytes memory json = hex"018004122008406c59dec115cbaca1d85c142f491fe56532d3f4a0f4ece954feac0ccfc189";
        (uint16 codec,) = cid.parse(dagJson);
        assertEq(codec, 0x0129, "dag-json codec");
        (codec,) = cid.parse(json);
        assertEq(codec, 0x0200, "json codec");
        assertEq(cid.toString(dagJson), "baguqeerabbagywo6yek4xlfb3bobil2jd7swkmwt6sqpj3hjkt7kydgpygeq", "dag-json");
        assertEq(cid.toString(json), "bagaaierabbagywo6yek4xlfb3bobil2jd7swkmwt6sqpj3hjkt7kydgpygeq", "json");
        assertEq(cid.roundTrip(json), json, "round trip");
    }

    function testRejectsEmpty() public {
        vm.expectRevert(Cid.InvalidCid.selector);
        cid.parse("");
    }

    function testRejectsCidV0() public {
        // CIDv0 is a bare sha2-256 multihash (0x12 0x20 <digest>).
        vm.expectRevert(Cid.InvalidCid.selector);
        cid.parse(abi.encodePacked(hex"1220", DIGEST));
    }

    function testRejectsOtherHash() public {
        // blake3 (0x1e) instead of sha2-256.
        vm.expectRevert(Cid.InvalidCid.selector);
        cid.parse(abi.encodePacked(hex"01551e20", DIGEST));
    }

    function testRejectsTruncatedAndTrailingBytes() public {
        vm.expectRevert(Cid.InvalidCid.selector);
        cid.parse(abi.encodePacked(hex"01551220", bytes31(DIGEST)));
        vm.expectRevert(Cid.InvalidCid.selector);
        cid.parse(abi.encodePacked(hex"01551220", DIGEST, hex"00"));
    }

    function testRejectsNonMinimalVarint() public {
        // 0x55 padded to two bytes: 0xd5 0x00.
        vm.expectRevert(Cid.InvalidCid.selector);
        cid.parse(abi.encodePacked(hex"01d5001220", DIGEST));
    }

    function testRejectsCodecAbove16Bits() public {
        // 0x010000 as a varint: 0x80 0x80 0x04.
        vm.expectRevert(Cid.InvalidCid.selector);
        cid.parse(abi.encodePacked(hex"018080041220", DIGEST));
    }

    /// Every codec below 2^16 survives parse -> toBytes, and the string has the multibase prefix and length.
    function testFuzzRoundTrip(uint16 codec, bytes32 digest) public view {
        vm.assume(codec != 0);
        bytes memory varint;
        if (codec < 0x80) varint = abi.encodePacked(uint8(codec));
        else if (codec < 0x4000) varint = abi.encodePacked(uint8(codec | 0x80), uint8(codec >> 7));
        else varint = abi.encodePacked(uint8(codec | 0x80), uint8((codec >> 7) | 0x80), uint8(codec >> 14));
        bytes memory b = abi.encodePacked(hex"01", varint, hex"1220", digest);
        (uint16 parsedCodec, bytes32 parsedDigest) = cid.parse(b);
        assertEq(parsedCodec, codec, "codec");
        assertEq(parsedDigest, digest, "digest");
        assertEq(cid.roundTrip(b), b, "round trip");
        bytes memory s = bytes(cid.toString(b));
        assertEq(s.length, 1 + (b.length * 8 + 4) / 5, "length");
        assertTrue(s[0] == "b", "multibase prefix");
    }

    /// Random bytes of a CID's size are accepted only when they have the CIDv1 sha2-256 shape.
    function testFuzzRejectsMalformed(bytes calldata junk) public view {
        try cid.parse(junk) returns (uint16, bytes32) {
            assertTrue(junk.length >= 36 && junk[0] == 0x01, "accepted a malformed CID");
            assertEq(cid.roundTrip(junk), junk, "accepted bytes must round-trip");
        } catch (bytes memory reason) {
            assertEq(bytes4(reason), Cid.InvalidCid.selector, "unexpected error");
        }
    }
}
