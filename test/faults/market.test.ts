// Market fault scenarios on a 2-chain devnet (engine on B, 1 s blocks) with three real `xmargin node`
// processes running attestor, executor and liquidator (they pay liquidations in B's USDC). Traders are
// fresh addresses the test drives through anvil's auto-impersonation, in parallel:
//   black-thursday  base fee x10 (of at least 1 gwei: the idle devnet's is ~0.06 gwei) set with
//                   anvil_setNextBlockBaseFeePerGas and held there while the nodes work,
//                   and ETH -50% in that same block, with six USDC-margined longs of which four go
//                   under water: every unhealthy one is liquidated exactly once, no liquidator takes
//                   more collateral than it repaid plus the engine's bonus, and the bad debt (settled
//                   by the insurance fund, then the LP pool: BadDebtSettled) is at most the negative
//                   equity the crash itself created;
//   mango-pump      a low-weight (0.1) asset capped at 100 tokens of credit, priced 20x: what the
//                   engine lets the trader do with it is bounded by cap x weight x price (a position of
//                   at most that / initial margin); withdrawing beyond the credit, other collateral or
//                   PnL reverts with custom errors; when the price falls back, a node liquidates;
//   load            1,000 funded traders (local USDC deposits and ETH longs), then a burst of price
//                   updates in one block puts 100 of them under maintenance: all 100 are liquidated,
//                   each exactly once, none of the other 900 is touched.
// Every scenario ends with the DESIGN.md invariants checked on chain.

import {
  Contract,
  ContractFactory,
  type JsonRpcProvider,
  MaxUint256,
  type NonceManager,
  parseUnits,
  toQuantity,
} from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtifact } from '../../relayer/chain/artifacts.ts';
import { decodeRevert, revertData } from '../../relayer/chain/revert.ts';
import type { Address, ChainConfig } from '../../relayer/config/types.ts';
import { checkInvariants, type Net, result, sleep, waitFor } from './harness.ts';
import {
  ETH_PERP,
  inPool,
  MarketDesk,
  perAccount,
  type Spec,
  traderAddress,
  USDC,
  WAD,
} from './market-harness.ts';

const MAX_UINT128 = (1n << 128n) - 1n;
const ZERO = '0x0000000000000000000000000000000000000000';
/** The devnet's ETH-PERP trading fee (relayer/devnet/index.ts): 5 bp of the notional. */
const TRADING_FEE = (5n * WAD) / 10_000n;

let desk: MarketDesk | undefined;
let B: ChainConfig;
let p: JsonRpcProvider;
let deployer: NonceManager;
let engine: Contract;
let vault: Contract;
let market: Contract;
let usdc: Address;

function n(): Net {
  if (desk === undefined) throw new Error('no devnet');
  return desk.net;
}

function d(): MarketDesk {
  if (desk === undefined) throw new Error('no devnet');
  return desk;
}

const openTraders = (scenario: number, specs: readonly Spec[]) => d().openTraders(scenario, specs);
const setEthPrice = (usd: bigint, fees: { maxFeePerGas?: bigint } = {}) => d().setEthPrice(usd, fees);
const liquidations = (fromBlock: number) => d().liquidations(fromBlock);
const healthOf = (account: Address, blockTag?: number) => d().healthOf(account, blockTag);

async function badDebt(
  fromBlock: number,
): Promise<{ covered: bigint; writtenOff: bigint; accounts: number }> {
  const events = await engine.queryFilter(engine.getEvent('BadDebtSettled'), fromBlock);
  let covered = 0n;
  let writtenOff = 0n;
  for (const e of events) {
    const a = (e as unknown as { args: Record<string, bigint> }).args;
    covered += a.coveredByInsurance as bigint;
    writtenOff += a.writtenOff as bigint;
  }
  return { covered, writtenOff, accounts: events.length };
}

