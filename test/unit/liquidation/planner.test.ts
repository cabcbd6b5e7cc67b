// The planner against a fake engine that answers eth_calls by selector: seize order (local first,
// then by value), the repay offer sized from the need, the LayerZero fee of remote orders, and what a
// simulation revert means.

import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { ENGINE, PRICE_ADAPTER } from '../../../relayer/liquidation/abi.ts';
import { PlanCache, planLiquidation } from '../../../relayer/liquidation/planner.ts';
import type { LiqRpc } from '../../../relayer/liquidation/rpc.ts';

const WAD = 10n ** 18n;
const LOCAL = 40_102;
const ENGINE_ADDR = '0x00000000000000000000000000000000000000e1' as Address;
const WETH_A = '0x000000000000000000000000000000000000a001' as Address;
const WETH_B = '0x000000000000000000000000000000000000b001' as Address;
const WBTC_C = '0x000000000000000000000000000000000000c001' as Address;
const ORACLE = '0x00000000000000000000000000000000000000f1' as Address;
const ME = '0x00000000000000000000000000000000000000aa' as Address;
const ACCOUNT = '0x00000000000000000000000000000000000000a1' as Address;

function fakeEngine(opts: { health: bigint; simulate: (data: Hex) => Hex; single?: boolean }) {
  const calls: { to: Address; data: Hex; value?: bigint; from?: Address }[] = [];
  const rpc: LiqRpc = {
    async call(tx) {
      calls.push(tx);
      if (tx.to === ORACLE) return PRICE_ADAPTER.encodeFunctionResult('price', [2000n * WAD]) as Hex;
      const fn = ENGINE.parseTransaction({ data: tx.data });
      const enc = (v: unknown[]) => ENGINE.encodeFunctionResult(fn?.name as string, v) as Hex;
      switch (fn?.name) {
        case 'health':
          return enc([[1600n * WAD, 500n * WAD, 650n * WAD, 1300n * WAD, 13_000n * WAD, opts.health]]);
        case 'collateralsOf':
          if (opts.single === true)
            return enc([
              [40_101, LOCAL],
              [WETH_A, WETH_B],
              [WAD, 0n],
            ]);
          // remote WETH 1, local WETH 0.5, remote WBTC 2 (priced by the same fake oracle)
          return enc([
            [40_101, LOCAL, 40_103],
            [WETH_A, WETH_B, WBTC_C],
            [WAD, WAD / 2n, 2n * 10n ** 8n],
          ]);
        case 'collateralSource':
          return enc([[1, String(fn.args[1]).toLowerCase() === WBTC_C ? 8 : 18, true, 0, 0, 0]]);
        case 'riskAsset':
          return enc([[ORACLE, (8n * WAD) / 10n, true]]);
        case 'liquidationConfig':
          return enc([[WAD / 20n, (5n * WAD) / 4n, WAD / 2n, 50n * WAD]]);
        case 'quoteToken':
          return enc([ME]);
        case 'quoteDecimals':
          return enc([6]);
        case 'quoteSeize':
          return enc([[1_000n, 0n]]);
        case 'liquidate':
          return opts.simulate(tx.data);
        default:
          throw new Error(`unexpected call ${fn?.name}`);
      }
    },
    blockNumber: async () => 1,
    getLogs: async () => [],
    getReceipt: async () => null,
    send: async <T>() => '0x' as T,
  };
  return { rpc, calls };
}

const req = { engineEid: LOCAL, engine: ENGINE_ADDR, account: ACCOUNT, subaccount: 3n, signer: ME };
const okResult = ENGINE.encodeFunctionResult('liquidate', [
  [WAD / 2n, 6_500n * WAD, 1_100n * 10n ** 6n, [1n, 0n, 0n], [], 7n * 10n ** 17n, 13n * 10n ** 17n],
]) as Hex;

