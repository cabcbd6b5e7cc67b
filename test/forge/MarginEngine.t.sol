// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {TestHelperOz5} from "@layerzerolabs/test-devtools-evm-foundry/contracts/TestHelperOz5.sol";
import {OptionsBuilder} from "@layerzerolabs/oapp-evm/contracts/oapp/libs/OptionsBuilder.sol";
import {Origin} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {XmarginOApp} from "../../contracts/common/XmarginOApp.sol";
import {IMarginEngine, HoldReason, IMarginEngineTypes} from "../../contracts/interfaces/IMarginEngine.sol";
import {IPriceAdapter} from "../../contracts/interfaces/IPriceAdapter.sol";
import {IVenue} from "../../contracts/interfaces/IVenue.sol";
import {MsgCodec} from "../../contracts/libraries/MsgCodec.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {ReentrantERC20} from "../../contracts/mocks/ReentrantERC20.sol";
import {TransientReentrancyGuard} from "../../contracts/common/TransientReentrancyGuard.sol";
import {PriceStub, VenueStub, RemoteVaultStub, LocalVaultStub} from "./helpers/EngineStubs.sol";
import {EtherRejecter} from "./helpers/EtherRejecter.sol";

/// @notice Unit tests of MarginEngine against stub vaults and a stub venue, on TestHelperOz5 endpoints.
contract MarginEngineTest is TestHelperOz5 {
    /// @dev EndpointV2 prices every send itself and reverts with this when msg.value falls short.
    bytes4 internal constant LZ_INSUFFICIENT_FEE =
        bytes4(keccak256("LZ_InsufficientFee(uint256,uint256,uint256,uint256)"));

    using OptionsBuilder for bytes;

    uint32 internal constant A = 1; // the engine's chain
    uint32 internal constant B = 2; // a remote vault's chain
    uint16 internal constant WETH = 1;
    uint16 internal constant USDC = 2;
    uint32 internal constant ETH_PERP = 1;

    IMarginEngine internal engine;
    RemoteVaultStub internal remoteVault;
    LocalVaultStub internal localVault;
    VenueStub internal venue;
    PriceStub internal ethPrice;
    PriceStub internal usdPrice;
    MockERC20 internal usdc;
    address internal wethA = makeAddr("wethA");
    address internal wethB = makeAddr("wethB");
    address internal usdcB = makeAddr("usdcB");

    address internal trader = makeAddr("trader");
    address internal liquidator = makeAddr("liquidator");
    address internal guardian = makeAddr("guardian");
    bytes internal options;
    uint64 internal lockNonce;

    function setUp() public override {
        setExecutorValueCap(1 ether);
        super.setUp();
        setUpEndpoints(2, LibraryType.UltraLightNode);
        options = OptionsBuilder.newOptions().addExecutorLzReceiveOption(300_000, 0);

        engine = _deployEngine(address(endpoints[A]));
        remoteVault = new RemoteVaultStub(address(endpoints[B]), address(this));
        address[] memory oapps = new address[](2);
        oapps[0] = address(engine);
        oapps[1] = address(remoteVault);
        wireOApps(oapps);

        usdc = new MockERC20("USD Coin", "USDC", 6);
        venue = new VenueStub(address(usdc));
        venue.setEngine(engine);
        localVault = new LocalVaultStub();
        localVault.setEngine(engine);
        ethPrice = new PriceStub(2000e18);
        usdPrice = new PriceStub(1e18);

        XmarginOApp(address(engine)).setGuardian(guardian);
        engine.setLocalVault(address(localVault));
        engine.setVenue(venue);
        engine.setRiskAsset(WETH, IMarginEngineTypes.RiskAsset(IPriceAdapter(address(ethPrice)), 0.8e18, true, 0));
        engine.setRiskAsset(USDC, IMarginEngineTypes.RiskAsset(IPriceAdapter(address(usdPrice)), 1e18, true, 0));
        engine.setCollateralSource(A, wethA, _source(WETH, 18));
        engine.setCollateralSource(B, wethB, _source(WETH, 18));
        engine.setCollateralSource(B, usdcB, _source(USDC, 6));
        engine.setMarketRisk(ETH_PERP, IMarginEngineTypes.MarketRisk(0.1e18, 0.05e18, type(uint128).max, true));
        engine.setLiquidationConfig(IMarginEngineTypes.LiquidationConfig(0.05e18, 1.25e18, 0.5e18, 10e18));

        vm.deal(trader, 10 ether);
        vm.deal(liquidator, 10 ether);
        usdc.mint(liquidator, 1_000_000e6);
        vm.prank(liquidator);
        usdc.approve(address(engine), type(uint256).max);
    }

    // ------------------------------------------------------------------ helpers

    /// @dev The engine is compiled through the IR pipeline (code size); deploying it from its artifact keeps
    ///      this test on the fast legacy pipeline.
    function _deployEngine(address endpoint) internal returns (IMarginEngine) {
        return IMarginEngine(deployCode("MarginEngine.sol:MarginEngine", abi.encode(endpoint, address(this))));
    }

    function _source(uint16 assetId, uint8 decimals) internal pure returns (IMarginEngineTypes.CollateralSource memory) {
        return IMarginEngineTypes.CollateralSource(assetId, decimals, true, 0, 0, 1e30, type(uint128).max, 1 days);
    }

    function _lock(address account, uint96 sub, address token, uint256 amount)
        internal
        returns (MsgCodec.Lock memory lock)
    {
        lock = MsgCodec.Lock(keccak256(abi.encode("lock", ++lockNonce)), account, sub, token, amount);
    }

    /// @dev Sends a LOCK from the remote vault stub on B and delivers it to the engine on A.
    function _bridgeLock(MsgCodec.Lock memory lock) internal {
        uint256 fee = remoteVault.quoteLock(A, lock, options);
        remoteVault.sendLock{value: fee}(A, lock, options);
        verifyPackets(A, addressToBytes32(address(engine)));
    }

    /// @dev Whether the engine emitted an event `topic0` whose first indexed topic is `id` (needs vm.recordLogs).
    function _emitted(bytes32 topic0, bytes32 id) internal returns (bool) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(engine) && logs[i].topics[0] == topic0 && logs[i].topics[1] == id) {
                return true;
            }
        }
        return false;
    }

    /// @dev The reason of the CreditHeld event for `id` (needs vm.recordLogs), or 0.
    function _heldReason(bytes32 id) internal returns (uint8) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(engine) && logs[i].topics[0] == IMarginEngineTypes.CreditHeld.selector
                    && logs[i].topics[1] == id
            ) return abi.decode(logs[i].data, (uint8));
        }
        return 0;
    }

    function _deliverToRemote() internal {
        verifyPackets(B, addressToBytes32(address(remoteVault)));
    }

    /// @dev 1 WETH credited from B (worth 2000 × 0.8 = 1600 USD of collateral value).
    function _fundTrader() internal {
        _bridgeLock(_lock(trader, 0, wethB, 1e18));
    }

    function _healthOf(address account) internal view returns (IMarginEngineTypes.HealthView memory) {
        return engine.health(account, 0);
    }

    // ------------------------------------------------------------------ crediting

    function test_lzReceive_creditsLockFromTrustedVault() public {
        MsgCodec.Lock memory lock = _lock(trader, 3, wethB, 5e18);
        vm.recordLogs();
        _bridgeLock(lock);
        assertTrue(_emitted(IMarginEngineTypes.Credited.selector, lock.id), "Credited emitted");
        assertEq(engine.creditOf(trader, 3, B, wethB), 5e18);
        assertEq(engine.totalCredit(bytes32((uint256(B) << 160) | uint160(wethB))), 5e18);
        assertTrue(engine.processed(lock.id));
        assertEq(engine.creditOf(trader, 0, B, wethB), 0, "sub-accounts are isolated");
    }

    function test_lzReceive_replayedIdChangesNothing() public {
        MsgCodec.Lock memory lock = _lock(trader, 0, wethB, 1e18);
        _bridgeLock(lock);
        _bridgeLock(lock); // same id, new LayerZero nonce
        assertEq(engine.creditOf(trader, 0, B, wethB), 1e18);
    }

    /// Sequential ids (one vault's nonces) share a word of the replay bitmap: each is applied once, a
    /// neighbour's record never hides another id, and the next word starts clean.
    function test_lzReceive_sequentialIdsShareTheReplayBitmapWithoutCollisions() public {
        uint64[4] memory nonces = [uint64(255), 256, 257, 511];
        for (uint256 i; i < nonces.length; ++i) {
            bytes32 id = MsgCodec.messageId(B, address(remoteVault), nonces[i]);
            assertFalse(engine.processed(id));
            _bridgeLock(MsgCodec.Lock(id, trader, 0, wethB, 1e18));
            _bridgeLock(MsgCodec.Lock(id, trader, 0, wethB, 1e18)); // replayed: ignored
            assertTrue(engine.processed(id));
        }
        assertEq(engine.creditOf(trader, 0, B, wethB), 4e18, "each id credited exactly once");
        assertFalse(engine.processed(MsgCodec.messageId(B, address(remoteVault), 258)));
        assertFalse(engine.processed(MsgCodec.messageId(B, address(remoteVault), 254)));
        assertFalse(engine.processed(MsgCodec.messageId(A, address(remoteVault), 256)), "another chain's id");
    }

    function test_lzReceive_revertsForNonEndpointCaller() public {
        Origin memory origin = Origin(B, addressToBytes32(address(remoteVault)), 1);
        vm.expectRevert();
        XmarginOApp(address(engine))
            .lzReceive(origin, bytes32(0), MsgCodec.encodeLock(_lock(trader, 0, wethB, 1)), address(0), "");
    }

    function test_lzReceive_revertsForUntrustedPeer() public {
        Origin memory origin = Origin(B, addressToBytes32(makeAddr("impostor")), 1);
        bytes memory message = MsgCodec.encodeLock(_lock(trader, 0, wethB, 1e18));
        vm.prank(address(endpoints[A]));
        vm.expectRevert(abi.encodeWithSignature("OnlyPeer(uint32,bytes32)", B, origin.sender));
        XmarginOApp(address(engine)).lzReceive(origin, bytes32(0), message, address(0), "");
        assertEq(engine.creditOf(trader, 0, B, wethB), 0);
    }

    function test_lzReceive_revertsOnWrongTypeOrVersion() public {
        Origin memory origin = Origin(B, addressToBytes32(address(remoteVault)), 1);
        bytes memory release =
            MsgCodec.encodePayout(MsgCodec.RELEASE, MsgCodec.Payout(bytes32(uint256(1)), trader, 0, wethB, 1, trader));
        vm.prank(address(endpoints[A]));
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.UnknownMessageType.selector, MsgCodec.RELEASE));
        XmarginOApp(address(engine)).lzReceive(origin, bytes32(0), release, address(0), "");

        bytes memory v2 = abi.encodePacked(uint8(2), MsgCodec.LOCK, abi.encode(_lock(trader, 0, wethB, 1)));
        vm.prank(address(endpoints[A]));
        vm.expectRevert(abi.encodeWithSelector(MsgCodec.UnsupportedVersion.selector, 2));
        XmarginOApp(address(engine)).lzReceive(origin, bytes32(0), v2, address(0), "");

        vm.prank(address(endpoints[A]));
        vm.expectRevert(abi.encodeWithSelector(MsgCodec.MessageTooShort.selector, 1));
        XmarginOApp(address(engine)).lzReceive(origin, bytes32(0), hex"01", address(0), "");
    }

    function test_lzReceive_holdsWhenSourcePausedThenClaims() public {
        vm.prank(guardian);
        engine.setSourcePaused(B, true);
        MsgCodec.Lock memory lock = _lock(trader, 0, wethB, 1e18);
        vm.recordLogs();
        _bridgeLock(lock);
        assertEq(_heldReason(lock.id), HoldReason.SOURCE_PAUSED);
        assertEq(engine.creditOf(trader, 0, B, wethB), 0);

        vm.expectRevert(
            abi.encodeWithSelector(IMarginEngineTypes.CreditStillHeld.selector, lock.id, HoldReason.SOURCE_PAUSED)
        );
        engine.claimHeldCredit(lock.id);

        vm.prank(guardian);
        engine.setSourcePaused(B, false);
        engine.claimHeldCredit(lock.id);
        assertEq(engine.creditOf(trader, 0, B, wethB), 1e18);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NoHeldCredit.selector, lock.id));
        engine.claimHeldCredit(lock.id);
    }

    function test_lzReceive_bridgeLimitHoldsUntilWindowRefills() public {
        engine.setCollateralSource(B, wethB, IMarginEngineTypes.CollateralSource(WETH, 18, true, 0, 0, 1e30, 10e18, 1 days));
        _bridgeLock(_lock(trader, 0, wethB, 8e18));
        MsgCodec.Lock memory big = _lock(trader, 0, wethB, 5e18);
        _bridgeLock(big);
        assertEq(engine.creditOf(trader, 0, B, wethB), 8e18);
        (uint32 srcEid, MsgCodec.Lock memory held) = engine.heldCredit(big.id);
        assertEq(srcEid, B);
        assertEq(held.amount, 5e18);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.CreditStillHeld.selector, big.id, HoldReason.BRIDGE_LIMIT));
        engine.claimHeldCredit(big.id);
        vm.warp(block.timestamp + 12 hours);
        engine.claimHeldCredit(big.id);
        assertEq(engine.creditOf(trader, 0, B, wethB), 13e18);
    }

    function test_lzReceive_creditCapHolds() public {
        engine.setCollateralSource(B, wethB, IMarginEngineTypes.CollateralSource(WETH, 18, true, 0, 0, 1e18, type(uint128).max, 1));
        MsgCodec.Lock memory lock = _lock(trader, 0, wethB, 2e18);
        vm.recordLogs();
        _bridgeLock(lock);
        assertEq(_heldReason(lock.id), HoldReason.CREDIT_CAP);
    }

    function test_lzReceive_tooManyCollateralsHolds() public {
        for (uint160 i = 1; i <= 8; ++i) {
            address token = address(0x1000 + i);
            engine.setCollateralSource(B, token, _source(USDC, 6));
            _bridgeLock(_lock(trader, 0, token, 1e6));
        }
        address ninth = address(0x2000);
        engine.setCollateralSource(B, ninth, _source(USDC, 6));
        MsgCodec.Lock memory lock = _lock(trader, 0, ninth, 1e6);
        vm.recordLogs();
        _bridgeLock(lock);
        assertEq(_heldReason(lock.id), HoldReason.TOO_MANY_COLLATERALS);
    }

    function test_returnHeldCredit_sendsReleaseToOwner() public {
        address unknown = makeAddr("unknownToken");
        MsgCodec.Lock memory lock = _lock(trader, 0, unknown, 7e18);
        _bridgeLock(lock);
        uint256 fee = engine.quoteWithdraw(B, options).nativeFee;

        vm.prank(liquidator);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotHeldCreditOwner.selector, lock.id, liquidator));
        engine.returnHeldCredit{value: fee}(lock.id, options);

        vm.prank(trader);
        engine.returnHeldCredit{value: fee}(lock.id, options);
        _deliverToRemote();
        assertEq(remoteVault.payoutCount(), 1);
        (, address account,, address token, uint256 amount, address recipient) = remoteVault.payouts(0);
        assertEq(account, trader);
        assertEq(token, unknown);
        assertEq(amount, 7e18);
        assertEq(recipient, trader);
        assertEq(remoteVault.payoutKinds(0), MsgCodec.RELEASE);
    }

    function test_creditFromLocalVault_onlyVaultOnceAndKnownSource() public {
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotLocalVault.selector, address(this)));
        engine.creditFromLocalVault(_lock(trader, 0, wethA, 1e18));

        bytes32 id = localVault.depositFor(trader, 0, wethA, 2e18);
        assertEq(engine.creditOf(trader, 0, A, wethA), 2e18);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.MessageAlreadyProcessed.selector, id));
        localVault.replay(MsgCodec.Lock(id, trader, 0, wethA, 2e18));

        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.CannotCreditLocally.selector, HoldReason.UNKNOWN_SOURCE));
        localVault.depositFor(trader, 0, makeAddr("nope"), 1);
    }

    // ------------------------------------------------------------------ health

    function test_health_collateralOnlyIsUnbounded() public {
        _fundTrader();
        IMarginEngineTypes.HealthView memory h = _healthOf(trader);
        assertEq(h.collateralValue, 1600e18);
        assertEq(h.equity, 1600e18);
        assertEq(h.maintenanceRequirement, 0);
        assertEq(h.health, type(uint256).max);
    }

    function test_health_withPositionMatchesFormula() public {
        _fundTrader();
        _bridgeLock(_lock(trader, 0, usdcB, 500e6));
        // 5 ETH long marked at 2000: notional 10,000, MM 500, IM 1000, PnL -300, settled -100.
        venue.setPosition(trader, 0, ETH_PERP, 5e18, 2000e18, -300e18);
        venue.setSettled(trader, 0, -100e18);
        IMarginEngineTypes.HealthView memory h = _healthOf(trader);
        assertEq(h.collateralValue, 2100e18);
        assertEq(h.equity, 1700e18);
        assertEq(h.notional, 10_000e18);
        assertEq(h.maintenanceRequirement, 500e18);
        assertEq(h.initialRequirement, 1000e18);
        assertEq(h.health, 3.4e18);
    }

    function test_health_revertsOnBadOracle() public {
        _fundTrader();
        ethPrice.breakFeed(true);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.StalePrice.selector, address(ethPrice), 0, 1));
        engine.health(trader, 0);
    }

    // ------------------------------------------------------------------ withdraw

    function test_withdraw_remoteSendsReleaseAfterDebit() public {
        _fundTrader();
        uint256 fee = engine.quoteWithdraw(B, options).nativeFee;
        assertGt(fee, 0);
        vm.prank(trader);
        bytes32 id = engine.withdraw{value: fee}(0, B, wethB, 0.4e18, trader, options);
        assertEq(engine.creditOf(trader, 0, B, wethB), 0.6e18, "debited before the message lands");
        _deliverToRemote();
        (bytes32 gotId,,, address token, uint256 amount, address recipient) = remoteVault.payouts(0);
        assertEq(gotId, id);
        assertEq(token, wethB);
        assertEq(amount, 0.4e18);
        assertEq(recipient, trader);
    }

    function test_withdraw_localPaysThroughLocalVault() public {
        localVault.depositFor(trader, 0, wethA, 1e18);
        vm.prank(trader);
        engine.withdraw(0, A, wethA, 1e18, trader, options);
        assertEq(localVault.payoutCount(), 1);
        assertEq(localVault.payoutKinds(0), MsgCodec.RELEASE);
        assertEq(engine.creditOf(trader, 0, A, wethA), 0);
        (uint32[] memory eids,,) = engine.collateralsOf(trader, 0);
        assertEq(eids.length, 0, "emptied collateral is dropped from the list");
    }

    function test_withdraw_revertsBelowInitialMargin() public {
        _fundTrader();
        venue.setPosition(trader, 0, ETH_PERP, 5e18, 2000e18, 0); // IM 1000 of 1600 collateral value
        vm.prank(trader);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.BelowInitialMargin.selector, int256(800e18), 1000e18));
        engine.withdraw(0, B, wethB, 0.5e18, trader, options);
    }

    function test_withdraw_revertsOnBadInput() public {
        _fundTrader();
        vm.startPrank(trader);
        vm.expectRevert(IMarginEngineTypes.ZeroAmount.selector);
        engine.withdraw(0, B, wethB, 0, trader, options);
        vm.expectRevert(IMarginEngineTypes.ZeroAddress.selector);
        engine.withdraw(0, B, wethB, 1, address(0), options);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.InsufficientCredit.selector, 1e18, 2e18));
        engine.withdraw(0, B, wethB, 2e18, trader, options);
        vm.expectPartialRevert(LZ_INSUFFICIENT_FEE);
        engine.withdraw(0, B, wethB, 1e18, trader, options);
        vm.stopPrank();

        localVault.depositFor(trader, 0, wethA, 1e18);
        vm.prank(trader);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.UnexpectedNativeValue.selector, 1));
        engine.withdraw{value: 1}(0, A, wethA, 1e18, trader, options);
    }

    function test_withdraw_revertsOnStaleOracleWithPositions() public {
        _fundTrader();
        venue.setPosition(trader, 0, ETH_PERP, 1e18, 2000e18, 0);
        ethPrice.breakFeed(true);
        vm.prank(trader);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.StalePrice.selector, address(ethPrice), 0, 1));
        engine.withdraw(0, B, wethB, 0.1e18, trader, "");
    }

    // ------------------------------------------------------------------ move

    function test_move_remoteSendsMoveWithHopValue() public {
        _fundTrader();
        bytes memory withValue = OptionsBuilder.newOptions().addExecutorLzReceiveOption(300_000, 0.01 ether);
        uint256 fee = engine.quoteMove(B, withValue).nativeFee;
        vm.prank(trader);
        bytes32 id = engine.move{value: fee}(0, B, wethB, 0.25e18, 3, withValue);
        _deliverToRemote();
        assertEq(remoteVault.moveCount(), 1);
        (bytes32 gotId,,,, uint256 amount, uint32 dst) = remoteVault.moves(0);
        assertEq(gotId, id);
        assertEq(amount, 0.25e18);
        assertEq(dst, 3);
        assertEq(remoteVault.lastValue(), 0.01 ether, "the vault gets the value for its LOCK hop");
        assertEq(engine.creditOf(trader, 0, B, wethB), 0.75e18);
    }

    function test_move_localGoesThroughLocalVault() public {
        localVault.depositFor(trader, 0, wethA, 1e18);
        vm.prank(trader);
        engine.move(0, A, wethA, 1e18, B, options);
        assertEq(localVault.moveCount(), 1);
    }

    function test_move_revertsToSameEngineOrBelowMargin() public {
        _fundTrader();
        vm.prank(trader);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.SameEngine.selector, A));
        engine.move(0, B, wethB, 1, A, options);

        venue.setPosition(trader, 0, ETH_PERP, 5e18, 2000e18, 0);
        vm.prank(trader);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.BelowInitialMargin.selector, int256(800e18), 1000e18));
        engine.move(0, B, wethB, 0.5e18, 3, options);
    }

    function test_move_revertsOnZeroOrBeyondCredit() public {
        _fundTrader();
        vm.startPrank(trader);
        vm.expectRevert(IMarginEngineTypes.ZeroAmount.selector);
        engine.move(0, B, wethB, 0, 3, options);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.InsufficientCredit.selector, 1e18, 1e18 + 1));
        engine.move(0, B, wethB, 1e18 + 1, 3, options);
        vm.stopPrank();
        assertEq(engine.creditOf(trader, 0, B, wethB), 1e18);
    }

    // ------------------------------------------------------------------ liquidation

    function _params(uint32 srcEid, address token, uint256 maxRepay)
        internal
        view
        returns (IMarginEngineTypes.LiquidateParams memory)
    {
        IMarginEngineTypes.SeizeOrder[] memory seizes = new IMarginEngineTypes.SeizeOrder[](maxRepay == 0 ? 0 : 1);
        if (maxRepay > 0) seizes[0] = IMarginEngineTypes.SeizeOrder(srcEid, token, maxRepay, options);
        return IMarginEngineTypes.LiquidateParams(trader, 0, seizes, liquidator);
    }

    function test_liquidate_revertsOnHealthyAccount() public {
        _fundTrader();
        venue.setPosition(trader, 0, ETH_PERP, 5e18, 2000e18, 0); // health 1600/500 = 3.2
        vm.prank(liquidator);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.HealthyAccount.selector, 3.2e18));
        engine.liquidate(_params(B, wethB, 0));
    }

    function test_liquidate_partialCloseRestoresTargetHealth() public {
        localVault.depositFor(trader, 0, wethA, 1e18); // 1600 of collateral value
        // 10 ETH long: notional 20,000, MM 1,000; PnL -1,200 -> equity 400, health 0.4 < 0.5 => full
        // Use PnL -800 -> equity 800, health 0.8: partial.
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -800e18);
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r = engine.liquidate(_params(A, wethA, 0));
        assertEq(r.healthBefore, 0.8e18);
        // keep = 800 / (1000 * 1.25) = 0.64 -> close 0.36
        assertEq(r.closeFraction, 0.36e18);
        assertEq(r.closedNotional, 7200e18);
        assertGe(r.healthAfter, 1.25e18 - 1e9);
        assertLt(r.healthAfter, 1.26e18, "closes only as much as needed");
    }

    function test_liquidate_fullCloseBelowThreshold() public {
        localVault.depositFor(trader, 0, wethA, 1e18);
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1200e18); // health 0.4
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r = engine.liquidate(_params(A, wethA, 0));
        assertEq(r.closeFraction, 1e18);
        assertEq(venue.positionsOf(trader, 0).length, 0);
    }

    function test_liquidate_dustRemainderClosesFully() public {
        engine.setLiquidationConfig(IMarginEngineTypes.LiquidationConfig(0.05e18, 1.25e18, 0.5e18, 20_000e18));
        localVault.depositFor(trader, 0, wethA, 1e18);
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -800e18);
        vm.prank(liquidator);
        assertEq(engine.liquidate(_params(A, wethA, 0)).closeFraction, 1e18);
    }

    function test_liquidate_localSeizurePaysLiquidatorWithBonus() public {
        localVault.depositFor(trader, 0, wethA, 1e18);
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1200e18);
        uint256 before = usdc.balanceOf(liquidator);
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r = engine.liquidate(_params(A, wethA, 400e6));
        // full close realises -1200 of debt; the liquidator pays 400 USDC and gets 420 USD of WETH = 0.21 WETH
        assertEq(r.repaid, 400e6);
        assertEq(r.seized[0], 0.21e18);
        assertEq(before - usdc.balanceOf(liquidator), 400e6);
        assertEq(venue.settledBalance(trader, 0), -800e18);
        assertEq(localVault.payoutKinds(0), MsgCodec.SEIZE);
        (,,,, uint256 amount, address recipient) = localVault.payouts(0);
        assertEq(amount, 0.21e18);
        assertEq(recipient, liquidator);
        assertEq(engine.creditOf(trader, 0, A, wethA), 0.79e18);
    }

    function test_liquidate_remoteSeizureSendsSeize() public {
        _fundTrader();
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1300e18);
        uint256 fee = engine.quoteSeize(B, options).nativeFee;
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r = engine.liquidate{value: fee}(_params(B, wethB, 1000e6));
        _deliverToRemote();
        assertEq(remoteVault.payoutKinds(0), MsgCodec.SEIZE);
        (bytes32 id,,,, uint256 amount, address recipient) = remoteVault.payouts(0);
        assertEq(id, r.seizeIds[0]);
        assertEq(amount, r.seized[0]);
        assertEq(recipient, liquidator);
        assertEq(r.seized[0], 0.525e18);
    }

    function test_liquidate_seizureCappedAtAvailableCollateral() public {
        localVault.depositFor(trader, 0, wethA, 0.1e18); // 200 USD of WETH
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1000e18);
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r = engine.liquidate(_params(A, wethA, 1000e6));
        assertEq(r.seized[0], 0.1e18);
        // 200 / 1.05 = 190.476190..., rounded up for the liquidator's payment
        assertEq(r.repaid, 190_476_191);
    }

    function test_liquidate_badDebtCoveredByInsuranceThenPool() public {
        localVault.depositFor(trader, 0, wethA, 0.1e18);
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1000e18);
        vm.prank(liquidator);
        engine.fundInsurance(300e6);
        vm.prank(liquidator);
        vm.expectEmit(address(engine));
        emit IMarginEngineTypes.BadDebtSettled(trader, 0, 300e6, 1000e6 - 190_476_191 - 300e6);
        engine.liquidate(_params(A, wethA, 1000e6));
        assertEq(engine.insuranceFund(), 0);
        assertEq(venue.settledBalance(trader, 0), 0);
        assertEq(venue.writtenOffTotal(), 1000e6 - 190_476_191 - 300e6);
    }

    function test_liquidate_revertsOnBadInput() public {
        localVault.depositFor(trader, 0, wethA, 1e18);
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1200e18);
        vm.startPrank(liquidator);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.UnknownCollateral.selector, B, wethB));
        engine.liquidate(_params(B, wethB, 100e6));
        uint256 balance = liquidator.balance;
        engine.liquidate{value: 1 ether}(_params(A, wethA, 100e6));
        assertEq(liquidator.balance, balance, "unused fee budget is refunded");
        vm.stopPrank();
    }

    function test_liquidate_revertsOnZeroRecipient() public {
        localVault.depositFor(trader, 0, wethA, 1e18);
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1200e18);
        IMarginEngineTypes.LiquidateParams memory p = _params(A, wethA, 100e6);
        p.recipient = address(0);
        vm.prank(liquidator);
        vm.expectRevert(IMarginEngineTypes.ZeroAddress.selector);
        engine.liquidate(p);
    }

    /// @dev One micro-USDC buys less than the smallest unit of a 2-decimal collateral worth 2,000 a token, and
    ///      an order with no repayment buys nothing: neither may pay quote for nothing or take collateral free.
    function test_liquidate_revertsWhenSeizedOrRepaidRoundsToZero() public {
        address coarse = makeAddr("coarse");
        engine.setCollateralSource(A, coarse, _source(WETH, 2));
        localVault.depositFor(trader, 0, coarse, 100); // 1 whole token: 2,000 USD, 1,600 of collateral value
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1200e18); // health 0.4
        vm.startPrank(liquidator);
        vm.expectRevert(IMarginEngineTypes.ZeroAmount.selector);
        engine.liquidate(_params(A, coarse, 1));

        IMarginEngineTypes.LiquidateParams memory p = _params(A, coarse, 1);
        p.seizes[0].maxRepay = 0;
        vm.expectRevert(IMarginEngineTypes.ZeroAmount.selector);
        engine.liquidate(p);
        vm.stopPrank();
        assertEq(engine.creditOf(trader, 0, A, coarse), 100);
    }

    function test_liquidate_revertsWhenTheRemoteSeizeFeeIsShort() public {
        _fundTrader();
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1300e18);
        uint256 fee = engine.quoteSeize(B, options).nativeFee;
        vm.prank(liquidator);
        vm.expectRevert(abi.encodeWithSelector(LZ_INSUFFICIENT_FEE, fee, fee - 1, 0, 0));
        engine.liquidate{value: fee - 1}(_params(B, wethB, 1000e6));
        assertEq(engine.creditOf(trader, 0, B, wethB), 1e18, "nothing seized");
    }

    /// @dev The unused fee budget goes back to the liquidator; one that cannot take it undoes its liquidation.
    function test_liquidate_revertsWhenTheRefundIsRejected() public {
        localVault.depositFor(trader, 0, wethA, 1e18);
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1200e18);
        address rejecter = address(new EtherRejecter());
        vm.deal(rejecter, 1 ether);
        vm.prank(rejecter);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.RefundFailed.selector, rejecter, 1 ether));
        engine.liquidate{value: 1 ether}(_params(A, wethA, 0));
        assertEq(venue.positionsOf(trader, 0).length, 1, "the close was undone");
    }

    /// @dev A malicious quote token that calls back into the engine while the liquidator pays cannot start a
    ///      second liquidation (or anything else) inside the first.
    function test_liquidate_reentrantQuoteTokenCannotReenter() public {
        ReentrantERC20 reent = new ReentrantERC20();
        VenueStub reentVenue = new VenueStub(address(reent));
        reentVenue.setEngine(engine);
        engine.setVenue(reentVenue);
        localVault.depositFor(trader, 0, wethA, 1e18);
        reentVenue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1200e18);
        reent.mint(liquidator, 1_000e18);
        vm.prank(liquidator);
        reent.approve(address(engine), type(uint256).max);

        reent.arm(address(engine), abi.encodeCall(engine.liquidate, (_params(A, wethA, 400e18))));
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r = engine.liquidate(_params(A, wethA, 400e18));
        assertFalse(reent.attackSucceeded());
        assertEq(bytes4(reent.attackRevertData()), TransientReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        // The outer liquidation went through once: 400 of quote (18 decimals here) for 420 USD of WETH.
        assertEq(r.repaid, 400e18);
        assertEq(r.seized[0], 0.21e18);
        assertEq(localVault.payoutCount(), 1);
        assertEq(reent.balanceOf(address(reentVenue)), 400e18);
    }

    /// @dev An engine whose owner never set a LiquidationConfig has a target health of 0: sizing a partial
    ///      close would divide by zero. It refuses with a readable error instead; a negative-equity account
    ///      (full close, no sizing) can still be liquidated.
    function test_liquidate_withoutLiquidationConfig() public {
        IMarginEngine bare = _deployEngine(address(endpoints[A]));
        VenueStub bareVenue = new VenueStub(address(usdc));
        bareVenue.setEngine(bare);
        LocalVaultStub bareVault = new LocalVaultStub();
        bareVault.setEngine(bare);
        bare.setLocalVault(address(bareVault));
        bare.setVenue(bareVenue);
        bare.setRiskAsset(WETH, IMarginEngineTypes.RiskAsset(IPriceAdapter(address(ethPrice)), 0.8e18, true, 0));
        bare.setCollateralSource(A, wethA, _source(WETH, 18));
        bare.setMarketRisk(ETH_PERP, IMarginEngineTypes.MarketRisk(0.1e18, 0.05e18, type(uint128).max, true));
        assertEq(bare.liquidationConfig().targetHealth, 0);

        bareVault.depositFor(trader, 0, wethA, 1e18);
        bareVenue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -800e18); // equity 800, health 0.8
        vm.prank(liquidator);
        vm.expectRevert(IMarginEngineTypes.LiquidationNotConfigured.selector);
        bare.liquidate(_params(A, wethA, 0));

        bareVenue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -2000e18); // equity -400
        vm.prank(liquidator);
        assertEq(bare.liquidate(_params(A, wethA, 0)).closeFraction, 1e18);
        assertEq(bareVenue.positionsOf(trader, 0).length, 0);
    }

    function test_liquidate_refusesOnStaleOracle() public {
        localVault.depositFor(trader, 0, wethA, 1e18);
        venue.setPosition(trader, 0, ETH_PERP, 10e18, 2000e18, -1200e18);
        ethPrice.breakFeed(true);
        vm.prank(liquidator);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.StalePrice.selector, address(ethPrice), 0, 1));
        engine.liquidate(_params(A, wethA, 0));
    }

    // ------------------------------------------------------------------ batch liquidation

    address internal t1 = makeAddr("t1");
    address internal t2 = makeAddr("t2");
    address internal t3 = makeAddr("t3");
    address internal seizeTo = makeAddr("seizeTo");

    function _item(address account, uint32 srcEid, address token, uint256 maxRepay)
        internal
        view
        returns (IMarginEngineTypes.LiquidateParams memory)
    {
        IMarginEngineTypes.SeizeOrder[] memory seizes = new IMarginEngineTypes.SeizeOrder[](1);
        seizes[0] = IMarginEngineTypes.SeizeOrder(srcEid, token, maxRepay, options);
        return IMarginEngineTypes.LiquidateParams(account, 0, seizes, seizeTo);
    }

    function _items(IMarginEngineTypes.LiquidateParams memory a, IMarginEngineTypes.LiquidateParams memory b)
        internal
        pure
        returns (IMarginEngineTypes.LiquidateParams[] memory items)
    {
        items = new IMarginEngineTypes.LiquidateParams[](2);
        items[0] = a;
        items[1] = b;
    }

    function _fees(uint256 a, uint256 b) internal pure returns (uint256[] memory fees) {
        fees = new uint256[](2);
        fees[0] = a;
        fees[1] = b;
    }

    /// @dev t1 at health 0.4 (full close), t2 at 0.8 (partial close), t3 healthy at 1.6; 1 WETH each on A.
    function _threeLocalAccounts() internal {
        localVault.depositFor(t1, 0, wethA, 1e18);
        localVault.depositFor(t2, 0, wethA, 1e18);
        localVault.depositFor(t3, 0, wethA, 1e18);
        venue.setPosition(t1, 0, ETH_PERP, 10e18, 2000e18, -1200e18);
        venue.setPosition(t2, 0, ETH_PERP, 10e18, 2000e18, -800e18);
        venue.setPosition(t3, 0, ETH_PERP, 10e18, 2000e18, 0);
    }

    function _assertSameResult(
        IMarginEngineTypes.LiquidationResult memory a,
        IMarginEngineTypes.LiquidationResult memory b
    ) internal pure {
        assertEq(a.closeFraction, b.closeFraction, "closeFraction");
        assertEq(a.closedNotional, b.closedNotional, "closedNotional");
        assertEq(a.repaid, b.repaid, "repaid");
        assertEq(a.seized, b.seized, "seized");
        assertEq(a.seizeIds, b.seizeIds, "seizeIds");
        assertEq(a.healthBefore, b.healthBefore, "healthBefore");
        assertEq(a.healthAfter, b.healthAfter, "healthAfter");
    }

    /// @dev Two unhealthy sub-accounts land exactly as two single liquidations would; the healthy one between
    ///      them is skipped with its HealthyAccount revert, and nothing of it changes.
    function test_liquidateBatch_mixedBatchLandsTheUnhealthyAndSkipsTheHealthy() public {
        _threeLocalAccounts();
        IMarginEngineTypes.LiquidateParams[] memory items = new IMarginEngineTypes.LiquidateParams[](3);
        items[0] = _item(t1, A, wethA, 400e6);
        items[1] = _item(t3, A, wethA, 400e6);
        items[2] = _item(t2, A, wethA, 1000e6);
        uint256 t3Health = _healthOf(t3).health;
        assertEq(t3Health, 1.6e18);

        // Reference: the same two liquidations as single calls.
        uint256 snap = vm.snapshotState();
        vm.startPrank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r1 = engine.liquidate(items[0]);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.HealthyAccount.selector, t3Health));
        engine.liquidate(items[1]);
        IMarginEngineTypes.LiquidationResult memory r2 = engine.liquidate(items[2]);
        vm.stopPrank();
        assertEq(r1.closeFraction, 1e18);
        assertLt(r2.closeFraction, 1e18, "t2 is a partial close");
        vm.revertToState(snap);

        uint256 usdcBefore = usdc.balanceOf(liquidator);
        uint256 venueBefore = usdc.balanceOf(address(venue));
        vm.expectEmit(address(engine));
        emit IMarginEngineTypes.Liquidated(
            t1, 0, liquidator, r1.closeFraction, r1.closedNotional, r1.repaid, r1.healthBefore, r1.healthAfter
        );
        vm.expectEmit(address(engine));
        emit IMarginEngineTypes.LiquidationSkipped(
            t3, 0, liquidator, abi.encodeWithSelector(IMarginEngineTypes.HealthyAccount.selector, t3Health)
        );
        vm.expectEmit(address(engine));
        emit IMarginEngineTypes.Liquidated(
            t2, 0, liquidator, r2.closeFraction, r2.closedNotional, r2.repaid, r2.healthBefore, r2.healthAfter
        );
        vm.prank(liquidator);
        IMarginEngineTypes.BatchLiquidation[] memory out = engine.liquidateBatch(items, new uint256[](3));

        assertEq(out.length, 3);
        assertTrue(out[0].landed);
        assertFalse(out[1].landed);
        assertTrue(out[2].landed);
        _assertSameResult(out[0].result, r1);
        _assertSameResult(out[2].result, r2);
        assertEq(out[0].revertData.length, 0);
        assertEq(out[2].revertData.length, 0);
        assertEq(out[1].revertData, abi.encodeWithSelector(IMarginEngineTypes.HealthyAccount.selector, t3Health));
        assertEq(bytes4(out[1].revertData), IMarginEngineTypes.HealthyAccount.selector);
        assertEq(out[1].result.seized.length, 0, "a skipped item's result is zeroed");
        assertEq(out[1].result.healthBefore, 0);

        // The quote came from the liquidator (not the engine), the collateral went to the recipient.
        assertEq(usdcBefore - usdc.balanceOf(liquidator), r1.repaid + r2.repaid);
        assertEq(usdc.balanceOf(address(venue)) - venueBefore, r1.repaid + r2.repaid);
        assertEq(usdc.balanceOf(address(engine)), 0);
        assertEq(localVault.payoutCount(), 2);
        (,address acc0,,, uint256 amt0, address to0) = localVault.payouts(0);
        (,address acc1,,, uint256 amt1, address to1) = localVault.payouts(1);
        assertEq(acc0, t1);
        assertEq(acc1, t2);
        assertEq(amt0, r1.seized[0]);
        assertEq(amt1, r2.seized[0]);
        assertEq(to0, seizeTo);
        assertEq(to1, seizeTo);
        assertEq(engine.creditOf(t3, 0, A, wethA), 1e18, "the healthy one is untouched");
        assertEq(venue.positionsOf(t3, 0)[0].size, 10e18);
    }

    /// @dev Remote seizures: each item's SEIZE is paid from its own fee; a skipped item's fee and the surplus
    ///      of msg.value go back to the liquidator to the wei, and the landed item's SEIZE is delivered.
    function test_liquidateBatch_remoteSeizuresPayPerItemFeesAndRefundTheRest() public {
        _bridgeLock(_lock(t1, 0, wethB, 1e18));
        _bridgeLock(_lock(t2, 0, wethB, 1e18));
        _bridgeLock(_lock(t3, 0, wethB, 1e18));
        venue.setPosition(t1, 0, ETH_PERP, 10e18, 2000e18, -1300e18);
        venue.setPosition(t2, 0, ETH_PERP, 10e18, 2000e18, 0); // healthy
        venue.setPosition(t3, 0, ETH_PERP, 10e18, 2000e18, -1300e18);
        uint256 fee = engine.quoteSeize(B, options).nativeFee;
        assertGt(fee, 0);
        IMarginEngineTypes.LiquidateParams[] memory items = new IMarginEngineTypes.LiquidateParams[](3);
        items[0] = _item(t1, B, wethB, 1000e6);
        items[1] = _item(t2, B, wethB, 1000e6);
        items[2] = _item(t3, B, wethB, 1000e6);
        uint256[] memory fees = new uint256[](3);
        fees[0] = fee;
        fees[1] = fee;
        fees[2] = fee + 0.1 ether; // more than needed: the item refunds its own excess
        uint256 surplus = 0.25 ether;

        uint256 ethBefore = liquidator.balance;
        vm.prank(liquidator);
        IMarginEngineTypes.BatchLiquidation[] memory out =
            engine.liquidateBatch{value: 3 * fee + 0.1 ether + surplus}(items, fees);
        assertTrue(out[0].landed);
        assertFalse(out[1].landed);
        assertTrue(out[2].landed);
        assertEq(bytes4(out[1].revertData), IMarginEngineTypes.HealthyAccount.selector);
        assertEq(ethBefore - liquidator.balance, 2 * fee, "paid exactly the two landed SEIZE fees");
        assertEq(address(engine).balance, 0, "the engine keeps no native value");

        _deliverToRemote();
        assertEq(remoteVault.payoutCount(), 2);
        (bytes32 id0, address acc0,,, uint256 amt0, address to0) = remoteVault.payouts(0);
        (bytes32 id1, address acc1,,, uint256 amt1, address to1) = remoteVault.payouts(1);
        assertEq(remoteVault.payoutKinds(0), MsgCodec.SEIZE);
        assertEq(remoteVault.payoutKinds(1), MsgCodec.SEIZE);
        assertEq(id0, out[0].result.seizeIds[0]);
        assertEq(id1, out[2].result.seizeIds[0]);
        assertEq(acc0, t1);
        assertEq(acc1, t3);
        assertEq(amt0, 0.525e18);
        assertEq(amt1, 0.525e18);
        assertEq(to0, seizeTo);
        assertEq(to1, seizeTo);
        assertEq(engine.creditOf(t2, 0, B, wethB), 1e18);
    }

    /// @dev An item whose fee is short is skipped (its LayerZero revert), the others land.
    function test_liquidateBatch_shortFeeSkipsOnlyThatItem() public {
        _bridgeLock(_lock(t1, 0, wethB, 1e18));
        _bridgeLock(_lock(t2, 0, wethB, 1e18));
        venue.setPosition(t1, 0, ETH_PERP, 10e18, 2000e18, -1300e18);
        venue.setPosition(t2, 0, ETH_PERP, 10e18, 2000e18, -1300e18);
        uint256 fee = engine.quoteSeize(B, options).nativeFee;
        uint256 ethBefore = liquidator.balance;
        vm.prank(liquidator);
        IMarginEngineTypes.BatchLiquidation[] memory out = engine.liquidateBatch{value: 2 * fee - 1}(
            _items(_item(t1, B, wethB, 1000e6), _item(t2, B, wethB, 1000e6)), _fees(fee - 1, fee)
        );
        assertFalse(out[0].landed);
        assertEq(out[0].revertData, abi.encodeWithSelector(LZ_INSUFFICIENT_FEE, fee, fee - 1, 0, 0));
        assertTrue(out[1].landed);
        assertEq(ethBefore - liquidator.balance, fee);
        assertEq(engine.creditOf(t1, 0, B, wethB), 1e18, "nothing seized from the skipped one");
    }

    function test_liquidateBatch_allHealthyRefundsEverything() public {
        _threeLocalAccounts();
        venue.setPosition(t1, 0, ETH_PERP, 10e18, 2000e18, 0);
        uint256 ethBefore = liquidator.balance;
        uint256 usdcBefore = usdc.balanceOf(liquidator);
        vm.prank(liquidator);
        IMarginEngineTypes.BatchLiquidation[] memory out = engine.liquidateBatch{value: 1 ether}(
            _items(_item(t1, A, wethA, 400e6), _item(t3, A, wethA, 400e6)), _fees(0.3 ether, 0.2 ether)
        );
        assertEq(out.length, 2);
        assertFalse(out[0].landed);
        assertFalse(out[1].landed);
        assertEq(bytes4(out[0].revertData), IMarginEngineTypes.HealthyAccount.selector);
        assertEq(bytes4(out[1].revertData), IMarginEngineTypes.HealthyAccount.selector);
        assertEq(liquidator.balance, ethBefore, "all of msg.value back");
        assertEq(address(engine).balance, 0);
        assertEq(usdc.balanceOf(liquidator), usdcBefore);
        assertEq(localVault.payoutCount(), 0);
    }

    function test_liquidateBatch_emptyBatchRefundsMsgValue() public {
        uint256 ethBefore = liquidator.balance;
        vm.prank(liquidator);
        IMarginEngineTypes.BatchLiquidation[] memory out = engine.liquidateBatch{value: 0.5 ether}(
            new IMarginEngineTypes.LiquidateParams[](0), new uint256[](0)
        );
        assertEq(out.length, 0);
        assertEq(liquidator.balance, ethBefore);
        assertEq(address(engine).balance, 0);
    }

    function test_liquidateBatch_revertsOnBadInput() public {
        _threeLocalAccounts();
        IMarginEngineTypes.LiquidateParams[] memory items = _items(_item(t1, A, wethA, 400e6), _item(t2, A, wethA, 0));
        uint256[] memory one = new uint256[](1);
        vm.startPrank(liquidator);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.BatchLengthMismatch.selector, 2, 1));
        engine.liquidateBatch(items, one);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.BatchLengthMismatch.selector, 2, 3));
        engine.liquidateBatch(items, new uint256[](3));
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.BatchValueTooLow.selector, 3, 2));
        engine.liquidateBatch{value: 2}(items, _fees(1, 2));
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.BatchValueTooLow.selector, 1 ether, 0));
        engine.liquidateBatch(items, _fees(0, 1 ether));
        vm.stopPrank();
        assertEq(engine.creditOf(t1, 0, A, wethA), 1e18, "nothing ran");
        assertEq(localVault.payoutCount(), 0);
    }

    /// @dev A refund the liquidator cannot take reverts the whole batch (RefundFailed), like `liquidate`.
    function test_liquidateBatch_revertsWhenTheRefundIsRejected() public {
        _threeLocalAccounts();
        address rejecter = address(new EtherRejecter());
        vm.deal(rejecter, 1 ether);
        IMarginEngineTypes.LiquidateParams[] memory items = new IMarginEngineTypes.LiquidateParams[](1);
        items[0] = _item(t3, A, wethA, 400e6); // healthy: skipped, its fee goes back to the batch's refund
        uint256[] memory fees = new uint256[](1);
        fees[0] = 1 ether;
        vm.prank(rejecter);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.RefundFailed.selector, rejecter, 1 ether));
        engine.liquidateBatch{value: 1 ether}(items, fees);
    }

    function test_liquidateBatchItem_onlyTheEngineItself() public {
        _threeLocalAccounts();
        IMarginEngineTypes.LiquidateParams memory p = _item(t1, A, wethA, 400e6);
        vm.prank(liquidator); // an EOA
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotSelf.selector, liquidator));
        engine.liquidateBatchItem(p, liquidator);
        // another contract (this test), naming someone else as the payer
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotSelf.selector, address(this)));
        engine.liquidateBatchItem(p, liquidator);
        vm.prank(address(localVault));
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotSelf.selector, address(localVault)));
        engine.liquidateBatchItem{value: 0}(p, liquidator);
        assertEq(engine.creditOf(t1, 0, A, wethA), 1e18);
    }

    /// @dev A malicious quote token cannot start a batch inside a liquidation, a liquidation inside a batch
    ///      item, nor call the item entry itself (it is not the engine).
    function test_liquidateBatch_reentrantQuoteTokenCannotReenter() public {
        ReentrantERC20 reent = new ReentrantERC20();
        VenueStub reentVenue = new VenueStub(address(reent));
        reentVenue.setEngine(engine);
        engine.setVenue(reentVenue);
        address[3] memory ts = [t1, t2, t3];
        for (uint256 i; i < 3; ++i) {
            localVault.depositFor(ts[i], 0, wethA, 1e18);
            reentVenue.setPosition(ts[i], 0, ETH_PERP, 10e18, 2000e18, -1200e18);
        }
        reent.mint(liquidator, 10_000e18);
        vm.prank(liquidator);
        reent.approve(address(engine), type(uint256).max);
        IMarginEngineTypes.LiquidateParams[] memory one = new IMarginEngineTypes.LiquidateParams[](1);
        one[0] = _item(t2, A, wethA, 400e18);

        // 1. liquidate -> token -> liquidateBatch
        reent.arm(address(engine), abi.encodeCall(engine.liquidateBatch, (one, new uint256[](1))));
        vm.prank(liquidator);
        engine.liquidate(_item(t1, A, wethA, 400e18));
        assertFalse(reent.attackSucceeded());
        assertEq(reent.attackRevertData(), abi.encodeWithSelector(TransientReentrancyGuard.ReentrancyGuardReentrantCall.selector));

        // 2. liquidateBatch -> item -> token -> liquidate
        reent.arm(address(engine), abi.encodeCall(engine.liquidate, (_item(t3, A, wethA, 400e18))));
        vm.prank(liquidator);
        IMarginEngineTypes.BatchLiquidation[] memory out = engine.liquidateBatch(one, new uint256[](1));
        assertTrue(out[0].landed, "the outer item lands; only the re-entry failed");
        assertFalse(reent.attackSucceeded());
        assertEq(reent.attackRevertData(), abi.encodeWithSelector(TransientReentrancyGuard.ReentrancyGuardReentrantCall.selector));

        // 3. liquidateBatch -> item -> token -> liquidateBatchItem (the token is not the engine)
        reent.arm(address(engine), abi.encodeCall(engine.liquidateBatchItem, (_item(t1, A, wethA, 1), liquidator)));
        one[0] = _item(t3, A, wethA, 400e18);
        vm.prank(liquidator);
        out = engine.liquidateBatch(one, new uint256[](1));
        assertTrue(out[0].landed);
        assertFalse(reent.attackSucceeded());
        assertEq(reent.attackRevertData(), abi.encodeWithSelector(IMarginEngineTypes.NotSelf.selector, address(reent)));

        assertEq(localVault.payoutCount(), 3, "one seizure per outer liquidation, none from a re-entry");
        assertEq(reent.balanceOf(address(reentVenue)), 3 * 400e18);
    }

    /// @dev The same sub-account twice: the first item brings it back to the target health, the second finds
    ///      it healthy and is skipped; it is liquidated once.
    function test_liquidateBatch_sameSubaccountTwiceLandsOnce() public {
        _threeLocalAccounts();
        vm.prank(liquidator);
        IMarginEngineTypes.BatchLiquidation[] memory out = engine.liquidateBatch(
            _items(_item(t2, A, wethA, 1000e6), _item(t2, A, wethA, 1000e6)), new uint256[](2)
        );
        assertTrue(out[0].landed);
        assertFalse(out[1].landed);
        assertGe(out[0].result.healthAfter, 1e18);
        assertEq(
            out[1].revertData,
            abi.encodeWithSelector(IMarginEngineTypes.HealthyAccount.selector, out[0].result.healthAfter)
        );
        assertEq(localVault.payoutCount(), 1);
        assertEq(engine.creditOf(t2, 0, A, wethA), 1e18 - out[0].result.seized[0]);
    }

    function test_settleBadDebt_onlyWhenInsolvent() public {
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NoBadDebt.selector, trader, 0));
        engine.settleBadDebt(trader, 0);
        venue.setSettled(trader, 0, -50e18);
        engine.settleBadDebt(trader, 0);
        assertEq(venue.writtenOffTotal(), 50e6);
    }

    // ------------------------------------------------------------------ quote balance

    function test_repayDebt_andWithdrawPnl() public {
        venue.setSettled(trader, 0, -10e18);
        vm.prank(liquidator);
        engine.repayDebt(trader, 0, 30e6);
        assertEq(venue.settledBalance(trader, 0), 20e18);
        assertEq(usdc.balanceOf(address(venue)), 30e6);

        vm.prank(trader);
        engine.withdrawPnl(0, 20e6, trader);
        assertEq(usdc.balanceOf(trader), 20e6);

        vm.expectRevert(IMarginEngineTypes.ZeroAmount.selector);
        engine.repayDebt(trader, 0, 0);
        vm.expectRevert(IMarginEngineTypes.ZeroAmount.selector);
        engine.withdrawPnl(0, 0, trader);
        vm.expectRevert(IMarginEngineTypes.ZeroAddress.selector);
        engine.withdrawPnl(0, 1, address(0));
    }

    function test_withdrawPnl_revertsWhenProfitIsNeededAsMargin() public {
        venue.setSettled(trader, 0, 100e18);
        usdc.mint(address(venue), 100e6);
        venue.setPosition(trader, 0, ETH_PERP, 0.5e18, 2000e18, 0); // IM 100
        vm.prank(trader);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.BelowInitialMargin.selector, int256(50e18), 100e18));
        engine.withdrawPnl(0, 50e6, trader);
    }

    function test_repayDebtAndWithdrawPnl_revertWithoutVenue() public {
        IMarginEngine bare = _deployEngine(address(endpoints[A]));
        vm.expectRevert(IMarginEngineTypes.NoVenue.selector);
        bare.repayDebt(trader, 0, 1);
        vm.prank(trader);
        vm.expectRevert(IMarginEngineTypes.NoVenue.selector);
        bare.withdrawPnl(0, 1, trader);
    }

    function test_fundInsurance_revertsWithoutVenueOrAmount() public {
        IMarginEngine bare = _deployEngine(address(endpoints[A]));
        vm.expectRevert(IMarginEngineTypes.NoVenue.selector);
        bare.fundInsurance(1);
        vm.expectRevert(IMarginEngineTypes.ZeroAmount.selector);
        engine.fundInsurance(0);
    }

    // ------------------------------------------------------------------ admin

    function test_admin_rejectsInvalidParameters() public {
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engine.setRiskAsset(9, IMarginEngineTypes.RiskAsset(IPriceAdapter(address(ethPrice)), 1.1e18, true, 0));
        vm.expectRevert(IMarginEngineTypes.ZeroAddress.selector);
        engine.setRiskAsset(9, IMarginEngineTypes.RiskAsset(IPriceAdapter(address(0)), 0.5e18, true, 0));
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engine.setCollateralSource(B, makeAddr("t"), _source(77, 18));
        vm.expectRevert(IMarginEngineTypes.ZeroAddress.selector);
        engine.setCollateralSource(B, address(0), _source(WETH, 18));
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engine.setMarketRisk(2, IMarginEngineTypes.MarketRisk(0.05e18, 0.1e18, 0, true));
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engine.setMarketRisk(2, IMarginEngineTypes.MarketRisk(0.1e18, 0, 0, true));
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engine.setLiquidationConfig(IMarginEngineTypes.LiquidationConfig(0.05e18, 1e18, 0.5e18, 0));
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engine.setLiquidationConfig(IMarginEngineTypes.LiquidationConfig(0.6e18, 1.2e18, 0.5e18, 0));
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engine.setMarketRisk(2, IMarginEngineTypes.MarketRisk(1e18 + 1, 0.05e18, 0, true));
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engine.setLiquidationConfig(IMarginEngineTypes.LiquidationConfig(0.05e18, 1.25e18, 1e18, 0));
        vm.expectRevert(IMarginEngineTypes.ZeroAddress.selector);
        engine.setVenue(IVenue(address(0)));
        vm.expectRevert(IMarginEngineTypes.ZeroAddress.selector);
        engine.setLocalVault(address(0));
    }

    function test_admin_onlyOwnerAndGuardian() public {
        vm.startPrank(trader);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, trader));
        engine.setMarketRisk(2, IMarginEngineTypes.MarketRisk(0.1e18, 0.05e18, 0, true));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, trader));
        XmarginOApp(address(engine)).setGuardian(trader);
        vm.expectRevert(abi.encodeWithSelector(XmarginOApp.OnlyGuardian.selector, trader));
        engine.setSourcePaused(B, true);
        bytes memory notOwner = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, trader);
        vm.expectRevert(notOwner);
        engine.setCollateralSource(B, wethB, _source(WETH, 18));
        vm.expectRevert(notOwner);
        engine.setVenue(venue);
        vm.expectRevert(notOwner);
        engine.setLiquidationConfig(IMarginEngineTypes.LiquidationConfig(0.05e18, 1.25e18, 0.5e18, 10e18));
        vm.expectRevert(notOwner);
        engine.setLocalVault(trader);
        vm.stopPrank();
        assertEq(engine.localVault(), address(localVault));
    }

    function test_transferOwnership_isTwoStep() public {
        address next = makeAddr("nextOwner");
        XmarginOApp(address(engine)).transferOwnership(next);
        assertEq(XmarginOApp(address(engine)).owner(), address(this));
        vm.prank(next);
        XmarginOApp(address(engine)).acceptOwnership();
        assertEq(XmarginOApp(address(engine)).owner(), next);
    }

    function test_returnHeldCredit_revertsForUnknownId() public {
        vm.prank(trader);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NoHeldCredit.selector, bytes32("nope")));
        engine.returnHeldCredit(bytes32("nope"), options);
    }

    function test_quotes_areZeroForTheLocalVaultAndPositiveForRemote() public view {
        assertEq(engine.quoteWithdraw(A, options).nativeFee, 0);
        assertEq(engine.quoteSeize(A, options).nativeFee, 0);
        assertEq(engine.quoteMove(A, options).nativeFee, 0);
        assertGt(engine.quoteWithdraw(B, options).nativeFee, 0);
        assertGt(engine.quoteSeize(B, options).nativeFee, 0);
        assertGt(engine.quoteMove(B, options).nativeFee, 0);
    }

    function test_views_returnWhatWasSet() public {
        IMarginEngineTypes.RiskAsset memory asset = engine.riskAsset(WETH);
        assertEq(address(asset.oracle), address(ethPrice));
        assertEq(asset.weight, 0.8e18);
        IMarginEngineTypes.CollateralSource memory source = engine.collateralSource(B, usdcB);
        assertEq(source.assetId, USDC);
        assertEq(source.decimals, 6);
        IMarginEngineTypes.LiquidationConfig memory cfg = engine.liquidationConfig();
        assertEq(cfg.targetHealth, 1.25e18);
        assertEq(engine.marketRisk(ETH_PERP).maintenanceMargin, 0.05e18);
        assertEq(engine.localVault(), address(localVault));
        assertEq(address(engine.venue()), address(venue));
        assertEq(engine.bridgeCapacityAvailable(B, wethB), type(uint128).max);
        assertFalse(engine.sourcePaused(B));
        vm.prank(guardian);
        vm.expectEmit(address(engine));
        emit IMarginEngineTypes.SourcePaused(B, true);
        engine.setSourcePaused(B, true);
        assertTrue(engine.sourcePaused(B));
    }

    // ------------------------------------------------------------------ fuzz: margin maths

    /// @dev The engine's health equals the formula computed independently, rounded against the trader.
    function testFuzz_health_matchesIndependentFormula(
        uint96 amount,
        uint128 price,
        uint64 weight,
        int96 size,
        int128 pnl
    ) public {
        amount = uint96(bound(amount, 1, 1e27));
        price = uint128(bound(price, 1e6, 1e24));
        weight = uint64(bound(weight, 0, 1e18));
        engine.setRiskAsset(WETH, IMarginEngineTypes.RiskAsset(IPriceAdapter(address(ethPrice)), weight, true, 0));
        ethPrice.set(price);
        localVault.depositFor(trader, 0, wethA, amount);
        venue.setPosition(trader, 0, ETH_PERP, size, price, pnl);

        IMarginEngineTypes.HealthView memory h = _healthOf(trader);
        uint256 value = uint256(amount) * price / 1e18 * weight / 1e18;
        assertApproxEqAbs(h.collateralValue, value, 2);
        assertLe(h.collateralValue, value, "collateral rounds down");
        uint256 notional = _ceilDiv(_abs(size) * price, 1e18);
        assertEq(h.notional, notional);
        assertEq(h.maintenanceRequirement, _ceilDiv(notional * 0.05e18, 1e18), "requirement rounds up");
        int256 equity = int256(h.collateralValue) + pnl;
        assertEq(h.equity, equity);
        if (h.maintenanceRequirement == 0) {
            assertEq(h.health, equity >= 0 ? type(uint256).max : 0);
        } else if (equity <= 0) {
            assertEq(h.health, 0);
        } else {
            assertEq(h.health, uint256(equity) * 1e18 / h.maintenanceRequirement);
        }
    }

    /// @dev A partial liquidation always leaves the account at or above the target health (or closes it all).
    function testFuzz_liquidate_partialRestoresTarget(uint64 lossBps) public {
        lossBps = uint64(bound(lossBps, 1, 2_000)); // equity between 1600 - 20% of 8000 and 1600
        localVault.depositFor(trader, 0, wethA, 1e18);
        // 15 ETH long: notional 30,000; MM 1,500
        int256 pnl = -int256(uint256(lossBps) * 30_000e18 / 10_000 / 4);
        venue.setPosition(trader, 0, ETH_PERP, 15e18, 2000e18, pnl);
        IMarginEngineTypes.HealthView memory h = _healthOf(trader);
        vm.assume(h.health < 1e18);
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r = engine.liquidate(_params(A, wethA, 0));
        if (r.closeFraction < 1e18) {
            assertGe(r.healthAfter + 1e9, 1.25e18, "partial liquidation reaches the target");
        } else {
            assertEq(venue.positionsOf(trader, 0).length, 0);
        }
    }

    /// @dev The liquidator never receives more than (1 + bonus) times what it paid, at the oracle price.
    function testFuzz_liquidate_seizeNeverExceedsPaidPlusBonus(uint64 repay, uint128 price) public {
        price = uint128(bound(price, 100e18, 5000e18));
        repay = uint64(bound(repay, 1e6, 100_000e6));
        ethPrice.set(price);
        localVault.depositFor(trader, 0, wethA, 3e18);
        // A position losing more than all the collateral is worth.
        venue.setPosition(trader, 0, ETH_PERP, 100e18, price, -int256(uint256(price) * 4));
        vm.assume(_healthOf(trader).health < 1e18);
        vm.prank(liquidator);
        IMarginEngineTypes.LiquidationResult memory r = engine.liquidate(_params(A, wethA, repay));
        uint256 seizedUsd = r.seized[0] * price / 1e18;
        assertLe(seizedUsd, r.repaid * 1e12 * 105 / 100 + 1, "seized value <= paid * (1 + bonus)");
        assertLe(r.repaid, repay);
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    function _ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
