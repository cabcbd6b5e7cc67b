// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Test-only caller with no receive or fallback function: every native transfer to it reverts, as it
///         would for a liquidator or executor contract that cannot take refunds.
contract EtherRejecter {}
