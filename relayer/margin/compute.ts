// MarginEngine._health off-chain, term by term with the same rounding, over the state the events
// built: credits valued down at the engine's adapters' prices and haircut by the asset weight,
// positions marked as PerpMarket.positionsOf marks them (unrealised PnL net of the borrow fee
// accrued up to the chain's current block time), requirements rounded up.
//
// Positions are replicated, not fetched: PositionChanged carries size and entry price, the borrow
// index is followed from BorrowAccrued/MarketAdded/MarketParamsSet and advanced with the block
// time exactly like PerpMarket._currentIndex. That keeps a price change an O(exposed) recompute with
// no RPC call at all.

import type { Address } from '../config/types.ts';
import { borrowDep, priceDep, staleDep } from './apply.ts';
import type { ChainState, RiskAssetState, SourceState, SubState } from './state.ts';
import type { HealthView, LiquidationDistance } from './types.ts';
import {
  abs,
  DEPTH_UNIT,
  divWadDown,
  feedToWad,
  MAX_UINT256,
  mulWadDown,
  mulWadUp,
  pow10,
  sqrtDown,
  toUsdDown,
  WAD,
} from './wad.ts';

/** A price forced for a what-if (distance to liquidation): dependency key -> WAD price. */
export type PriceOverride = ReadonlyMap<string, bigint>;

export interface PositionMark {
  marketId: number;
  size: bigint;
  entryPrice: bigint;
  markPrice: bigint;
  unrealizedPnl: bigint;
}

export interface EngineComputation {
  /** undefined when a price is missing or the adapter would revert (engine.health() reverts too). */
  health: HealthView | undefined;
  positions: PositionMark[];
  settledBalance: bigint;
  /** Dependency keys this result depends on (prices and borrow clocks). */
  deps: Set<string>;
  /** Per price dependency: which asset ids / market ids it prices (for distance reports). */
  priced: Map<string, { assetIds: Set<number>; marketIds: Set<number>; price: bigint }>;
}

/** priceDep strings, cached per (eid, address): the hot path would otherwise build one per lookup. */
const depCache = new Map<number, Map<string, string>>();
function depOf(eid: number, address: Address): string {
  let byAddress = depCache.get(eid);
  if (byAddress === undefined) {
    byAddress = new Map();
    depCache.set(eid, byAddress);
  }
  let dep = byAddress.get(address);
  if (dep === undefined) {
    dep = priceDep(eid, address);
    if (byAddress.size < 100_000) byAddress.set(address, dep);
  }
  return dep;
}

/** An adapter's price (WAD) as its price() would return it; null if it reverts, undefined if unknown. */
export function adapterPrice(
  chain: ChainState,
  adapter: Address,
  override?: PriceOverride,
): { dep: string; price: bigint | null | undefined } {
  const a = chain.adapters.get(adapter);
  if (a === undefined) return { dep: depOf(chain.eid, adapter), price: undefined };
  if (a.feed === null) {
    const dep = depOf(chain.eid, adapter);
    return { dep, price: override?.get(dep) ?? a.price };
  }
  const dep = depOf(chain.eid, a.feed);
  const forced = override?.get(dep);
  if (forced !== undefined) return { dep, price: forced };
  const answer = chain.feeds.get(a.feed);
  return { dep, price: answer === undefined ? undefined : feedToWad(answer, a.feedDecimals) };
}

/** PerpMarket._currentIndex at the chain's block time. */
function currentIndex(
  m: { borrowIndex: bigint; borrowRatePerSecond: bigint; lastAccrual: number },
  now: number,
) {
  return m.borrowIndex + m.borrowRatePerSecond * BigInt(Math.max(0, now - m.lastAccrual));
}

/** What computeEngine gathers beside the health; computeHealth passes none and allocates nothing. */
interface Collector {
  dep(dep: string): void;
  priced(dep: string, price: bigint, what: 'asset' | 'market', id: number): void;
  position(mark: PositionMark): void;
}

