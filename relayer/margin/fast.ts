// A packed, floating-point screen in front of the exact health (./compute.ts) for sweeps over many
// sub-accounts of one engine: full recomputes, price ticks and liquidation sweeps.
//
// The state of each sub-account is copied once into struct-of-arrays typed arrays (collateral slots:
// amount in whole tokens and a "kind" = (source, asset) index; position slots: signed size, entry
// price, entry notional, borrow index at entry, market index). A price tick changes one entry of a
// small price table; the hot loop is then multiply-adds over Float64Arrays, no bigint, no Map, no
// allocation.
//
// Decisions stay exact. health < 1 ⇔ equity < maintenance requirement (MarginEngine._health:
// equity ≤ 0 gives 0, a zero requirement gives 0 or MAX, else floor(equity·WAD / req) < WAD), so the
// screen classifies on the sign of margin = equity − requirement. The float margin carries an error
// below TOLERANCE × (Σ |terms|) + ABS_TOLERANCE (double rounding is ~1e-16 per operation and the
// bigint path rounds each term by at most 1 wei = 1e-18 USD); a sub-account whose |margin| is inside
// that band — or whose figures are not finite (a missing or reverting price) — is recomputed with
// computeEngine in bigint and classified by the exact health. Health *values* from the screen are
// display figures (relative error ~1e-12); the classification is the engine's.
//
// What is packed is a snapshot of credits, positions, settled balances and risk parameters: call
// `pack` again after events that change them (the view recomputes those entries one by one anyway).
// Prices and the chain's clock (borrow fees) are re-read by `refreshPrices`.

import type { Address } from '../config/types.ts';
import { borrowDep } from './apply.ts';
import { adapterPrice, computeHealth, hasDynamicWeight, type PriceOverride } from './compute.ts';
import type { ChainState, SubState } from './state.ts';
import { WAD } from './wad.ts';

/** Relative band around health = 1 inside which the screen defers to the exact bigint health. */
export const TOLERANCE = 1e-9;
/** Absolute band (USD) for sub-accounts whose terms are all tiny. */
export const ABS_TOLERANCE = 1e-9;

export const STATUS = {
  healthy: 0,
  /** health < 1: the engine would accept a liquidation. */
  liquidatable: 1,
  /** The engine's health() would revert (missing or invalid price): no decision. */
  unknown: 2,
} as const;

interface Kind {
  dep: string;
  depIndex: number;
  weight: number;
}

interface MarketSlot {
  id: number;
  dep: string;
  depIndex: number;
  maintenance: number;
  /** Dependency index of its borrow clock, or -1 when the market charges nothing. */
  borrowDepIndex: number;
}

export interface ScreenResult {
  /** Sub-accounts screened. */
  screened: number;
  /** Of those, how many were near the line (or not finite) and recomputed exactly in bigint. */
  exact: number;
  /** Indexes (into `book.subs`) whose status changed. */
  changed: number[];
}

export interface PackedBook {
  readonly engineEid: number;
  readonly subs: readonly SubState[];
  readonly n: number;
  readonly cSlots: number;
  readonly pSlots: number;
  /** Price dependency keys, as ExposureIndex names them (`p:eid:address`, `b:eid:market`). */
  readonly deps: readonly string[];
  /** Float health per sub-account (Infinity with no requirement, NaN when unknown). */
  readonly health: Float64Array;
  /** STATUS per sub-account. */
  readonly status: Uint8Array;
  /** 1 where the last screen of that sub-account went to the exact bigint path (near the line, not finite, not modelled). */
  readonly viaExact: Uint8Array;
  /**
   * Re-reads every price (and the borrow indexes at the chain's time) into the price table;
   * with `override`, prices by dependency key replace the chain's (the tip screen's unconfirmed
   * answers), for the screen and its exact fallback alike, until the next refresh.
   */
  refreshPrices(chain: ChainState, override?: PriceOverride): void;
  /** Screens every sub-account. */
  screenAll(chain: ChainState): ScreenResult;
  /** Screens only the sub-accounts exposed to `dep` (after refreshPrices). */
  screenExposed(chain: ChainState, dep: string): ScreenResult;
  /** Screens the sub-accounts at `indexes` (after refreshPrices). */
  screenSome(chain: ChainState, indexes: ArrayLike<number>): ScreenResult;
  /** Sub-account indexes exposed to `dep`. */
  exposed(dep: string): Int32Array;
  /** Indexes of liquidatable sub-accounts (status after the last screen). */
  liquidatable(): number[];
  /** Bytes held by the typed arrays (excluding `subs`; the exposure table once `exposed` built it). */
  bytes(): number;
}

