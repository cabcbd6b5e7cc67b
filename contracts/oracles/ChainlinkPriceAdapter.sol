// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAggregatorV3} from "../interfaces/IAggregatorV3.sol";
import {IPriceAdapter} from "../interfaces/IPriceAdapter.sol";

/// @title ChainlinkPriceAdapter
/// @notice USD price of one asset from a Chainlink AggregatorV3-compatible feed, with a staleness limit
///         and an optional second feed that must agree within a deviation bound.
/// @dev The configuration is immutable: to change it, deploy a new adapter and point the engine or the
///      market at it. Feed decimals are read once, at construction.
contract ChainlinkPriceAdapter is IPriceAdapter {
    uint256 private constant BPS = 10_000;

    /// @notice The feed whose answer is returned.
    IAggregatorV3 public immutable primary;
    /// @notice Oldest acceptable age (seconds) of the primary feed's last update.
    uint256 public immutable primaryMaxAge;
    /// @notice The cross-check feed, or zero for none.
    IAggregatorV3 public immutable secondary;
    /// @notice Oldest acceptable age (seconds) of the secondary feed's last update.
    uint256 public immutable secondaryMaxAge;
    /// @notice Largest allowed |primary - secondary| relative to the smaller of the two, in basis points.
    uint256 public immutable maxDeviationBps;

    uint8 private immutable _primaryDecimals;
    uint8 private immutable _secondaryDecimals;

    /// @notice A constructor argument is missing or out of range; `reason` names it.
    error InvalidAdapterConfig(string reason);

    /// @param primary_ Feed whose answer `price` returns (required).
    /// @param primaryMaxAge_ Staleness limit of the primary feed in seconds (non-zero).
    /// @param secondary_ Cross-check feed, or address(0) for none.
    /// @param secondaryMaxAge_ Staleness limit of the secondary feed (non-zero when it is set).
    /// @param maxDeviationBps_ Allowed disagreement in basis points (non-zero when the secondary is set).
    constructor(
        IAggregatorV3 primary_,
        uint256 primaryMaxAge_,
        IAggregatorV3 secondary_,
        uint256 secondaryMaxAge_,
        uint256 maxDeviationBps_
    ) {
        if (address(primary_) == address(0)) revert InvalidAdapterConfig("primary is zero");
        if (primaryMaxAge_ == 0) revert InvalidAdapterConfig("primaryMaxAge is zero");
        primary = primary_;
        primaryMaxAge = primaryMaxAge_;
        _primaryDecimals = primary_.decimals();
        if (address(secondary_) != address(0)) {
            if (secondaryMaxAge_ == 0) revert InvalidAdapterConfig("secondaryMaxAge is zero");
            if (maxDeviationBps_ == 0 || maxDeviationBps_ > BPS) {
                revert InvalidAdapterConfig("maxDeviationBps not in 1..10000");
            }
            secondary = secondary_;
            secondaryMaxAge = secondaryMaxAge_;
            maxDeviationBps = maxDeviationBps_;
            _secondaryDecimals = secondary_.decimals();
        }
    }

    /// @inheritdoc IPriceAdapter
    /// @dev Reverts InvalidPrice for an answer <= 0, StalePrice for an update older than the limit (or one
    ///      with a zero or future timestamp), PriceDeviation when the feeds disagree. Returns the primary.
    function price() external view override returns (uint256 priceWad) {
        priceWad = _read(primary, primaryMaxAge, _primaryDecimals);
        if (address(secondary) != address(0)) {
            uint256 other = _read(secondary, secondaryMaxAge, _secondaryDecimals);
            (uint256 lo, uint256 hi) = priceWad < other ? (priceWad, other) : (other, priceWad);
            if ((hi - lo) * BPS > maxDeviationBps * lo) revert PriceDeviation(priceWad, other, maxDeviationBps);
        }
    }

    /// @dev Latest answer of `feed`, checked and scaled to 18 decimals (down when the feed has more).
    function _read(IAggregatorV3 feed, uint256 maxAge, uint8 feedDecimals) private view returns (uint256) {
        (, int256 answer,, uint256 updatedAt,) = feed.latestRoundData();
        if (answer <= 0) revert InvalidPrice(address(feed), answer);
        if (updatedAt == 0 || updatedAt > block.timestamp || block.timestamp - updatedAt > maxAge) {
            revert StalePrice(address(feed), updatedAt, maxAge);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 raw = uint256(answer);
        if (feedDecimals <= 18) return raw * 10 ** (18 - feedDecimals);
        return raw / 10 ** (feedDecimals - 18);
    }
}
