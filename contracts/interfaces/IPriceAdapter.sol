// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IPriceAdapter
/// @notice A USD price source for one asset, as used by the margin engine and the perp market.
interface IPriceAdapter {
    /// @notice The feed answered zero or a negative number.
    error InvalidPrice(address feed, int256 answer);
    /// @notice The feed's last update is older than the adapter's staleness limit.
    error StalePrice(address feed, uint256 updatedAt, uint256 maxAge);
    /// @notice The primary and secondary sources disagree by more than the allowed deviation.
    error PriceDeviation(uint256 primaryWad, uint256 secondaryWad, uint256 maxDeviationBps);

    /// @notice USD per one whole unit of the asset, with 18 decimals. Reverts (with one of the errors
    ///         above) rather than return a price that must not be used.
    function price() external view returns (uint256 priceWad);
}