/** MarginEngine._health term by term (the one implementation of the maths). */
function health(
  chain: ChainState,
  sub: SubState,
  override: PriceOverride | undefined,
  collect: Collector | undefined,
): { health: HealthView; ok: boolean; settledBalance: bigint } {
  let ok = true;
  let collateralValue = 0n;
  for (const [key, amount] of sub.credits(chain.eid)) {
    // An unknown source reads as the zero struct on chain: asset 0, 0 decimals.
    const source = chain.sources.get(key) ?? UNKNOWN_SOURCE;
    const asset = chain.riskAssets.get(source.assetId);
    if (asset === undefined || !asset.enabled) continue;
    const weight = staleWeight(chain, key, source, asset.weight, collect);
    if (weight === 0n) continue;
    const { dep, price } = adapterPrice(chain, asset.oracle, override);
    collect?.dep(dep);
    if (price === undefined || price === null) {
      ok = false;
      continue;
    }
    collect?.priced(dep, price, 'asset', source.assetId);
    let value = toUsdDown(amount, price, source.decimals);
    // Size-aware: past the depth a holding counts as sqrt(value × depth).
    const depth = BigInt(asset.depth) * DEPTH_UNIT;
    if (value > depth && depth !== 0n) value = sqrtDown(value * depth);
    collateralValue += mulWadDown(value, weight);
  }

  let equity = collateralValue;
  let notionalSum = 0n;
  let maintenanceRequirement = 0n;
  let initialRequirement = 0n;
  let settledBalance = 0n;
  const venue = chain.venue;
  if (venue !== undefined) {
    const quoteDecimals = chain.quoteDecimals.get(venue);
    const settled = sub.settled(chain.eid) ?? 0n;
    if (quoteDecimals === undefined) {
      if (settled !== 0n) ok = false;
    } else settledBalance = settled * pow10(18 - quoteDecimals);
    equity += settledBalance;
    for (const pos of sub.positions(chain.eid)) {
      const marketId = pos.marketId;
      const m = chain.markets.get(marketId);
      if (m === undefined) {
        ok = false;
        continue;
      }
      const { dep, price: mark } = adapterPrice(chain, m.oracle, override);
      collect?.dep(dep);
      if (m.borrowRatePerSecond !== 0n) collect?.dep(borrowDep(chain.eid, marketId));
      if (mark === undefined || mark === null) {
        ok = false;
        continue;
      }
      collect?.priced(dep, mark, 'market', marketId);
      // PerpMarket.positionsOf
      const sizeAbs = abs(pos.size);
      const entryNotional = mulWadDown(sizeAbs, pos.entryPrice);
      const pnl =
        pos.size > 0n ? mulWadDown(sizeAbs, mark) - entryNotional : entryNotional - mulWadUp(sizeAbs, mark);
      const fee = mulWadUp(entryNotional, currentIndex(m, chain.timestamp) - pos.borrowIndexAtEntry);
      const unrealizedPnl = pnl - fee;
      collect?.position({
        marketId,
        size: pos.size,
        entryPrice: pos.entryPrice,
        markPrice: mark,
        unrealizedPnl,
      });
      // MarginEngine._health
      const risk = chain.marketRisk.get(marketId) ?? NO_RISK;
      const notional = mulWadUp(sizeAbs, mark);
      notionalSum += notional;
      maintenanceRequirement += mulWadUp(notional, risk.maintenanceMargin);
      initialRequirement += mulWadUp(notional, risk.initialMargin);
      equity += unrealizedPnl;
    }
  }
  let h: bigint;
  if (maintenanceRequirement === 0n) h = equity >= 0n ? MAX_UINT256 : 0n;
  else h = equity <= 0n ? 0n : divWadDown(equity, maintenanceRequirement);
  return {
    health: {
      collateralValue,
      equity,
      maintenanceRequirement,
      initialRequirement,
      notional: notionalSum,
      health: h,
    },
    ok,
    settledBalance,
  };
}

