// One atomic write per block range: what the attestor (packet queued for signing) and the executor
// (delivery owed) observe in a confirmed block goes into the node's store in the same batch as the
// follower's cursor. A crash at that write leaves neither; the restarted node replays the block and
// writes both, once.

import { Wallet } from 'ethers';
import { afterEach, describe, expect, it } from 'vitest';
import { Attestor } from '../../../attestor/attestor.ts';
import { Executor } from '../../../attestor/executor.ts';
import { packetObservation } from '../../../attestor/service.ts';
import { BlockFollower, type FollowerRpc } from '../../../relayer/chain/follower.ts';
import type { BlockHeader, ChainLog, LogFilter } from '../../../relayer/chain/rpc.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { createNodeStores } from '../../../relayer/node/stores.ts';
import type { GossipNetwork } from '../../../relayer/p2p/types.ts';
import { type BatchOp, BUCKETS, memoryStore, type Store } from '../../../relayer/store/index.ts';
import { fakeDestination, fakeSource } from '../../support/fake-lz.ts';
import { DST_EID, LZ_A, packetGuid, SRC_EID, sendLogs } from '../../support/packet-logs.ts';

const wallet = new Wallet(`0x${'21'.padStart(64, '0')}`);
const gossip: GossipNetwork = {
  publish: async () => undefined,
  subscribe: () => undefined,
  signer: wallet.address as Address,
  peerId: 'p',
  stop: async () => undefined,
};
const GUID = packetGuid(1n);
const PACKET_BLOCK = 3;

/** Chain `a`: blocks 0..length-1; block 3 holds one send A -> B paying our DVN and Executor. */
class Chain implements FollowerRpc {
  readonly blocks: BlockHeader[] = [];
  constructor(length: number) {
    this.mine(length);
  }
  mine(n: number): void {
    for (let i = 0; i < n; i++) {
      const number = this.blocks.length;
      const hash = `0x${(number + 1).toString(16).padStart(64, '0')}` as Hex;
      const parentHash = this.blocks.at(-1)?.hash ?? (`0x${'00'.repeat(32)}` as Hex);
      this.blocks.push({ number, hash, parentHash, timestamp: 1_000 + number });
    }
  }
  async getBlock(tag: number | 'latest'): Promise<BlockHeader | null> {
    return (tag === 'latest' ? this.blocks.at(-1) : this.blocks[tag]) ?? null;
  }
  async getLogs(filter: LogFilter): Promise<ChainLog[]> {
    const packet = this.blocks[PACKET_BLOCK];
    if (packet === undefined) return [];
    const inRange =
      filter.blockHash !== undefined
        ? filter.blockHash === packet.hash
        : (filter.fromBlock ?? 0) <= PACKET_BLOCK &&
          PACKET_BLOCK <= (filter.toBlock ?? Number.MAX_SAFE_INTEGER);
    return inRange ? sendLogs(1n, packet) : [];
  }
}

/** A memory store that records every batch and can fail one (the process dies at that write). */
function crashableStore(): Store & { batches: BatchOp[][]; crashAt?: (ops: readonly BatchOp[]) => boolean } {
  const inner = memoryStore();
  const store: Store & { batches: BatchOp[][]; crashAt?: (ops: readonly BatchOp[]) => boolean } = {
    ...inner,
    batches: [],
    async batch(ops: readonly BatchOp[]) {
      if (store.crashAt?.(ops) === true) {
        delete store.crashAt;
        throw new Error('crash');
      }
      store.batches.push([...ops]);
      await inner.batch(ops);
    },
  };
  return store;
}

let attestors: Attestor[] = [];
afterEach(() => {
  for (const a of attestors) a.stop();
  attestors = [];
});

