// The attestor's queue of packets owed a signature: a transient failure (an RPC timing out after
// its retries) keeps the packet queued and retries it with backoff until it signs; a refusal (the
// RPCs disagree) drops it for good; a packet waiting for the receive config's confirmations survives
// a restart; and nothing is signed before the follower committed the block's cursor with it.

import { Wallet } from 'ethers';
import { afterEach, describe, expect, it } from 'vitest';
import { Attestor } from '../../../attestor/attestor.ts';
import { packetObservation } from '../../../attestor/service.ts';
import type { FollowerEvent } from '../../../relayer/chain/follower.ts';
import { RPC_ERROR, RpcDisagreement, RpcError } from '../../../relayer/chain/rpc.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { memoryNodeStores, type NodeStores } from '../../../relayer/node/stores.ts';
import type { GossipNetwork } from '../../../relayer/p2p/types.ts';
import { fakeDestination, fakeSource } from '../../support/fake-lz.ts';
import { DST_EID, packetGuid, SRC_EID, sendLogs } from '../../support/packet-logs.ts';

const wallets = [1, 2, 3].map((i) => new Wallet(`0x${(i + 20).toString(16).padStart(64, '0')}`));
const signers = wallets.map((w) => w.address as Address);
const gossip: GossipNetwork = {
  publish: async () => undefined,
  subscribe: () => undefined,
  signer: signers[0] as Address,
  peerId: 'p',
  stop: async () => undefined,
};
const hashOf = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
const block = (number: number) => ({
  number,
  hash: hashOf(number),
  parentHash: hashOf(number - 1),
  timestamp: 1_000 + number,
});
const GUID = packetGuid(1n);
const LOGS = sendLogs(1n, block(5));

let running: Attestor[] = [];
afterEach(() => {
  for (const a of running) a.stop();
  running = [];
});

function node(stores: NodeStores, confirmations: bigint, clock: { now: number }) {
  const source = fakeSource();
  const attestor = new Attestor(
    // No tick loop in these tests: blocks drive the signing.
    { dvn: { signers, quorum: 2 }, tickMs: 3_600_000, retryMs: 2_000, maxRetryMs: 8_000 },
    {
      wallet: wallets[0] as Wallet,
      gossip,
      chains: new Map([
        [SRC_EID, source.chain],
        [DST_EID, fakeDestination(confirmations)],
      ]),
      liveSigners: () => signers,
      signatures: stores.signatures,
      records: stores.records,
      queue: stores.queue,
      now: () => clock.now,
    },
  );
  running.push(attestor);
  const observation = packetObservation({ attestor, executor: undefined }, stores.cursors);
  /** What the follower does with a confirmed block: handler, then the cursor with its writes. */
  const confirm = async (n: number, logs = LOGS) => {
    const event: FollowerEvent = { type: 'confirmed', chain: 'a', block: block(n), logs };
    const writes = await observation.onEvent(event);
    await observation.cursors.set('a', { number: n, hash: hashOf(n) }, writes);
  };
  const newBlock = (n: number) =>
    observation.onEvent({ type: 'block', chain: 'a', block: block(n), logs: [] });
  return { attestor, source, observation, confirm, newBlock };
}

const ownSignature = async (stores: NodeStores) =>
  (await stores.records.open()).find((r) => r.guid === GUID)?.ownSignature;

