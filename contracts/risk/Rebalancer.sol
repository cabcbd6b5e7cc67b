// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IMarginEngine, IMarginEngineTypes} from "../interfaces/IMarginEngine.sol";
import {IRebalancer} from "../interfaces/IRebalancer.sol";
import {WadMath} from "../libraries/WadMath.sol";

/// @title Rebalancer
/// @notice Moves a trader's credit from this chain's engine to another engine on the trader's behalf, when
///         an executor (a relayer node) asks and only within the limits the trader granted: destination
///         engines, USD value per move, health left behind, expiry. It holds no funds and no credit: the
///         engine's `moveFor` does the move under the same margin rules as the trader's own `move`.
contract Rebalancer is IRebalancer, Ownable2Step, ReentrancyGuardTransient {
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;

    /// @notice The engine whose credit this contract moves (its `rebalancer` must be this contract).
    IMarginEngine public immutable engine;

    /// @inheritdoc IRebalancer
    mapping(address executor => bool) public isExecutor;

    mapping(address account => mapping(uint96 subaccount => Limits)) internal _limits;

    /// @notice The caller is not an executor.
    error NotExecutor(address caller);
    /// @notice The sub-account has no authorisation (never granted, or revoked).
    error NotAuthorised(address account, uint96 subaccount);
    /// @notice The authorisation's expiry has passed.
    error AuthorisationExpired(address account, uint96 subaccount, uint64 expiry);
    /// @notice The destination engine is not in the authorisation's list.
    error EngineNotAllowed(uint32 dstEngineEid);
    /// @notice The move is worth more (USD, WAD, at the engine's oracle price) than the authorisation allows.
    error MoveTooLarge(uint256 valueUsd, uint256 maxPerMoveUsd);
    /// @notice After the move the source sub-account's health would be below the authorised minimum.
    error SourceHealthTooLow(uint256 health, uint256 minSourceHealth);
    /// @notice The engine does not accept (srcEid, token) as collateral, so the move cannot be valued.
    error UnknownCollateral(uint32 srcEid, address token);
    /// @notice Limits with no destination engine, a minimum health below 1, or an expiry not in the future.
    error InvalidLimits();
    error ZeroAddress();
    /// @notice The fee excess the endpoint refunded could not be passed on to the executor.
    error RefundFailed(address to, uint256 amount);

    constructor(IMarginEngine engine_, address owner_) Ownable(owner_) {
        if (address(engine_) == address(0)) revert ZeroAddress();
        engine = engine_;
    }

    /// @notice Takes the endpoint's refund of unused fee budget, passed on to the executor in `rebalance`.
    receive() external payable {}

    // =================================================================== traders

    /// @inheritdoc IRebalancer
    function authorise(uint96 subaccount, Limits calldata limits) external {
        if (
            limits.engines.length == 0 || limits.minSourceHealth < WAD || limits.expiry <= block.timestamp
                || limits.maxPerMoveUsd == 0
        ) revert InvalidLimits();
        _limits[msg.sender][subaccount] = limits;
        emit Authorised(msg.sender, subaccount, limits);
    }

    /// @inheritdoc IRebalancer
    function revoke(uint96 subaccount) external {
        if (_limits[msg.sender][subaccount].expiry == 0) revert NotAuthorised(msg.sender, subaccount);
        delete _limits[msg.sender][subaccount];
        emit Revoked(msg.sender, subaccount);
    }

    // =================================================================== executors

    /// @inheritdoc IRebalancer
    /// @dev A remote MOVE's fee excess comes back here from the endpoint and goes on to the executor; for
    ///      collateral in this chain's own vault, the vault pays the LOCK's fee and refunds the account.
    function rebalance(
        address account,
        uint96 subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        uint32 dstEngineEid,
        bytes calldata options
    ) external payable nonReentrant returns (bytes32 id) {
        if (!isExecutor[msg.sender]) revert NotExecutor(msg.sender);
        Limits storage limits = _limits[account][subaccount];
        uint64 expiry = limits.expiry;
        if (expiry == 0) revert NotAuthorised(account, subaccount);
        if (block.timestamp >= expiry) revert AuthorisationExpired(account, subaccount, expiry);
        _requireAllowedEngine(limits.engines, dstEngineEid);
        uint256 valueUsd = _valueUsd(srcEid, token, amount);
        if (valueUsd > limits.maxPerMoveUsd) revert MoveTooLarge(valueUsd, limits.maxPerMoveUsd);

        uint256 balanceBefore = address(this).balance - msg.value;
        id = engine.moveFor{value: msg.value}(account, subaccount, srcEid, token, amount, dstEngineEid, options);
        // Checked after the debit, on the engine's own figures: the move reverts as a whole if it leaves less.
        uint256 healthAfter = engine.health(account, subaccount).health;
        if (healthAfter < limits.minSourceHealth) revert SourceHealthTooLow(healthAfter, limits.minSourceHealth);
        emit Rebalanced(id, account, subaccount, srcEid, token, amount, dstEngineEid, msg.sender);

        uint256 refund = address(this).balance - balanceBefore;
        if (refund > 0) {
            (bool ok,) = msg.sender.call{value: refund}("");
            if (!ok) revert RefundFailed(msg.sender, refund);
        }
    }

    // =================================================================== owner

    /// @notice Allows or disallows `executor` to call `rebalance` (owner).
    function setExecutor(address executor, bool allowed) external onlyOwner {
        if (executor == address(0)) revert ZeroAddress();
        isExecutor[executor] = allowed;
        emit ExecutorSet(executor, allowed);
    }

    // =================================================================== views

    /// @inheritdoc IRebalancer
    function authorisation(address account, uint96 subaccount) external view returns (Limits memory) {
        return _limits[account][subaccount];
    }

    // =================================================================== internals

    function _requireAllowedEngine(uint32[] storage engines, uint32 dstEngineEid) internal view {
        uint256 n = engines.length;
        for (uint256 i; i < n; ++i) {
            if (engines[i] == dstEngineEid) return;
        }
        revert EngineNotAllowed(dstEngineEid);
    }

    /// @dev The move's USD value at the engine's oracle price, rounded up so the limit is never exceeded.
    function _valueUsd(uint32 srcEid, address token, uint256 amount) internal view returns (uint256) {
        IMarginEngineTypes.CollateralSource memory source = engine.collateralSource(srcEid, token);
        if (!source.enabled) revert UnknownCollateral(srcEid, token);
        uint256 price = engine.riskAsset(source.assetId).oracle.price();
        return amount.mulDivUp(price, 10 ** source.decimals);
    }
}
