// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Origin} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {IMarginEngineAdmin} from "../interfaces/IMarginEngine.sol";
import {IVenue} from "../interfaces/IVenue.sol";
import {CollateralList} from "../libraries/CollateralList.sol";
import {MsgCodec} from "../libraries/MsgCodec.sol";
import {RateLimiter} from "../libraries/RateLimiter.sol";
import {MarginEngineStorage} from "./MarginEngineStorage.sol";

/// @title MarginEngineAdmin
/// @notice The margin engine's owner and guardian setters and its struct views, run by delegatecall from
///         the engine's fallback: the engine's runtime code must stay under the 24,576-byte limit of
///         EIP-170, and none of these is on a trader's or liquidator's path, so they cost one more call.
/// @dev Deployed by the MarginEngine's constructor and only meaningful through it: called directly, it
///      reads and writes its own empty storage. Its constructor runs the OApp's (same endpoint, same owner)
///      only because the shared storage layout comes from inheriting the same bases.
contract MarginEngineAdmin is MarginEngineStorage, IMarginEngineAdmin {
    using RateLimiter for RateLimiter.Bucket;
    using CollateralList for bytes32[8];

    constructor(address endpoint_, address owner_) MarginEngineStorage(endpoint_, owner_) {}

    /// @dev The endpoint delivers to the engine, never to its module.
    function _lzReceive(Origin calldata, bytes32, bytes calldata, address, bytes calldata) internal pure override {
        revert UnknownMessageType(0);
    }

    // =================================================================== owner and guardian

    /// @inheritdoc IMarginEngineAdmin
    function setRiskAsset(uint16 assetId, RiskAsset calldata asset) external onlyOwner {
        _setRiskAsset(assetId, asset);
    }

    /// @inheritdoc IMarginEngineAdmin
    /// @dev The governor enforces its bounds; the engine only keeps the weight a valid fraction.
    function setAssetWeight(uint16 assetId, uint64 weight) external {
        if (msg.sender != weightGovernor) revert NotWeightGovernor(msg.sender);
        RiskAsset memory asset = _riskAssets[assetId];
        asset.weight = weight;
        _setRiskAsset(assetId, asset);
    }

    /// @inheritdoc IMarginEngineAdmin
    /// @dev Staleness applies to bridged credit only: the engine's own chain sends it no heartbeats.
    function setCollateralSource(uint32 srcEid, address token, CollateralSource calldata source) external onlyOwner {
        if (token == address(0)) revert ZeroAddress();
        if (source.enabled && !_riskAssets[source.assetId].enabled) revert InvalidRiskParameter();
        if (source.staleDecay != 0 && srcEid == localEid) revert InvalidRiskParameter();
        bytes32 key = _sourceKey(srcEid, token);
        _sources[key] = source;
        _bridgeLimits[key].configure(source.bridgeCapacity, source.bridgeWindow);
        emit CollateralSourceSet(srcEid, token, source);
    }

    /// @inheritdoc IMarginEngineAdmin
    function setMarketRisk(uint32 marketId, MarketRisk calldata risk) external onlyOwner {
        if (risk.maintenanceMargin == 0 || risk.maintenanceMargin >= risk.initialMargin || risk.initialMargin > WAD) {
            revert InvalidRiskParameter();
        }
        _marketRisk[marketId] = risk;
        emit MarketRiskSet(marketId, risk);
    }

    /// @inheritdoc IMarginEngineAdmin
    function setVenue(IVenue venue_) external onlyOwner {
        if (address(venue_) == address(0)) revert ZeroAddress();
        venue = venue_;
        quoteToken = IERC20(venue_.quoteToken());
        quoteDecimals = IERC20Metadata(address(quoteToken)).decimals();
        emit VenueSet(address(venue_));
    }

    /// @inheritdoc IMarginEngineAdmin
    function setLiquidationConfig(LiquidationConfig calldata config) external onlyOwner {
        if (config.bonus > 0.5e18 || config.targetHealth <= WAD || config.fullCloseHealth >= WAD) {
            revert InvalidRiskParameter();
        }
        _liquidationConfig = config;
        emit LiquidationConfigSet(config);
    }

    /// @inheritdoc IMarginEngineAdmin
    function setLocalVault(address vault) external onlyOwner {
        if (vault == address(0)) revert ZeroAddress();
        localVault = vault;
        emit LocalVaultSet(vault);
    }

    /// @inheritdoc IMarginEngineAdmin
    function setRebalancer(address rebalancer_) external onlyOwner {
        rebalancer = rebalancer_;
        emit RebalancerSet(rebalancer_);
    }

    /// @inheritdoc IMarginEngineAdmin
    function setWeightGovernor(address governor) external onlyOwner {
        weightGovernor = governor;
        emit WeightGovernorSet(governor);
    }

    /// @inheritdoc IMarginEngineAdmin
    function setSourcePaused(uint32 srcEid, bool paused) external onlyGuardian {
        sourcePaused[srcEid] = paused;
        emit SourcePaused(srcEid, paused);
    }

    // =================================================================== views

    /// @inheritdoc IMarginEngineAdmin
    function creditOf(address account, uint96 subaccount, uint32 srcEid, address token)
        external
        view
        returns (uint256)
    {
        return _credit[_subKey(account, subaccount)][_sourceKey(srcEid, token)];
    }

    /// @inheritdoc IMarginEngineAdmin
    function collateralsOf(address account, uint96 subaccount)
        external
        view
        returns (uint32[] memory srcEids, address[] memory tokens, uint256[] memory amounts)
    {
        bytes32 subKey = _subKey(account, subaccount);
        bytes32[] memory keys = _collaterals[subKey].keys();
        uint256 n = keys.length;
        srcEids = new uint32[](n);
        tokens = new address[](n);
        amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            (srcEids[i], tokens[i]) = _splitSourceKey(keys[i]);
            amounts[i] = _credit[subKey][keys[i]];
        }
    }

    /// @inheritdoc IMarginEngineAdmin
    function marketRisk(uint32 marketId) external view returns (MarketRisk memory) {
        return _marketRisk[marketId];
    }

    /// @inheritdoc IMarginEngineAdmin
    function riskAsset(uint16 assetId) external view returns (RiskAsset memory) {
        return _riskAssets[assetId];
    }

    /// @inheritdoc IMarginEngineAdmin
    function collateralSource(uint32 srcEid, address token) external view returns (CollateralSource memory) {
        return _sources[_sourceKey(srcEid, token)];
    }

    /// @inheritdoc IMarginEngineAdmin
    function liquidationConfig() external view returns (LiquidationConfig memory) {
        return _liquidationConfig;
    }

    /// @inheritdoc IMarginEngineAdmin
    function heldCredit(bytes32 id) external view returns (uint32 srcEid, MsgCodec.Lock memory lock) {
        HeldCredit memory held = _held[id];
        return (held.srcEid, held.lock);
    }

    /// @inheritdoc IMarginEngineAdmin
    function bridgeCapacityAvailable(uint32 srcEid, address token) external view returns (uint256) {
        return _bridgeLimits[_sourceKey(srcEid, token)].availableNow();
    }

    // =================================================================== internals

    /// @dev Shared by the owner's `setRiskAsset` and the governor's `setAssetWeight`.
    function _setRiskAsset(uint16 assetId, RiskAsset memory asset) internal {
        if (asset.weight > WAD) revert InvalidRiskParameter();
        if (asset.enabled && address(asset.oracle) == address(0)) revert ZeroAddress();
        _riskAssets[assetId] = asset;
        emit RiskAssetSet(assetId, asset);
    }
}