const pow10 = (d: number): number => 10 ** d;

/** Packs the sub-accounts `subs` as seen by the engine of `chain`. */
export function pack(chain: ChainState, subs: readonly SubState[]): PackedBook {
  const eid = chain.eid;
  const n = subs.length;
  // ---- kinds (collateral source × asset) and markets, each with a price dependency
  const deps: string[] = ['0']; // index 0: the constant zero price of padding slots
  const depIndex = new Map<string, number>([['0', 0]]);
  const depOf = (dep: string): number => {
    let i = depIndex.get(dep);
    if (i === undefined) {
      i = deps.length;
      deps.push(dep);
      depIndex.set(dep, i);
    }
    return i;
  };
  const kinds: Kind[] = [{ dep: '0', depIndex: 0, weight: 0 }];
  const kindOf = new Map<string, number>();
  const scaleOf: number[] = [1];
  const markets: MarketSlot[] = [{ id: -1, dep: '0', depIndex: 0, maintenance: 0, borrowDepIndex: -1 }];
  const marketOf = new Map<number, number>();

  let cSlots = 0;
  let pSlots = 0;
  for (const sub of subs) {
    cSlots = Math.max(cSlots, sub.creditCount(eid));
    pSlots = Math.max(pSlots, sub.positionCount(eid));
  }
  const cAmount = new Float64Array(n * cSlots);
  const cKind = new Uint16Array(n * cSlots);
  const pSize = new Float64Array(n * pSlots);
  const pEntryNotional = new Float64Array(n * pSlots);
  const pMarket = new Uint16Array(n * pSlots);
  /** settled + Σ (entry notional × index at entry − signed entry notional): equity that no price moves. */
  const base = new Float64Array(n);
  /** |settled| + Σ entry notional × (1 + |index at entry|): the price-free part of the error bound. */
  const baseMagnitude = new Float64Array(n);
  /** Sub-accounts the screen cannot model (an unknown source or market): always exact. */
  const forceExact = new Uint8Array(n);
  const quoteDecimals = chain.venue === undefined ? undefined : chain.quoteDecimals.get(chain.venue);

  for (let i = 0; i < n; i++) {
    const sub = subs[i] as SubState;
    let j = i * cSlots;
    for (const [key, amount] of sub.credits(eid)) {
      const source = chain.sources.get(key);
      const asset = source === undefined ? undefined : chain.riskAssets.get(source.assetId);
      if (source === undefined || asset === undefined) {
        forceExact[i] = 1;
        continue;
      }
      if (!asset.enabled || asset.weight === 0n) continue;
      // Size- and staleness-aware weights are not a constant factor: such holdings go exact.
      if (hasDynamicWeight(chain, key, source, asset)) forceExact[i] = 1;
      let k = kindOf.get(key);
      if (k === undefined) {
        const { dep } = adapterPrice(chain, asset.oracle);
        k = kinds.length;
        kinds.push({ dep, depIndex: depOf(dep), weight: Number(asset.weight) / 1e18 });
        scaleOf.push(pow10(source.decimals));
        kindOf.set(key, k);
      }
      cAmount[j] = Number(amount) / (scaleOf[k] as number);
      cKind[j] = k;
      j++;
    }
    if (chain.venue !== undefined) {
      const s = sub.settled(eid) ?? 0n;
      let b = 0;
      if (quoteDecimals === undefined) {
        if (s !== 0n) forceExact[i] = 1;
      } else b = Number(s) / pow10(quoteDecimals);
      let bm = Math.abs(b);
      j = i * pSlots;
      for (const pos of sub.positions(eid)) {
        const marketId = pos.marketId;
        const m = chain.markets.get(marketId);
        if (m === undefined) {
          forceExact[i] = 1;
          continue;
        }
        let mi = marketOf.get(marketId);
        if (mi === undefined) {
          const { dep } = adapterPrice(chain, m.oracle);
          const risk = chain.marketRisk.get(marketId);
          mi = markets.length;
          markets.push({
            id: marketId,
            dep,
            depIndex: depOf(dep),
            maintenance: risk === undefined ? 0 : Number(risk.maintenanceMargin) / 1e18,
            borrowDepIndex: m.borrowRatePerSecond === 0n ? -1 : depOf(borrowDep(eid, marketId)),
          });
          marketOf.set(marketId, mi);
        }
        const size = Number(pos.size) / 1e18;
        const entryNotional = (Math.abs(size) * Number(pos.entryPrice)) / 1e18;
        const entryIndex = Number(pos.borrowIndexAtEntry) / 1e18;
        pSize[j] = size;
        pEntryNotional[j] = entryNotional;
        b += entryNotional * entryIndex - (size < 0 ? -entryNotional : entryNotional);
        bm += entryNotional * (1 + Math.abs(entryIndex));
        pMarket[j] = mi;
        j++;
      }
      base[i] = b;
      baseMagnitude[i] = bm;
    }
  }

  // ---- exposure: dependency -> sub-account indexes (CSR), built on the first `exposed` call: the
  // view's screen (./screen.ts) takes its exposed entries from the ExposureIndex and never asks,
  // and the table is 4 B per exposure (24 B per sub-account in the bench population).
  let csr: { counts: Int32Array; byDep: Int32Array } | undefined;
  const exposureTable = (): { counts: Int32Array; byDep: Int32Array } => {
    if (csr !== undefined) return csr;
    const counts = new Int32Array(deps.length + 1);
    const mark = new Int32Array(deps.length).fill(-1);
    const visit = (i: number, fn: (d: number) => void) => {
      for (let j = i * cSlots, end = j + cSlots; j < end; j++) {
        const k = cKind[j] as number;
        if (k !== 0) fn((kinds[k] as Kind).depIndex);
      }
      for (let j = i * pSlots, end = j + pSlots; j < end; j++) {
        const m = pMarket[j] as number;
        if (m === 0) continue;
        const ms = markets[m] as MarketSlot;
        fn(ms.depIndex);
        if (ms.borrowDepIndex >= 0) fn(ms.borrowDepIndex);
      }
    };
    for (let i = 0; i < n; i++) {
      visit(i, (d) => {
        if (mark[d] !== i) {
          mark[d] = i;
          counts[d + 1] = (counts[d + 1] as number) + 1;
        }
      });
    }
    for (let d = 0; d < deps.length; d++) counts[d + 1] = (counts[d + 1] as number) + (counts[d] as number);
    const byDep = new Int32Array(counts[deps.length] as number);
    const fill = counts.slice(0, deps.length);
    mark.fill(-1);
    for (let i = 0; i < n; i++) {
      visit(i, (d) => {
        if (mark[d] !== i) {
          mark[d] = i;
          byDep[fill[d] as number] = i;
          fill[d] = (fill[d] as number) + 1;
        }
      });
    }
    csr = { counts, byDep };
    return csr;
  };

  // ---- prices
  const price = new Float64Array(deps.length);
  const kindValue = new Float64Array(kinds.length);
  const mMark = new Float64Array(markets.length);
  const mMaint = new Float64Array(markets.length);
  const mIndex = new Float64Array(markets.length);
  for (let m = 1; m < markets.length; m++) mMaint[m] = (markets[m] as MarketSlot).maintenance;

  /** The prices the last refreshPrices was given on top of the chain's, for the exact fallback too. */
  let override: PriceOverride | undefined;
  function refreshPrices(c: ChainState, prices?: PriceOverride): void {
    override = prices;
    for (let d = 1; d < deps.length; d++) {
      const dep = deps[d] as string;
      if (dep.startsWith('b:')) continue;
      // The dependency key names the feed (or a derived adapter): find the adapter reading it.
      price[d] = priceOfDep(c, dep, override);
    }
    for (let k = 1; k < kinds.length; k++) {
      const kind = kinds[k] as Kind;
      kindValue[k] = (price[kind.depIndex] as number) * kind.weight;
    }
    for (let m = 1; m < markets.length; m++) {
      const ms = markets[m] as MarketSlot;
      mMark[m] = price[ms.depIndex] as number;
      const state = c.markets.get(ms.id);
      mIndex[m] =
        state === undefined
          ? Number.NaN
          : Number(
              state.borrowIndex +
                state.borrowRatePerSecond * BigInt(Math.max(0, c.timestamp - state.lastAccrual)),
            ) / 1e18;
    }
  }

  const health = new Float64Array(n);
  const status = new Uint8Array(n);
  const viaExact = new Uint8Array(n);
  const exactSub = (c: ChainState, i: number): number => {
    const h = computeHealth(c, subs[i] as SubState, override);
    if (h === undefined) {
      health[i] = Number.NaN;
      return STATUS.unknown;
    }
    health[i] = h.maintenanceRequirement === 0n ? (h.equity >= 0n ? Infinity : 0) : Number(h.health) / 1e18;
    return h.health < WAD ? STATUS.liquidatable : STATUS.healthy;
  };

  /** Screens sub-account i; returns 1 when it needed the exact path. */
  function screen(c: ChainState, i: number, changed: number[]): number {
    let equity = base[i] as number;
    let magnitude = baseMagnitude[i] as number;
    for (let j = i * cSlots, end = j + cSlots; j < end; j++) {
      equity += (cAmount[j] as number) * (kindValue[cKind[j] as number] as number);
    }
    // Collateral terms are non-negative: their magnitude is their sum.
    magnitude += equity - (base[i] as number);
    let req = 0;
    for (let j = i * pSlots, end = j + pSlots; j < end; j++) {
      const m = pMarket[j] as number;
      const size = pSize[j] as number;
      const markPrice = mMark[m] as number;
      const feeOfEntry = (pEntryNotional[j] as number) * (mIndex[m] as number);
      // PnL − fee = size × mark − signed entry notional − entry notional × (index − index at entry);
      // the terms without a price are in base[i].
      equity += size * markPrice - feeOfEntry;
      const notional = Math.abs(size) * markPrice;
      req += notional * (mMaint[m] as number);
      magnitude += notional + feeOfEntry;
    }
    const margin = equity - req;
    let s: number;
    let exact = 0;
    if (forceExact[i] === 0 && Math.abs(margin) > TOLERANCE * (magnitude + req) + ABS_TOLERANCE) {
      s = margin < 0 ? STATUS.liquidatable : STATUS.healthy;
      health[i] = req === 0 ? (equity >= 0 ? Infinity : 0) : equity <= 0 ? 0 : equity / req;
    } else {
      // Near the line, not finite (NaN: a price is missing or reverts) or not modelled: bigint.
      s = exactSub(c, i);
      exact = 1;
    }
    viaExact[i] = exact;
    if (status[i] !== s) {
      status[i] = s;
      changed.push(i);
    }
    return exact;
  }

  const book: PackedBook = {
    engineEid: eid,
    subs,
    n,
    cSlots,
    pSlots,
    deps,
    health,
    status,
    viaExact,
    refreshPrices,
    screenAll(c) {
      const changed: number[] = [];
      let exact = 0;
      for (let i = 0; i < n; i++) exact += screen(c, i, changed);
      return { screened: n, exact, changed };
    },
    screenExposed(c, dep) {
      return book.screenSome(c, book.exposed(dep));
    },
    screenSome(c, indexes) {
      const changed: number[] = [];
      let exact = 0;
      for (let x = 0; x < indexes.length; x++) exact += screen(c, indexes[x] as number, changed);
      return { screened: indexes.length, exact, changed };
    },
    exposed(dep) {
      const d = depIndex.get(dep);
      if (d === undefined) return new Int32Array(0);
      const { counts, byDep } = exposureTable();
      return byDep.subarray(counts[d] as number, counts[d + 1] as number);
    },
    liquidatable() {
      const out: number[] = [];
      for (let i = 0; i < n; i++) if (status[i] === STATUS.liquidatable) out.push(i);
      return out;
    },
    bytes() {
      return (
        cAmount.byteLength +
        cKind.byteLength +
        pSize.byteLength +
        pEntryNotional.byteLength +
        pMarket.byteLength +
        base.byteLength +
        baseMagnitude.byteLength +
        forceExact.byteLength +
        (csr?.byDep.byteLength ?? 0) +
        health.byteLength +
        status.byteLength +
        viaExact.byteLength
      );
    },
  };
  status.fill(255); // nothing classified yet: the first screen reports every sub-account as changed
  refreshPrices(chain);
  return book;
}

/** The float price (USD) behind a dependency key; NaN when missing or the adapter would revert. */
function priceOfDep(chain: ChainState, dep: string, override: PriceOverride | undefined): number {
  // dep = p:<eid>:<address>, the address being a feed (Chainlink adapter) or a derived adapter.
  const address = dep.slice(dep.indexOf(':', 2) + 1) as Address;
  for (const [adapter, a] of chain.adapters) {
    if ((a.feed === null ? adapter : a.feed).toLowerCase() === address) {
      const { price } = adapterPrice(chain, adapter, override);
      return price === undefined || price === null ? Number.NaN : Number(price) / 1e18;
    }
  }
  return Number.NaN;
}
