// The "engine" section of a networks file: a good one is accepted and planned (adapters, sources from
// every chain's tokens); each bad field is refused with ONE line naming the file, the field and the fix.

import { describe, expect, it } from 'vitest';
import { ConfigError, parseNetworks } from '../../relayer/config/load.ts';
import { describePlan, planDeploy } from '../../relayer/deploy/network.ts';

const FILE = 'config/networks.json';
const A1 = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const WAD = 10n ** 18n;
const FEED = '0x0153002d20B96532C639313c2d54c3dA09109309';
const ETH_FEED = '0xd30e2101a97dcbAeBCBC04F14C3f624E67A35165';
const ADAPTER = '0x00000000000000000000000000000000000000ad';
const USDC_A = '0x00000000000000000000000000000000000000a1';
const USDC_B = '0x00000000000000000000000000000000000000b1';
const WETH_B = '0x00000000000000000000000000000000000000b2';
const lz = Object.fromEntries(
  [
    'endpointV2',
    'sendUln302',
    'receiveUln302',
    'dvn',
    'executor',
    'priceFeed',
    'dvnFeeLib',
    'executorFeeLib',
  ].map((k) => [k, A1]),
);

// biome-ignore lint/suspicious/noExplicitAny: fixtures are mutated freely by the cases
type Json = Record<string, any>;

function file(mutate: (engine: Json, f: Json) => void = () => {}): Json {
  const engine: Json = {
    quoteToken: 'USDC',
    riskAssets: {
      USDC: { weight: '0.95', feed: FEED },
      WETH: { weight: '0.8', priceAdapter: ADAPTER },
    },
    markets: [
      {
        id: 1,
        symbol: 'ETH-PERP',
        feed: ETH_FEED,
        maxAge: 3600,
        initialMargin: '0.1',
        maintenanceMargin: '0.05',
        openInterestCap: '1000000',
        tradingFee: '0.0005',
        borrowRatePerSecond: '0',
      },
    ],
  };
  const f: Json = {
    version: 1,
    chains: [
      {
        name: 'chain-a',
        chainId: 40_101,
        eid: 40_101,
        rpcUrls: ['http://127.0.0.1:8545'],
        confirmations: 1,
        isPublic: false,
        layerZero: { ...lz },
        tokens: [{ symbol: 'USDC', address: USDC_A, decimals: 6 }],
        engine,
      },
      {
        name: 'chain-b',
        chainId: 40_102,
        eid: 40_102,
        rpcUrls: ['http://127.0.0.1:8546'],
        confirmations: 1,
        isPublic: false,
        layerZero: { ...lz },
        tokens: [
          { symbol: 'USDC', address: USDC_B, decimals: 6 },
          { symbol: 'WETH', address: WETH_B, decimals: 18 },
        ],
      },
    ],
    dvn: { signers: [A1], quorum: 1 },
  };
  mutate(engine, f);
  return f;
}

