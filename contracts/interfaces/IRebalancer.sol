// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IRebalancer
/// @notice Lets the relayer nodes move a trader's credit between engines, within limits the trader set.
///         One per engine chain; it is the only caller of its engine's `moveFor`.
interface IRebalancer {
    /// Limits a trader grants for one sub-account on this engine chain (the SOURCE engine of moves).
    struct Limits {
        uint32[] engines; // destination engine eids a move may go to
        uint256 maxPerMoveUsd; // WAD USD: value of one move at the engine's oracle price, at most this
        uint256 minSourceHealth; // WAD: the source sub-account's health after the move must be >= this (>= 1e18)
        uint64 expiry; // unix seconds; the authorisation is void from then on
    }

    event Authorised(address indexed account, uint96 indexed subaccount, Limits limits);
    event Revoked(address indexed account, uint96 indexed subaccount);
    event ExecutorSet(address indexed executor, bool allowed);
    event Rebalanced(
        bytes32 indexed id,
        address indexed account,
        uint96 indexed subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        uint32 dstEngineEid,
        address executor
    );

    /// @notice Grants (or replaces) the limits within which executors may move credit of the caller's
    ///         sub-account `subaccount` out of this engine.
    function authorise(uint96 subaccount, Limits calldata limits) external; // msg.sender is the account

    /// @notice Withdraws the caller's authorisation for `subaccount`.
    function revoke(uint96 subaccount) external;

    /// Only an executor (owner-configured: the relayer nodes' signer addresses). Moves `amount` of the
    /// sub-account's credit from (srcEid, token) on this engine to engine `dstEngineEid` (the engine's MOVE:
    /// debit here, MOVE to the collateral's vault, LOCK to the destination engine), within the limits;
    /// msg.value pays the LayerZero fee (quote with MarginEngine.quoteMove(srcEid, options)).
    /// @return id The engine's MOVE message id (the id of its `Debited` event).
    function rebalance(
        address account,
        uint96 subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        uint32 dstEngineEid,
        bytes calldata options
    ) external payable returns (bytes32 id);

    /// @notice The limits in force for a sub-account (expiry 0: none).
    function authorisation(address account, uint96 subaccount) external view returns (Limits memory);

    /// @notice Whether `executor` may call `rebalance`.
    function isExecutor(address executor) external view returns (bool);
}
