// Plans one liquidation: reads the sub-account's collaterals and health, orders seize orders (local
// collateral first because it pays out in the same transaction, then by value), sizes the repay
// offer from the debt or closing need, quotes the LayerZero fees of remote seizures and simulates the
// whole call from our own address. Nothing is sent here; the coordinator decides who sends.

import type { Address, Hex } from '../config/types.ts';
import { ENGINE, PRICE_ADAPTER } from './abi.ts';
import {
  decodeCollaterals,
  decodeHealth,
  encodeCollateralsOfCall,
  encodeHealthCall,
  liquidateCalldata,
  stateKeyOf,
} from './fast-abi.ts';
import { describeRevert, type LiqRpc } from './rpc.ts';

const WAD = 10n ** 18n;

export interface HealthView {
  collateralValue: bigint;
  equity: bigint;
  maintenanceRequirement: bigint;
  initialRequirement: bigint;
  notional: bigint;
  health: bigint;
}

export interface SeizeOrder {
  srcEid: number;
  token: Address;
  maxRepay: bigint;
  options: Hex;
}

export interface LiquidateParams {
  account: Address;
  subaccount: bigint;
  seizes: SeizeOrder[];
  recipient: Address;
}

export interface PlanRequest {
  engineEid: number;
  engine: Address;
  account: Address;
  subaccount: bigint;
  /** Our signer: the simulation's `from` and the seized collateral's recipient on every chain. */
  signer: Address;
  /** LayerZero options of a remote SEIZE ('0x': the engine's enforced options apply). */
  seizeOptions?: Hex;
  /** Head-room on the estimated need, basis points (the engine caps what it takes). Default 2000. */
  needBufferBps?: bigint;
  /** Reuses the engine's risk configuration between plans (see PlanCache). */
  cache?: PlanCache;
  /**
   * false: stop at the state key and health (kind 'unhealthy'), without sizing or simulating.
   * 'deferred': size and encode, but leave the simulation to the sender (the batcher simulates a
   * whole batch in one eth_call); `expected` is then absent. Default true.
   */
  simulate?: boolean | 'deferred';
}

/**
 * The engine's configuration reads a plan needs (liquidation config, quote token, collateral sources,
 * risk assets), kept for `ttlMs`. They change only by governance, and a stale one can only order or
 * size the seize orders less well: the simulation at the latest block still decides. Prices, health,
 * collaterals and LayerZero fees are read fresh for every plan.
 */
export class PlanCache {
  private readonly ttlMs: number;
  private readonly entries = new Map<string, { at: number; value: Promise<unknown> }>();
  constructor(ttlMs = 60_000) {
    this.ttlMs = ttlMs;
  }
  get<T>(key: string, read: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit !== undefined && now - hit.at <= this.ttlMs) return hit.value as Promise<T>;
    const value = read();
    this.entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }
}

export type Plan =
  | {
      kind: 'liquidatable';
      stateKey: Hex;
      health: HealthView;
      params: LiquidateParams;
      calldata: Hex;
      /** msg.value: Σ quoteSeize of the remote orders. */
      value: bigint;
      /** The largest amount of quote tokens the call may pull (per order the engine caps it). */
      maxRepay: bigint;
      quoteToken: Address;
      /** What the simulation returned; absent when it was deferred to the sender. */
      expected?: { repaid: bigint; healthAfter: bigint; seized: bigint[] };
    }
  | { kind: 'healthy'; stateKey: Hex; health: HealthView; reason: string }
  /** Below 1 on chain; not simulated (PlanRequest.simulate false). */
  | { kind: 'unhealthy'; stateKey: Hex; health: HealthView }
  | { kind: 'failed'; stateKey: Hex; health: HealthView | undefined; reason: string };

async function read(rpc: LiqRpc, to: Address, fn: string, args: unknown[]) {
  const data = ENGINE.encodeFunctionData(fn, args) as Hex;
  return ENGINE.decodeFunctionResult(fn, await rpc.call({ to, data }));
}

export async function readHealth(
  rpc: LiqRpc,
  engine: Address,
  account: Address,
  subaccount: bigint,
): Promise<HealthView> {
  const out = await rpc.call({ to: engine, data: encodeHealthCall(account, subaccount) });
  const fast = decodeHealth(out);
  if (fast !== undefined) return fast;
  const [h] = ENGINE.decodeFunctionResult('health', out);
  return {
    collateralValue: h.collateralValue as bigint,
    equity: h.equity as bigint,
    maintenanceRequirement: h.maintenanceRequirement as bigint,
    initialRequirement: h.initialRequirement as bigint,
    notional: h.notional as bigint,
    health: h.health as bigint,
  };
}

/** What the engine holds for the sub-account, per (source chain, token). */
export async function readCollaterals(
  rpc: LiqRpc,
  engine: Address,
  account: Address,
  subaccount: bigint,
): Promise<{ srcEid: number; token: Address; amount: bigint }[]> {
  const out = await rpc.call({ to: engine, data: encodeCollateralsOfCall(account, subaccount) });
  const fast = decodeCollaterals(out);
  if (fast !== undefined) return fast;
  const [srcEids, tokens, amounts] = ENGINE.decodeFunctionResult('collateralsOf', out);
  return (srcEids as bigint[]).map((eid, i) => ({
    srcEid: Number(eid),
    token: (tokens as string[])[i] as Address,
    amount: (amounts as bigint[])[i] as bigint,
  }));
}

