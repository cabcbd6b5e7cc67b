// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {CollateralList} from "../../contracts/libraries/CollateralList.sol";

/// @dev Holds one CollateralList in storage and, beside it, the plain dynamic array that it replaced,
///      moved the same way (push appends; remove swaps the last entry into the freed place).
contract CollateralListHarness {
    using CollateralList for bytes32[8];

    bytes32[8] internal _list;
    bytes32[] internal _model;

    function push(bytes32 key) external {
        _list.push(key);
        _model.push(key);
    }

    function remove(bytes32 key) external {
        _list.remove(key);
        uint256 n = _model.length;
        for (uint256 i; i < n; ++i) {
            if (_model[i] == key) {
                _model[i] = _model[n - 1];
                _model.pop();
                return;
            }
        }
    }

    function keys() external view returns (bytes32[] memory) {
        return _list.keys();
    }

    function model() external view returns (bytes32[] memory) {
        return _model;
    }

    function count() external view returns (uint256) {
        return _list.count();
    }

    /// Raw slots: what the list leaves behind in storage.
    function slot(uint256 i) external view returns (bytes32) {
        return _list[i];
    }
}

contract CollateralListTest is Test {
    CollateralListHarness internal h;

    function setUp() public {
        h = new CollateralListHarness();
    }

    /// A source key as the engine forms it: srcEid << 160 | token.
    function _key(uint32 eid, uint160 token) internal pure returns (bytes32) {
        return bytes32((uint256(eid) << 160) | token);
    }

    function test_firstKeySharesItsSlotWithTheCount() public {
        bytes32 k = _key(type(uint32).max, type(uint160).max);
        h.push(k);
        assertEq(h.count(), 1);
        assertEq(uint256(h.slot(0)), (1 << 192) | uint256(k), "count in the top bits, key below");
        assertEq(h.slot(1), bytes32(0), "no second slot written");
        assertEq(h.keys()[0], k);
    }

    function test_removingEveryKeyLeavesNoStorageBehind() public {
        for (uint160 t = 1; t <= 8; ++t) {
            h.push(_key(40_101, t));
        }
        assertEq(h.count(), 8);
        for (uint160 t = 1; t <= 8; ++t) {
            h.remove(_key(40_101, t));
        }
        assertEq(h.count(), 0);
        for (uint256 i; i < 8; ++i) {
            assertEq(h.slot(i), bytes32(0));
        }
    }

    function test_removingTheFirstMovesTheLastIntoItsPlace() public {
        h.push(_key(1, 1));
        h.push(_key(2, 2));
        h.push(_key(3, 3));
        h.remove(_key(1, 1));
        bytes32[] memory keys = h.keys();
        assertEq(keys.length, 2);
        assertEq(keys[0], _key(3, 3));
        assertEq(keys[1], _key(2, 2));
        assertEq(h.slot(2), bytes32(0), "the moved entry's old slot is cleared");
    }

    function test_removingAnAbsentKeyChangesNothing() public {
        h.push(_key(1, 1));
        h.remove(_key(1, 2));
        assertEq(h.count(), 1);
        assertEq(h.keys()[0], _key(1, 1));
    }

    /// Any sequence of pushes and removals leaves the same keys in the same order as the dynamic array.
    function testFuzz_matchesTheDynamicArray(uint8[32] memory ops) public {
        for (uint256 i; i < ops.length; ++i) {
            bytes32 k = _key(uint32(ops[i] & 7) + 40_100, uint160(ops[i] & 7) + 1);
            bool present;
            bytes32[] memory now_ = h.keys();
            for (uint256 j; j < now_.length; ++j) {
                if (now_[j] == k) present = true;
            }
            if (ops[i] & 0x80 != 0 || present) h.remove(k);
            else h.push(k);
        }
        bytes32[] memory got = h.keys();
        bytes32[] memory want = h.model();
        assertEq(got.length, want.length);
        assertEq(h.count(), want.length);
        for (uint256 i; i < got.length; ++i) {
            assertEq(got[i], want[i]);
        }
        // Nothing stale past the count; slot 0 holds the count, so it is all zero only when the list is empty.
        for (uint256 i = want.length == 0 ? 1 : want.length; i < 8; ++i) {
            assertEq(h.slot(i), bytes32(0), "no stale entry past the count");
        }
        if (want.length == 0) assertEq(h.slot(0), bytes32(0));
    }
}
