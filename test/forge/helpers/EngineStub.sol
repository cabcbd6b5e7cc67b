// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OApp, Origin, MessagingFee, MessagingReceipt} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {ICollateralVault} from "../../../contracts/interfaces/ICollateralVault.sol";
import {MsgCodec} from "../../../contracts/libraries/MsgCodec.sol";

/// @notice Test-only stand-in for a remote margin engine: records the LOCKs it receives and sends any
///         message (RELEASE, SEIZE, MOVE or garbage) the test builds.
contract EngineStub is OApp {
    mapping(bytes32 id => bool) public lockSeen;
    uint256 public lockCount;
    MsgCodec.Lock internal _lastLock;

    constructor(address endpoint_, address owner_) OApp(endpoint_, owner_) Ownable(owner_) {}

    function lastLock() external view returns (MsgCodec.Lock memory) {
        return _lastLock;
    }

    /// @notice Sends `message` to the peer on `dstEid`; msg.value is the fee, any excess goes back to the caller.
    function send(uint32 dstEid, bytes calldata message, bytes calldata options)
        external
        payable
        returns (MessagingReceipt memory)
    {
        return _lzSend(dstEid, message, options, MessagingFee(msg.value, 0), msg.sender);
    }

    function quote(uint32 dstEid, bytes calldata message, bytes calldata options)
        external
        view
        returns (MessagingFee memory)
    {
        return _quote(dstEid, message, options, false);
    }

    function _lzReceive(Origin calldata, bytes32, bytes calldata message, address, bytes calldata) internal override {
        require(MsgCodec.msgType(message) == MsgCodec.LOCK, "EngineStub: not a LOCK");
        MsgCodec.Lock memory lock = MsgCodec.decodeLock(message);
        lockSeen[lock.id] = true;
        lockCount++;
        _lastLock = lock;
    }
}

/// @notice Test-only stand-in for the margin engine on the vault's own chain.
contract LocalEngineStub {
    error Refused();

    ICollateralVault public immutable vault;
    bool public refuse;
    uint256 public lockCount;
    MsgCodec.Lock internal _lastLock;

    constructor(ICollateralVault vault_) {
        vault = vault_;
    }

    function setRefuse(bool refuse_) external {
        refuse = refuse_;
    }

    function lastLock() external view returns (MsgCodec.Lock memory) {
        return _lastLock;
    }

    function creditFromLocalVault(MsgCodec.Lock calldata lock) external {
        require(msg.sender == address(vault), "LocalEngineStub: not the vault");
        if (refuse) revert Refused();
        lockCount++;
        _lastLock = lock;
    }

    function payout(uint8 kind, MsgCodec.Payout calldata body) external {
        vault.payoutFromLocalEngine(kind, body);
    }

    function move(MsgCodec.Move calldata body, bytes calldata options) external payable {
        vault.moveFromLocalEngine{value: msg.value}(body, options);
    }
}
