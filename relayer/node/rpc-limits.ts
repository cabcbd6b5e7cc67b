// The RPC limits of each chain a node serves: per-request timeout and attempts, from the `xmargin
// node` flags (every chain), else the node config's entry for the chain, else its `rpc` defaults,
// else ours. ChainRpc's own default (10 s × 5 attempts) made a hung RPC take ~53 s to surface; 5 s ×
// 3 attempts fails a read within ~16 s, and ChainRpc.trouble() reports the first timed-out attempt.

import type { RpcOptions } from '../chain/rpc.ts';
import type { ChainConfig, NodeConfig, RpcLimits } from '../config/types.ts';

export const DEFAULT_RPC_LIMITS: Required<RpcLimits> = { timeoutMs: 5_000, attempts: 3 };

/** Throws when the config names a chain the node does not serve (a typo would be silently ignored). */
export function checkRpcLimits(config: Pick<NodeConfig, 'rpc' | 'chains'>): void {
  for (const name of Object.keys(config.rpc?.chains ?? {})) {
    if (!config.chains.includes(name)) {
      throw new Error(
        `node config: rpc.chains names "${name}", which is not one of the node's chains (${config.chains.join(', ')})`,
      );
    }
  }
}

export function rpcLimitsFor(
  chain: string,
  config: Pick<NodeConfig, 'rpc'>,
  flags: RpcLimits = {},
): Required<RpcLimits> {
  const perChain = config.rpc?.chains?.[chain];
  return {
    timeoutMs:
      flags.timeoutMs ?? perChain?.timeoutMs ?? config.rpc?.timeoutMs ?? DEFAULT_RPC_LIMITS.timeoutMs,
    attempts: flags.attempts ?? perChain?.attempts ?? config.rpc?.attempts ?? DEFAULT_RPC_LIMITS.attempts,
  };
}

/** The ChainRpc options of one chain. */
export function rpcOptionsFor(chain: string, config: Pick<NodeConfig, 'rpc'>, flags?: RpcLimits): RpcOptions {
  const limits = rpcLimitsFor(chain, config, flags);
  return { timeoutMs: limits.timeoutMs, retries: limits.attempts - 1 };
}

/** The chains with the node's own RPC URLs where its config gives them (`rpc.chains.<name>.urls`). */
export function withOwnRpcUrls<C extends Pick<ChainConfig, 'name' | 'rpcUrls'>>(
  chains: readonly C[],
  config: Pick<NodeConfig, 'rpc'>,
): C[] {
  return chains.map((c) => {
    const urls = config.rpc?.chains?.[c.name]?.urls;
    return urls === undefined ? c : { ...c, rpcUrls: [...urls] };
  });
}
