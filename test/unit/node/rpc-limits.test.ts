// The node's RPC limits per chain: flags above the config's per-chain entry, above its defaults,
// above ours; a per-chain entry for a chain the node does not serve is refused; the config schema
// refuses nonsense values.

import { describe, expect, it } from 'vitest';
import { nodeConfigSchema } from '../../../relayer/config/schemas.ts';
import {
  checkRpcLimits,
  DEFAULT_RPC_LIMITS,
  rpcLimitsFor,
  rpcOptionsFor,
  withOwnRpcUrls,
} from '../../../relayer/node/rpc-limits.ts';

const config = {
  chains: ['devnet-a', 'devnet-b'],
  rpc: { timeoutMs: 8_000, chains: { 'devnet-b': { timeoutMs: 2_000, attempts: 6 } } },
};

describe('rpc limits', () => {
  it('resolves flags > per-chain config > config default > built-in default', () => {
    expect(rpcLimitsFor('devnet-a', {})).toEqual(DEFAULT_RPC_LIMITS);
    expect(rpcLimitsFor('devnet-a', config)).toEqual({ timeoutMs: 8_000, attempts: 3 });
    expect(rpcLimitsFor('devnet-b', config)).toEqual({ timeoutMs: 2_000, attempts: 6 });
    expect(rpcLimitsFor('devnet-b', config, { attempts: 1 })).toEqual({ timeoutMs: 2_000, attempts: 1 });
    expect(rpcLimitsFor('devnet-a', config, { timeoutMs: 500 })).toEqual({ timeoutMs: 500, attempts: 3 });
    // ChainRpc counts retries after the first attempt.
    expect(rpcOptionsFor('devnet-b', config)).toEqual({ timeoutMs: 2_000, retries: 5 });
  });

  it("uses the node's own RPC URLs for a chain where its config gives them", () => {
    const chains = [
      { name: 'devnet-a', rpcUrls: ['http://shared-a'] },
      { name: 'devnet-b', rpcUrls: ['http://shared-b'] },
    ];
    const own = { rpc: { chains: { 'devnet-b': { urls: ['http://mine-1', 'http://mine-2'] } } } };
    expect(withOwnRpcUrls(chains, own).map((c) => c.rpcUrls)).toEqual([
      ['http://shared-a'],
      ['http://mine-1', 'http://mine-2'],
    ]);
    expect(withOwnRpcUrls(chains, {})).toEqual(chains);
    const parsed = nodeConfigSchema.shape.rpc.safeParse({ chains: { 'devnet-b': { urls: [] } } });
    expect(parsed.success).toBe(false);
    expect(
      nodeConfigSchema.shape.rpc.safeParse({ chains: { 'devnet-b': { urls: ['ftp://x'] } } }).success,
    ).toBe(false);
    expect(nodeConfigSchema.shape.rpc.safeParse(own.rpc).success).toBe(true);
  });

  it('refuses a per-chain entry for a chain the node does not serve', () => {
    expect(() => checkRpcLimits(config)).not.toThrow();
    expect(() => checkRpcLimits({ ...config, chains: ['devnet-a'] })).toThrow(
      /rpc\.chains names "devnet-b", which is not one of the node's chains \(devnet-a\)/,
    );
  });

  it('the node config schema accepts the section and refuses bad values and unknown keys', () => {
    const base = {
      dataDir: 'data',
      listen: [],
      bootstrap: [],
      evmKeyFile: 'evm.key',
      p2pKeyFile: 'p2p.key',
      roles: ['attestor'],
      chains: ['devnet-a'],
      networksFile: 'm.json',
      apiPort: 0,
    };
    expect(nodeConfigSchema.safeParse({ ...base, rpc: { timeoutMs: 3000, attempts: 2 } }).success).toBe(true);
    expect(nodeConfigSchema.safeParse(base).success).toBe(true);
    for (const rpc of [{ timeoutMs: 5 }, { attempts: 0 }, { attempts: 1.5 }, { timeout: 3000 }]) {
      expect(nodeConfigSchema.safeParse({ ...base, rpc }).success, JSON.stringify(rpc)).toBe(false);
    }
  });
});
