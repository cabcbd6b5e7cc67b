// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TransientReentrancyGuard} from "../common/TransientReentrancyGuard.sol";
import {XmarginOApp} from "../common/XmarginOApp.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMarginEngineState} from "../interfaces/IMarginEngine.sol";
import {IVenue} from "../interfaces/IVenue.sol";
import {CollateralList} from "../libraries/CollateralList.sol";
import {MsgCodec} from "../libraries/MsgCodec.sol";
import {RateLimiter} from "../libraries/RateLimiter.sol";

/// @title MarginEngineStorage
/// @notice The margin engine's state, declared once for the two contracts that run on it: MarginEngine and
///         the MarginEngineAdmin module it delegatecalls. Both inherit this (and through it the same OApp
///         bases in the same order), so their storage layouts are identical by construction.
abstract contract MarginEngineStorage is XmarginOApp, TransientReentrancyGuard, IMarginEngineState {
    uint256 internal constant WAD = 1e18;
    /// @notice Most distinct (source chain, token) collaterals one sub-account may hold; bounds the gas
    ///         of every health check so liquidation can never be priced out.
    uint256 public constant MAX_COLLATERALS = CollateralList.CAPACITY;

    /// @notice The venue whose positions this engine margins, and its settlement (quote) token.
    IVenue public venue;
    IERC20 public quoteToken;
    uint8 public quoteDecimals;
    /// @notice The vault on this chain (deposits here are credited by direct call).
    address public localVault;
    /// @notice Quote tokens held to cover bad debt before the LP pool takes a loss.
    uint256 public insuranceFund;

    LiquidationConfig internal _liquidationConfig;
    mapping(uint16 assetId => RiskAsset) internal _riskAssets;
    mapping(bytes32 sourceKey => CollateralSource) internal _sources;
    mapping(bytes32 sourceKey => RateLimiter.Bucket) internal _bridgeLimits;
    mapping(bytes32 sourceKey => uint256) public totalCredit;
    mapping(uint32 marketId => MarketRisk) internal _marketRisk;
    mapping(uint32 srcEid => bool) public sourcePaused;

    /// @dev Credited amount per (account, subaccount) and (source chain, token).
    mapping(bytes32 subKey => mapping(bytes32 sourceKey => uint256)) internal _credit;
    /// @dev The source keys with non-zero credit, per (account, subaccount): a CollateralList, its count in
    ///      the first entry's spare bits.
    mapping(bytes32 subKey => bytes32[8]) internal _collaterals;

    /// @notice The only caller of `moveFor`: moves credit on a trader's behalf within the trader's limits.
    address public rebalancer;
    /// @notice The only caller of `setAssetWeight`: applies attested weight updates within on-chain bounds.
    address public weightGovernor;

    struct HeldCredit {
        uint32 srcEid;
        MsgCodec.Lock lock;
    }

    mapping(bytes32 id => HeldCredit) internal _held;

    /// @notice Source-chain block time of the latest HEARTBEAT from each source chain's vault.
    mapping(uint32 srcEid => uint64) public lastHeardAt;

    constructor(address endpoint_, address owner_) XmarginOApp(endpoint_, owner_) {}

    /// @notice Whether the LOCK `id` was applied (credited or held).
    function processed(bytes32 id) external view returns (bool) {
        return _isProcessed(id);
    }

    function _subKey(address account, uint96 subaccount) internal pure returns (bytes32) {
        return bytes32((uint256(uint160(account)) << 96) | subaccount);
    }

    function _sourceKey(uint32 srcEid, address token) internal pure returns (bytes32) {
        return bytes32((uint256(srcEid) << 160) | uint160(token));
    }

    function _splitSourceKey(bytes32 key) internal pure returns (uint32 srcEid, address token) {
        srcEid = uint32(uint256(key) >> 160);
        token = address(uint160(uint256(key)));
    }
}
