// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MessagingFee} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {IPriceAdapter} from "./IPriceAdapter.sol";
import {IVenue} from "./IVenue.sol";
import {MsgCodec} from "../libraries/MsgCodec.sol";

/// @notice Why a delivered LOCK was held instead of credited (the `reason` of CreditHeld).
library HoldReason {
    uint8 internal constant NONE = 0;
    uint8 internal constant SOURCE_PAUSED = 1;
    uint8 internal constant UNKNOWN_SOURCE = 2;
    uint8 internal constant CREDIT_CAP = 3;
    uint8 internal constant BRIDGE_LIMIT = 4;
    uint8 internal constant TOO_MANY_COLLATERALS = 5;
}

/// @title IMarginEngineTypes
/// @notice The margin engine's structs, events and errors (shared by the engine and its admin module).
/// @dev Figures in USD are 18-decimal fixed point (WAD). Health is a WAD ratio: equity / maintenance
///      requirement; 1e18 is the liquidation line. Sub-accounts are isolated from each other; the
///      positions inside one sub-account are cross-margined.
interface IMarginEngineTypes {
    // ------------------------------------------------------------------ types

    /// @notice A priced collateral asset (one per economic asset: WETH credited from chains A and B share one).
    struct RiskAsset {
        IPriceAdapter oracle;
        /// @dev Collateral weight = 1 - haircut, WAD, at most 1e18.
        uint64 weight;
        bool enabled;
        /// @dev Size-aware weight: the market depth in thousands of USD (0: none). Past it, one sub-account's
        ///      holding counts as sqrt(value x depth) instead of its value: its weight falls as sqrt(depth / value),
        ///      so a large holding of a thin asset is not valued as if it could be sold at the oracle price.
        uint24 depth;
    }

    /// @notice A token on a source chain that the engine accepts as collateral.
    struct CollateralSource {
        uint16 assetId;
        uint8 decimals;
        bool enabled;
        /// @dev Staleness-aware weight (remote sources only; 0 `staleDecay`: off). When the last heartbeat
        ///      from `srcEid` is older than `staleGrace` seconds, the weight falls linearly to 0 over the next
        ///      `staleDecay` seconds: a halted chain or stuck messaging discounts its collateral gradually.
        uint32 staleGrace;
        uint32 staleDecay;
        /// @dev Maximum total credit from this source, token units.
        uint256 creditCap;
        /// @dev Governor on newly bridged credit: at most `capacity` token units per `window` seconds.
        uint128 bridgeCapacity;
        uint64 bridgeWindow;
    }

    /// @notice Margin rules of one market of a venue.
    struct MarketRisk {
        /// @dev Initial margin fraction (WAD), e.g. 0.1e18 for 10x.
        uint64 initialMargin;
        /// @dev Maintenance margin fraction (WAD), below the initial one.
        uint64 maintenanceMargin;
        /// @dev Open-interest cap per side, USD (WAD); the venue enforces it.
        uint128 openInterestCap;
        bool enabled;
    }

    /// @notice Liquidation rules.
    struct LiquidationConfig {
        /// @dev Collateral paid to the liquidator per unit of quote it pays in, above par (WAD, e.g. 0.05e18).
        uint64 bonus;
        /// @dev Partial liquidations close enough to bring health back to this (WAD, > 1e18).
        uint64 targetHealth;
        /// @dev Below this health (WAD, < 1e18) the whole position is closed at once.
        uint64 fullCloseHealth;
        /// @dev A position left below this notional (USD, WAD) after a partial close is closed fully instead.
        uint128 dustNotional;
    }

    /// @notice The margin state of one sub-account.
    struct HealthView {
        /// @dev Σ credited amount × price × weight (USD).
        uint256 collateralValue;
        /// @dev collateralValue + settled PnL + unrealised PnL (USD, may be negative).
        int256 equity;
        uint256 maintenanceRequirement;
        uint256 initialRequirement;
        /// @dev Σ |size| × mark over positions (USD).
        uint256 notional;
        /// @dev equity / maintenanceRequirement (WAD); type(uint256).max when there is no requirement
        ///      and equity >= 0; 0 when equity <= 0 and there is a requirement or a debt.
        uint256 health;
    }

    /// @notice One collateral to take in a liquidation: the liquidator pays up to `maxRepay` quote tokens
    ///         into the sub-account's settled balance and receives collateral worth that plus the bonus.
    struct SeizeOrder {
        uint32 srcEid;
        address token;
        uint256 maxRepay;
        /// @dev LayerZero options for a remote SEIZE (its fee comes out of msg.value; the rest is refunded).
        bytes options;
    }

    struct LiquidateParams {
        address account;
        uint96 subaccount;
        /// @dev Collaterals to take, in order, until the liquidation's need is met. May be empty to only
        ///      close positions (or settle bad debt).
        SeizeOrder[] seizes;
        /// @dev Who receives the seized collateral, on each collateral's own chain.
        address recipient;
    }

