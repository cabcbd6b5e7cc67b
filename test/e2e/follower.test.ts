// The block follower against a real anvil: new blocks, then a reorg made with anvil_snapshot /
// evm_revert and a different branch; the follower must report it and roll back to the fork point.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockFollower, type FollowerEvent, MemoryCursorStore } from '../../relayer/chain/follower.ts';
import { ChainRpc } from '../../relayer/chain/rpc.ts';
import type { Hex } from '../../relayer/config/types.ts';
import { type Anvil, startAnvil } from '../support/anvil.ts';

const CHAIN_ID = 71_002;
let anvil: Anvil;
let rpc: ChainRpc;

beforeAll(async () => {
  anvil = await startAnvil({ chainId: CHAIN_ID });
  rpc = new ChainRpc({ name: 'anvil', chainId: CHAIN_ID, rpcUrls: [anvil.rpcUrl] });
  await rpc.checkChainIds();
});

afterAll(async () => {
  rpc?.destroy();
  await anvil?.stop();
});

const mine = (n: number) => rpc.send('anvil_mine', [`0x${n.toString(16)}`]);

describe('BlockFollower on anvil', () => {
  it('follows, confirms, and rolls back a reorg to the fork point', async () => {
    await mine(3);
    const events: FollowerEvent[] = [];
    const cursors = new MemoryCursorStore();
    const follower = new BlockFollower(
      {
        chain: 'anvil',
        confirmations: 5,
        filter: { address: ['0x0000000000000000000000000000000000000001'] },
      },
      { rpc, cursors, onEvent: (e) => void events.push(e) },
    );
    await follower.tick();
    const start = follower.tip?.number as number;
    const snapshot = await rpc.send<string>('anvil_snapshot', []);
    await mine(3);
    await follower.tick();
    expect(follower.tip?.number).toBe(start + 3);
    const oldHashes = events.filter((e) => e.type === 'block').map((e) => e.block.hash);

    // Back to the snapshot, then a longer branch whose first block differs (a transaction in it).
    expect(await rpc.send<boolean>('evm_revert', [snapshot])).toBe(true);
    await rpc.send('eth_sendTransaction', [
      {
        from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
        to: '0x0000000000000000000000000000000000000002',
        value: '0x1',
      },
    ]);
    await mine(4);
    await follower.tick(); // classifies the new head: reorg, roll back to `start`
    const reorg = events.find((e) => e.type === 'reorg');
    expect(reorg).toMatchObject({ type: 'reorg', fromBlock: start + 1 });
    expect(reorg?.type === 'reorg' && reorg.commonAncestor.number).toBe(start);
    await follower.tick(); // fills the new branch
    const tip = follower.tip;
    const head = await rpc.getBlock('latest');
    expect(tip?.hash).toBe(head?.hash);
    const after = events.slice(events.indexOf(reorg as FollowerEvent) + 1).filter((e) => e.type === 'block');
    expect(after.map((e) => e.block.number)).toEqual([start + 1, start + 2, start + 3, start + 4, start + 5]);
    expect(after.some((e) => oldHashes.includes(e.block.hash as Hex))).toBe(false);
    // start + 5 on top of start: the fork point is now confirmed, and stored as the cursor
    expect(events.filter((e) => e.type === 'confirmed').map((e) => e.block.number)).toEqual([start]);
    expect(await cursors.get('anvil')).toEqual({
      number: start,
      hash: reorg?.type === 'reorg' && reorg.commonAncestor.hash,
    });
  });
});
