// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MockERC20} from "./MockERC20.sol";

/// @title ReentrantERC20
/// @notice A malicious token: on each transfer it calls `target` with `payload` once, to try to re-enter
///         the contract moving it. The outcome of the call is recorded, not bubbled, so a test can see
///         whether the re-entry was refused.
contract ReentrantERC20 is MockERC20 {
    address public target;
    bytes public payload;
    bool public attackSucceeded;
    bytes public attackRevertData;
    bool private _attacking;

    constructor() MockERC20("Reentrant", "REE", 18) {}

    /// @notice Arms the attack: the next transfer calls `target_` with `payload_`.
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (target != address(0) && !_attacking && from != address(0)) {
            _attacking = true;
            (attackSucceeded, attackRevertData) = target.call(payload);
            _attacking = false;
            target = address(0);
        }
    }
}
