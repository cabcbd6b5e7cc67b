// The authorisation index over a real level store and a fake chain that serves Rebalancer logs:
// Authorised then Revoked, a later re-authorisation, confirmations respected, and a restart that
// resumes from the stored cursor without re-reading (or losing) anything.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChainLog, LogFilter } from '../../../relayer/chain/rpc.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { REBALANCER } from '../../../relayer/rebalance/abi.ts';
import { type AuthChain, createAuthIndex } from '../../../relayer/rebalance/authorisations.ts';
import { openStore } from '../../../relayer/store/index.ts';

const EID = 40_102;
const RB = '0x00000000000000000000000000000000000000b1' as Address;
const ALICE = '0x00000000000000000000000000000000000000A1' as Address;
const WAD = 10n ** 18n;

function fakeChain() {
  const logs: ChainLog[] = [];
  let head = 0;
  const queries: LogFilter[] = [];
  const emit = (block: number, name: 'Authorised' | 'Revoked', args: unknown[]) => {
    const ev = REBALANCER.getEvent(name);
    if (ev === null) throw new Error(name);
    const { data, topics } = REBALANCER.encodeEventLog(ev, args);
    logs.push({
      address: RB,
      topics: topics as Hex[],
      data: data as Hex,
      blockNumber: block,
      blockHash: `0x${'00'.repeat(32)}`,
      transactionHash: `0x${'00'.repeat(32)}`,
      transactionIndex: 0,
      logIndex: logs.length,
    });
    head = Math.max(head, block);
  };
  const rpc: AuthChain['rpc'] = {
    blockNumber: async () => head,
    getLogs: async (f) => {
      queries.push(f);
      return logs.filter(
        (l) =>
          l.blockNumber >= (f.fromBlock ?? 0) && l.blockNumber <= (f.toBlock ?? Number.POSITIVE_INFINITY),
      );
    },
  };
  return { rpc, emit, queries, setHead: (h: number) => (head = h) };
}

const limits = (expiry: number, engines = [40_103]) => [engines, 1_000n * WAD, 2n * WAD, expiry];

describe('rebalancer authorisation index', () => {
  it('follows Authorised / Revoked, waits for confirmations and resumes from its cursor', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-rb-auth-'));
    try {
      const chain = fakeChain();
      chain.emit(3, 'Authorised', [ALICE, 0n, limits(1_000)]);
      chain.emit(4, 'Authorised', [ALICE, 1n, limits(2_000)]);
      chain.emit(5, 'Revoked', [ALICE, 0n]);
      chain.setHead(5);
      const cfg: AuthChain = { eid: EID, rebalancer: RB, rpc: chain.rpc, confirmations: 1 };

      let store = await openStore(dir);
      let index = createAuthIndex(store, [cfg]);
      await index.load();
      await index.sync();
      // Block 5 (the revoke) is not confirmed yet: sub 0 is still authorised.
      expect(index.limits(EID, ALICE, 0n)?.expiry).toBe(1_000);
      expect(index.limits(EID, ALICE, 1n)).toEqual({
        engines: [40_103],
        maxPerMoveUsd: 1_000n * WAD,
        minSourceHealth: 2n * WAD,
        expiry: 2_000,
      });
      // Addresses are matched case-insensitively; other chains know nothing.
      expect(index.limits(EID, ALICE.toLowerCase() as Address, 1n)).toBeDefined();
      expect(index.limits(EID + 1, ALICE, 1n)).toBeUndefined();

      chain.setHead(6);
      await index.sync();
      expect(index.limits(EID, ALICE, 0n)).toBeUndefined();
      expect(index.size()).toBe(1);
      await store.close();

      // Restart: the stored state is back without reading old blocks again.
      chain.emit(7, 'Authorised', [ALICE, 0n, limits(3_000)]);
      chain.setHead(8);
      chain.queries.length = 0;
      store = await openStore(dir);
      index = createAuthIndex(store, [cfg]);
      await index.load();
      expect(index.limits(EID, ALICE, 1n)?.expiry).toBe(2_000);
      expect(index.limits(EID, ALICE, 0n)).toBeUndefined();
      await index.sync();
      expect(chain.queries.every((q) => (q.fromBlock ?? 0) >= 6)).toBe(true);
      expect(index.limits(EID, ALICE, 0n)?.expiry).toBe(3_000);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
