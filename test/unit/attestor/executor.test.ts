// The executor's delivery loop against a fake destination: a simulated revert is journaled as
// {guid, reason} and retried after a growing backoff; a delivered nonce is closed without a send.

import { Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../../attestor/executor.ts';
import type { LzChain } from '../../../attestor/lz.ts';
import { rendezvousOrder } from '../../../attestor/rendezvous.ts';
import { type DeliveryRecord, MemoryPacketJournal } from '../../../attestor/stores.ts';
import type { Hex } from '../../../relayer/config/types.ts';

const wallet = new Wallet(`0x${'01'.padStart(64, '0')}`);
const GUID = `0x${'77'.repeat(32)}` as Hex;

function record(): DeliveryRecord {
  return {
    guid: GUID,
    srcEid: 40101,
    dstEid: 40102,
    sender: `0x${'00'.repeat(12)}${'11'.repeat(20)}`,
    nonce: 1n,
    receiver: '0x2222222222222222222222222222222222222222',
    message: '0x01',
    payloadHash: `0x${'33'.repeat(32)}`,
    gas: 100_000n,
    value: 0n,
    state: 'waiting',
    attempts: 0,
    nextAttemptAt: 0,
    failures: [],
  };
}

function fakeDestination() {
  const state = { reverts: 1, delivered: 0n, sends: [] as { gasLimit: unknown }[] };
  const dst = {
    config: {
      name: 'b',
      eid: 40102,
      layerZero: { endpointV2: '0x00000000000000000000000000000000000000e2' },
    },
    committed: async () => true,
    lazyInboundNonce: async () => state.delivered,
    // The endpoint clears a delivered nonce's payload hash; the fake never holds one past delivery.
    holdsPayload: async () => false,
    lzReceiveData: () => '0xabcd',
    hasPacketDelivered: () => true,
    rpc: {
      call: async () => {
        if (state.reverts-- > 0) throw new Error('execution reverted: LZ_PayloadHashNotFound');
        return '0x';
      },
      sendTransaction: async (_w: unknown, tx: { gasLimit: unknown }) => {
        state.sends.push(tx);
        state.delivered = 1n;
        return { hash: '0xfeed', logs: [] };
      },
    },
  };
  return { dst: dst as unknown as LzChain, state };
}

describe('Executor', () => {
  it('journals a revert, backs off, then delivers with gas = option gas + endpoint overhead', async () => {
    let now = 1_000;
    const journal = new MemoryPacketJournal();
    await journal.put(record());
    const { dst, state } = fakeDestination();
    const executor = new Executor(
      { backoffMs: 500, pollMs: 0, endpointOverheadGas: 50_000n },
      { wallet, chains: new Map([[40102, dst]]), liveExecutors: () => [], journal, now: () => now },
    );
    await executor.tick();
    const failed = await journal.get(GUID);
    expect(failed?.attempts).toBe(1);
    expect(failed?.failures[0]?.reason).toMatch(/LZ_PayloadHashNotFound/);
    expect(failed?.nextAttemptAt).toBe(1_500);
    now = 1_400;
    await executor.tick(); // still backing off
    expect(state.sends).toHaveLength(0);
    now = 1_600;
    await executor.tick();
    expect(state.sends).toEqual([expect.objectContaining({ gasLimit: 150_000n })]);
    expect((await journal.get(GUID))?.state).toBe('delivered');
    expect(await journal.open()).toEqual([]);
  });

  it('closes a packet someone else delivered without sending', async () => {
    const journal = new MemoryPacketJournal();
    await journal.put(record());
    const { dst, state } = fakeDestination();
    state.delivered = 1n;
    const executor = new Executor(
      { pollMs: 0 },
      { wallet, chains: new Map([[40102, dst]]), liveExecutors: () => [], journal },
    );
    await executor.tick();
    expect(state.sends).toHaveLength(0);
    expect((await journal.get(GUID))?.state).toBe('delivered');
  });

  it('closes a packet another executor delivered before its own turn comes', async () => {
    let now = 10_000;
    const journal = new MemoryPacketJournal();
    await journal.put(record());
    const { dst, state } = fakeDestination();
    // Another live executor ranks first for the packet: this one would act 15 s after verification.
    const other = new Wallet(`0x${'02'.padStart(64, '0')}`);
    const executors = [wallet.address, other.address] as `0x${string}`[];
    const first = rendezvousOrder(GUID, executors)[0];
    const me = first === wallet.address.toLowerCase() ? other : wallet;
    const executor = new Executor(
      { pollMs: 1_000 },
      {
        wallet: me,
        chains: new Map([[40102, dst]]),
        liveExecutors: () => executors,
        journal,
        now: () => now,
      },
    );
    await executor.tick(); // verified (committed), not delivered: waits for its turn
    expect(await journal.open()).toHaveLength(1);
    state.delivered = 1n;
    now = 10_500;
    await executor.tick(); // within pollMs of the last look: not asked again
    expect(await journal.open()).toHaveLength(1);
    now = 11_500;
    await executor.tick();
    expect(state.sends).toHaveLength(0);
    expect(await journal.open()).toEqual([]);
  });
});