    struct LiquidationResult {
        uint256 closeFraction;
        uint256 closedNotional;
        /// @dev Total quote tokens the liquidator paid in.
        uint256 repaid;
        uint256[] seized;
        bytes32[] seizeIds;
        uint256 healthBefore;
        uint256 healthAfter;
    }

    /// @notice One item's outcome in `liquidateBatch`.
    struct BatchLiquidation {
        /// @dev The item's liquidation happened.
        bool landed;
        /// @dev Its result when landed (zeroed otherwise).
        LiquidationResult result;
        /// @dev The item's revert data when skipped (empty when landed).
        bytes revertData;
    }

    // ------------------------------------------------------------------ events

    event Credited(
        bytes32 indexed id,
        address indexed account,
        uint96 indexed subaccount,
        uint32 srcEid,
        address token,
        uint256 amount
    );
    /// @notice A delivered LOCK was not credited yet (see `claimHeldCredit`); nothing is lost.
    event CreditHeld(bytes32 indexed id, address indexed account, uint96 indexed subaccount, uint8 reason);
    event HeldCreditClaimed(bytes32 indexed id);
    event HeldCreditReturned(bytes32 indexed id, bytes32 releaseId);
    /// @notice Credit left the engine: a withdrawal (kind RELEASE), a seizure (SEIZE) or a move (MOVE).
    event Debited(
        bytes32 indexed id,
        uint8 kind,
        address indexed account,
        uint96 indexed subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        address recipient,
        uint32 dstEngineEid
    );
    event Liquidated(
        address indexed account,
        uint96 indexed subaccount,
        address indexed liquidator,
        uint256 closeFraction,
        uint256 closedNotional,
        uint256 repaid,
        uint256 healthBefore,
        uint256 healthAfter
    );
    /// @notice An item of `liquidateBatch` reverted and was skipped (its fee is refunded); `reason` is its
    ///         revert data, e.g. HealthyAccount(health) when another liquidator was first.
    event LiquidationSkipped(
        address indexed account, uint96 indexed subaccount, address indexed liquidator, bytes reason
    );
    /// @notice A shortfall was settled: the insurance fund paid `coveredByInsurance`, the LP pool lost `writtenOff`.
    event BadDebtSettled(
        address indexed account, uint96 indexed subaccount, uint256 coveredByInsurance, uint256 writtenOff
    );
    event DebtRepaid(address indexed account, uint96 indexed subaccount, address indexed payer, uint256 amount);
    event PnlWithdrawn(address indexed account, uint96 indexed subaccount, uint256 amount, address recipient);
    event InsuranceFunded(address indexed from, uint256 amount);
    event RiskAssetSet(uint16 indexed assetId, RiskAsset asset);
    event CollateralSourceSet(uint32 indexed srcEid, address indexed token, CollateralSource source);
    event MarketRiskSet(uint32 indexed marketId, MarketRisk risk);
    event VenueSet(address indexed venue);
    event LiquidationConfigSet(LiquidationConfig config);
    event SourcePaused(uint32 indexed srcEid, bool paused);
    event LocalVaultSet(address indexed vault);
    event RebalancerSet(address indexed rebalancer);
    event WeightGovernorSet(address indexed governor);
    /// @notice A heartbeat from `srcEid`'s vault said that chain was live at `sentAt` (its block time, capped
    ///         at this chain's); the staleness-aware weights of that chain's collateral count from it.
    event SourceHeard(uint32 indexed srcEid, uint64 sentAt);

    // ------------------------------------------------------------------ errors

    error ZeroAmount();
    error ZeroAddress();
    error UnknownCollateral(uint32 srcEid, address token);
    error InsufficientCredit(uint256 credit, uint256 requested);
    error BelowInitialMargin(int256 equity, uint256 initialRequirement);
    error HealthyAccount(uint256 health);
    error NotLocalVault(address caller);
    error UnknownMessageType(uint8 msgType);
    error MessageAlreadyProcessed(bytes32 id);
    error NoHeldCredit(bytes32 id);
    error CreditStillHeld(bytes32 id, uint8 reason);
    error CannotCreditLocally(uint8 reason);
    error InvalidRiskParameter();
    error SameEngine(uint32 eid);
    error NoVenue();
    error UnexpectedNativeValue(uint256 msgValue);
    error NoBadDebt(address account, uint96 subaccount);
    error RefundFailed(address to, uint256 amount);
    error NotHeldCreditOwner(bytes32 id, address caller);
    error NotRebalancer(address caller);
    error NotWeightGovernor(address caller);
    /// @notice No liquidation config was ever set (setLiquidationConfig): a partial close cannot be sized.
    error LiquidationNotConfigured();
    /// @notice `liquidateBatch` got `items` items but `fees` fees: one fee per item.
    error BatchLengthMismatch(uint256 items, uint256 fees);
    /// @notice `liquidateBatch`'s msg.value (`provided`) is below the sum of its fees (`required`).
    error BatchValueTooLow(uint256 required, uint256 provided);
    /// @notice Only the engine itself may call this (`liquidateBatchItem`).
    error NotSelf(address caller);
}

