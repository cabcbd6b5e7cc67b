// Following a landed liquidation's seizures to their payout, against a scripted vault chain: a payout
// counts only under the seizure's id, to us, for the amount seized (anything else is a mismatch); a
// payout the governor queued is followed until the queue pays it; a follow-up resumes after a
// restart; GET /status shows each seizure.

import { getAddress, type TransactionReceipt } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { ChainLog, LogFilter } from '../../../relayer/chain/rpc.ts';
import type { Address, ChainConfig, Hex } from '../../../relayer/config/types.ts';
import { ENGINE, KIND_SEIZE, TOPICS_LIQ, VAULT } from '../../../relayer/liquidation/abi.ts';
import { followSeizures, payoutOutcome, seizuresOf } from '../../../relayer/liquidation/follow-up.ts';
import type { LiqRpc } from '../../../relayer/liquidation/rpc.ts';
import type { LiquidationRecord, SeizeFollowUp } from '../../../relayer/liquidation/types.ts';
import { liquidationEntries } from '../../../relayer/node/margin-status.ts';

const ME = '0x00000000000000000000000000000000000000b0' as Address;
const OTHER = '0x00000000000000000000000000000000000000b1' as Address;
const ACCOUNT = '0x00000000000000000000000000000000000000a1' as Address;
const VAULT_ADDR = '0x00000000000000000000000000000000000000f1' as Address;
const ENGINE_ADDR = '0x00000000000000000000000000000000000000e1' as Address;
const WETH = '0x00000000000000000000000000000000000000c1' as Address;
const SRC = 40_101;
const ID = `0x${'ab'.repeat(32)}` as Hex;
const tx = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;

const seizure = (over: Partial<SeizeFollowUp> = {}): SeizeFollowUp => ({
  id: ID,
  srcEid: SRC,
  token: WETH,
  amount: 5n * 10n ** 17n,
  status: 'pending',
  ...over,
});

function log(
  event: 'PaidOut' | 'PayoutQueued' | 'QueuedPayoutExecuted',
  args: unknown[],
  block: number,
  n: number,
) {
  const { topics, data } = VAULT.encodeEventLog(event, args);
  return {
    address: VAULT_ADDR,
    topics: topics as Hex[],
    data: data as Hex,
    blockNumber: block,
    blockHash: `0x${'00'.repeat(32)}` as Hex,
    transactionHash: tx(n),
    transactionIndex: 0,
    logIndex: 0,
  } satisfies ChainLog;
}
const paidOut = (recipient: Address, amount: bigint, block = 60, n = 1) =>
  log('PaidOut', [ID, KIND_SEIZE, ACCOUNT, 0n, WETH, amount, recipient, 40_103], block, n);
const queued = (recipient: Address, amount: bigint, block = 60, n = 2) =>
  log('PayoutQueued', [ID, WETH, recipient, amount], block, n);
const executed = (byGuardian: boolean, block = 90, n = 3) =>
  log('QueuedPayoutExecuted', [ID, byGuardian], block, n);

/** A vault chain whose logs appear as the test adds them; getLogs filters by topic and fromBlock. */
function vaultChain(head = 50) {
  const logs: ChainLog[] = [];
  const filters: LogFilter[] = [];
  const rpc: LiqRpc = {
    call: async () => '0x',
    blockNumber: async () => head,
    getReceipt: async () => null,
    send: async <T>() => '0x' as T,
    async getLogs(filter) {
      filters.push(filter);
      const [first, id] = filter.topics ?? [];
      const wanted = Array.isArray(first) ? first : [first];
      return logs.filter(
        (l) =>
          wanted.includes(l.topics[0] as Hex) &&
          l.topics[1] === id &&
          l.blockNumber >= (filter.fromBlock ?? 0),
      );
    },
  };
  return { rpc, logs, filters, vaultOf: () => ({ vault: VAULT_ADDR, rpc }) };
}