function message(data: Json): string {
  try {
    parseNetworks(data, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const m = (err as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('expected a ConfigError');
}

const market = (e: Json): Json => e.markets[0];
const at = 'config/networks.json: chains[0].engine';

describe('networks file: engine section', () => {
  it('accepts a good section and plans it: one adapter per feed, sources from every chain, defaults', () => {
    const networks = parseNetworks(file(), FILE);
    expect(networks.chains[0]?.engine?.quoteToken).toBe('USDC');
    expect(networks.chains[1]?.engine).toBeUndefined();
    const plan = planDeploy(networks, 'chain-a', FILE);
    expect(plan.adapters).toEqual([
      { feed: FEED, maxAge: 86_400, usedBy: ['USDC'] },
      { feed: ETH_FEED, maxAge: 3600, usedBy: ['ETH-PERP'] },
    ]);
    expect(plan.engine?.riskAssets.map((r) => [r.symbol, r.assetId, r.weight, r.oracle])).toEqual([
      ['USDC', 1, 950_000_000_000_000_000n, { newAdapter: 0 }],
      ['WETH', 2, 800_000_000_000_000_000n, { adapter: ADAPTER }],
    ]);
    expect(plan.engine?.sources.map((s) => [s.srcEid, s.token, s.assetId, s.decimals])).toEqual([
      [40_101, USDC_A, 1, 6],
      [40_102, USDC_B, 1, 6],
      [40_102, WETH_B, 2, 18],
    ]);
    expect(plan.engine?.liquidation.targetHealth).toBe(1_250_000_000_000_000_000n);
    const lines = describePlan(plan);
    // 2 adapters, vault + guardian + 1 asset, engine + guardian + market, addMarket, 3 links, 2 risk assets,
    // 3 sources, market risk, liquidation; Rebalancer + 1 executor + link; WeightGovernor + signers + 2 bounds
    // + link.
    expect(lines).toHaveLength(2 + 3 + 3 + 1 + 3 + 2 + 3 + 1 + 1 + 3 + 5);
    expect(lines.slice(-8).map((l) => l.split('  ')[1])).toEqual([
      'deploy Rebalancer',
      `rebalancer.setExecutor(${A1})`,
      'engine.setRebalancer',
      'deploy WeightGovernor',
      'governor.setSigners',
      'governor.setBounds(1 USDC)',
      'governor.setBounds(2 WETH)',
      'engine.setWeightGovernor',
    ]);
    expect(plan.engine?.weightGovernor.bounds[0]).toEqual({
      assetId: 1,
      minWeight: WAD / 2n,
      maxWeight: (95n * WAD) / 100n,
      maxStep: WAD / 20n,
      minInterval: 3_600n,
    });
    expect(planDeploy(networks, 'chain-b', FILE).engine).toBeUndefined();
  });

  it("plans the file's caps, in token units, where it gives them (and the low defaults elsewhere)", () => {
    const networks = parseNetworks(
      file((e, f) => {
        e.riskAssets.USDC.sourceCaps = { credit: '50000.5', bridgedPerDay: '5000' };
        f.chains[0].tokens[0].caps = { supply: '250000', outflowPerDay: '25000' };
      }),
      FILE,
    );
    const plan = planDeploy(networks, 'chain-a', FILE);
    expect(plan.vaultAssets[0]).toMatchObject({
      supplyCap: 250_000n * 10n ** 6n,
      outflowCapacity: 25_000n * 10n ** 6n,
      outflowWindow: 86_400n,
    });
    // Both chains' USDC sources take the USDC caps; WETH's source keeps the defaults.
    expect(plan.engine?.sources.map((s) => [s.token, s.creditCap, s.bridgeCapacity])).toEqual([
      [USDC_A, 50_000_500_000n, 5_000_000_000n],
      [USDC_B, 50_000_500_000n, 5_000_000_000n],
      [WETH_B, undefined, undefined],
    ]);
    const lines = describePlan(plan);
    expect(lines.find((l) => l.includes('vault.setAssetConfig'))).toContain(
      'supply cap 250000.0 USDC, outflow 25000.0 USDC per day (caps of the file)',
    );
    expect(lines.filter((l) => l.includes('(caps of the file)'))).toHaveLength(3);
  });

  it('wants decimal fields as strings', () => {
    expect(message(file((e) => (e.riskAssets.USDC.weight = 0.95)))).toBe(
      `${at}.riskAssets.USDC.weight: expected a collateral weight (1 − haircut) as a decimal string, got number 0.95 — write it in quotes, e.g. "0.8"`,
    );
  });

  const cases: [string, (e: Json, f: Json) => void, string][] = [
    [
      'a weight above 1',
      (e) => (e.riskAssets.USDC.weight = '1.2'),
      `${at}.riskAssets.USDC.weight: expected a collateral weight (1 − haircut) > 0 and <= 1, got "1.2" — set "weight" to e.g. "0.8"`,
    ],
    [
      'a weight that is not a decimal',
      (e) => (e.riskAssets.USDC.weight = '80%'),
      `${at}.riskAssets.USDC.weight: expected a collateral weight (1 − haircut) as a decimal string (digits, "." and at most 18 decimals), got "80%" — set "weight" to e.g. "0.8"`,
    ],
    [
      'a missing weight',
      (e) => delete e.riskAssets.USDC.weight,
      `${at}.riskAssets.USDC.weight: missing — add "weight": "0.8" (a collateral weight (1 − haircut))`,
    ],
    [
      'maintenanceMargin >= initialMargin',
      (e) => (market(e).maintenanceMargin = '0.1'),
      `${at}.markets[0].maintenanceMargin: expected less than initialMargin ("0.1"), got "0.1" — lower "maintenanceMargin" (e.g. half the initial margin) or raise "initialMargin"`,
    ],
    [
      'an initialMargin above 1',
      (e) => (market(e).initialMargin = '2'),
      `${at}.markets[0].initialMargin: expected an initial margin fraction > 0 and <= 1, got "2" — set "initialMargin" to e.g. "0.1"`,
    ],
    [
      'a trading fee above the market maximum',
      (e) => (market(e).tradingFee = '0.02'),
      `${at}.markets[0].tradingFee: expected a trading fee fraction <= 0.01, got "0.02" — set "tradingFee" to e.g. "0.0005"`,
    ],
    [
      'a zero open-interest cap',
      (e) => (market(e).openInterestCap = '0'),
      `${at}.markets[0].openInterestCap: expected an open-interest cap in USD > 0, got "0" — set "openInterestCap" to e.g. "1000000"`,
    ],
    [
      'both feed and priceAdapter',
      (e) => (market(e).priceAdapter = ADAPTER),
      `${at}.markets[0].priceAdapter: give either "feed" or "priceAdapter", not both — remove "priceAdapter" to deploy a new adapter over the feed, or "feed" to use the adapter`,
    ],
    [
      'neither feed nor priceAdapter',
      (e) => delete e.riskAssets.USDC.feed,
      `${at}.riskAssets.USDC.feed: missing — add "feed" (a Chainlink feed; deploy wraps it in a ChainlinkPriceAdapter) or "priceAdapter" (an IPriceAdapter already deployed)`,
    ],
    [
      'maxAge with a priceAdapter',
      (e) => (e.riskAssets.WETH.maxAge = 60),
      `${at}.riskAssets.WETH.maxAge: "maxAge" applies to a "feed" only — remove it (the price adapter has its own staleness limit)`,
    ],
    [
      'a depth that is not whole thousands of USD',
      (e) => (e.riskAssets.WETH.depthUsd = 2_500),
      `${at}.riskAssets.WETH.depthUsd: expected whole thousands of USD (the engine keeps the depth in thousands) — round it, e.g. 5000000`,
    ],
    [
      'a staleness without decay',
      (e) => (e.staleness = { graceSec: 120, decaySec: 0 }),
      `${at}.staleness.decaySec: expected >= 1, got number 0 — set "decaySec" to a value >= 1`,
    ],
    [
      'a staleness without grace',
      (e) => (e.staleness = { decaySec: 600 }),
      `${at}.staleness.graceSec: missing — add "graceSec" (a number)`,
    ],
    [
      'a misspelt field',
      (e) => {
        market(e).maintenanceMargn = market(e).maintenanceMargin;
      },
      `${at}.markets[0]: unknown field(s) "maintenanceMargn" — remove them or check the spelling`,
    ],
    [
      'a quote token the chain does not have',
      (e) => (e.quoteToken = 'USDT'),
      `${at}.quoteToken: no token "USDT" in chain-a's "tokens" — use one of USDC or add the token to "tokens"`,
    ],
    [
      'a risk asset no chain has a token for',
      (e) => (e.riskAssets.WTEH = { weight: '0.8', feed: ETH_FEED }),
      `${at}.riskAssets.WTEH: no chain of the file has a token "WTEH", so it would have no collateral source — use a token symbol (USDC, WETH) or add the token to a chain's "tokens"`,
    ],
    [
      'two risk assets with one asset id',
      (e) => (e.riskAssets.WETH.assetId = 1),
      `${at}.riskAssets.WETH.assetId: asset id 1 is also USDC's (by its position) — give each risk asset its own "assetId"`,
    ],
    [
      'a duplicate market id',
      (e) => e.markets.push({ ...market(e), symbol: 'BTC-PERP' }),
      `${at}.markets[1].id: duplicate market id 1 — give each market its own "id"`,
    ],
    [
      'no markets',
      (e) => (e.markets = []),
      `${at}.markets: expected at least one market — add e.g. { "id": 1, "symbol": "ETH-PERP", … }`,
    ],
    [
      'source caps finer than the token',
      (e) => (e.riskAssets.USDC.sourceCaps = { credit: '50000.0000001', bridgedPerDay: '5000' }),
      `${at}.riskAssets.USDC.sourceCaps.credit: expected at most 6 decimals (USDC has 6), got "50000.0000001" — round it`,
    ],
    [
      'a zero daily source cap',
      (e) => (e.riskAssets.USDC.sourceCaps = { credit: '50000', bridgedPerDay: '0' }),
      `${at}.riskAssets.USDC.sourceCaps.bridgedPerDay: expected the most newly bridged collateral the engine credits per day from one source, in whole tokens > 0, got "0" — set "bridgedPerDay" to e.g. "5000"`,
    ],
    [
      'a vault cap finer than the token',
      (_e, f) => (f.chains[0].tokens[0].caps = { supply: '1.1234567', outflowPerDay: '1' }),
      'config/networks.json: chains[0].tokens[0].caps.supply: expected at most 6 decimals (USDC has 6), got "1.1234567" — round it',
    ],
    [
      'vault caps without the daily outflow',
      (_e, f) => (f.chains[0].tokens[0].caps = { supply: '250000' }),
      'config/networks.json: chains[0].tokens[0].caps.outflowPerDay: missing — add "outflowPerDay": "25000" (the most the vault pays out (releases and seizures) per day before payouts queue, in whole tokens)',
    ],
    [
      'a target health not above 1',
      (e) => (e.liquidation = { targetHealth: '1' }),
      `${at}.liquidation.targetHealth: expected a target health > 1, got "1" — set "targetHealth" to e.g. "1.25"`,
    ],
  ];
  for (const [what, mutate, expected] of cases) {
    it(`refuses ${what} in one line`, () => {
      expect(message(file(mutate))).toBe(expected);
    });
  }
});
