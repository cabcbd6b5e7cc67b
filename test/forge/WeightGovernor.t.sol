// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {BaseTest} from "./BaseTest.sol";
import {IMarginEngine, IMarginEngineTypes} from "../../contracts/interfaces/IMarginEngine.sol";
import {WeightGovernor} from "../../contracts/risk/WeightGovernor.sol";

/// @notice The WeightGovernor on engine B: every bound, the quorum rules of attested updates (signed with
///         vm.sign), the owner's path, and the engine's side (only the governor sets a weight).
contract WeightGovernorTest is BaseTest {
    WeightGovernor internal governor;
    /// @dev The attestor signers, sorted by address ascending, and their keys.
    address[3] internal signer;
    uint256[3] internal signerKey;
    address internal stranger = makeAddr("stranger");
    uint64 internal constant INTERVAL = 1 hours;

    function setUp() public override {
        super.setUp();
        governor = new WeightGovernor(engines[B], owner);
        engines[B].setWeightGovernor(address(governor));
        for (uint256 i; i < 3; ++i) {
            (signer[i], signerKey[i]) = makeAddrAndKey(string.concat("attestor", vm.toString(i)));
        }
        _sortSigners();
        address[] memory set = new address[](3);
        for (uint256 i; i < 3; ++i) {
            set[i] = signer[i];
        }
        governor.setSigners(set, 2);
        // WETH starts at 0.8 (BaseTest).
        governor.setBounds(WETH_ASSET, WeightGovernor.Bounds(0.6e18, 0.9e18, 0.05e18, INTERVAL));
    }

    // ------------------------------------------------------------------ quorum

    function test_updateWeight_quorumApplies() public {
        _deposit(alice, A, address(weth[A]), 1e18, B);
        _deliverToEngine(B);
        assertEq(_health(alice, B).collateralValue, 1_600e18);

        bytes[] memory sigs = _sign(WETH_ASSET, 0.75e18, block.timestamp, _pick(0, 2));
        vm.expectEmit(address(engines[B]));
        emit IMarginEngineTypes.RiskAssetSet(WETH_ASSET, IMarginEngineTypes.RiskAsset(_weth().oracle, 0.75e18, true, 0));
        vm.expectEmit(address(governor));
        emit WeightGovernor.WeightUpdated(WETH_ASSET, 0.8e18, 0.75e18, 0, stranger);
        vm.prank(stranger);
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp, sigs);

        assertEq(_weth().weight, 0.75e18);
        assertEq(governor.nonces(WETH_ASSET), 1);
        assertEq(governor.lastUpdate(WETH_ASSET), block.timestamp);
        assertEq(_health(alice, B).collateralValue, 1_500e18, "health follows the weight at once");
    }

    function test_updateWeight_allSignersApply() public {
        governor.updateWeight(WETH_ASSET, 0.85e18, block.timestamp, _sign(WETH_ASSET, 0.85e18, block.timestamp, _all()));
        assertEq(_weth().weight, 0.85e18);
    }

    function test_updateWeight_belowQuorumReverts() public {
        bytes[] memory sigs = _sign(WETH_ASSET, 0.75e18, block.timestamp, _one(1));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.QuorumNotMet.selector, 1, 2));
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp, sigs);
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.QuorumNotMet.selector, 0, 2));
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp, new bytes[](0));
    }

    function test_updateWeight_duplicateSignerReverts() public {
        bytes[] memory sigs = _sign(WETH_ASSET, 0.75e18, block.timestamp, _pick(1, 1));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.SignersNotAscending.selector, signer[1], signer[1]));
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp, sigs);
    }

    function test_updateWeight_unsortedSignersReverts() public {
        bytes[] memory sigs = _sign(WETH_ASSET, 0.75e18, block.timestamp, _pick(2, 0));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.SignersNotAscending.selector, signer[0], signer[2]));
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp, sigs);
    }

    function test_updateWeight_unknownSignerReverts() public {
        (address outsider, uint256 outsiderKey) = makeAddrAndKey("outsider");
        bytes[] memory sigs = _sign(WETH_ASSET, 0.75e18, block.timestamp, _pick(0, 1));
        sigs[1] = _signOne(outsiderKey, WETH_ASSET, 0.75e18, 0, block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.UnknownSigner.selector, outsider));
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp, sigs);
    }

    function test_updateWeight_signaturesBindTheWeight() public {
        bytes[] memory sigs = _sign(WETH_ASSET, 0.75e18, block.timestamp, _pick(0, 1));
        vm.expectPartialRevert(WeightGovernor.UnknownSigner.selector);
        governor.updateWeight(WETH_ASSET, 0.7e18, block.timestamp, sigs);
    }

    function test_updateWeight_replayReverts() public {
        bytes[] memory sigs = _sign(WETH_ASSET, 0.75e18, block.timestamp + 2 * INTERVAL, _pick(0, 1));
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp + 2 * INTERVAL, sigs);
        vm.warp(block.timestamp + INTERVAL);
        vm.expectPartialRevert(WeightGovernor.UnknownSigner.selector);
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp + INTERVAL, sigs);
    }

    function test_updateWeight_deadlinePassedReverts() public {
        uint256 deadline = block.timestamp - 1;
        bytes[] memory sigs = _sign(WETH_ASSET, 0.75e18, deadline, _pick(0, 1));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.DeadlinePassed.selector, deadline));
        governor.updateWeight(WETH_ASSET, 0.75e18, deadline, sigs);
    }

    // ------------------------------------------------------------------ bounds

    function test_bounds_belowMinimumReverts() public {
        governor.setBounds(WETH_ASSET, WeightGovernor.Bounds(0.78e18, 0.9e18, 0.05e18, INTERVAL));
        bytes[] memory sigs = _sign(WETH_ASSET, 0.77e18, block.timestamp, _pick(0, 1));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.WeightOutOfBounds.selector, 0.77e18, 0.78e18, 0.9e18));
        governor.updateWeight(WETH_ASSET, 0.77e18, block.timestamp, sigs);
    }

    function test_bounds_aboveMaximumReverts() public {
        governor.setBounds(WETH_ASSET, WeightGovernor.Bounds(0.6e18, 0.82e18, 0.05e18, INTERVAL));
        bytes[] memory sigs = _sign(WETH_ASSET, 0.83e18, block.timestamp, _pick(0, 1));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.WeightOutOfBounds.selector, 0.83e18, 0.6e18, 0.82e18));
        governor.updateWeight(WETH_ASSET, 0.83e18, block.timestamp, sigs);
    }

    function test_bounds_stepTooLargeReverts() public {
        bytes[] memory down = _sign(WETH_ASSET, 0.74e18, block.timestamp, _pick(0, 1));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.StepTooLarge.selector, 0.8e18, 0.74e18, 0.05e18));
        governor.updateWeight(WETH_ASSET, 0.74e18, block.timestamp, down);
        bytes[] memory up = _sign(WETH_ASSET, 0.86e18, block.timestamp, _pick(0, 1));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.StepTooLarge.selector, 0.8e18, 0.86e18, 0.05e18));
        governor.updateWeight(WETH_ASSET, 0.86e18, block.timestamp, up);
        // Exactly one step is allowed.
        governor.updateWeight(
            WETH_ASSET, 0.75e18, block.timestamp, _sign(WETH_ASSET, 0.75e18, block.timestamp, _pick(0, 1))
        );
        assertEq(_weth().weight, 0.75e18);
    }

    function test_bounds_minIntervalBetweenUpdates() public {
        governor.ownerUpdateWeight(WETH_ASSET, 0.77e18);
        uint256 notBefore = block.timestamp + INTERVAL;
        vm.warp(notBefore - 1);
        bytes[] memory sigs = _sign(WETH_ASSET, 0.74e18, notBefore + 10, _pick(0, 1));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.UpdateTooSoon.selector, notBefore));
        governor.updateWeight(WETH_ASSET, 0.74e18, notBefore + 10, sigs);
        vm.warp(notBefore);
        governor.updateWeight(WETH_ASSET, 0.74e18, notBefore + 10, sigs);
        assertEq(_weth().weight, 0.74e18);
    }

    function test_bounds_ungovernedAssetReverts() public {
        bytes[] memory sigs = _sign(USDC_ASSET, 0.9e18, block.timestamp, _pick(0, 1));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.AssetNotGoverned.selector, USDC_ASSET));
        governor.updateWeight(USDC_ASSET, 0.9e18, block.timestamp, sigs);
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.AssetNotGoverned.selector, USDC_ASSET));
        governor.ownerUpdateWeight(USDC_ASSET, 0.9e18);
    }

    function test_setBounds_rejectsInvalidAndIsOwnerOnly() public {
        vm.expectRevert(WeightGovernor.InvalidBounds.selector);
        governor.setBounds(WETH_ASSET, WeightGovernor.Bounds(0.9e18, 0.8e18, 0.05e18, 0));
        vm.expectRevert(WeightGovernor.InvalidBounds.selector);
        governor.setBounds(WETH_ASSET, WeightGovernor.Bounds(0.5e18, 1.01e18, 0.05e18, 0));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        governor.setBounds(WETH_ASSET, WeightGovernor.Bounds(0.5e18, 0.9e18, 0.05e18, 0));

        vm.expectEmit(address(governor));
        emit WeightGovernor.BoundsSet(WETH_ASSET, WeightGovernor.Bounds(0, 0, 0, 0));
        governor.setBounds(WETH_ASSET, WeightGovernor.Bounds(0, 0, 0, 0));
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.AssetNotGoverned.selector, WETH_ASSET));
        governor.ownerUpdateWeight(WETH_ASSET, 0.8e18);
    }

    // ------------------------------------------------------------------ owner path

    function test_ownerUpdateWeight_withinBoundsAndVoidsEarlierSignatures() public {
        bytes[] memory sigs = _sign(WETH_ASSET, 0.76e18, block.timestamp + 2 * INTERVAL, _pick(0, 1));
        governor.ownerUpdateWeight(WETH_ASSET, 0.78e18);
        assertEq(_weth().weight, 0.78e18);
        assertEq(governor.nonces(WETH_ASSET), 1);

        vm.warp(block.timestamp + INTERVAL);
        vm.expectPartialRevert(WeightGovernor.UnknownSigner.selector);
        governor.updateWeight(WETH_ASSET, 0.76e18, block.timestamp + INTERVAL, sigs);

        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.StepTooLarge.selector, 0.78e18, 0.9e18, 0.05e18));
        governor.ownerUpdateWeight(WETH_ASSET, 0.9e18);
    }

    function test_ownerUpdateWeight_onlyOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        governor.ownerUpdateWeight(WETH_ASSET, 0.78e18);
    }

    // ------------------------------------------------------------------ signer set

    function test_setSigners_rejectsInvalidSets() public {
        address[] memory two = new address[](2);
        two[0] = signer[0];
        two[1] = signer[1];
        vm.expectRevert(WeightGovernor.InvalidSigners.selector);
        governor.setSigners(two, 0);
        vm.expectRevert(WeightGovernor.InvalidSigners.selector);
        governor.setSigners(two, 3);
        two[1] = signer[0];
        vm.expectRevert(WeightGovernor.InvalidSigners.selector);
        governor.setSigners(two, 1);
        two[1] = address(0);
        vm.expectRevert(WeightGovernor.InvalidSigners.selector);
        governor.setSigners(two, 1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        governor.setSigners(two, 1);
    }

    function test_setSigners_replacesTheSet() public {
        address[] memory one = new address[](1);
        one[0] = signer[2];
        vm.expectEmit(address(governor));
        emit WeightGovernor.SignersSet(one, 1);
        governor.setSigners(one, 1);
        assertFalse(governor.isSigner(signer[0]));
        assertTrue(governor.isSigner(signer[2]));
        assertEq(governor.signers().length, 1);

        bytes[] memory old = _sign(WETH_ASSET, 0.75e18, block.timestamp, _pick(0, 0));
        assertEq(old.length, 2);
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = old[0];
        vm.expectRevert(abi.encodeWithSelector(WeightGovernor.UnknownSigner.selector, signer[0]));
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp, sigs);
        sigs[0] = _signOne(signerKey[2], WETH_ASSET, 0.75e18, 0, block.timestamp);
        governor.updateWeight(WETH_ASSET, 0.75e18, block.timestamp, sigs);
        assertEq(_weth().weight, 0.75e18);
    }

    // ------------------------------------------------------------------ engine side

    function test_engine_setAssetWeightOnlyFromTheGovernor() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotWeightGovernor.selector, owner));
        engines[B].setAssetWeight(WETH_ASSET, 0.5e18);
        vm.prank(address(governor));
        vm.expectRevert(IMarginEngineTypes.InvalidRiskParameter.selector);
        engines[B].setAssetWeight(WETH_ASSET, 1e18 + 1);
        assertEq(_weth().weight, 0.8e18);
    }

    function test_engine_setWeightGovernorOnlyOwnerAndEmits() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        engines[B].setWeightGovernor(stranger);
        vm.expectEmit(address(engines[B]));
        emit IMarginEngineTypes.WeightGovernorSet(address(0));
        engines[B].setWeightGovernor(address(0));
        assertEq(engines[B].weightGovernor(), address(0));
        vm.expectRevert(abi.encodeWithSelector(IMarginEngineTypes.NotWeightGovernor.selector, address(governor)));
        governor.ownerUpdateWeight(WETH_ASSET, 0.78e18);
    }

    // ------------------------------------------------------------------ helpers

    function _weth() internal view returns (IMarginEngineTypes.RiskAsset memory) {
        return engines[B].riskAsset(WETH_ASSET);
    }

    function _sortSigners() internal {
        for (uint256 i; i < 3; ++i) {
            for (uint256 j = i + 1; j < 3; ++j) {
                if (signer[j] < signer[i]) {
                    (signer[i], signer[j]) = (signer[j], signer[i]);
                    (signerKey[i], signerKey[j]) = (signerKey[j], signerKey[i]);
                }
            }
        }
    }

    function _pick(uint256 a, uint256 b) internal pure returns (uint256[] memory idx) {
        idx = new uint256[](2);
        (idx[0], idx[1]) = (a, b);
    }

    function _one(uint256 a) internal pure returns (uint256[] memory idx) {
        idx = new uint256[](1);
        idx[0] = a;
    }

    function _all() internal pure returns (uint256[] memory idx) {
        idx = new uint256[](3);
        (idx[0], idx[1], idx[2]) = (0, 1, 2);
    }

    /// @dev Signatures of the signers at `idx` (in that order) over the asset's current nonce.
    function _sign(uint16 assetId, uint64 weight, uint256 deadline, uint256[] memory idx)
        internal
        view
        returns (bytes[] memory sigs)
    {
        uint256 nonce = governor.nonces(assetId);
        sigs = new bytes[](idx.length);
        for (uint256 i; i < idx.length; ++i) {
            sigs[i] = _signOne(signerKey[idx[i]], assetId, weight, nonce, deadline);
        }
    }

    function _signOne(uint256 key, uint16 assetId, uint64 weight, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, governor.hashWeightUpdate(assetId, weight, nonce, deadline));
        return abi.encodePacked(r, s, v);
    }
}