/** One node's attestor + executor + follower of chain `a` over `store` (a fresh process each call). */
async function boot(store: Store, chain: Chain) {
  const stores = createNodeStores(store);
  const source = fakeSource();
  source.answers = [() => []]; // signing is not what this test looks at: refused quietly
  // Receive config asks for more blocks than the test mines: the packet stays queued.
  const chains = new Map([
    [SRC_EID, source.chain],
    [DST_EID, fakeDestination(100n)],
  ]);
  const attestor = new Attestor(
    { dvn: { signers: [wallet.address as Address], quorum: 1 }, tickMs: 3_600_000 },
    {
      wallet,
      gossip,
      chains,
      liveSigners: () => [],
      signatures: stores.signatures,
      records: stores.records,
      queue: stores.queue,
    },
  );
  attestors.push(attestor);
  const executor = new Executor({}, { wallet, chains, liveExecutors: () => [], journal: stores.journal });
  await attestor.start();
  const observation = packetObservation({ attestor, executor }, stores.cursors);
  const follower = new BlockFollower(
    {
      chain: 'a',
      confirmations: 1,
      filter: { address: [LZ_A.endpointV2, LZ_A.sendUln302] },
      startBlock: 0,
      logRange: 2,
    },
    { rpc: chain, cursors: observation.cursors, onEvent: observation.onEvent },
  );
  return { stores, follower };
}

const bucketsOf = (ops: BatchOp[]) => new Set(ops.map((op) => op.key[0]));

describe('packet observation: records and cursor in one batch', () => {
  it('a crash at the write of a block leaves neither its records nor its cursor; the replay writes both once', async () => {
    const store = crashableStore();
    const chain = new Chain(3); // 0..2: nothing to observe yet
    const first = await boot(store, chain);
    await first.follower.tick();
    expect((await first.stores.cursors.get('a'))?.number).toBe(1);

    chain.mine(2); // block 3 (the packet) is confirmed by block 4
    // Dies at the write of block 3's cursor: whatever was written before it stays, nothing after.
    store.crashAt = (ops) =>
      ops.some(
        (op) => op.key[0] === BUCKETS.followerCursors && op.type === 'put' && /"number":3\b/.test(op.value),
      );
    await expect(first.follower.tick()).rejects.toThrow('crash');
    // Block 2 committed before; block 3's batch never happened: no delivery, no queued packet.
    expect((await first.stores.cursors.get('a'))?.number).toBe(2);
    expect(await first.stores.journal.get(GUID)).toBeUndefined();
    expect(await first.stores.queue.list()).toEqual([]);

    // Restart: the follower resumes after block 2, replays 3 and commits it with its records.
    const second = await boot(store, chain);
    await second.follower.tick();
    expect((await second.stores.cursors.get('a'))?.number).toBe(3);
    expect((await second.stores.journal.get(GUID))?.state).toBe('waiting');
    expect((await second.stores.queue.list()).map((q) => q.job.packet.guid)).toEqual([GUID]);
    const withDelivery = store.batches.filter((ops) => bucketsOf(ops).has(BUCKETS.deliveries));
    expect(withDelivery).toHaveLength(1);
    expect(bucketsOf(withDelivery[0] as BatchOp[])).toEqual(
      new Set([BUCKETS.deliveries, BUCKETS.signQueue, BUCKETS.followerCursors]),
    );

    // A third start from cursor 3 observes nothing again.
    const before = store.batches.length;
    const third = await boot(store, chain);
    chain.mine(1);
    await third.follower.tick();
    expect(store.batches.slice(before).filter((ops) => bucketsOf(ops).has(BUCKETS.deliveries))).toEqual([]);
    expect(await third.stores.journal.open()).toHaveLength(1);
  });

  it('while backfilling, one batch per log range: its records with the range cursor', async () => {
    const store = crashableStore();
    const chain = new Chain(8); // head 7: 0..6 are final; ranges of 2 blocks: [0,1] [2,3] [4,5] [6]
    const { stores, follower } = await boot(store, chain);
    await follower.tick();
    expect((await stores.cursors.get('a'))?.number).toBe(6);
    const cursorBatches = store.batches.filter((ops) => bucketsOf(ops).has(BUCKETS.followerCursors));
    expect(cursorBatches.map((ops) => ops.length)).toEqual([1, 3, 1, 1]);
    expect(bucketsOf(cursorBatches[1] as BatchOp[])).toEqual(
      new Set([BUCKETS.deliveries, BUCKETS.signQueue, BUCKETS.followerCursors]),
    );
  });
});
