// The rebalance coordinator with a faked chain: two nodes on the in-memory gossip, a manual clock.
// The first-ranked node simulates, claims, sends the Rebalancer call with the quoted fee and follows
// the MOVE to its credit on the destination; the other waits; a simulation that reverts is journaled
// with the Rebalancer's error name and nothing is sent; one margin state is never sent twice.

import { AbiCoder, type TransactionReceipt, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { rendezvousOrder } from '../../../attestor/rendezvous.ts';
import type { ChainLog } from '../../../relayer/chain/rpc.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { ENGINE } from '../../../relayer/liquidation/abi.ts';
import { rankKey } from '../../../relayer/liquidation/coordinator.ts';
import type { LiqRpc } from '../../../relayer/liquidation/rpc.ts';
import type { SendResult, TxRequest } from '../../../relayer/liquidation/sender.ts';
import { MOVE_ABI, REBALANCER, TOPICS_RB } from '../../../relayer/rebalance/abi.ts';
import { RebalanceCoordinator } from '../../../relayer/rebalance/coordinator.ts';
import type { Limits, RebalanceRecord, Valuation } from '../../../relayer/rebalance/types.ts';
import { memoryRecords } from '../../../relayer/store/journal.ts';
import { MemoryGossipHub } from '../../support/gossip.ts';
import { accountMargin, engineEntry, usd } from '../../support/margin.ts';

const WAD = 10n ** 18n;
const A = 40_101;
const B = 40_102;
const C = 40_103;
const ACCOUNT = '0x00000000000000000000000000000000000000a1' as Address;
const WETH = '0x00000000000000000000000000000000000000e7' as Address;
const VAULT_A = '0x00000000000000000000000000000000000000aa' as Address;
const ENGINE_B = '0x00000000000000000000000000000000000000bb' as Address;
const ENGINE_C = '0x00000000000000000000000000000000000000cc' as Address;
const RB_B = '0x00000000000000000000000000000000000000b1' as Address;
const MOVE_ID = `0x${'77'.repeat(32)}` as Hex;
const wallets = [1, 2].map((i) => new Wallet(`0x${i.toString(16).padStart(64, '0')}`));
const flush = () => new Promise((r) => setImmediate(r));

const credit = (amount: bigint) => ({ [`${A}:${WETH}`]: amount });
const margin = accountMargin(ACCOUNT, 0n, [
  engineEntry(B, { equity: 3_200, maintenance: 500, initial: 1_000 }, credit(2n * WAD)),
  engineEntry(C, { equity: 1_100, maintenance: 1_000, initial: 2_000 }),
]);
const limits: Limits = {
  engines: [C],
  maxPerMoveUsd: usd(10_000),
  minSourceHealth: 2n * WAD,
  expiry: 4_000_000_000,
};
const weth: Valuation = { price: usd(2_000), weight: (WAD * 8n) / 10n, decimals: 18, enabled: true };
const abi = AbiCoder.defaultAbiCoder();

function log(address: Address, iface: typeof REBALANCER, name: string, args: unknown[]): ChainLog {
  const ev = iface.getEvent(name);
  if (ev === null) throw new Error(name);
  const { data, topics } = iface.encodeEventLog(ev, args);
  return {
    address,
    topics: topics as Hex[],
    data: data as Hex,
    blockNumber: 101,
    blockHash: `0x${'00'.repeat(32)}`,
    transactionHash: `0x${'99'.repeat(32)}`,
    transactionIndex: 0,
    logIndex: 0,
  };
}

function harness(
  me: Wallet,
  hub: MemoryGossipHub,
  chain: { revert?: string; landed: boolean; sent: TxRequest[] },
  journal = memoryRecords<RebalanceRecord>(),
) {
  let now = 1_000_000;
  const rpc: LiqRpc = {
    async call(tx) {
      const sel = tx.data.slice(0, 10);
      if (tx.to === VAULT_A) return abi.encode(['tuple(uint256,uint256)'], [[1_000n, 0n]]) as Hex;
      if (sel === MOVE_ABI.getFunction('quoteMove')?.selector)
        return abi.encode(['tuple(uint256,uint256)'], [[5_000n, 0n]]) as Hex;
      if (tx.to === RB_B) {
        if (chain.revert !== undefined) {
          const data = REBALANCER.encodeErrorResult(chain.revert, [usd(2), usd(3)]);
          throw Object.assign(new Error('execution reverted'), { data });
        }
        return abi.encode(['bytes32'], [MOVE_ID]) as Hex;
      }
      if (tx.to === ENGINE_C)
        return ENGINE.encodeFunctionResult('health', [[0n, 0n, 0n, 0n, 0n, (16n * WAD) / 10n]]) as Hex;
      throw new Error(`unexpected call to ${tx.to}`);
    },
    blockNumber: async () => 100,
    async getLogs(f) {
      const t0 = (f.topics?.[0] ?? null) as Hex | Hex[] | null;
      const has = (t: Hex) => t0 === t || (Array.isArray(t0) && t0.includes(t));
      if (has(TOPICS_RB.Rebalanced))
        return chain.landed
          ? [log(RB_B, REBALANCER, 'Rebalanced', [MOVE_ID, ACCOUNT, 0n, A, WETH, 1n, C, ACCOUNT])]
          : [];
      if (has(TOPICS_RB.CreditMoved))
        return chain.landed
          ? [log(VAULT_A, MOVE_ABI, 'CreditMoved', [MOVE_ID, ACCOUNT, 0n, WETH, (5n * WAD) / 16n, B, C])]
          : [];
      if (has(TOPICS_RB.Credited))
        return chain.landed
          ? [
              log(ENGINE_C, MOVE_ABI, 'Credited', [
                `0x${'88'.repeat(32)}`,
                ACCOUNT,
                0n,
                A,
                WETH,
                (5n * WAD) / 16n,
              ]),
            ]
          : [];
      return [];
    },
    getReceipt: async () => null,
    send: async <T>(method: string) => (method === 'eth_getBalance' ? '0xde0b6b3a7640000' : '0x0') as T,
  };
  const rescued: number[] = [];
  const coordinator = new RebalanceCoordinator(
    { deadlineMs: 5_000, followPollMs: 1 },
    {
      self: me.address as Address,
      gossip: hub.join(me.address as Address),
      journal,
      view: { accounts: () => [{ account: ACCOUNT, subaccount: 0n }], account: () => margin },
      auth: { limits: (eid) => (eid === B ? limits : undefined) },
      valuations: { prefetch: async () => {}, get: () => weth },
      sources: new Map([
        [
          B,
          {
            eid: B,
            engine: ENGINE_B,
            rebalancer: RB_B,
            rpc,
            sender: {
              async send(tx, hooks): Promise<SendResult> {
                chain.sent.push(tx);
                const hash = `0x${String(chain.sent.length).padStart(64, '0')}` as Hex;
                await hooks?.onBroadcast?.(hash, 1, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
                chain.landed = true;
                const receipt = {
                  status: 1,
                  hash,
                  blockNumber: 101,
                  logs: [
                    log(RB_B, REBALANCER, 'Rebalanced', [
                      MOVE_ID,
                      ACCOUNT,
                      0n,
                      A,
                      WETH,
                      (5n * WAD) / 16n,
                      C,
                      me.address,
                    ]),
                  ],
                } as unknown as TransactionReceipt;
                return { receipt, hash, hashes: [hash], nonce: 1, bumps: 0 };
              },
            },
          },
        ],
      ]),
      liveRebalancers: () => wallets.map((w) => w.address as Address),
      vaultOf: (eid) => (eid === A ? { vault: VAULT_A, rpc } : undefined),
      engineOf: (eid) => (eid === C ? { engine: ENGINE_C, rpc } : undefined),
      onRescued: (s) => rescued.push(s),
      now: () => now,
    },
  );
  return { coordinator, journal, rescued, advance: (ms: number) => (now += ms) };
}

const ranked = rendezvousOrder(
  rankKey(C, ACCOUNT, 0n),
  wallets.map((w) => w.address as Address),
);
const byRank = (k: number) => wallets.find((w) => w.address.toLowerCase() === ranked[k]) as Wallet;

describe('RebalanceCoordinator', () => {
  it('the first-ranked node sends the move with the quoted fee and follows it to the credit; the other waits', async () => {
    const hub = new MemoryGossipHub();
    const chain = { landed: false, sent: [] as TxRequest[] };
    const first = harness(byRank(0), hub, chain);
    const second = harness(byRank(1), hub, chain);
    await second.coordinator.tick();
    expect(chain.sent).toHaveLength(0);
    expect((await second.journal.list()).map((r) => r.status)).toEqual(['detected']);

    await first.coordinator.tick();
    expect(chain.sent).toHaveLength(1);
    const tx = chain.sent[0] as TxRequest;
    expect(tx.to).toBe(RB_B);
    // Remote collateral: quoteMove with options carrying twice the vault's LOCK quote.
    expect(tx.value).toBe(5_000n);
    const args = REBALANCER.decodeFunctionData('rebalance', tx.data);
    expect(args.slice(0, 6).map((x) => String(x).toLowerCase())).toEqual(
      [ACCOUNT, 0n, A, WETH, (5n * WAD) / 16n, C].map((x) => String(x)),
    );
    await first.coordinator.stop(); // waits for the follow-up
    const [r] = await first.journal.list();
    expect(r).toMatchObject({
      status: 'credited',
      moveId: MOVE_ID,
      dstHealthAfter: (16n * WAD) / 10n,
      rank: 0,
    });
    expect(r?.timestamps.claimed).toBeDefined();
    expect(r?.timestamps.sent).toBeDefined();
    expect(first.rescued).toHaveLength(1);

    // The second heard the claim; after the deadline it asks the chain, which shows the move landed.
    await flush();
    second.advance(6_000);
    await second.coordinator.tick();
    expect(chain.sent).toHaveLength(1);
    expect((await second.journal.list()).map((r) => r.status)).toEqual(['lost']);
  });

  it('after a restart, a move journaled as landed is followed to its credit', async () => {
    const chain = { landed: false, sent: [] as TxRequest[] };
    const before = harness(byRank(0), new MemoryGossipHub(), chain);
    await before.coordinator.tick();
    await before.coordinator.stop();
    const [r] = await before.journal.list();
    // As if the node had stopped between the landing and the credit.
    const after = harness(byRank(0), new MemoryGossipHub(), chain, before.journal);
    await after.journal.put({ ...(r as RebalanceRecord), status: 'landed', timestamps: { landed: 1 } });
    await after.coordinator.resume();
    await after.coordinator.stop();
    expect((await after.journal.list()).map((x) => x.status)).toEqual(['credited']);
    expect(after.rescued).toHaveLength(1);
    expect(chain.sent).toHaveLength(1);
  });

  it('a simulation that reverts is journaled with the error and nothing is sent, once per state', async () => {
    const chain = { landed: false, sent: [] as TxRequest[], revert: 'SourceHealthTooLow' };
    const node = harness(byRank(0), new MemoryGossipHub(), chain);
    await node.coordinator.tick();
    await node.coordinator.tick();
    expect(chain.sent).toHaveLength(0);
    const records = await node.journal.list();
    expect(records).toHaveLength(1);
    expect(records[0]?.status).toBe('failed');
    expect(records[0]?.error).toMatch(/^SourceHealthTooLow\(/);
  });
});
