// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IPriceAdapter} from "../interfaces/IPriceAdapter.sol";
import {WadMath} from "../libraries/WadMath.sol";

/// @title ERC4626PriceAdapter
/// @notice USD price of one whole ERC-4626 share: the vault's exchange rate (`convertToAssets`) times the
///         USD price of the underlying asset, rounded down.
/// @dev The exchange rate is read from the vault on THIS chain: the adapter must be deployed where the
///      vault lives (a share bridged elsewhere has no exchange rate there). The rate is only as safe as
///      the vault: a vault whose rate can be pushed up within one transaction (donations to a small
///      vault) must get a low collateral weight and cap.
contract ERC4626PriceAdapter is IPriceAdapter {
    /// @notice The share token priced.
    IERC4626 public immutable vault;
    /// @notice USD price of the vault's underlying asset.
    IPriceAdapter public immutable underlyingPrice;

    uint256 private immutable _oneShare;
    uint8 private immutable _assetDecimals;

    /// @notice A constructor argument is zero.
    error ZeroAddress();

    /// @param vault_ The ERC-4626 vault (share token).
    /// @param underlyingPrice_ Adapter pricing `vault_.asset()` in USD.
    constructor(IERC4626 vault_, IPriceAdapter underlyingPrice_) {
        if (address(vault_) == address(0) || address(underlyingPrice_) == address(0)) revert ZeroAddress();
        vault = vault_;
        underlyingPrice = underlyingPrice_;
        _oneShare = 10 ** vault_.decimals();
        _assetDecimals = IERC20Metadata(vault_.asset()).decimals();
    }

    /// @inheritdoc IPriceAdapter
    /// @dev Reverts with the underlying adapter's errors; InvalidPrice if a whole share is worth nothing.
    function price() external view override returns (uint256 priceWad) {
        uint256 assetsPerShare = vault.convertToAssets(_oneShare);
        priceWad = WadMath.toUsdDown(assetsPerShare, underlyingPrice.price(), _assetDecimals);
        if (priceWad == 0) revert InvalidPrice(address(vault), 0);
    }
}