const UNKNOWN_SOURCE: SourceState = { assetId: 0, decimals: 0, enabled: false, staleGrace: 0, staleDecay: 0 };

/** The eid a `${srcEid}:${token}` credit key names. */
export const srcEidOf = (key: string): number => Number(key.slice(0, key.indexOf(':')));

/**
 * MarginEngine._staleWeight: the weight while the source chain's last heartbeat is at most
 * `staleGrace` old at the engine chain's block time, then falling linearly to 0 over `staleDecay`.
 */
function staleWeight(
  chain: ChainState,
  key: string,
  source: SourceState,
  weight: bigint,
  collect: Collector | undefined,
): bigint {
  if (source.staleDecay === 0) return weight;
  const srcEid = srcEidOf(key);
  if (srcEid === chain.eid) return weight;
  collect?.dep(staleDep(chain.eid, srcEid));
  const age = Math.max(0, chain.timestamp - (chain.lastHeard.get(srcEid) ?? 0));
  if (age <= source.staleGrace) return weight;
  const late = age - source.staleGrace;
  if (late >= source.staleDecay) return 0n;
  return (weight * BigInt(source.staleDecay - late)) / BigInt(source.staleDecay);
}

/**
 * Whether credit under `key` (its source and asset already looked up) is valued with a size- or
 * staleness-aware weight: not linear in price, or not free of the clock.
 */
export function hasDynamicWeight(
  chain: ChainState,
  key: string,
  source: SourceState,
  asset: RiskAssetState,
): boolean {
  return asset.depth !== 0 || (source.staleDecay !== 0 && srcEidOf(key) !== chain.eid);
}
const NO_RISK = { initialMargin: 0n, maintenanceMargin: 0n };

/** The health of `sub` on the engine of `chain`, as MarginEngine.health(account, sub) would return it. */
export function computeEngine(chain: ChainState, sub: SubState, override?: PriceOverride): EngineComputation {
  const deps = new Set<string>();
  const priced: EngineComputation['priced'] = new Map();
  const positions: PositionMark[] = [];
  const r = health(chain, sub, override, {
    dep: (dep) => deps.add(dep),
    priced(dep, price, what, id) {
      let p = priced.get(dep);
      if (p === undefined) {
        p = { assetIds: new Set(), marketIds: new Set(), price };
        priced.set(dep, p);
      }
      (what === 'asset' ? p.assetIds : p.marketIds).add(id);
    },
    position: (mark) => positions.push(mark),
  });
  return { health: r.ok ? r.health : undefined, positions, settledBalance: r.settledBalance, deps, priced };
}

/**
 * The same health as computeEngine(...).health, without the dependencies, marks and price notes:
 * what a sweep needs (the exact fallback of ./fast.ts, liquidation scans).
 */
export function computeHealth(
  chain: ChainState,
  sub: SubState,
  override?: PriceOverride,
): HealthView | undefined {
  const r = health(chain, sub, override, undefined);
  return r.ok ? r.health : undefined;
}

/** A no-op for the collector's notes the view does not keep. */
const ignore = (): void => {};

/**
 * The health and the dependency keys it read, without the marks and price notes: what the view
 * keeps per entry between recomputes (the marks and notes are rebuilt by computeEngine when
 * someone asks for an account; keeping them cost ~3 KB per sub-account at 100k, bench/margin.ts).
 */
export function computeHealthDeps(
  chain: ChainState,
  sub: SubState,
): { health: HealthView | undefined; deps: string[] } {
  const deps: string[] = [];
  const r = health(chain, sub, undefined, {
    dep: (dep) => {
      if (!deps.includes(dep)) deps.push(dep);
    },
    priced: ignore,
    position: ignore,
  });
  return { health: r.ok ? r.health : undefined, deps };
}

/**
 * Whether any credit of `sub` on the engine of `chain` is valued with a size- or staleness-aware
 * weight (hasDynamicWeight): then equity is not known to be linear in a price, and distances are
 * searched on the exact health.
 */
