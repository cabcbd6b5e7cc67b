// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

import {BaseTest} from "./BaseTest.sol";
import {TransientReentrancyGuard} from "../../contracts/common/TransientReentrancyGuard.sol";
import {IMarginEngine, IMarginEngineTypes} from "../../contracts/interfaces/IMarginEngine.sol";
import {IPriceAdapter} from "../../contracts/interfaces/IPriceAdapter.sol";
import {ERC4626PriceAdapter} from "../../contracts/oracles/ERC4626PriceAdapter.sol";
import {FeeOnTransferERC20} from "../../contracts/mocks/FeeOnTransferERC20.sol";
import {MockERC4626} from "../../contracts/mocks/MockERC4626.sol";
import {ReentrantERC20} from "../../contracts/mocks/ReentrantERC20.sol";

/// @notice Unusual collateral tokens through a vault and an engine: ERC-4626 shares valued at
///         convertToAssets × the underlying's price (deposited locally on B and remotely on A), a
///         fee-on-transfer token credited at what the vault received, and a token that re-enters the engine
///         while the vault pays it out.
contract CollateralTokensTest is BaseTest {
    uint16 internal constant SHARES_B_ASSET = 3;
    uint16 internal constant SHARES_A_ASSET = 4;
    uint64 internal constant SHARE_WEIGHT = 0.7e18;

    /// @dev Yield-bearing WETH on chains B and A: alice holds 10 shares of 11 WETH (10 % yield accrued).
    MockERC4626 internal sharesB;
    MockERC4626 internal sharesA;

    function setUp() public override {
        super.setUp();
        sharesB = _shareVault(B);
        sharesA = _shareVault(A);
        IPriceAdapter ethPrice = engines[B].riskAsset(WETH_ASSET).oracle;
        _acceptShares(SHARES_B_ASSET, B, sharesB, ethPrice);
        // A real deployment would bring the rate of chain A's shares to B through a feed; the test chains
        // share one EVM, so the adapter on B reads A's share vault directly.
        _acceptShares(SHARES_A_ASSET, A, sharesA, ethPrice);
    }

    function _shareVault(uint32 eid) internal returns (MockERC4626 shares) {
        shares = new MockERC4626(IERC20(address(weth[eid])), "Staked WETH", "sWETH");
        _enableVaultAsset(eid, address(shares));
        vm.startPrank(alice);
        weth[eid].approve(address(shares), type(uint256).max);
        shares.deposit(10e18, alice);
        shares.approve(address(vaults[eid]), type(uint256).max);
        vm.stopPrank();
        weth[eid].mint(address(shares), 1e18);
    }

    function _acceptShares(uint16 assetId, uint32 srcEid, MockERC4626 shares, IPriceAdapter underlyingPrice) internal {
        IPriceAdapter sharePrice = new ERC4626PriceAdapter(IERC4626(address(shares)), underlyingPrice);
        engines[B].setRiskAsset(assetId, IMarginEngineTypes.RiskAsset(sharePrice, SHARE_WEIGHT, true, 0));
        engines[B].setCollateralSource(srcEid, address(shares), _source(assetId, 18));
    }

    /// @dev Collateral value of `amount` shares, computed independently of the contracts: assets per whole
    ///      share with OpenZeppelin's virtual offset, (assets + 1) / (supply + 1), times the ETH price, times
    ///      the weight, each step rounded down as the engine and the adapter round.
    function _shareValue(uint256 amount, uint256 assets, uint256 ethUsd) internal pure returns (uint256) {
        uint256 assetsPerShare = 1e18 * (assets + 1) / (10e18 + 1);
        uint256 shareUsd = assetsPerShare * ethUsd / 1e18;
        return amount * shareUsd / 1e18 * SHARE_WEIGHT / 1e18;
    }

    // ------------------------------------------------------------------ ERC-4626 shares

    function test_shares_localDepositValuedAtConvertToAssetsTimesPrice() public {
        _deposit(alice, B, address(sharesB), 5e18, B);
        assertEq(engines[B].creditOf(alice, 0, B, address(sharesB)), 5e18);
        uint256 assets = 11e18;
        assertEq(sharesB.convertToAssets(1e18), 1e18 * (assets + 1) / (10e18 + 1));

        uint256 expected = _shareValue(5e18, 11e18, 2000e18);
        assertEq(_health(alice, B).collateralValue, expected);
        assertApproxEqRel(expected, 5 * 2200e18 * 7 / 10, 1e9, "5 shares of 1.1 WETH at 2,000, weight 0.7");

        // Yield raises the value at once; so does the underlying's price.
        weth[B].mint(address(sharesB), 1e18);
        assertEq(_health(alice, B).collateralValue, _shareValue(5e18, 12e18, 2000e18));
        _setEthPrice(B, 1500e8);
        assertEq(_health(alice, B).collateralValue, _shareValue(5e18, 12e18, 1500e18));
    }

    function test_shares_remoteDepositCreditedAndValuedOnB() public {
        _deposit(alice, A, address(sharesA), 4e18, B);
        assertEq(_health(alice, B).collateralValue, 0, "nothing before the LOCK lands");
        _deliverToEngine(B);
        assertEq(engines[B].creditOf(alice, 0, A, address(sharesA)), 4e18);
        assertEq(vaults[A].locked(alice, 0, address(sharesA)), 4e18);
        assertEq(_health(alice, B).collateralValue, _shareValue(4e18, 11e18, 2000e18));
    }

    function test_shares_backAPositionAndPayOutOnWithdraw() public {
        _deposit(alice, B, address(sharesB), 5e18, B);
        _open(alice, B, 3e18); // notional 6,000, IM 600 of about 7,700 of collateral value
        vm.prank(alice);
        engines[B].withdraw(0, B, address(sharesB), 4e18, alice, "");
        assertEq(sharesB.balanceOf(alice), 9e18);
        assertEq(_health(alice, B).collateralValue, _shareValue(1e18, 11e18, 2000e18));

        vm.prank(alice);
        vm.expectPartialRevert(IMarginEngineTypes.BelowInitialMargin.selector);
        engines[B].withdraw(0, B, address(sharesB), 1e18, alice, "");
    }

    // ------------------------------------------------------------------ fee-on-transfer and re-entrant tokens

    /// @dev The engine credits what the vault received (the LOCK carries the balance delta), so its credit
    ///      never exceeds what the vault holds, and withdrawing all of it leaves the vault solvent.
    function test_feeOnTransfer_engineCreditsWhatTheVaultReceived() public {
        FeeOnTransferERC20 fot = new FeeOnTransferERC20("Fee", "FEE", 18, 100); // 1 %
        _enableVaultAsset(A, address(fot));
        engines[B].setCollateralSource(A, address(fot), _source(WETH_ASSET, 18));
        fot.mint(alice, 100e18);
        vm.prank(alice);
        fot.approve(address(vaults[A]), type(uint256).max);

        _deposit(alice, A, address(fot), 100e18, B);
        _deliverToEngine(B);
        assertEq(fot.balanceOf(address(vaults[A])), 99e18);
        assertEq(engines[B].creditOf(alice, 0, A, address(fot)), 99e18);
        assertEq(_health(alice, B).collateralValue, 99 * 2000e18 * 8 / 10);

        uint256 fee = engines[B].quoteWithdraw(A, "").nativeFee;
        vm.prank(alice);
        engines[B].withdraw{value: fee}(0, A, address(fot), 99e18, alice, "");
        _deliverToVault(A);
        assertEq(fot.balanceOf(alice), 98.01e18, "the token takes its fee on the way out too");
        assertEq(vaults[A].locked(alice, 0, address(fot)), 0);
        assertEq(vaults[A].totalLocked(address(fot)), 0);
        assertEq(fot.balanceOf(address(vaults[A])), 0);
    }

    /// @dev A local withdrawal pays out inside the engine's call (engine -> vault -> token). A token that
    ///      calls back into the engine there is refused by the engine's guard.
    function test_reentrantToken_cannotReenterTheEngineDuringAPayout() public {
        ReentrantERC20 reent = new ReentrantERC20();
        _enableVaultAsset(B, address(reent));
        engines[B].setCollateralSource(B, address(reent), _source(WETH_ASSET, 18));
        reent.mint(alice, 10e18);
        vm.prank(alice);
        reent.approve(address(vaults[B]), type(uint256).max);
        _deposit(alice, B, address(reent), 10e18, B);

        IMarginEngine engine = engines[B];
        reent.arm(address(engine), abi.encodeCall(engine.withdraw, (0, B, address(reent), 1e18, address(reent), "")));
        vm.prank(alice);
        engine.withdraw(0, B, address(reent), 4e18, alice, "");

        assertFalse(reent.attackSucceeded());
        assertEq(bytes4(reent.attackRevertData()), TransientReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        assertEq(reent.balanceOf(alice), 4e18);
        assertEq(engine.creditOf(alice, 0, B, address(reent)), 6e18);
        assertEq(vaults[B].locked(alice, 0, address(reent)), 6e18);
        assertEq(reent.balanceOf(address(vaults[B])), 6e18);
    }
}
