// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title WadMath
/// @notice 18-decimal fixed point helpers. Each name says its rounding direction, and callers pick
///         the direction that favours the protocol (collateral values down, requirements up).
library WadMath {
    uint256 internal constant WAD = 1e18;

    function mulWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, WAD);
    }

    function mulWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, WAD, Math.Rounding.Ceil);
    }

    function divWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, WAD, y);
    }

    function divWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, WAD, y, Math.Rounding.Ceil);
    }

    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    /// @notice Value in USD (WAD) of `amount` token units at `priceWad` USD per whole token, rounded down.
    function toUsdDown(uint256 amount, uint256 priceWad, uint8 decimals) internal pure returns (uint256) {
        return Math.mulDiv(amount, priceWad, 10 ** decimals);
    }

    /// @notice Token units worth `usdWad` at `priceWad`, rounded down (never pays out more than the value).
    function fromUsdDown(uint256 usdWad, uint256 priceWad, uint8 decimals) internal pure returns (uint256) {
        return Math.mulDiv(usdWad, 10 ** decimals, priceWad);
    }

    /// @notice Token units worth `usdWad` at `priceWad`, rounded up (never charges less than the value).
    function fromUsdUp(uint256 usdWad, uint256 priceWad, uint8 decimals) internal pure returns (uint256) {
        return Math.mulDiv(usdWad, 10 ** decimals, priceWad, Math.Rounding.Ceil);
    }

    function abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }
}
