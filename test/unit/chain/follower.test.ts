// The follower's reconcile logic against a scripted chain: next, duplicate, gap (bounded), reorg,
// confirmations, the cursor, and the deep-reorg refusal.

import { describe, expect, it } from 'vitest';
import {
  BlockFollower,
  DeepReorgError,
  type FollowerEvent,
  type FollowerRpc,
  MemoryCursorStore,
} from '../../../relayer/chain/follower.ts';
import type { BlockHeader, ChainLog, LogFilter } from '../../../relayer/chain/rpc.ts';
import type { Hex } from '../../../relayer/config/types.ts';

/** A chain whose canonical history the test rewrites at will. */
class FakeChain implements FollowerRpc {
  blocks: BlockHeader[] = [];
  private salt = 0;
  calls = 0;
  constructor(length: number) {
    this.blocks.push(this.make(0, `0x${'00'.repeat(32)}` as Hex));
    this.mine(length - 1);
  }
  private make(number: number, parentHash: Hex): BlockHeader {
    const hash =
      `0x${number.toString(16).padStart(8, '0')}${(this.salt++).toString(16).padStart(56, '0')}` as Hex;
    return { number, hash, parentHash, timestamp: 1000 + number };
  }
  mine(n: number): void {
    for (let i = 0; i < n; i++) {
      const tip = this.blocks.at(-1) as BlockHeader;
      this.blocks.push(this.make(tip.number + 1, tip.hash));
    }
  }
  /** Replaces every block from `from` on with `length` new ones. */
  reorg(from: number, length: number): void {
    this.blocks = this.blocks.slice(0, from);
    this.mine(length);
  }
  async getBlock(tag: number | 'latest'): Promise<BlockHeader | null> {
    this.calls++;
    return (tag === 'latest' ? this.blocks.at(-1) : this.blocks[tag]) ?? null;
  }
  async getLogs(filter: LogFilter): Promise<ChainLog[]> {
    // One log per block, so the test can see which blocks' logs were delivered.
    const inRange = this.blocks.filter((b) =>
      filter.blockHash !== undefined
        ? b.hash === filter.blockHash
        : b.number >= (filter.fromBlock ?? 0) && b.number <= (filter.toBlock ?? Number.MAX_SAFE_INTEGER),
    );
    return inRange.map((b) => ({
      address: '0x0000000000000000000000000000000000000001',
      topics: [],
      data: '0x',
      blockNumber: b.number,
      blockHash: b.hash,
      transactionHash: b.hash,
      transactionIndex: 0,
      logIndex: 0,
    }));
  }
}

function setup(
  chain: FakeChain,
  opts: {
    confirmations?: number;
    maxBackfill?: number;
    startBlock?: number;
    pollIntervalMs?: number;
    headPollMs?: number;
  } = {},
) {
  const events: FollowerEvent[] = [];
  const cursors = new MemoryCursorStore();
  const follower = new BlockFollower(
    {
      chain: 'fake',
      confirmations: opts.confirmations ?? 2,
      filter: { address: ['0x0000000000000000000000000000000000000001'] },
      maxBackfill: opts.maxBackfill ?? 50,
      ...(opts.startBlock === undefined ? {} : { startBlock: opts.startBlock }),
      ...(opts.pollIntervalMs === undefined ? {} : { pollIntervalMs: opts.pollIntervalMs }),
      ...(opts.headPollMs === undefined ? {} : { headPollMs: opts.headPollMs }),
    },
    { rpc: chain, cursors, onEvent: (e) => void events.push(e) },
  );
  const summary = () =>
    events.map((e) =>
      e.type === 'reorg' ? `reorg@${e.fromBlock}` : `${e.type === 'block' ? 'b' : 'c'}${e.block.number}`,
    );
  return { follower, events, cursors, summary };
}