describe('Attestor sign queue', () => {
  it('keeps a packet queued through transient RPC failures and signs it once the RPC answers', async () => {
    const stores = memoryNodeStores();
    const clock = { now: 10_000 };
    const { attestor, source, confirm, newBlock } = node(stores, 1n, clock);
    await attestor.start();
    const timeout = () => {
      throw new RpcError(RPC_ERROR.timeout, 'a', 'a (http://127.0.0.1:1): request timeout');
    };
    source.answers = [timeout, timeout, () => LOGS];
    await confirm(5);
    await newBlock(6); // deep enough: first attempt, times out
    expect(source.calls).toBe(1);
    expect(attestor.refusals().total).toBe(0);
    expect((await stores.queue.list()).map((q) => [q.job.packet.guid, q.attempts, q.nextAttemptAt])).toEqual([
      [GUID, 1, 12_000],
    ]);
    await newBlock(7); // backing off: not asked again
    expect(source.calls).toBe(1);
    clock.now = 12_000;
    await newBlock(8); // second attempt fails too: the delay doubles
    expect((await stores.queue.list()).map((q) => [q.attempts, q.nextAttemptAt])).toEqual([[2, 16_000]]);
    expect(await ownSignature(stores)).toBeUndefined();
    clock.now = 16_000;
    await newBlock(9);
    expect(source.calls).toBe(3);
    expect(await ownSignature(stores)).toMatch(/^0x[0-9a-f]{130}$/);
    expect(await stores.queue.list()).toEqual([]);
    expect(attestor.refusals().total).toBe(0);
  });

  it('drops a packet the RPCs disagree about, as a refusal, and never asks again', async () => {
    const stores = memoryNodeStores();
    const clock = { now: 10_000 };
    const { attestor, source, confirm, newBlock } = node(stores, 1n, clock);
    await attestor.start();
    source.answers = [
      () => {
        throw new RpcDisagreement('a', 'logs', [
          { url: 'http://honest', answer: '[...]' },
          { url: 'http://liar', answer: '[]' },
        ]);
      },
    ];
    await confirm(5);
    await newBlock(6);
    clock.now = 1_000_000;
    await newBlock(7);
    expect(source.calls).toBe(1);
    expect(attestor.refusals().byReason.rpc_disagreement).toBe(1);
    expect(await stores.queue.list()).toEqual([]);
    expect(await ownSignature(stores)).toBeUndefined();
  });

  it('gives a transient failure up once the signature would have expired, as an rpc_error refusal', async () => {
    const stores = memoryNodeStores();
    // Block 5's timestamp is 1005 s; the DVN signature expires 3 days after it.
    const clock = { now: (1_005 + 3 * 24 * 3600) * 1000 };
    const { attestor, source, confirm, newBlock } = node(stores, 1n, clock);
    await attestor.start();
    source.answers = [
      () => {
        throw new RpcError(RPC_ERROR.network, 'a', 'a (http://127.0.0.1:1): fetch failed');
      },
    ];
    await confirm(5);
    await newBlock(6);
    expect(attestor.refusals().byReason.rpc_error).toBe(1);
    expect(await stores.queue.list()).toEqual([]);
  });

  it('a packet waiting for confirmations survives a restart and is signed after it', async () => {
    const stores = memoryNodeStores();
    const clock = { now: 10_000 };
    const first = node(stores, 3n, clock);
    await first.attestor.start();
    first.source.answers = [() => LOGS];
    await first.confirm(5);
    await first.newBlock(6); // the receive config wants 3 blocks on top of 5
    expect(first.source.calls).toBe(0);
    first.attestor.stop();

    // The restarted node's follower resumes after block 5: the packet's block is never replayed.
    const second = node(stores, 3n, clock);
    second.source.answers = [() => LOGS];
    await second.attestor.start();
    await second.newBlock(8);
    expect(second.source.calls).toBe(1);
    expect(await ownSignature(stores)).toMatch(/^0x/);
    expect(await stores.queue.list()).toEqual([]);
  });

  it('signs nothing of a confirmed block before its cursor is committed', async () => {
    const stores = memoryNodeStores();
    const clock = { now: 10_000 };
    const { attestor, source, observation, newBlock } = node(stores, 1n, clock);
    await attestor.start();
    source.answers = [() => LOGS];
    const writes = await observation.onEvent({ type: 'confirmed', chain: 'a', block: block(5), logs: LOGS });
    await newBlock(9);
    expect(source.calls).toBe(0);
    expect(await stores.queue.list()).toEqual([]); // handed back, not written
    await observation.cursors.set('a', { number: 5, hash: hashOf(5) }, writes);
    expect(source.calls).toBe(1);
    expect(await ownSignature(stores)).toMatch(/^0x/);
  });
});