describe('a payout counts only to us, for the amount seized', () => {
  it('PaidOut to us for the amount: paid; to someone else or another amount: mismatch, saying which', () => {
    const s = seizure();
    expect(payoutOutcome(s, paidOut(ME, s.amount), ME)).toEqual({ status: 'paid' });
    const other = payoutOutcome(s, paidOut(OTHER, s.amount), ME);
    expect(other.status).toBe('mismatch');
    expect(other.error).toContain(`to ${getAddress(OTHER)}, not us (${ME})`);
    const less = payoutOutcome(s, paidOut(ME, s.amount - 1n), ME);
    expect(less.status).toBe('mismatch');
    expect(less.error).toContain(`${s.amount - 1n}, not the ${s.amount} seized`);
    expect(payoutOutcome(s, queued(ME, s.amount), ME)).toEqual({ status: 'queued' });
    expect(payoutOutcome(s, queued(OTHER, s.amount), ME).status).toBe('mismatch');
  });

  it('a local seizure is settled from the liquidation receipt itself, with the same checks', () => {
    const debit = ENGINE.encodeEventLog('Debited', [
      ID,
      KIND_SEIZE,
      ACCOUNT,
      0n,
      SRC,
      WETH,
      5n * 10n ** 17n,
      ME,
      0,
    ]);
    const receipt = (payout: ChainLog | undefined) =>
      ({
        hash: tx(9),
        blockNumber: 77,
        logs: [
          { address: ENGINE_ADDR, topics: debit.topics, data: debit.data },
          ...(payout === undefined ? [] : [payout]),
        ],
      }) as unknown as TransactionReceipt;
    expect(seizuresOf(receipt(paidOut(ME, 5n * 10n ** 17n)), ENGINE_ADDR, ME)[0]).toMatchObject({
      status: 'paid',
      payoutTx: tx(9),
      payoutBlock: 77,
      latencyMs: 0,
    });
    expect(seizuresOf(receipt(paidOut(OTHER, 5n * 10n ** 17n)), ENGINE_ADDR, ME)[0]?.status).toBe('mismatch');
    expect(seizuresOf(receipt(queued(ME, 5n * 10n ** 17n)), ENGINE_ADDR, ME)[0]).toMatchObject({
      status: 'queued',
      queuedBlock: 77,
    });
    expect(seizuresOf(receipt(undefined), ENGINE_ADDR, ME)[0]?.status).toBe('pending');
  });

  it("in a batch's receipt, a sub-account's seizures are only those debited from it", () => {
    const debit = (sub: bigint, id: Hex) => {
      const e = ENGINE.encodeEventLog('Debited', [id, KIND_SEIZE, ACCOUNT, sub, SRC, WETH, 5n, ME, 0]);
      return { address: ENGINE_ADDR, topics: e.topics, data: e.data };
    };
    const [a, b] = [`0x${'0a'.repeat(32)}`, `0x${'0b'.repeat(32)}`] as [Hex, Hex];
    const receipt = {
      hash: tx(9),
      blockNumber: 77,
      logs: [debit(1n, a), debit(2n, b)],
    } as unknown as TransactionReceipt;
    expect(seizuresOf(receipt, ENGINE_ADDR, ME).map((z) => z.id)).toEqual([a, b]);
    expect(
      seizuresOf(receipt, ENGINE_ADDR, ME, { account: ACCOUNT, subaccount: 2n }).map((z) => z.id),
    ).toEqual([b]);
    expect(seizuresOf(receipt, ENGINE_ADDR, ME, { account: ME, subaccount: 2n })).toEqual([]);
  });
});

