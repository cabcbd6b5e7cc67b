// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OApp, MessagingFee, MessagingReceipt} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {OAppOptionsType3} from "@layerzerolabs/oapp-evm/contracts/oapp/libs/OAppOptionsType3.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {MsgCodec} from "../libraries/MsgCodec.sol";

/// @title XmarginOApp
/// @notice What the vault and the engine share: a LayerZero v2 OApp with enforced options per message
///         type, two-step ownership for parameters, a guardian for pauses, and explicit fee budgets.
abstract contract XmarginOApp is OApp, OAppOptionsType3, Ownable2Step {
    /// @notice This chain's LayerZero endpoint id.
    uint32 public immutable localEid;
    /// @notice May pause and clear queues; cannot move funds anywhere but where the books say.
    address public guardian;
    /// @dev Sequence of messages this contract originated; feeds unique message ids.
    uint64 internal _outboundNonce;
    /// @dev Inbound message ids already applied, as a bitmap: word `id >> 8`, bit `id & 0xff`. Ids are
    ///      sequential per sender (`MsgCodec.messageId`), so 256 of one sender's messages share a word and
    ///      the replay record costs a fresh storage slot (~22k gas) once per 256 messages, not every time.
    mapping(uint256 word => uint256 bits) private _processedWords;

    /// @notice Only the guardian may do this.
    error OnlyGuardian(address caller);

    event GuardianChanged(address indexed guardian);

    constructor(address endpoint_, address owner_) OApp(endpoint_, owner_) Ownable(owner_) {
        localEid = endpoint.eid();
    }

    modifier onlyGuardian() {
        if (msg.sender != guardian) revert OnlyGuardian(msg.sender);
        _;
    }

    /// @notice Sets the guardian (owner only).
    function setGuardian(address guardian_) external onlyOwner {
        guardian = guardian_;
        emit GuardianChanged(guardian_);
    }

    /// @dev Next unique message id for a message this contract originates.
    function _nextMessageId() internal returns (bytes32) {
        return MsgCodec.messageId(localEid, address(this), ++_outboundNonce);
    }

    /// @dev Whether the inbound message `id` was applied.
    function _isProcessed(bytes32 id) internal view returns (bool) {
        return _processedWords[uint256(id) >> 8] & (1 << (uint256(id) & 0xff)) != 0;
    }

    /// @dev Records the inbound message `id` as applied; false (and nothing written) if it already was.
    function _markProcessed(bytes32 id) internal returns (bool) {
        uint256 word = uint256(id) >> 8;
        uint256 bit = 1 << (uint256(id) & 0xff);
        uint256 bits = _processedWords[word];
        if (bits & bit != 0) return false;
        _processedWords[word] = bits | bit;
        return true;
    }

    /// @dev Quotes a message of `msgType` to `dstEid`, with the enforced options merged in.
    function _quoteMessage(uint32 dstEid, uint16 msgType, bytes memory message, bytes calldata options)
        internal
        view
        returns (MessagingFee memory)
    {
        return _quote(dstEid, message, combineOptions(dstEid, msgType, options), false);
    }

    /// @dev Sends a message paying at most `feeBudget` native wei (taken from msg.value by the caller's
    ///      accounting, never from collateral); the endpoint refunds any excess to `refundTo` and reverts
    ///      with LZ_InsufficientFee(required, supplied, ...) when the budget is short. No quote here: the
    ///      endpoint prices the message itself, and quoting twice would cost a second pass through the
    ///      send library and every worker's fee library.
    function _sendMessage(
        uint32 dstEid,
        uint16 msgType,
        bytes memory message,
        bytes calldata options,
        uint256 feeBudget,
        address refundTo
    ) internal returns (MessagingReceipt memory) {
        return _lzSend(dstEid, message, combineOptions(dstEid, msgType, options), MessagingFee(feeBudget, 0), refundTo);
    }

    /// @dev Sends one of several messages paid from one `feeBudget`: the endpoint takes its fee and returns
    ///      the rest to this contract (which must accept native refunds); returns what was paid, so the caller
    ///      can refund what is left once all messages are out.
    function _sendMessageFromBudget(
        uint32 dstEid,
        uint16 msgType,
        bytes memory message,
        bytes calldata options,
        uint256 feeBudget
    ) internal returns (uint256 paid) {
        MessagingReceipt memory receipt = _lzSend(
            dstEid, message, combineOptions(dstEid, msgType, options), MessagingFee(feeBudget, 0), address(this)
        );
        return receipt.fee.nativeFee;
    }

    /// @dev The fee is checked and budgeted by `_sendMessage`, which may run inside lzReceive or with a
    ///      native deposit in msg.value, so the default `msg.value == fee` rule does not apply.
    function _payNative(uint256 nativeFee) internal pure override returns (uint256) {
        return nativeFee;
    }

    // Ownable and Ownable2Step both define these; the two-step variants win.
    function transferOwnership(address newOwner) public override(Ownable, Ownable2Step) onlyOwner {
        Ownable2Step.transferOwnership(newOwner);
    }

    function _transferOwnership(address newOwner) internal override(Ownable, Ownable2Step) {
        Ownable2Step._transferOwnership(newOwner);
    }
}