/** The custom error an eth_call from `from` reverts with (name and args), or 'ok'. */
async function simulate(from: Address, to: Address, data: string): Promise<string> {
  try {
    await p.call({ from, to, data });
    return 'ok';
  } catch (err) {
    const raw = revertData(err);
    const d = raw === undefined ? undefined : decodeRevert(raw);
    return d === undefined ? `reverted (${String(err).slice(0, 80)})` : `${d.name}(${d.args.join(', ')})`;
  }
}

describe('faults: market crashes, a thin-collateral pump, 1,000 traders', () => {
  beforeAll(async () => {
    // The nodes repay liquidations in B's USDC; the insurance fund starts with 2,000 USDC.
    desk = await MarketDesk.boot({ insurance: USDC(2_000) });
    ({ B, p, deployer, engine, vault, market, usdc } = desk);
  }, 240_000);

  afterAll(async () => {
    await desk?.net.stop();
  }, 60_000);

  it('black-thursday: base fee x10 and ETH -50% in one block; liquidations clear, bonus within config, bad debt bounded', async () => {
    await setEthPrice(2000n);
    // 10,000 USDC each (weight 0.95); longs of 2..12 ETH at $2,000. At $1,000: 9.3 ETH is unhealthy
    // with equity left, 9.6 / 10 / 12 ETH are under water, 2 and 4 ETH stay healthy.
    const sizes = ['9.3', '9.6', '10', '12', '2', '4'];
    const traders = await openTraders(
      1,
      sizes.map((s) => ({ usdc: USDC(10_000), size: parseUnits(s, 18) })),
    );
    const config = (await engine.getFunction('liquidationConfig')()) as { bonus: bigint };
    const fee = TRADING_FEE;

    const latest = await p.getBlock('latest');
    const base = latest?.baseFeePerGas ?? 0n;
    const spike = (base > 10n ** 9n ? base : 10n ** 9n) * 10n;
    // Hold the spike: every next block gets the spiked base fee until the scenario ends.
    let holding = true;
    const hold = (async () => {
      while (holding) {
        await p.send('anvil_setNextBlockBaseFeePerGas', [toQuantity(spike)]).catch(() => undefined);
        await sleep(200);
      }
    })();
    const t0 = Date.now();
    const crashBlock = await setEthPrice(1000n, { maxFeePerGas: spike * 3n });
    const crashBase = (await p.getBlock(crashBlock))?.baseFeePerGas ?? 0n;

    // Unhealthy at the crash price, and the negative equity the crash created.
    const before = await Promise.all(traders.map((t) => healthOf(t, crashBlock)));
    const unhealthy = traders.filter((_, i) => (before[i]?.health ?? 0n) < WAD);
    let underwater = 0n;
    let closeFees = 0n;
    for (const h of before) {
      if (h.equity < 0n) underwater += -h.equity;
      if (h.health < WAD) closeFees += (h.notional * fee) / WAD;
    }
    const cleared = await waitFor(
      'every unhealthy account liquidated',
      async () => {
        const l = await liquidations(crashBlock);
        return perAccount(l).size >= unhealthy.length ? l : undefined;
      },
      90_000,
      500,
    );
    const clearMs = Date.now() - t0;
    await sleep(4_000); // room for a (wrong) second liquidation to land
    holding = false;
    await hold;
    const all = await liquidations(crashBlock);
    const counts = perAccount(all);
    const once =
      unhealthy.every((t) => counts.get(t.toLowerCase()) === 1) && counts.size === unhealthy.length;
    // USDC collateral and USDC repayment: seized <= repaid x (1 + bonus), and nothing for nothing.
    const fair = all.every((l) => {
      const seized = l.seized.reduce((s, x) => s + x.amount, 0n);
      return seized <= (l.repaid * (WAD + config.bonus)) / WAD + 1n && (seized === 0n || l.repaid > 0n);
    });
    // The nodes priced their liquidations above the spiked base fee: they landed in spiked blocks.
    const liqBases = await Promise.all(
      all.map(async (l) => (await p.getBlock(l.block))?.baseFeePerGas ?? 0n),
    );
    const underSpike = liqBases.every((b) => b >= spike);
    const debt = await badDebt(crashBlock);
    const totalBad = debt.covered + debt.writtenOff;
    // Quote token units (6 decimals) against USD WAD.
    const bound = (underwater + closeFees) / 10n ** 12n + 1n;
    const healthy = await Promise.all(unhealthy.map((t) => healthOf(t)));
    // What the nodes report: their landed liquidations and the bad debt those settled.
    const landedEntries = (
      await Promise.all(n().cluster.nodes.map(async (_, i) => (await n().status(i)).liquidations))
    )
      .flat()
      .filter(
        (j) => j.state === 'landed' && unhealthy.some((t) => t.toLowerCase() === j.account.toLowerCase()),
      );
    const reportedBad = landedEntries.reduce(
      (sum, j) => sum + BigInt(j.badDebt?.coveredByInsurance ?? 0) + BigInt(j.badDebt?.writtenOff ?? 0),
      0n,
    );
    const { failed, summary } = await checkInvariants(n(), traders);
    const ok =
      unhealthy.length === 4 &&
      once &&
      fair &&
      totalBad > 0n &&
      totalBad <= bound &&
      healthy.every((h) => h.health >= WAD) &&
      landedEntries.length === unhealthy.length &&
      reportedBad === totalBad &&
      crashBase === spike &&
      underSpike &&
      failed.length === 0;
    result(
      'black-thursday',
      ok,
      `${unhealthy.length} liquidations cleared ${(clearMs / 1000).toFixed(1)} s after the crash block (base fee ${base} -> ${crashBase} wei); bad debt ${Number(totalBad) / 1e6} USDC (insurance ${Number(debt.covered) / 1e6}, LP pool ${Number(debt.writtenOff) / 1e6}; bound ${Number(bound) / 1e6}; nodes' status reports ${Number(reportedBad) / 1e6}); ${summary}`,
    );
    expect(crashBase, 'the crash block carries the spiked base fee').toBe(spike);
    expect(underSpike, 'every liquidation landed in a block at the spiked base fee').toBe(true);
    expect(unhealthy).toHaveLength(4);
    expect(cleared.length).toBeGreaterThanOrEqual(4);
    expect(once, 'each unhealthy account liquidated exactly once').toBe(true);
    expect(fair, 'no liquidator took more than repaid + bonus').toBe(true);
    expect(totalBad).toBeGreaterThan(0n);
    expect(totalBad).toBeLessThanOrEqual(bound);
    expect(healthy.every((h) => h.health >= WAD)).toBe(true);
    expect(landedEntries, "the nodes' status records each landing").toHaveLength(4);
    expect(reportedBad, 'the bad debt the nodes report is what the engine settled').toBe(totalBad);
    expect(failed).toEqual([]);
  });

  it('mango-pump: a 20x spike of a capped 0.1-weight asset buys at most cap x weight x price of margin', async () => {
    await setEthPrice(2000n);
    const PUMP_ASSET = 9;
    const CAP = 100n * WAD;
    const WEIGHT = WAD / 10n;
    // PUMP on B: a token, its feed at $1 and adapter, a risk asset of weight 0.1 and a source capped
    // at 100 tokens of credit (the owner's configuration, as for a newly listed long-tail asset).
    const factory = (name: string) =>
      new ContractFactory(readArtifact(name).abi, readArtifact(name).bytecode, deployer);
    const pump = await (await factory('MockERC20').deploy('Pump', 'PUMP', 18)).waitForDeployment();
    const feed = await (
      await factory('SettableAggregator').deploy(8, 10n ** 8n, 'PUMP / USD')
    ).waitForDeployment();
    const adapter = await (
      await factory('ChainlinkPriceAdapter').deploy(await feed.getAddress(), 86_400, ZERO, 0, 0)
    ).waitForDeployment();
    const pumpAddr = (await pump.getAddress()) as Address;
    await (
      await vault.getFunction('setAssetConfig')(pumpAddr, [true, MAX_UINT128, MAX_UINT128, 86_400])
    ).wait();
    await (
      await engine.getFunction('setRiskAsset')(PUMP_ASSET, [await adapter.getAddress(), WEIGHT, true, 0])
    ).wait();
    await (
      await engine.getFunction('setCollateralSource')(B.eid, pumpAddr, [
        PUMP_ASSET,
        18,
        true,
        0, // no staleness: the engine's own chain
        0,
        CAP,
        MAX_UINT128,
        86_400,
      ])
    ).wait();

    const trader = traderAddress(2, 0);
    await p.send('anvil_setBalance', [trader, toQuantity(10n ** 19n)]);
    const asTrader = async (to: Address, data: string): Promise<string> => {
      const sim = await simulate(trader, to, data);
      if (sim !== 'ok') return sim;
      const receipt = await p.waitForTransaction(
        await p.send('eth_sendTransaction', [{ from: trader, to, data }]),
      );
      return receipt?.status === 1 ? 'ok' : 'reverted on chain';
    };
    const E = engine.interface;
    const depositPump = (amount: bigint) =>
      asTrader(
        B.xmargin.vault,
        vault.interface.encodeFunctionData('deposit', [pumpAddr, amount, 0n, B.eid, '0x']),
      );
    expect(await asTrader(pumpAddr, pump.interface.encodeFunctionData('mint', [trader, 1_000n * WAD]))).toBe(
      'ok',
    );
    expect(
      await asTrader(pumpAddr, pump.interface.encodeFunctionData('approve', [B.xmargin.vault, MaxUint256])),
    ).toBe('ok');
    expect(await depositPump(CAP)).toBe('ok');
    // Beyond the cap the local vault refuses the deposit outright (nothing is locked uncredited).
    const overCap = await depositPump(500n * WAD);
    const credit = async () => (await engine.getFunction('creditOf')(trader, 0n, B.eid, pumpAddr)) as bigint;
    expect(await credit()).toBe(CAP);

    const t0 = Date.now();
    const before = (await healthOf(trader)).collateralValue;
    await (await feed.getFunction('setAnswer')(20n * 10n ** 8n)).wait(); // 20x
    const pumped = (await healthOf(trader)).collateralValue;
    const bound = (CAP * WEIGHT * 20n) / WAD; // $200 of margin, whatever the trader sends
    const im = WAD / 10n; // ETH-PERP initial margin
    const maxNotional = (bound * WAD) / im; // $2,000
    const trade = (sizeWad: bigint) =>
      asTrader(
        B.xmargin.market as Address,
        market.interface.encodeFunctionData('trade', [0n, ETH_PERP, sizeWad, 10n ** 30n]),
      );
    const attempts = {
      withdrawBeyondCredit: await asTrader(
        B.xmargin.engine as Address,
        E.encodeFunctionData('withdraw', [0n, B.eid, pumpAddr, CAP + WAD, trader, '0x']),
      ),
      withdrawOtherCollateral: await asTrader(
        B.xmargin.engine as Address,
        E.encodeFunctionData('withdraw', [0n, B.eid, usdc, USDC(100), trader, '0x']),
      ),
      withdrawPnl: await asTrader(
        B.xmargin.engine as Address,
        E.encodeFunctionData('withdrawPnl', [0n, USDC(100), trader]),
      ),
      // Just above what $200 of margin carries ($2,000 notional at 10% initial margin).
      positionAboveBound: await trade((maxNotional * WAD) / 2000n / WAD + WAD / 100n),
      positionWithinBound: await trade((9n * WAD) / 10n),
    };
    // With the position open, the pumped credit cannot leave either: 20 PUMP out leaves $160 < $180.
    const withdrawUnderPosition = await asTrader(
      B.xmargin.engine as Address,
      E.encodeFunctionData('withdraw', [0n, B.eid, pumpAddr, 20n * WAD, trader, '0x']),
    );
    const held = await healthOf(trader);

    // The pump ends: back to $1, the account is under water and a node liquidates it.
    const dropBlock = (await (await feed.getFunction('setAnswer')(10n ** 8n)).wait())?.blockNumber ?? 0;
    const liq = await waitFor(
      'the pumped account liquidated',
      async () => {
        const l = await liquidations(dropBlock);
        return l.some((x) => x.account.toLowerCase() === trader.toLowerCase()) ? l : undefined;
      },
      60_000,
      500,
    );
    const clearMs = Date.now() - t0;
    await sleep(3_000);
    const again = perAccount(await liquidations(dropBlock)).get(trader.toLowerCase());
    const debt = await badDebt(dropBlock);
    const { failed, summary } = await checkInvariants(n(), [trader]);
    const refused = (x: string, error: string) => x.startsWith(`${error}(`);
    const ok =
      before === 10n * WAD &&
      pumped === bound &&
      overCap !== 'ok' &&
      refused(attempts.withdrawBeyondCredit, 'InsufficientCredit') &&
      refused(attempts.withdrawOtherCollateral, 'InsufficientCredit') &&
      refused(attempts.withdrawPnl, 'InsufficientSettled') &&
      refused(attempts.positionAboveBound, 'BelowInitialMargin') &&
      attempts.positionWithinBound === 'ok' &&
      refused(withdrawUnderPosition, 'BelowInitialMargin') &&
      held.notional <= maxNotional &&
      liq.length >= 1 &&
      again === 1 &&
      debt.covered + debt.writtenOff <= bound / 10n ** 12n &&
      failed.length === 0;
    result(
      'mango-pump',
      ok,
      `margin from 100 PUMP at 20x: $${Number(pumped) / 1e18} (cap x weight x price = $${Number(bound) / 1e18}); largest position $${Number(held.notional) / 1e18} of $${Number(maxNotional) / 1e18} allowed; refused with ${[attempts.withdrawBeyondCredit, attempts.withdrawOtherCollateral, attempts.withdrawPnl, attempts.positionAboveBound, withdrawUnderPosition, overCap].map((x) => x.split('(')[0]).join(', ')}; after the fall liquidated once, ${(clearMs / 1000).toFixed(1)} s after the spike, bad debt ${Number(debt.covered + debt.writtenOff) / 1e6} USDC; ${summary}`,
    );
    for (const [what, outcome] of Object.entries({ ...attempts, withdrawUnderPosition, overCap }))
      console.log(`  ${what}: ${outcome}`);
    expect(before).toBe(10n * WAD);
    expect(pumped, 'the spiked margin is capped at cap x weight x price').toBe(bound);
    expect(overCap).not.toBe('ok');
    expect(await credit()).toBeLessThanOrEqual(CAP);
    expect(attempts.withdrawBeyondCredit).toBe(`InsufficientCredit(${CAP}, ${CAP + WAD})`);
    expect(attempts.withdrawOtherCollateral).toBe(`InsufficientCredit(0, ${USDC(100)})`);
    expect(attempts.withdrawPnl, 'no PnL to withdraw against pumped collateral').toMatch(
      /^InsufficientSettled\(/,
    );
    expect(attempts.positionAboveBound).toMatch(/^BelowInitialMargin\(/);
    expect(attempts.positionWithinBound).toBe('ok');
    expect(withdrawUnderPosition).toMatch(/^BelowInitialMargin\(/);
    expect(held.notional).toBeLessThanOrEqual(maxNotional);
    expect(again, 'liquidated exactly once').toBe(1);
    expect(debt.covered + debt.writtenOff).toBeLessThanOrEqual(bound / 10n ** 12n);
    expect(failed).toEqual([]);
  });

  it('load: 1,000 traders, a burst of price updates in one block, 100 liquidated exactly once each', async () => {
    await setEthPrice(2000n);
    // 1,000 USDC each (weight 0.95). 100 risky longs of 4 ETH (initial margin $800 of $950) and 900
    // small ones of 0.1 ETH. At $1,800 the risky ones have ~$146 of equity for $360 of maintenance
    // (health ~0.4: closed in full, no bad debt); the small ones do not notice.
    const RISKY = 100;
    const TOTAL = 1_000;
    const specs = Array.from({ length: TOTAL }, (_, i) => ({
      usdc: USDC(1_000),
      size: i < RISKY ? 4n * WAD : WAD / 10n,
    }));
    const tFund = Date.now();
    const traders = await openTraders(3, specs);
    const fundMs = Date.now() - tFund;
    const risky = new Set(traders.slice(0, RISKY).map((t) => t.toLowerCase()));

    // The burst: four price updates mined together in one block (interval mining paused meanwhile).
    await p.send('evm_setIntervalMining', [0]);
    let burstBlock: number;
    try {
      const feed = new Contract(
        B.tokens.find((t) => t.symbol === 'WETH')?.feed as Address,
        readArtifact('SettableAggregator').abi,
        deployer,
      );
      const sent = [];
      for (const usd of [1950n, 1900n, 1850n, 1800n])
        sent.push(await feed.getFunction('setAnswer')(usd * 10n ** 8n));
      await p.send('evm_mine', []);
      const receipts = await Promise.all(sent.map((t) => t.wait()));
      const blocks = new Set(receipts.map((r) => r?.blockNumber));
      if (blocks.size !== 1) throw new Error(`the burst spans blocks ${[...blocks].join(', ')}`);
      burstBlock = receipts[0]?.blockNumber ?? 0;
    } finally {
      await p.send('evm_setIntervalMining', [1]);
    }
    const t0 = Date.now();
    const healthAtBurst = await inPool(traders, 48, (t) => healthOf(t, burstBlock));
    const unhealthy = traders.filter((_, i) => (healthAtBurst[i]?.health ?? 0n) < WAD);

    const landed = await waitFor(
      'all 100 liquidated',
      async () => {
        const l = await liquidations(burstBlock + 1);
        const c = perAccount(l);
        return [...risky].every((t) => c.has(t)) ? l : undefined;
      },
      110_000,
      500,
    );
    const clearMs = Date.now() - t0;
    const firstBlock = Math.min(...landed.map((l) => l.block));
    const lastBlock = Math.max(...landed.map((l) => l.block));
    await sleep(4_000); // room for a (wrong) second liquidation to land
    const counts = perAccount(await liquidations(burstBlock + 1));
    const onceEach = [...risky].every((t) => counts.get(t) === 1);
    const othersUntouched = [...counts.keys()].every((t) => risky.has(t));
    const byNode = new Map<string, number>();
    for (const l of landed) byNode.set(l.liquidator, (byNode.get(l.liquidator) ?? 0) + 1);
    const debt = await badDebt(burstBlock + 1);
    const { failed, summary } = await checkInvariants(n(), traders.slice(0, RISKY));
    const perSecond = (RISKY / (clearMs / 1000)).toFixed(1);
    const ok =
      unhealthy.length === RISKY &&
      unhealthy.every((t) => risky.has(t.toLowerCase())) &&
      onceEach &&
      othersUntouched &&
      debt.accounts === 0 &&
      failed.length === 0;
    result(
      'load',
      ok,
      `${TOTAL} traders funded and trading in ${(fundMs / 1000).toFixed(1)} s; ${unhealthy.length} unhealthy in one block, all liquidated once in ${(clearMs / 1000).toFixed(1)} s (${perSecond} liquidations/s, blocks +${firstBlock - burstBlock}..+${lastBlock - burstBlock}, split ${[...byNode.values()].join('/')} across ${byNode.size} nodes); ${summary}`,
    );
    expect(unhealthy).toHaveLength(RISKY);
    expect(onceEach, 'each of the 100 liquidated exactly once').toBe(true);
    expect(othersUntouched, 'none of the 900 healthy ones liquidated').toBe(true);
    expect(debt.accounts).toBe(0);
    expect(failed).toEqual([]);
  }, 300_000);
});