describe('BlockFollower', () => {
  it('follows next blocks and confirms them `confirmations` deep', async () => {
    const chain = new FakeChain(5); // 0..4
    const { follower, summary, cursors } = setup(chain);
    await follower.tick(); // starts at head 4: base 3, head 4 is next
    chain.mine(1);
    await follower.tick();
    chain.mine(1);
    await follower.tick();
    expect(summary()).toEqual(['b4', 'b5', 'b6', 'c4']);
    expect(await cursors.get('fake')).toEqual({ number: 4, hash: chain.blocks[4]?.hash });
  });

  it('ignores a duplicate head', async () => {
    const chain = new FakeChain(5);
    const { follower, summary } = setup(chain);
    await follower.tick();
    await follower.tick();
    await follower.tick();
    expect(summary()).toEqual(['b4']);
  });

  it('fills a gap, at most maxBackfill blocks per tick', async () => {
    const chain = new FakeChain(5);
    const { follower, summary } = setup(chain, { confirmations: 100, maxBackfill: 3 });
    await follower.tick();
    chain.mine(7); // head 11, tip 4
    await follower.tick();
    expect(summary()).toEqual(['b4', 'b5', 'b6', 'b7']);
    await follower.tick();
    await follower.tick();
    expect(summary()).toEqual(['b4', 'b5', 'b6', 'b7', 'b8', 'b9', 'b10', 'b11']);
  });

  it('rolls back to the fork point on a reorg and follows the new branch', async () => {
    const chain = new FakeChain(5);
    const { follower, summary, events } = setup(chain, { confirmations: 5 });
    await follower.tick();
    chain.mine(3); // 5,6,7
    await follower.tick();
    const old6 = chain.blocks[6]?.hash;
    chain.reorg(6, 3); // new 6,7,8: same height + 1
    await follower.tick(); // head 8's parent is unknown -> reorg, fork at 5
    expect(summary().at(-1)).toBe('reorg@6');
    expect(follower.tip?.number).toBe(5);
    await follower.tick(); // gap from 5 -> new 6,7,8
    expect(summary()).toEqual(['b4', 'b5', 'b6', 'b7', 'reorg@6', 'b6', 'b7', 'b8']);
    const new6 = events.filter((e) => e.type === 'block' && e.block.number === 6).at(-1);
    expect(new6?.type === 'block' && new6.block.hash).not.toBe(old6);
    expect(new6?.type === 'block' && new6.logs[0]?.blockHash).toBe(chain.blocks[6]?.hash);
  });

  it('detects a same-height reorg of the tip', async () => {
    const chain = new FakeChain(5);
    const { follower, summary } = setup(chain, { confirmations: 5 });
    await follower.tick();
    chain.mine(1);
    await follower.tick();
    chain.reorg(5, 1); // a different block 5
    await follower.tick();
    await follower.tick();
    expect(summary()).toEqual(['b4', 'b5', 'reorg@5', 'b5']);
  });

  it('refuses a reorg below the confirmed cursor', async () => {
    const chain = new FakeChain(5);
    const { follower } = setup(chain, { confirmations: 1 });
    await follower.tick();
    chain.mine(3);
    await follower.tick();
    chain.reorg(3, 6);
    await expect(follower.tick()).rejects.toBeInstanceOf(DeepReorgError);
  });

  it('backfills from a stored cursor with range log queries, confirming what is already deep', async () => {
    const chain = new FakeChain(20);
    const { follower, summary, cursors } = setup(chain, { confirmations: 3 });
    await cursors.set('fake', { number: 10, hash: chain.blocks[10]?.hash as Hex }, []);
    await follower.tick();
    // 11..16 are final at head 19 (3 on top); 17..19 come as unconfirmed blocks
    expect(summary()).toEqual([
      'b11',
      'c11',
      'b12',
      'c12',
      'b13',
      'c13',
      'b14',
      'c14',
      'b15',
      'c15',
      'b16',
      'c16',
      'b17',
      'b18',
      'b19',
    ]);
    expect((await cursors.get('fake'))?.number).toBe(16);
  });

  it('knows how far behind the chain it is, and reports a failing RPC until a tick succeeds', async () => {
    const chain = new FakeChain(5);
    const { follower } = setup(chain, { confirmations: 100, maxBackfill: 3, startBlock: 0 });
    await follower.tick();
    chain.mine(10);
    await follower.tick();
    // The status API's lag: the latest head polled minus the highest block held.
    expect(follower.latestHead).toBe(14);
    expect(follower.tip?.number).toBe(7);

    const getBlock = chain.getBlock.bind(chain);
    chain.getBlock = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    follower.options.pollIntervalMs = 5;
    follower.start();
    await expect.poll(() => String(follower.lastError)).toContain('ECONNREFUSED');
    chain.getBlock = getBlock;
    await expect.poll(() => follower.lastError).toBeUndefined();
    await follower.stop();
  });

  it('with a head poll, a new block is handled within headPollMs, not at the next full poll', async () => {
    const chain = new FakeChain(5);
    let probes = 0;
    const probing = Object.assign(chain, {
      async blockNumber(): Promise<number> {
        probes++;
        return (chain.blocks.at(-1) as BlockHeader).number;
      },
    });
    const { follower, summary } = setup(probing, { confirmations: 1, pollIntervalMs: 60_000, headPollMs: 5 });
    follower.start();
    await expect.poll(() => summary()).toEqual(['b4']);
    const fullPolls = chain.calls;
    await expect.poll(() => probes).toBeGreaterThan(3);
    // An unmoved head costs one eth_blockNumber a probe, no block read.
    expect(chain.calls).toBe(fullPolls);
    chain.mine(1);
    // The full poll is a minute away: only the head poll can bring block 5 in this soon.
    await expect.poll(() => summary(), { timeout: 1000 }).toEqual(['b4', 'b5', 'c4']);
    await follower.stop();
    const after = probes;
    await new Promise((r) => setTimeout(r, 30));
    expect(probes).toBe(after);
  });

  it('wake() during a tick ticks again right after it, once', async () => {
    const chain = new FakeChain(5);
    const { follower, summary } = setup(chain, { confirmations: 1, pollIntervalMs: 60_000 });
    const getBlock = chain.getBlock.bind(chain);
    let release: () => void = () => undefined;
    let gate: Promise<void> | undefined;
    let headReads = 0;
    chain.getBlock = async (tag) => {
      if (tag === 'latest') headReads++;
      if (gate !== undefined) await gate;
      return getBlock(tag);
    };
    follower.start();
    await expect.poll(() => summary()).toEqual(['b4']);
    gate = new Promise((r) => {
      release = r;
    });
    const before = headReads;
    follower.wake(); // a tick starts and waits at the gate
    chain.mine(1);
    follower.wake(); // these two arrive during that tick
    follower.wake();
    gate = undefined;
    release();
    await expect.poll(() => summary()).toEqual(['b4', 'b5', 'c4']);
    await new Promise((r) => setTimeout(r, 50));
    // The gated tick and ONE tick after it (the wake-ups during a tick collapse), then quiet
    // until the full poll a minute away.
    expect(headReads - before).toBe(2);
    await follower.stop();
  });
});
