// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMarginEngine, IMarginEngineTypes} from "../interfaces/IMarginEngine.sol";
import {IPriceAdapter} from "../interfaces/IPriceAdapter.sol";
import {IVenue} from "../interfaces/IVenue.sol";
import {WadMath} from "../libraries/WadMath.sol";

/// @title PerpMarket
/// @notice The reference venue: oracle-priced perpetual futures whose counterparty is a pool of liquidity
///         providers in the quote token (USDC-like, valued at 1 USD per whole token). Traders pay a trading
///         fee on every trade and a borrow fee on their entry notional over time; both go to the pool.
///         Margin is not held here: the MarginEngine holds collateral, checks initial margin after every
///         trade that adds risk, and liquidates through the engine hooks below.
/// @dev Units: sizes are base units with 18 decimals (positive = long); prices and USD figures are WAD;
///      settled balances and pool figures are quote-token units. Every conversion rounds in the pool's
///      favour: what a trader gains is rounded down, what a trader owes is rounded up, and the pool values
///      its liabilities up and its receivables down.
contract PerpMarket is IVenue, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;
    using WadMath for uint256;

    // ------------------------------------------------------------------ types

    /// @notice Parameters and aggregates of one market.
    struct Market {
        IPriceAdapter oracle;
        /// @dev Trading fee as a fraction of the traded notional (WAD, e.g. 0.001e18 = 10 bps).
        uint64 tradingFee;
        /// @dev Time of the last borrow accrual.
        uint64 lastAccrual;
        bool listed;
        /// @dev Borrow fee per unit of entry notional per second (WAD).
        uint128 borrowRatePerSecond;
        /// @dev Cumulative borrow fee per unit of entry notional since listing (WAD).
        uint256 borrowIndex;
        /// @dev Σ size of long positions (WAD base units).
        uint256 longSize;
        /// @dev Σ |size| of short positions.
        uint256 shortSize;
        /// @dev Σ entry notional of long positions (USD, WAD), each computed by `_entryNotional`.
        uint256 longEntryNotional;
        /// @dev Σ entry notional of short positions.
        uint256 shortEntryNotional;
        /// @dev Σ entry notional × borrow index at entry over all positions (WAD², unscaled), so that
        ///      the borrow fees accrued and not yet settled are index × Σ notional − this.
        uint256 entryNotionalIndexSum;
    }

    /// @notice One position of (account, subaccount, market).
    struct Position {
        /// @dev Base units, WAD, positive = long.
        int256 size;
        /// @dev Size-weighted average entry price (WAD).
        uint256 entryPrice;
        /// @dev Market borrow index when the borrow fee was last settled.
        uint256 borrowIndexAtEntry;
    }

    /// @dev Figures of one position change, for events.
    struct Fill {
        int256 sizeBefore;
        int256 sizeAfter;
        uint256 entryPrice;
        uint256 price;
        int256 realisedPnl;
        uint256 tradingFee;
        uint256 borrowFee;
    }

    // ------------------------------------------------------------------ constants

    /// @notice Most markets a subaccount may hold positions in at once (bounds positionsOf and liquidations).
    uint256 public constant MAX_OPEN_POSITIONS = 8;
    /// @notice Highest trading fee a market may charge (WAD): 1 %.
    uint64 public constant MAX_TRADING_FEE = 0.01e18;
    /// @notice Highest borrow rate per second (WAD): about 315 % a year.
    uint128 public constant MAX_BORROW_RATE = 1e11;
    /// @notice Shares minted on the first deposit and locked forever (inflation-attack guard).
    uint256 public constant MINIMUM_LIQUIDITY = 1000;

    // ------------------------------------------------------------------ storage

    /// @notice The margin engine that may call the engine hooks and whose market risk applies.
    IMarginEngine public immutable engine;
    IERC20 private immutable _quote;
    /// @dev 10 ** (18 − quote decimals): USD WAD per quote unit.
    uint256 private immutable _quoteScale;

    mapping(uint32 marketId => Market) private _markets;
    uint32[] private _marketIds;

    mapping(address account => mapping(uint96 subaccount => mapping(uint32 marketId => Position))) private _positions;
    mapping(address account => mapping(uint96 subaccount => uint32[])) private _openMarkets;

    /// @notice Realised PnL balance in quote units: positive is owed to the trader, negative is a debt.
    mapping(address account => mapping(uint96 subaccount => int256)) public settled;
    /// @notice Σ positive settled balances (quote units): what the pool owes traders.
    uint256 public totalTraderCredit;
    /// @notice Σ |negative settled balances| (quote units): what traders owe the pool.
    uint256 public totalTraderDebt;
    /// @notice Σ debts written off as pool losses (quote units).
    uint256 public badDebt;

    /// @notice LP shares of each provider (internal ledger, not a token).
    mapping(address provider => uint256) public sharesOf;
    /// @notice Σ LP shares, including the locked MINIMUM_LIQUIDITY.
    uint256 public totalShares;

    // ------------------------------------------------------------------ events

    event MarketAdded(uint32 indexed marketId, IPriceAdapter oracle, uint64 tradingFee, uint128 borrowRatePerSecond);
    event MarketParamsSet(
        uint32 indexed marketId, IPriceAdapter oracle, uint64 tradingFee, uint128 borrowRatePerSecond
    );
    /// @notice The market's cumulative borrow index moved to `borrowIndex` at `timestamp`.
    event BorrowAccrued(uint32 indexed marketId, uint256 borrowIndex, uint256 timestamp);
    /// @notice A position changed by a trade (`liquidation` false) or a liquidation close (true).
    ///         `realisedPnl`, `tradingFee` and `borrowFee` are quote units charged/credited to `settled`.
    event PositionChanged(
        address indexed account,
        uint96 indexed subaccount,
        uint32 indexed marketId,
        int256 sizeBefore,
        int256 sizeAfter,
        uint256 entryPrice,
        uint256 price,
        int256 realisedPnl,
        uint256 tradingFee,
        uint256 borrowFee,
        int256 settledAfter,
        bool liquidation
    );
    /// @notice The engine closed `fractionWad` of every position of the subaccount.
    event LiquidationClosed(
        address indexed account, uint96 indexed subaccount, uint256 fractionWad, uint256 closedNotional
    );
    event SettledChanged(address indexed account, uint96 indexed subaccount, int256 delta, int256 settledAfter);
    event Repaid(address indexed account, uint96 indexed subaccount, uint256 amount);
    event PaidOut(address indexed account, uint96 indexed subaccount, uint256 amount, address indexed to);
    event BadDebtWrittenOff(address indexed account, uint96 indexed subaccount, uint256 amount, uint256 totalBadDebt);
    event LiquidityDeposited(address indexed provider, uint256 amount, uint256 shares);
    event LiquidityWithdrawn(address indexed provider, uint256 shares, uint256 amount);

    // ------------------------------------------------------------------ errors

    error ZeroAddress();
    error ZeroAmount();
    error QuoteDecimalsTooHigh(uint8 decimals);
    error NotEngine(address caller);
    error MarketExists(uint32 marketId);
    error UnknownMarket(uint32 marketId);
    error InvalidMarketParameter(uint64 tradingFee, uint128 borrowRatePerSecond);
    /// @notice The engine's risk parameters have this market disabled (only reducing trades are allowed).
    error MarketDisabled(uint32 marketId);
    /// @notice The oracle price is worse than the trader's bound (buy: price > bound, sell: price < bound).
    error PriceNotAcceptable(uint256 price, uint256 acceptablePrice);
    error OpenInterestCapExceeded(uint32 marketId, bool long, uint256 openInterest, uint256 cap);
    error TooManyPositions(uint256 max);
    error InvalidFraction(uint256 fractionWad);
    error InsufficientSettled(int256 settled, uint256 requested);
    error PositionsOpen(uint256 count);
    /// @notice The pool is worth nothing (or less): no deposit or withdrawal can be priced.
    error PoolInsolvent(int256 poolValue);
    /// @notice Too few shares would be minted (first deposit at most MINIMUM_LIQUIDITY, or rounding to 0).
    error ZeroShares(uint256 amount);
    error InsufficientShares(uint256 balance, uint256 requested);
    /// @notice The withdrawal would leave the pool unable to pay traders' positive settled balances and
    ///         unrealised profits: at most `available` quote units can leave now.
    error InsufficientPoolLiquidity(uint256 available, uint256 requested);

    // ------------------------------------------------------------------ construction

    /// @param engine_ The margin engine of this chain.
    /// @param quoteToken_ Settlement token (valued at 1 USD per whole token), at most 18 decimals.
    /// @param owner_ Lists markets and sets their parameters.
    constructor(IMarginEngine engine_, IERC20Metadata quoteToken_, address owner_) Ownable(owner_) {
        if (address(engine_) == address(0) || address(quoteToken_) == address(0)) revert ZeroAddress();
        uint8 dec = quoteToken_.decimals();
        if (dec > 18) revert QuoteDecimalsTooHigh(dec);
        engine = engine_;
        _quote = IERC20(address(quoteToken_));
        _quoteScale = 10 ** (18 - dec);
    }

    modifier onlyEngine() {
        if (msg.sender != address(engine)) revert NotEngine(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ owner

    /// @notice Lists market `marketId` priced by `oracle`. Its margin rules, OI caps and enabled flag come
    ///         from the engine's `marketRisk(marketId)`.
    /// @param tradingFee Fee per trade as a fraction of notional (WAD), at most MAX_TRADING_FEE.
    /// @param borrowRatePerSecond Borrow fee per unit of entry notional per second (WAD), at most
    ///        MAX_BORROW_RATE.
    function addMarket(uint32 marketId, IPriceAdapter oracle, uint64 tradingFee, uint128 borrowRatePerSecond)
        external
        onlyOwner
    {
        if (_markets[marketId].listed) revert MarketExists(marketId);
        _checkParams(oracle, tradingFee, borrowRatePerSecond);
        Market storage m = _markets[marketId];
        m.oracle = oracle;
        m.tradingFee = tradingFee;
        m.borrowRatePerSecond = borrowRatePerSecond;
        m.lastAccrual = uint64(block.timestamp);
        m.listed = true;
        _marketIds.push(marketId);
        emit MarketAdded(marketId, oracle, tradingFee, borrowRatePerSecond);
    }

    /// @notice Changes a listed market's oracle, trading fee and borrow rate. Borrow fees accrue at the
    ///         old rate up to now first.
    function setMarketParams(uint32 marketId, IPriceAdapter oracle, uint64 tradingFee, uint128 borrowRatePerSecond)
        external
        onlyOwner
    {
        Market storage m = _market(marketId);
        _checkParams(oracle, tradingFee, borrowRatePerSecond);
        _accrue(marketId, m);
        m.oracle = oracle;
        m.tradingFee = tradingFee;
        m.borrowRatePerSecond = borrowRatePerSecond;
        emit MarketParamsSet(marketId, oracle, tradingFee, borrowRatePerSecond);
    }

    // ------------------------------------------------------------------ traders

    /// @notice Changes the caller's position in `marketId` by `sizeDelta` (base units, WAD; positive buys)
    ///         at the oracle price. Settles the position's accrued borrow fee, realises PnL on the reduced
    ///         part, charges the trading fee, then (if the trade added risk) asks the engine to check
    ///         initial margin. A trade that crosses zero closes the old side and opens the new one.
    /// @param acceptablePrice Worst price accepted: highest for a buy, lowest for a sell.
    function trade(uint96 subaccount, uint32 marketId, int256 sizeDelta, uint256 acceptablePrice)
        external
        nonReentrant
    {
        if (sizeDelta == 0) revert ZeroAmount();
        Market storage m = _market(marketId);
        Position storage pos = _positions[msg.sender][subaccount][marketId];
        int256 sizeBefore = pos.size;
        int256 sizeAfter = sizeBefore + sizeDelta;
        bool addsRisk = _abs(sizeAfter) > _abs(sizeBefore) || (sizeBefore > 0 && sizeAfter < 0)
            || (sizeBefore < 0 && sizeAfter > 0);

        IMarginEngineTypes.MarketRisk memory risk = engine.marketRisk(marketId);
        if (!risk.enabled && addsRisk) revert MarketDisabled(marketId);

        _accrue(marketId, m);
        uint256 price = m.oracle.price();
        if (sizeDelta > 0 ? price > acceptablePrice : price < acceptablePrice) {
            revert PriceNotAcceptable(price, acceptablePrice);
        }

        Fill memory fill = _fill(m, pos, sizeDelta, price);
        fill.tradingFee = _usdToQuoteUp(_abs(sizeDelta).mulWadUp(price).mulWadUp(m.tradingFee));
        _checkOpenInterest(marketId, m, risk.openInterestCap, fill, price);
        _afterFill(msg.sender, subaccount, marketId, fill, false);

        if (addsRisk) engine.requireInitialMargin(msg.sender, subaccount);
    }

    // ------------------------------------------------------------------ liquidity providers

    /// @notice Deposits `amount` quote tokens into the pool for LP shares priced at the current pool value.
    ///         The first deposit mints shares 1:1, of which MINIMUM_LIQUIDITY are locked forever.
    /// @dev Shares are priced from what arrived (balance delta), so a fee-on-transfer token cannot inflate them.
    function depositLiquidity(uint256 amount) external nonReentrant returns (uint256 shares) {
        if (amount == 0) revert ZeroAmount();
        int256 valueBefore = poolValue();
        uint256 supply = totalShares;
        if (valueBefore < 0 || (supply != 0 && valueBefore == 0)) revert PoolInsolvent(valueBefore);

        uint256 balanceBefore = _quote.balanceOf(address(this));
        _quote.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _quote.balanceOf(address(this)) - balanceBefore;

        if (supply == 0) {
            if (received <= MINIMUM_LIQUIDITY) revert ZeroShares(received);
            shares = received - MINIMUM_LIQUIDITY;
            sharesOf[address(0)] = MINIMUM_LIQUIDITY;
            totalShares = received;
        } else {
            shares = received.mulDivDown(supply, uint256(valueBefore));
            if (shares == 0) revert ZeroShares(received);
            totalShares = supply + shares;
        }
        sharesOf[msg.sender] += shares;
        emit LiquidityDeposited(msg.sender, received, shares);
    }

    /// @notice Burns `shares` for their part of the pool value, in quote tokens (rounded down). Reverts if
    ///         the pool would be left unable to pay traders' positive settled balances and net unrealised
    ///         profits.
    function withdrawLiquidity(uint256 shares) external nonReentrant returns (uint256 amount) {
        if (shares == 0) revert ZeroAmount();
        uint256 held = sharesOf[msg.sender];
        if (held < shares) revert InsufficientShares(held, shares);
        int256 value = poolValue();
        if (value <= 0) revert PoolInsolvent(value);
        amount = uint256(value).mulDivDown(shares, totalShares);
        if (amount == 0) revert ZeroAmount();
        uint256 available = availableLiquidity();
        if (amount > available) revert InsufficientPoolLiquidity(available, amount);

        sharesOf[msg.sender] = held - shares;
        totalShares -= shares;
        emit LiquidityWithdrawn(msg.sender, shares, amount);
        _quote.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ engine hooks

    /// @inheritdoc IVenue
    /// @dev No trading fee. `fractionWad` of each size is rounded up (never more than the size), so a
    ///      fraction of 1e18 closes everything.
    function liquidationClose(address account, uint96 subaccount, uint256 fractionWad)
        external
        override
        onlyEngine
        nonReentrant
        returns (uint256 closedNotional)
    {
        if (fractionWad == 0 || fractionWad > WadMath.WAD) revert InvalidFraction(fractionWad);
        // Copy: closing positions removes entries from the storage list.
        uint32[] memory ids = _openMarkets[account][subaccount];
        for (uint256 i; i < ids.length; ++i) {
            uint32 marketId = ids[i];
            Market storage m = _markets[marketId];
            Position storage pos = _positions[account][subaccount][marketId];
            uint256 closeSize = _abs(pos.size).mulWadUp(fractionWad);
            if (closeSize == 0) continue;
            _accrue(marketId, m);
            uint256 price = m.oracle.price();
            int256 delta = pos.size > 0 ? -closeSize.toInt256() : closeSize.toInt256();
            Fill memory fill = _fill(m, pos, delta, price);
            closedNotional += closeSize.mulWadDown(price);
            _afterFill(account, subaccount, marketId, fill, true);
        }
        emit LiquidationClosed(account, subaccount, fractionWad, closedNotional);
    }

    /// @inheritdoc IVenue
    /// @dev Trusts the engine to have transferred `amount` quote tokens here before the call.
    function onRepay(address account, uint96 subaccount, uint256 amount) external override onlyEngine nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _addSettled(account, subaccount, amount.toInt256());
        emit Repaid(account, subaccount, amount);
    }

    /// @inheritdoc IVenue
    function payOut(address account, uint96 subaccount, uint256 amount, address to)
        external
        override
        onlyEngine
        nonReentrant
    {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        int256 bal = settled[account][subaccount];
        if (bal < 0 || uint256(bal) < amount) revert InsufficientSettled(bal, amount);
        _addSettled(account, subaccount, -amount.toInt256());
        emit PaidOut(account, subaccount, amount, to);
        _quote.safeTransfer(to, amount);
    }

    /// @inheritdoc IVenue
    /// @dev Refuses while the subaccount still has open positions. Returns 0 when there is no debt.
    function writeOff(address account, uint96 subaccount)
        external
        override
        onlyEngine
        nonReentrant
        returns (uint256 writtenOff)
    {
        uint256 open = _openMarkets[account][subaccount].length;
        if (open != 0) revert PositionsOpen(open);
        int256 bal = settled[account][subaccount];
        if (bal >= 0) return 0;
        writtenOff = uint256(-bal);
        _addSettled(account, subaccount, -bal);
        badDebt += writtenOff;
        emit BadDebtWrittenOff(account, subaccount, writtenOff, badDebt);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IVenue
    function positionsOf(address account, uint96 subaccount)
        external
        view
        override
        returns (PositionView[] memory views)
    {
        uint32[] storage ids = _openMarkets[account][subaccount];
        views = new PositionView[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            uint32 marketId = ids[i];
            Market storage m = _markets[marketId];
            Position storage pos = _positions[account][subaccount][marketId];
            uint256 mark = m.oracle.price();
            uint256 sizeAbs = _abs(pos.size);
            uint256 entryNotional = _entryNotional(sizeAbs, pos.entryPrice);
            int256 pnl = pos.size > 0
                ? sizeAbs.mulWadDown(mark).toInt256() - entryNotional.toInt256()
                : entryNotional.toInt256() - sizeAbs.mulWadUp(mark).toInt256();
            uint256 fee = entryNotional.mulWadUp(_currentIndex(m) - pos.borrowIndexAtEntry);
            views[i] = PositionView({
                marketId: marketId, size: pos.size, markPrice: mark, unrealizedPnl: pnl - fee.toInt256()
            });
        }
    }

    /// @inheritdoc IVenue
    function settledBalance(address account, uint96 subaccount) external view override returns (int256) {
        return settled[account][subaccount] * _quoteScale.toInt256();
    }

    /// @inheritdoc IVenue
    function quoteToken() external view override returns (address) {
        return address(_quote);
    }

    /// @notice Value of the LP pool in quote units: token balance − traders' positive settled balances +
    ///         their debts − traders' net unrealised PnL (at oracle prices) + borrow fees accrued and not
    ///         yet settled. Liabilities are rounded up, receivables down. Reverts if an oracle does.
    /// @dev Debts count at face value; a debt that turns bad lowers the value when it is written off.
    function poolValue() public view returns (int256) {
        return _quote.balanceOf(address(this)).toInt256() - totalTraderCredit.toInt256() + totalTraderDebt.toInt256()
            - _usdToQuoteCeil(traderUnrealisedPnl());
    }

    /// @notice Quote units LPs may withdraw now: balance − positive settled balances − net unrealised
    ///         trader profit (if positive), floored at zero.
    function availableLiquidity() public view returns (uint256) {
        int256 unrealised = _usdToQuoteCeil(traderUnrealisedPnl());
        int256 free = _quote.balanceOf(address(this)).toInt256() - totalTraderCredit.toInt256()
            - (unrealised > 0 ? unrealised : int256(0));
        return free > 0 ? uint256(free) : 0;
    }

    /// @notice Traders' net unrealised PnL over all markets (USD, WAD) from the open-interest aggregates,
    ///         net of accrued unsettled borrow fees. Rounded up (the pool's liability).
    function traderUnrealisedPnl() public view returns (int256 pnl) {
        for (uint256 i; i < _marketIds.length; ++i) {
            Market storage m = _markets[_marketIds[i]];
            if (m.longSize == 0 && m.shortSize == 0) continue;
            uint256 mark = m.oracle.price();
            pnl += m.longSize.mulWadUp(mark).toInt256() - m.longEntryNotional.toInt256();
            pnl += m.shortEntryNotional.toInt256() - m.shortSize.mulWadDown(mark).toInt256();
            uint256 accrued = (_currentIndex(m)
                    * (m.longEntryNotional + m.shortEntryNotional)
                    - m.entryNotionalIndexSum) / WadMath.WAD;
            pnl -= accrued.toInt256();
        }
    }

    /// @notice Parameters and aggregates of `marketId` (borrow index as of the last accrual).
    function market(uint32 marketId) external view returns (Market memory) {
        return _markets[marketId];
    }

    /// @notice Ids of all listed markets.
    function marketIds() external view returns (uint32[] memory) {
        return _marketIds;
    }

    /// @notice The position of (account, subaccount) in `marketId`.
    function positionOf(address account, uint96 subaccount, uint32 marketId) external view returns (Position memory) {
        return _positions[account][subaccount][marketId];
    }

    /// @notice Markets in which (account, subaccount) has an open position.
    function openMarketsOf(address account, uint96 subaccount) external view returns (uint32[] memory) {
        return _openMarkets[account][subaccount];
    }

    /// @notice Borrow fee accrued on the position and not yet settled (quote units, rounded up).
    function pendingBorrowFee(address account, uint96 subaccount, uint32 marketId) external view returns (uint256) {
        Position storage pos = _positions[account][subaccount][marketId];
        Market storage m = _markets[marketId];
        uint256 entryNotional = _entryNotional(_abs(pos.size), pos.entryPrice);
        return _usdToQuoteUp(entryNotional.mulWadUp(_currentIndex(m) - pos.borrowIndexAtEntry));
    }

    // ------------------------------------------------------------------ internals

    function _market(uint32 marketId) private view returns (Market storage m) {
        m = _markets[marketId];
        if (!m.listed) revert UnknownMarket(marketId);
    }

    function _checkParams(IPriceAdapter oracle, uint64 tradingFee, uint128 borrowRatePerSecond) private pure {
        if (address(oracle) == address(0)) revert ZeroAddress();
        if (tradingFee > MAX_TRADING_FEE || borrowRatePerSecond > MAX_BORROW_RATE) {
            revert InvalidMarketParameter(tradingFee, borrowRatePerSecond);
        }
    }

    /// @dev Clamped at zero elapsed time: a node's `eth_call` may run with a timestamp below the last
    ///      accrual (a dev chain mining ahead of the wall clock), and views must not revert on that.
    function _currentIndex(Market storage m) private view returns (uint256) {
        uint256 last = m.lastAccrual;
        uint256 elapsed = block.timestamp > last ? block.timestamp - last : 0;
        return m.borrowIndex + uint256(m.borrowRatePerSecond) * elapsed;
    }

    function _accrue(uint32 marketId, Market storage m) private {
        if (m.lastAccrual == block.timestamp) return;
        uint256 index = _currentIndex(m);
        m.lastAccrual = uint64(block.timestamp);
        if (index != m.borrowIndex) {
            m.borrowIndex = index;
            emit BorrowAccrued(marketId, index, block.timestamp);
        }
    }

    /// @dev Applies `delta` to `pos` at `price` (market already accrued): settles the borrow fee, realises
    ///      PnL on the reduced part, updates the position and the market aggregates. Does not touch
    ///      `settled` (see `_afterFill`).
    function _fill(Market storage m, Position storage pos, int256 delta, uint256 price)
        private
        returns (Fill memory f)
    {
        int256 before = pos.size;
        uint256 absBefore = _abs(before);
        uint256 enBefore = _entryNotional(absBefore, pos.entryPrice);
        uint256 index = m.borrowIndex;
        f.sizeBefore = before;
        f.price = price;
        f.borrowFee = _usdToQuoteUp(enBefore.mulWadUp(index - pos.borrowIndexAtEntry));

        int256 next = before + delta;
        uint256 absNext = _abs(next);
        uint256 entryAfter;
        if (before == 0 || (before > 0) == (delta > 0)) {
            // Increase: size-weighted entry, rounded against the trader (up for longs, down for shorts).
            uint256 added = _abs(delta).mulWadDown(price);
            entryAfter = next > 0 ? (enBefore + added).divWadUp(absNext) : (enBefore + added).divWadDown(absNext);
        } else {
            uint256 closed = _abs(delta) < absBefore ? _abs(delta) : absBefore;
            uint256 enClosed = enBefore - _entryNotional(absBefore - closed, pos.entryPrice);
            int256 pnlUsd = before > 0
                ? closed.mulWadDown(price).toInt256() - enClosed.toInt256()
                : enClosed.toInt256() - closed.mulWadUp(price).toInt256();
            f.realisedPnl = _usdToQuoteFloor(pnlUsd);
            if (next == 0) entryAfter = 0;
            else if ((next > 0) == (before > 0)) entryAfter = pos.entryPrice;
            else entryAfter = price; // flipped: the remainder opens at the oracle price
        }
        uint256 enAfter = _entryNotional(absNext, entryAfter);

        // Aggregates: take the old position out, put the new one in.
        if (before > 0) {
            m.longSize -= absBefore;
            m.longEntryNotional -= enBefore;
        } else if (before < 0) {
            m.shortSize -= absBefore;
            m.shortEntryNotional -= enBefore;
        }
        if (next > 0) {
            m.longSize += absNext;
            m.longEntryNotional += enAfter;
        } else if (next < 0) {
            m.shortSize += absNext;
            m.shortEntryNotional += enAfter;
        }
        m.entryNotionalIndexSum = m.entryNotionalIndexSum + enAfter * index - enBefore * pos.borrowIndexAtEntry;

        pos.size = next;
        pos.entryPrice = entryAfter;
        pos.borrowIndexAtEntry = next == 0 ? 0 : index;
        f.sizeAfter = next;
        f.entryPrice = entryAfter;
    }

    /// @dev Reverts if the side that grew in this fill is now above the engine's cap (USD at `price`).
    function _checkOpenInterest(uint32 marketId, Market storage m, uint256 cap, Fill memory f, uint256 price)
        private
        view
    {
        int256 longBefore = f.sizeBefore > 0 ? f.sizeBefore : int256(0);
        int256 longAfter = f.sizeAfter > 0 ? f.sizeAfter : int256(0);
        int256 shortBefore = f.sizeBefore < 0 ? -f.sizeBefore : int256(0);
        int256 shortAfter = f.sizeAfter < 0 ? -f.sizeAfter : int256(0);
        if (longAfter > longBefore) {
            uint256 oi = m.longSize.mulWadUp(price);
            if (oi > cap) revert OpenInterestCapExceeded(marketId, true, oi, cap);
        }
        if (shortAfter > shortBefore) {
            uint256 oi = m.shortSize.mulWadUp(price);
            if (oi > cap) revert OpenInterestCapExceeded(marketId, false, oi, cap);
        }
    }

    /// @dev Books a fill: settled balance, open-market list, event.
    function _afterFill(address account, uint96 subaccount, uint32 marketId, Fill memory f, bool liquidation) private {
        int256 delta = f.realisedPnl - f.tradingFee.toInt256() - f.borrowFee.toInt256();
        int256 settledAfter = delta == 0 ? settled[account][subaccount] : _addSettled(account, subaccount, delta);
        if (f.sizeBefore == 0 && f.sizeAfter != 0) {
            uint32[] storage ids = _openMarkets[account][subaccount];
            if (ids.length == MAX_OPEN_POSITIONS) revert TooManyPositions(MAX_OPEN_POSITIONS);
            ids.push(marketId);
        } else if (f.sizeBefore != 0 && f.sizeAfter == 0) {
            _removeOpenMarket(account, subaccount, marketId);
        }
        emit PositionChanged(
            account,
            subaccount,
            marketId,
            f.sizeBefore,
            f.sizeAfter,
            f.entryPrice,
            f.price,
            f.realisedPnl,
            f.tradingFee,
            f.borrowFee,
            settledAfter,
            liquidation
        );
    }

    function _removeOpenMarket(address account, uint96 subaccount, uint32 marketId) private {
        uint32[] storage ids = _openMarkets[account][subaccount];
        uint256 n = ids.length;
        for (uint256 i; i < n; ++i) {
            if (ids[i] == marketId) {
                ids[i] = ids[n - 1];
                ids.pop();
                return;
            }
        }
    }

    /// @dev Adds `delta` quote units to the settled balance, keeping the credit/debt totals exact.
    function _addSettled(address account, uint96 subaccount, int256 delta) private returns (int256 next) {
        int256 prev = settled[account][subaccount];
        next = prev + delta;
        if (prev > 0) totalTraderCredit -= uint256(prev);
        else totalTraderDebt -= uint256(-prev);
        if (next > 0) totalTraderCredit += uint256(next);
        else totalTraderDebt += uint256(-next);
        settled[account][subaccount] = next;
        emit SettledChanged(account, subaccount, delta, next);
    }

    /// @dev Entry notional of a position (USD, WAD). The one formula used for positions and aggregates.
    function _entryNotional(uint256 sizeAbs, uint256 entryPrice) private pure returns (uint256) {
        return sizeAbs.mulWadDown(entryPrice);
    }

    function _usdToQuoteUp(uint256 usd) private view returns (uint256) {
        return usd.mulDivUp(1, _quoteScale);
    }

    /// @dev Signed USD → quote units rounded towards −∞ (what a trader is credited).
    function _usdToQuoteFloor(int256 usd) private view returns (int256) {
        if (usd >= 0) return (uint256(usd) / _quoteScale).toInt256();
        return -(uint256(-usd).mulDivUp(1, _quoteScale)).toInt256();
    }

    /// @dev Signed USD → quote units rounded towards +∞ (a liability of the pool).
    function _usdToQuoteCeil(int256 usd) private view returns (int256) {
        if (usd >= 0) return (uint256(usd).mulDivUp(1, _quoteScale)).toInt256();
        return -(uint256(-usd) / _quoteScale).toInt256();
    }

    function _abs(int256 x) private pure returns (uint256) {
        return WadMath.abs(x);
    }
}
