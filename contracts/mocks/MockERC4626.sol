// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title MockERC4626
/// @notice A yield-bearing vault share for tests and the devnet: yield accrues when someone transfers
///         underlying into it (`convertToAssets` rises).
contract MockERC4626 is ERC4626 {
    constructor(IERC20 underlying, string memory name_, string memory symbol_)
        ERC20(name_, symbol_)
        ERC4626(underlying)
    {}
}
