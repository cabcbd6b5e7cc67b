// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OApp, Origin, MessagingFee} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IPriceAdapter} from "../../../contracts/interfaces/IPriceAdapter.sol";
import {IVenue} from "../../../contracts/interfaces/IVenue.sol";
import {IMarginEngine} from "../../../contracts/interfaces/IMarginEngine.sol";
import {MsgCodec} from "../../../contracts/libraries/MsgCodec.sol";
import {WadMath} from "../../../contracts/libraries/WadMath.sol";

/// @notice Unit-test price source: a settable price that can be made to fail like a bad feed.
contract PriceStub is IPriceAdapter {
    uint256 public p;
    bool public broken;

    constructor(uint256 p_) {
        p = p_;
    }

    function set(uint256 p_) external {
        p = p_;
    }

    function breakFeed(bool broken_) external {
        broken = broken_;
    }

    function price() external view returns (uint256) {
        if (broken) revert StalePrice(address(this), 0, 1);
        return p;
    }
}

/// @notice Unit-test venue: positions and settled balances set directly by the test.
contract VenueStub is IVenue {
    using WadMath for uint256;

    IMarginEngine public engine;
    address public immutable quoteToken;
    mapping(bytes32 => PositionView[]) internal _positions;
    mapping(bytes32 => int256) public settled;
    uint256 public writtenOffTotal;

    constructor(address quoteToken_) {
        quoteToken = quoteToken_;
    }

    function setEngine(IMarginEngine engine_) external {
        engine = engine_;
    }

    function key(address a, uint96 s) internal pure returns (bytes32) {
        return keccak256(abi.encode(a, s));
    }

    function setPosition(address a, uint96 s, uint32 marketId, int256 size, uint256 mark, int256 pnl) external {
        PositionView[] storage list = _positions[key(a, s)];
        for (uint256 i; i < list.length; ++i) {
            if (list[i].marketId == marketId) {
                list[i] = PositionView(marketId, size, mark, pnl);
                return;
            }
        }
        list.push(PositionView(marketId, size, mark, pnl));
    }

    function setSettled(address a, uint96 s, int256 usd) external {
        settled[key(a, s)] = usd;
    }

    function positionsOf(address a, uint96 s) external view returns (PositionView[] memory) {
        return _positions[key(a, s)];
    }

    function settledBalance(address a, uint96 s) external view returns (int256) {
        return settled[key(a, s)];
    }

    function liquidationClose(address a, uint96 s, uint256 f) external returns (uint256 closed) {
        require(msg.sender == address(engine), "only engine");
        PositionView[] storage list = _positions[key(a, s)];
        for (uint256 i; i < list.length; ++i) {
            PositionView storage pos = list[i];
            closed += WadMath.abs(pos.size).mulWadDown(pos.markPrice).mulWadDown(f);
            int256 realised = pos.unrealizedPnl * int256(f) / 1e18;
            settled[key(a, s)] += realised;
            pos.unrealizedPnl -= realised;
            pos.size -= pos.size * int256(f) / 1e18;
        }
        // drop closed positions
        for (uint256 i = list.length; i > 0; --i) {
            if (list[i - 1].size == 0) {
                list[i - 1] = list[list.length - 1];
                list.pop();
            }
        }
    }

    function onRepay(address a, uint96 s, uint256 amount) external {
        require(msg.sender == address(engine), "only engine");
        settled[key(a, s)] += int256(amount * 1e12);
    }

    function payOut(address a, uint96 s, uint256 amount, address to) external {
        require(msg.sender == address(engine), "only engine");
        require(settled[key(a, s)] >= int256(amount * 1e12), "no pnl");
        settled[key(a, s)] -= int256(amount * 1e12);
        IERC20(quoteToken).transfer(to, amount);
    }

    function writeOff(address a, uint96 s) external returns (uint256 amount) {
        require(msg.sender == address(engine), "only engine");
        int256 bal = settled[key(a, s)];
        if (bal >= 0) return 0;
        amount = uint256(-bal) / 1e12;
        settled[key(a, s)] = 0;
        writtenOffTotal += amount;
    }
}

/// @notice Unit-test vault on a remote chain: records what engines send it and sends LOCKs on demand.
contract RemoteVaultStub is OApp {
    MsgCodec.Payout[] public payouts;
    uint8[] public payoutKinds;
    MsgCodec.Move[] public moves;
    uint256 public lastValue;

    constructor(address endpoint_, address owner_) OApp(endpoint_, owner_) Ownable(owner_) {}

    function sendLock(uint32 dstEid, MsgCodec.Lock calldata lock, bytes calldata options) external payable {
        _lzSend(dstEid, MsgCodec.encodeLock(lock), options, MessagingFee(msg.value, 0), payable(msg.sender));
    }

    function sendRaw(uint32 dstEid, bytes calldata message, bytes calldata options) external payable {
        _lzSend(dstEid, message, options, MessagingFee(msg.value, 0), payable(msg.sender));
    }

    function quoteLock(uint32 dstEid, MsgCodec.Lock calldata lock, bytes calldata options)
        external
        view
        returns (uint256)
    {
        return _quote(dstEid, MsgCodec.encodeLock(lock), options, false).nativeFee;
    }

    function payoutCount() external view returns (uint256) {
        return payouts.length;
    }

    function moveCount() external view returns (uint256) {
        return moves.length;
    }

    function _lzReceive(Origin calldata, bytes32, bytes calldata message, address, bytes calldata) internal override {
        lastValue = msg.value;
        uint8 t = MsgCodec.msgType(message);
        if (t == MsgCodec.MOVE) {
            moves.push(MsgCodec.decodeMove(message));
        } else {
            payouts.push(MsgCodec.decodePayout(message));
            payoutKinds.push(t);
        }
    }
}

/// @notice Unit-test vault on the engine's own chain.
contract LocalVaultStub {
    IMarginEngine public engine;
    MsgCodec.Payout[] public payouts;
    uint8[] public payoutKinds;
    MsgCodec.Move[] public moves;
    uint64 internal nonce;

    function setEngine(IMarginEngine engine_) external {
        engine = engine_;
    }

    function depositFor(address account, uint96 sub, address token, uint256 amount) external returns (bytes32 id) {
        id = keccak256(abi.encode("local", ++nonce));
        engine.creditFromLocalVault(MsgCodec.Lock(id, account, sub, token, amount));
    }

    function replay(MsgCodec.Lock calldata lock) external {
        engine.creditFromLocalVault(lock);
    }

    function payoutFromLocalEngine(uint8 kind, MsgCodec.Payout calldata payout) external {
        require(msg.sender == address(engine), "only engine");
        payouts.push(payout);
        payoutKinds.push(kind);
    }

    function moveFromLocalEngine(MsgCodec.Move calldata m, bytes calldata) external payable {
        require(msg.sender == address(engine), "only engine");
        moves.push(m);
    }

    function payoutCount() external view returns (uint256) {
        return payouts.length;
    }

    function moveCount() external view returns (uint256) {
        return moves.length;
    }
}
