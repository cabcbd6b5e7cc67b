// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IAggregatorV3} from "../../contracts/interfaces/IAggregatorV3.sol";
import {IMarginEngine, IMarginEngineTypes} from "../../contracts/interfaces/IMarginEngine.sol";
import {IPriceAdapter} from "../../contracts/interfaces/IPriceAdapter.sol";
import {IVenue} from "../../contracts/interfaces/IVenue.sol";
import {SettableAggregator} from "../../contracts/oracles/SettableAggregator.sol";
import {ChainlinkPriceAdapter} from "../../contracts/oracles/ChainlinkPriceAdapter.sol";
import {PerpMarket} from "../../contracts/markets/PerpMarket.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {MarketEngineStub} from "./helpers/MarketEngineStub.sol";

contract PerpMarketTest is Test {
    uint32 internal constant ETH = 1;
    uint32 internal constant BTC = 2;
    uint64 internal constant FEE = 0.001e18; // 10 bps
    uint128 internal constant RATE = 1e10; // per second per unit of entry notional
    uint256 internal constant MAX_AGE = 1 hours;
    uint256 internal constant POOL = 1_000_000e6;

    MockERC20 internal usdc;
    SettableAggregator internal ethFeed;
    SettableAggregator internal btcFeed;
    ChainlinkPriceAdapter internal ethPrice;
    ChainlinkPriceAdapter internal btcPrice;
    MarketEngineStub internal engine;
    PerpMarket internal perp;

    address internal owner = makeAddr("owner");
    address internal lp = makeAddr("lp");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    function setUp() public {
        vm.warp(1_700_000_000);
        usdc = new MockERC20("USD Coin", "USDC", 6);
        ethFeed = new SettableAggregator(8, 2000e8, "ETH / USD");
        btcFeed = new SettableAggregator(8, 30_000e8, "BTC / USD");
        ethPrice = new ChainlinkPriceAdapter(ethFeed, MAX_AGE, IAggregatorV3(address(0)), 0, 0);
        btcPrice = new ChainlinkPriceAdapter(btcFeed, MAX_AGE, IAggregatorV3(address(0)), 0, 0);
        engine = new MarketEngineStub();
        perp = new PerpMarket(IMarginEngine(address(engine)), IERC20Metadata(address(usdc)), owner);
        engine.setVenue(IVenue(address(perp)));

        vm.startPrank(owner);
        perp.addMarket(ETH, ethPrice, FEE, RATE);
        perp.addMarket(BTC, btcPrice, FEE, RATE);
        vm.stopPrank();
        _setRisk(ETH, 10_000_000e18, true);
        _setRisk(BTC, 10_000_000e18, true);

        usdc.mint(lp, POOL);
        vm.startPrank(lp);
        usdc.approve(address(perp), type(uint256).max);
        perp.depositLiquidity(POOL);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ helpers

    function _setRisk(uint32 id, uint128 cap, bool enabled) internal {
        engine.setMarketRisk(
            id,
            IMarginEngineTypes.MarketRisk({
                initialMargin: 0.1e18, maintenanceMargin: 0.05e18, openInterestCap: cap, enabled: enabled
            })
        );
    }

    function _ethAt(int256 usd8) internal {
        ethFeed.setAnswer(usd8);
    }

    /// @dev Moves time and refreshes both feeds at their current answers.
    function _warp(uint256 dt) internal {
        vm.warp(block.timestamp + dt);
        ethFeed.setAnswer(ethFeed.latestAnswer());
        btcFeed.setAnswer(btcFeed.latestAnswer());
    }

    function _buy(address who, uint32 id, int256 size) internal {
        vm.prank(who);
        perp.trade(0, id, size, type(uint256).max);
    }

    function _sell(address who, uint32 id, int256 size) internal {
        vm.prank(who);
        perp.trade(0, id, -size, 0);
    }

    function _size(address who, uint32 id) internal view returns (int256) {
        return perp.positionOf(who, 0, id).size;
    }

    /// @dev Trader's equity in the venue: settled + Σ unrealised (USD, WAD).
    function _traderValue(address who) internal view returns (int256 v) {
        v = perp.settledBalance(who, 0);
        IVenue.PositionView[] memory ps = perp.positionsOf(who, 0);
        for (uint256 i; i < ps.length; ++i) {
            v += ps[i].unrealizedPnl;
        }
    }

    function _poolWad() internal view returns (int256) {
        return perp.poolValue() * 1e12;
    }

    // ------------------------------------------------------------ owner

    function test_addMarket_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        perp.addMarket(3, ethPrice, FEE, RATE);
    }

    function test_addMarket_revertsWhenListed() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.MarketExists.selector, ETH));
        perp.addMarket(ETH, ethPrice, FEE, RATE);
    }

    function test_addMarket_revertsOnInvalidParams() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidMarketParameter.selector, uint64(0.02e18), RATE));
        perp.addMarket(3, ethPrice, 0.02e18, RATE);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidMarketParameter.selector, FEE, uint128(1e12)));
        perp.addMarket(3, ethPrice, FEE, 1e12);
        vm.expectRevert(PerpMarket.ZeroAddress.selector);
        perp.addMarket(3, IPriceAdapter(address(0)), FEE, RATE);
        vm.stopPrank();
    }

    function test_addMarket_listsMarket() public view {
        uint32[] memory ids = perp.marketIds();
        assertEq(ids.length, 2);
        PerpMarket.Market memory m = perp.market(ETH);
        assertEq(address(m.oracle), address(ethPrice));
        assertEq(m.tradingFee, FEE);
        assertEq(m.borrowRatePerSecond, RATE);
        assertTrue(m.listed);
        assertEq(perp.quoteToken(), address(usdc));
    }

    function test_setMarketParams_accruesAtOldRate() public {
        _buy(alice, ETH, 1e18);
        _warp(100);
        vm.prank(owner);
        perp.setMarketParams(ETH, ethPrice, FEE, 0);
        assertEq(perp.market(ETH).borrowIndex, uint256(RATE) * 100);
        _warp(100);
        // 2000 USD × 1e12 = 2e-3 USD → 2000 quote units; nothing more after the rate went to zero
        assertEq(perp.pendingBorrowFee(alice, 0, ETH), 2000);
    }

    function test_setMarketParams_rejectsBadCallersAndParams() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        perp.setMarketParams(ETH, ethPrice, FEE, RATE);
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, uint32(9)));
        perp.setMarketParams(9, ethPrice, FEE, RATE);
        vm.expectRevert(PerpMarket.ZeroAddress.selector);
        perp.setMarketParams(ETH, IPriceAdapter(address(0)), FEE, RATE);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidMarketParameter.selector, uint64(0.01e18 + 1), RATE));
        perp.setMarketParams(ETH, ethPrice, 0.01e18 + 1, RATE);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidMarketParameter.selector, FEE, uint128(1e11 + 1)));
        perp.setMarketParams(ETH, ethPrice, FEE, 1e11 + 1);
        vm.stopPrank();
        PerpMarket.Market memory m = perp.market(ETH);
        assertEq(m.tradingFee, FEE);
        assertEq(m.borrowRatePerSecond, RATE);
    }

    function test_constructor_rejectsZeroAddressesAndWideQuote() public {
        IMarginEngine stub = IMarginEngine(address(engine));
        vm.expectRevert(PerpMarket.ZeroAddress.selector);
        new PerpMarket(IMarginEngine(address(0)), IERC20Metadata(address(usdc)), owner);
        vm.expectRevert(PerpMarket.ZeroAddress.selector);
        new PerpMarket(stub, IERC20Metadata(address(0)), owner);
        MockERC20 wide = new MockERC20("Wide", "WIDE", 19);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.QuoteDecimalsTooHigh.selector, uint8(19)));
        new PerpMarket(stub, IERC20Metadata(address(wide)), owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new PerpMarket(stub, IERC20Metadata(address(usdc)), address(0));
    }

    function test_transferOwnership_isTwoStep() public {
        vm.prank(owner);
        perp.transferOwnership(bob);
        assertEq(perp.owner(), owner);
        assertEq(perp.pendingOwner(), bob);

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        perp.acceptOwnership();

        vm.prank(bob);
        perp.acceptOwnership();
        assertEq(perp.owner(), bob);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        perp.addMarket(3, ethPrice, FEE, RATE);
        vm.prank(bob);
        perp.addMarket(3, ethPrice, FEE, RATE);
        assertTrue(perp.market(3).listed);
    }

    // ------------------------------------------------------------ trade

    function test_trade_opensLong() public {
        vm.expectEmit(address(perp));
        emit PerpMarket.PositionChanged(alice, 0, ETH, 0, 1e18, 2000e18, 2000e18, 0, 2e6, 0, -2e6, false);
        _buy(alice, ETH, 1e18);
        PerpMarket.Position memory p = perp.positionOf(alice, 0, ETH);
        assertEq(p.size, 1e18);
        assertEq(p.entryPrice, 2000e18);
        assertEq(perp.settled(alice, 0), -2e6);
        assertEq(perp.settledBalance(alice, 0), -2e18);
        assertEq(perp.totalTraderDebt(), 2e6);
        uint32[] memory open = perp.openMarketsOf(alice, 0);
        assertEq(open.length, 1);
        assertEq(open[0], ETH);
        PerpMarket.Market memory m = perp.market(ETH);
        assertEq(m.longSize, 1e18);
        assertEq(m.longEntryNotional, 2000e18);
        IVenue.PositionView[] memory v = perp.positionsOf(alice, 0);
        assertEq(v.length, 1);
        assertEq(v[0].markPrice, 2000e18);
        assertEq(v[0].unrealizedPnl, 0);
    }

    function test_trade_increaseAveragesEntry() public {
        _buy(alice, ETH, 1e18);
        _ethAt(2200e8);
        _buy(alice, ETH, 1e18);
        PerpMarket.Position memory p = perp.positionOf(alice, 0, ETH);
        assertEq(p.size, 2e18);
        assertEq(p.entryPrice, 2100e18);
        assertEq(perp.settled(alice, 0), -4.2e6);
        assertEq(perp.positionsOf(alice, 0)[0].unrealizedPnl, 200e18);
    }

    function test_trade_reduceRealisesPnl() public {
        _buy(alice, ETH, 2e18);
        _ethAt(2100e8);
        _sell(alice, ETH, 1e18);
        PerpMarket.Position memory p = perp.positionOf(alice, 0, ETH);
        assertEq(p.size, 1e18);
        assertEq(p.entryPrice, 2000e18);
        assertEq(perp.settled(alice, 0), 100e6 - 4e6 - 2.1e6);
        assertEq(perp.totalTraderCredit(), 93.9e6);
        assertEq(perp.totalTraderDebt(), 0);
        assertEq(perp.positionsOf(alice, 0)[0].unrealizedPnl, 100e18);
    }

    function test_trade_closeRemovesPosition() public {
        _buy(alice, ETH, 1e18);
        _sell(alice, ETH, 1e18);
        assertEq(_size(alice, ETH), 0);
        assertEq(perp.openMarketsOf(alice, 0).length, 0);
        assertEq(perp.positionsOf(alice, 0).length, 0);
        assertEq(perp.settled(alice, 0), -4e6);
        PerpMarket.Market memory m = perp.market(ETH);
        assertEq(m.longSize, 0);
        assertEq(m.longEntryNotional, 0);
        assertEq(m.entryNotionalIndexSum, 0);
    }

    function test_trade_flipLongToShort() public {
        _buy(alice, ETH, 1e18);
        _ethAt(1900e8);
        _sell(alice, ETH, 3e18);
        PerpMarket.Position memory p = perp.positionOf(alice, 0, ETH);
        assertEq(p.size, -2e18);
        assertEq(p.entryPrice, 1900e18);
        assertEq(perp.settled(alice, 0), -2e6 - 100e6 - 5.7e6);
        PerpMarket.Market memory m = perp.market(ETH);
        assertEq(m.longSize, 0);
        assertEq(m.shortSize, 2e18);
        assertEq(m.shortEntryNotional, 3800e18);
        assertEq(perp.openMarketsOf(alice, 0).length, 1);
    }

    function test_trade_shortProfits() public {
        _sell(alice, ETH, 1e18);
        _ethAt(1800e8);
        assertEq(perp.positionsOf(alice, 0)[0].unrealizedPnl, 200e18);
        _buy(alice, ETH, 1e18);
        assertEq(perp.settled(alice, 0), 200e6 - 2e6 - 1.8e6);
        assertEq(_size(alice, ETH), 0);
    }

    function test_trade_revertsWhenPriceNotAcceptable() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.PriceNotAcceptable.selector, 2000e18, 1999e18));
        perp.trade(0, ETH, 1e18, 1999e18);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.PriceNotAcceptable.selector, 2000e18, 2001e18));
        perp.trade(0, ETH, -1e18, 2001e18);
        perp.trade(0, ETH, 1e18, 2000e18); // exactly at the bound
        perp.trade(0, ETH, -1e18, 2000e18);
        vm.stopPrank();
    }

    function test_trade_revertsOnZeroDelta() public {
        vm.expectRevert(PerpMarket.ZeroAmount.selector);
        perp.trade(0, ETH, 0, 0);
    }

    function test_trade_revertsOnUnknownMarket() public {
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, uint32(7)));
        perp.trade(0, 7, 1e18, type(uint256).max);
    }

    function test_trade_revertsWhenOracleStale() public {
        uint256 t = block.timestamp;
        vm.warp(t + MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.StalePrice.selector, address(ethFeed), t, MAX_AGE));
        _buy(alice, ETH, 1e18);
    }

    function test_trade_feesGoToPool() public {
        int256 before = perp.poolValue();
        _buy(alice, ETH, 1e18);
        _sell(alice, ETH, 1e18);
        assertEq(perp.poolValue(), before + 4e6);
        assertEq(perp.totalTraderDebt(), 4e6);
    }

    function test_trade_borrowFeeAccrues() public {
        _buy(alice, ETH, 1e18);
        int256 pool0 = perp.poolValue();
        _warp(1 days);
        // 2000 USD × 1e10 × 86400 / 1e18 = 1.728 USD
        assertEq(perp.pendingBorrowFee(alice, 0, ETH), 1.728e6);
        assertEq(perp.positionsOf(alice, 0)[0].unrealizedPnl, -1.728e18);
        assertEq(perp.poolValue(), pool0 + 1.728e6);
        _sell(alice, ETH, 1e18);
        assertEq(perp.settled(alice, 0), -2e6 - 2e6 - 1.728e6);
        assertEq(perp.poolValue(), pool0 + 1.728e6 + 2e6);
        assertEq(perp.market(ETH).borrowIndex, uint256(RATE) * 1 days);
    }

    /// A node's eth_call may run at a timestamp below the last accrual (a dev chain mining ahead of the
    /// wall clock): the views then count no elapsed time instead of reverting with an underflow.
    function test_views_doNotRevertBeforeLastAccrual() public {
        _warp(1 days);
        _buy(alice, ETH, 1e18); // accrues at now
        vm.warp(block.timestamp - 10);
        ethFeed.setAnswer(ethFeed.latestAnswer());
        btcFeed.setAnswer(btcFeed.latestAnswer());
        assertEq(perp.pendingBorrowFee(alice, 0, ETH), 0);
        assertEq(perp.positionsOf(alice, 0).length, 1);
        perp.poolValue();
    }

    function test_trade_borrowFeeSettledOnIncrease() public {
        _buy(alice, ETH, 1e18);
        _warp(1 days);
        _buy(alice, ETH, 1e18);
        assertEq(perp.settled(alice, 0), -2e6 - 2e6 - 1.728e6);
        assertEq(perp.pendingBorrowFee(alice, 0, ETH), 0);
        assertEq(perp.positionOf(alice, 0, ETH).borrowIndexAtEntry, uint256(RATE) * 1 days);
        _warp(1 days);
        assertEq(perp.pendingBorrowFee(alice, 0, ETH), 2 * 1.728e6);
    }

    function test_trade_revertsOverOpenInterestCap() public {
        _setRisk(ETH, 10_000e18, true);
        _buy(alice, ETH, 5e18); // exactly at the cap
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(PerpMarket.OpenInterestCapExceeded.selector, ETH, true, 10_002e18, 10_000e18)
        );
        perp.trade(0, ETH, 0.001e18, type(uint256).max);
        // the short side has its own cap
        _sell(bob, ETH, 5e18);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(PerpMarket.OpenInterestCapExceeded.selector, ETH, false, 12_000e18, 10_000e18)
        );
        perp.trade(0, ETH, -1e18, 0);
        // above the cap after a price rise, reducing is still allowed
        _ethAt(2200e8);
        _sell(alice, ETH, 1e18);
        assertEq(_size(alice, ETH), 4e18);
    }

    function test_trade_revertsWhenMarketDisabled() public {
        _buy(alice, ETH, 1e18);
        _setRisk(ETH, 10_000_000e18, false);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.MarketDisabled.selector, ETH));
        perp.trade(0, ETH, 1e18, type(uint256).max);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.MarketDisabled.selector, ETH));
        perp.trade(0, ETH, -2e18, 0); // a flip opens the other side
        // reducing stays possible so that traders can leave a disabled market
        _sell(alice, ETH, 0.5e18);
        assertEq(_size(alice, ETH), 0.5e18);
    }

    function test_trade_checksInitialMarginOnRiskIncrease() public {
        vm.expectCall(address(engine), abi.encodeCall(MarketEngineStub.requireInitialMargin, (alice, 0)));
        _buy(alice, ETH, 1e18);

        engine.setFailInitialMargin(true);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.BelowInitialMargin.selector, int256(-1), uint256(1)));
        perp.trade(0, ETH, 1e18, type(uint256).max);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.BelowInitialMargin.selector, int256(-1), uint256(1)));
        perp.trade(0, ETH, -1.5e18, 0); // flip
    }

    function test_trade_skipsInitialMarginOnReduce() public {
        _buy(alice, ETH, 1e18);
        engine.setFailInitialMargin(true);
        vm.expectCall(address(engine), abi.encodeCall(MarketEngineStub.requireInitialMargin, (alice, 0)), 0);
        _sell(alice, ETH, 0.4e18);
        _sell(alice, ETH, 0.6e18);
        assertEq(_size(alice, ETH), 0);
    }

    function test_trade_revertsOverMaxOpenPositions() public {
        vm.startPrank(owner);
        for (uint32 id = 3; id <= 9; ++id) {
            perp.addMarket(id, ethPrice, FEE, RATE);
            _setRisk(id, 10_000_000e18, true);
        }
        vm.stopPrank();
        for (uint32 id = 1; id <= 8; ++id) {
            _buy(alice, id, 0.01e18);
        }
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.TooManyPositions.selector, uint256(8)));
        perp.trade(0, 9, 0.01e18, type(uint256).max);
        assertEq(perp.positionsOf(alice, 0).length, 8);
        // another subaccount is separate
        vm.prank(alice);
        perp.trade(1, 9, 0.01e18, type(uint256).max);
        // closing frees a slot, from the middle of the list
        _sell(alice, 4, 0.01e18);
        _buy(alice, 9, 0.01e18);
        assertEq(perp.openMarketsOf(alice, 0).length, 8);
    }

    // ------------------------------------------------------------ liquidity

    function test_depositLiquidity_firstMintsOneToOne() public view {
        assertEq(perp.totalShares(), POOL);
        assertEq(perp.sharesOf(lp), POOL - perp.MINIMUM_LIQUIDITY());
        assertEq(perp.sharesOf(address(0)), perp.MINIMUM_LIQUIDITY());
        assertEq(perp.poolValue(), int256(POOL));
    }

    function test_depositLiquidity_revertsAtMinimum() public {
        PerpMarket fresh = new PerpMarket(IMarginEngine(address(engine)), IERC20Metadata(address(usdc)), owner);
        usdc.mint(address(this), 1000);
        usdc.approve(address(fresh), 1000);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.ZeroShares.selector, uint256(1000)));
        fresh.depositLiquidity(1000);
        vm.expectRevert(PerpMarket.ZeroAmount.selector);
        fresh.depositLiquidity(0);
    }

    function test_depositLiquidity_inflationAttackUnprofitable() public {
        PerpMarket fresh = new PerpMarket(IMarginEngine(address(engine)), IERC20Metadata(address(usdc)), owner);
        address attacker = makeAddr("attacker");
        usdc.mint(attacker, 1001 + 1000e6);
        vm.startPrank(attacker);
        usdc.approve(address(fresh), type(uint256).max);
        assertEq(fresh.depositLiquidity(1001), 1);
        usdc.transfer(address(fresh), 1000e6); // donation to inflate the share price
        vm.stopPrank();

        usdc.mint(bob, 1000e6);
        vm.startPrank(bob);
        usdc.approve(address(fresh), type(uint256).max);
        uint256 shares = fresh.depositLiquidity(1000e6);
        assertGt(shares, 0);
        uint256 bobOut = fresh.withdrawLiquidity(shares);
        vm.stopPrank();
        vm.prank(attacker);
        uint256 attackerOut = fresh.withdrawLiquidity(1);
        assertGe(bobOut, 999e6); // the victim loses at most 0.1 %
        assertLt(attackerOut, 2e6); // the attacker loses almost all of the donation
    }

    function test_depositLiquidity_pricesSharesAtPoolValue() public {
        _buy(alice, ETH, 10e18);
        _ethAt(1800e8); // trader loses 2000, the pool gains it (plus the 20 fee)
        int256 value = perp.poolValue();
        assertEq(value, int256(POOL) + 20e6 + 2000e6);
        usdc.mint(bob, 1000e6);
        vm.startPrank(bob);
        usdc.approve(address(perp), type(uint256).max);
        uint256 shares = perp.depositLiquidity(1000e6);
        vm.stopPrank();
        assertEq(shares, uint256(1000e6) * POOL / uint256(value));
    }

    function test_withdrawLiquidity_afterTradersLose() public {
        _buy(alice, ETH, 10e18);
        _ethAt(1800e8);
        _sell(alice, ETH, 10e18);
        int256 debt = -perp.settled(alice, 0);
        assertEq(debt, 2000e6 + 20e6 + 18e6);
        // the engine collects the debt from the trader's collateral
        usdc.mint(address(engine), uint256(debt));
        engine.repay(alice, 0, uint256(debt));
        assertEq(perp.settled(alice, 0), 0);

        uint256 shares = perp.sharesOf(lp);
        vm.prank(lp);
        uint256 out = perp.withdrawLiquidity(shares);
        uint256 expected = (POOL + uint256(debt)) * shares / POOL;
        assertEq(out, expected);
        assertGt(out, POOL);
        assertEq(usdc.balanceOf(lp), out);
    }

    function test_withdrawLiquidity_afterTradersWin() public {
        _buy(alice, ETH, 10e18);
        _ethAt(2200e8);
        assertEq(perp.poolValue(), int256(POOL) + 20e6 - 2000e6);
        _sell(alice, ETH, 10e18);
        int256 credit = perp.settled(alice, 0);
        assertEq(credit, 2000e6 - 20e6 - 22e6);

        uint256 shares = perp.sharesOf(lp);
        vm.prank(lp);
        uint256 out = perp.withdrawLiquidity(shares);
        assertEq(out, (POOL - uint256(credit)) * shares / POOL);
        // what the trader is owed stayed in the pool
        engine.payOut(alice, 0, uint256(credit), alice);
        assertEq(usdc.balanceOf(alice), uint256(credit));
    }

    function test_withdrawLiquidity_revertsWhenNeededForTraders() public {
        _buy(alice, ETH, 10e18);
        _sell(bob, ETH, 10e18);
        _ethAt(2200e8);
        _sell(alice, ETH, 10e18); // alice is owed 1958
        _buy(bob, ETH, 10e18); // bob owes 2042, not collected yet
        uint256 available = POOL - 1958e6;
        assertEq(perp.availableLiquidity(), available);
        uint256 shares = perp.sharesOf(lp);
        uint256 amount = uint256(perp.poolValue()) * shares / perp.totalShares();
        vm.prank(lp);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InsufficientPoolLiquidity.selector, available, amount));
        perp.withdrawLiquidity(shares);
    }

    function test_withdrawLiquidity_reservesUnrealisedProfit() public {
        _buy(alice, ETH, 10e18);
        _ethAt(2200e8); // alice has 2000 unrealised profit, owes a 20 fee
        assertEq(perp.availableLiquidity(), POOL - 2000e6);
    }

    /// @dev Traders' unrealised profit above the pool's assets leaves LP shares worth less than nothing: no
    ///      deposit or withdrawal can be priced.
    function test_liquidity_revertsWhenPoolInsolvent() public {
        _buy(alice, ETH, 1_000e18); // 2,000,000 of notional against a 1,000,000 pool
        _ethAt(4000e8); // alice is up 2,000,000
        int256 value = perp.poolValue();
        assertEq(value, int256(POOL) + 2_000e6 - 2_000_000e6); // + the 2,000 trading fee alice owes
        usdc.mint(bob, 1e6);
        vm.startPrank(bob);
        usdc.approve(address(perp), 1e6);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.PoolInsolvent.selector, value));
        perp.depositLiquidity(1e6);
        vm.stopPrank();
        vm.prank(lp);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.PoolInsolvent.selector, value));
        perp.withdrawLiquidity(1);
    }

    function test_withdrawLiquidity_revertsOnInsufficientShares() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InsufficientShares.selector, 0, 1));
        perp.withdrawLiquidity(1);
        vm.prank(bob);
        vm.expectRevert(PerpMarket.ZeroAmount.selector);
        perp.withdrawLiquidity(0);
    }

    // ------------------------------------------------------------ engine hooks

    function test_engineHooks_revertForNonEngine() public {
        bytes memory err = abi.encodeWithSelector(PerpMarket.NotEngine.selector, address(this));
        vm.expectRevert(err);
        perp.liquidationClose(alice, 0, 1e18);
        vm.expectRevert(err);
        perp.onRepay(alice, 0, 1);
        vm.expectRevert(err);
        perp.payOut(alice, 0, 1, alice);
        vm.expectRevert(err);
        perp.writeOff(alice, 0);
    }

    function test_liquidationClose_partial() public {
        _buy(alice, ETH, 2e18); // fee 4
        _sell(alice, BTC, 0.1e18); // fee 3
        _ethAt(1900e8);
        uint256 closed = engine.liquidationClose(alice, 0, 0.5e18);
        assertEq(closed, 1900e18 + 1500e18);
        assertEq(_size(alice, ETH), 1e18);
        assertEq(_size(alice, BTC), -0.05e18);
        assertEq(perp.settled(alice, 0), -4e6 - 3e6 - 100e6); // no trading fee on liquidation
        assertEq(perp.openMarketsOf(alice, 0).length, 2);
        assertEq(perp.market(ETH).longSize, 1e18);
        assertEq(perp.market(BTC).shortSize, 0.05e18);
    }

    function test_liquidationClose_full() public {
        _buy(alice, ETH, 2e18);
        _sell(alice, BTC, 0.1e18);
        _warp(1 hours);
        _ethAt(1900e8);
        uint256 borrow = perp.pendingBorrowFee(alice, 0, ETH) + perp.pendingBorrowFee(alice, 0, BTC);
        assertGt(borrow, 0);
        uint256 closed = engine.liquidationClose(alice, 0, 1e18);
        assertEq(closed, 3800e18 + 3000e18);
        assertEq(_size(alice, ETH), 0);
        assertEq(_size(alice, BTC), 0);
        assertEq(perp.openMarketsOf(alice, 0).length, 0);
        assertEq(perp.settled(alice, 0), -7e6 - 200e6 - int256(borrow));
        assertEq(perp.market(ETH).longSize, 0);
        assertEq(perp.market(BTC).shortSize, 0);
    }

    function test_liquidationClose_revertsOnInvalidFraction() public {
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidFraction.selector, 0));
        engine.liquidationClose(alice, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidFraction.selector, 1e18 + 1));
        engine.liquidationClose(alice, 0, 1e18 + 1);
    }

    function test_liquidationClose_ignoresDisabledMarketAndMarginCheck() public {
        _buy(alice, ETH, 1e18);
        _setRisk(ETH, 0, false);
        engine.setFailInitialMargin(true);
        engine.liquidationClose(alice, 0, 1e18);
        assertEq(_size(alice, ETH), 0);
    }

    function test_onRepay_reducesDebtWithoutChangingPoolValue() public {
        _buy(alice, ETH, 1e18);
        _sell(alice, ETH, 1e18);
        int256 value = perp.poolValue();
        usdc.mint(address(engine), 4e6);
        vm.expectEmit(address(perp));
        emit PerpMarket.Repaid(alice, 0, 4e6);
        engine.repay(alice, 0, 4e6);
        assertEq(perp.settled(alice, 0), 0);
        assertEq(perp.totalTraderDebt(), 0);
        assertEq(perp.poolValue(), value);
        vm.expectRevert(PerpMarket.ZeroAmount.selector);
        engine.onRepay(alice, 0, 0);
    }

    function test_payOut_paysCredit() public {
        _buy(alice, ETH, 1e18);
        _ethAt(2100e8);
        _sell(alice, ETH, 1e18);
        int256 credit = perp.settled(alice, 0); // 100 − 2 − 2.1
        assertEq(credit, 95.9e6);
        int256 value = perp.poolValue();
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InsufficientSettled.selector, credit, 96e6));
        engine.payOut(alice, 0, 96e6, bob);
        engine.payOut(alice, 0, 50e6, bob);
        assertEq(usdc.balanceOf(bob), 50e6);
        assertEq(perp.settled(alice, 0), 45.9e6);
        assertEq(perp.totalTraderCredit(), 45.9e6);
        assertEq(perp.poolValue(), value);
    }

    function test_payOut_revertsOnZeroAmountOrRecipient() public {
        vm.expectRevert(PerpMarket.ZeroAmount.selector);
        engine.payOut(alice, 0, 0, alice);
        vm.expectRevert(PerpMarket.ZeroAddress.selector);
        engine.payOut(alice, 0, 1, address(0));
    }

    function test_payOut_revertsOnDebt() public {
        _buy(alice, ETH, 1e18);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InsufficientSettled.selector, int256(-2e6), 1));
        engine.payOut(alice, 0, 1, alice);
    }

    function test_writeOff_movesDebtToPool() public {
        _buy(alice, ETH, 10e18);
        _ethAt(1500e8);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.PositionsOpen.selector, 1));
        engine.writeOff(alice, 0);
        engine.liquidationClose(alice, 0, 1e18);
        int256 value = perp.poolValue();
        uint256 debt = uint256(-perp.settled(alice, 0));
        assertEq(debt, 5000e6 + 20e6);
        assertEq(engine.writeOff(alice, 0), debt);
        assertEq(perp.settled(alice, 0), 0);
        assertEq(perp.badDebt(), debt);
        assertEq(perp.totalTraderDebt(), 0);
        assertEq(perp.poolValue(), value - int256(debt));
        assertEq(engine.writeOff(alice, 0), 0); // nothing left
    }

    // ------------------------------------------------------------ views

    /// @dev Net unrealised PnL over all markets from the open-interest aggregates, less accrued borrow fees.
    function test_traderUnrealisedPnl_netsLongsShortsAndBorrowFees() public {
        assertEq(perp.traderUnrealisedPnl(), 0);
        _buy(alice, ETH, 10e18); // entry notional 20,000
        _sell(bob, ETH, 4e18); // entry notional 8,000
        _ethAt(2100e8);
        // longs +1,000, shorts -400, no time elapsed: no borrow fee yet
        assertEq(perp.traderUnrealisedPnl(), 600e18);

        _warp(100);
        // index RATE × 100 on 28,000 of entry notional
        uint256 accrued = uint256(RATE) * 100 * 28_000e18 / 1e18;
        assertEq(perp.traderUnrealisedPnl(), 600e18 - int256(accrued));

        _sell(bob, BTC, 0.1e18); // entry 3,000 at 30,000; same price: only the ETH figures count
        assertEq(perp.traderUnrealisedPnl(), 600e18 - int256(accrued));
    }

    /// @dev A deposit followed by a withdrawal never returns more than was put in.
    function testFuzz_liquidityRoundTrip_noProfit(uint256 amount, uint256 size, int256 move) public {
        amount = bound(amount, 1e6, 10_000_000e6); // dust rounds to zero shares or a zero withdrawal (reverts)
        size = bound(size, 0, 100e18);
        move = bound(move, -500e8, 500e8);
        if (size != 0) _buy(alice, ETH, int256(size));
        _ethAt(2000e8 + move);
        usdc.mint(bob, amount);
        vm.startPrank(bob);
        usdc.approve(address(perp), amount);
        uint256 shares = perp.depositLiquidity(amount);
        uint256 out = perp.withdrawLiquidity(shares);
        vm.stopPrank();
        assertLe(out, amount);
    }

    // ------------------------------------------------------------ conservation

    /// @dev Trader equity + pool value never grows, and shrinks only by rounding (in the pool's favour).
    function _assertConserved(int256 total0) internal view {
        int256 total = _traderValue(alice) + _poolWad();
        assertLe(total, total0, "value created");
        assertGe(total, total0 - 3e12, "more than rounding lost");
    }

    function testFuzz_pnlConservation(uint256 size, uint256 p0, uint256 p1, uint256 dt, uint256 reduceBps, bool long)
        public
    {
        size = bound(size, 1e12, 100e18);
        p0 = bound(p0, 100e8, 10_000e8);
        p1 = bound(p1, p0 / 2, p0 * 2);
        dt = bound(dt, 0, 30 days);
        reduceBps = bound(reduceBps, 1, 30_000); // up to a flip to twice the size the other way
        _ethAt(int256(p0));
        int256 total0 = _traderValue(alice) + _poolWad();

        int256 signed = long ? int256(size) : -int256(size);
        vm.prank(alice);
        perp.trade(0, ETH, signed, long ? type(uint256).max : 0);
        _assertConserved(total0);

        _warp(dt);
        _ethAt(int256(p1));
        _assertConserved(total0);

        int256 delta = -signed * int256(reduceBps) / 10_000;
        if (delta != 0) {
            vm.prank(alice);
            perp.trade(0, ETH, delta, delta > 0 ? type(uint256).max : 0);
            _assertConserved(total0);
        }

        _warp(dt / 2);
        if (perp.openMarketsOf(alice, 0).length != 0) engine.liquidationClose(alice, 0, 1e18);
        _assertConserved(total0);
    }
}
