// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OptionsBuilder} from "@layerzerolabs/oapp-evm/contracts/oapp/libs/OptionsBuilder.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {Vm} from "forge-std/Vm.sol";
import {BaseTest} from "./BaseTest.sol";
import {IMarginEngine, IMarginEngineTypes} from "../../contracts/interfaces/IMarginEngine.sol";
import {IRebalancer} from "../../contracts/interfaces/IRebalancer.sol";
import {Rebalancer} from "../../contracts/risk/Rebalancer.sol";
import {EtherRejecter} from "./helpers/EtherRejecter.sol";

/// @notice The Rebalancer on engine B: traders' authorisations, every limit, the executor set, and moves
///         that go all the way (engine B -> vault A or B -> engine C) on three LayerZero endpoints.
contract RebalancerTest is BaseTest {
    using OptionsBuilder for bytes;

    Rebalancer internal rebalancer;
    address internal executor = makeAddr("executor");
    address internal stranger = makeAddr("stranger");
    /// @dev Options whose native value pays vault A's LOCK to C, and the fee of the MOVE carrying them.
    bytes internal hopOptions;
    uint256 internal moveFee;

    function setUp() public override {
        super.setUp();
        rebalancer = new Rebalancer(engines[B], owner);
        engines[B].setRebalancer(address(rebalancer));
        rebalancer.setExecutor(executor, true);
        vm.deal(executor, 10 ether);
        _deposit(alice, A, address(weth[A]), 2e18, B);
        _deliverToEngine(B);
        uint256 hopFee = vaults[A].quoteDeposit(address(weth[A]), 1e18, 0, C, "").nativeFee;
        hopOptions = OptionsBuilder.newOptions().addExecutorLzReceiveOption(GAS, uint128(hopFee));
        moveFee = engines[B].quoteMove(A, hopOptions).nativeFee;
    }

    // ------------------------------------------------------------------ authorisations

    function test_authorise_storesLimitsAndEmits() public {
        IRebalancer.Limits memory limits = _limits(C, 5_000e18, 1.5e18, uint64(block.timestamp + 1 days));
        vm.expectEmit(address(rebalancer));
        emit IRebalancer.Authorised(alice, 7, limits);
        vm.prank(alice);
        rebalancer.authorise(7, limits);

        IRebalancer.Limits memory stored = rebalancer.authorisation(alice, 7);
        assertEq(stored.engines.length, 1);
        assertEq(stored.engines[0], C);
        assertEq(stored.maxPerMoveUsd, 5_000e18);
        assertEq(stored.minSourceHealth, 1.5e18);
        assertEq(stored.expiry, block.timestamp + 1 days);
        assertEq(rebalancer.authorisation(alice, 0).expiry, 0, "other sub-accounts untouched");
        assertEq(rebalancer.authorisation(bob, 7).expiry, 0, "other accounts untouched");
    }

    function test_authorise_rejectsInvalidLimits() public {
        uint64 later = uint64(block.timestamp + 1 days);
        IRebalancer.Limits[4] memory bad = [
            IRebalancer.Limits(new uint32[](0), 1e18, 1e18, later),
            _limits(C, 1e18, 0.99e18, later),
            _limits(C, 1e18, 1e18, uint64(block.timestamp)),
            _limits(C, 0, 1e18, later)
        ];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(alice);
            vm.expectRevert(Rebalancer.InvalidLimits.selector);
            rebalancer.authorise(0, bad[i]);
        }
    }

    function test_revoke_endsTheAuthorisation() public {
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        vm.expectEmit(address(rebalancer));
        emit IRebalancer.Revoked(alice, 0);
        vm.prank(alice);
        rebalancer.revoke(0);
        assertEq(rebalancer.authorisation(alice, 0).expiry, 0);

        vm.expectRevert(abi.encodeWithSelector(Rebalancer.NotAuthorised.selector, alice, uint96(0)));
        _rebalance(1e18, C, 0);
    }

    function test_revoke_withoutAuthorisationReverts() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.NotAuthorised.selector, alice, uint96(0)));
        rebalancer.revoke(0);
    }

    function test_rebalance_neverAuthorisedReverts() public {
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.NotAuthorised.selector, alice, uint96(0)));
        _rebalance(1e18, C, 0);
    }

    function test_rebalance_expiredReverts() public {
        uint64 expiry = uint64(block.timestamp + 1 hours);
        _authorise(C, 10_000e18, 1e18, expiry);
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.AuthorisationExpired.selector, alice, uint96(0), expiry));
        _rebalance(1e18, C, 0);
    }

    // ------------------------------------------------------------------ limits

    function test_rebalance_destinationNotAllowedReverts() public {
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.EngineNotAllowed.selector, uint32(4)));
        _rebalance(1e18, 4, 0);
    }

    function test_rebalance_aboveMaxPerMoveUsdReverts() public {
        _authorise(C, 1_999e18, 1e18, uint64(block.timestamp + 1 days));
        // 1 WETH at $2,000 (the oracle price, not the haircut value).
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.MoveTooLarge.selector, 2_000e18, 1_999e18));
        _rebalance(1e18, C, 0);
    }

    function test_rebalance_atMaxPerMoveUsdPasses() public {
        _authorise(C, 2_000e18, 1e18, uint64(block.timestamp + 1 days));
        _rebalance(1e18, C, moveFee);
        assertEq(engines[B].creditOf(alice, 0, A, address(weth[A])), 1e18);
    }

    function test_rebalance_sourceHealthBelowMinimumReverts() public {
        _open(alice, B, 5e18); // notional 10,000: maintenance 500, initial 1,000
        _authorise(C, 10_000e18, 3.5e18, uint64(block.timestamp + 1 days));
        // After moving 1 of 2 WETH: equity 1,600 - 5 fee = 1,595 over maintenance 500 -> health 3.19.
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.SourceHealthTooLow.selector, 3.19e18, 3.5e18));
        _rebalance(1e18, C, moveFee);

        // The same move passes under a minimum equal to what it leaves.
        _authorise(C, 10_000e18, 3.19e18, uint64(block.timestamp + 1 days));
        _rebalance(1e18, C, moveFee);
        assertEq(_health(alice, B).health, 3.19e18);
    }

    function test_rebalance_stillBoundByInitialMargin() public {
        _open(alice, B, 15e18); // initial requirement 3,000 of 3,200 collateral value
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        vm.expectPartialRevert(IMarginEngineTypes.BelowInitialMargin.selector);
        _rebalance(1e18, C, moveFee);
    }

    function test_rebalance_unknownCollateralReverts() public {
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        vm.prank(executor);
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.UnknownCollateral.selector, A, stranger));
        rebalancer.rebalance(alice, 0, A, stranger, 1e18, C, "");
    }

    // ------------------------------------------------------------------ executors and roles

    function test_rebalance_nonExecutorReverts() public {
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.NotExecutor.selector, alice));
        rebalancer.rebalance(alice, 0, A, address(weth[A]), 1e18, C, "");
    }

    function test_setExecutor_disallowingStopsAnExecutor() public {
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        vm.expectEmit(address(rebalancer));
        emit IRebalancer.ExecutorSet(executor, false);
        rebalancer.setExecutor(executor, false);
        assertFalse(rebalancer.isExecutor(executor));
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.NotExecutor.selector, executor));
        _rebalance(1e18, C, 0);
    }

    function test_setExecutor_onlyOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        rebalancer.setExecutor(stranger, true);
        vm.expectRevert(Rebalancer.ZeroAddress.selector);
        rebalancer.setExecutor(address(0), true);
    }

    function test_engine_moveForOnlyFromTheRebalancer() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotRebalancer.selector, alice));
        engines[B].moveFor(alice, 0, A, address(weth[A]), 1e18, C, "");
        vm.prank(executor);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotRebalancer.selector, executor));
        engines[B].moveFor(alice, 0, A, address(weth[A]), 1e18, C, "");
    }

    function test_engine_setRebalancerOnlyOwnerAndEmits() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        engines[B].setRebalancer(stranger);

        vm.expectEmit(address(engines[B]));
        emit IMarginEngineTypes.RebalancerSet(address(0));
        engines[B].setRebalancer(address(0));
        assertEq(engines[B].rebalancer(), address(0));

        // A disconnected rebalancer can no longer move anything.
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotRebalancer.selector, address(rebalancer)));
        _rebalance(1e18, C, moveFee);
    }

    /// @dev The endpoint's refund of the fee excess is passed on to the executor; an executor that cannot
    ///      take it undoes the whole move rather than leave the refund stuck here.
    function test_rebalance_revertsWhenTheExecutorRejectsTheRefund() public {
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        address rejecter = address(new EtherRejecter());
        rebalancer.setExecutor(rejecter, true);
        vm.deal(rejecter, 1 ether);
        vm.prank(rejecter);
        vm.expectRevert(abi.encodeWithSelector(Rebalancer.RefundFailed.selector, rejecter, 0.5 ether));
        rebalancer.rebalance{value: moveFee + 0.5 ether}(alice, 0, A, address(weth[A]), 1e18, C, hopOptions);
        assertEq(engines[B].creditOf(alice, 0, A, address(weth[A])), 2e18, "nothing moved");
    }

    // ------------------------------------------------------------------ end to end

    function test_rebalance_movesCreditFromEngineBToEngineCThroughVaultA() public {
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        uint256 executorBefore = executor.balance;

        vm.recordLogs();
        bytes32 id = _rebalance(1e18, C, moveFee + 0.5 ether);
        assertEq(id, _lastDebitedId(), "the id is the engine's MOVE id");
        assertEq(executor.balance, executorBefore - moveFee, "the fee excess is refunded to the executor");
        assertEq(address(rebalancer).balance, 0);
        assertEq(engines[B].creditOf(alice, 0, A, address(weth[A])), 1e18, "debited on the source engine");

        _deliverToVault(A);
        assertEq(vaults[A].credit(B, alice, 0, address(weth[A])), 1e18);
        assertEq(vaults[A].credit(C, alice, 0, address(weth[A])), 1e18, "the vault re-routes it to C");
        assertEq(vaults[A].locked(alice, 0, address(weth[A])), 2e18, "nothing leaves the vault");

        _deliverToEngine(C);
        assertEq(engines[C].creditOf(alice, 0, A, address(weth[A])), 1e18, "LOCK credited on C");
        assertEq(_health(alice, C).collateralValue, 1_600e18);
    }

    function test_rebalance_emitsRebalanced() public {
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        vm.expectEmit(false, true, true, true, address(rebalancer));
        emit IRebalancer.Rebalanced(bytes32(0), alice, 0, A, address(weth[A]), 1e18, C, executor);
        _rebalance(1e18, C, moveFee);
    }

    function test_rebalance_localCollateralThroughTheLocalVault() public {
        _deposit(alice, B, address(weth[B]), 1e18, B);
        _authorise(C, 10_000e18, 1e18, uint64(block.timestamp + 1 days));
        uint256 hopFee = vaults[B].quoteDeposit(address(weth[B]), 1e18, 0, C, "").nativeFee;
        vm.prank(executor);
        rebalancer.rebalance{value: hopFee}(alice, 0, B, address(weth[B]), 1e18, C, "");
        assertEq(engines[B].creditOf(alice, 0, B, address(weth[B])), 0);
        assertEq(vaults[B].credit(C, alice, 0, address(weth[B])), 1e18, "the local vault sent the LOCK at once");

        _deliverToEngine(C);
        assertEq(engines[C].creditOf(alice, 0, B, address(weth[B])), 1e18);
    }

    // ------------------------------------------------------------------ helpers

    function _limits(uint32 dst, uint256 maxUsd, uint256 minHealth, uint64 expiry)
        internal
        pure
        returns (IRebalancer.Limits memory l)
    {
        l.engines = new uint32[](1);
        l.engines[0] = dst;
        l.maxPerMoveUsd = maxUsd;
        l.minSourceHealth = minHealth;
        l.expiry = expiry;
    }

    function _authorise(uint32 dst, uint256 maxUsd, uint256 minHealth, uint64 expiry) internal {
        vm.prank(alice);
        rebalancer.authorise(0, _limits(dst, maxUsd, minHealth, expiry));
    }

    function _rebalance(uint256 amount, uint32 dst, uint256 value) internal returns (bytes32) {
        vm.prank(executor);
        return rebalancer.rebalance{value: value}(alice, 0, A, address(weth[A]), amount, dst, hopOptions);
    }

    function _lastDebitedId() internal returns (bytes32 id) {
        bytes32 sig = IMarginEngineTypes.Debited.selector;
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(engines[B]) && logs[i].topics[0] == sig) id = logs[i].topics[1];
        }
        assertTrue(id != bytes32(0), "a Debited event");
    }
}
