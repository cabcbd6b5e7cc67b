// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IAggregatorV3} from "../../contracts/interfaces/IAggregatorV3.sol";
import {IPriceAdapter} from "../../contracts/interfaces/IPriceAdapter.sol";
import {SettableAggregator} from "../../contracts/oracles/SettableAggregator.sol";
import {ChainlinkPriceAdapter} from "../../contracts/oracles/ChainlinkPriceAdapter.sol";
import {ERC4626PriceAdapter} from "../../contracts/oracles/ERC4626PriceAdapter.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {MockERC4626} from "../../contracts/mocks/MockERC4626.sol";

contract OraclesTest is Test {
    SettableAggregator internal feed8;
    SettableAggregator internal feed18;
    ChainlinkPriceAdapter internal single;
    ChainlinkPriceAdapter internal dual;

    uint256 internal constant MAX_AGE = 1 hours;

    function setUp() public {
        vm.warp(1_700_000_000);
        feed8 = new SettableAggregator(8, 2000e8, "ETH / USD");
        feed18 = new SettableAggregator(18, 2000e18, "ETH / USD (18)");
        single = new ChainlinkPriceAdapter(feed8, MAX_AGE, IAggregatorV3(address(0)), 0, 0);
        dual = new ChainlinkPriceAdapter(feed8, MAX_AGE, feed18, 2 * MAX_AGE, 100); // 1 %
    }

    // ------------------------------------------------------------ SettableAggregator

    function test_constructor_firstRound() public view {
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredIn) = feed8.latestRoundData();
        assertEq(id, 1);
        assertEq(answer, 2000e8);
        assertEq(startedAt, block.timestamp);
        assertEq(updatedAt, block.timestamp);
        assertEq(answeredIn, 1);
        assertEq(feed8.decimals(), 8);
        assertEq(feed8.description(), "ETH / USD");
        assertEq(feed8.version(), 4);
        assertEq(feed8.owner(), address(this));
    }

    function test_setAnswer_incrementsRoundAndEmits() public {
        vm.warp(block.timestamp + 10);
        vm.expectEmit(address(feed8));
        emit SettableAggregator.AnswerUpdated(2100e8, 2, block.timestamp);
        feed8.setAnswer(2100e8);
        (uint80 id, int256 answer,, uint256 updatedAt,) = feed8.latestRoundData();
        assertEq(id, 2);
        assertEq(answer, 2100e8);
        assertEq(updatedAt, block.timestamp);
        assertEq(feed8.latestAnswer(), 2100e8);
        (uint80 oldId, int256 oldAnswer,,,) = feed8.getRoundData(1);
        assertEq(oldId, 1);
        assertEq(oldAnswer, 2000e8);
    }

    function test_setAnswer_revertsForNonOwner() public {
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(0xBEEF)));
        feed8.setAnswer(1);
    }

    function test_setAnswerAt_setsTimestamp() public {
        feed8.setAnswerAt(1999e8, block.timestamp - 100);
        (,,, uint256 updatedAt,) = feed8.latestRoundData();
        assertEq(updatedAt, block.timestamp - 100);
    }

    function test_setAnswerAt_revertsInFuture() public {
        vm.expectRevert(abi.encodeWithSelector(SettableAggregator.InvalidTimestamp.selector, block.timestamp + 1));
        feed8.setAnswerAt(1, block.timestamp + 1);
    }

    function test_getRoundData_revertsForUnknownRound() public {
        vm.expectRevert(abi.encodeWithSelector(SettableAggregator.NoDataPresent.selector, uint80(2)));
        feed8.getRoundData(2);
        vm.expectRevert(abi.encodeWithSelector(SettableAggregator.NoDataPresent.selector, uint80(0)));
        feed8.getRoundData(0);
    }

    // ------------------------------------------------------------ ChainlinkPriceAdapter

    function test_price_scales8Decimals() public view {
        assertEq(single.price(), 2000e18);
    }

    function test_price_scales18Decimals() public {
        ChainlinkPriceAdapter a = new ChainlinkPriceAdapter(feed18, MAX_AGE, IAggregatorV3(address(0)), 0, 0);
        assertEq(a.price(), 2000e18);
    }

    function test_price_scalesMoreThan18DecimalsDown() public {
        SettableAggregator f = new SettableAggregator(20, 123456789, "odd");
        ChainlinkPriceAdapter a = new ChainlinkPriceAdapter(f, MAX_AGE, IAggregatorV3(address(0)), 0, 0);
        assertEq(a.price(), 1234567);
    }

    function testFuzz_price_scales8Decimals(uint64 answer) public {
        vm.assume(answer > 0);
        feed8.setAnswer(int256(uint256(answer)));
        assertEq(single.price(), uint256(answer) * 1e10);
    }

    function test_price_revertsOnZero() public {
        feed8.setAnswer(0);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.InvalidPrice.selector, address(feed8), int256(0)));
        single.price();
    }

    function test_price_revertsOnNegative() public {
        feed8.setAnswer(-1);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.InvalidPrice.selector, address(feed8), int256(-1)));
        single.price();
    }

    function test_price_revertsWhenStale() public {
        uint256 updatedAt = block.timestamp;
        vm.warp(block.timestamp + MAX_AGE); // exactly at the limit: still fresh
        assertEq(single.price(), 2000e18);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.StalePrice.selector, address(feed8), updatedAt, MAX_AGE));
        single.price();
    }

    function test_price_revertsWhenSetStale() public {
        uint256 old = block.timestamp - MAX_AGE - 1;
        feed8.setAnswerAt(2000e8, old);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.StalePrice.selector, address(feed8), old, MAX_AGE));
        single.price();
    }

    function test_price_revertsOnZeroTimestamp() public {
        feed8.setAnswerAt(2000e8, 0);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.StalePrice.selector, address(feed8), 0, MAX_AGE));
        single.price();
    }

    /// @dev An update dated after the current block cannot be trusted to be fresh (a feed clock ahead).
    function test_price_revertsOnFutureTimestamp() public {
        uint256 updatedAt = block.timestamp;
        vm.warp(updatedAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.StalePrice.selector, address(feed8), updatedAt, MAX_AGE));
        single.price();
    }

    function test_price_dualReturnsPrimaryWithinDeviation() public {
        feed18.setAnswer(2020e18); // exactly 1 % above
        assertEq(dual.price(), 2000e18);
        feed18.setAnswer(1980.2e18); // 2000 / 1980.2 - 1 = 0.9999 %
        assertEq(dual.price(), 2000e18);
    }

    function test_price_revertsOnDeviation() public {
        feed18.setAnswer(2020.000001e18);
        vm.expectRevert(
            abi.encodeWithSelector(IPriceAdapter.PriceDeviation.selector, 2000e18, 2020.000001e18, uint256(100))
        );
        dual.price();
        feed18.setAnswer(1980e18); // 2000 is 1.0101 % above 1980
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.PriceDeviation.selector, 2000e18, 1980e18, uint256(100)));
        dual.price();
    }

    function test_price_revertsWhenSecondaryStale() public {
        uint256 t0 = block.timestamp;
        vm.warp(t0 + MAX_AGE + 1);
        feed8.setAnswer(2000e8); // primary fresh
        assertEq(dual.price(), 2000e18); // secondary limit is 2 h
        vm.warp(t0 + 2 * MAX_AGE + 1);
        feed8.setAnswer(2000e8);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.StalePrice.selector, address(feed18), t0, 2 * MAX_AGE));
        dual.price();
    }

    function test_price_revertsWhenSecondaryInvalid() public {
        feed18.setAnswer(-5);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.InvalidPrice.selector, address(feed18), int256(-5)));
        dual.price();
    }

    function test_constructor_revertsOnBadConfig() public {
        IAggregatorV3 none = IAggregatorV3(address(0));
        vm.expectRevert(abi.encodeWithSelector(ChainlinkPriceAdapter.InvalidAdapterConfig.selector, "primary is zero"));
        new ChainlinkPriceAdapter(none, MAX_AGE, none, 0, 0);
        vm.expectRevert(
            abi.encodeWithSelector(ChainlinkPriceAdapter.InvalidAdapterConfig.selector, "primaryMaxAge is zero")
        );
        new ChainlinkPriceAdapter(feed8, 0, none, 0, 0);
        vm.expectRevert(
            abi.encodeWithSelector(ChainlinkPriceAdapter.InvalidAdapterConfig.selector, "secondaryMaxAge is zero")
        );
        new ChainlinkPriceAdapter(feed8, MAX_AGE, feed18, 0, 100);
        vm.expectRevert(
            abi.encodeWithSelector(
                ChainlinkPriceAdapter.InvalidAdapterConfig.selector, "maxDeviationBps not in 1..10000"
            )
        );
        new ChainlinkPriceAdapter(feed8, MAX_AGE, feed18, MAX_AGE, 0);
    }

    // ------------------------------------------------------------ ERC4626PriceAdapter

    function test_erc4626_priceTracksYield() public {
        MockERC20 usdc = new MockERC20("USD Coin", "USDC", 6);
        MockERC4626 vault = new MockERC4626(IERC20(address(usdc)), "Yield USDC", "yUSDC");
        SettableAggregator usdFeed = new SettableAggregator(8, 1e8, "USDC / USD");
        ChainlinkPriceAdapter usdPrice = new ChainlinkPriceAdapter(usdFeed, MAX_AGE, IAggregatorV3(address(0)), 0, 0);
        ERC4626PriceAdapter adapter = new ERC4626PriceAdapter(IERC4626(address(vault)), usdPrice);

        usdc.mint(address(this), 1000e6);
        usdc.approve(address(vault), type(uint256).max);
        vault.deposit(1000e6, address(this));
        assertEq(adapter.price(), 1e18);

        usdc.mint(address(vault), 100e6); // 10 % yield accrues
        // OZ's virtual share/asset offset makes the rate (1100e6 + 1) / (1000e6 + 1) per share: rounds down.
        uint256 one = 1e6;
        uint256 expected = (one * (1100e6 + 1) / (1000e6 + 1)) * 1e12;
        assertEq(adapter.price(), expected);
        assertApproxEqRel(adapter.price(), 1.1e18, 1e12);

        usdFeed.setAnswer(0.99e8); // underlying depegs
        assertEq(adapter.price(), expected * 99 / 100);
    }

    function test_erc4626_price18DecimalUnderlying() public {
        MockERC20 weth = new MockERC20("Wrapped Ether", "WETH", 18);
        MockERC4626 vault = new MockERC4626(IERC20(address(weth)), "Staked ETH", "sETH");
        ERC4626PriceAdapter adapter = new ERC4626PriceAdapter(IERC4626(address(vault)), single);
        weth.mint(address(this), 10e18);
        weth.approve(address(vault), type(uint256).max);
        vault.deposit(10e18, address(this));
        assertEq(adapter.price(), 2000e18);
        weth.mint(address(vault), 1e18); // +10 %
        assertApproxEqRel(adapter.price(), 2200e18, 1e9);
    }

    function test_erc4626_propagatesUnderlyingRevert() public {
        MockERC20 weth = new MockERC20("Wrapped Ether", "WETH", 18);
        MockERC4626 vault = new MockERC4626(IERC20(address(weth)), "Staked ETH", "sETH");
        ERC4626PriceAdapter adapter = new ERC4626PriceAdapter(IERC4626(address(vault)), single);
        vm.warp(block.timestamp + MAX_AGE + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPriceAdapter.StalePrice.selector, address(feed8), block.timestamp - MAX_AGE - 1, MAX_AGE
            )
        );
        adapter.price();
    }

    function test_erc4626_constructorRevertsOnZero() public {
        vm.expectRevert(ERC4626PriceAdapter.ZeroAddress.selector);
        new ERC4626PriceAdapter(IERC4626(address(0)), single);
        MockERC20 weth = new MockERC20("Wrapped Ether", "WETH", 18);
        MockERC4626 vault = new MockERC4626(IERC20(address(weth)), "Staked ETH", "sETH");
        vm.expectRevert(ERC4626PriceAdapter.ZeroAddress.selector);
        new ERC4626PriceAdapter(IERC4626(address(vault)), IPriceAdapter(address(0)));
    }

    /// @dev A vault that lost its assets prices a whole share at 0: the adapter refuses rather than let a
    ///      worthless share count as collateral or a zero price reach a division.
    function test_erc4626_revertsWhenAShareIsWorthNothing() public {
        MockERC20 usdc = new MockERC20("USD Coin", "USDC", 6);
        MockERC4626 vault = new MockERC4626(IERC20(address(usdc)), "Yield USDC", "yUSDC");
        SettableAggregator usdFeed = new SettableAggregator(8, 1e8, "USDC / USD");
        ChainlinkPriceAdapter usdPrice = new ChainlinkPriceAdapter(usdFeed, MAX_AGE, IAggregatorV3(address(0)), 0, 0);
        ERC4626PriceAdapter adapter = new ERC4626PriceAdapter(IERC4626(address(vault)), usdPrice);
        usdc.mint(address(this), 1000e6);
        usdc.approve(address(vault), type(uint256).max);
        vault.deposit(1000e6, address(this));

        deal(address(usdc), address(vault), 0); // the vault's assets are gone
        assertEq(vault.convertToAssets(1e6), 0);
        vm.expectRevert(abi.encodeWithSelector(IPriceAdapter.InvalidPrice.selector, address(vault), int256(0)));
        adapter.price();
    }
}
