// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {OptionsBuilder} from "@layerzerolabs/oapp-evm/contracts/oapp/libs/OptionsBuilder.sol";
import {Origin} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {ILayerZeroReceiver} from "@layerzerolabs/lz-evm-protocol-v2/contracts/interfaces/ILayerZeroReceiver.sol";

import {XmarginOApp} from "../../../contracts/common/XmarginOApp.sol";
import {IMarginEngine, IMarginEngineTypes} from "../../../contracts/interfaces/IMarginEngine.sol";
import {CollateralVault} from "../../../contracts/vault/CollateralVault.sol";
import {PerpMarket} from "../../../contracts/markets/PerpMarket.sol";
import {SettableAggregator} from "../../../contracts/oracles/SettableAggregator.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";

/// @notice What the handler needs from the test contract: the deployed system and the packet relay
///         (TestHelperOz5 keeps the packet queues in the test contract, so delivery goes through it).
interface IXmarginFixture {
    function vaultAt(uint32 eid) external view returns (CollateralVault);
    function engineAt(uint32 eid) external view returns (IMarginEngine);
    function marketAt(uint32 eid) external view returns (PerpMarket);
    function wethAt(uint32 eid) external view returns (MockERC20);
    function usdcAt(uint32 eid) external view returns (MockERC20);
    function feedAt(uint32 eid) external view returns (SettableAggregator);
    function endpointAt(uint32 eid) external view returns (address);
    /// @dev Delivers every queued packet for `oapp` on `eid` and records each for replays.
    function deliver(uint32 eid, address oapp) external;
    function deliveredCount() external view returns (uint256);
    function delivered(uint256 i)
        external
        view
        returns (Origin memory origin, uint32 dstEid, address receiver, bytes32 guid, bytes memory message);
}

