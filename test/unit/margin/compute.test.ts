// The margin maths with fixed numbers, matched against the forge tests of MarginEngine and the
// rounding of WadMath: the view must give the engine's figures to the wei.

import { describe, expect, it } from 'vitest';
import type { Address } from '../../../relayer/config/types.ts';
import { applyBlock, type ChainContracts, emptyTouched } from '../../../relayer/margin/apply.ts';
import { computeEngine, computeHealth, liquidationDistances } from '../../../relayer/margin/compute.ts';
import { chainOf, emptyState, type MarginState, subKey } from '../../../relayer/margin/state.ts';
import type { MarginEvent } from '../../../relayer/margin/types.ts';
import {
  divWadDown,
  feedToWad,
  MAX_UINT256,
  mulDiv,
  mulWadDown,
  mulWadUp,
  sqrtDown,
  toUsdDown,
} from '../../../relayer/margin/wad.ts';
import { openedPosition } from '../../support/margin.ts';

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

describe('liquidation distance with a size-aware weight (past the depth: sqrt)', () => {
  /** A state like setup()'s, with WETH's depth at `depthK` thousand USD. */
  function deep(depthK: number): MarginState {
    const state = setup();
    applyBlock(state, C, {
      number: 2,
      hash: '0x02',
      timestamp: 1001,
      events: [
        {
          type: 'RiskAssetSet',
          assetId: 1,
          oracle: ETH_ADAPTER,
          weight: (8n * E) / 10n,
          enabled: true,
          depth: depthK,
        },
      ],
    });
    return state;
  }
  const trade = (size: bigint, entryPrice: bigint, settledAfter = 0n): MarginEvent =>
    openedPosition(TRADER, size, entryPrice, settledAfter);
  const ethDep = `p:${B}:${ETH_FEED}`;

  /**
   * The nearest move at which equity − maintenance changes sign on the exact health, by scanning:
   * outward from the price in steps of 1e-3 in both directions (−99.9 % … +300 %), then the cell
   * that changed sign in steps of 1e-6. null when nothing within the range changes sign.
   */
  function bruteForce(state: MarginState, dep: string, p0: bigint): number | null {
    const chain = chainOf(state, B);
    const sub = state.subs.get(subKey(TRADER, 0n)) as never;
    const side = (move: number): boolean | undefined => {
      const p = (p0 * BigInt(Math.round((1 + move) * 1e9))) / 10n ** 9n;
      const h = computeHealth(chain, sub, new Map([[dep, p]]));
      return h === undefined ? undefined : h.equity >= h.maintenanceRequirement;
    };
    const start = side(0);
    /** The first move in (from, to] (same sign) at which the side changed, in steps of 1e-6. */
    const refine = (from: number, dir: number): number => {
      for (let j = 1; j <= 1000; j++) {
        const m = from + dir * j * 1e-6;
        if (side(m) !== start) return m;
      }
      return from + dir * 1e-3;
    };
    for (let k = 1; k <= 3000; k++) {
      const m = k * 1e-3;
      const down = m < 1 && side(-m) !== start ? refine(-(m - 1e-3), -1) : null;
      const up = side(m) !== start ? refine(m - 1e-3, 1) : null;
      if (down !== null && (up === null || -down <= up)) return down;
      if (up !== null) return up;
    }
    return null;
  }

  const distanceOf = (state: MarginState): number | null | undefined => {
    const chain = chainOf(state, B);
    const sub = state.subs.get(subKey(TRADER, 0n)) as never;
    const ds = liquidationDistances(chain, sub, computeEngine(chain, sub));
    return ds.find((d) => d.priceKey === `${B}:${ETH_FEED}`)?.move;
  };

  it('a long on WETH collateral past its depth: the exact move, where two points would be wrong', () => {
    const state = deep(1); // depth $1,000: 10 WETH at 2000 count as 0.8 × sqrt(20,000 × 1000)
    applyBlock(state, C, {
      number: 3,
      hash: '0x03',
      timestamp: 1002,
      events: [credit(1, WETH, 10n * E), trade(3n * E, 2000n * E)],
    });
    const chain = chainOf(state, B);
    const sub = state.subs.get(subKey(TRADER, 0n)) as never;
    const base = computeEngine(chain, sub);
    const h0 = base.health as NonNullable<typeof base.health>;
    expect(h0.collateralValue).toBe(mulWadDown(sqrtDown(20_000n * E * 1000n * E), (8n * E) / 10n));
    const exact = distanceOf(state) as number;
    const brute = bruteForce(state, ethDep, 2000n * E) as number;
    expect(exact).toBeLessThan(0);
    expect(Math.abs(exact - brute)).toBeLessThanOrEqual(1.5e-6);
    // Closed form: 0.8·sqrt(10 p × 1000) + 3 (p − 2000) = 0.15 p; with s = sqrt(p): 2.85 s² + 80 s − 6000 = 0.
    const s = (-80 + Math.sqrt(80 * 80 + 4 * 2.85 * 6000)) / (2 * 2.85);
    expect(exact).toBeCloseTo((s * s) / 2000 - 1, 8); // −42.4 %
    // The two-point line (p and 2p) of the linear fast path says −45.6 %: three points off.
    const at2 = computeHealth(chain, sub, new Map([[ethDep, 4000n * E]])) as NonNullable<typeof base.health>;
    const slope = Number(at2.equity - h0.equity - (at2.maintenanceRequirement - h0.maintenanceRequirement));
    const linear = Number(h0.maintenanceRequirement - h0.equity) / slope;
    expect(Math.abs(linear - exact)).toBeGreaterThan(0.03);
  });

  it('a short with a debt crosses on both sides: the nearer one, though the farther is met first', () => {
    // 1 WETH (past a $1,000 depth), 0.35 ETH short from 2000, −950 settled: liquidated by a fall of
    // 71.1 % (the collateral's value) and by a rise of 61.8 % (the short's loss). The ladder of
    // candidate moves meets the fall first (−75 % comes before +100 %); the rise is nearer.
    const state = deep(1);
    applyBlock(state, C, {
      number: 3,
      hash: '0x03',
      timestamp: 1002,
      events: [credit(1, WETH, E), trade(-35n * 10n ** 16n, 2000n * E, -950n * 10n ** 6n)],
    });
    const exact = distanceOf(state) as number;
    expect(exact).toBeCloseTo(0.6176, 3);
    expect(Math.abs(exact - (bruteForce(state, ethDep, 2000n * E) as number))).toBeLessThanOrEqual(1.5e-6);
  });

  it('random portfolios past the depth agree with a brute-force scan to 1e-6', () => {
    // A small deterministic generator (mulberry32), so a failure names its case.
    let seed = 20_260_601;
    const rand = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    let withCrossing = 0;
    for (let i = 0; i < 24; i++) {
      const state = deep(1 + Math.floor(rand() * 8));
      const weth = BigInt(Math.round((0.5 + rand() * 9.5) * 1e6)) * 10n ** 12n;
      const usdc = BigInt(Math.round(rand() * 5_000)) * 10n ** 6n;
      const size = BigInt(Math.round((rand() * 16 - 8) * 1e6)) * 10n ** 12n;
      const entry = BigInt(1700 + Math.floor(rand() * 600)) * E;
      applyBlock(state, C, {
        number: 3,
        hash: '0x03',
        timestamp: 1002,
        events: [credit(1, WETH, weth), credit(2, USDC, usdc), trade(size, entry)],
      });
      const exact = distanceOf(state);
      const brute = bruteForce(state, ethDep, 2000n * E);
      const label = `case ${i}: ${weth} WETH, ${usdc} USDC, size ${size} @ ${entry}`;
      if (brute === null) {
        expect(exact === null || Math.abs(exact as number) > 3, label).toBe(true);
        continue;
      }
      withCrossing++;
      expect(exact, label).not.toBeNull();
      expect(Math.abs((exact as number) - brute), label).toBeLessThanOrEqual(1.5e-6);
    }
    expect(withCrossing).toBeGreaterThan(10);
  });

  it('without a depth the linear fast path gives the same move as the search', () => {
    const state = setup();
    applyBlock(state, C, {
      number: 2,
      hash: '0x02',
      timestamp: 1001,
      events: [credit(1, WETH, 2n * E), trade(5n * E, 2000n * E)],
    });
    const linear = distanceOf(state) as number;
    expect(Math.abs(linear - (bruteForce(state, ethDep, 2000n * E) as number))).toBeLessThanOrEqual(1.5e-6);
    // 1.6 p + 5 (p − 2000) = 0.25 p -> p = 10000 / 6.35
    expect(linear).toBeCloseTo(10_000 / 6.35 / 2000 - 1, 9);
  });
});
