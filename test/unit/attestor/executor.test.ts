// The executor's delivery loop against a fake destination: a simulated revert is journaled as
// {guid, reason} and retried after a growing backoff; a delivered nonce is closed without a send; a
// delivery that runs out of gas is retried with a doubled, journaled gas limit up to the ceiling.

import { Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ENDPOINT } from '../../../attestor/abi.ts';
import { Executor } from '../../../attestor/executor.ts';
import type { LzChain } from '../../../attestor/lz.ts';
import { rendezvousOrder } from '../../../attestor/rendezvous.ts';
import { deliveryGasLimit } from '../../../attestor/retry-gas.ts';
import type { DeliveryRecord } from '../../../attestor/stores.ts';
import type { Hex } from '../../../relayer/config/types.ts';
import { memoryNodeStores } from '../../../relayer/node/stores.ts';

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

describe('deliveryGasLimit', () => {
  it('passes the option gas whole to the receiver, through the 63/64 a call forwards', () => {
    for (const option of [1n, 80_000n, 350_000n, 950_000n, 5_000_000n]) {
      const limit = deliveryGasLimit(option, 70_000n);
      // At the call the endpoint holds at most limit - overhead; the receiver gets 63/64 of it.
      expect(((limit - 70_000n) * 63n) / 64n).toBeGreaterThanOrEqual(option - 1n);
      expect(limit - option - 70_000n).toBeLessThanOrEqual(option / 63n);
    }
  });
});

describe('Executor', () => {
  it('journals a revert, backs off, then delivers with gas = option gas, its 64th share, and the endpoint overhead', async () => {
    let now = 1_000;
    const journal = memoryNodeStores().journal;
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
    expect(state.sends).toEqual([expect.objectContaining({ gasLimit: 100_000n + 1_587n + 50_000n })]);
    expect((await journal.get(GUID))?.state).toBe('delivered');
    expect(await journal.open()).toEqual([]);
  });

  it('closes a packet someone else delivered without sending', async () => {
    const journal = memoryNodeStores().journal;
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

  it('retries an out-of-gas delivery with a doubled gas limit, journaled, up to the ceiling', async () => {
    let now = 1_000;
    const journal = memoryNodeStores().journal;
    await journal.put(record());
    const { dst, state } = fakeDestination();
    state.reverts = 0;
    const limits: bigint[] = [];
    let outOfGas = 3;
    (dst.rpc as unknown as { sendTransaction: unknown }).sendTransaction = async (
      _w: unknown,
      tx: { gasLimit: bigint },
    ) => {
      limits.push(tx.gasLimit);
      if (outOfGas-- > 0) {
        // What ethers throws for a mined revert, wrapped by ChainRpc: the receipt burnt the whole limit.
        const receipt = { status: 0, gasUsed: tx.gasLimit - 1_000n };
        throw new Error('transaction reverted', {
          cause: Object.assign(new Error('CALL_EXCEPTION'), { receipt }),
        });
      }
      state.delivered = 1n;
      return { hash: '0xfeed', logs: [] };
    };
    const executor = new Executor(
      { backoffMs: 100, pollMs: 0, endpointOverheadGas: 50_000n, maxGasLimit: 500_000n },
      { wallet, chains: new Map([[40102, dst]]), liveExecutors: () => [], journal, now: () => now },
    );
    for (let i = 0; i < 4; i++) {
      await executor.tick();
      now += 10_000;
    }
    expect(limits).toEqual([151_587n, 303_174n, 500_000n, 500_000n]);
    const r = await journal.get(GUID);
    expect(r?.state).toBe('delivered');
    expect(r?.gasLimit).toBe(500_000n);
    expect(r?.failures.map((f) => f.reason)).toEqual([
      'out of gas at gas limit 151587',
      'out of gas at gas limit 303174',
      expect.stringMatching(/transaction reverted/),
    ]);
    // Delivered: further ticks send nothing.
    await executor.tick();
    expect(limits).toHaveLength(4);
  });

  it('keeps the gas limit after a revert that did not burn it (not a gas problem)', async () => {
    const journal = memoryNodeStores().journal;
    await journal.put(record());
    const { dst, state } = fakeDestination();
    state.reverts = 0;
    (dst.rpc as unknown as { sendTransaction: unknown }).sendTransaction = async () => {
      throw Object.assign(new Error('reverted'), { receipt: { status: 0, gasUsed: 60_000n } });
    };
    const executor = new Executor(
      { pollMs: 0, endpointOverheadGas: 50_000n },
      { wallet, chains: new Map([[40102, dst]]), liveExecutors: () => [], journal },
    );
    await executor.tick();
    const r = await journal.get(GUID);
    expect(r?.attempts).toBe(1);
    expect(r?.gasLimit).toBeUndefined();
  });

  it("another packet's PacketVerified wakes a nonce-ordering retry at once, not an out-of-gas one", async () => {
    const now = 1_000;
    const { dst, state } = fakeDestination();
    state.reverts = 0;
    const endpoint = dst.config.layerZero.endpointV2;
    const verified = ENDPOINT.encodeEventLog('PacketVerified', [
      [40101, `0x${'00'.repeat(12)}${'11'.repeat(20)}`, 2n],
      '0x2222222222222222222222222222222222222222',
      `0x${'44'.repeat(32)}`,
    ]);
    const event = {
      type: 'block' as const,
      chain: 'b',
      block: {} as never,
      logs: [{ address: endpoint, topics: verified.topics, data: verified.data } as never],
    };
    const sent: string[] = [];
    for (const reason of ['execution reverted: LZ_InvalidNonce(1)', 'out of gas at gas limit 151587']) {
      const journal = memoryNodeStores().journal;
      await journal.put({
        ...record(),
        attempts: 1,
        nextAttemptAt: now + 60_000,
        failures: [{ at: now, reason }],
      });
      const executor = new Executor(
        { pollMs: 0 },
        { wallet, chains: new Map([[40102, dst]]), liveExecutors: () => [], journal, now: () => now },
      );
      state.delivered = 0n;
      const before = state.sends.length;
      await executor.onChainEvent(event);
      await executor.tick();
      if (state.sends.length > before) sent.push(reason.split(' ')[0] as string);
    }
    expect(sent).toEqual(['execution']);
  });

  it('closes a packet another executor delivered before its own turn comes', async () => {
    let now = 10_000;
    const journal = memoryNodeStores().journal;
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
