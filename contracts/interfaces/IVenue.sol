// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IVenue
/// @notice What a trading venue registered with a MarginEngine must expose. Positions live in the
///         venue; the engine owns the margin rules and calls back to close positions in liquidations.
/// @dev All USD figures are 18-decimal fixed point. Quote-token amounts are in the token's own units.
interface IVenue {
    /// @notice One open position of a subaccount, marked at the oracle price.
    struct PositionView {
        uint32 marketId;
        /// @dev Signed size in base units with 18 decimals (positive = long).
        int256 size;
        /// @dev Oracle price used for the mark, USD per base unit (WAD).
        uint256 markPrice;
        /// @dev Unrealised PnL at `markPrice`, net of accrued and unsettled funding/borrow fees (USD, WAD).
        int256 unrealizedPnl;
    }

    /// @notice Open positions of (account, subaccount).
    function positionsOf(address account, uint96 subaccount) external view returns (PositionView[] memory);

    /// @notice Realised PnL balance of (account, subaccount) in USD (WAD): positive is owed to the trader
    ///         by the venue's pool, negative is the trader's debt to it.
    function settledBalance(address account, uint96 subaccount) external view returns (int256);

    /// @notice The token in which PnL settles (valued at 1 USD per whole token by the engine).
    function quoteToken() external view returns (address);

    /// @notice Closes `fractionWad` (1e18 = all) of every position of the subaccount at the oracle price,
    ///         realising PnL into its settled balance. Only the margin engine may call it.
    /// @return closedNotional USD notional (WAD) that was closed.
    function liquidationClose(address account, uint96 subaccount, uint256 fractionWad)
        external
        returns (uint256 closedNotional);

    /// @notice The engine has transferred `amount` quote tokens to the venue to repay the subaccount's debt.
    function onRepay(address account, uint96 subaccount, uint256 amount) external;

    /// @notice The engine pays `amount` quote tokens of the subaccount's positive settled balance to `to`.
    function payOut(address account, uint96 subaccount, uint256 amount, address to) external;

    /// @notice Writes off the subaccount's remaining debt as a loss of the pool (bad debt), after the
    ///         insurance fund has covered what it could. Only the margin engine may call it.
    /// @return writtenOff Quote-token amount written off.
    function writeOff(address account, uint96 subaccount) external returns (uint256 writtenOff);
}