export async function planLiquidation(rpc: LiqRpc, req: PlanRequest): Promise<Plan> {
  const { engine, engineEid, account, subaccount, signer } = req;
  const options = req.seizeOptions ?? '0x';
  const cache = req.cache ?? new PlanCache(0);
  const config = (fn: string, args: unknown[]) =>
    cache.get(`${engine}:${fn}:${args.join(',')}`, () => read(rpc, engine, fn, args));
  // The independent reads go out together (one round trip instead of five).
  const [health, collaterals, [cfg], [quoteToken], [quoteDecimals]] = await Promise.all([
    readHealth(rpc, engine, account, subaccount),
    readCollaterals(rpc, engine, account, subaccount),
    config('liquidationConfig', []),
    config('quoteToken', []),
    config('quoteDecimals', []),
  ]);
  const stateKey = stateKeyOf(health, collaterals);
  if (health.health >= WAD) {
    return { kind: 'healthy', stateKey, health, reason: `health ${health.health} >= 1e18` };
  }
  if (req.simulate === false) return { kind: 'unhealthy', stateKey, health };

  // The LayerZero fee of each remote chain holding collateral, read while the collaterals are valued.
  const feeOf = new Map<number, Promise<bigint>>();
  for (const c of collaterals) {
    if (c.srcEid === engineEid || c.amount === 0n || feeOf.has(c.srcEid)) continue;
    const fee = read(rpc, engine, 'quoteSeize', [c.srcEid, options]).then(([q]) => q.nativeFee as bigint);
    fee.catch(() => undefined); // awaited below; a valuation failing first must not leave it unhandled
    feeOf.set(c.srcEid, fee);
  }
  // Value each collateral at the engine's own oracle, so the order matches what the engine will pay
  // (with one collateral there is nothing to order: no round trip for it).
  const held = collaterals.filter((c) => c.amount !== 0n);
  const valued = await Promise.all(
    (held.length <= 1 ? [] : collaterals).map(async (c) => {
      const [source] = await config('collateralSource', [c.srcEid, c.token]);
      const [asset] = await config('riskAsset', [source.assetId]);
      const priceData = await rpc.call({
        to: asset.oracle as Address,
        data: PRICE_ADAPTER.encodeFunctionData('price', []) as Hex,
      });
      const price = PRICE_ADAPTER.decodeFunctionResult('price', priceData)[0] as bigint;
      const valueUsd = (c.amount * price) / 10n ** BigInt(source.decimals as bigint);
      return { ...c, valueUsd };
    }),
  );
  valued.sort((a, b) => {
    const localA = a.srcEid === engineEid ? 1 : 0;
    const localB = b.srcEid === engineEid ? 1 : 0;
    if (localA !== localB) return localB - localA;
    return a.valueUsd === b.valueUsd ? 0 : a.valueUsd > b.valueUsd ? -1 : 1;
  });

  // Need (USD, WAD): after the close the debt is at most what the weighted collateral exceeds equity
  // by (settled + unrealised PnL = equity − collateralValue), and the closing reward is at most
  // notional × bonus. Offering more than needed is safe: the engine takes min(offer, need) per order.
  const bonus = cfg.bonus as bigint;
  const debtBound = health.collateralValue > health.equity ? health.collateralValue - health.equity : 0n;
  const rewardBound = (health.notional * bonus) / WAD;
  const bound = debtBound > rewardBound ? debtBound : rewardBound;
  const needUsd = (bound * (10_000n + (req.needBufferBps ?? 2_000n))) / 10_000n;
  const unit = 10n ** (18n - BigInt(quoteDecimals as bigint));
  const maxRepay = needUsd / unit + 1n;

  const orders = held.length <= 1 ? held : valued.filter((c) => c.amount !== 0n);
  const fees = await Promise.all(orders.map((c) => feeOf.get(c.srcEid) ?? 0n));
  const value = fees.reduce((a, b) => a + b, 0n);
  const seizes: SeizeOrder[] = orders.map((c) => ({ srcEid: c.srcEid, token: c.token, maxRepay, options }));
  const params: LiquidateParams = { account, subaccount, seizes, recipient: signer };
  const calldata = liquidateCalldata(params);
  const built = {
    kind: 'liquidatable' as const,
    stateKey,
    health,
    params,
    calldata,
    value,
    maxRepay: maxRepay * BigInt(Math.max(1, seizes.length)),
    quoteToken: quoteToken as Address,
  };
  if (req.simulate === 'deferred') return built;

  try {
    const out = await rpc.call({ to: engine, data: calldata, from: signer, value });
    const [r] = ENGINE.decodeFunctionResult('liquidate', out);
    return {
      ...built,
      expected: {
        repaid: r.repaid as bigint,
        healthAfter: r.healthAfter as bigint,
        seized: [...(r.seized as bigint[])],
      },
    };
  } catch (err) {
    const why = describeRevert(err);
    if (why.name === 'HealthyAccount') return { kind: 'healthy', stateKey, health, reason: why.text };
    return { kind: 'failed', stateKey, health, reason: why.text };
  }
}
