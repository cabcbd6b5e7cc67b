// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IMarginEngine} from "../interfaces/IMarginEngine.sol";

/// @title WeightGovernor
/// @notice Applies collateral-weight (haircut) updates to one engine's risk assets, only within bounds the
///         owner set per asset: a floor and a ceiling, a largest step per update, a shortest interval
///         between updates. An update is applied when a quorum of the attestor signers signed it (EIP-712),
///         or by the owner; both paths go through the same bounds. One per engine chain; it is the only
///         caller of its engine's `setAssetWeight`.
/// @dev The off-chain risk module proposes weights; bounding each step on chain means a captured quorum
///      can only nudge a haircut, never zero out collateral at once.
contract WeightGovernor is Ownable2Step, EIP712 {
    /// @notice Bounds on one asset's weight (WAD), all checked on chain for every update.
    struct Bounds {
        uint64 minWeight;
        uint64 maxWeight;
        /// @dev Largest |new - current| of one update; 0 means the asset is not governed.
        uint64 maxStep;
        /// @dev Seconds that must pass after an update before the next one.
        uint64 minInterval;
    }

    /// @notice EIP-712 type of the message the signers sign (domain "xmargin WeightGovernor", version "1").
    bytes32 public constant WEIGHT_UPDATE_TYPEHASH =
        keccak256("WeightUpdate(uint16 assetId,uint64 weight,uint256 nonce,uint256 deadline)");
    uint256 internal constant WAD = 1e18;

    /// @notice The engine whose risk-asset weights this contract sets.
    IMarginEngine public immutable engine;

    /// @notice Signatures needed for an attested update.
    uint256 public quorum;
    address[] internal _signers;
    /// @notice Whether an address is one of the attestor signers.
    mapping(address signer => bool) public isSigner;

    mapping(uint16 assetId => Bounds) internal _bounds;
    /// @notice Next nonce of an asset's update: every applied update (attested or owner's) uses one, so a
    ///         signature is good for one update only and an owner's update voids the ones signed before it.
    mapping(uint16 assetId => uint256) public nonces;
    /// @notice When an asset's weight was last updated through this contract (unix seconds).
    mapping(uint16 assetId => uint64) public lastUpdate;

    event SignersSet(address[] signers, uint256 quorum);
    event BoundsSet(uint16 indexed assetId, Bounds bounds);
    event WeightUpdated(
        uint16 indexed assetId, uint64 previousWeight, uint64 weight, uint256 nonce, address indexed submitter
    );

    error ZeroAddress();
    /// @notice Quorum of 0, more than the signers, or a signer listed twice / the zero address.
    error InvalidSigners();
    /// @notice Bounds with min > max, max > 1e18, or no step.
    error InvalidBounds();
    /// @notice The owner has set no bounds for this asset.
    error AssetNotGoverned(uint16 assetId);
    error WeightOutOfBounds(uint64 weight, uint64 minWeight, uint64 maxWeight);
    error StepTooLarge(uint64 previousWeight, uint64 weight, uint64 maxStep);
    /// @notice The asset's last update is too recent; the next one is allowed from `notBefore`.
    error UpdateTooSoon(uint256 notBefore);
    error DeadlinePassed(uint256 deadline);
    error QuorumNotMet(uint256 signatures, uint256 quorum);
    error UnknownSigner(address signer);
    /// @notice Signers must be given in strictly ascending address order (so none counts twice).
    error SignersNotAscending(address signer, address previous);

    constructor(IMarginEngine engine_, address owner_) Ownable(owner_) EIP712("xmargin WeightGovernor", "1") {
        if (address(engine_) == address(0)) revert ZeroAddress();
        engine = engine_;
    }

    // =================================================================== updates

    /// @notice Applies `weight` to `assetId` when at least `quorum` attestor signers signed the EIP-712
    ///         WeightUpdate(assetId, weight, nonces[assetId], deadline). Anyone may submit.
    /// @param signatures 65-byte ECDSA signatures whose signers are in strictly ascending address order.
    function updateWeight(uint16 assetId, uint64 weight, uint256 deadline, bytes[] calldata signatures) external {
        if (block.timestamp > deadline) revert DeadlinePassed(deadline);
        uint256 n = signatures.length;
        if (n < quorum || n == 0) revert QuorumNotMet(n, quorum);
        bytes32 digest = hashWeightUpdate(assetId, weight, nonces[assetId], deadline);
        address previous;
        for (uint256 i; i < n; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (!isSigner[signer]) revert UnknownSigner(signer);
            if (signer <= previous) revert SignersNotAscending(signer, previous);
            previous = signer;
        }
        _apply(assetId, weight);
    }

    /// @notice Applies `weight` to `assetId` without signatures (owner), within the same bounds.
    function ownerUpdateWeight(uint16 assetId, uint64 weight) external onlyOwner {
        _apply(assetId, weight);
    }

    // =================================================================== owner

    /// @notice Replaces the attestor signer set and the quorum (owner).
    function setSigners(address[] calldata signers_, uint256 quorum_) external onlyOwner {
        if (quorum_ == 0 || quorum_ > signers_.length) revert InvalidSigners();
        for (uint256 i; i < _signers.length; ++i) {
            isSigner[_signers[i]] = false;
        }
        for (uint256 i; i < signers_.length; ++i) {
            address signer = signers_[i];
            if (signer == address(0) || isSigner[signer]) revert InvalidSigners();
            isSigner[signer] = true;
        }
        _signers = signers_;
        quorum = quorum_;
        emit SignersSet(signers_, quorum_);
    }

    /// @notice Sets the bounds of one asset's weight (owner); maxStep 0 stops governing it.
    function setBounds(uint16 assetId, Bounds calldata bounds_) external onlyOwner {
        if (bounds_.maxStep != 0 && (bounds_.minWeight > bounds_.maxWeight || bounds_.maxWeight > WAD)) {
            revert InvalidBounds();
        }
        _bounds[assetId] = bounds_;
        emit BoundsSet(assetId, bounds_);
    }

    // =================================================================== views

    /// @notice The EIP-712 digest the signers sign for an update.
    function hashWeightUpdate(uint16 assetId, uint64 weight, uint256 nonce, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(WEIGHT_UPDATE_TYPEHASH, assetId, weight, nonce, deadline)));
    }

    /// @notice The attestor signers, in the order they were set.
    function signers() external view returns (address[] memory) {
        return _signers;
    }

    /// @notice The bounds of one asset's weight.
    function bounds(uint16 assetId) external view returns (Bounds memory) {
        return _bounds[assetId];
    }

    // =================================================================== internals

    /// @dev Every bound, checked against the engine's current weight, then the engine's update.
    function _apply(uint16 assetId, uint64 weight) internal {
        Bounds memory b = _bounds[assetId];
        if (b.maxStep == 0) revert AssetNotGoverned(assetId);
        if (weight < b.minWeight || weight > b.maxWeight) revert WeightOutOfBounds(weight, b.minWeight, b.maxWeight);
        uint64 previous = engine.riskAsset(assetId).weight;
        uint64 step = weight > previous ? weight - previous : previous - weight;
        if (step > b.maxStep) revert StepTooLarge(previous, weight, b.maxStep);
        uint256 last = lastUpdate[assetId];
        if (last != 0 && block.timestamp < last + b.minInterval) revert UpdateTooSoon(last + b.minInterval);

        uint256 nonce = nonces[assetId]++;
        lastUpdate[assetId] = uint64(block.timestamp);
        engine.setAssetWeight(assetId, weight);
        emit WeightUpdated(assetId, previous, weight, nonce, msg.sender);
    }
}
