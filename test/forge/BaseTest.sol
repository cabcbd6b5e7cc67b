// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TestHelperOz5} from "@layerzerolabs/test-devtools-evm-foundry/contracts/TestHelperOz5.sol";
import {OptionsBuilder} from "@layerzerolabs/oapp-evm/contracts/oapp/libs/OptionsBuilder.sol";
import {EnforcedOptionParam} from "@layerzerolabs/oapp-evm/contracts/oapp/interfaces/IOAppOptionsType3.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {XmarginOApp} from "../../contracts/common/XmarginOApp.sol";
import {ICollateralVault} from "../../contracts/interfaces/ICollateralVault.sol";
import {IMarginEngine, IMarginEngineTypes} from "../../contracts/interfaces/IMarginEngine.sol";
import {IPriceAdapter} from "../../contracts/interfaces/IPriceAdapter.sol";
import {IAggregatorV3} from "../../contracts/interfaces/IAggregatorV3.sol";
import {IVenue} from "../../contracts/interfaces/IVenue.sol";
import {MsgCodec} from "../../contracts/libraries/MsgCodec.sol";
import {CollateralVault} from "../../contracts/vault/CollateralVault.sol";
import {PerpMarket} from "../../contracts/markets/PerpMarket.sol";
import {SettableAggregator} from "../../contracts/oracles/SettableAggregator.sol";
import {ChainlinkPriceAdapter} from "../../contracts/oracles/ChainlinkPriceAdapter.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";

