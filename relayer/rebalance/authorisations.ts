// The index of who authorised automated moves: the Rebalancer's Authorised / Revoked events of every
// engine chain this node serves, read from a stored cursor up to the confirmed head. Each batch of
// events is written with its cursor in one level batch (bucket 40 `rebalanceAuth`), so a restart
// resumes where it stopped and never applies an event twice. Reads are from memory.

import { getAddress } from 'ethers';
import type { Address } from '../config/types.ts';
import type { LiqRpc } from '../liquidation/rpc.ts';
import { jsonValue, utf8Key } from '../store/codecs.ts';
import type { BatchOp, Store } from '../store/controller.ts';
import { Repository } from '../store/repository.ts';
import { REBALANCER, TOPICS_RB } from './abi.ts';
import type { Limits, LogFn } from './types.ts';

export interface AuthChain {
  eid: number;
  rebalancer: Address;
  rpc: Pick<LiqRpc, 'blockNumber' | 'getLogs'>;
  /** Blocks an event must be buried under before it counts (0 on an automine devnet). */
  confirmations: number;
  /** First block to read when there is no cursor yet. */
  startBlock?: number;
}

export interface AuthIndex {
  /** Loads what the store holds (call once before the first sync). */
  load(): Promise<void>;
  /** Reads every chain's new events up to its confirmed head. */
  sync(): Promise<void>;
  /** The limits in force for a sub-account on a source engine chain (none once revoked). */
  limits(eid: number, account: Address, subaccount: bigint): Limits | undefined;
  /** Authorisations held, for the status. */
  size(): number;
}

interface Stored {
  limits: Limits;
  block: number;
}

/** Largest block range of one eth_getLogs. */
const MAX_RANGE = 5_000;
const authKey = (eid: number, account: Address, sub: bigint) => `auth:${eid}:${account.toLowerCase()}:${sub}`;

export function createAuthIndex(store: Store, chains: AuthChain[], log: LogFn = () => {}): AuthIndex {
  // One bucket, two kinds of keys: `auth:eid:account:sub` -> Stored, `cursor:eid` -> block number.
  const repo = new Repository(store, 'rebalanceAuth', utf8Key, jsonValue<Stored | number>());
  const held = new Map<string, Limits>();
  const cursor = new Map<number, number>();

  async function syncChain(c: AuthChain): Promise<void> {
    const head = (await c.rpc.blockNumber()) - c.confirmations;
    let from = (cursor.get(c.eid) ?? (c.startBlock ?? 0) - 1) + 1;
    while (from <= head) {
      const to = Math.min(head, from + MAX_RANGE - 1);
      const logs = await c.rpc.getLogs({
        address: c.rebalancer,
        topics: [[TOPICS_RB.Authorised, TOPICS_RB.Revoked]],
        fromBlock: from,
        toBlock: to,
      });
      logs.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
      const ops: BatchOp[] = [];
      const next = new Map<string, Limits | undefined>();
      for (const l of logs) {
        const ev = REBALANCER.parseLog({ topics: [...l.topics], data: l.data });
        if (ev === null) continue;
        const account = getAddress(ev.args.account as string) as Address;
        const key = authKey(c.eid, account, ev.args.subaccount as bigint);
        if (ev.name === 'Revoked') {
          next.set(key, undefined);
          ops.push(repo.delOp(key));
          continue;
        }
        const raw = ev.args.limits;
        const limits: Limits = {
          engines: (raw.engines as bigint[]).map(Number),
          maxPerMoveUsd: raw.maxPerMoveUsd as bigint,
          minSourceHealth: raw.minSourceHealth as bigint,
          expiry: Number(raw.expiry as bigint),
        };
        next.set(key, limits);
        ops.push(repo.putOp(key, { limits, block: l.blockNumber }));
      }
      ops.push(repo.putOp(`cursor:${c.eid}`, to));
      await store.batch(ops);
      for (const [key, limits] of next) {
        if (limits === undefined) held.delete(key);
        else held.set(key, limits);
      }
      if (next.size > 0) log('authorisations updated', { eid: c.eid, changed: next.size, block: to });
      cursor.set(c.eid, to);
      from = to + 1;
    }
  }

  return {
    async load() {
      for await (const [key, value] of repo.entries()) {
        if (typeof value === 'number') cursor.set(Number(key.slice('cursor:'.length)), value);
        else held.set(key, value.limits);
      }
    },
    async sync() {
      for (const c of chains) {
        try {
          await syncChain(c);
        } catch (err) {
          log('authorisation sync failed', { eid: c.eid, err: String(err) });
        }
      }
    },
    limits: (eid, account, sub) => held.get(authKey(eid, account, sub)),
    size: () => held.size,
  };
}
