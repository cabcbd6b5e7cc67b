// The batcher with a recording sender: which liquidations share a transaction, what that
// transaction says (liquidateBatch items, fees, value, gas limit), and that every caller hears the
// shared broadcast and outcome.

import type { TransactionReceipt } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { ENGINE } from '../../../relayer/liquidation/abi.ts';
import {
  BatchItemSkipped,
  LiquidationBatcher,
  type LiquidationSend,
  type Simulator,
} from '../../../relayer/liquidation/batcher.ts';
import { describeRevert } from '../../../relayer/liquidation/rpc.ts';
import type { SendHooks, SendResult, TxRequest } from '../../../relayer/liquidation/sender.ts';

const ENGINE_ADDR = '0x00000000000000000000000000000000000000e1' as Address;
const account = (i: number) => `0x${i.toString(16).padStart(40, '0')}` as Address;

function item(i: number, value = 0n, gasLimit?: bigint): LiquidationSend {
  const params = { account: account(i), subaccount: BigInt(i), seizes: [], recipient: account(99) };
  return {
    params,
    calldata: ENGINE.encodeFunctionData('liquidate', [params]) as Hex,
    value,
    ...(gasLimit === undefined ? {} : { gasLimit }),
  };
}

function recordingSender(fail?: Error) {
  const sent: TxRequest[] = [];
  return {
    sent,
    async send(tx: TxRequest, hooks?: SendHooks): Promise<SendResult> {
      sent.push(tx);
      if (fail !== undefined) throw fail;
      const hash = `0x${String(sent.length).padStart(64, '0')}` as Hex;
      await hooks?.onBroadcast?.(hash, sent.length, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
      const receipt = { status: 1, hash, logs: [], gasUsed: 1n } as unknown as TransactionReceipt;
      return { receipt, hash, hashes: [hash], nonce: sent.length, bumps: 0 };
    },
  };
}

/** The items and fees of a liquidateBatch transaction. */
function decodeBatch(tx: TxRequest): { accounts: string[]; fees: bigint[] } {
  const [items, fees] = ENGINE.decodeFunctionData('liquidateBatch', tx.data);
  return {
    accounts: (items as { account: string }[]).map((i) => i.account.toLowerCase()),
    fees: [...(fees as bigint[])],
  };
}

describe('LiquidationBatcher', () => {
  it('sends the liquidations of one window as one liquidateBatch, fees in order, value their sum', async () => {
    const sender = recordingSender();
    const b = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 20 });
    const broadcasts: string[] = [];
    const results = await Promise.all(
      [item(1, 5n), item(2, 0n), item(3, 7n)].map((it, i) =>
        b.send(it, { onBroadcast: (hash) => void broadcasts.push(`${i}:${hash}`) }),
      ),
    );
    expect(sender.sent).toHaveLength(1);
    const tx = sender.sent[0] as TxRequest;
    expect(tx.to).toBe(ENGINE_ADDR);
    expect(tx.value).toBe(12n);
    expect(decodeBatch(tx)).toEqual({ accounts: [account(1), account(2), account(3)], fees: [5n, 0n, 7n] });
    // Unknown gas for some item: the queue estimates the whole batch.
    expect(tx.gasLimit).toBeUndefined();
    expect(results.map((r) => [r.items, r.hash])).toEqual([
      [3, results[0]?.hash],
      [3, results[0]?.hash],
      [3, results[0]?.hash],
    ]);
    expect(broadcasts.sort()).toEqual([0, 1, 2].map((i) => `${i}:${results[0]?.hash}`));
    expect(b.counters).toEqual({ transactions: 1, liquidations: 3 });
  });

  it('a window with one liquidation sends plain liquidate with its own value and gas limit', async () => {
    const sender = recordingSender();
    const b = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 5 });
    const one = item(1, 3n, 400_000n);
    const r = await b.send(one);
    expect(sender.sent).toEqual([{ to: ENGINE_ADDR, data: one.calldata, value: 3n, gasLimit: 400_000n }]);
    expect(r).toMatchObject({ items: 1, gasLimit: 400_000n });
  });

  it('with every gas limit known, the batch limit is their sum plus the batch overhead', async () => {
    const sender = recordingSender();
    const b = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 5 });
    await Promise.all([b.send(item(1, 0n, 300_000n)), b.send(item(2, 0n, 500_000n))]);
    const limit = sender.sent[0]?.gasLimit as bigint;
    expect(limit).toBeGreaterThan(800_000n);
    expect(limit).toBeLessThan(1_000_000n);
  });

  it('splits a window by maxItems and by maxGas, keeping call order', async () => {
    const sender = recordingSender();
    const b = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 5, maxItems: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((i) => b.send(item(i))));
    expect(
      sender.sent.map((tx) => (tx.data === item(5).calldata ? ['single'] : decodeBatch(tx).accounts)),
    ).toEqual([[account(1), account(2)], [account(3), account(4)], ['single']]);

    const byGas = recordingSender();
    const g = new LiquidationBatcher(ENGINE_ADDR, byGas, { windowMs: 5, maxGas: 2_000_000n });
    await Promise.all([1, 2, 3].map((i) => g.send(item(i, 0n, 900_000n))));
    // 60k + 2 × 925k fits 2M; a third does not.
    expect(byGas.sent.map((tx) => tx.data.slice(0, 10))).toEqual([
      ENGINE.getFunction('liquidateBatch')?.selector,
      ENGINE.getFunction('liquidate')?.selector,
    ]);
  });

  it('maxItems 1 sends each liquidation at once, alone', async () => {
    const sender = recordingSender();
    const b = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 10_000, maxItems: 1 });
    const started = Date.now();
    await Promise.all([b.send(item(1)), b.send(item(2))]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sender.sent.map((tx) => tx.data)).toEqual([item(1).calldata, item(2).calldata]);
  });

  it("a batch that cannot even be encoded is its callers' error, not an uncaught one", async () => {
    const sender = recordingSender();
    const b = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 5 });
    // Neither its calldata (not a liquidate call) nor its params (no address) encode into a batch.
    const bad = {
      ...item(2),
      calldata: '0xdeadbeef' as Hex,
      params: { ...item(2).params, account: 'not an address' as Address },
    };
    const outcomes = await Promise.allSettled([b.send(item(1)), b.send(bad)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(sender.sent).toHaveLength(0);
  });

  it('a failed send rejects every liquidation of its transaction', async () => {
    const b = new LiquidationBatcher(ENGINE_ADDR, recordingSender(new Error('insufficient funds')), {
      windowMs: 5,
    });
    const outcomes = await Promise.allSettled([b.send(item(1)), b.send(item(2))]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual([
      'Error: insufficient funds',
      'Error: insufficient funds',
    ]);
  });

  describe('with deferred simulations', () => {
    const ME = account(77);
    const LIQ_RESULT = [0n, 0n, 1n, [], [], 9n * 10n ** 17n, 2n * 10n ** 18n];
    const EMPTY_RESULT = [0n, 0n, 0n, [], [], 0n, 0n];
    /** A simulator whose engine skips the sub-accounts in `healthy` with HealthyAccount. */
    function simulator(healthy: Set<bigint>, fail?: Error) {
      const calls: { data: Hex; from: Address; value: bigint }[] = [];
      const sim: Simulator = {
        from: ME,
        async call(tx) {
          calls.push(tx);
          if (fail !== undefined) throw fail;
          const [items] = ENGINE.decodeFunctionData('liquidateBatch', tx.data);
          const outcomes = (items as { subaccount: bigint }[]).map((i) =>
            healthy.has(i.subaccount)
              ? [false, EMPTY_RESULT, ENGINE.encodeErrorResult('HealthyAccount', [10n ** 18n])]
              : [true, LIQ_RESULT, '0x'],
          );
          return ENGINE.encodeFunctionResult('liquidateBatch', [outcomes]) as Hex;
        },
      };
      return { sim, calls };
    }
    const unsimulated = (i: number, value = 0n): LiquidationSend => ({
      ...item(i, value),
      unsimulated: true,
    });

    it('simulates the group in one eth_call from us, refuses what it skips and sends the rest', async () => {
      const sender = recordingSender();
      const { sim, calls } = simulator(new Set([2n]));
      const b = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 5 }, sim);
      const outcomes = await Promise.allSettled([1, 2, 3].map((i) => b.send(unsimulated(i, BigInt(i)))));
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ from: ME, value: 6n });
      const refused = outcomes[1] as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(BatchItemSkipped);
      expect(describeRevert(refused.reason)).toEqual({
        name: 'HealthyAccount',
        text: `HealthyAccount(${10n ** 18n})`,
      });
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      // Only 1 and 3 go out, together, with their own fees.
      expect(sender.sent).toHaveLength(1);
      expect(decodeBatch(sender.sent[0] as TxRequest)).toEqual({
        accounts: [account(1), account(3)],
        fees: [1n, 3n],
      });
    });

    it('one item left after the simulation goes out as a plain liquidate; none left, nothing goes out', async () => {
      const sender = recordingSender();
      const b = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 5 }, simulator(new Set([2n])).sim);
      await Promise.allSettled([b.send(unsimulated(1)), b.send(unsimulated(2))]);
      expect(sender.sent.map((tx) => tx.data)).toEqual([item(1).calldata]);
      await Promise.allSettled([b.send(unsimulated(2))]);
      expect(sender.sent).toHaveLength(1);
    });

    it('a failed simulation refuses every item and sends nothing; simulated items are not simulated again', async () => {
      const sender = recordingSender();
      const down = simulator(new Set(), new Error('rpc down'));
      const b = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 5 }, down.sim);
      const outcomes = await Promise.allSettled([b.send(unsimulated(1)), b.send(unsimulated(2))]);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual([
        'Error: rpc down',
        'Error: rpc down',
      ]);
      expect(sender.sent).toHaveLength(0);
      const up = simulator(new Set());
      const c = new LiquidationBatcher(ENGINE_ADDR, sender, { windowMs: 5 }, up.sim);
      await Promise.all([c.send(item(1)), c.send(item(2))]);
      expect(up.calls).toHaveLength(0);
      expect(sender.sent).toHaveLength(1);
    });
  });
});
