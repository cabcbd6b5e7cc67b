// The part of ChainRpc the liquidator uses, so unit tests can fake a chain with a few functions.
// Also the one place that digs a revert's data out of an ethers / RpcError chain and names it.

import type { Interface, TransactionReceipt } from 'ethers';
import type { ChainLog, ChainRpc, LogFilter } from '../chain/rpc.ts';
import type { Address, Hex } from '../config/types.ts';
import { ENGINE } from './abi.ts';

export interface LiqRpc {
  call(tx: { to: Address; data: Hex; from?: Address; value?: bigint }): Promise<Hex>;
  blockNumber(): Promise<number>;
  getLogs(filter: LogFilter): Promise<ChainLog[]>;
  getReceipt(txHash: Hex): Promise<TransactionReceipt | null>;
  send<T>(method: string, params: unknown[]): Promise<T>;
}

/** A ChainRpc already is one; the alias documents which methods the liquidator relies on. */
export const asLiqRpc = (rpc: ChainRpc): LiqRpc => rpc;

/** The revert data (0x-selector…) inside a thrown call error, if any. */
export function revertData(err: unknown): Hex | undefined {
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number): Hex | undefined => {
    if (e === null || typeof e !== 'object' || seen.has(e) || depth > 6) return undefined;
    seen.add(e);
    const o = e as { data?: unknown; cause?: unknown; error?: unknown; info?: unknown };
    if (typeof o.data === 'string' && /^0x[0-9a-fA-F]{8,}$/.test(o.data)) return o.data as Hex;
    return (
      walk(o.cause, depth + 1) ??
      walk(o.error, depth + 1) ??
      walk((o.info as { error?: unknown } | undefined)?.error, depth + 1) ??
      walk(o.data, depth + 1)
    );
  };
  return walk(err, 0);
}

/**
 * A revert as `Name(arg, …)` when one of `abis` (default: the engine's) knows it; otherwise the raw
 * data or the message.
 */
export function describeRevert(
  err: unknown,
  abis: readonly Interface[] = [ENGINE],
): { name: string | undefined; text: string } {
  const data = revertData(err);
  if (data !== undefined) {
    for (const abi of abis) {
      try {
        const parsed = abi.parseError(data);
        if (parsed !== null) {
          return { name: parsed.name, text: `${parsed.name}(${parsed.args.map(String).join(', ')})` };
        }
      } catch {
        // unknown selector: the next ABI
      }
    }
    return { name: undefined, text: `revert ${data.slice(0, 74)}` };
  }
  const e = err as { shortMessage?: string; message?: string };
  return { name: undefined, text: String(e?.shortMessage ?? e?.message ?? err) };
}