/// @title IMarginEngineState
/// @notice The engine's public state (MarginEngineStorage's public variables).
interface IMarginEngineState is IMarginEngineTypes {
    function venue() external view returns (IVenue);
    function totalCredit(bytes32 sourceKey) external view returns (uint256);
    function processed(bytes32 id) external view returns (bool);
    function insuranceFund() external view returns (uint256);
    function sourcePaused(uint32 srcEid) external view returns (bool);
    function localVault() external view returns (address);
    /// @notice The only caller of `moveFor` (address(0): none).
    function rebalancer() external view returns (address);
    /// @notice The only caller of `setAssetWeight` (address(0): none).
    function weightGovernor() external view returns (address);
    /// @notice The source-chain time of the latest heartbeat from `srcEid` (0: none yet).
    function lastHeardAt(uint32 srcEid) external view returns (uint64);
}

/// @title IMarginEngineCore
/// @notice What the engine contract itself implements: trading-path entry points and the views the hot
///         paths use. The owner's and guardian's setters and the struct views are in IMarginEngineAdmin.
interface IMarginEngineCore is IMarginEngineState {
    // ------------------------------------------------------------------ trader

    /// @notice Withdraws `amount` of credited `token` from source chain `srcEid` to `recipient` there.
    ///         Checks initial-margin health after the withdrawal, debits first, then sends RELEASE
    ///         (or pays out at once through the local vault).
    function withdraw(
        uint96 subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        address recipient,
        bytes calldata options
    ) external payable returns (bytes32 id);

    /// @notice Moves `amount` of credit to the engine at `dstEngineEid`, through the collateral's vault.
    ///         `options` must give the vault's lzReceive enough native value for its LOCK to the destination.
    function move(
        uint96 subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        uint32 dstEngineEid,
        bytes calldata options
    ) external payable returns (bytes32 id);

    /// @notice `move` on behalf of `account`: only the rebalancer may call (it enforces the limits the
    ///         trader authorised there). The margin rules are those of `move`; a remote MOVE's fee excess is
    ///         refunded to the rebalancer.
    function moveFor(
        address account,
        uint96 subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        uint32 dstEngineEid,
        bytes calldata options
    ) external payable returns (bytes32 id);

    /// @notice Pays quote tokens into a sub-account's settled balance (repays its debt to the pool).
    function repayDebt(address account, uint96 subaccount, uint256 amount) external;

    /// @notice Withdraws realised profit (positive settled balance) in the quote token.
    function withdrawPnl(uint96 subaccount, uint256 amount, address recipient) external;

    /// @notice Credits a LOCK that was held, once the reason it was held is gone. Anyone may call.
    function claimHeldCredit(bytes32 id) external;

    /// @notice Sends a held LOCK's collateral back to its owner on the source chain (RELEASE), for when
    ///         it cannot be credited. Only the account that deposited it may call.
    function returnHeldCredit(bytes32 id, bytes calldata options) external payable returns (bytes32 releaseId);

    // ------------------------------------------------------------------ liquidators

    /// @notice Liquidates an unhealthy sub-account; see LiquidateParams. Anyone may call.
    function liquidate(LiquidateParams calldata params) external payable returns (LiquidationResult memory);

    /// @notice Liquidates each item as `liquidate` would, for msg.sender, paying item i's LayerZero fees from
    ///         fees[i] (fees[i] = what `liquidate` would need as msg.value for that item). An item that reverts
    ///         is skipped (LiquidationSkipped) and its fee refunded; the batch itself reverts only on bad input.
    /// @dev Reverts with BatchLengthMismatch unless there is one fee per item, and with BatchValueTooLow when
    ///      msg.value is below Σ fees, before any item runs. msg.value - Σ fees, the fees of skipped items and
    ///      the unused fee budget of landed ones go back to msg.sender (RefundFailed if it cannot take them;
    ///      a landed item whose own refund fails is skipped). An empty batch refunds msg.value. Each item runs
    ///      in its own call frame (`liquidateBatchItem`): a skipped item leaves no trace but its event.
    /// @param items The liquidations, in order; the same sub-account twice is liquidated at most as often as
    ///        it is still unhealthy when its item runs.
    /// @param fees Per item, the native value its `liquidate` would need (0 for local seizures only).
    /// @return outcomes Per item: whether it landed, its result, or its revert data.
    function liquidateBatch(LiquidateParams[] calldata items, uint256[] calldata fees)
        external
        payable
        returns (BatchLiquidation[] memory outcomes);

