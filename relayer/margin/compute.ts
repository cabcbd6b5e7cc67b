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
  for (const [key, amount] of sub.credit.get(chain.eid) ?? []) {
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
    const settled = sub.settled.get(chain.eid) ?? 0n;
    if (quoteDecimals === undefined) {
      if (settled !== 0n) ok = false;
    } else settledBalance = settled * pow10(18 - quoteDecimals);
    equity += settledBalance;
    for (const [marketId, pos] of sub.positions.get(chain.eid) ?? []) {
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

/**
 * Per price the engine's health depends on: the relative move of that price alone (every other
 * price fixed) that brings equity down to the maintenance requirement. Equity and requirement are
 * linear in one price (collateral value, |size| × mark and PnL all are), so two exact evaluations
 * give both lines and the crossing point. A display and ranking figure, in floating point; the
 * liquidation decision itself uses the exact health.
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
  for (const [dep, p] of base.priced) {
    const p0 = p.price;
    const p1 = p0 * 2n;
    const at1 = computeEngine(chain, sub, new Map([[dep, p1]])).health;
    let move: number | null = null;
    let deltas: { equityDelta: number; maintenanceDelta: number } | undefined;
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

export const ONE = WAD;
