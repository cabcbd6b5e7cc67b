// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {CollateralVault} from "../../../contracts/vault/CollateralVault.sol";
import {MsgCodec} from "../../../contracts/libraries/MsgCodec.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {LocalEngineStub} from "./EngineStub.sol";

/// @notice Invariant handler: random deposits, payouts (paid or queued), moves to a remote engine (left
///         pending without fee), queue executions and time passing, against one vault and one token.
contract VaultHandler is Test {
    CollateralVault public immutable vault;
    LocalEngineStub public immutable engine;
    MockERC20 public immutable token;
    uint32 public immutable remoteEid;

    address[] public actors;
    bytes32[] public queuedIds;
    uint256 internal _nonce;

    constructor(CollateralVault vault_, LocalEngineStub engine_, MockERC20 token_, uint32 remoteEid_) {
        vault = vault_;
        engine = engine_;
        token = token_;
        remoteEid = remoteEid_;
        actors.push(makeAddr("actor0"));
        actors.push(makeAddr("actor1"));
        actors.push(makeAddr("actor2"));
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function deposit(uint256 actorSeed, uint96 sub, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        sub = sub % 2;
        amount = bound(amount, 1, 10_000e18);
        token.mint(actor, amount);
        vm.startPrank(actor);
        token.approve(address(vault), amount);
        vault.deposit(address(token), amount, sub, vault.localEid(), "");
        vm.stopPrank();
    }

    function payout(uint256 actorSeed, uint96 sub, uint256 amount, bool seize) external {
        address actor = actors[actorSeed % actors.length];
        sub = sub % 2;
        uint256 available = vault.credit(vault.localEid(), actor, sub, address(token));
        if (available == 0) return;
        amount = bound(amount, 1, available);
        bytes32 id = keccak256(abi.encode("payout", ++_nonce));
        engine.payout(
            seize ? MsgCodec.SEIZE : MsgCodec.RELEASE,
            MsgCodec.Payout(id, actor, sub, address(token), amount, makeAddr("recipient"))
        );
        if (vault.queuedPayout(id).recipient != address(0)) queuedIds.push(id);
    }

    function move(uint256 actorSeed, uint96 sub, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        sub = sub % 2;
        uint256 available = vault.credit(vault.localEid(), actor, sub, address(token));
        if (available == 0) return;
        amount = bound(amount, 1, available);
        bytes32 id = keccak256(abi.encode("move", ++_nonce));
        engine.move(MsgCodec.Move(id, actor, sub, address(token), amount, remoteEid), "");
    }

    function executeQueued(uint256 index) external {
        if (queuedIds.length == 0) return;
        index = index % queuedIds.length;
        bytes32 id = queuedIds[index];
        queuedIds[index] = queuedIds[queuedIds.length - 1];
        queuedIds.pop();
        try vault.executeQueued(id) {}
        catch {
            queuedIds.push(id);
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 1 days));
    }
}