/// @title BaseTest
/// @notice The whole of xmargin on three LayerZero endpoints (TestHelperOz5, UltraLightNode):
///         a CollateralVault on A, B and C; a MarginEngine with a PerpMarket on B and C.
///         Every vault peers with every remote engine and every engine with every remote vault;
///         the vault and engine of one chain talk by direct call.
abstract contract BaseTest is TestHelperOz5 {
    using OptionsBuilder for bytes;

    uint32 internal constant A = 1;
    uint32 internal constant B = 2;
    uint32 internal constant C = 3;
    uint16 internal constant WETH_ASSET = 1;
    uint16 internal constant USDC_ASSET = 2;
    uint32 internal constant ETH_PERP = 1;
    uint128 internal constant GAS = 350_000;

    /// @dev Per chain (index = eid): vault, tokens, and on B and C the engine, market and price feeds.
    mapping(uint32 => CollateralVault) internal vaults;
    mapping(uint32 => IMarginEngine) internal engines;
    mapping(uint32 => PerpMarket) internal markets;
    mapping(uint32 => MockERC20) internal weth;
    mapping(uint32 => MockERC20) internal usdc;
    mapping(uint32 => SettableAggregator) internal ethFeed;

    address internal owner = address(this);
    address internal guardian = makeAddr("guardian");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal liquidator = makeAddr("liquidator");
    address internal lp = makeAddr("lp");
    bytes internal options;

    function setUp() public virtual override {
        setExecutorValueCap(1 ether);
        super.setUp();
        setUpEndpoints(3, LibraryType.UltraLightNode);
        options = OptionsBuilder.newOptions().addExecutorLzReceiveOption(GAS, 0);

        for (uint32 eid = A; eid <= C; ++eid) {
            weth[eid] = new MockERC20("Wrapped Ether", "WETH", 18);
            usdc[eid] = new MockERC20("USD Coin", "USDC", 6);
            vaults[eid] = new CollateralVault(address(endpoints[eid]), owner);
            vaults[eid].setGuardian(guardian);
            _enableVaultAsset(eid, address(weth[eid]));
            _enableVaultAsset(eid, address(usdc[eid]));
            _enableVaultAsset(eid, vaults[eid].NATIVE());
        }
        _deployEngine(B);
        _deployEngine(C);
        _wire();

        address[4] memory people = [alice, bob, liquidator, lp];
        for (uint32 eid = A; eid <= C; ++eid) {
            for (uint256 i; i < people.length; ++i) {
                weth[eid].mint(people[i], 1_000e18);
                usdc[eid].mint(people[i], 10_000_000e6);
                vm.startPrank(people[i]);
                weth[eid].approve(address(vaults[eid]), type(uint256).max);
                usdc[eid].approve(address(vaults[eid]), type(uint256).max);
                if (address(engines[eid]) != address(0)) {
                    usdc[eid].approve(address(engines[eid]), type(uint256).max);
                    usdc[eid].approve(address(markets[eid]), type(uint256).max);
                }
                vm.stopPrank();
                vm.deal(people[i], 100 ether);
            }
        }
        vm.prank(lp);
        markets[B].depositLiquidity(1_000_000e6);
        vm.prank(lp);
        markets[C].depositLiquidity(1_000_000e6);
    }

    // ------------------------------------------------------------------ deployment

    function _enableVaultAsset(uint32 eid, address token) internal {
        vaults[eid].setAssetConfig(
            token, ICollateralVault.AssetConfig(true, type(uint128).max, type(uint128).max, 1 days)
        );
    }

    function _deployEngine(uint32 eid) internal {
        IMarginEngine engine =
            IMarginEngine(deployCode("MarginEngine.sol:MarginEngine", abi.encode(address(endpoints[eid]), owner)));
        engines[eid] = engine;
        XmarginOApp(address(engine)).setGuardian(guardian);

        ethFeed[eid] = new SettableAggregator(8, 2000e8, "ETH / USD");
        SettableAggregator usdFeed = new SettableAggregator(8, 1e8, "USDC / USD");
        IPriceAdapter ethPrice =
            new ChainlinkPriceAdapter(IAggregatorV3(address(ethFeed[eid])), 1 days, IAggregatorV3(address(0)), 0, 0);
        IPriceAdapter usdPrice =
            new ChainlinkPriceAdapter(IAggregatorV3(address(usdFeed)), 1 days, IAggregatorV3(address(0)), 0, 0);

        PerpMarket market = new PerpMarket(engine, IERC20Metadata(address(usdc[eid])), owner);
        markets[eid] = market;
        market.addMarket(ETH_PERP, ethPrice, 0.0005e18, 0);

        engine.setVenue(IVenue(address(market)));
        engine.setLocalVault(address(vaults[eid]));
        vaults[eid].setLocalEngine(address(engine));
        engine.setRiskAsset(WETH_ASSET, IMarginEngineTypes.RiskAsset(ethPrice, 0.8e18, true, 0));
        engine.setRiskAsset(USDC_ASSET, IMarginEngineTypes.RiskAsset(usdPrice, 0.95e18, true, 0));
        for (uint32 src = A; src <= C; ++src) {
            engine.setCollateralSource(src, address(weth[src]), _source(WETH_ASSET, 18));
            engine.setCollateralSource(src, address(usdc[src]), _source(USDC_ASSET, 6));
        }
        engine.setMarketRisk(ETH_PERP, IMarginEngineTypes.MarketRisk(0.1e18, 0.05e18, 100_000_000e18, true));
        engine.setLiquidationConfig(IMarginEngineTypes.LiquidationConfig(0.05e18, 1.25e18, 0.5e18, 50e18));
    }

    function _source(uint16 assetId, uint8 decimals) internal pure returns (IMarginEngineTypes.CollateralSource memory) {
        return IMarginEngineTypes.CollateralSource(assetId, decimals, true, 0, 0, type(uint128).max, type(uint128).max, 1 days);
    }

    /// @dev Peers (vault <-> every remote engine) and enforced gas for every message type.
    function _wire() internal {
        bytes memory gasOnly = OptionsBuilder.newOptions().addExecutorLzReceiveOption(GAS, 0);
        for (uint32 v = A; v <= C; ++v) {
            for (uint32 e = B; e <= C; ++e) {
                if (v == e) continue;
                vaults[v].setPeer(e, addressToBytes32(address(engines[e])));
                XmarginOApp(address(engines[e])).setPeer(v, addressToBytes32(address(vaults[v])));

                EnforcedOptionParam[] memory vaultOpts = new EnforcedOptionParam[](2);
                vaultOpts[0] = EnforcedOptionParam(e, MsgCodec.LOCK, gasOnly);
                vaultOpts[1] = EnforcedOptionParam(e, MsgCodec.HEARTBEAT, gasOnly);
                vaults[v].setEnforcedOptions(vaultOpts);

                EnforcedOptionParam[] memory engineOpts = new EnforcedOptionParam[](3);
                engineOpts[0] = EnforcedOptionParam(v, MsgCodec.RELEASE, gasOnly);
                engineOpts[1] = EnforcedOptionParam(v, MsgCodec.SEIZE, gasOnly);
                engineOpts[2] = EnforcedOptionParam(v, MsgCodec.MOVE, gasOnly);
                XmarginOApp(address(engines[e])).setEnforcedOptions(engineOpts);
            }
        }
    }

    // ------------------------------------------------------------------ actions

    /// @dev `who` deposits on chain `eid` for the engine on `engineEid`, paying the quoted fee.
    function _deposit(address who, uint32 eid, address token, uint256 amount, uint32 engineEid)
        internal
        returns (bytes32)
    {
        uint256 fee = vaults[eid].quoteDeposit(token, amount, 0, engineEid, "").nativeFee;
        uint256 value = token == vaults[eid].NATIVE() ? amount + fee : fee;
        vm.prank(who);
        return vaults[eid].deposit{value: value}(token, amount, 0, engineEid, "");
    }

    /// @dev Delivers every packet in flight to `oapp` on chain `eid`.
    function _deliver(uint32 eid, address oapp) internal {
        verifyPackets(eid, addressToBytes32(oapp));
    }

    function _deliverToEngine(uint32 eid) internal {
        _deliver(eid, address(engines[eid]));
    }

    function _deliverToVault(uint32 eid) internal {
        _deliver(eid, address(vaults[eid]));
    }

    function _setEthPrice(uint32 engineEid, int256 price8) internal {
        ethFeed[engineEid].setAnswer(price8);
    }

    function _open(address who, uint32 engineEid, int256 size) internal {
        vm.prank(who);
        markets[engineEid].trade(0, ETH_PERP, size, size > 0 ? type(uint256).max : 0);
    }

    function _health(address who, uint32 engineEid) internal view returns (IMarginEngineTypes.HealthView memory) {
        return engines[engineEid].health(who, 0);
    }
}
