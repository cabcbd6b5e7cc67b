// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;
import {TestHelperOz5} from "@layerzerolabs/test-devtools-evm-foundry/contracts/TestHelperOz5.sol";

contract SmokeTest is TestHelperOz5 {
    function setUp() public override {
        super.setUp();
        setUpEndpoints(2, LibraryType.UltraLightNode);
    }

    function test_smoke() public view {
        assertTrue(address(endpoints[1]) != address(0));
    }
}
