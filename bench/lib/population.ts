// A synthetic, seeded margin population built with the margin view's own structures (MarginState,
// ChainState, SubState through applyBlock / subOf): one engine chain, collateral credited from three
// source chains in five assets with their real decimals, three perp markets. Used by bench/margin.ts
// and by the margin unit tests (fast path, screen, ledger, exposure); never by the node.

import type { Address } from '../../relayer/config/types.ts';
import { applyBlock, type ChainContracts } from '../../relayer/margin/apply.ts';
import {
  chainOf,
  emptyState,
  type MarginState,
  type SubState,
  sourceKey,
  subOf,
} from '../../relayer/margin/state.ts';
import type { MarginEvent } from '../../relayer/margin/types.ts';

const E = 10n ** 18n;
export const ENGINE_EID = 40_102;
export const SOURCE_EIDS = [40_101, 40_102, 40_103] as const;
const addr = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}` as Address;

/** Five collateral assets: decimals, USD price, weight (1 − haircut). Feeds have 8 decimals. */
export const ASSETS = [
  { symbol: 'WETH', decimals: 18, price: 3_000, weight: 0.8 },
  { symbol: 'WBTC', decimals: 8, price: 60_000, weight: 0.75 },
  { symbol: 'USDC', decimals: 6, price: 1, weight: 0.95 },
  { symbol: 'USDT', decimals: 6, price: 1, weight: 0.9 },
  { symbol: 'LINK', decimals: 18, price: 15, weight: 0.6 },
] as const;
/** Three markets, marked by the WETH, WBTC and LINK adapters. */
export const MARKETS = [
  { id: 1, asset: 0, im: 0.1, mm: 0.05, borrowPerSecond: 3_170_979_198n }, // ~10 %/year on the index
  { id: 2, asset: 1, im: 0.1, mm: 0.05, borrowPerSecond: 0n },
  { id: 3, asset: 4, im: 0.2, mm: 0.1, borrowPerSecond: 0n },
] as const;

export const feedOf = (asset: number): Address => addr(0x1000 + asset);
export const adapterOf = (asset: number): Address => addr(0x2000 + asset);
export const tokenOf = (srcEid: number, asset: number): Address => addr(0x300000 + srcEid * 16 + asset);
const VENUE = addr(0x4000);
export const CONTRACTS: ChainContracts = { eid: ENGINE_EID, vault: addr(1), engine: addr(2), market: VENUE };
export const START_TIME = 1_700_000_000;

/** Mulberry32: small, fast and deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const wad = (x: number): bigint => BigInt(Math.round(x * 1e6)) * 10n ** 12n;
/** `usd` worth of an asset in its token units. */
const units = (usd: number, asset: number): bigint => {
  const a = ASSETS[asset] as (typeof ASSETS)[number];
  const whole = usd / a.price;
  return (BigInt(Math.round(whole * 1e6)) * 10n ** BigInt(a.decimals)) / 1_000_000n;
};

/** Feed answer (8 decimals) for a USD price. */
export const answerOf = (price: number): bigint => BigInt(Math.round(price * 1e8));

/** The engine chain's configuration, as its events would set it. */
export function configEvents(): MarginEvent[] {
  const ev: MarginEvent[] = [];
  ASSETS.forEach((a, i) => {
    ev.push({ type: 'AdapterResolved', adapter: adapterOf(i), feed: feedOf(i), feedDecimals: 8 });
    ev.push({ type: 'AnswerUpdated', feed: feedOf(i), answer: answerOf(a.price) });
    ev.push({
      type: 'RiskAssetSet',
      assetId: i + 1,
      oracle: adapterOf(i),
      weight: wad(a.weight),
      enabled: true,
      depth: 0,
    });
    for (const src of SOURCE_EIDS) {
      ev.push({
        type: 'CollateralSourceSet',
        srcEid: src,
        token: tokenOf(src, i),
        assetId: i + 1,
        decimals: a.decimals,
        enabled: true,
        staleGrace: 0,
        staleDecay: 0,
      });
    }
  });
  ev.push({ type: 'VenueSet', venue: VENUE }, { type: 'QuoteResolved', venue: VENUE, decimals: 6 });
  for (const m of MARKETS) {
    ev.push({
      type: 'MarketAdded',
      marketId: m.id,
      oracle: adapterOf(m.asset),
      borrowRatePerSecond: m.borrowPerSecond,
    });
    ev.push({
      type: 'MarketRiskSet',
      marketId: m.id,
      initialMargin: wad(m.im),
      maintenanceMargin: wad(m.mm),
      enabled: true,
    });
  }
  return ev;
}

export interface Population {
  state: MarginState;
  subs: SubState[];
}

/** An engine chain with its configuration and no accounts. */
export function emptyPopulation(): MarginState {
  const state = emptyState();
  applyBlock(state, CONTRACTS, { number: 1, hash: '0x01', timestamp: START_TIME, events: configEvents() });
  // Some borrow fee has accrued since the positions were opened.
  const chain = chainOf(state, ENGINE_EID);
  chain.timestamp = START_TIME + 30 * 86_400;
  chain.block = 2;
  return state;
}

/**
 * `n` sub-accounts, each with credit in all five assets (each from one of the three source chains,
 * whose vault holds it locked) and a position in each of the three markets; leverage spread so that health ranges from deep
 * under water to very safe (median ≈ 2). Written straight into the view's sub-account records, as applying
 * Credited / PositionChanged / SettledChanged would leave them (see applyEvent).
 */
export function buildPopulation(n: number, seed = 1): Population {
  const state = emptyPopulation();
  const random = rng(seed);
  const subs: SubState[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const account = addr(0x10_0000_0000 + Math.floor(i / 4));
    const sub = subOf(state, account, BigInt(i % 4));
    const equityUsd = 1_000 * Math.exp(3 * random()); // $1k .. $20k
    let left = 1;
    for (let a = 0; a < ASSETS.length; a++) {
      const share = a === ASSETS.length - 1 ? left : left * random() * 0.6;
      left -= share;
      const src = SOURCE_EIDS[Math.floor(random() * SOURCE_EIDS.length)] as number;
      const amount = units(equityUsd * share + 1, a);
      sub.setCredit(ENGINE_EID, sourceKey(src, tokenOf(src, a)), amount);
      // The vault on the source chain holds what the engine credits (the view follows every chain).
      sub.addLocked(sourceKey(src, tokenOf(src, a)), amount);
    }
    // Maintenance requirement ≈ equity / health, health log-uniform in [0.9, 9] (a few under water).
    const health = 0.9 * Math.exp(Math.log(10) * random());
    for (const m of MARKETS) {
      const mark = ASSETS[m.asset]?.price as number;
      const notional = ((equityUsd * 0.7) / health / m.mm) * (0.2 + random() * 0.4);
      const sign = random() < 0.55 ? 1 : -1;
      const entry = mark * (1 + (random() - 0.5) * 0.04);
      sub.setPosition(ENGINE_EID, m.id, {
        size: BigInt(sign) * wad(notional / mark),
        entryPrice: wad(entry),
        borrowIndexAtEntry: 0n,
      });
    }
    sub.setSettled(ENGINE_EID, BigInt(Math.round((random() - 0.5) * 200 * 1e6)));
    subs[i] = sub;
  }
  return { state, subs };
}

/** Sets one asset's feed answer (what an AnswerUpdated does) and returns its price dependency key. */
export function setPrice(state: MarginState, asset: number, price: number): string {
  const feed = feedOf(asset);
  applyBlock(state, CONTRACTS, {
    number: chainOf(state, ENGINE_EID).block + 1,
    hash: '0x02',
    timestamp: chainOf(state, ENGINE_EID).timestamp,
    events: [{ type: 'AnswerUpdated', feed, answer: answerOf(price) }],
  });
  return `p:${ENGINE_EID}:${feed}`;
}

export { E as WAD_UNIT };
