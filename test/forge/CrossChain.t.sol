// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OptionsBuilder} from "@layerzerolabs/oapp-evm/contracts/oapp/libs/OptionsBuilder.sol";
import {IOAppCore} from "@layerzerolabs/oapp-evm/contracts/oapp/interfaces/IOAppCore.sol";

import {Vm} from "forge-std/Vm.sol";
import {BaseTest} from "./BaseTest.sol";
import {IMarginEngine, IMarginEngineTypes} from "../../contracts/interfaces/IMarginEngine.sol";
import {ICollateralVault} from "../../contracts/interfaces/ICollateralVault.sol";
import {CollateralVault} from "../../contracts/vault/CollateralVault.sol";
import {MsgCodec} from "../../contracts/libraries/MsgCodec.sol";

/// @notice The whole system across three LayerZero endpoints: deposits credited remotely, withdrawals
///         paid out remotely, liquidations seizing collateral on two other chains, and credit moved
///         from one engine to another through the collateral's vault.
contract CrossChainTest is BaseTest {
    using OptionsBuilder for bytes;

    function test_deposit_onACreditedOnEngineBOnlyAfterDelivery() public {
        _deposit(alice, A, address(weth[A]), 10e18, B);
        assertEq(vaults[A].locked(alice, 0, address(weth[A])), 10e18);
        assertEq(vaults[A].credit(B, alice, 0, address(weth[A])), 10e18);
        assertEq(engines[B].creditOf(alice, 0, A, address(weth[A])), 0, "nothing credited before delivery");

        _deliverToEngine(B);
        assertEq(engines[B].creditOf(alice, 0, A, address(weth[A])), 10e18);
        assertEq(_health(alice, B).collateralValue, 16_000e18); // 10 × 2000 × 0.8
    }

    function test_deposit_nativeOnCCreditedOnEngineB() public {
        _deposit(alice, C, vaults[C].NATIVE(), 3e18, B);
        _deliverToEngine(B);
        assertEq(engines[B].creditOf(alice, 0, C, vaults[C].NATIVE()), 0, "native ETH is not configured as collateral");
        (, MsgCodec.Lock memory held) = engines[B].heldCredit(_lastHeldId());
        assertEq(held.amount, 3e18, "an unknown collateral is held, not lost");
    }

    function test_deposit_localOnBCreditedAtOnce() public {
        _deposit(alice, B, address(usdc[B]), 1_000e6, B);
        assertEq(engines[B].creditOf(alice, 0, B, address(usdc[B])), 1_000e6);
    }

    function test_withdraw_onBPaidOutOnA() public {
        _deposit(alice, A, address(weth[A]), 5e18, B);
        _deliverToEngine(B);
        uint256 before = weth[A].balanceOf(alice);

        uint256 fee = engines[B].quoteWithdraw(A, "").nativeFee;
        vm.prank(alice);
        engines[B].withdraw{value: fee}(0, A, address(weth[A]), 2e18, alice, "");
        assertEq(engines[B].creditOf(alice, 0, A, address(weth[A])), 3e18, "debited first");
        assertEq(weth[A].balanceOf(alice), before, "paid only when RELEASE lands");

        _deliverToVault(A);
        assertEq(weth[A].balanceOf(alice), before + 2e18);
        assertEq(vaults[A].locked(alice, 0, address(weth[A])), 3e18);
        assertEq(vaults[A].credit(B, alice, 0, address(weth[A])), 3e18);
    }

    function test_withdraw_revertsWhenItWouldBreakInitialMargin() public {
        _deposit(alice, A, address(weth[A]), 2e18, B);
        _deliverToEngine(B);
        _open(alice, B, 15e18); // notional 30,000, IM 3,000 of 3,200 collateral value
        uint256 fee = engines[B].quoteWithdraw(A, "").nativeFee;
        vm.prank(alice);
        vm.expectPartialRevert(IMarginEngineTypes.BelowInitialMargin.selector);
        engines[B].withdraw{value: fee}(0, A, address(weth[A]), 0.5e18, alice, "");
    }

    function test_liquidation_onBSeizesCollateralOnAAndC() public {
        _deposit(alice, A, address(weth[A]), 1e18, B);
        _deposit(alice, C, address(weth[C]), 1e18, B);
        _deliverToEngine(B);
        _open(alice, B, 15e18);
        assertGe(_health(alice, B).health, 1e18);

        _setEthPrice(B, 1800e8);
        IMarginEngineTypes.HealthView memory h = _health(alice, B);
        assertLt(h.health, 1e18, "the price drop makes alice liquidatable");

        IMarginEngineTypes.SeizeOrder[] memory seizes = new IMarginEngineTypes.SeizeOrder[](2);
        seizes[0] = IMarginEngineTypes.SeizeOrder(A, address(weth[A]), 10_000e6, "");
        seizes[1] = IMarginEngineTypes.SeizeOrder(C, address(weth[C]), 10_000e6, "");
        uint256 fee = engines[B].quoteSeize(A, "").nativeFee + engines[B].quoteSeize(C, "").nativeFee;
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r =
            engines[B].liquidate{value: fee}(IMarginEngineTypes.LiquidateParams(alice, 0, seizes, liquidator));

        assertEq(r.closeFraction, 1e18, "negative equity closes the whole position");
        assertEq(r.seized[0], 1e18, "all of A's collateral");
        assertGt(r.seized[1], 0);
        assertLt(r.seized[1], 1e18, "only part of C's collateral: the debt is covered");
        int256 settled = markets[B].settledBalance(alice, 0);
        assertGe(settled, 0, "debt repaid by the liquidator");
        assertLe(settled, 1e12, "to the last micro-USDC, rounded in the trader's favour");

        uint256 onA = weth[A].balanceOf(liquidator);
        uint256 onC = weth[C].balanceOf(liquidator);
        _deliverToVault(A);
        _deliverToVault(C);
        assertEq(weth[A].balanceOf(liquidator) - onA, r.seized[0], "paid out on A");
        assertEq(weth[C].balanceOf(liquidator) - onC, r.seized[1], "paid out on C");
        assertEq(vaults[C].locked(alice, 0, address(weth[C])), 1e18 - r.seized[1]);
        assertEq(engines[B].creditOf(alice, 0, C, address(weth[C])), 1e18 - r.seized[1]);
    }

    function test_liquidation_partialThenHealthyAccountReverts() public {
        _deposit(alice, A, address(weth[A]), 2e18, B);
        _deliverToEngine(B);
        _open(alice, B, 15e18);
        _setEthPrice(B, 1920e8); // equity ≈ 3072 - 1200 - 15 = 1857; MM = 1440 → health ≈ 1.29... not yet
        _setEthPrice(B, 1890e8); // equity ≈ 3024 - 1650 - 15 = 1359; MM ≈ 1417 → health ≈ 0.96
        IMarginEngineTypes.SeizeOrder[] memory seizes = new IMarginEngineTypes.SeizeOrder[](1);
        seizes[0] = IMarginEngineTypes.SeizeOrder(A, address(weth[A]), 10_000e6, "");
        uint256 fee = engines[B].quoteSeize(A, "").nativeFee;
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r =
            engines[B].liquidate{value: fee}(IMarginEngineTypes.LiquidateParams(alice, 0, seizes, liquidator));
        assertLt(r.closeFraction, 1e18, "partial first");
        assertGt(r.closeFraction, 0);
        assertGe(r.healthAfter, 1e18, "back above maintenance");

        vm.prank(liquidator);
        vm.expectPartialRevert(IMarginEngineTypes.HealthyAccount.selector);
        engines[B].liquidate{value: fee}(IMarginEngineTypes.LiquidateParams(alice, 0, seizes, liquidator));
    }

    function test_move_fromEngineBToEngineCThroughVaultA() public {
        _deposit(alice, A, address(weth[A]), 2e18, B);
        _deliverToEngine(B);

        // The engine's MOVE carries native value for vault A's LOCK to C.
        uint256 hopFee = vaults[A].quoteDeposit(address(weth[A]), 1e18, 0, C, "").nativeFee;
        bytes memory moveOptions = OptionsBuilder.newOptions().addExecutorLzReceiveOption(GAS, uint128(hopFee));
        uint256 fee = engines[B].quoteMove(A, moveOptions).nativeFee;
        vm.prank(alice);
        engines[B].move{value: fee}(0, A, address(weth[A]), 1e18, C, moveOptions);
        assertEq(engines[B].creditOf(alice, 0, A, address(weth[A])), 1e18);

        _deliverToVault(A);
        assertEq(vaults[A].credit(B, alice, 0, address(weth[A])), 1e18);
        assertEq(vaults[A].credit(C, alice, 0, address(weth[A])), 1e18);
        assertEq(vaults[A].locked(alice, 0, address(weth[A])), 2e18, "the vault still holds it all");
        assertEq(engines[C].creditOf(alice, 0, A, address(weth[A])), 0, "in flight");

        _deliverToEngine(C);
        assertEq(engines[C].creditOf(alice, 0, A, address(weth[A])), 1e18);
        assertEq(_health(alice, C).collateralValue, 1_600e18);
    }

    function test_move_withoutHopFeeWaitsForFlush() public {
        _deposit(alice, A, address(weth[A]), 2e18, B);
        _deliverToEngine(B);
        uint256 fee = engines[B].quoteMove(A, "").nativeFee;
        vm.prank(alice);
        bytes32 moveId = engines[B].move{value: fee}(0, A, address(weth[A]), 1e18, C, "");
        vm.recordLogs();
        _deliverToVault(A);
        bytes32 lockId = _lockPendingId();
        assertTrue(lockId != bytes32(0), "the LOCK waits for its fee");
        assertTrue(moveId != lockId);

        uint256 hopFee = vaults[A].quoteDeposit(address(weth[A]), 1e18, 0, C, "").nativeFee;
        vm.prank(bob);
        vaults[A].flushLock{value: hopFee}(lockId, "");
        _deliverToEngine(C);
        assertEq(engines[C].creditOf(alice, 0, A, address(weth[A])), 1e18);
    }

    // ------------------------------------------------------------------ adversarial, end to end

    function test_unsetPeer_depositToUnwiredEngineReverts() public {
        CollateralVault fresh = new CollateralVault(address(endpoints[A]), owner);
        fresh.setAssetConfig(
            address(weth[A]), ICollateralVault.AssetConfig(true, type(uint128).max, type(uint128).max, 1 days)
        );
        vm.startPrank(alice);
        weth[A].approve(address(fresh), 1e18);
        vm.expectRevert(abi.encodeWithSelector(IOAppCore.NoPeer.selector, B));
        fresh.deposit{value: 1 ether}(address(weth[A]), 1e18, 0, B, options);
        vm.stopPrank();
    }

    function test_engine_rejectsLockFromAnEngineInsteadOfAVault() public {
        // Engine C is not a peer of engine B: its packets cannot even initialise the pathway.
        bytes memory message = MsgCodec.encodeLock(MsgCodec.Lock(bytes32("forged"), alice, 0, address(weth[C]), 1e24));
        vm.prank(address(endpoints[B]));
        vm.expectRevert(abi.encodeWithSelector(IOAppCore.OnlyPeer.selector, C, addressToBytes32(address(engines[C]))));
        IOAppReceiverLike(address(engines[B]))
            .lzReceive(Origin(C, addressToBytes32(address(engines[C])), 1), bytes32(0), message, address(0), "");
        assertEq(engines[B].creditOf(alice, 0, C, address(weth[C])), 0);
    }

    function test_vault_neverPaysBeyondEngineCredit() public {
        _deposit(alice, A, address(weth[A]), 1e18, B);
        _deliverToEngine(B);
        // A RELEASE from engine C (a trusted peer) for collateral only engine B holds must not pay.
        bytes memory release = MsgCodec.encodePayout(
            MsgCodec.RELEASE, MsgCodec.Payout(bytes32("steal"), alice, 0, address(weth[A]), 1e18, bob)
        );
        vm.prank(address(endpoints[A]));
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.InsufficientCredit.selector, C, 0, 1e18));
        IOAppReceiverLike(address(vaults[A]))
            .lzReceive(Origin(C, addressToBytes32(address(engines[C])), 1), bytes32(0), release, address(0), "");
    }

    // ------------------------------------------------------------------ gas figures
    // Printed with -vv; each operation's own gas (its call alone, no test set-up or packet delivery) is also
    // written by forge to snapshots/xmargin.json, committed so that a change in it shows in review.

    function test_gas_keyOperations() public {
        uint256 fee = vaults[A].quoteDeposit(address(weth[A]), 1e18, 0, B, "").nativeFee;
        vm.prank(alice);
        uint256 g = gasleft();
        vaults[A].deposit{value: fee}(address(weth[A]), 2e18, 0, B, "");
        emit log_named_uint("gas: remote deposit (vault A -> LOCK to engine B)", g - gasleft());
        vm.snapshotGasLastCall("xmargin", "remoteDeposit");

        g = gasleft();
        _deliverToEngine(B);
        emit log_named_uint("gas: deliver LOCK (verify + commit + lzReceive, test harness)", g - gasleft());

        fee = engines[B].quoteWithdraw(A, "").nativeFee;
        vm.prank(alice);
        g = gasleft();
        engines[B].withdraw{value: fee}(0, A, address(weth[A]), 0.1e18, alice, "");
        emit log_named_uint("gas: withdrawal request (engine B -> RELEASE to vault A)", g - gasleft());
        vm.snapshotGasLastCall("xmargin", "withdrawalRequest");

        _deposit(bob, B, address(weth[B]), 2e18, B);
        vm.prank(bob);
        g = gasleft();
        markets[B].trade(0, ETH_PERP, 15e18, type(uint256).max);
        emit log_named_uint("gas: open position (15 ETH long on B)", g - gasleft());
        vm.snapshotGasLastCall("xmargin", "openPosition");

        _setEthPrice(B, 1800e8);
        IMarginEngineTypes.SeizeOrder[] memory local = new IMarginEngineTypes.SeizeOrder[](1);
        local[0] = IMarginEngineTypes.SeizeOrder(B, address(weth[B]), 10_000e6, "");
        vm.prank(liquidator);
        g = gasleft();
        engines[B].liquidate(IMarginEngineTypes.LiquidateParams(bob, 0, local, liquidator));
        emit log_named_uint("gas: local liquidation (close + local seize)", g - gasleft());
        vm.snapshotGasLastCall("xmargin", "localLiquidation");

        vm.prank(alice);
        markets[B].trade(0, ETH_PERP, 13e18, type(uint256).max);
        _setEthPrice(B, 1650e8);
        IMarginEngineTypes.SeizeOrder[] memory remote = new IMarginEngineTypes.SeizeOrder[](1);
        remote[0] = IMarginEngineTypes.SeizeOrder(A, address(weth[A]), 10_000e6, "");
        fee = engines[B].quoteSeize(A, "").nativeFee;
        vm.prank(liquidator);
        g = gasleft();
        engines[B].liquidate{value: fee}(IMarginEngineTypes.LiquidateParams(alice, 0, remote, liquidator));
        emit log_named_uint("gas: liquidation with remote seizure (close + SEIZE to A)", g - gasleft());
        vm.snapshotGasLastCall("xmargin", "liquidationWithRemoteSeizure");
    }

    /// @dev 10 sub-accounts made liquidatable by the same price move, liquidated by one `liquidateBatch` (local
    ///      seizures), against a single `liquidate` of the first of them from the same state. The batch's gas,
    ///      per item and in all, goes to snapshots/xmargin.json next to the single operations'.
    function test_gas_liquidateBatchOfTenLocal() public {
        uint256 n = 10;
        IMarginEngineTypes.LiquidateParams[] memory items = new IMarginEngineTypes.LiquidateParams[](n);
        for (uint256 i; i < n; ++i) {
            address who = makeAddr(string.concat("batch-trader-", vm.toString(i)));
            weth[B].mint(who, 2e18);
            vm.prank(who);
            weth[B].approve(address(vaults[B]), type(uint256).max);
            vm.deal(who, 1 ether);
            _deposit(who, B, address(weth[B]), 2e18, B);
            _open(who, B, 15e18);
            IMarginEngineTypes.SeizeOrder[] memory local = new IMarginEngineTypes.SeizeOrder[](1);
            local[0] = IMarginEngineTypes.SeizeOrder(B, address(weth[B]), 10_000e6, "");
            items[i] = IMarginEngineTypes.LiquidateParams(who, 0, local, liquidator);
        }
        _setEthPrice(B, 1800e8);

        uint256 snap = vm.snapshotState();
        vm.prank(liquidator);
        uint256 g = gasleft();
        engines[B].liquidate(items[0]);
        uint256 single = g - gasleft();
        emit log_named_uint("gas: single local liquidation (same set-up)", single);
        uint256 singleCall = vm.snapshotGasLastCall("xmargin", "liquidateBatch: single local liquidation, same set-up");
        vm.revertToState(snap);

        vm.prank(liquidator);
        g = gasleft();
        IMarginEngineTypes.BatchLiquidation[] memory out = engines[B].liquidateBatch(items, new uint256[](n));
        emit log_named_uint("gas: liquidateBatch of 10 local liquidations", g - gasleft());
        uint256 batchCall = vm.snapshotGasLastCall("xmargin", "liquidateBatch: local (10)");
        emit log_named_uint("gas: liquidateBatch per local item (10)", batchCall / n);
        vm.snapshotValue("xmargin", "liquidateBatch: per local item (10)", batchCall / n);
        for (uint256 i; i < n; ++i) {
            assertTrue(out[i].landed);
            assertEq(markets[B].positionsOf(items[i].account, 0).length, 0);
        }
        assertLt(batchCall, singleCall * n, "a batch item costs less than a single liquidation");
    }

    // ------------------------------------------------------------------ log helpers

    function _lastHeldId() internal view returns (bytes32 id) {
        // The only LOCK engine B received in that test is the native one; its id is vault C's first.
        return MsgCodec.messageId(C, address(vaults[C]), 1);
    }

    function _lockPendingId() internal returns (bytes32) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(vaults[A]) && logs[i].topics[0] == ICollateralVault.LockPending.selector) {
                return logs[i].topics[1];
            }
        }
        return bytes32(0);
    }
}

struct Origin {
    uint32 srcEid;
    bytes32 sender;
    uint64 nonce;
}

interface IOAppReceiverLike {
    function lzReceive(Origin calldata, bytes32, bytes calldata, address, bytes calldata) external payable;
}
