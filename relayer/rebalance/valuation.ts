// How each engine values a collateral: its collateralSource (asset id, decimals, enabled), the risk
// asset's weight and oracle, and the oracle adapter's price — read by eth_call, as the engine itself
// will value the move. Reads are fetched ahead of a decision (prefetch) and kept for `ttlMs`, so the
// pure decision can look them up synchronously.

import type { Address, Hex } from '../config/types.ts';
import { ENGINE, PRICE_ADAPTER } from '../liquidation/abi.ts';
import type { LiqRpc } from '../liquidation/rpc.ts';
import type { Valuation } from './types.ts';

export interface ValuationSource {
  /** Reads every (engine, srcEid, token) not fresh in the cache; failures leave it unknown. */
  prefetch(keys: { engineEid: number; srcEid: number; token: Address }[]): Promise<void>;
  get(engineEid: number, srcEid: number, token: Address): Valuation | undefined;
}

export interface ValuationOptions {
  /** Engine address and RPC per engine eid (the engines this node serves). */
  engineOf: (engineEid: number) => { engine: Address; rpc: Pick<LiqRpc, 'call'> } | undefined;
  ttlMs?: number;
  now?: () => number;
}

const keyOf = (engineEid: number, srcEid: number, token: Address) =>
  `${engineEid}:${srcEid}:${token.toLowerCase()}`;

export async function readValuation(
  rpc: Pick<LiqRpc, 'call'>,
  engine: Address,
  srcEid: number,
  token: Address,
): Promise<Valuation> {
  const call = async (to: Address, iface: typeof ENGINE, fn: string, args: unknown[]) =>
    iface.decodeFunctionResult(fn, await rpc.call({ to, data: iface.encodeFunctionData(fn, args) as Hex }));
  const [source] = await call(engine, ENGINE, 'collateralSource', [srcEid, token]);
  const [asset] = await call(engine, ENGINE, 'riskAsset', [source.assetId]);
  const [price] = await call(asset.oracle as Address, PRICE_ADAPTER, 'price', []);
  return {
    price: price as bigint,
    weight: BigInt(asset.weight as bigint),
    decimals: Number(source.decimals),
    enabled: Boolean(source.enabled) && Boolean(asset.enabled),
  };
}

export function createValuations(o: ValuationOptions): ValuationSource {
  const now = o.now ?? Date.now;
  const ttl = o.ttlMs ?? 2_000;
  const cache = new Map<string, { at: number; value: Valuation }>();
  return {
    async prefetch(keys) {
      const todo = new Map<string, (typeof keys)[number]>();
      for (const k of keys) {
        const key = keyOf(k.engineEid, k.srcEid, k.token);
        const hit = cache.get(key);
        if (hit === undefined || now() - hit.at > ttl) todo.set(key, k);
      }
      await Promise.all(
        [...todo].map(async ([key, k]) => {
          const e = o.engineOf(k.engineEid);
          if (e === undefined) return;
          try {
            cache.set(key, { at: now(), value: await readValuation(e.rpc, e.engine, k.srcEid, k.token) });
          } catch {
            cache.delete(key); // an unknown source reverts UnknownCollateral: the engine does not take it
          }
        }),
      );
    },
    get: (engineEid, srcEid, token) => cache.get(keyOf(engineEid, srcEid, token))?.value,
  };
}