export function subHasDynamicWeight(chain: ChainState, sub: SubState): boolean {
  for (const [key] of sub.credits(chain.eid)) {
    const source = chain.sources.get(key) ?? UNKNOWN_SOURCE;
    const asset = chain.riskAssets.get(source.assetId);
    if (asset?.enabled && hasDynamicWeight(chain, key, source, asset)) return true;
  }
  return false;
}

/**
 * Per price the engine's health depends on: the relative move of that price alone (every other
 * price fixed) that brings equity down to the maintenance requirement. A display and ranking
 * figure, in floating point; the liquidation decision itself uses the exact health.
 *
 * Fast path: with constant weights, equity and requirement are linear in one price (collateral
 * value, |size| × mark and PnL all are), so two exact evaluations give both lines and the crossing.
 * A sub-account with a size-aware weight is not linear: past its asset's depth a holding counts as
 * sqrt(value × depth). Its distances are searched on the exact health instead (exactMove).
 */
export function liquidationDistances(
  chain: ChainState,
  sub: SubState,
  base: EngineComputation,
): LiquidationDistance[] {
  const out: LiquidationDistance[] = [];
  if (base.health === undefined) return out;
  const e0 = base.health.equity;
  const m0 = base.health.maintenanceRequirement;
  const dynamic = subHasDynamicWeight(chain, sub);
  for (const [dep, p] of base.priced) {
    const p0 = p.price;
    let move: number | null = null;
    let deltas: { equityDelta: number; maintenanceDelta: number } | undefined;
    if (dynamic) {
      move = exactMove(chain, sub, dep, p0, e0 - m0);
      deltas = localDeltas(chain, sub, dep, p0);
    } else {
      const p1 = p0 * 2n;
      const at1 = computeHealth(chain, sub, new Map([[dep, p1]]));
      if (at1 !== undefined) {
        // p1 − p0 = p0, so the change over that what-if is the slope times p0: dX/d ln p.
        deltas = {
          equityDelta: Number(at1.equity - e0) / 1e18,
          maintenanceDelta: Number(at1.maintenanceRequirement - m0) / 1e18,
        };
        // e(p) = e0 + a (p − p0), m(p) = m0 + b (p − p0); e = m at p − p0 = (m0 − e0) / (a − b).
        const dp = Number(p1 - p0);
        const a = Number(at1.equity - e0) / dp;
        const b = Number(at1.maintenanceRequirement - m0) / dp;
        if (a !== b && (m0 > 0n || at1.maintenanceRequirement > 0n)) {
          const x = Number(m0 - e0) / (a - b);
          const target = Number(p0) + x;
          if (target > 0) move = x / Number(p0);
        }
      }
    }
    const [, eid, address] = dep.split(':');
    out.push({
      engineEid: chain.eid,
      priceKey: `${Number(eid)}:${address as Address}`,
      assetIds: [...p.assetIds].sort((x, y) => x - y),
      marketIds: [...p.marketIds].sort((x, y) => x - y),
      price: p0,
      move,
      ...deltas,
    });
  }
  return out;
}

/** Relative moves are applied to WAD prices in steps of 1e-12. */
const MOVE_SCALE = 10n ** 12n;
/** Bisection stops when the bracket is this narrow, relative to the current price (1e-9). */
const BISECT_PRECISION = 10n ** 9n;

/** Candidate moves, nearest first: both directions, halving down to −(1 − 2^-30), doubling up to +2^20. */
const SEARCH_LADDER: readonly number[] = (() => {
  const down: number[] = [];
  for (let k = 7; k >= 1; k--) down.push(-(2 ** -k)); // −1/128 … −1/2
  for (let k = 2; k <= 30; k++) down.push(-(1 - 2 ** -k)); // −3/4 … −(1 − 2^-30)
  const up: number[] = [];
  for (let k = -7; k <= 20; k++) up.push(2 ** k); // +1/128 … +2^20
  return [...down, ...up].sort((x, y) => Math.abs(x) - Math.abs(y) || x - y);
})();