describe('planLiquidation', () => {
  it('orders local collateral first, then by value; offers the need on each; quotes remote fees; simulates from the signer', async () => {
    const { rpc, calls } = fakeEngine({ health: 7n * 10n ** 17n, simulate: () => okResult });
    const plan = await planLiquidation(rpc, req);
    expect(plan.kind).toBe('liquidatable');
    if (plan.kind !== 'liquidatable') return;
    expect(plan.params.seizes.map((s) => s.token.toLowerCase())).toEqual([WETH_B, WBTC_C, WETH_A]);
    expect(plan.params.recipient).toBe(ME);
    // need = max(collateral − equity, notional × bonus) = max(1100, 650) = 1100 USD, +20% buffer, in 6 decimals
    expect(plan.params.seizes[0]?.maxRepay).toBe(1_320n * 10n ** 6n + 1n);
    expect(plan.value).toBe(2_000n); // two remote orders
    const sim = calls.find((c) => c.data === plan.calldata);
    expect(sim).toMatchObject({ from: ME, value: 2_000n });
    expect(plan.expected?.healthAfter).toBe(13n * 10n ** 17n);
  });

  it('deferred: sized and encoded the same, with no simulation call (the batcher simulates)', async () => {
    const full = fakeEngine({ health: 7n * 10n ** 17n, simulate: () => okResult });
    const deferred = fakeEngine({ health: 7n * 10n ** 17n, simulate: () => okResult });
    const a = await planLiquidation(full.rpc, req);
    const b = await planLiquidation(deferred.rpc, { ...req, simulate: 'deferred' });
    if (a.kind !== 'liquidatable' || b.kind !== 'liquidatable') throw new Error('both must be liquidatable');
    expect({ ...b, expected: a.expected }).toEqual(a);
    expect(b.expected).toBeUndefined();
    expect(full.calls.some((c) => c.data === a.calldata)).toBe(true);
    expect(deferred.calls.some((c) => c.data === b.calldata)).toBe(false);
  });

  it('a HealthyAccount revert means not liquidatable; other reverts are failures with their reason', async () => {
    const healthy = fakeEngine({
      health: 9n * 10n ** 17n,
      simulate: () => {
        throw { data: ENGINE.encodeErrorResult('HealthyAccount', [WAD]) };
      },
    });
    expect(await planLiquidation(healthy.rpc, req)).toMatchObject({ kind: 'healthy' });
    const broke = fakeEngine({
      health: 9n * 10n ** 17n,
      simulate: () => {
        throw { data: ENGINE.encodeErrorResult('ERC20InsufficientBalance', [ME, 0n, 5n]) };
      },
    });
    const plan = await planLiquidation(broke.rpc, req);
    expect(plan).toMatchObject({ kind: 'failed' });
    expect(plan.kind === 'failed' && plan.reason).toMatch(/^ERC20InsufficientBalance/);
  });

  it('does not even simulate when the engine reports health >= 1', async () => {
    const { rpc, calls } = fakeEngine({ health: WAD, simulate: () => okResult });
    expect(await planLiquidation(rpc, req)).toMatchObject({ kind: 'healthy' });
    expect(calls.some((c) => ENGINE.parseTransaction({ data: c.data })?.name === 'liquidate')).toBe(false);
  });

  it('without simulation: the state key and health only; a cache answers the configuration reads', async () => {
    const { rpc, calls } = fakeEngine({ health: 7n * 10n ** 17n, simulate: () => okResult });
    const light = await planLiquidation(rpc, { ...req, simulate: false });
    expect(light).toMatchObject({ kind: 'unhealthy', health: { health: 7n * 10n ** 17n } });
    expect(light.stateKey).toBe((await planLiquidation(rpc, req)).stateKey);
    const names = () => calls.map((c) => ENGINE.parseTransaction({ data: c.data })?.name);
    expect(names().filter((n) => n === 'liquidate')).toHaveLength(1); // the full plan's only
    const cache = new PlanCache();
    calls.length = 0;
    await planLiquidation(rpc, { ...req, cache });
    const first = names().filter((n) => n === 'liquidationConfig' || n === 'collateralSource').length;
    calls.length = 0;
    await planLiquidation(rpc, { ...req, cache });
    expect(first).toBe(4); // the config and three collateral sources
    expect(names().filter((n) => n === 'liquidationConfig' || n === 'collateralSource')).toHaveLength(0);
    expect(names().filter((n) => n === 'health' || n === 'liquidate')).toHaveLength(2); // always fresh
  });

  it('one collateral held: one seize order, no oracle read to order it', async () => {
    const { rpc, calls } = fakeEngine({ health: 7n * 10n ** 17n, simulate: () => okResult, single: true });
    const plan = await planLiquidation(rpc, req);
    expect(plan.kind === 'liquidatable' && plan.params.seizes.map((o) => o.token)).toEqual([WETH_A]);
    expect(plan.kind === 'liquidatable' && plan.value).toBe(1_000n); // its remote SEIZE fee
    expect(calls.some((c) => c.to === ORACLE)).toBe(false);
  });

  it('the state key depends on the engine state only (the attempt id adds the sub-account)', async () => {
    const a = await planLiquidation(
      fakeEngine({ health: 7n * 10n ** 17n, simulate: () => okResult }).rpc,
      req,
    );
    const b = await planLiquidation(
      fakeEngine({ health: 7n * 10n ** 17n, simulate: () => okResult }).rpc,
      req,
    );
    expect(a.stateKey).toBe(b.stateKey);
  });
});
