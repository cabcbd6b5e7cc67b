// The tip screen: the prices of unconfirmed blocks nominate the sub-accounts they make unhealthy,
// against the confirmed state, without touching it; confirmed or reorged-out blocks stop counting.

import { describe, expect, it } from 'vitest';
import type { Address } from '../../../relayer/config/types.ts';
import { applyBlock, type ChainContracts } from '../../../relayer/margin/apply.ts';
import { computeEngine } from '../../../relayer/margin/compute.ts';
import { ExposureIndex } from '../../../relayer/margin/exposure.ts';
import { chainOf, emptyState, type MarginState, subKey } from '../../../relayer/margin/state.ts';
import { TipScreen } from '../../../relayer/margin/tip.ts';
import type { MarginEvent } from '../../../relayer/margin/types.ts';

const E = 10n ** 18n;
const EID = 40_103;
const usd = (n: number) => BigInt(n) * 10n ** 8n; // feed answers, 8 decimals
const addr = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}` as Address;
/** The engine chain's contracts, its ETH feed and adapter, WETH and the trader. */
const [CONTRACTS, FEED, ADAPTER, WETH, TRADER]: [ChainContracts, Address, Address, Address, Address] = [
  { eid: EID, vault: addr(1), engine: addr(2), market: addr(3) },
  addr(0xf1),
  addr(0xad),
  addr(0x57),
  addr(0xbeef),
];

/** Sub 0: 1 WETH and a 5 ETH long at 2,000 (unhealthy below ~1,801.8). Sub 1: 10 WETH, 1 ETH long. */
function world(): { state: MarginState; exposure: ExposureIndex; entry: (sub: bigint) => string } {
  const state = emptyState();
  const long = (subaccount: bigint, size: bigint, id: number): MarginEvent[] => [
    {
      type: 'Credited',
      id: `0x${id.toString(16).padStart(64, '0')}`,
      account: TRADER,
      subaccount,
      srcEid: EID,
      token: WETH,
      amount: subaccount === 0n ? E : 10n * E,
    },
    {
      type: 'PositionChanged',
      account: TRADER,
      subaccount,
      marketId: 1,
      sizeBefore: 0n,
      sizeAfter: size * E,
      entryPrice: 2000n * E,
      settledAfter: 0n,
      liquidation: false,
    },
  ];
  const events: MarginEvent[] = [
    { type: 'AnswerUpdated', feed: FEED, answer: usd(2000) },
    { type: 'RiskAssetSet', assetId: 1, oracle: ADAPTER, weight: (8n * E) / 10n, enabled: true, depth: 0 },
    { type: 'AdapterResolved', adapter: ADAPTER, feed: FEED, feedDecimals: 8 },
    {
      type: 'CollateralSourceSet',
      srcEid: EID,
      token: WETH,
      assetId: 1,
      decimals: 18,
      enabled: true,
      staleGrace: 0,
      staleDecay: 0,
    },
    { type: 'MarketRiskSet', marketId: 1, initialMargin: E / 10n, maintenanceMargin: E / 20n, enabled: true },
    { type: 'VenueSet', venue: addr(3) },
    { type: 'QuoteResolved', venue: addr(3), decimals: 6 },
    { type: 'MarketAdded', marketId: 1, oracle: ADAPTER, borrowRatePerSecond: 0n },
    ...long(0n, 5n, 1),
    ...long(1n, 1n, 2),
  ];
  applyBlock(state, CONTRACTS, { number: 10, hash: '0x0a', timestamp: 1000, events });
  chainOf(state, EID).block = 10;
  const exposure = new ExposureIndex();
  const entry = (sub: bigint) => `${EID}|${subKey(TRADER, sub)}`;
  for (const sub of [0n, 1n]) {
    const r = computeEngine(chainOf(state, EID), state.subs.get(subKey(TRADER, sub)) as never);
    exposure.set(entry(sub), r.deps);
  }
  return { state, exposure, entry };
}

describe('TipScreen', () => {
  it('flags what an unconfirmed price makes unhealthy, once, with when it was seen', () => {
    const { state, exposure, entry } = world();
    const tip = new TipScreen();
    expect(tip.addBlock(EID, 11, new Map(), 5)).toBe(false); // no price in it: not kept
    expect(tip.addBlock(EID, 11, new Map([[FEED, usd(1700)]]), 100)).toBe(true);
    expect(tip.screen(EID, state, exposure, new Set(), 120)).toEqual([entry(0n)]);
    const flag = tip.flagged(EID).get(entry(0n));
    expect(flag).toMatchObject({ block: 11, seenAt: 100, screenedAt: 120 });
    expect(flag?.health).toBeLessThan(E);
    expect(tip.flagged(EID).has(entry(1n))).toBe(false); // 10 WETH for 1 ETH: still healthy
    // A re-screen keeps the first sighting and reports nothing new.
    expect(tip.screen(EID, state, exposure, new Set(), 300)).toEqual([]);
    expect(tip.flagged(EID).get(entry(0n))?.screenedAt).toBe(120);
    // The view's confirmed state is untouched.
    expect(chainOf(state, EID).feeds.get(FEED)).toBe(usd(2000));
  });

  it('skips what the confirmed state already reports, and a later block overrides an earlier price', () => {
    const { state, exposure, entry } = world();
    const tip = new TipScreen();
    tip.addBlock(EID, 11, new Map([[FEED, usd(1700)]]), 100);
    expect(tip.screen(EID, state, exposure, new Set([entry(0n)]), 110)).toEqual([]);
    tip.addBlock(EID, 12, new Map([[FEED, usd(1850)]]), 200); // back above ~1,801.8
    expect(tip.screen(EID, state, exposure, new Set(), 210)).toEqual([]);
    expect(tip.flagged(EID).size).toBe(0);
  });

  it('forgets reorged-out and confirmed blocks', () => {
    const { state, exposure, entry } = world();
    const tip = new TipScreen();
    tip.addBlock(EID, 11, new Map([[FEED, usd(1700)]]), 100);
    tip.screen(EID, state, exposure, new Set(), 110);
    expect(tip.dropFrom(EID, 11)).toBe(true);
    expect(tip.screen(EID, state, exposure, new Set(), 120)).toEqual([]);
    expect(tip.flagged(EID).size).toBe(0);

    tip.addBlock(EID, 11, new Map([[FEED, usd(1700)]]), 130);
    expect(tip.screen(EID, state, exposure, new Set(), 140)).toEqual([entry(0n)]);
    // Block 11 confirmed: the view applies it itself, the screen no longer holds it.
    chainOf(state, EID).block = 11;
    expect(tip.confirmedUpTo(EID, 11)).toBe(true);
    expect(tip.confirmedUpTo(EID, 11)).toBe(false);
    tip.screen(EID, state, exposure, new Set(), 150);
    expect(tip.flagged(EID).size).toBe(0);
  });

  it('re-screens only the entries a confirmed block changed, keeping the other flags', () => {
    const { state, exposure, entry } = world();
    const tip = new TipScreen();
    tip.addBlock(EID, 12, new Map([[FEED, usd(1700)]]), 100);
    expect(tip.holds(EID)).toBe(true);
    // Block 11 (confirmed) changed sub 1 only: sub 0 is not looked at, so not flagged yet.
    expect(tip.screen(EID, state, exposure, new Set(), 110, [entry(1n)])).toEqual([]);
    expect(tip.screen(EID, state, exposure, new Set(), 120, [entry(0n)])).toEqual([entry(0n)]);
    expect(tip.screen(EID, state, exposure, new Set(), 130, [entry(1n)])).toEqual([]);
    expect([...tip.flagged(EID).keys()]).toEqual([entry(0n)]);
  });
});