const moved = (p0: bigint, move: number): bigint =>
  (p0 * (MOVE_SCALE + BigInt(Math.round(move * Number(MOVE_SCALE))))) / MOVE_SCALE;

/**
 * The nearest relative move of price `dep` (from `p0`) at which equity − maintenance requirement
 * changes sign, on the exact health (computeHealth with the price forced), or null when none does.
 *
 * Equity minus requirement is concave in one price: collateral values are linear up to the depth and
 * sqrt past it (concave), PnL and the requirement are linear. So for a healthy sub-account the healthy
 * prices form one interval around p0, with at most one crossing in each direction. The ladder of
 * candidate moves is walked nearest first; the first candidate on the other side brackets a crossing,
 * bisection narrows it to 1e-9 of p0, and one evaluation at the same distance in the other direction
 * says whether a nearer crossing lies there (then that one is bisected too).
 */
function exactMove(
  chain: ChainState,
  sub: SubState,
  dep: string,
  p0: bigint,
  margin0: bigint,
): number | null {
  if (p0 <= 0n) return null;
  const healthy = margin0 >= 0n;
  // No position and nothing owed: no requirement, equity ≥ 0 at every price, nothing to find.
  if (healthy && sub.positionCount(chain.eid) === 0 && (sub.settled(chain.eid) ?? 0n) >= 0n) return null;
  /** true: across the line from p0; false: same side; undefined: the price cannot be evaluated. */
  const across = (p: bigint): boolean | undefined => {
    if (p <= 0n) return undefined;
    const h = computeHealth(chain, sub, new Map([[dep, p]]));
    return h === undefined ? undefined : h.equity - h.maintenanceRequirement >= 0n !== healthy;
  };
  /** Bisects between `inside` (same side as p0) and `outside` (across); returns the relative move. */
  const bisect = (inside: bigint, outside: bigint): number => {
    const tolerance = p0 / BISECT_PRECISION > 0n ? p0 / BISECT_PRECISION : 1n;
    let lo = inside;
    let hi = outside;
    while ((hi > lo ? hi - lo : lo - hi) > tolerance) {
      const mid = (lo + hi) / 2n;
      if (across(mid) === true) hi = mid;
      else lo = mid;
    }
    return Number(hi - p0) / Number(p0);
  };
  const last = { down: p0, up: p0 };
  for (const m of SEARCH_LADDER) {
    const p = moved(p0, m);
    const side = m < 0 ? 'down' : 'up';
    if (across(p) !== true) {
      last[side] = p;
      continue;
    }
    const found = bisect(last[side], p);
    // A crossing on the other side nearer than `found`? Only if the price at that distance is across.
    const mirror = -found;
    if (mirror <= -1) return found;
    const q = moved(p0, mirror);
    if (across(q) !== true) return found;
    const other = bisect(p0, q);
    return Math.abs(other) < Math.abs(found) ? other : found;
  }
  return null;
}

/**
 * dEquity/d ln p and dMaintenance/d ln p at p0 (USD per unit of relative move), by a central
 * difference of ±1e-6 on the exact health: the sensitivities of relayer/risk where equity is not
 * linear in the price (a holding past its depth).
 */
function localDeltas(
  chain: ChainState,
  sub: SubState,
  dep: string,
  p0: bigint,
): { equityDelta: number; maintenanceDelta: number } | undefined {
  const h = 1e-6;
  const up = computeHealth(chain, sub, new Map([[dep, moved(p0, h)]]));
  const down = computeHealth(chain, sub, new Map([[dep, moved(p0, -h)]]));
  if (up === undefined || down === undefined) return undefined;
  return {
    equityDelta: Number(up.equity - down.equity) / 1e18 / (2 * h),
    maintenanceDelta: Number(up.maintenanceRequirement - down.maintenanceRequirement) / 1e18 / (2 * h),
  };
}

export const ONE = WAD;
