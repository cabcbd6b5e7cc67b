// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title CollateralList
/// @notice A sub-account's collateral source keys (`srcEid << 160 | token`, 192 bits), at most CAPACITY, in
///         a fixed array whose first entry also holds the count in its spare top 64 bits.
/// @dev A dynamic array keeps its length in a slot of its own: an account's first deposit then wrote two
///      fresh slots (length and entry, ~44k gas) and every health check read one slot more than it needs.
///      Here the first deposit writes one, and reading the list costs one SLOAD per collateral.
///      Order: insertion order, except that a removal moves the last entry into the freed place.
library CollateralList {
    uint256 internal constant CAPACITY = 8;
    uint256 private constant COUNT_SHIFT = 192;
    uint256 private constant KEY_MASK = (1 << COUNT_SHIFT) - 1;

    function count(bytes32[8] storage list) internal view returns (uint256) {
        return uint256(list[0]) >> COUNT_SHIFT;
    }

    /// @notice The keys, in list order.
    function keys(bytes32[8] storage list) internal view returns (bytes32[] memory out) {
        uint256 head = uint256(list[0]);
        uint256 n = head >> COUNT_SHIFT;
        out = new bytes32[](n);
        if (n == 0) return out;
        out[0] = bytes32(head & KEY_MASK);
        for (uint256 i = 1; i < n; ++i) {
            out[i] = list[i];
        }
    }

    /// @notice Appends `key`. The caller ensures it is absent, non-zero, below 2^192 and that the list has room.
    function push(bytes32[8] storage list, bytes32 key) internal {
        uint256 head = uint256(list[0]);
        uint256 n = head >> COUNT_SHIFT;
        if (n == 0) {
            list[0] = bytes32((1 << COUNT_SHIFT) | uint256(key));
        } else {
            list[n] = key;
            list[0] = bytes32(head + (1 << COUNT_SHIFT));
        }
    }

    /// @notice Removes `key` if present: the last entry takes its place and the freed slot is cleared.
    function remove(bytes32[8] storage list, bytes32 key) internal {
        uint256 head = uint256(list[0]);
        uint256 n = head >> COUNT_SHIFT;
        for (uint256 i; i < n; ++i) {
            if ((i == 0 ? bytes32(head & KEY_MASK) : list[i]) != key) continue;
            uint256 last = n - 1;
            bytes32 moved = i == last ? bytes32(0) : list[last];
            if (i == 0) head = uint256(moved);
            else if (i != last) list[i] = moved;
            if (last != 0) delete list[last];
            list[0] = bytes32(last == 0 ? 0 : (last << COUNT_SHIFT) | (head & KEY_MASK));
            return;
        }
    }
}