    /// @notice The engine's own entry for one batch item: only the engine itself may call it (NotSelf
    ///         otherwise). Runs `liquidate` for `liquidator` with msg.value as the item's fee budget.
    /// @dev Not guarded on its own: the batch that calls it holds the engine's re-entrancy lock.
    function liquidateBatchItem(LiquidateParams calldata p, address liquidator)
        external
        payable
        returns (LiquidationResult memory);

    /// @notice Settles the debt of a sub-account with no positions and no collateral left: insurance
    ///         fund first, then the LP pool. Anyone may call.
    function settleBadDebt(address account, uint96 subaccount) external;

    /// @notice Adds quote tokens to the insurance fund.
    function fundInsurance(uint256 amount) external;

    // ------------------------------------------------------------------ local vault and venue

    /// @notice A deposit on this chain's vault for this engine (no message). Reverts if it cannot be credited.
    function creditFromLocalVault(MsgCodec.Lock calldata lock) external;

    /// @notice Reverts with BelowInitialMargin if the sub-account is below initial margin (venues call it
    ///         after a trade that adds risk).
    function requireInitialMargin(address account, uint96 subaccount) external view;

    // ------------------------------------------------------------------ views

    function health(address account, uint96 subaccount) external view returns (HealthView memory);
    /// @notice The module that runs the owner's setters and the struct views (see MarginEngineAdmin).
    function ADMIN_MODULE() external view returns (address);
    function quoteWithdraw(uint32 srcEid, bytes calldata options) external view returns (MessagingFee memory);
    function quoteMove(uint32 srcEid, bytes calldata options) external view returns (MessagingFee memory);
    function quoteSeize(uint32 srcEid, bytes calldata options) external view returns (MessagingFee memory);
}

/// @title IMarginEngineAdmin
/// @notice The owner's and guardian's setters and the struct views. The engine forwards these calls
///         (fallback, delegatecall) to its admin module, so they are called on the engine's address.
interface IMarginEngineAdmin is IMarginEngineTypes {
    // ------------------------------------------------------------------ owner and guardian

    /// @notice Sets a priced collateral asset (owner).
    function setRiskAsset(uint16 assetId, RiskAsset calldata asset) external;
    /// @notice Sets one risk asset's weight (weight governor only; it checks its own bounds). Emits
    ///         RiskAssetSet with the whole asset, like `setRiskAsset`.
    function setAssetWeight(uint16 assetId, uint64 weight) external;
    /// @notice Sets the only caller of `setAssetWeight`; address(0) disables it (owner).
    function setWeightGovernor(address governor) external;
    /// @notice Accepts (or stops accepting) `token` locked on chain `srcEid` as collateral (owner).
    function setCollateralSource(uint32 srcEid, address token, CollateralSource calldata source) external;
    /// @notice Sets the margin rules of a market (owner).
    function setMarketRisk(uint32 marketId, MarketRisk calldata risk) external;
    /// @notice Registers the venue whose positions this engine margins (owner).
    function setVenue(IVenue venue) external;
    /// @notice Sets the liquidation rules (owner).
    function setLiquidationConfig(LiquidationConfig calldata config) external;
    /// @notice Sets the vault on this chain (owner).
    function setLocalVault(address vault) external;
    /// @notice Sets the only caller of `moveFor`; address(0) disables it (owner).
    function setRebalancer(address rebalancer) external;
    /// @notice Stops (or resumes) crediting LOCKs from one source chain (guardian).
    function setSourcePaused(uint32 srcEid, bool paused) external;

    // ------------------------------------------------------------------ views

    function creditOf(address account, uint96 subaccount, uint32 srcEid, address token) external view returns (uint256);
    function collateralsOf(address account, uint96 subaccount)
        external
        view
        returns (uint32[] memory srcEids, address[] memory tokens, uint256[] memory amounts);
    function marketRisk(uint32 marketId) external view returns (MarketRisk memory);
    function riskAsset(uint16 assetId) external view returns (RiskAsset memory);
    function collateralSource(uint32 srcEid, address token) external view returns (CollateralSource memory);
    function liquidationConfig() external view returns (LiquidationConfig memory);
    function heldCredit(bytes32 id) external view returns (uint32 srcEid, MsgCodec.Lock memory lock);
    function bridgeCapacityAvailable(uint32 srcEid, address token) external view returns (uint256);
}

/// @title IMarginEngine
/// @notice The clearinghouse of one chain: a ledger of collateral credited from vaults on every chain,
///         the margin rules of the markets it hosts, withdrawals, moves and liquidations. Everything one
///         engine address answers: its own functions and those its admin module runs for it.
interface IMarginEngine is IMarginEngineCore, IMarginEngineAdmin {}
