// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMarginEngine, IMarginEngineTypes} from "../../contracts/interfaces/IMarginEngine.sol";
import {IPriceAdapter} from "../../contracts/interfaces/IPriceAdapter.sol";
import {IAggregatorV3} from "../../contracts/interfaces/IAggregatorV3.sol";
import {SettableAggregator} from "../../contracts/oracles/SettableAggregator.sol";
import {ChainlinkPriceAdapter} from "../../contracts/oracles/ChainlinkPriceAdapter.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {BaseTest} from "./BaseTest.sol";

/// @title Faults
/// @notice Oracle faults and thin-collateral pumps against the whole system (real adapters on BaseTest):
///         a zero, negative or stale ETH feed and a deviating secondary make the engine refuse
///         liquidations and withdrawals with the adapter's custom error; a 20x spike of a capped,
///         low-weight asset adds at most cap x price x weight of margin and never lets more than the
///         credited amount out. (Adapter-level cases are in Oracles.t.sol, stub-level in MarginEngine.t.sol.)
contract FaultsTest is BaseTest {
    uint16 internal constant PUMP_ASSET = 3;

    /// @dev alice: 10 WETH on B for engine B, long 60 ETH at 2,000, then ETH at 1,800: unhealthy.
    function _unhealthyAlice() internal {
        _deposit(alice, B, address(weth[B]), 10e18, B);
        _open(alice, B, 60e18);
        _setEthPrice(B, 1800e8);
        assertLt(_health(alice, B).health, 1e18, "alice is liquidatable");
    }

    function _liquidateAlice() internal returns (IMarginEngineTypes.LiquidationResult memory) {
        IMarginEngineTypes.SeizeOrder[] memory seizes = new IMarginEngineTypes.SeizeOrder[](1);
        seizes[0] = IMarginEngineTypes.SeizeOrder(B, address(weth[B]), 100_000e6, "");
        vm.prank(liquidator);
        return engines[B].liquidate(IMarginEngineTypes.LiquidateParams(alice, 0, seizes, liquidator));
    }

    function _withdrawAlice(uint256 amount) internal {
        vm.prank(alice);
        engines[B].withdraw(0, B, address(weth[B]), amount, alice, "");
    }

    function test_zeroAnswer_refusesLiquidationAndWithdrawal() public {
        _unhealthyAlice();
        _setEthPrice(B, 0);
        bytes memory err = abi.encodeWithSelector(IPriceAdapter.InvalidPrice.selector, address(ethFeed[B]), int256(0));
        vm.expectRevert(err);
        _liquidateAlice();
        vm.expectRevert(err);
        _withdrawAlice(1e18);
    }

    function test_negativeAnswer_refusesLiquidationAndWithdrawal() public {
        _unhealthyAlice();
        _setEthPrice(B, -1);
        bytes memory err = abi.encodeWithSelector(IPriceAdapter.InvalidPrice.selector, address(ethFeed[B]), int256(-1));
        vm.expectRevert(err);
        _liquidateAlice();
        vm.expectRevert(err);
        _withdrawAlice(1e18);
    }

    function test_staleFeed_refusesLiquidationAndWithdrawal() public {
        _unhealthyAlice();
        vm.warp(block.timestamp + 1 days + 1);
        vm.expectPartialRevert(IPriceAdapter.StalePrice.selector);
        _liquidateAlice();
        vm.expectPartialRevert(IPriceAdapter.StalePrice.selector);
        _withdrawAlice(1e18);
        // A fresh answer restores both paths: the liquidation goes through.
        _setEthPrice(B, 1800e8);
        assertGt(_liquidateAlice().closeFraction, 0);
    }

    function test_deviatingSecondary_refusesLiquidationAndWithdrawal() public {
        SettableAggregator secondary = new SettableAggregator(8, 2000e8, "ETH / USD (2nd)");
        IPriceAdapter dual = new ChainlinkPriceAdapter(
            IAggregatorV3(address(ethFeed[B])), 1 days, IAggregatorV3(address(secondary)), 1 days, 100
        );
        engines[B].setRiskAsset(WETH_ASSET, IMarginEngineTypes.RiskAsset(dual, 0.8e18, true, 0));
        _deposit(alice, B, address(weth[B]), 10e18, B);
        _open(alice, B, 60e18);
        _setEthPrice(B, 1800e8);
        secondary.setAnswer(1800e8);
        assertLt(_health(alice, B).health, 1e18, "alice is liquidatable");
        secondary.setAnswer(2500e8); // 39% away from the primary, limit 1%
        vm.expectPartialRevert(IPriceAdapter.PriceDeviation.selector);
        _liquidateAlice();
        vm.expectPartialRevert(IPriceAdapter.PriceDeviation.selector);
        _withdrawAlice(1e18);
        // Within the deviation again: the liquidation goes through.
        secondary.setAnswer(1801e8);
        assertGt(_liquidateAlice().closeFraction, 0);
    }

    function test_spikeOfCappedLowWeightAsset_boundedAndNeverWithdrawnBeyondCredit() public {
        // PUMP on B: weight 0.1, credit cap 100 tokens, price 1 USD.
        MockERC20 pump = new MockERC20("Pump", "PUMP", 18);
        SettableAggregator pumpFeed = new SettableAggregator(8, 1e8, "PUMP / USD");
        IPriceAdapter pumpPrice =
            new ChainlinkPriceAdapter(IAggregatorV3(address(pumpFeed)), 1 days, IAggregatorV3(address(0)), 0, 0);
        _enableVaultAsset(B, address(pump));
        engines[B].setRiskAsset(PUMP_ASSET, IMarginEngineTypes.RiskAsset(pumpPrice, 0.1e18, true, 0));
        engines[B].setCollateralSource(
            B, address(pump), IMarginEngineTypes.CollateralSource(PUMP_ASSET, 18, true, 0, 0, 100e18, type(uint128).max, 1 days)
        );
        pump.mint(alice, 1_000e18);
        vm.prank(alice);
        pump.approve(address(vaults[B]), type(uint256).max);

        _deposit(alice, B, address(pump), 100e18, B);
        assertEq(engines[B].creditOf(alice, 0, B, address(pump)), 100e18);
        // Beyond the cap nothing more is credited (the deposit is refused or held).
        try this.depositAs(alice, B, address(pump), 500e18, B) {} catch {}
        assertEq(engines[B].creditOf(alice, 0, B, address(pump)), 100e18, "credit stays at the cap");

        uint256 before = _health(alice, B).collateralValue;
        pumpFeed.setAnswer(20e8); // 20x
        uint256 afterSpike = _health(alice, B).collateralValue;
        // At most cap x spiked price x weight: 100 x 20 x 0.1 = 200 USD of margin, whatever was sent.
        assertEq(afterSpike, 200e18, "spiked margin is capped");
        assertEq(before, 10e18);

        // The pumped credit cannot be taken out beyond what was credited.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.InsufficientCredit.selector, 100e18, 101e18));
        engines[B].withdraw(0, B, address(pump), 101e18, alice, "");
        // Nor can it release anyone's WETH: alice has none credited.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.InsufficientCredit.selector, 0, 1e18));
        engines[B].withdraw(0, B, address(weth[B]), 1e18, alice, "");
        // And the vault never pays out more than it holds for her.
        assertGe(pump.balanceOf(address(vaults[B])), vaults[B].totalLocked(address(pump)));
    }

    /// @dev External so the test can try/catch a deposit that may revert.
    function depositAs(address who, uint32 eid, address token, uint256 amount, uint32 engineEid) external {
        _deposit(who, eid, token, amount, engineEid);
    }
}
