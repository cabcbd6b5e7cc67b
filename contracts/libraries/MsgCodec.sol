// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MsgCodec
/// @notice The one wire format of xmargin's cross-chain messages.
/// @dev Layout: `uint8 version ‖ uint8 msgType ‖ abi.encode(body)`. Every body starts with a unique
///      `bytes32 id` (chosen by the sender as keccak256(srcEid, sender, senderNonce)) which receivers
///      record so that a message is applied exactly once, whatever the transport does.
library MsgCodec {
    /// @notice Current wire version. Receivers reject any other.
    uint8 internal constant VERSION = 1;

    /// @notice Vault -> engine: collateral is locked on the vault's chain for the engine to credit.
    uint8 internal constant LOCK = 1;
    /// @notice Engine -> vault: an approved withdrawal; pay `recipient` from the engine's credit.
    uint8 internal constant RELEASE = 2;
    /// @notice Engine -> vault: a liquidation; pay the liquidator from the engine's credit.
    uint8 internal constant SEIZE = 3;
    /// @notice Engine -> vault: re-route credit to another engine (the vault then sends LOCK there).
    uint8 internal constant MOVE = 4;
    /// @notice Vault -> engine: the vault's chain was live at `sentAt` (its block time). Carries no value;
    ///         engines date the staleness-aware weights of that chain's collateral from it.
    uint8 internal constant HEARTBEAT = 5;

    /// @notice Body of LOCK.
    struct Lock {
        bytes32 id;
        address account;
        uint96 subaccount;
        address token;
        uint256 amount;
    }

    /// @notice Body of RELEASE and SEIZE: pay `amount` of `token` to `recipient` out of the sending engine's credit.
    struct Payout {
        bytes32 id;
        address account;
        uint96 subaccount;
        address token;
        uint256 amount;
        address recipient;
    }

    /// @notice Body of MOVE: move `amount` of credit from the sending engine to the engine at `dstEngineEid`.
    struct Move {
        bytes32 id;
        address account;
        uint96 subaccount;
        address token;
        uint256 amount;
        uint32 dstEngineEid;
    }

    /// @notice The message is shorter than its two-byte header.
    error MessageTooShort(uint256 length);
    /// @notice The message was written by a version of xmargin this contract does not speak.
    error UnsupportedVersion(uint8 version);

    function encodeLock(Lock memory body) internal pure returns (bytes memory) {
        return abi.encodePacked(VERSION, LOCK, abi.encode(body));
    }

    function encodePayout(uint8 kind, Payout memory body) internal pure returns (bytes memory) {
        return abi.encodePacked(VERSION, kind, abi.encode(body));
    }

    function encodeMove(Move memory body) internal pure returns (bytes memory) {
        return abi.encodePacked(VERSION, MOVE, abi.encode(body));
    }

    function encodeHeartbeat(uint64 sentAt) internal pure returns (bytes memory) {
        return abi.encodePacked(VERSION, HEARTBEAT, abi.encode(sentAt));
    }

    /// @notice Reads and checks the header; returns the message type.
    function msgType(bytes calldata message) internal pure returns (uint8) {
        if (message.length < 2) revert MessageTooShort(message.length);
        if (uint8(message[0]) != VERSION) revert UnsupportedVersion(uint8(message[0]));
        return uint8(message[1]);
    }

    function decodeLock(bytes calldata message) internal pure returns (Lock memory) {
        return abi.decode(message[2:], (Lock));
    }

    function decodePayout(bytes calldata message) internal pure returns (Payout memory) {
        return abi.decode(message[2:], (Payout));
    }

    function decodeMove(bytes calldata message) internal pure returns (Move memory) {
        return abi.decode(message[2:], (Move));
    }

    function decodeHeartbeat(bytes calldata message) internal pure returns (uint64) {
        return abi.decode(message[2:], (uint64));
    }

    /// @notice The unique id of the `nonce`-th message sent by `sender` on the chain with endpoint id `srcEid`:
    ///         the three packed (`abi.encodePacked(srcEid, sender, nonce)`, 4 + 20 + 8 bytes). Unique by
    ///         construction, no hash needed; and one sender's ids are consecutive numbers, which lets a
    ///         receiver keep its replay record as a bitmap (XmarginOApp._markProcessed).
    function messageId(uint32 srcEid, address sender, uint64 nonce) internal pure returns (bytes32) {
        return bytes32((uint256(srcEid) << 224) | (uint256(uint160(sender)) << 64) | nonce);
    }
}
