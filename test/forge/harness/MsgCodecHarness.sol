// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MsgCodec} from "../../../contracts/libraries/MsgCodec.sol";

/// @title MsgCodecHarness
/// @notice Exposes the internal MsgCodec library as external pure functions so that off-chain code
///         (test/e2e/codec-parity.test.ts) can check, against the real compiled library, that the
///         TypeScript twin in relayer/protocol/messages.ts writes and reads the same bytes.
/// @dev Test-only; never deployed outside local anvil chains.
contract MsgCodecHarness {
    function version() external pure returns (uint8) {
        return MsgCodec.VERSION;
    }

    function encodeLock(MsgCodec.Lock memory body) external pure returns (bytes memory) {
        return MsgCodec.encodeLock(body);
    }

    function encodePayout(uint8 kind, MsgCodec.Payout memory body) external pure returns (bytes memory) {
        return MsgCodec.encodePayout(kind, body);
    }

    function encodeMove(MsgCodec.Move memory body) external pure returns (bytes memory) {
        return MsgCodec.encodeMove(body);
    }

    function msgType(bytes calldata message) external pure returns (uint8) {
        return MsgCodec.msgType(message);
    }

    /// @dev The decoders check the header first, as a receiver does before it decodes a body.
    function decodeLock(bytes calldata message) external pure returns (MsgCodec.Lock memory) {
        MsgCodec.msgType(message);
        return MsgCodec.decodeLock(message);
    }

    function decodePayout(bytes calldata message) external pure returns (MsgCodec.Payout memory) {
        MsgCodec.msgType(message);
        return MsgCodec.decodePayout(message);
    }

    function decodeMove(bytes calldata message) external pure returns (MsgCodec.Move memory) {
        MsgCodec.msgType(message);
        return MsgCodec.decodeMove(message);
    }

    function encodeHeartbeat(uint64 sentAt) external pure returns (bytes memory) {
        return MsgCodec.encodeHeartbeat(sentAt);
    }

    function decodeHeartbeat(bytes calldata message) external pure returns (uint64 sentAt) {
        MsgCodec.msgType(message);
        return MsgCodec.decodeHeartbeat(message);
    }

    function messageId(uint32 srcEid, address sender, uint64 nonce) external pure returns (bytes32) {
        return MsgCodec.messageId(srcEid, sender, nonce);
    }
}