/// @notice Invariant handler for the whole system on three endpoints: deposits (WETH, USDC, native; on A, B
///         and C; for the engine on B or C), withdrawals, moves between engines, trades, ETH price moves,
///         liquidations, packet delivery and replays of delivered packets. Expected reverts are swallowed;
///         anything that breaks a property is counted in a ghost violation counter.
contract XmarginHandler is Test {
    using OptionsBuilder for bytes;

    uint32 internal constant A = 1;
    uint32 internal constant B = 2;
    uint32 internal constant C = 3;
    uint32 internal constant ETH_PERP = 1;
    uint256 internal constant WAD = 1e18;
    address internal constant NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    IXmarginFixture public immutable fixture;
    address public immutable liquidator;
    address[] public actors;

    // ------------------------------------------------------------------ ghosts

    /// @notice Per (engine, source chain, token): Σ LOCKs the vault sent (or will send) to the engine,
    ///         i.e. deposits for it and moves into it.
    mapping(uint32 => mapping(uint32 => mapping(address => uint256))) public ghostLockedTo;
    /// @notice Per (engine, source chain, token): Σ credit the engine debited (withdrawals, moves out, seizures).
    mapping(uint32 => mapping(uint32 => mapping(address => uint256))) public ghostDebitedFrom;
    /// @notice Per (vault chain, token): Σ received by deposits.
    mapping(uint32 => mapping(address => uint256)) public ghostDeposited;
    /// @notice Per (vault chain, token): Σ engines debited for RELEASE or SEIZE out of that vault.
    mapping(uint32 => mapping(address => uint256)) public ghostPayoutDebited;

    uint256 public ghostHealthyLiquidated;
    uint256 public ghostUnhealthyNotLiquidatable;
    bytes public lastLiquidationRevert;
    uint256 public ghostBelowInitialMargin;
    uint256 public ghostReplayChanged;
    uint256 public ghostDeliveryFailures;
    bytes public lastDeliveryRevert;

    // ------------------------------------------------------------------ call counters (for the summary)

    mapping(bytes32 => uint256) public calls;
    /// @notice The last revert data of an action (for the summary).
    mapping(bytes32 => bytes) public lastRevert;

    constructor(IXmarginFixture fixture_, address[] memory actors_, address liquidator_) {
        fixture = fixture_;
        actors = actors_;
        liquidator = liquidator_;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    // =================================================================== actions

    /// @notice An actor locks WETH, USDC or native on chain A, B or C for the engine on B or C.
    function deposit(uint256 actorSeed, uint256 chainSeed, uint256 tokenSeed, bool toC, uint256 amount) external {
        address actor = _actor(actorSeed);
        uint32 chain = uint32(A + (chainSeed % 3));
        uint32 engineEid = toC ? C : B;
        CollateralVault vault = fixture.vaultAt(chain);
        address token;
        uint256 kind = tokenSeed % 3;
        if (kind == 0) {
            token = address(fixture.wethAt(chain));
            amount = bound(amount, 0.01e18, 20e18);
        } else if (kind == 1) {
            token = address(fixture.usdcAt(chain));
            amount = bound(amount, 10e6, 50_000e6);
        } else {
            token = NATIVE;
            amount = bound(amount, 0.01 ether, 10 ether);
        }
        uint256 fee = vault.quoteDeposit(token, amount, 0, engineEid, "").nativeFee;
        uint256 value = fee;
        if (token == NATIVE) {
            value += amount;
        } else {
            MockERC20(token).mint(actor, amount);
            vm.prank(actor);
            MockERC20(token).approve(address(vault), amount);
        }
        vm.deal(actor, actor.balance + value);
        vm.prank(actor);
        try vault.deposit{value: value}(token, amount, 0, engineEid, "") {
            ghostLockedTo[engineEid][chain][token] += amount;
            ghostDeposited[chain][token] += amount;
            ++calls["deposit"];
        } catch (bytes memory reason) {
            lastRevert["deposit"] = reason;
            ++calls["deposit.reverted"];
        }
    }

    /// @notice An actor withdraws part of one of its collaterals on engine B or C (local or remote vault).
    function withdraw(uint256 actorSeed, bool onC, uint256 collateralSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        uint32 engineEid = onC ? C : B;
        IMarginEngine engine = fixture.engineAt(engineEid);
        (bool found, uint32 src, address token, uint256 credit) = _pickCollateral(engine, actor, collateralSeed);
        if (!found) return;
        amount = bound(amount, 1, credit);
        uint256 fee = engine.quoteWithdraw(src, "").nativeFee;
        vm.deal(actor, actor.balance + fee);
        vm.prank(actor);
        try engine.withdraw{value: fee}(0, src, token, amount, actor, "") {
            ghostDebitedFrom[engineEid][src][token] += amount;
            ghostPayoutDebited[src][token] += amount;
            _checkInitialMargin(engine, actor);
            ++calls["withdraw"];
        } catch {
            ++calls["withdraw.reverted"];
        }
    }

    /// @notice An actor moves part of one of its collaterals from engine B to C or C to B, through the
    ///         collateral's vault (direct call when the vault is on the engine's chain, MOVE otherwise).
    function move(uint256 actorSeed, bool fromC, uint256 collateralSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        uint32 from = fromC ? C : B;
        IMarginEngine engine = fixture.engineAt(from);
        (bool found, uint32 src, address token, uint256 credit) = _pickCollateral(engine, actor, collateralSeed);
        if (!found) return;
        amount = bound(amount, 1, credit);
        if (_tryMove(actor, engine, src, token, amount, fromC ? B : C)) {
            ghostDebitedFrom[from][src][token] += amount;
            ghostLockedTo[fromC ? B : C][src][token] += amount;
            _checkInitialMargin(engine, actor);
            ++calls["move"];
        } else {
            ++calls["move.reverted"];
        }
    }

    function _tryMove(address actor, IMarginEngine engine, uint32 src, address token, uint256 amount, uint32 to)
        internal
        returns (bool)
    {
        bytes memory opts;
        uint256 value;
        if (src == XmarginOApp(address(engine)).localEid()) {
            // The local vault sends the LOCK to `to` right away, paid by msg.value (excess refunded).
            value = fixture.vaultAt(src).quoteDeposit(token, amount, 0, to, "").nativeFee * 2;
        } else if (src != to) {
            // The remote vault's lzReceive sends a LOCK to `to`: it needs native value for its fee and gas on top
            // of the enforced 350k. The test relay's packet bookkeeping (schedulePacket) alone takes ~290k of it,
            // and every handler call is its own transaction, so the vault's storage is cold: about 605k in all.
            opts = OptionsBuilder.newOptions().addExecutorLzReceiveOption(400_000, 0.05 ether);
            value = engine.quoteMove(src, opts).nativeFee;
        } else {
            // The remote vault is on `to`'s chain: it credits its local engine directly.
            value = engine.quoteMove(src, opts).nativeFee;
        }
        vm.deal(actor, actor.balance + value);
        vm.prank(actor);
        try engine.move{value: value}(0, src, token, amount, to, opts) {
            return true;
        } catch {
            return false;
        }
    }

    /// @notice An actor opens, adds to, reduces or flips an ETH perp position on engine B or C, sized at
    ///         0.1x to 9.5x its equity (so that many trades pass initial margin and price moves bite).
    function trade(uint256 actorSeed, bool onC, uint256 leverageBps, bool long) external {
        address actor = _actor(actorSeed);
        uint32 engineEid = onC ? C : B;
        int256 equity = fixture.engineAt(engineEid).health(actor, 0).equity;
        if (equity <= 0) return;
        uint256 price = uint256(fixture.feedAt(engineEid).latestAnswer()) * 1e10;
        uint256 notional = uint256(equity) * bound(leverageBps, 1_000, 95_000) / 10_000;
        int256 size = int256(notional * 1e18 / price);
        if (size == 0) return;
        if (!long) size = -size;
        PerpMarket market = fixture.marketAt(engineEid);
        vm.prank(actor);
        try market.trade(0, ETH_PERP, size, size > 0 ? type(uint256).max : 0) {
            ++calls["trade"];
        } catch (bytes memory reason) {
            lastRevert["trade"] = reason;
            ++calls["trade.reverted"];
        }
    }

    /// @notice An actor closes its ETH perp position on engine B or C.
    function close(uint256 actorSeed, bool onC) external {
        address actor = _actor(actorSeed);
        PerpMarket market = fixture.marketAt(onC ? C : B);
        int256 size = market.positionOf(actor, 0, ETH_PERP).size;
        if (size == 0) return;
        vm.prank(actor);
        try market.trade(0, ETH_PERP, -size, size < 0 ? type(uint256).max : 0) {
            ++calls["close"];
        } catch {
            ++calls["close.reverted"];
        }
    }

    /// @notice ETH moves by up to ±30% (or ±3%) (both engines' feeds: one economic asset), feeds stay fresh.
    function movePrice(int256 bps, bool small) external {
        // Small steps too, so that sub-accounts also sit just around the liquidation line.
        bps = small ? bound(bps, -300, 300) : bound(bps, -3000, 3000);
        int256 price = fixture.feedAt(B).latestAnswer();
        price = price * (10_000 + bps) / 10_000;
        if (price < 100e8) price = 100e8;
        if (price > 50_000e8) price = 50_000e8;
        for (uint32 eid = B; eid <= C; ++eid) {
            SettableAggregator feed = fixture.feedAt(eid);
            vm.prank(address(fixture));
            feed.setAnswer(price);
        }
        ++calls["movePrice"];
    }

    /// @notice The liquidator tries to liquidate an actor on engine B or C, taking every collateral it has
    ///         (seize orders in the order the engine lists them). Healthy must refuse, unhealthy must succeed.
    function liquidate(uint256 actorSeed, bool onC, bool riskiest) external {
        uint32 engineEid = onC ? C : B;
        IMarginEngine engine = fixture.engineAt(engineEid);
        address actor = _actor(actorSeed);
        uint256 healthBefore = engine.health(actor, 0).health;
        if (riskiest) {
            // Liquidators watch the riskiest sub-account, healthy or not.
            for (uint256 i; i < actors.length; ++i) {
                uint256 h = engine.health(actors[i], 0).health;
                if (h < healthBefore) (actor, healthBefore) = (actors[i], h);
            }
        }

        (uint32[] memory srcs, address[] memory tokens,) = engine.collateralsOf(actor, 0);
        IMarginEngineTypes.SeizeOrder[] memory seizes = new IMarginEngineTypes.SeizeOrder[](srcs.length);
        uint256 value;
        for (uint256 i; i < srcs.length; ++i) {
            seizes[i] = IMarginEngineTypes.SeizeOrder(srcs[i], tokens[i], 1e15, "");
            value += engine.quoteSeize(srcs[i], "").nativeFee;
        }
        // Fund the liquidator well: quote tokens for any repayment, native for the SEIZE fees.
        fixture.usdcAt(engineEid).mint(liquidator, 100_000_000e6);
        vm.deal(liquidator, liquidator.balance + value);

        vm.prank(liquidator);
        try engine.liquidate{value: value}(IMarginEngineTypes.LiquidateParams(actor, 0, seizes, liquidator)) returns (
            IMarginEngineTypes.LiquidationResult memory r
        ) {
            if (healthBefore >= WAD) ++ghostHealthyLiquidated;
            for (uint256 i; i < r.seized.length; ++i) {
                if (r.seized[i] == 0) continue;
                ghostDebitedFrom[engineEid][srcs[i]][tokens[i]] += r.seized[i];
                ghostPayoutDebited[srcs[i]][tokens[i]] += r.seized[i];
            }
            ++calls[healthBefore >= WAD ? bytes32("liquidate.healthy") : bytes32("liquidate")];
        } catch (bytes memory reason) {
            if (healthBefore < WAD) {
                ++ghostUnhealthyNotLiquidatable;
                lastLiquidationRevert = reason;
                ++calls["liquidate.unhealthyReverted"];
            } else {
                ++calls["liquidate.healthyRefused"];
            }
        }
    }

    /// @notice The liquidator liquidates every actor on engine B or C in one `liquidateBatch`, each item taking
    ///         all its collateral with its own SEIZE fees. Healthy items must be skipped, unhealthy ones land.
    function liquidateBatch(bool onC) external {
        uint32 engineEid = onC ? C : B;
        IMarginEngine engine = fixture.engineAt(engineEid);
        uint256 n = actors.length;
        IMarginEngineTypes.LiquidateParams[] memory items = new IMarginEngineTypes.LiquidateParams[](n);
        uint256[] memory fees = new uint256[](n);
        uint256[] memory healthBefore = new uint256[](n);
        uint256 value;
        for (uint256 a; a < n; ++a) {
            healthBefore[a] = engine.health(actors[a], 0).health;
            (uint32[] memory srcs, address[] memory tokens,) = engine.collateralsOf(actors[a], 0);
            IMarginEngineTypes.SeizeOrder[] memory seizes = new IMarginEngineTypes.SeizeOrder[](srcs.length);
            for (uint256 i; i < srcs.length; ++i) {
                seizes[i] = IMarginEngineTypes.SeizeOrder(srcs[i], tokens[i], 1e15, "");
                fees[a] += engine.quoteSeize(srcs[i], "").nativeFee;
            }
            items[a] = IMarginEngineTypes.LiquidateParams(actors[a], 0, seizes, liquidator);
            value += fees[a];
        }
        fixture.usdcAt(engineEid).mint(liquidator, 100_000_000e6);
        vm.deal(liquidator, liquidator.balance + value);

        vm.prank(liquidator);
        IMarginEngineTypes.BatchLiquidation[] memory out = engine.liquidateBatch{value: value}(items, fees);
        for (uint256 a; a < n; ++a) {
            if (out[a].landed) {
                if (healthBefore[a] >= WAD) ++ghostHealthyLiquidated;
                IMarginEngineTypes.SeizeOrder[] memory seizes = items[a].seizes;
                for (uint256 i; i < seizes.length; ++i) {
                    uint256 seized = out[a].result.seized[i];
                    if (seized == 0) continue;
                    ghostDebitedFrom[engineEid][seizes[i].srcEid][seizes[i].token] += seized;
                    ghostPayoutDebited[seizes[i].srcEid][seizes[i].token] += seized;
                }
                ++calls["liquidateBatch.landed"];
            } else if (healthBefore[a] < WAD) {
                ++ghostUnhealthyNotLiquidatable;
                lastLiquidationRevert = out[a].revertData;
                ++calls["liquidate.unhealthyReverted"];
            } else {
                ++calls["liquidateBatch.skipped"];
            }
        }
        ++calls["liquidateBatch"];
    }

    /// @notice Delivers every queued packet to one of the five receivers (vaults on A, B, C; engines on B, C).
    function deliver(uint256 seed) external {
        uint256 pick = seed % 5;
        uint32 eid;
        address oapp;
        if (pick < 3) {
            eid = uint32(A + pick);
            oapp = address(fixture.vaultAt(eid));
        } else {
            eid = pick == 3 ? B : C;
            oapp = address(fixture.engineAt(eid));
        }
        try fixture.deliver(eid, oapp) {
            ++calls["deliver"];
        } catch (bytes memory reason) {
            // A receiver must never refuse a packet from a trusted peer: that would block the pathway.
            ++ghostDeliveryFailures;
            lastDeliveryRevert = reason;
        }
    }

    /// @notice Re-delivers an already applied packet (the endpoint calls lzReceive again with the same origin
    ///         and message). Nothing may change.
    function replay(uint256 index) external {
        uint256 n = fixture.deliveredCount();
        if (n == 0) return;
        (Origin memory origin, uint32 dstEid, address receiver, bytes32 guid, bytes memory message) =
            fixture.delivered(index % n);
        bytes32 before = stateDigest();
        uint256 balanceBefore = address(this).balance;
        vm.prank(fixture.endpointAt(dstEid));
        try ILayerZeroReceiver(receiver).lzReceive(origin, guid, message, address(this), "") {
            ++calls["replay"];
        } catch {
            ++calls["replay.reverted"];
        }
        if (stateDigest() != before || address(this).balance != balanceBefore) ++ghostReplayChanged;
    }

    // =================================================================== views

    /// @notice A digest of every balance and ledger entry the messages touch, across all chains.
    function stateDigest() public view returns (bytes32 digest) {
        for (uint32 x = A; x <= C; ++x) {
            CollateralVault vault = fixture.vaultAt(x);
            address[3] memory tokens = _tokensOf(x);
            for (uint256 t; t < 3; ++t) {
                address token = tokens[t];
                digest = keccak256(
                    abi.encode(
                        digest,
                        vault.totalLocked(token),
                        vault.totalQueued(token),
                        _balanceOf(token, address(vault)),
                        _balanceOf(token, liquidator)
                    )
                );
                for (uint256 i; i < actors.length; ++i) {
                    address actor = actors[i];
                    digest = keccak256(
                        abi.encode(
                            digest,
                            vault.locked(actor, 0, token),
                            vault.credit(B, actor, 0, token),
                            vault.credit(C, actor, 0, token),
                            _balanceOf(token, actor)
                        )
                    );
                    for (uint32 e = B; e <= C; ++e) {
                        digest = keccak256(abi.encode(digest, fixture.engineAt(e).creditOf(actor, 0, x, token)));
                    }
                }
                for (uint32 e = B; e <= C; ++e) {
                    digest = keccak256(abi.encode(digest, fixture.engineAt(e).totalCredit(sourceKey(x, token))));
                }
            }
        }
        for (uint32 e = B; e <= C; ++e) {
            digest = keccak256(abi.encode(digest, address(fixture.engineAt(e)).balance));
        }
    }

    function sourceKey(uint32 srcEid, address token) public pure returns (bytes32) {
        return bytes32((uint256(srcEid) << 160) | uint160(token));
    }

    // =================================================================== internals

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _tokensOf(uint32 eid) internal view returns (address[3] memory) {
        return [address(fixture.wethAt(eid)), address(fixture.usdcAt(eid)), NATIVE];
    }

    function _balanceOf(address token, address who) internal view returns (uint256) {
        return token == NATIVE ? who.balance : MockERC20(token).balanceOf(who);
    }

    function _pickCollateral(IMarginEngine engine, address actor, uint256 seed)
        internal
        view
        returns (bool found, uint32 src, address token, uint256 credit)
    {
        (uint32[] memory srcs, address[] memory tokens, uint256[] memory amounts) = engine.collateralsOf(actor, 0);
        if (srcs.length == 0) return (false, 0, address(0), 0);
        uint256 i = seed % srcs.length;
        return (amounts[i] > 0, srcs[i], tokens[i], amounts[i]);
    }

    /// @dev After a successful withdrawal or move the sub-account must still meet initial margin.
    function _checkInitialMargin(IMarginEngine engine, address actor) internal {
        IMarginEngineTypes.HealthView memory h = engine.health(actor, 0);
        if (h.equity < 0 || uint256(h.equity) < h.initialRequirement) ++ghostBelowInitialMargin;
    }

    receive() external payable {}
}
