// The canary's pure parts: which pathways a wire run touched, which tokens it may use, and the lines
// it prints. The round trip itself runs in test/e2e/canary.test.ts.

import { describe, expect, it } from 'vitest';
import type { Address, ChainConfig } from '../../relayer/config/types.ts';
import {
  CANARY_SUBACCOUNT,
  canaryPathways,
  erc20Candidates,
  formatCanary,
  notDeliveredMessage,
} from '../../relayer/deploy/canary.ts';
import type { WirePlanItem } from '../../relayer/deploy/wire.ts';
import { NATIVE } from '../../relayer/deploy/xmargin.ts';

const A1 = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address;

function chain(name: string, eid: number, engine: boolean): ChainConfig {
  return {
    name,
    chainId: eid,
    eid,
    rpcUrls: ['http://127.0.0.1:8545'],
    confirmations: 1,
    isPublic: false,
    layerZero: {
      endpointV2: A1,
      sendUln302: A1,
      receiveUln302: A1,
      dvn: A1,
      executor: A1,
      priceFeed: A1,
      dvnFeeLib: A1,
      executorFeeLib: A1,
    },
    xmargin: engine ? { vault: A1, engine: A1, market: A1 } : { vault: A1 },
    tokens: [
      { symbol: 'ETH', address: NATIVE, decimals: 18 },
      { symbol: 'WETH', address: A1, decimals: 18 },
    ],
  };
}

const item = (chain: string, remotes: string[]): WirePlanItem => ({
  chain,
  contract: 'vault',
  call: 'setPeer(…)',
  reason: 'test',
  remotes,
  to: A1,
  data: '0x',
});

const names = (ps: { vault: ChainConfig; engine: ChainConfig }[]): string[] =>
  ps.map((p) => `${p.vault.name}->${p.engine.name}`);

describe('canary', () => {
  const a = chain('a', 40101, false);
  const b = chain('b', 40102, true);
  const c = chain('c', 40103, true);

  it('runs on every vault -> remote engine pathway without a plan', () => {
    expect(names(canaryPathways([a, b, c]))).toEqual(['a->b', 'a->c', 'b->c', 'c->b']);
  });

  it('runs only on the pathways a wire plan touched, from either end', () => {
    // Adding chain c: b's engine gets c's vault as a peer, c's vault gets b's engine.
    expect(names(canaryPathways([a, b, c], [item('b', ['c']), item('c', ['b'])]))).toEqual(['b->c', 'c->b']);
    // Only the vault side of a -> b changed.
    expect(names(canaryPathways([a, b, c], [item('a', ['b'])]))).toEqual(['a->b']);
    // The engine side of a -> c changed (its receive config from a).
    expect(names(canaryPathways([a, b, c], [item('c', ['a'])]))).toEqual(['a->c']);
    // A local vault <-> engine link is no cross-chain pathway; an empty plan touches nothing.
    expect(canaryPathways([a, b, c], [item('b', [])])).toEqual([]);
    expect(canaryPathways([a, b, c], [])).toEqual([]);
  });

  it('uses ERC-20s in config order, never the native token', () => {
    expect(erc20Candidates(a).map((t) => t.symbol)).toEqual(['WETH']);
  });

  it('keeps its credit in the last uint96 sub-account', () => {
    expect(CANARY_SUBACCOUNT).toBe(2n ** 96n - 1n);
  });

  it('prints one line per pathway and one clear line on a timeout', () => {
    expect(
      formatCanary({ from: 'a', to: 'b', token: 'WETH', amount: 1n, lockMs: 4_860, releaseMs: 5_040 }),
    ).toBe('canary a -> b: LOCK 4.9 s, RELEASE 5.0 s (1 base unit(s) of WETH)');
    expect(notDeliveredMessage('a', 'b', 'LOCK', 120_000)).toBe(
      'canary a -> b: LOCK not delivered within 120 s — are relayer nodes running and serving both chains?',
    );
  });
});
