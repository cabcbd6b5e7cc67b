// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OApp, MessagingFee, MessagingReceipt} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {OAppOptionsType3} from "@layerzerolabs/oapp-evm/contracts/oapp/libs/OAppOptionsType3.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

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

    /// @notice The native value sent does not cover the LayerZero fee.
    error FeeNotCovered(uint256 provided, uint256 required);
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
        return keccak256(abi.encode(localEid, address(this), ++_outboundNonce));
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
    ///      accounting, never from collateral); the endpoint refunds any excess to `refundTo`.
    function _sendMessage(
        uint32 dstEid,
        uint16 msgType,
        bytes memory message,
        bytes calldata options,
        uint256 feeBudget,
        address refundTo
    ) internal returns (MessagingReceipt memory) {
        bytes memory merged = combineOptions(dstEid, msgType, options);
        MessagingFee memory fee = _quote(dstEid, message, merged, false);
        if (feeBudget < fee.nativeFee) revert FeeNotCovered(feeBudget, fee.nativeFee);
        return _lzSend(dstEid, message, merged, MessagingFee(feeBudget, 0), refundTo);
    }

    /// @dev Sends a message paying exactly its quoted fee out of `feeBudget`; returns what it paid, so a
    ///      caller sending several messages from one msg.value can refund the rest.
    function _sendMessageExact(
        uint32 dstEid,
        uint16 msgType,
        bytes memory message,
        bytes calldata options,
        uint256 feeBudget
    ) internal returns (uint256 paid) {
        bytes memory merged = combineOptions(dstEid, msgType, options);
        MessagingFee memory fee = _quote(dstEid, message, merged, false);
        if (feeBudget < fee.nativeFee) revert FeeNotCovered(feeBudget, fee.nativeFee);
        _lzSend(dstEid, message, merged, fee, address(this));
        return fee.nativeFee;
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
