// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Origin} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {Vm} from "forge-std/Vm.sol";
import {BaseTest} from "./BaseTest.sol";
import {XmarginOApp} from "../../contracts/common/XmarginOApp.sol";
import {MarginEngineAdmin} from "../../contracts/engine/MarginEngineAdmin.sol";
import {IMarginEngineTypes, IMarginEngineAdmin} from "../../contracts/interfaces/IMarginEngine.sol";
import {ICollateralVault} from "../../contracts/interfaces/ICollateralVault.sol";
import {IPriceAdapter} from "../../contracts/interfaces/IPriceAdapter.sol";
import {MsgCodec} from "../../contracts/libraries/MsgCodec.sol";

/// @notice Size- and staleness-aware collateral weights, enforced by the engine itself: heartbeats from
///         each source chain's vault through LayerZero, the engine's record of the last one, and the
///         weights its `health` applies; plus the admin module the engine delegates its setters to.
contract DynamicWeightsTest is BaseTest {
    uint32 internal constant GRACE = 60;
    uint32 internal constant DECAY = 600;
    /// @dev A time after set-up that keeps the price feeds (updated at set-up, 1-day max age) fresh.
    uint64 internal constant T0 = 10_000;

    // ------------------------------------------------------------------ helpers

    function _heartbeat(uint32 from, uint32 engineEid) internal {
        uint256 fee = vaults[from].quoteHeartbeat(engineEid, "").nativeFee;
        vaults[from].sendHeartbeat{value: fee}(engineEid, "");
        _deliverToEngine(engineEid);
    }

    /// @dev WETH credited on B from chain A becomes staleness-aware (grace 60 s, linear decay over 600 s).
    function _staleWethFromA() internal {
        IMarginEngineTypes.CollateralSource memory s = engines[B].collateralSource(A, address(weth[A]));
        s.staleGrace = GRACE;
        s.staleDecay = DECAY;
        engines[B].setCollateralSource(A, address(weth[A]), s);
    }

    /// @dev A HEARTBEAT from vault A as the endpoint on B would deliver it, dated `sentAt`.
    function _receiveHeartbeat(uint64 sentAt, uint64 nonce) internal {
        Origin memory origin = Origin(A, addressToBytes32(address(vaults[A])), nonce);
        vm.prank(address(endpoints[B]));
        XmarginOApp(address(engines[B]))
            .lzReceive(origin, keccak256(abi.encode(nonce)), MsgCodec.encodeHeartbeat(sentAt), address(0), "");
    }

    // ------------------------------------------------------------------ heartbeats

    function test_heartbeat_recordsTheSourceTimeOnTheEngine() public {
        vm.warp(T0);
        uint256 fee = vaults[A].quoteHeartbeat(B, "").nativeFee;
        vm.expectEmit(address(vaults[A]));
        emit ICollateralVault.HeartbeatSent(B, T0);
        vaults[A].sendHeartbeat{value: fee}(B, "");
        vm.recordLogs();
        _deliverToEngine(B);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool heard;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(engines[B]) && logs[i].topics[0] == IMarginEngineTypes.SourceHeard.selector) {
                assertEq(logs[i].topics[1], bytes32(uint256(A)));
                assertEq(abi.decode(logs[i].data, (uint64)), T0);
                heard = true;
            }
        }
        assertTrue(heard, "SourceHeard emitted");
        assertEq(engines[B].lastHeardAt(A), T0);
        assertEq(engines[B].lastHeardAt(C), 0, "only the sender's chain is heard");
    }

    function test_heartbeat_toTheLocalEngineReverts() public {
        vm.expectRevert(ICollateralVault.NoHeartbeatToLocalEngine.selector);
        vaults[B].sendHeartbeat(B, "");
    }

    function test_heartbeat_fromTheFutureIsCappedAndAnOlderOneChangesNothing() public {
        vm.warp(T0);
        _receiveHeartbeat(T0 + 3600, 1);
        assertEq(engines[B].lastHeardAt(A), T0, "a source clock ahead buys no freshness");
        vm.recordLogs();
        _receiveHeartbeat(T0 - 1000, 2);
        assertEq(engines[B].lastHeardAt(A), T0, "never goes back");
        assertEq(vm.getRecordedLogs().length, 0, "no event without a change");
    }

    // ------------------------------------------------------------------ staleness-aware weights

    function test_staleness_decaysLinearlyAfterGraceAndAHeartbeatRestoresIt() public {
        vm.warp(T0);
        _staleWethFromA();
        _heartbeat(A, B);
        _deposit(alice, A, address(weth[A]), 10e18, B);
        _deliverToEngine(B);
        assertEq(_health(alice, B).collateralValue, 16_000e18, "fresh: 10 x 2000 x 0.8");

        vm.warp(T0 + GRACE);
        assertEq(_health(alice, B).collateralValue, 16_000e18, "within grace");
        vm.warp(T0 + GRACE + DECAY / 4);
        assertEq(_health(alice, B).collateralValue, 12_000e18, "a quarter into the decay: 3/4 of the weight");
        vm.warp(T0 + GRACE + DECAY);
        assertEq(_health(alice, B).collateralValue, 0, "fully decayed");

        _heartbeat(A, B);
        assertEq(_health(alice, B).collateralValue, 16_000e18, "a new heartbeat restores the weight");
    }

    /// A dev chain (anvil mid-block) can answer an eth_call with state a block ahead of its timestamp:
    /// the last heartbeat then looks younger than zero. It counts as fresh instead of underflowing.
    function test_staleness_aClockBehindTheLastHeartbeatCountsAsFresh() public {
        vm.warp(T0);
        _staleWethFromA();
        _heartbeat(A, B);
        _deposit(alice, A, address(weth[A]), 10e18, B);
        _deliverToEngine(B);
        vm.warp(T0 - 1);
        assertEq(_health(alice, B).collateralValue, 16_000e18);
    }

    function test_staleness_appliesOnlyToTheConfiguredSource() public {
        vm.warp(T0);
        _staleWethFromA();
        _deposit(alice, A, address(usdc[A]), 1_000e6, B);
        _deposit(alice, B, address(usdc[B]), 1_000e6, B);
        _deliverToEngine(B);
        // Never heard from A: WETH from A would count 0, but USDC from A has no staleness configured.
        assertEq(_health(alice, B).collateralValue, 1_900e18);
    }

    function test_staleness_aSilentChainMakesThePositionLiquidatable() public {
        vm.warp(T0);
        _staleWethFromA();
        _heartbeat(A, B);
        _deposit(alice, A, address(weth[A]), 1e18, B); // 1,600 USD of collateral value
        _deliverToEngine(B);
        _open(alice, B, 5e18); // 10,000 USD notional: 500 maintenance
        assertGt(_health(alice, B).health, 1e18);

        vm.warp(T0 + GRACE + (DECAY * 3) / 4); // weight 0.2: 320 USD
        assertLt(_health(alice, B).health, 1e18, "the engine itself discounts the silent chain");

        IMarginEngineTypes.SeizeOrder[] memory none = new IMarginEngineTypes.SeizeOrder[](0);
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r =
            engines[B].liquidate(IMarginEngineTypes.LiquidateParams(alice, 0, none, liquidator));
        assertGt(r.closedNotional, 0);
    }

    function test_staleness_cannotBeSetOnTheLocalSource() public {
        IMarginEngineTypes.CollateralSource memory s = engines[B].collateralSource(B, address(weth[B]));
        s.staleDecay = DECAY;
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engines[B].setCollateralSource(B, address(weth[B]), s);
    }

    // ------------------------------------------------------------------ size-aware weights

    function _setWethDepth(uint24 thousandUsd) internal {
        IMarginEngineTypes.RiskAsset memory a = engines[B].riskAsset(WETH_ASSET);
        a.depth = thousandUsd;
        engines[B].setRiskAsset(WETH_ASSET, a);
    }

    function test_size_aHoldingPastTheDepthCountsAsSqrtOfValueTimesDepth() public {
        _setWethDepth(10); // 10,000 USD
        _deposit(alice, A, address(weth[A]), 4e18, B); // 8,000 USD: under the depth
        _deliverToEngine(B);
        assertEq(_health(alice, B).collateralValue, 6_400e18);

        _deposit(alice, A, address(weth[A]), 6e18, B); // 20,000 USD: past it
        _deliverToEngine(B);
        uint256 expected = Math.sqrt(20_000e18 * 10_000e18) * 0.8e18 / 1e18;
        assertEq(_health(alice, B).collateralValue, expected);
        assertLt(expected, 16_000e18, "worth less than at the oracle price");
        assertGt(expected, 8_000e18, "but more than at the depth alone");
    }

    /// @dev More of an asset is never worth less, and never more than without the depth.
    function testFuzz_size_valueIsMonotoneAndBelowLinear(uint96 a, uint96 b) public {
        _setWethDepth(10);
        uint256 lo = bound(a, 1, 400e18);
        uint256 hi = bound(b, lo, 400e18);
        vm.startPrank(alice);
        vaults[B].deposit(address(weth[B]), lo, 0, B, "");
        uint256 atLo = _health(alice, B).collateralValue;
        if (hi > lo) vaults[B].deposit(address(weth[B]), hi - lo, 0, B, "");
        vm.stopPrank();
        uint256 atHi = _health(alice, B).collateralValue;
        assertLe(atLo, atHi);
        assertLe(atHi, hi * 2000 * 8 / 10);
    }

    // ------------------------------------------------------------------ the admin module

    function test_adminModule_setterGoesThroughTheEngineWithItsOwnerCheck() public {
        IMarginEngineTypes.RiskAsset memory a = engines[B].riskAsset(WETH_ASSET);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        engines[B].setRiskAsset(WETH_ASSET, a);

        a.weight = 0.7e18;
        vm.expectEmit(address(engines[B]));
        emit IMarginEngineTypes.RiskAssetSet(WETH_ASSET, a);
        engines[B].setRiskAsset(WETH_ASSET, a);
        assertEq(engines[B].riskAsset(WETH_ASSET).weight, 0.7e18);
    }

    function test_adminModule_calledDirectlyTouchesNotTheEngine() public {
        MarginEngineAdmin module = MarginEngineAdmin(engines[B].ADMIN_MODULE());
        assertGt(address(module).code.length, 0);
        IMarginEngineTypes.RiskAsset memory a = engines[B].riskAsset(WETH_ASSET);
        a.weight = 0.1e18;
        module.setRiskAsset(WETH_ASSET, a);
        assertEq(engines[B].riskAsset(WETH_ASSET).weight, 0.8e18, "the engine's storage is its own");
    }

    function test_adminModule_unknownSelectorReverts() public {
        (bool ok,) = address(engines[B]).call(abi.encodeWithSignature("noSuchFunction()"));
        assertFalse(ok);
    }
}
