// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMarginEngine, IMarginEngineTypes} from "../../../contracts/interfaces/IMarginEngine.sol";
import {IVenue} from "../../../contracts/interfaces/IVenue.sol";

/// @title MarketEngineStub
/// @notice Test-only stand-in for the MarginEngine as seen by a venue: settable market risk, an
///         initial-margin check that reverts on demand, and pass-through calls to the engine hooks.
contract MarketEngineStub {
    mapping(uint32 marketId => IMarginEngineTypes.MarketRisk) private _risk;
    /// @notice When set, requireInitialMargin reverts with BelowInitialMargin.
    bool public failInitialMargin;
    IVenue public venue;

    function setVenue(IVenue venue_) external {
        venue = venue_;
    }

    function setMarketRisk(uint32 marketId, IMarginEngineTypes.MarketRisk calldata risk) external {
        _risk[marketId] = risk;
    }

    function setFailInitialMargin(bool fail) external {
        failInitialMargin = fail;
    }

    function marketRisk(uint32 marketId) external view returns (IMarginEngineTypes.MarketRisk memory) {
        return _risk[marketId];
    }

    function requireInitialMargin(address, uint96) external view {
        if (failInitialMargin) revert IMarginEngineTypes.BelowInitialMargin(-1, 1);
    }

    function liquidationClose(address account, uint96 subaccount, uint256 fractionWad) external returns (uint256) {
        return venue.liquidationClose(account, subaccount, fractionWad);
    }

    /// @notice Transfers `amount` quote tokens held by this stub to the venue, then calls onRepay.
    function repay(address account, uint96 subaccount, uint256 amount) external {
        IERC20(venue.quoteToken()).transfer(address(venue), amount);
        venue.onRepay(account, subaccount, amount);
    }

    function onRepay(address account, uint96 subaccount, uint256 amount) external {
        venue.onRepay(account, subaccount, amount);
    }

    function payOut(address account, uint96 subaccount, uint256 amount, address to) external {
        venue.payOut(account, subaccount, amount, to);
    }

    function writeOff(address account, uint96 subaccount) external returns (uint256) {
        return venue.writeOff(account, subaccount);
    }
}