describe('followSeizures', () => {
  it('finds the remote PaidOut to us, records latency, block and the block its search started at', async () => {
    const chain = vaultChain(50);
    let now = 1_000;
    let polls = 0;
    const rpc: LiqRpc = {
      ...chain.rpc,
      async getLogs(filter) {
        now += 400;
        if (++polls === 3) chain.logs.push(paidOut(ME, 5n * 10n ** 17n, 52));
        return chain.rpc.getLogs(filter);
      },
    };
    const out = await followSeizures([seizure()], {
      vaultOf: () => ({ vault: VAULT_ADDR, rpc }),
      recipient: ME,
      landedAt: 1_000,
      pollMs: 1,
      now: () => now,
    });
    expect(out[0]).toMatchObject({
      status: 'paid',
      payoutTx: tx(1),
      payoutBlock: 52,
      fromBlock: 48,
      latencyMs: 1_200,
    });
    expect(chain.filters.every((f) => f.fromBlock === 48)).toBe(true);
  });

  it('a PaidOut under our id to another address is recorded as a mismatch, and the follow-up ends', async () => {
    const chain = vaultChain();
    chain.logs.push(paidOut(OTHER, 5n * 10n ** 17n));
    const out = await followSeizures([seizure()], {
      vaultOf: chain.vaultOf,
      recipient: ME,
      landedAt: 0,
      pollMs: 1,
    });
    expect(out[0]?.status).toBe('mismatch');
    expect(out[0]?.error).toMatch(/^PaidOut 0xab.* paid to 0x0+b1, not us/i);
    expect(chain.filters).toHaveLength(1);
  });

  it('a queued payout is not final: followed past the pending timeout until the queue pays it', async () => {
    const chain = vaultChain();
    chain.logs.push(queued(ME, 5n * 10n ** 17n, 60));
    let now = 0;
    const updates: string[] = [];
    let looks = 0;
    const rpc: LiqRpc = {
      ...chain.rpc,
      async getLogs(filter) {
        now += 1_000;
        // The guardian clears it on the 5th look at the queue (long after the 2 s pending timeout).
        if (filter.topics?.[0] === TOPICS_LIQ.QueuedPayoutExecuted && ++looks === 5)
          chain.logs.push(executed(true, 95));
        return chain.rpc.getLogs(filter);
      },
    };
    const out = await followSeizures([seizure()], {
      vaultOf: () => ({ vault: VAULT_ADDR, rpc }),
      recipient: ME,
      landedAt: 0,
      timeoutMs: 2_000,
      pollMs: 1,
      queuedPollMs: 1,
      now: () => now,
      onUpdate: async (list) => void updates.push(list.map((s) => s.status).join()),
    });
    expect(updates).toEqual(['pending', 'queued', 'paid']);
    expect(out[0]).toMatchObject({
      status: 'paid',
      queuedTx: tx(2),
      queuedBlock: 60,
      payoutTx: tx(3),
      payoutBlock: 95,
      clearedByGuardian: true,
    });
    expect(looks).toBe(5);
    // The queue is searched from the block the payout was queued at.
    expect(chain.filters.filter((f) => f.topics?.[0] === TOPICS_LIQ.QueuedPayoutExecuted)[0]?.fromBlock).toBe(
      60,
    );
  });

  it('a queued payout stops being followed when the node stops, and stays queued', async () => {
    const chain = vaultChain();
    chain.logs.push(queued(ME, 5n * 10n ** 17n));
    let stopped = false;
    setTimeout(() => {
      stopped = true;
    }, 30);
    const out = await followSeizures([seizure()], {
      vaultOf: chain.vaultOf,
      recipient: ME,
      landedAt: 0,
      pollMs: 5,
      queuedPollMs: 60_000,
      stopped: () => stopped,
    });
    expect(out[0]?.status).toBe('queued');
  });

  it('a pending seizure left past its timeout stays pending; resumed, it is looked for from its first block', async () => {
    const chain = vaultChain(50);
    let now = 0;
    const first = await followSeizures([seizure()], {
      vaultOf: chain.vaultOf,
      recipient: ME,
      landedAt: 0,
      timeoutMs: 10,
      pollMs: 1,
      now: () => (now += 5),
    });
    expect(first[0]).toMatchObject({ status: 'pending', fromBlock: 48 });
    // Paid while the node was down, long after the landing; the chain has moved on meanwhile.
    chain.logs.push(paidOut(ME, 5n * 10n ** 17n, 49));
    const resumed = await followSeizures(first, {
      vaultOf: () => ({ vault: VAULT_ADDR, rpc: { ...chain.rpc, blockNumber: async () => 500 } }),
      recipient: ME,
      landedAt: 0,
      timeoutMs: 10,
      now: () => 1_000_000,
    });
    expect(resumed[0]).toMatchObject({ status: 'paid', payoutBlock: 49 });
  });

  it('marks seizures on chains it has no RPC for as unknown instead of waiting', async () => {
    const out = await followSeizures([seizure({ srcEid: 1 })], {
      vaultOf: () => undefined,
      recipient: ME,
      landedAt: 0,
    });
    expect(out[0]?.status).toBe('unknown');
  });
});

describe('seizures in GET /status', () => {
  it('one line per seizure: chain, symbol, token units, status, payout and why a mismatch', () => {
    const record: LiquidationRecord = {
      id: `0x${'01'.repeat(32)}` as Hex,
      engineEid: 40_103,
      account: ACCOUNT,
      subaccount: 0n,
      stateKey: `0x${'02'.repeat(32)}` as Hex,
      status: 'landed',
      rank: 0,
      timestamps: { landed: 1 },
      updatedAt: 1,
      seizures: [
        seizure({ status: 'paid', payoutTx: tx(1), latencyMs: 2_500 }),
        seizure({ id: `0x${'cd'.repeat(32)}`, status: 'mismatch', error: 'PaidOut … paid to someone else' }),
        seizure({ id: `0x${'ef'.repeat(32)}`, status: 'queued' }),
      ],
    };
    const chains = [
      { name: 'devnet-a', eid: SRC, tokens: [{ symbol: 'WETH', address: WETH, decimals: 18 }] },
      { name: 'devnet-c', eid: 40_103, tokens: [] },
    ] as unknown as ChainConfig[];
    const [entry] = liquidationEntries([record], chains);
    expect(entry?.seizures).toEqual([
      {
        id: ID,
        chain: 'devnet-a',
        token: WETH,
        symbol: 'WETH',
        amount: '0.5',
        status: 'paid',
        payoutTx: tx(1),
        latencyMs: 2_500,
      },
      expect.objectContaining({ status: 'mismatch', detail: 'PaidOut … paid to someone else' }),
      expect.objectContaining({ status: 'queued', amount: '0.5' }),
    ]);
    expect(liquidationEntries([{ ...record, seizures: [] }], chains)[0]).not.toHaveProperty('seizures');
  });
});
