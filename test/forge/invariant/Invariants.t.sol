// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2} from "forge-std/console2.sol";
import {Origin} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {PacketV1Codec} from "@layerzerolabs/lz-evm-protocol-v2/contracts/messagelib/libs/PacketV1Codec.sol";
import {DoubleEndedQueue} from "@openzeppelin/contracts/utils/structs/DoubleEndedQueue.sol";

import {BaseTest} from "../BaseTest.sol";
import {IMarginEngine} from "../../../contracts/interfaces/IMarginEngine.sol";
import {CollateralVault} from "../../../contracts/vault/CollateralVault.sol";
import {PerpMarket} from "../../../contracts/markets/PerpMarket.sol";
import {SettableAggregator} from "../../../contracts/oracles/SettableAggregator.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {IXmarginFixture, XmarginHandler} from "./XmarginHandler.sol";

/// @notice The five system invariants of DESIGN.md ("Invariants"), on the real vaults, engines and markets
///         of BaseTest (three endpoints), under random sequences of XmarginHandler actions.
/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 80
contract InvariantsTest is BaseTest, IXmarginFixture {
    using DoubleEndedQueue for DoubleEndedQueue.Bytes32Deque;
    using PacketV1Codec for bytes;

    struct Delivered {
        Origin origin;
        uint32 dstEid;
        address receiver;
        bytes32 guid;
        bytes message;
    }

    XmarginHandler internal handler;
    address internal carol = makeAddr("carol");
    address[] internal actors;
    Delivered[] internal _delivered;

    function setUp() public override {
        super.setUp();
        // Native ETH is collateral too (priced as WETH), wherever it is locked.
        for (uint32 e = B; e <= C; ++e) {
            for (uint32 src = A; src <= C; ++src) {
                engines[e].setCollateralSource(src, vaults[src].NATIVE(), _source(WETH_ASSET, 18));
            }
        }
        actors.push(alice);
        actors.push(bob);
        actors.push(carol);
        handler = new XmarginHandler(this, actors, liquidator);

        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = XmarginHandler.deposit.selector;
        selectors[1] = XmarginHandler.withdraw.selector;
        selectors[2] = XmarginHandler.move.selector;
        selectors[3] = XmarginHandler.trade.selector;
        selectors[4] = XmarginHandler.close.selector;
        selectors[5] = XmarginHandler.movePrice.selector;
        selectors[6] = XmarginHandler.liquidate.selector;
        selectors[7] = XmarginHandler.deliver.selector;
        selectors[8] = XmarginHandler.replay.selector;
        selectors[9] = XmarginHandler.liquidateBatch.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    // =================================================================== invariants

    /// @notice 1. Per vault and token, the vault holds at least what it owes (locked + queued payouts); per
    ///         (actor, token on X, engine E), E's credit never exceeds what vault X has E down for (E's
    ///         credit + in flight); Σ over engines of vault credit == locked; Σ locked == totalLocked.
    function invariant_conservation() public view {
        for (uint32 x = A; x <= C; ++x) {
            address[3] memory tokens = _tokensOf(x);
            for (uint256 t; t < 3; ++t) {
                CollateralVault vault = vaults[x];
                address token = tokens[t];
                assertGe(
                    _held(x, token),
                    vault.totalLocked(token) + vault.totalQueued(token),
                    "vault balance < locked + queued"
                );
                uint256 sumLocked;
                for (uint256 i; i < actors.length; ++i) {
                    sumLocked += _checkCredit(x, token, actors[i]);
                }
                assertEq(sumLocked, vault.totalLocked(token), "sum of locked != totalLocked");
            }
        }
    }

    /// @dev Engine credit <= vault credit per engine, Σ vault credit == locked; returns locked.
    function _checkCredit(uint32 x, address token, address actor) internal view returns (uint256 locked) {
        locked = vaults[x].locked(actor, 0, token);
        uint256 sumCredit;
        for (uint32 e = B; e <= C; ++e) {
            uint256 vaultCredit = vaults[x].credit(e, actor, 0, token);
            assertLe(engines[e].creditOf(actor, 0, x, token), vaultCredit, "engine credit > vault credit");
            sumCredit += vaultCredit;
        }
        assertEq(sumCredit, locked, "sum of vault credit != locked");
    }

    function _held(uint32 x, address token) internal view returns (uint256) {
        address vault = address(vaults[x]);
        return token == vaults[x].NATIVE() ? vault.balance : MockERC20(token).balanceOf(vault);
    }

    /// @notice 2. No engine holds more credit for a source than the LOCKs its vault sent it less what it
    ///         debited; no vault paid out (or queued) more than engines debited for RELEASE/SEIZE on it; and no
    ///         receiver ever refused a packet from a trusted peer (a vault refusing a RELEASE/SEIZE beyond the
    ///         engine's credit would show here).
    function invariant_noCreditWithoutLock() public view {
        for (uint32 x = A; x <= C; ++x) {
            CollateralVault vault = vaults[x];
            address[3] memory tokens = _tokensOf(x);
            for (uint256 t; t < 3; ++t) {
                address token = tokens[t];
                for (uint32 e = B; e <= C; ++e) {
                    uint256 lockedTo = handler.ghostLockedTo(e, x, token);
                    uint256 debited = handler.ghostDebitedFrom(e, x, token);
                    assertGe(lockedTo, debited, "engine debited more than was locked to it");
                    assertLe(
                        engines[e].totalCredit(handler.sourceKey(x, token)),
                        lockedTo - debited,
                        "engine credit without a LOCK"
                    );
                }
                uint256 deposited = handler.ghostDeposited(x, token);
                uint256 payoutDebited = handler.ghostPayoutDebited(x, token);
                // Everything that left the books (paid or queued) was debited by an engine first.
                assertLe(deposited - vault.totalLocked(token), payoutDebited, "vault released without a debit");
                assertGe(_held(x, token) + payoutDebited, deposited, "vault paid out more than engines debited");
            }
        }
        assertEq(handler.ghostDeliveryFailures(), 0, "a receiver refused a packet");
    }

    /// @notice 3. A healthy sub-account is never liquidated; an unhealthy one always can be.
    function invariant_healthyNeverLiquidated_unhealthyAlwaysLiquidatable() public view {
        assertEq(handler.ghostHealthyLiquidated(), 0, "a healthy sub-account was liquidated");
        assertEq(handler.ghostUnhealthyNotLiquidatable(), 0, "an unhealthy sub-account could not be liquidated");
    }

    /// @notice 4. A successful withdrawal or move never leaves the sub-account below initial margin.
    function invariant_withdrawalNeverBelowInitialMargin() public view {
        assertEq(handler.ghostBelowInitialMargin(), 0, "withdrawal or move left the sub-account below initial margin");
    }

    /// @notice 5. Re-delivering an applied packet changes nothing.
    function invariant_replayChangesNothing() public view {
        assertEq(handler.ghostReplayChanged(), 0, "a replayed packet changed state");
    }

    function afterInvariant() public view {
        string[20] memory names = [
            "deposit",
            "deposit.reverted",
            "withdraw",
            "withdraw.reverted",
            "move",
            "move.reverted",
            "trade",
            "trade.reverted",
            "close",
            "movePrice",
            "liquidate",
            "liquidate.healthy",
            "liquidate.healthyRefused",
            "liquidate.unhealthyReverted",
            "liquidateBatch",
            "liquidateBatch.landed",
            "liquidateBatch.skipped",
            "deliver",
            "replay",
            "replay.reverted"
        ];
        for (uint256 i; i < names.length; ++i) {
            console2.log(names[i], handler.calls(bytes32(bytes(names[i]))));
        }
        console2.log("delivered packets recorded", _delivered.length);
        console2.logBytes(handler.lastRevert("deposit"));
        console2.logBytes(handler.lastRevert("trade"));
        if (handler.lastLiquidationRevert().length > 0) console2.logBytes(handler.lastLiquidationRevert());
        if (handler.lastDeliveryRevert().length > 0) console2.logBytes(handler.lastDeliveryRevert());
    }

    // =================================================================== fixture for the handler

    /// @inheritdoc IXmarginFixture
    function deliver(uint32 eid, address oapp) external {
        DoubleEndedQueue.Bytes32Deque storage queue = packetsQueue[eid][addressToBytes32(oapp)];
        uint256 n = queue.length();
        bytes32[] memory guids = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            guids[i] = queue.at(i);
        }
        verifyPackets(eid, addressToBytes32(oapp));
        for (uint256 i; i < n; ++i) {
            (Origin memory origin, uint32 dstEid, address receiver, bytes memory message) =
                this.decodePacket(packets[guids[i]]);
            _delivered.push(Delivered(origin, dstEid, receiver, guids[i], message));
        }
    }

    function decodePacket(bytes calldata packet)
        external
        pure
        returns (Origin memory origin, uint32 dstEid, address receiver, bytes memory message)
    {
        origin = Origin(packet.srcEid(), packet.sender(), packet.nonce());
        return (origin, packet.dstEid(), packet.receiverB20(), packet.message());
    }

    function deliveredCount() external view returns (uint256) {
        return _delivered.length;
    }

    function delivered(uint256 i)
        external
        view
        returns (Origin memory origin, uint32 dstEid, address receiver, bytes32 guid, bytes memory message)
    {
        Delivered storage d = _delivered[i];
        return (d.origin, d.dstEid, d.receiver, d.guid, d.message);
    }

    function vaultAt(uint32 eid) external view returns (CollateralVault) {
        return vaults[eid];
    }

    function engineAt(uint32 eid) external view returns (IMarginEngine) {
        return engines[eid];
    }

    function marketAt(uint32 eid) external view returns (PerpMarket) {
        return markets[eid];
    }

    function wethAt(uint32 eid) external view returns (MockERC20) {
        return weth[eid];
    }

    function usdcAt(uint32 eid) external view returns (MockERC20) {
        return usdc[eid];
    }

    function feedAt(uint32 eid) external view returns (SettableAggregator) {
        return ethFeed[eid];
    }

    function endpointAt(uint32 eid) external view returns (address) {
        return endpoints[eid];
    }

    function _tokensOf(uint32 eid) internal view returns (address[3] memory) {
        return [address(weth[eid]), address(usdc[eid]), vaults[eid].NATIVE()];
    }
}
