// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Origin, MessagingFee} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {MessagingParams} from "@layerzerolabs/lz-evm-protocol-v2/contracts/interfaces/ILayerZeroEndpointV2.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {XmarginOApp} from "../common/XmarginOApp.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {MsgCodec} from "../libraries/MsgCodec.sol";
import {RateLimiter} from "../libraries/RateLimiter.sol";

/// @title CollateralVault
/// @notice The lock contract of one chain: holds traders' collateral, tells margin engines about it
///         (LOCK), and pays it out only on a RELEASE or SEIZE from an engine, within that engine's credit.
/// @dev Solvency: per token, `balanceOf(vault) >= totalLocked + totalQueued` (queued payouts have left the
///      books but not the vault). Per (account, subaccount, token): Σ credit over engines == locked.
///      Inbound messages are applied at most once per id; delivery order is never assumed.
contract CollateralVault is XmarginOApp, ReentrancyGuardTransient, ICollateralVault {
    using SafeERC20 for IERC20;
    using RateLimiter for RateLimiter.Bucket;

    /// @inheritdoc ICollateralVault
    address public constant NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    /// @notice Gas forwarded to a native recipient on the message path. A recipient that needs more (or
    ///         reverts) gets its payout queued instead, so it can neither block nor grief the delivery.
    ///         Enforced lzReceive gas for RELEASE/SEIZE must cover this plus the queue path (about 250k in all).
    uint256 public constant NATIVE_PAYOUT_GAS = 50_000;
    /// @notice Gas a MOVE keeps back from its onward send: if the send fails (fee short, or out of gas), this is
    ///         what storing the LOCK as pending takes (five fresh slots and an event, ~117k), so a MOVE's
    ///         delivery never reverts for its second hop.
    uint256 public constant PENDING_LOCK_GAS = 130_000;

    /// @notice The margin engine on this chain, called directly (no message) for local deposits.
    address public localEngine;
    /// @notice Set by the guardian: new deposits are refused; payouts and moves go on.
    bool public depositsPaused;

    /// @inheritdoc ICollateralVault
    mapping(address account => mapping(uint96 subaccount => mapping(address token => uint256))) public locked;
    /// @inheritdoc ICollateralVault
    mapping(
        uint32 engineEid => mapping(address account => mapping(uint96 subaccount => mapping(address token => uint256)))
    ) public credit;
    /// @inheritdoc ICollateralVault
    mapping(address token => uint256) public totalLocked;
    /// @notice Σ amounts of governor-queued payouts not yet paid, per token (debited from `locked` already).
    mapping(address token => uint256) public totalQueued;

    mapping(address token => AssetConfig) internal _assetConfigs;
    mapping(address token => RateLimiter.Bucket) internal _outflow;
    mapping(bytes32 id => QueuedPayout) internal _queued;
    mapping(bytes32 id => PendingLock) internal _pendingLocks;

    constructor(address endpoint_, address owner_) XmarginOApp(endpoint_, owner_) {}

    /// @dev `localEngine` is never the zero address once set, and msg.sender never is.
    modifier onlyLocalEngine() {
        if (msg.sender != localEngine) revert NotLocalEngine(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ trader

    /// @inheritdoc ICollateralVault
    function deposit(address token, uint256 amount, uint96 subaccount, uint32 engineEid, bytes calldata options)
        external
        payable
        nonReentrant
        returns (bytes32 id)
    {
        if (amount == 0) revert ZeroAmount();
        if (depositsPaused) revert DepositsArePaused();
        AssetConfig storage config = _assetConfigs[token];
        if (!config.enabled) revert AssetNotEnabled(token);
        bool isLocal = engineEid == localEid;
        if (isLocal && localEngine == address(0)) revert NoEngineAt(engineEid);

        uint256 received;
        uint256 feeBudget;
        if (token == NATIVE) {
            if (msg.value < amount || (isLocal && msg.value != amount)) revert WrongNativeAmount(msg.value, amount);
            received = amount;
            feeBudget = msg.value - amount;
        } else {
            if (isLocal && msg.value != 0) revert NativeValueOnTokenDeposit(msg.value, 0);
            // Interaction before effects is needed to measure what arrived; nonReentrant covers it.
            uint256 before = IERC20(token).balanceOf(address(this));
            IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
            received = IERC20(token).balanceOf(address(this)) - before;
            if (received == 0) revert ZeroAmount();
            feeBudget = msg.value;
        }
        uint256 totalAfter = totalLocked[token] + received;
        if (totalAfter > config.supplyCap) revert SupplyCapExceeded(token, totalAfter, config.supplyCap);

        locked[msg.sender][subaccount][token] += received;
        credit[engineEid][msg.sender][subaccount][token] += received;
        totalLocked[token] = totalAfter;
        id = _nextMessageId();
        emit Deposited(id, msg.sender, subaccount, token, received, engineEid);

        MsgCodec.Lock memory lock = MsgCodec.Lock(id, msg.sender, subaccount, token, received);
        if (isLocal) {
            IMarginEngine(localEngine).creditFromLocalVault(lock);
        } else {
            _sendMessage(engineEid, MsgCodec.LOCK, MsgCodec.encodeLock(lock), options, feeBudget, msg.sender);
        }
    }

    /// @inheritdoc ICollateralVault
    function quoteDeposit(address token, uint256 amount, uint96 subaccount, uint32 engineEid, bytes calldata options)
        external
        view
        returns (MessagingFee memory fee)
    {
        if (engineEid == localEid) return MessagingFee(0, 0);
        // The id does not change the message length, hence not the fee.
        MsgCodec.Lock memory lock = MsgCodec.Lock(bytes32(0), msg.sender, subaccount, token, amount);
        return _quoteMessage(engineEid, MsgCodec.LOCK, MsgCodec.encodeLock(lock), options);
    }

    /// @inheritdoc ICollateralVault
    function sendHeartbeat(uint32 engineEid, bytes calldata options) external payable {
        if (engineEid == localEid) revert NoHeartbeatToLocalEngine();
        uint64 sentAt = uint64(block.timestamp);
        _sendMessage(engineEid, MsgCodec.HEARTBEAT, MsgCodec.encodeHeartbeat(sentAt), options, msg.value, msg.sender);
        emit HeartbeatSent(engineEid, sentAt);
    }

    /// @inheritdoc ICollateralVault
    function quoteHeartbeat(uint32 engineEid, bytes calldata options) external view returns (MessagingFee memory) {
        return _quoteMessage(engineEid, MsgCodec.HEARTBEAT, MsgCodec.encodeHeartbeat(0), options);
    }

    /// @inheritdoc ICollateralVault
    function flushLock(bytes32 id, bytes calldata options) external payable nonReentrant {
        PendingLock memory pending = _pendingLocks[id];
        if (pending.lock.id == bytes32(0)) revert NoPendingLock(id);
        delete _pendingLocks[id];
        emit LockFlushed(id, pending.engineEid);

        if (pending.engineEid == localEid) {
            if (msg.value != 0) revert WrongNativeAmount(msg.value, 0);
            address engine = localEngine;
            if (engine == address(0)) revert NoEngineAt(localEid);
            IMarginEngine(engine).creditFromLocalVault(pending.lock);
        } else {
            _sendMessage(
                pending.engineEid, MsgCodec.LOCK, MsgCodec.encodeLock(pending.lock), options, msg.value, msg.sender
            );
        }
    }

    /// @inheritdoc ICollateralVault
    function executeQueued(bytes32 id) external nonReentrant {
        QueuedPayout memory queued = _queued[id];
        if (queued.recipient == address(0)) revert NoQueuedPayout(id);
        RateLimiter.Bucket storage bucket = _outflow[queued.token];
        if (!bucket.tryConsume(queued.amount)) revert OutflowLimited(id, bucket.availableNow(), queued.amount);
        _payQueued(id, queued, false);
    }

    // ------------------------------------------------------------------ local engine

    /// @inheritdoc ICollateralVault
    function payoutFromLocalEngine(uint8 kind, MsgCodec.Payout calldata payout) external nonReentrant onlyLocalEngine {
        if (kind != MsgCodec.RELEASE && kind != MsgCodec.SEIZE) revert UnknownMessageType(kind);
        _payout(localEid, kind, payout);
    }

    /// @inheritdoc ICollateralVault
    function moveFromLocalEngine(MsgCodec.Move calldata move, bytes calldata options)
        external
        payable
        nonReentrant
        onlyLocalEngine
    {
        _move(localEid, move, options, msg.value);
    }

    // ------------------------------------------------------------------ guardian and owner

    /// @inheritdoc ICollateralVault
    /// @dev Guardian only. Pausing stops new deposits only: approved releases, seizures and moves go on.
    function setDepositsPaused(bool paused) external onlyGuardian {
        if (paused == depositsPaused) revert NoChange();
        depositsPaused = paused;
        emit DepositsPaused(paused);
    }

    /// @inheritdoc ICollateralVault
    function clearQueued(bytes32 id) external onlyGuardian nonReentrant {
        QueuedPayout memory queued = _queued[id];
        if (queued.recipient == address(0)) revert NoQueuedPayout(id);
        _payQueued(id, queued, true);
    }

    /// @inheritdoc ICollateralVault
    /// @dev Owner only.
    function setLocalEngine(address engine) external onlyOwner {
        if (engine == address(0)) revert ZeroAddress();
        if (engine == localEngine) revert NoChange();
        localEngine = engine;
        emit LocalEngineSet(engine);
    }

    /// @inheritdoc ICollateralVault
    /// @dev Owner only. Also (re)configures the token's outflow bucket; what is available now is clamped to
    ///      the new capacity, so a freshly enabled asset starts with an empty bucket that refills over the window.
    function setAssetConfig(address token, AssetConfig calldata config) external onlyOwner {
        if (token == address(0)) revert ZeroAddress();
        if (keccak256(abi.encode(config)) == keccak256(abi.encode(_assetConfigs[token]))) revert NoChange();
        _assetConfigs[token] = config;
        _outflow[token].configure(config.outflowCapacity, config.outflowWindow);
        emit AssetConfigured(token, config);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICollateralVault
    function processed(bytes32 id) external view returns (bool) {
        return _isProcessed(id);
    }

    /// @notice The settings of `token`.
    function assetConfig(address token) external view returns (AssetConfig memory) {
        return _assetConfigs[token];
    }

    /// @notice What the governor lets out of the vault in `token` right now.
    function outflowAvailable(address token) external view returns (uint256) {
        return _outflow[token].availableNow();
    }

    /// @notice A governor-queued payout (zero recipient when there is none).
    function queuedPayout(bytes32 id) external view returns (QueuedPayout memory) {
        return _queued[id];
    }

    /// @notice A LOCK waiting for its fee (zero lock id when there is none).
    function pendingLock(bytes32 id) external view returns (PendingLock memory) {
        return _pendingLocks[id];
    }

    // ------------------------------------------------------------------ LayerZero

    /// @dev The endpoint has checked the peer (OApp.lzReceive). nonReentrant: the payout transfer and the
    ///      local-engine call must not re-enter any other entry point; the endpoint never calls lzReceive from
    ///      inside one of ours, and a refused call leaves the packet retryable, so no channel can be blocked.
    function _lzReceive(Origin calldata origin, bytes32, bytes calldata message, address, bytes calldata)
        internal
        override
        nonReentrant
    {
        uint8 msgType = MsgCodec.msgType(message);
        if (msgType == MsgCodec.RELEASE || msgType == MsgCodec.SEIZE) {
            MsgCodec.Payout memory payout = MsgCodec.decodePayout(message);
            // A replayed id is ignored without effects or events: LayerZero already refuses a nonce twice, so
            // this is defence in depth, and reverting would only turn a harmless duplicate into a stuck packet.
            if (!_markProcessed(payout.id)) return;
            _payout(origin.srcEid, msgType, payout);
        } else if (msgType == MsgCodec.MOVE) {
            // No caller options on this path: the enforced options for LOCK apply (empty calldata slice).
            // The executor's native value (lzReceive option) is the fee budget of the next hop; any excess is
            // refunded to the account. If the LOCK is left pending, that value stays in the vault (outside
            // `totalLocked`) and the flusher pays the fee again.
            _move(origin.srcEid, MsgCodec.decodeMove(message), message[0:0], msg.value);
        } else {
            revert UnknownMessageType(msgType);
        }
    }

    // ------------------------------------------------------------------ internal

    /// @dev RELEASE or SEIZE out of `engineEid`'s credit. Message ids are recorded by the caller that can see a
    ///      replay (_lzReceive): the local engine's payouts are direct calls in its own transaction, so a
    ///      record per local payout (a fresh storage slot, ~22k gas in every local liquidation) would guard
    ///      nothing; they stay bounded by the engine's credit here.
    function _payout(uint32 engineEid, uint8 kind, MsgCodec.Payout memory payout) internal {
        if (payout.amount == 0) revert ZeroAmount();
        if (payout.recipient == address(0)) revert ZeroAddress();
        uint256 available = credit[engineEid][payout.account][payout.subaccount][payout.token];
        if (payout.amount > available) revert InsufficientCredit(engineEid, available, payout.amount);

        credit[engineEid][payout.account][payout.subaccount][payout.token] = available - payout.amount;
        locked[payout.account][payout.subaccount][payout.token] -= payout.amount;
        totalLocked[payout.token] -= payout.amount;

        if (!_outflow[payout.token].tryConsume(payout.amount)) {
            _queue(payout.id, payout.token, payout.recipient, payout.amount, kind);
            return;
        }
        if (payout.token == NATIVE) {
            // A recipient that cannot take the value in bounded gas must not lose it: queue it instead.
            (bool ok,) = payout.recipient.call{value: payout.amount, gas: NATIVE_PAYOUT_GAS}("");
            if (!ok) {
                _queue(payout.id, payout.token, payout.recipient, payout.amount, kind);
                return;
            }
            _emitPaidOut(engineEid, kind, payout);
        } else {
            _emitPaidOut(engineEid, kind, payout);
            IERC20(payout.token).safeTransfer(payout.recipient, payout.amount);
        }
    }

    function _emitPaidOut(uint32 engineEid, uint8 kind, MsgCodec.Payout memory payout) private {
        emit PaidOut(
            payout.id, kind, payout.account, payout.subaccount, payout.token, payout.amount, payout.recipient, engineEid
        );
    }

    /// @dev MOVE `move.amount` of credit from `fromEid` to `move.dstEngineEid` (locked is unchanged), then tell
    ///      the destination with a fresh LOCK. If that LOCK cannot go now (fee short, no peer, local engine
    ///      refusing) it is kept as a PendingLock for `flushLock`: the move itself never fails for it.
    function _move(uint32 fromEid, MsgCodec.Move memory move, bytes calldata options, uint256 feeBudget) internal {
        if (!_markProcessed(move.id)) return; // a revert below unmarks it
        if (move.amount == 0) revert ZeroAmount();
        uint256 available = credit[fromEid][move.account][move.subaccount][move.token];
        if (move.amount > available) revert InsufficientCredit(fromEid, available, move.amount);

        credit[fromEid][move.account][move.subaccount][move.token] = available - move.amount;
        credit[move.dstEngineEid][move.account][move.subaccount][move.token] += move.amount;
        emit CreditMoved(move.id, move.account, move.subaccount, move.token, move.amount, fromEid, move.dstEngineEid);

        MsgCodec.Lock memory lock =
            MsgCodec.Lock(_nextMessageId(), move.account, move.subaccount, move.token, move.amount);
        if (!_tryDeliverLock(move.dstEngineEid, lock, options, feeBudget, move.account)) {
            _pendingLocks[lock.id] = PendingLock(move.dstEngineEid, lock);
            emit LockPending(lock.id, move.dstEngineEid);
        }
    }

    /// @dev Delivers `lock` to the engine at `engineEid` if it can be done now; never reverts for a missing
    ///      engine, peer or fee. Any fee excess is refunded by the endpoint to `refundTo`.
    ///      The send is tried, not quoted first: the endpoint prices the message itself and reverts
    ///      (LZ_InsufficientFee) when the budget is short, which leaves the LOCK pending with its budget
    ///      still here. A quote first walked the send library and every worker's fee library an extra time
    ///      (a MOVE's frame was 271k gas on the devnet's real stack, is 235k). The send gets all but
    ///      PENDING_LOCK_GAS, so whatever makes it fail (fee short, gas short, a refund the account refuses)
    ///      leaves the LOCK pending, never the MOVE's delivery reverted.
    function _tryDeliverLock(
        uint32 engineEid,
        MsgCodec.Lock memory lock,
        bytes calldata options,
        uint256 feeBudget,
        address refundTo
    ) internal returns (bool) {
        if (engineEid == localEid) {
            address engine = localEngine;
            if (engine == address(0)) return false;
            try IMarginEngine(engine).creditFromLocalVault(lock) {
                return true;
            } catch {
                return false;
            }
        }
        bytes32 peer = peers[engineEid];
        if (peer == bytes32(0)) return false;
        MessagingParams memory params = MessagingParams(
            engineEid, peer, MsgCodec.encodeLock(lock), combineOptions(engineEid, MsgCodec.LOCK, options), false
        );
        uint256 gas = gasleft();
        if (gas <= PENDING_LOCK_GAS) return false;
        try endpoint.send{value: feeBudget, gas: gas - PENDING_LOCK_GAS}(params, refundTo) {
            return true;
        } catch {
            return false;
        }
    }

    function _queue(bytes32 id, address token, address recipient, uint256 amount, uint8 kind) internal {
        _queued[id] = QueuedPayout(token, recipient, amount, kind);
        totalQueued[token] += amount;
        emit PayoutQueued(id, token, recipient, amount);
    }

    /// @dev Pays a queued payout with all the gas the caller brings (it may retry with more).
    function _payQueued(bytes32 id, QueuedPayout memory queued, bool byGuardian) internal {
        delete _queued[id];
        totalQueued[queued.token] -= queued.amount;
        emit QueuedPayoutExecuted(id, byGuardian);
        if (queued.token == NATIVE) {
            (bool ok,) = queued.recipient.call{value: queued.amount}("");
            if (!ok) revert NativeTransferFailed(queued.recipient, queued.amount);
        } else {
            IERC20(queued.token).safeTransfer(queued.recipient, queued.amount);
        }
    }
}
