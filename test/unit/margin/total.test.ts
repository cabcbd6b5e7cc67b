// The cross-chain figure of a sub-account with credit and positions on two engines: sums of the
// engines' figures, free collateral per engine (not netted), and per asset the nearest liquidation
// distance over both engines; then as GET /status shows it.

import { describe, expect, it } from 'vitest';
import type { Address, ChainConfig } from '../../../relayer/config/types.ts';
import { applyBlock, type ChainContracts } from '../../../relayer/margin/apply.ts';
import { computeEngine, liquidationDistances } from '../../../relayer/margin/compute.ts';
import {
  chainOf,
  emptyState,
  type MarginState,
  type SubState,
  subKey,
} from '../../../relayer/margin/state.ts';
import { accountTotal, assetNamer } from '../../../relayer/margin/total.ts';
import type { EngineMargin, MarginEvent } from '../../../relayer/margin/types.ts';
import type { MarginView } from '../../../relayer/margin/view.ts';
import { accountStatuses } from '../../../relayer/node/margin-status.ts';
import { accountMargin, engineEntry, openedPosition } from '../../support/margin.ts';

const E = 10n ** 18n;
const B = 40_102;
const C = 40_103;
const a = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}` as Address;
const TRADER = a(0xbeef);
const WETH = a(30);
const USDC = a(31);
// Each engine chain has its own feeds and adapters for the same two assets (ids 1 and 2).
const feeds = (eid: number) => ({
  eth: a(eid === B ? 10 : 110),
  usd: a(eid === B ? 11 : 111),
  ethAdapter: a(eid === B ? 20 : 120),
  usdAdapter: a(eid === B ? 21 : 121),
});
const contracts = (eid: number): ChainContracts => {
  const o = eid === B ? 0 : 100;
  return { eid, vault: a(1 + o), engine: a(2 + o), market: a(3 + o) };
};

function configure(state: MarginState, eid: number): void {
  const f = feeds(eid);
  const source = (token: Address, assetId: number, decimals: number): MarginEvent => ({
    type: 'CollateralSourceSet',
    srcEid: eid,
    token,
    assetId,
    decimals,
    enabled: true,
    staleGrace: 0,
    staleDecay: 0,
  });
  const events: MarginEvent[] = [
    { type: 'AnswerUpdated', feed: f.eth, answer: 2000_0000_0000n },
    { type: 'AnswerUpdated', feed: f.usd, answer: 1_0000_0000n },
    {
      type: 'RiskAssetSet',
      assetId: 1,
      oracle: f.ethAdapter,
      weight: (8n * E) / 10n,
      enabled: true,
      depth: 0,
    },
    { type: 'RiskAssetSet', assetId: 2, oracle: f.usdAdapter, weight: E, enabled: true, depth: 0 },
    { type: 'AdapterResolved', adapter: f.ethAdapter, feed: f.eth, feedDecimals: 8 },
    { type: 'AdapterResolved', adapter: f.usdAdapter, feed: f.usd, feedDecimals: 8 },
    source(WETH, 1, 18),
    source(USDC, 2, 6),
    { type: 'MarketRiskSet', marketId: 1, initialMargin: E / 10n, maintenanceMargin: E / 20n, enabled: true },
    { type: 'VenueSet', venue: contracts(eid).market as Address },
    { type: 'QuoteResolved', venue: contracts(eid).market as Address, decimals: 6 },
    { type: 'MarketAdded', marketId: 1, oracle: f.ethAdapter, borrowRatePerSecond: 0n },
  ];
  applyBlock(state, contracts(eid), { number: 1, hash: '0x01', timestamp: 1000, events });
}

const credit = (id: number, srcEid: number, token: Address, amount: bigint): MarginEvent => ({
  type: 'Credited',
  id: `0x${id.toString(16).padStart(64, '0')}`,
  account: TRADER,
  subaccount: 0n,
  srcEid,
  token,
  amount,
});
const position = (size: bigint, entryPrice: bigint, settledAfter: bigint): MarginEvent =>
  openedPosition(TRADER, size, entryPrice, settledAfter);

/** Chain configs naming the assets: WETH is asset 1 and USDC asset 2 on both chains. */
const chains = [B, C].map(
  (eid) =>
    ({
      name: eid === B ? 'devnet-b' : 'devnet-c',
      eid,
      tokens: [
        { symbol: 'WETH', address: WETH, decimals: 18, assetId: 1, feed: feeds(eid).eth },
        { symbol: 'USDC', address: USDC, decimals: 6, assetId: 2, feed: feeds(eid).usd },
      ],
    }) as unknown as ChainConfig,
);

/**
 * B: 1 WETH + 500 USDC, 5 ETH long from 2060, settled −100 (equity 1700, maintenance 500, initial 1000).
 * C: 2000 USDC, 2 ETH short from 2000 (equity 2000, maintenance 200, initial 400).
 */
function twoEngines(): { state: MarginState; sub: SubState; engines: EngineMargin[] } {
  const state = emptyState();
  configure(state, B);
  configure(state, C);
  applyBlock(state, contracts(B), {
    number: 2,
    hash: '0x02',
    timestamp: 1001,
    events: [
      credit(1, B, WETH, E),
      credit(2, B, USDC, 500n * 10n ** 6n),
      position(5n * E, 2060n * E, -100n * 10n ** 6n),
    ],
  });
  applyBlock(state, contracts(C), {
    number: 2,
    hash: '0x02',
    timestamp: 1001,
    events: [credit(3, C, USDC, 2000n * 10n ** 6n), position(-2n * E, 2000n * E, 0n)],
  });
  const sub = state.subs.get(subKey(TRADER, 0n)) as SubState;
  const engines = [B, C].map((eid): EngineMargin => {
    const chain = chainOf(state, eid);
    const r = computeEngine(chain, sub);
    return {
      engineEid: eid,
      credit: {},
      positions: [],
      settledBalance: r.settledBalance,
      health: r.health,
      distances: liquidationDistances(chain, sub, r),
    };
  });
  return { state, sub, engines };
}

describe('the cross-chain total of a sub-account', () => {
  it('sums two engines and takes, per asset, the nearest distance over both', () => {
    const { engines } = twoEngines();
    expect(engines.map((e) => e.health?.equity)).toEqual([1700n * E, 2000n * E]);
    const total = accountTotal(engines, assetNamer(chains));
    expect(total).toMatchObject({
      collateralValue: 2100n * E + 2000n * E,
      equity: 3700n * E,
      maintenanceRequirement: 500n * E + 200n * E,
      initialRequirement: 1000n * E + 400n * E,
      // (1700 − 1000) on B + (2000 − 400) on C
      freeCollateral: 2300n * E,
    });
    expect(total.distances.map((d) => d.asset)).toEqual(['USDC', 'WETH']);
    const [usdc, weth] = total.distances;
    // ETH: B's long is liquidated at 9900 / 5.55 (−10.8 %), C's short only at 6000 / 2.1 (+42.9 %).
    expect(weth).toMatchObject({ engineEid: B, priceKey: `${B}:${feeds(B).eth}` });
    expect(weth?.move).toBeCloseTo(9900 / 5.55 / 2000 - 1, 9);
    // USD: no fall of it liquidates B (1200 + 500 p ≥ 500 for every p > 0); C at p = 0.1 (−90 %).
    const onB = engines[0]?.distances.find((d) => d.assetIds.includes(2));
    expect(onB?.move).toBeNull();
    expect(usdc).toMatchObject({ engineEid: C, priceKey: `${C}:${feeds(C).usd}` });
    expect(usdc?.move).toBeCloseTo(-0.9, 9);
  });

  it("free collateral is not netted: one engine's shortfall does not eat another's surplus", () => {
    const short = engineEntry(B, { equity: 500, maintenance: 300, initial: 800 });
    const rich = engineEntry(C, { equity: 1000, maintenance: 100, initial: 200 });
    const total = accountTotal([short, rich], () => 'X');
    expect(total.freeCollateral).toBe(800n * E);
    // The netted figure would be 500: what moving the surplus to B would leave.
    expect(total.equity - total.initialRequirement).toBe(500n * E);
    // An engine whose health is unknown (a price missing) counts for nothing.
    const unknown = { ...rich, engineEid: 40_104, health: undefined };
    expect(accountTotal([short, rich, unknown], () => 'X').equity).toBe(1500n * E);
  });

  it('names an asset by its token symbol on every chain, a market-only feed by its token or price key', () => {
    const name = assetNamer(chains);
    const base = { engineEid: C, marketIds: [1], price: 2000n * E, move: -0.1 };
    expect(name({ ...base, priceKey: `${C}:${feeds(C).eth}`, assetIds: [1] })).toBe('WETH');
    expect(name({ ...base, priceKey: `${C}:${feeds(C).eth}`, assetIds: [] })).toBe('WETH');
    expect(name({ ...base, priceKey: `${C}:${a(999)}`, assetIds: [] })).toBe(`${C}:${a(999)}`);
  });

  it('GET /status shows the total with the per-asset distance in percent and the engine chain', () => {
    const { engines } = twoEngines();
    const m = accountMargin(TRADER, 0n, engines);
    m.total = accountTotal(engines, assetNamer(chains));
    const view = {
      accounts: () => [{ account: TRADER, subaccount: 0n }],
      account: () => m,
    } as unknown as MarginView;
    const [status] = accountStatuses(view, chains);
    expect(status?.total).toMatchObject({
      collateralValue: '4100.0',
      equity: '3700.0',
      maintenance: '700.0',
      initial: '1400.0',
      freeCollateral: '2300.0',
    });
    expect(status?.total?.liquidationDistances.map((d) => [d.asset, d.chain, d.engineEid])).toEqual([
      ['USDC', 'devnet-c', C],
      ['WETH', 'devnet-b', B],
    ]);
    expect(status?.total?.liquidationDistances[1]?.movePct).toBeCloseTo((9900 / 5.55 / 2000 - 1) * 100, 6);
  });
});
