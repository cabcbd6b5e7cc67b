// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MessagingFee} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {MsgCodec} from "../libraries/MsgCodec.sol";

/// @title ICollateralVault
/// @notice The lock contract of one chain. It holds traders' collateral and is the single source of
///         truth of what is locked, for whom, and which margin engine holds credit for it.
/// @dev Accounting per (account, subaccount, token): `locked` is what the vault holds for the trader;
///      `credit[engineEid]` is the part of it that the engine at `engineEid` has been told about
///      (sent LOCKs, delivered or not). Σ credit over engines == locked, always.
interface ICollateralVault {
    // ------------------------------------------------------------------ types

    /// @notice Per-token settings. Tokens are refused until configured (`enabled`).
    struct AssetConfig {
        bool enabled;
        /// @dev Maximum total locked in this vault, in token units.
        uint256 supplyCap;
        /// @dev Governor: at most `outflowCapacity` token units released or seized per `outflowWindow` seconds;
        ///      above that, payouts queue.
        uint128 outflowCapacity;
        uint64 outflowWindow;
    }

    /// @notice A payout (RELEASE or SEIZE) held back by the governor until capacity frees up.
    struct QueuedPayout {
        address token;
        address recipient;
        uint256 amount;
        uint8 kind;
    }

    /// @notice A LOCK the vault owes an engine after a MOVE but could not pay the message fee for yet.
    struct PendingLock {
        uint32 engineEid;
        MsgCodec.Lock lock;
    }

    // ------------------------------------------------------------------ events

    /// @notice Collateral was locked; `amount` is what the vault actually received (balance delta).
    event Deposited(
        bytes32 indexed id,
        address indexed account,
        uint96 indexed subaccount,
        address token,
        uint256 amount,
        uint32 engineEid
    );
    /// @notice Credit moved from one engine to another on a MOVE message.
    event CreditMoved(
        bytes32 indexed id,
        address indexed account,
        uint96 indexed subaccount,
        address token,
        uint256 amount,
        uint32 fromEngineEid,
        uint32 toEngineEid
    );
    /// @notice A LOCK is waiting for its message fee (see `flushLock`).
    event LockPending(bytes32 indexed id, uint32 engineEid);
    /// @notice A pending LOCK was sent.
    event LockFlushed(bytes32 indexed id, uint32 engineEid);
    /// @notice Tokens left the vault on a RELEASE (kind 2) or SEIZE (kind 3) from `engineEid`.
    event PaidOut(
        bytes32 indexed id,
        uint8 kind,
        address indexed account,
        uint96 subaccount,
        address token,
        uint256 amount,
        address indexed recipient,
        uint32 engineEid
    );
    /// @notice A payout was debited from the books but is held by the governor.
    event PayoutQueued(bytes32 indexed id, address indexed token, address indexed recipient, uint256 amount);
    /// @notice A queued payout was paid (`byGuardian` when the guardian cleared it ahead of the window).
    event QueuedPayoutExecuted(bytes32 indexed id, bool byGuardian);
    event AssetConfigured(address indexed token, AssetConfig config);
    event DepositsPaused(bool paused);
    event LocalEngineSet(address indexed engine);
    /// @notice A HEARTBEAT left for the engine at `engineEid`, dated `sentAt` (this chain's block time).
    event HeartbeatSent(uint32 indexed engineEid, uint64 sentAt);

    // ------------------------------------------------------------------ errors

    error ZeroAmount();
    error AssetNotEnabled(address token);
    error SupplyCapExceeded(address token, uint256 totalAfter, uint256 cap);
    error DepositsArePaused();
    error NoEngineAt(uint32 engineEid);
    error WrongNativeAmount(uint256 msgValue, uint256 amount);
    error NativeValueOnTokenDeposit(uint256 msgValue, uint256 fee);
    error InsufficientCredit(uint32 engineEid, uint256 credit, uint256 requested);
    error UnknownMessageType(uint8 msgType);
    error NotLocalEngine(address caller);
    error NoQueuedPayout(bytes32 id);
    error OutflowLimited(bytes32 id, uint256 available, uint256 amount);
    error NoPendingLock(bytes32 id);
    error NativeTransferFailed(address to, uint256 amount);
    error ZeroAddress();
    /// @notice A setter was called with the value already in place (no-op writes are rejected).
    error NoChange();
    /// @notice The engine on this chain needs no heartbeat: its credit from this vault never goes stale.
    error NoHeartbeatToLocalEngine();

    // ------------------------------------------------------------------ trader

    /// @notice Locks `amount` of `token` (or native gas token: `token = NATIVE`, `msg.value = amount + fee`)
    ///         for (msg.sender, subaccount) and credits it to the engine at `engineEid`. On the local chain the
    ///         engine is called directly; otherwise a LOCK message is sent and `msg.value` (minus any native
    ///         amount) pays the LayerZero fee, the excess being refunded.
    /// @return id The id of the LOCK.
    function deposit(address token, uint256 amount, uint96 subaccount, uint32 engineEid, bytes calldata options)
        external
        payable
        returns (bytes32 id);

    /// @notice The LayerZero fee for a deposit (zero for the local engine).
    function quoteDeposit(address token, uint256 amount, uint96 subaccount, uint32 engineEid, bytes calldata options)
        external
        view
        returns (MessagingFee memory fee);

    /// @notice Tells the engine at `engineEid` that this chain is live (a HEARTBEAT dated with this block's
    ///         time); engines whose collateral sources use staleness-aware weights discount this chain's
    ///         collateral when heartbeats stop. Anyone may send one; msg.value pays the LayerZero fee
    ///         (see `quoteHeartbeat`), any excess is refunded to the caller.
    function sendHeartbeat(uint32 engineEid, bytes calldata options) external payable;

    /// @notice The LayerZero fee of `sendHeartbeat`.
    function quoteHeartbeat(uint32 engineEid, bytes calldata options) external view returns (MessagingFee memory);

    /// @notice Sends a LOCK left pending by a MOVE whose fee did not cover the second hop. Anyone may pay.
    function flushLock(bytes32 id, bytes calldata options) external payable;

    /// @notice Pays a governor-queued payout once the outflow window has room. Anyone may call.
    function executeQueued(bytes32 id) external;

    // ------------------------------------------------------------------ local engine

    /// @notice RELEASE or SEIZE from the margin engine on this chain (no message needed).
    function payoutFromLocalEngine(uint8 kind, MsgCodec.Payout calldata payout) external;

    /// @notice MOVE from the margin engine on this chain; `msg.value` pays the LOCK to the destination engine.
    function moveFromLocalEngine(MsgCodec.Move calldata move, bytes calldata options) external payable;

    // ------------------------------------------------------------------ guardian and owner

    function setDepositsPaused(bool paused) external;
    /// @notice Pays a queued payout now, ahead of the window (guardian only, after review).
    function clearQueued(bytes32 id) external;
    function setLocalEngine(address engine) external;
    function setAssetConfig(address token, AssetConfig calldata config) external;

    // ------------------------------------------------------------------ views

    function NATIVE() external view returns (address);
    function locked(address account, uint96 subaccount, address token) external view returns (uint256);
    function credit(uint32 engineEid, address account, uint96 subaccount, address token) external view returns (uint256);
    function totalLocked(address token) external view returns (uint256);
    /// @notice Whether the RELEASE, SEIZE or MOVE `id` was applied. The local engine's RELEASEs and SEIZEs are
    ///         direct calls in its own transaction and are not recorded here (watch `PaidOut`).
    function processed(bytes32 id) external view returns (bool);
}
