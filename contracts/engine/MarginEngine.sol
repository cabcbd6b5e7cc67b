// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Origin} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {MessagingFee} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IMarginEngineCore, HoldReason} from "../interfaces/IMarginEngine.sol";
import {IPriceAdapter} from "../interfaces/IPriceAdapter.sol";
import {IVenue} from "../interfaces/IVenue.sol";
import {CollateralList} from "../libraries/CollateralList.sol";
import {MsgCodec} from "../libraries/MsgCodec.sol";
import {RateLimiter} from "../libraries/RateLimiter.sol";
import {WadMath} from "../libraries/WadMath.sol";
import {MarginEngineAdmin} from "./MarginEngineAdmin.sol";
import {MarginEngineStorage} from "./MarginEngineStorage.sol";

/// @title MarginEngine
/// @notice The clearinghouse of a chain that hosts positions. It credits collateral locked in vaults on
///         any chain (LOCK), values it with haircuts, applies the margin rules of its venue's markets,
///         and releases (RELEASE), re-routes (MOVE) or seizes (SEIZE) that collateral through the vault
///         that holds it. The vault stays the single source of truth of what is locked.
/// @dev Credit is debited before any message leaves, so what the engine credits is never more than what
///      the vault has it down for (invariant 1). Every LOCK carries a unique id applied at most once.
contract MarginEngine is MarginEngineStorage, IMarginEngineCore {
    using SafeERC20 for IERC20;
    using CollateralList for bytes32[8];
    using RateLimiter for RateLimiter.Bucket;
    using WadMath for uint256;

    /// @inheritdoc IMarginEngineCore
    address public immutable ADMIN_MODULE;

    constructor(address endpoint_, address owner_) MarginEngineStorage(endpoint_, owner_) {
        ADMIN_MODULE = address(new MarginEngineAdmin(endpoint_, owner_));
    }

    /// @dev The owner's and guardian's setters and the struct views (IMarginEngineAdmin) run in the admin
    ///      module on this contract's storage; any other unknown selector reverts there.
    fallback() external payable {
        address module = ADMIN_MODULE;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }


    /// @dev Takes the endpoint's refunds of unused fee budget during a liquidation (see `liquidate`).
    receive() external payable {}

    modifier onlyLocalVault() {
        if (msg.sender != localVault || msg.sender == address(0)) revert NotLocalVault(msg.sender);
        _;
    }

    // =================================================================== trader

    /// @inheritdoc IMarginEngineCore
    function withdraw(
        uint96 subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        address recipient,
        bytes calldata options
    ) external payable nonReentrant returns (bytes32 id) {
        if (amount == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroAddress();
        _debit(msg.sender, subaccount, srcEid, token, amount);
        _requireInitialMargin(msg.sender, subaccount);

        id = _nextMessageId();
        emit Debited(id, MsgCodec.RELEASE, msg.sender, subaccount, srcEid, token, amount, recipient, 0);
        _dispatchPayout(
            MsgCodec.RELEASE,
            srcEid,
            MsgCodec.Payout(id, msg.sender, subaccount, token, amount, recipient),
            options,
            msg.value
        );
    }

    /// @inheritdoc IMarginEngineCore
    function move(
        uint96 subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        uint32 dstEngineEid,
        bytes calldata options
    ) external payable nonReentrant returns (bytes32) {
        return _move(msg.sender, subaccount, srcEid, token, amount, dstEngineEid, options);
    }

    /// @inheritdoc IMarginEngineCore
    /// @dev The rebalancer checks the trader's limits; the margin rules here are the same as for `move`.
    function moveFor(
        address account,
        uint96 subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        uint32 dstEngineEid,
        bytes calldata options
    ) external payable nonReentrant returns (bytes32) {
        if (msg.sender != rebalancer) revert NotRebalancer(msg.sender);
        return _move(account, subaccount, srcEid, token, amount, dstEngineEid, options);
    }

    /// @inheritdoc IMarginEngineCore
    function repayDebt(address account, uint96 subaccount, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        IVenue venue_ = _venueOrRevert();
        quoteToken.safeTransferFrom(msg.sender, address(venue_), amount);
        venue_.onRepay(account, subaccount, amount);
        emit DebtRepaid(account, subaccount, msg.sender, amount);
    }

    /// @inheritdoc IMarginEngineCore
    function withdrawPnl(uint96 subaccount, uint256 amount, address recipient) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroAddress();
        // The venue checks the settled balance; the margin check after it reverts the whole payout if the
        // profit was still needed as margin.
        _venueOrRevert().payOut(msg.sender, subaccount, amount, recipient);
        _requireInitialMargin(msg.sender, subaccount);
        emit PnlWithdrawn(msg.sender, subaccount, amount, recipient);
    }

    /// @inheritdoc IMarginEngineCore
    function claimHeldCredit(bytes32 id) external nonReentrant {
        HeldCredit memory held = _held[id];
        if (held.lock.account == address(0)) revert NoHeldCredit(id);
        uint8 reason = _creditBlocker(held.srcEid, held.lock, true);
        if (reason != HoldReason.NONE) revert CreditStillHeld(id, reason);
        delete _held[id];
        _applyCredit(held.srcEid, held.lock);
        emit HeldCreditClaimed(id);
    }

    /// @inheritdoc IMarginEngineCore
    function returnHeldCredit(bytes32 id, bytes calldata options)
        external
        payable
        nonReentrant
        returns (bytes32 releaseId)
    {
        HeldCredit memory held = _held[id];
        if (held.lock.account == address(0)) revert NoHeldCredit(id);
        if (held.lock.account != msg.sender) revert NotHeldCreditOwner(id, msg.sender);
        delete _held[id];

        releaseId = _nextMessageId();
        emit HeldCreditReturned(id, releaseId);
        emit Debited(
            releaseId,
            MsgCodec.RELEASE,
            msg.sender,
            held.lock.subaccount,
            held.srcEid,
            held.lock.token,
            held.lock.amount,
            msg.sender,
            0
        );
        _dispatchPayout(
            MsgCodec.RELEASE,
            held.srcEid,
            MsgCodec.Payout(releaseId, msg.sender, held.lock.subaccount, held.lock.token, held.lock.amount, msg.sender),
            options,
            msg.value
        );
    }

    // =================================================================== liquidators

    /// @inheritdoc IMarginEngineCore
    function liquidate(LiquidateParams calldata p) external payable nonReentrant returns (LiquidationResult memory) {
        return _liquidate(p, msg.sender);
    }

    /// @inheritdoc IMarginEngineCore
    function liquidateBatch(LiquidateParams[] calldata items, uint256[] calldata fees)
        external
        payable
        nonReentrant
        returns (BatchLiquidation[] memory outcomes)
    {
        uint256 n = items.length;
        if (fees.length != n) revert BatchLengthMismatch(n, fees.length);
        uint256 required;
        for (uint256 i; i < n; ++i) {
            required += fees[i];
        }
        if (required > msg.value) revert BatchValueTooLow(required, msg.value);

        uint256 refund = msg.value - required;
        outcomes = new BatchLiquidation[](n);
        for (uint256 i; i < n; ++i) {
            LiquidateParams calldata item = items[i];
            // Its own call frame, so that an item that reverts undoes only itself; the lock stays held.
            try this.liquidateBatchItem{value: fees[i]}(item, msg.sender) returns (LiquidationResult memory r) {
                outcomes[i].landed = true;
                outcomes[i].result = r;
            } catch (bytes memory reason) {
                outcomes[i].revertData = reason;
                refund += fees[i];
                emit LiquidationSkipped(item.account, item.subaccount, msg.sender, reason);
            }
        }
        if (refund > 0) _refund(msg.sender, refund);
    }

    /// @inheritdoc IMarginEngineCore
    function liquidateBatchItem(LiquidateParams calldata p, address liquidator)
        external
        payable
        returns (LiquidationResult memory)
    {
        if (msg.sender != address(this)) revert NotSelf(msg.sender);
        return _liquidate(p, liquidator);
    }

    /// @dev One liquidation for `liquidator` (who pays the quote and gets the unused fee budget back), paying
    ///      its remote seizures from msg.value: the caller's own in `liquidate`, the item's fee in a batch.
    function _liquidate(LiquidateParams calldata p, address liquidator) internal returns (LiquidationResult memory r) {
        HealthView memory h = _health(p.account, p.subaccount);
        r.healthBefore = h.health;
        if (h.health >= WAD) revert HealthyAccount(h.health);

        // 1. Close as much of the positions as needed, at the oracle price, against the venue's pool.
        if (h.notional > 0) {
            r.closeFraction = _closeFraction(h);
            r.closedNotional = venue.liquidationClose(p.account, p.subaccount, r.closeFraction);
        }

        // 2. The liquidator pays quote into the sub-account and takes collateral worth that plus the bonus,
        //    up to what the liquidation needs: the debt, or the notional just closed when there is none.
        uint256 needUsd = _repayNeed(p.account, p.subaccount, r.closedNotional);
        uint256 budget = msg.value;
        uint256 n = p.seizes.length;
        r.seized = new uint256[](n);
        r.seizeIds = new bytes32[](n);
        for (uint256 i; i < n && needUsd > 0; ++i) {
            uint256 repaidUsd;
            uint256 repaid;
            uint256 feePaid;
            (repaidUsd, repaid, r.seized[i], r.seizeIds[i], feePaid) =
                _buyCollateral(p, p.seizes[i], liquidator, needUsd, budget);
            needUsd -= repaidUsd > needUsd ? needUsd : repaidUsd;
            budget -= feePaid;
            r.repaid += repaid;
        }

        // 3. Whatever debt is left with nothing to cover it goes to the insurance fund, then the pool.
        _settleBadDebtIfInsolvent(p.account, p.subaccount);

        r.healthAfter = _health(p.account, p.subaccount).health;
        emit Liquidated(
            p.account,
            p.subaccount,
            liquidator,
            r.closeFraction,
            r.closedNotional,
            r.repaid,
            r.healthBefore,
            r.healthAfter
        );
        if (budget > 0) _refund(liquidator, budget);
    }

    /// @inheritdoc IMarginEngineCore
    function settleBadDebt(address account, uint96 subaccount) external nonReentrant {
        if (!_settleBadDebtIfInsolvent(account, subaccount)) revert NoBadDebt(account, subaccount);
    }

    /// @inheritdoc IMarginEngineCore
    function fundInsurance(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _venueOrRevert();
        quoteToken.safeTransferFrom(msg.sender, address(this), amount);
        insuranceFund += amount;
        emit InsuranceFunded(msg.sender, amount);
    }

    // =================================================================== local vault and venue

    /// @inheritdoc IMarginEngineCore
    function creditFromLocalVault(MsgCodec.Lock calldata lock) external onlyLocalVault {
        if (!_markProcessed(lock.id)) revert MessageAlreadyProcessed(lock.id); // a revert below unmarks it
        uint8 reason = _creditBlocker(localEid, lock, false);
        if (reason != HoldReason.NONE) revert CannotCreditLocally(reason);
        _applyCredit(localEid, lock);
    }

    /// @inheritdoc IMarginEngineCore
    function requireInitialMargin(address account, uint96 subaccount) external view {
        _requireInitialMargin(account, subaccount);
    }

    // =================================================================== LayerZero

    /// @dev Engines receive LOCKs and HEARTBEATs. A LOCK that cannot be credited now (paused source, cap,
    ///      governor) is held, never reverted: a revert would block the pathway's later packets behind it.
    function _lzReceive(Origin calldata origin, bytes32, bytes calldata message, address, bytes calldata)
        internal
        override
    {
        uint8 msgType = MsgCodec.msgType(message);
        if (msgType == MsgCodec.HEARTBEAT) return _recordHeartbeat(origin.srcEid, MsgCodec.decodeHeartbeat(message));
        if (msgType != MsgCodec.LOCK) revert UnknownMessageType(msgType);
        MsgCodec.Lock memory lock = MsgCodec.decodeLock(message);
        if (!_markProcessed(lock.id)) return; // a replay changes nothing

        uint8 reason = _creditBlocker(origin.srcEid, lock, true);
        if (reason != HoldReason.NONE) {
            _held[lock.id] = HeldCredit(origin.srcEid, lock);
            emit CreditHeld(lock.id, lock.account, lock.subaccount, reason);
            return;
        }
        _applyCredit(origin.srcEid, lock);
    }

    /// @dev The source's own block time dates its heartbeat, so a backlog delivered late does not look fresh;
    ///      it is capped at this chain's time (a source clock ahead cannot buy freshness) and never goes back.
    function _recordHeartbeat(uint32 srcEid, uint64 sentAt) internal {
        if (sentAt > block.timestamp) sentAt = uint64(block.timestamp);
        if (sentAt <= lastHeardAt[srcEid]) return;
        lastHeardAt[srcEid] = sentAt;
        emit SourceHeard(srcEid, sentAt);
    }

    // =================================================================== views

    /// @inheritdoc IMarginEngineCore
    function health(address account, uint96 subaccount) external view returns (HealthView memory) {
        return _health(account, subaccount);
    }

    /// @inheritdoc IMarginEngineCore
    function quoteWithdraw(uint32 srcEid, bytes calldata options) external view returns (MessagingFee memory) {
        return _quotePayout(MsgCodec.RELEASE, srcEid, options);
    }

    /// @inheritdoc IMarginEngineCore
    function quoteSeize(uint32 srcEid, bytes calldata options) external view returns (MessagingFee memory) {
        return _quotePayout(MsgCodec.SEIZE, srcEid, options);
    }

    /// @inheritdoc IMarginEngineCore
    function quoteMove(uint32 srcEid, bytes calldata options) external view returns (MessagingFee memory fee) {
        if (srcEid == localEid) return fee;
        MsgCodec.Move memory body = MsgCodec.Move(bytes32(0), address(0), 0, address(0), 0, 0);
        return _quoteMessage(srcEid, MsgCodec.MOVE, MsgCodec.encodeMove(body), options);
    }

    // =================================================================== internals: ledger

    function _applyCredit(uint32 srcEid, MsgCodec.Lock memory lock) internal {
        bytes32 subKey = _subKey(lock.account, lock.subaccount);
        bytes32 key = _sourceKey(srcEid, lock.token);
        uint256 before = _credit[subKey][key];
        if (before == 0) _collaterals[subKey].push(key);
        _credit[subKey][key] = before + lock.amount;
        totalCredit[key] += lock.amount;
        emit Credited(lock.id, lock.account, lock.subaccount, srcEid, lock.token, lock.amount);
    }

    function _debit(address account, uint96 subaccount, uint32 srcEid, address token, uint256 amount) internal {
        bytes32 subKey = _subKey(account, subaccount);
        bytes32 key = _sourceKey(srcEid, token);
        uint256 current = _credit[subKey][key];
        if (current < amount) revert InsufficientCredit(current, amount);
        uint256 remaining = current - amount;
        _credit[subKey][key] = remaining;
        totalCredit[key] -= amount;
        if (remaining == 0) _collaterals[subKey].remove(key);
    }

    /// @dev Why `lock` cannot be credited now, or NONE. Consumes bridge capacity only when it returns NONE.
    function _creditBlocker(uint32 srcEid, MsgCodec.Lock memory lock, bool bridged) internal returns (uint8) {
        if (lock.amount == 0) return HoldReason.UNKNOWN_SOURCE;
        bytes32 key = _sourceKey(srcEid, lock.token);
        CollateralSource storage source = _sources[key];
        if (!source.enabled) return HoldReason.UNKNOWN_SOURCE;
        if (bridged && sourcePaused[srcEid]) return HoldReason.SOURCE_PAUSED;
        if (totalCredit[key] + lock.amount > source.creditCap) return HoldReason.CREDIT_CAP;
        bytes32 subKey = _subKey(lock.account, lock.subaccount);
        if (_credit[subKey][key] == 0 && _collaterals[subKey].count() >= MAX_COLLATERALS) {
            return HoldReason.TOO_MANY_COLLATERALS;
        }
        if (bridged && !_bridgeLimits[key].tryConsume(lock.amount)) return HoldReason.BRIDGE_LIMIT;
        return HoldReason.NONE;
    }

    // =================================================================== internals: margin

    /// @dev The margin state of a sub-account. Collateral is valued down and requirements rounded up, so
    ///      every rounding falls on the side of the protocol's solvency.
    function _health(address account, uint96 subaccount) internal view returns (HealthView memory h) {
        bytes32 subKey = _subKey(account, subaccount);
        bytes32[] memory keys = _collaterals[subKey].keys();
        for (uint256 i; i < keys.length; ++i) {
            bytes32 key = keys[i];
            // One SLOAD per struct: this loop runs twice per liquidation, per collateral. The fields are
            // unpacked by their declared order (Solidity packs a struct's members from the low-order
            // bytes of its slot): CollateralSource's first slot holds assetId (16 bits), decimals (8),
            // enabled (8), staleGrace (32) and staleDecay (32); RiskAsset's one slot holds oracle (160),
            // weight (64), enabled (8) and depth (24).
            CollateralSource storage source = _sources[key];
            uint256 s0;
            assembly ("memory-safe") {
                s0 := sload(source.slot)
            }
            RiskAsset storage asset = _riskAssets[uint16(s0)];
            uint256 a0;
            assembly ("memory-safe") {
                a0 := sload(asset.slot)
            }
            if (uint8(a0 >> 224) == 0) continue; // not enabled
            uint256 weight = _staleWeight(uint64(a0 >> 160), key, uint32(s0 >> 32), uint32(s0 >> 64));
            if (weight == 0) continue;
            uint256 value =
                _credit[subKey][key].toUsdDown(IPriceAdapter(address(uint160(a0))).price(), uint8(s0 >> 16));
            // Size-aware: past the asset's depth the holding counts as sqrt(value x depth), i.e. its weight
            // falls as sqrt(depth / value); rounding down stays on the protocol's side.
            uint256 depth = uint256(uint24(a0 >> 232)) * 1e21;
            if (value > depth && depth != 0) value = Math.sqrt(value * depth);
            h.collateralValue += value.mulWadDown(weight);
        }

        int256 equity = int256(h.collateralValue);
        IVenue venue_ = venue;
        if (address(venue_) != address(0)) {
            equity += venue_.settledBalance(account, subaccount);
            IVenue.PositionView[] memory positions = venue_.positionsOf(account, subaccount);
            for (uint256 i; i < positions.length; ++i) {
                IVenue.PositionView memory pos = positions[i];
                MarketRisk storage risk = _marketRisk[pos.marketId];
                uint256 notional = WadMath.abs(pos.size).mulWadUp(pos.markPrice);
                h.notional += notional;
                h.maintenanceRequirement += notional.mulWadUp(risk.maintenanceMargin);
                h.initialRequirement += notional.mulWadUp(risk.initialMargin);
                equity += pos.unrealizedPnl;
            }
        }
        h.equity = equity;

        if (h.maintenanceRequirement == 0) {
            h.health = equity >= 0 ? type(uint256).max : 0;
        } else {
            h.health = equity <= 0 ? 0 : uint256(equity).divWadDown(h.maintenanceRequirement);
        }
    }

    /// @dev Staleness-aware weight: `weight` while the source's last heartbeat is at most `staleGrace` old,
    ///      then falling linearly to 0 over `staleDecay` seconds (rounded down). Local credit never goes stale.
    function _staleWeight(uint256 weight, bytes32 key, uint256 grace, uint256 decay) internal view returns (uint256) {
        if (decay == 0) return weight;
        uint32 srcEid = uint32(uint256(key) >> 160);
        if (srcEid == localEid) return weight;
        // Clamped at zero: a dev chain can answer an eth_call with state a block ahead of its timestamp.
        uint256 heard = lastHeardAt[srcEid];
        uint256 age = block.timestamp > heard ? block.timestamp - heard : 0;
        if (age <= grace) return weight;
        uint256 late = age - grace;
        return late >= decay ? 0 : weight * (decay - late) / decay;
    }

    function _requireInitialMargin(address account, uint96 subaccount) internal view {
        HealthView memory h = _health(account, subaccount);
        if (h.equity < 0 || uint256(h.equity) < h.initialRequirement) {
            revert BelowInitialMargin(h.equity, h.initialRequirement);
        }
    }

    /// @dev The fraction (WAD) of every position to close: enough to bring health back to the target,
    ///      all of it when health is below the full-close line or the remainder would be dust.
    function _closeFraction(HealthView memory h) internal view returns (uint256) {
        LiquidationConfig memory cfg = _liquidationConfig;
        if (h.equity <= 0 || h.health < cfg.fullCloseHealth) return WAD;
        // An engine deployed without a config would divide by zero below; setLiquidationConfig keeps
        // targetHealth above 1, so zero means never set.
        if (cfg.targetHealth == 0) revert LiquidationNotConfigured();
        // Keep the fraction k of positions such that equity / (k * maintenance) >= target; rounding k down
        // closes a little more, never less.
        uint256 keep = uint256(h.equity).divWadDown(h.maintenanceRequirement.mulWadUp(cfg.targetHealth));
        if (keep >= WAD) return 0;
        if (h.notional.mulWadDown(keep) < cfg.dustNotional) return WAD;
        return WAD - keep;
    }

    /// @dev USD of collateral the liquidation may buy: the sub-account's debt to the pool, and at least the
    ///      bonus share of the notional just closed, so that closing a position without debt (collateral
    ///      that lost value) still pays its liquidator.
    function _repayNeed(address account, uint96 subaccount, uint256 closedNotional) internal view returns (uint256) {
        int256 settled = venue.settledBalance(account, subaccount);
        uint256 debt = settled < 0 ? uint256(-settled) : 0;
        uint256 closingReward = closedNotional.mulWadDown(_liquidationConfig.bonus);
        return closingReward > debt ? closingReward : debt;
    }

    /// @dev One seize order: `liquidator` pays quote tokens (rounded up) into the settled balance and
    ///      `p.recipient` receives collateral (rounded down) worth (1 + bonus) times that, on its own chain.
    ///      Returns the payment both in USD (`repaidUsd`) and in quote tokens (`repaid`).
    function _buyCollateral(
        LiquidateParams calldata p,
        SeizeOrder calldata order,
        address liquidator,
        uint256 needUsd,
        uint256 budget
    )
        internal
        returns (uint256 repaidUsd, uint256 repaid, uint256 seized, bytes32 seizeId, uint256 feePaid)
    {
        if (p.recipient == address(0)) revert ZeroAddress();
        bytes32 key = _sourceKey(order.srcEid, order.token);
        uint256 available = _credit[_subKey(p.account, p.subaccount)][key];
        if (available == 0) revert UnknownCollateral(order.srcEid, order.token);
        CollateralSource storage source = _sources[key];

        repaidUsd = _quoteToUsd(order.maxRepay);
        if (repaidUsd > needUsd) repaidUsd = needUsd;
        uint256 price = _riskAssets[source.assetId].oracle.price();
        uint256 bonusFactor = WAD + _liquidationConfig.bonus;
        seized = repaidUsd.mulWadDown(bonusFactor).fromUsdDown(price, source.decimals);
        if (seized > available) {
            // Not enough of this collateral: take all of it and charge the liquidator its fair price.
            seized = available;
            repaidUsd = available.toUsdDown(price, source.decimals).divWadUp(bonusFactor);
        }
        repaid = _usdToQuoteUp(repaidUsd);
        if (seized == 0 || repaid == 0) revert ZeroAmount();

        IVenue venue_ = venue;
        quoteToken.safeTransferFrom(liquidator, address(venue_), repaid);
        venue_.onRepay(p.account, p.subaccount, repaid);
        _debit(p.account, p.subaccount, order.srcEid, order.token, seized);

        seizeId = _nextMessageId();
        emit Debited(
            seizeId, MsgCodec.SEIZE, p.account, p.subaccount, order.srcEid, order.token, seized, p.recipient, 0
        );
        MsgCodec.Payout memory payout =
            MsgCodec.Payout(seizeId, p.account, p.subaccount, order.token, seized, p.recipient);
        if (order.srcEid == localEid) {
            ICollateralVault(localVault).payoutFromLocalEngine(MsgCodec.SEIZE, payout);
        } else {
            feePaid = _sendMessageFromBudget(
                order.srcEid, MsgCodec.SEIZE, MsgCodec.encodePayout(MsgCodec.SEIZE, payout), order.options, budget
            );
        }
    }

    function _refund(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert RefundFailed(to, amount);
    }

    /// @dev A sub-account with no positions, no collateral and a negative settled balance is insolvent: the
    ///      insurance fund covers what it can and the venue's pool writes off the rest. Returns whether it did.
    function _settleBadDebtIfInsolvent(address account, uint96 subaccount) internal returns (bool) {
        IVenue venue_ = venue;
        if (address(venue_) == address(0)) return false;
        if (_collaterals[_subKey(account, subaccount)].count() != 0) return false;
        if (venue_.positionsOf(account, subaccount).length != 0) return false;
        int256 settled = venue_.settledBalance(account, subaccount);
        if (settled >= 0) return false;

        uint256 debt = _usdToQuoteUp(uint256(-settled));
        uint256 covered = debt < insuranceFund ? debt : insuranceFund;
        if (covered > 0) {
            insuranceFund -= covered;
            quoteToken.safeTransfer(address(venue_), covered);
            venue_.onRepay(account, subaccount, covered);
        }
        uint256 writtenOff = venue_.writeOff(account, subaccount);
        emit BadDebtSettled(account, subaccount, covered, writtenOff);
        return true;
    }

    // =================================================================== internals: messaging

    /// @dev Pays out through the local vault at once, or sends RELEASE/SEIZE to the vault on `srcEid`.
    function _dispatchPayout(
        uint8 kind,
        uint32 srcEid,
        MsgCodec.Payout memory payout,
        bytes calldata options,
        uint256 feeBudget
    ) internal {
        if (srcEid == localEid) {
            if (feeBudget != 0) revert UnexpectedNativeValue(feeBudget);
            ICollateralVault(localVault).payoutFromLocalEngine(kind, payout);
        } else {
            _sendMessage(srcEid, kind, MsgCodec.encodePayout(kind, payout), options, feeBudget, msg.sender);
        }
    }

    /// @dev Debit, initial-margin check, then MOVE to the collateral's vault (or through the local vault at
    ///      once). A remote MOVE's fee excess is refunded to the caller (the trader, or the rebalancer).
    function _move(
        address account,
        uint96 subaccount,
        uint32 srcEid,
        address token,
        uint256 amount,
        uint32 dstEngineEid,
        bytes calldata options
    ) internal returns (bytes32 id) {
        if (amount == 0) revert ZeroAmount();
        if (dstEngineEid == localEid) revert SameEngine(dstEngineEid);
        _debit(account, subaccount, srcEid, token, amount);
        _requireInitialMargin(account, subaccount);

        id = _nextMessageId();
        emit Debited(id, MsgCodec.MOVE, account, subaccount, srcEid, token, amount, address(0), dstEngineEid);
        MsgCodec.Move memory body = MsgCodec.Move(id, account, subaccount, token, amount, dstEngineEid);
        if (srcEid == localEid) {
            // The local vault sends the LOCK to the destination engine; msg.value pays for it.
            ICollateralVault(localVault).moveFromLocalEngine{value: msg.value}(body, options);
        } else {
            _sendMessage(srcEid, MsgCodec.MOVE, MsgCodec.encodeMove(body), options, msg.value, msg.sender);
        }
    }

    function _quotePayout(uint8 kind, uint32 srcEid, bytes calldata options)
        internal
        view
        returns (MessagingFee memory fee)
    {
        if (srcEid == localEid) return fee;
        MsgCodec.Payout memory body = MsgCodec.Payout(bytes32(0), address(0), 0, address(0), 0, address(0));
        return _quoteMessage(srcEid, kind, MsgCodec.encodePayout(kind, body), options);
    }

    // =================================================================== internals: helpers

    function _venueOrRevert() internal view returns (IVenue venue_) {
        venue_ = venue;
        if (address(venue_) == address(0)) revert NoVenue();
    }

    function _quoteToUsd(uint256 amount) internal view returns (uint256) {
        return amount * 10 ** (18 - quoteDecimals);
    }

    function _usdToQuoteUp(uint256 usd) internal view returns (uint256) {
        uint256 unit = 10 ** (18 - quoteDecimals);
        return (usd + unit - 1) / unit;
    }
}
