// The margin maths with fixed numbers, matched against the forge tests of MarginEngine and the
// rounding of WadMath: the view must give the engine's figures to the wei.

import { describe, expect, it } from 'vitest';
import type { Address } from '../../../relayer/config/types.ts';
import { applyBlock, type ChainContracts, emptyTouched } from '../../../relayer/margin/apply.ts';
import { computeEngine, liquidationDistances } from '../../../relayer/margin/compute.ts';
import { chainOf, emptyState, type MarginState, subKey } from '../../../relayer/margin/state.ts';
import type { MarginEvent } from '../../../relayer/margin/types.ts';
import {
  divWadDown,
  feedToWad,
  MAX_UINT256,
  mulDiv,
  mulWadDown,
  mulWadUp,
  toUsdDown,
} from '../../../relayer/margin/wad.ts';

const E = 10n ** 18n;
const B = 40_102;
const a = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}` as Address;
const C: ChainContracts = { eid: B, vault: a(1), engine: a(2), market: a(3) };
const ETH_FEED = a(10);
const USD_FEED = a(11);
const ETH_ADAPTER = a(20);
const USD_ADAPTER = a(21);
const WETH = a(30);
const USDC = a(31);
const TRADER = a(0xbeef);

function setup(): MarginState {
  const state = emptyState();
  const config: MarginEvent[] = [
    { type: 'AnswerUpdated', feed: ETH_FEED, answer: 2000_0000_0000n },
    { type: 'AnswerUpdated', feed: USD_FEED, answer: 1_0000_0000n },
    {
      type: 'RiskAssetSet',
      assetId: 1,
      oracle: ETH_ADAPTER,
      weight: (8n * E) / 10n,
      enabled: true,
      depth: 0,
    },
    { type: 'RiskAssetSet', assetId: 2, oracle: USD_ADAPTER, weight: E, enabled: true, depth: 0 },
    { type: 'AdapterResolved', adapter: ETH_ADAPTER, feed: ETH_FEED, feedDecimals: 8 },
    { type: 'AdapterResolved', adapter: USD_ADAPTER, feed: USD_FEED, feedDecimals: 8 },
    {
      type: 'CollateralSourceSet',
      srcEid: B,
      token: WETH,
      assetId: 1,
      decimals: 18,
      enabled: true,
      staleGrace: 0,
      staleDecay: 0,
    },
    {
      type: 'CollateralSourceSet',
      srcEid: B,
      token: USDC,
      assetId: 2,
      decimals: 6,
      enabled: true,
      staleGrace: 0,
      staleDecay: 0,
    },
    { type: 'MarketRiskSet', marketId: 1, initialMargin: E / 10n, maintenanceMargin: E / 20n, enabled: true },
    { type: 'VenueSet', venue: a(3) },
    { type: 'QuoteResolved', venue: a(3), decimals: 6 },
    { type: 'MarketAdded', marketId: 1, oracle: ETH_ADAPTER, borrowRatePerSecond: 0n },
  ];
  applyBlock(state, C, { number: 1, hash: '0x01', timestamp: 1000, events: config });
  return state;
}

const credit = (id: number, token: Address, amount: bigint): MarginEvent => ({
  type: 'Credited',
  id: `0x${id.toString(16).padStart(64, '0')}`,
  account: TRADER,
  subaccount: 0n,
  srcEid: B,
  token,
  amount,
});

describe('WadMath twins', () => {
  it('round in the directions of WadMath.sol', () => {
    expect(mulWadDown(1n, E / 2n)).toBe(0n);
    expect(mulWadUp(1n, E / 2n)).toBe(1n);
    expect(divWadDown(1n, 3n)).toBe(333333333333333333n);
    expect(mulDiv(7n, 3n, 2n, true)).toBe(11n);
    expect(toUsdDown(1_500_001n, 3n * E, 6)).toBe(4_500_003_000_000_000_000n);
    expect(feedToWad(2000_0000_0000n, 8)).toBe(2000n * E);
    expect(feedToWad(0n, 8)).toBeNull();
  });
});

describe('health, as MarginEngine._health', () => {
  it('collateral only: 1 WETH @2000 × 0.8 = 1600, health unbounded (test_health_collateralOnlyIsUnbounded)', () => {
    const state = setup();
    applyBlock(state, C, { number: 2, hash: '0x02', timestamp: 1001, events: [credit(1, WETH, E)] });
    const h = computeEngine(chainOf(state, B), state.subs.get(subKey(TRADER, 0n)) as never).health;
    expect(h).toEqual({
      collateralValue: 1600n * E,
      equity: 1600n * E,
      maintenanceRequirement: 0n,
      initialRequirement: 0n,
      notional: 0n,
      health: MAX_UINT256,
    });
  });

  it('1 WETH + 500 USDC, 5 ETH long marked 2000 with −300 PnL and −100 settled -> 3.4 (test_health_withPositionMatchesFormula)', () => {
    const state = setup();
    applyBlock(state, C, {
      number: 2,
      hash: '0x02',
      timestamp: 1001,
      events: [
        credit(1, WETH, E),
        credit(2, USDC, 500n * 10n ** 6n),
        // entry 2060: entry notional 10,300, marked at 2000 -> PnL −300; settled −100 USDC (6 dec.)
        {
          type: 'PositionChanged',
          account: TRADER,
          subaccount: 0n,
          marketId: 1,
          sizeBefore: 0n,
          sizeAfter: 5n * E,
          entryPrice: 2060n * E,
          settledAfter: -100n * 10n ** 6n,
          liquidation: false,
        },
      ],
    });
    const r = computeEngine(chainOf(state, B), state.subs.get(subKey(TRADER, 0n)) as never);
    expect(r.health).toEqual({
      collateralValue: 2100n * E,
      equity: 1700n * E,
      maintenanceRequirement: 500n * E,
      initialRequirement: 1000n * E,
      notional: 10_000n * E,
      health: (34n * E) / 10n,
    });
    expect(r.positions[0]?.unrealizedPnl).toBe(-300n * E);
    expect(r.settledBalance).toBe(-100n * E);

    // Distance: equity(p) = 0.8·p + 500 − 100 + 5·(p − 2060), mm(p) = 0.25·p: 5.55 p − 9900 = 0
    // -> p = 1783.78…, a move of −10.81 % of the ETH price (collateral and mark move together).
    const [d] = liquidationDistances(chainOf(state, B), state.subs.get(subKey(TRADER, 0n)) as never, r);
    expect(d?.assetIds).toEqual([1]);
    expect(d?.marketIds).toEqual([1]);
    expect(d?.move).toBeCloseTo(9900 / 5.55 / 2000 - 1, 9);
    // Sensitivities (relayer/risk): dEquity/d ln p = 0.8·2000 (1 WETH after haircut) + 5·2000,
    // dMaintenance/d ln p = 5·2000·5 %.
    expect(d?.equityDelta).toBeCloseTo(11_600, 9);
    expect(d?.maintenanceDelta).toBeCloseTo(500, 9);
  });

  it('a short marks up (mulWadUp) and a borrow fee accrues with block time', () => {
    const state = setup();
    const chain = chainOf(state, B);
    applyBlock(state, C, {
      number: 2,
      hash: '0x02',
      timestamp: 1000,
      events: [
        { type: 'MarketParamsSet', marketId: 1, oracle: ETH_ADAPTER, borrowRatePerSecond: 10n ** 9n },
        credit(1, USDC, 10_000n * 10n ** 6n),
        {
          type: 'PositionChanged',
          account: TRADER,
          subaccount: 0n,
          marketId: 1,
          sizeBefore: 0n,
          sizeAfter: -3n,
          entryPrice: 2000n * E + 1n,
          settledAfter: 0n,
          liquidation: false,
        },
      ],
    });
    // 100 s later: index 1e11; entry notional mulWadDown(3, 2000e18 + 1) = 6000 wei; fee ceil(6000·1e11/1e18) = 1
    applyBlock(state, C, { number: 3, hash: '0x03', timestamp: 1100, events: [] });
    const r = computeEngine(chain, state.subs.get(subKey(TRADER, 0n)) as never);
    const entryNotional = mulWadDown(3n, 2000n * E + 1n);
    expect(r.positions[0]?.unrealizedPnl).toBe(entryNotional - mulWadUp(3n, 2000n * E) - 1n);
    expect(r.health?.notional).toBe(mulWadUp(3n, 2000n * E));
    expect(r.deps.has(`b:${B}:1`)).toBe(true);
  });

  it('a price the adapter would refuse (answer ≤ 0) leaves health undefined, as the engine reverts', () => {
    const state = setup();
    applyBlock(state, C, {
      number: 2,
      hash: '0x02',
      timestamp: 1001,
      events: [credit(1, WETH, E), { type: 'AnswerUpdated', feed: ETH_FEED, answer: 0n }],
    });
    expect(
      computeEngine(chainOf(state, B), state.subs.get(subKey(TRADER, 0n)) as never).health,
    ).toBeUndefined();
  });

  it('a price change touches the feed dependency only', () => {
    const state = setup();
    const t = emptyTouched();
    applyBlock(
      state,
      C,
      {
        number: 2,
        hash: '0x02',
        timestamp: 1001,
        events: [{ type: 'AnswerUpdated', feed: ETH_FEED, answer: 1n }],
      },
      t,
    );
    expect([...t.deps]).toEqual([`p:${B}:${ETH_FEED}`]);
    expect(t.subs.size).toBe(0);
  });
});
