// The coordinator with fakes: a scripted planner, a recording sender, a chain that answers logs and
// balances, the in-memory gossip and a manual clock. Ranking, claims, takeover after the deadline,
// dedupe per state, lost races and journal transitions.

import { type TransactionReceipt, Wallet } from 'ethers';
import { describe, expect, it, vi } from 'vitest';
import { rendezvousOrder, rendezvousRank } from '../../../attestor/rendezvous.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { ENGINE, KIND_SEIZE, VAULT } from '../../../relayer/liquidation/abi.ts';
import {
  Coordinator,
  type CoordinatorModules,
  type EngineChain,
  rankKey,
} from '../../../relayer/liquidation/coordinator.ts';
import { attemptId, memoryJournal } from '../../../relayer/liquidation/journal.ts';
import type { Plan } from '../../../relayer/liquidation/planner.ts';
import type { LiqRpc } from '../../../relayer/liquidation/rpc.ts';
import type { SendResult, TxRequest } from '../../../relayer/liquidation/sender.ts';
import type {
  Candidate,
  LiquidationClaim,
  LiquidationClaims,
  LiquidationRecord,
} from '../../../relayer/liquidation/types.ts';
import { MemoryGossipHub } from '../../support/gossip.ts';

const EID = 40_102;
const ENGINE_ADDR = '0x00000000000000000000000000000000000000e1' as Address;
const ACCOUNT = '0x00000000000000000000000000000000000000a1' as Address;
const STATE = `0x${'11'.repeat(32)}` as Hex;
const wallets = [1, 2, 3].map((i) => new Wallet(`0x${i.toString(16).padStart(64, '0')}`));
const signers = wallets.map((w) => w.address as Address);
const cand: Candidate = { account: ACCOUNT, subaccount: 0n, health: 8n * 10n ** 17n };
const flush = () => new Promise((r) => setImmediate(r));

/** The engine's Liquidated log for a sub-account, by `liquidator`: what says a liquidation of ours landed. */
function liquidatedLog(liquidator: Address, account: Address = ACCOUNT, subaccount = 0n) {
  const { topics, data } = ENGINE.encodeEventLog('Liquidated', [
    account,
    subaccount,
    liquidator,
    10n ** 18n,
    1n,
    1n,
    8n * 10n ** 17n,
    2n * 10n ** 18n,
  ]);
  return { address: ENGINE_ADDR, topics, data };
}

function liquidatable(stateKey: Hex = STATE): Plan {
  const h = {
    collateralValue: 0n,
    equity: 0n,
    maintenanceRequirement: 1n,
    initialRequirement: 1n,
    notional: 1n,
    health: 8n * 10n ** 17n,
  };
  return {
    kind: 'liquidatable',
    stateKey,
    health: h,
    params: { account: ACCOUNT, subaccount: 0n, seizes: [], recipient: ACCOUNT },
    calldata: '0x1234',
    value: 0n,
    maxRepay: 1n,
    quoteToken: ACCOUNT,
    expected: { repaid: 1n, healthAfter: 2n * 10n ** 18n, seized: [] },
  };
}

/** An engine chain whose RPC answers our balance (1 ether) plus `rpc`'s overrides, sending through `send`. */
function fakeEngine(send: EngineChain['sender']['send'], rpc: Partial<LiqRpc> = {}): EngineChain {
  return {
    eid: EID,
    engine: ENGINE_ADDR,
    sender: { send },
    rpc: {
      call: async () => '0x',
      blockNumber: async () => 100,
      getLogs: async () => [],
      getReceipt: async () => null,
      send: async <T>(method: string) => (method === 'eth_getBalance' ? '0xde0b6b3a7640000' : '0x0') as T,
      ...rpc,
    },
  };
}

function harness(
  self: Address,
  hub = new MemoryGossipHub(),
  vaultOf: CoordinatorModules['vaultOf'] = () => undefined,
) {
  let now = 1_000_000;
  const sent: TxRequest[] = [];
  const chain = {
    landed: false,
    plan: liquidatable() as Plan,
    sendError: undefined as unknown,
    status: 1,
    gasUsed: 200_000n,
    /** When set, receipts wait for it (a transaction broadcast and not mined yet). */
    mined: undefined as Promise<void> | undefined,
    /** Thrown after the broadcast, instead of a receipt (an RPC failing while the queue waits). */
    receiptError: undefined as unknown,
    /** Receipts the chain answers by hash (transactions a crashed process sent). */
    receipts: new Map<string, TransactionReceipt>(),
  };
  const engine = fakeEngine(
    async (tx, hooks): Promise<SendResult> => {
      if (chain.sendError !== undefined) throw chain.sendError;
      sent.push(tx);
      const hash = `0x${String(sent.length).padStart(64, '0')}` as Hex;
      await hooks?.onBroadcast?.(hash, 7, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
      if (chain.receiptError !== undefined) throw chain.receiptError;
      await chain.mined;
      // A successful liquidate always emits Liquidated for its sub-account, naming the sender.
      const { account, subaccount } =
        chain.plan.kind === 'liquidatable' ? chain.plan.params : { account: ACCOUNT, subaccount: 0n };
      const receipt = {
        status: chain.status,
        gasUsed: chain.gasUsed,
        hash,
        logs: chain.status === 1 ? [liquidatedLog(self, account, subaccount)] : [],
        blockNumber: 101,
      } as unknown as TransactionReceipt;
      return { receipt, hash, hashes: [hash], nonce: 7, bumps: 0 };
    },
    {
      getLogs: async () => (chain.landed ? [{ transactionHash: `0x${'ab'.repeat(32)}` } as never] : []),
      getReceipt: async (hash) => chain.receipts.get(hash) ?? null,
    },
  );
  const journal = memoryJournal();
  const gossip = hub.join(self);
  const claims: LiquidationClaim[] = [];
  gossip.subscribe<LiquidationClaim>('claim', (m) => void claims.push(m.payload));
  let unhealthy = [cand];
  let live = signers;
  /** What the node's xmargin_liquidation_seconds would observe. */
  const landings: number[] = [];
  const coordinator = new Coordinator(
    // One transaction per liquidation here; batching has its own tests (batcher.test.ts).
    { deadlineMs: 10_000, firstSightDelayMs: 0, followUpPollMs: 5, batch: { maxItems: 1 } },
    {
      self,
      gossip,
      journal,
      candidates: { unhealthy: () => unhealthy, onChange: () => {} },
      liveLiquidators: () => live,
      engines: new Map([[EID, engine]]),
      vaultOf,
      plan: async () => chain.plan,
      onLanded: (seconds) => landings.push(seconds),
      now: () => now,
    },
  );
  coordinator.subscribe();
  return {
    coordinator,
    journal,
    sent,
    claims,
    chain,
    landings,
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    setUnhealthy: (c: Candidate[]) => {
      unhealthy = c;
    },
    setLive: (l: Address[]) => {
      live = l;
    },
  };
}

const order = rendezvousOrder(rankKey(EID, ACCOUNT, 0n), signers);
const byRank = (k: number) => order[k] as Address;

describe('rendezvous ranking of liquidators', () => {
  it('every node computes the same order, and a node leaving only moves what it ranked first for', () => {
    for (const s of signers)
      expect(rendezvousRank(rankKey(EID, ACCOUNT, 0n), s, signers)).toBe(
        order.indexOf(s.toLowerCase() as Address),
      );
    const without = rendezvousOrder(
      rankKey(EID, ACCOUNT, 0n),
      signers.filter((s) => s.toLowerCase() !== order[0]),
    );
    expect(without).toEqual(order.slice(1));
    // The key covers the engine chain and the sub-account.
    expect(rankKey(EID, ACCOUNT, 0n)).not.toBe(rankKey(EID, ACCOUNT, 1n));
    expect(rankKey(EID, ACCOUNT, 0n)).not.toBe(rankKey(EID + 1, ACCOUNT, 0n));
  });
});

describe('coordinator', () => {
  it('rank 0 claims, sends and records claimed → sent → landed', async () => {
    const h = harness(byRank(0));
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
    // Claims wait a few ms for others of the same batch to share their message.
    await vi.waitFor(() => expect(h.claims).toHaveLength(1));
    expect(h.claims[0]).toMatchObject({
      kind: 'liquidation',
      engineEid: EID,
      subaccount: '0',
      stateKey: STATE,
    });
    const [r] = await h.journal.list();
    expect(r?.status).toBe('landed');
    expect(r?.rank).toBe(0);
    expect(Object.keys(r?.timestamps ?? {}).sort()).toEqual(['claimed', 'landed', 'sent']);
    expect(r?.txHashes).toHaveLength(1);
  });

  it('reports a landing of ours with the seconds from first seen unhealthy to the receipt', async () => {
    const h = harness(byRank(0));
    // The block that made it unhealthy reached the view 1.5 s ago; the receipt comes 2 s after the send.
    h.setUnhealthy([
      { ...cand, since: { block: 99, seenAt: h.now() - 1_500, screenedAt: h.now(), tip: false } },
    ]);
    let mine = (): void => {};
    h.chain.mined = new Promise<void>((r) => {
      mine = r;
    });
    await h.coordinator.pass();
    expect(h.sent).toHaveLength(1);
    expect(h.landings).toEqual([]);
    h.advance(2_000);
    mine();
    await h.coordinator.settled();
    expect(h.landings).toEqual([3.5]);
  });

  it('a takeover without a source timestamp counts from its own first sight; no landing, no report', async () => {
    const h = harness(byRank(1));
    await h.coordinator.tick();
    h.advance(10_000);
    h.chain.status = 0; // reverted: not a landing
    h.chain.plan = liquidatable();
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
    expect(h.landings).toEqual([]);
    h.chain.status = 1;
    h.chain.plan = liquidatable(`0x${'33'.repeat(32)}` as Hex); // a new state, sent and landed
    h.advance(500);
    await h.coordinator.tick();
    expect(h.landings).toEqual([10.5]);
  });

  it('never sends twice for one sub-account state', async () => {
    const h = harness(byRank(0));
    await h.coordinator.tick();
    await h.coordinator.tick(); // the source still reports it (it lags the chain)
    expect(h.sent).toHaveLength(1);
    h.chain.plan = liquidatable(`0x${'22'.repeat(32)}` as Hex); // a new state (e.g. price fell further)
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(2);
  });

  it('rank 1 waits one deadline, then takes over if nothing landed', async () => {
    const h = harness(byRank(1));
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    expect((await h.journal.list())[0]?.status).toBe('detected');
    h.advance(9_999);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    h.advance(1);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
    expect((await h.journal.list())[0]).toMatchObject({ status: 'landed', rank: 1 });
  });

  it('ranks again when the live set changes: rank 1 acts at once when the first-ranked node leaves', async () => {
    const h = harness(byRank(1));
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    h.setLive(signers.filter((s) => s.toLowerCase() !== byRank(0)));
    await h.coordinator.tick(); // no time has passed: only rank 0 may send now
    expect(h.sent).toHaveLength(1);
    expect((await h.journal.list())[0]?.status).toBe('landed');
  });

  it('rank 2 waits two deadlines', async () => {
    const h = harness(byRank(2));
    await h.coordinator.tick();
    h.advance(10_000);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    h.advance(10_000);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
  });

  it('does not take over when a Liquidated event landed since detection: records lost', async () => {
    const h = harness(byRank(1));
    await h.coordinator.tick();
    h.chain.landed = true;
    h.advance(10_000);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    expect((await h.journal.list())[0]?.status).toBe('lost');
  });

  it('defers to a live claim heard on gossip, even when its own turn came', async () => {
    const hub = new MemoryGossipHub();
    const h = harness(byRank(1), hub);
    const other = hub.join(byRank(0));
    await h.coordinator.tick();
    h.advance(10_000);
    await other.publish<LiquidationClaim>('claim', {
      kind: 'liquidation',
      engineEid: EID,
      account: ACCOUNT,
      subaccount: '0',
      stateKey: STATE,
      claimant: byRank(0),
      deadline: 1_000_000 + 15_000,
    });
    await flush();
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    h.advance(5_000);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
  });

  it('defers to a live claim that arrived inside a batch message', async () => {
    const hub = new MemoryGossipHub();
    const h = harness(byRank(1), hub);
    const other = hub.join(byRank(0));
    await h.coordinator.tick();
    h.advance(10_000);
    await other.publish<LiquidationClaims>('claim', {
      kind: 'liquidations',
      engineEid: EID,
      claimant: byRank(0),
      deadline: 1_000_000 + 15_000,
      items: [
        { account: ACCOUNT, subaccount: '7', stateKey: STATE },
        { account: ACCOUNT, subaccount: '0', stateKey: STATE },
      ],
    });
    await flush();
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    expect(h.coordinator.counters.claimsHeard).toBe(2);
    h.advance(5_000);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
  });

  it('ignores a claim whose claimant is not its signer', async () => {
    const hub = new MemoryGossipHub();
    const h = harness(byRank(1), hub);
    const liar = hub.join(byRank(2));
    await liar.publish<LiquidationClaim>('claim', {
      kind: 'liquidation',
      engineEid: EID,
      account: ACCOUNT,
      subaccount: '0',
      stateKey: STATE,
      claimant: byRank(0),
      deadline: 2_000_000,
    });
    await flush();
    await h.coordinator.tick();
    h.advance(10_000);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
  });

  it('a lost race (estimation reverts HealthyAccount) is recorded as lost and not retried', async () => {
    const h = harness(byRank(0));
    h.chain.sendError = { data: ENGINE.encodeErrorResult('HealthyAccount', [2n * 10n ** 18n]) };
    await h.coordinator.tick();
    expect((await h.journal.list())[0]).toMatchObject({ status: 'lost' });
    expect((await h.journal.list())[0]?.error).toMatch(/^HealthyAccount/);
    h.chain.sendError = undefined;
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
  });

  it('a reverted receipt after which the engine says healthy is lost; another revert is failed', async () => {
    const h = harness(byRank(0));
    h.chain.status = 0;
    h.chain.plan = liquidatable();
    const plans = [
      liquidatable(),
      {
        kind: 'healthy',
        stateKey: STATE,
        health: liquidatable().health,
        reason: 'HealthyAccount(1)',
      } as Plan,
    ];
    let i = 0;
    (h.coordinator as unknown as { m: { plan: () => Promise<Plan> } }).m.plan = async () =>
      plans[Math.min(i++, 1)] as Plan;
    await h.coordinator.tick();
    expect((await h.journal.list())[0]).toMatchObject({ status: 'lost' });
  });

  it('out of gas at a limit learned from earlier liquidations: the same state is sent again with an estimate', async () => {
    const h = harness(byRank(0));
    await h.coordinator.tick(); // lands at 200k gas: this shape's limit becomes 350k
    expect((await h.journal.list())[0]).toMatchObject({ status: 'landed' });
    expect(h.sent[0]?.gasLimit).toBeUndefined();

    const next = `0x${'44'.repeat(32)}` as Hex;
    h.chain.plan = liquidatable(next);
    h.chain.status = 0;
    h.chain.gasUsed = 349_000n; // >= 31/32 of 350k: ran out
    await h.coordinator.tick();
    expect(h.sent[1]?.gasLimit).toBe(350_000n);
    const oog = (await h.journal.list()).find((r) => r.stateKey === next);
    expect(oog).toMatchObject({ status: 'failed', outOfGas: true });

    h.chain.status = 1;
    h.chain.gasUsed = 420_000n;
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(3);
    expect(h.sent[2]?.gasLimit).toBeUndefined(); // estimated this time
    expect((await h.journal.list()).find((r) => r.stateKey === next)).toMatchObject({
      status: 'landed',
      outOfGas: false,
    });
  });

  it('a revert that is not out of gas is not sent again for the same state', async () => {
    const h = harness(byRank(0));
    await h.coordinator.tick();
    const next = `0x${'55'.repeat(32)}` as Hex;
    h.chain.plan = liquidatable(next);
    h.chain.status = 0;
    h.chain.gasUsed = 120_000n; // well under the 350k limit: a plain revert
    await h.coordinator.tick();
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(2);
    expect((await h.journal.list()).find((r) => r.stateKey === next)).toMatchObject({ status: 'failed' });
  });

  it('a healthy simulation is recorded and nothing is sent; a failed one records the reason', async () => {
    const h = harness(byRank(0));
    h.chain.plan = {
      kind: 'healthy',
      stateKey: STATE,
      health: liquidatable().health,
      reason: 'HealthyAccount(2)',
    } as Plan;
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    expect((await h.journal.list())[0]).toMatchObject({ status: 'healthy' });
    const k = `0x${'33'.repeat(32)}` as Hex;
    h.chain.plan = { kind: 'failed', stateKey: k, health: undefined, reason: 'ERC20InsufficientBalance(…)' };
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    expect((await h.journal.list()).find((r) => r.stateKey === k)).toMatchObject({
      status: 'failed',
      error: 'ERC20InsufficientBalance(…)',
    });
  });

  it('closes a waiting record when the sub-account leaves the unhealthy set', async () => {
    const h = harness(byRank(2));
    await h.coordinator.tick();
    h.setUnhealthy([]);
    h.chain.landed = true;
    await h.coordinator.tick();
    expect((await h.journal.list())[0]).toMatchObject({ status: 'lost' });
  });

  it('a pass returns once the transaction is out; the outcome settles in the background', async () => {
    const h = harness(byRank(0));
    let mine = (): void => {};
    h.chain.mined = new Promise((r) => {
      mine = r;
    });
    h.setUnhealthy([{ ...cand, since: { block: 99, seenAt: 999_000, screenedAt: 999_500, tip: true } }]);
    await h.coordinator.pass();
    expect(h.sent).toHaveLength(1);
    const [sent] = await h.journal.list();
    expect(sent?.status).toBe('sent');
    // Where the time went, from the block that made it unhealthy to the broadcast.
    expect(sent?.trace).toMatchObject({ block: 99, tip: true, seen: 999_000, screened: 999_500 });
    expect(sent?.trace?.claimed).toBeGreaterThanOrEqual(sent?.trace?.simulated ?? Number.POSITIVE_INFINITY);
    // Still busy while in flight: a second pass does not send again.
    await h.coordinator.pass();
    expect(h.sent).toHaveLength(1);
    mine();
    await h.coordinator.settled();
    expect((await h.journal.list())[0]?.status).toBe('landed');
  });

  it('sends what it is ranked first for before simulating the others', async () => {
    const h = harness(byRank(0));
    // Sub-accounts 0..5: rank 0 for some, not for others (rendezvous over the three signers).
    const subs = [0n, 1n, 2n, 3n, 4n, 5n].map((subaccount) => ({ ...cand, subaccount }));
    const mine = subs.filter(
      (c) => rendezvousRank(rankKey(EID, ACCOUNT, c.subaccount), byRank(0), signers) === 0,
    );
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBeLessThan(subs.length);
    const order: string[] = [];
    (
      h.coordinator as unknown as { m: { plan: (r: unknown, req: { subaccount: bigint }) => Promise<Plan> } }
    ).m.plan = async (_r, req) => {
      order.push(String(req.subaccount));
      return liquidatable(`0x${req.subaccount.toString(16).padStart(64, '0')}` as Hex);
    };
    h.setUnhealthy(subs);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(mine.length);
    expect(order.slice(0, mine.length).sort()).toEqual(mine.map((c) => String(c.subaccount)).sort());
  });

  it('a state whose simulation failed (nothing sent) is tried again; one that was sent is not', async () => {
    const h = harness(byRank(0));
    h.chain.plan = { kind: 'failed', stateKey: STATE, health: undefined, reason: 'Panic(17)' };
    await h.coordinator.tick();
    expect((await h.journal.list())[0]).toMatchObject({ status: 'failed', error: 'Panic(17)' });
    h.chain.plan = liquidatable(); // same state, the revert was transient
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
    expect((await h.journal.list())[0]?.status).toBe('landed');
    h.chain.status = 0; // a new state whose transaction reverts on chain: failed, with its hash
    h.chain.plan = liquidatable(`0x${'44'.repeat(32)}` as Hex);
    await h.coordinator.tick();
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(2);
  });

  it('a first look after the first-ranked node already liquidated journals the loss', async () => {
    const h = harness(byRank(1));
    h.chain.landed = true;
    const { health } = liquidatable();
    h.chain.plan = { kind: 'healthy', stateKey: STATE, health, reason: 'health 2e18' } as Plan;
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
    expect((await h.journal.list())[0]).toMatchObject({ status: 'lost', rank: 1 });
  });
});

describe('coordinator when the receipt wait fails', () => {
  it('follows the broadcast transaction to its receipt instead of calling the attempt failed', async () => {
    const h = harness(byRank(0));
    h.chain.receiptError = new Error('devnet-b (http://127.0.0.1:1): timed out');
    await h.coordinator.pass();
    await new Promise((r) => setTimeout(r, 30));
    expect(h.sent).toHaveLength(1);
    const hash = `0x${'1'.padStart(64, '0')}` as Hex;
    expect((await h.journal.list())[0]).toMatchObject({ status: 'sent', txHash: hash });
    h.chain.receipts.set(hash, {
      status: 1,
      gasUsed: 1n,
      hash,
      logs: [liquidatedLog(byRank(0))],
      blockNumber: 101,
    } as unknown as TransactionReceipt);
    await h.coordinator.settled();
    expect((await h.journal.list())[0]).toMatchObject({
      status: 'landed',
      txHash: hash,
      error: 'receipt found after the receipt wait failed',
    });
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1); // the same state is never sent again
  });
});

describe('coordinator after a restart', () => {
  const HASH = `0x${'ab'.repeat(32)}` as Hex;
  /** The journal a process killed right after its broadcast leaves behind: claimed, then sent. */
  async function crashedAfterBroadcast(h: ReturnType<typeof harness>): Promise<void> {
    await crashedAfterClaim(h);
    const r = await h.journal.get(attemptId(EID, ACCOUNT, 0n, STATE));
    await h.journal.put({
      ...(r as LiquidationRecord),
      status: 'sent',
      txHash: HASH,
      txHashes: [HASH],
      timestamps: { claimed: 1, sent: 2 },
    });
  }
  /** Killed between journaling the claim and journaling the broadcast. */
  async function crashedAfterClaim(h: ReturnType<typeof harness>): Promise<void> {
    await h.journal.put({
      id: attemptId(EID, ACCOUNT, 0n, STATE),
      engineEid: EID,
      account: ACCOUNT,
      subaccount: 0n,
      stateKey: STATE,
      status: 'claimed',
      rank: 0,
      fromBlock: 100,
      timestamps: { claimed: 1 },
      updatedAt: 1,
    });
  }
  /** Recovers, lets the recovery settle and runs one pass: the record then, and the sends so far. */
  async function afterRestart(h: ReturnType<typeof harness>) {
    await h.coordinator.recover();
    await h.coordinator.settled();
    const record = (await h.journal.list())[0];
    await h.coordinator.tick();
    return { record, sends: h.sent.length };
  }
  const minedReceipt = (status: number) =>
    ({
      status,
      gasUsed: 1n,
      hash: HASH,
      logs: status === 1 ? [liquidatedLog(byRank(0))] : [],
      blockNumber: 101,
    }) as unknown as TransactionReceipt;

  it('a record left sent is closed landed from its receipt, and the state is not sent again', async () => {
    const h = harness(byRank(0));
    await crashedAfterBroadcast(h);
    // Still pending: the sub-account still looks unhealthy at the same state, and nothing goes out.
    expect(await h.coordinator.recover()).toBe(1);
    await h.coordinator.pass();
    await new Promise((r) => setTimeout(r, 30));
    expect(h.sent).toHaveLength(0);
    expect((await h.journal.list())[0]?.status).toBe('sent');
    h.chain.receipts.set(HASH, minedReceipt(1));
    await h.coordinator.settled();
    const [r] = await h.journal.list();
    expect(r).toMatchObject({ status: 'landed', txHash: HASH, rank: 0 });
    // Found after a restart: its latency is unknown, so the metric does not see it.
    expect(h.landings).toEqual([]);
    expect(Object.keys(r?.timestamps ?? {}).sort()).toEqual(['claimed', 'landed', 'sent']);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(0);
  });

  it.each([
    // A reverted transaction changed nothing, or someone else was first: not retried either way.
    { left: 'sent', receipt: 0, closed: 'failed' },
    // Its transaction went out before the crash could journal it: found by our Liquidated log.
    { left: 'claimed', receipt: 1, closed: 'landed' },
  ] as const)(
    'a record left $left whose transaction was mined (status $receipt) is closed $closed, not sent again',
    async ({ left, receipt, closed }) => {
      const h = harness(byRank(0));
      await (left === 'sent' ? crashedAfterBroadcast(h) : crashedAfterClaim(h));
      h.chain.landed = receipt === 1;
      h.chain.receipts.set(HASH, minedReceipt(receipt));
      const { record, sends } = await afterRestart(h);
      expect(record).toMatchObject({ status: closed, txHash: HASH });
      expect(sends).toBe(0);
    },
  );

  it('a record left claimed with nothing of ours pending or landed is failed without a hash, then sent once', async () => {
    const h = harness(byRank(0));
    await crashedAfterClaim(h);
    const { record, sends } = await afterRestart(h);
    expect(record).toMatchObject({ status: 'failed' });
    expect(record?.txHash).toBeUndefined();
    expect(sends).toBe(1);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
  });

  it('a record left landed with seizures pending or queued resumes their follow-up to the payouts', async () => {
    const me = byRank(0);
    const WETH = '0x00000000000000000000000000000000000000c1' as Address;
    const VAULT_ADDR = '0x00000000000000000000000000000000000000f1' as Address;
    const [remote, held] = [`0x${'5a'.repeat(32)}`, `0x${'5b'.repeat(32)}`] as [Hex, Hex];
    const logs: { topics: Hex[]; data: Hex; blockNumber: number; transactionHash: Hex }[] = [];
    const vaultRpc: LiqRpc = {
      call: async () => '0x',
      blockNumber: async () => 500,
      getReceipt: async () => null,
      send: async <T>() => '0x' as T,
      getLogs: async (f) =>
        logs.filter((l) => l.topics[1] === f.topics?.[1] && l.blockNumber >= (f.fromBlock ?? 0)) as never,
    };
    const h = harness(me, undefined, () => ({ vault: VAULT_ADDR, rpc: vaultRpc }));
    const seizure = { srcEid: 40_101, token: WETH, amount: 7n };
    await h.journal.put({
      id: attemptId(EID, ACCOUNT, 0n, STATE),
      engineEid: EID,
      account: ACCOUNT,
      subaccount: 0n,
      stateKey: STATE,
      status: 'landed',
      rank: 0,
      txHash: HASH,
      timestamps: { claimed: 1, sent: 2, landed: 3 },
      updatedAt: 3,
      seizures: [
        { ...seizure, id: remote, status: 'pending', fromBlock: 40 },
        { ...seizure, id: held, status: 'queued', fromBlock: 40, queuedBlock: 45 },
      ],
    });
    // Both were paid while the node was down: the SEIZE's PaidOut, and the queue's execution.
    const paid = VAULT.encodeEventLog('PaidOut', [remote, KIND_SEIZE, ACCOUNT, 0n, WETH, 7n, me, EID]);
    const executed = VAULT.encodeEventLog('QueuedPayoutExecuted', [held, false]);
    logs.push({
      ...(paid as { topics: Hex[]; data: Hex }),
      blockNumber: 41,
      transactionHash: `0x${'01'.repeat(32)}`,
    });
    logs.push({
      ...(executed as { topics: Hex[]; data: Hex }),
      blockNumber: 46,
      transactionHash: `0x${'02'.repeat(32)}`,
    });
    expect(await h.coordinator.recover()).toBe(1);
    let r: LiquidationRecord | undefined;
    for (let i = 0; i < 200; i++) {
      r = (await h.journal.list())[0];
      if (r?.seizures?.every((z) => z.status === 'paid')) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    expect(r?.status).toBe('landed');
    expect(r?.seizures?.map((z) => [z.status, z.payoutBlock])).toEqual([
      ['paid', 41],
      ['paid', 46],
    ]);
    await h.coordinator.stop();
    expect(h.sent).toHaveLength(0);
  });

  it('nothing to recover in a journal without open sends', async () => {
    const h = harness(byRank(0));
    await h.coordinator.tick();
    expect(await h.coordinator.recover()).toBe(0);
  });
});

describe('coordinator with batching', () => {
  /** The sub-accounts a liquidate or liquidateBatch call liquidates. */
  const subsOf = (data: Hex): bigint[] => {
    const batch = data.startsWith(ENGINE.getFunction('liquidateBatch')?.selector as string);
    const [items] = batch
      ? ENGINE.decodeFunctionData('liquidateBatch', data)
      : [[ENGINE.decodeFunctionData('liquidate', data)[0]]];
    return (items as { subaccount: bigint }[]).map((i) => i.subaccount);
  };

  /**
   * Three sub-accounts this node alone serves (rank 0 for all), planned alike, sent through a batch;
   * `deferred`: the plans leave the simulation to the batcher, which eth_calls liquidateBatch.
   */
  function batchHarness(deferred = false) {
    const self = signers[0] as Address;
    const subs = [1n, 2n, 3n];
    const sent: TxRequest[] = [];
    /** What the engine does with each item of a batch: landed, or the revert data it skips with. */
    const outcome = new Map<bigint, 'landed' | Hex>();
    /** Bumped to give every sub-account a new state (a new episode after a landing). */
    const epoch = { n: 0 };
    const engine = fakeEngine(
      async (tx, hooks): Promise<SendResult> => {
        sent.push(tx);
        const hash = `0x${String(sent.length).padStart(64, '0')}` as Hex;
        await hooks?.onBroadcast?.(hash, 7, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
        const logs = subsOf(tx.data).map((subaccount) => {
          const o = outcome.get(subaccount) ?? 'landed';
          if (o === 'landed') return liquidatedLog(self, ACCOUNT, subaccount);
          const skipped = ENGINE.encodeEventLog('LiquidationSkipped', [ACCOUNT, subaccount, self, o]);
          return { address: ENGINE_ADDR, ...skipped };
        });
        const receipt = { status: 1, gasUsed: 900_000n, hash, logs, blockNumber: 101 };
        return {
          receipt: receipt as unknown as TransactionReceipt,
          hash,
          hashes: [hash],
          nonce: 7,
          bumps: 0,
        };
      },
      {
        // The batcher's simulation: the same outcomes as the chain's.
        call: async (tx) =>
          ENGINE.encodeFunctionResult('liquidateBatch', [
            subsOf(tx.data).map((sub) => {
              const o = outcome.get(sub) ?? 'landed';
              return [o === 'landed', [0n, 0n, 0n, [], [], 0n, 0n], o === 'landed' ? '0x' : o];
            }),
          ]) as Hex,
      },
    );
    const journal = memoryJournal();
    const coordinator = new Coordinator(
      { deadlineMs: 10_000, firstSightDelayMs: 0, batch: { windowMs: 20 } },
      {
        self,
        gossip: new MemoryGossipHub().join(self),
        journal,
        candidates: {
          unhealthy: () =>
            subs.map((subaccount) => ({ account: ACCOUNT, subaccount, health: 9n * 10n ** 17n })),
          onChange: () => {},
        },
        liveLiquidators: () => [self],
        engines: new Map([[EID, engine]]),
        vaultOf: () => undefined,
        plan: async (_rpc, req) => {
          const state = `0x${epoch.n.toString(16).padStart(32, '0')}${req.subaccount.toString(16).padStart(32, '0')}`;
          const p = liquidatable(state as Hex) as Extract<Plan, { kind: 'liquidatable' }>;
          const params = { ...p.params, subaccount: req.subaccount };
          const calldata = ENGINE.encodeFunctionData('liquidate', [params]) as Hex;
          const { expected: _, ...unsimulated } = p;
          return deferred ? { ...unsimulated, params, calldata } : { ...p, params, calldata };
        },
      },
    );
    const statusOf = async (sub: bigint) =>
      (await journal.list()).find((r) => r.subaccount === sub && r.status !== 'detected');
    return { coordinator, sent, outcome, statusOf, epoch };
  }

  it('sends the liquidations of one pass as one liquidateBatch and journals each item from its own events', async () => {
    const h = batchHarness();
    h.outcome.set(2n, ENGINE.encodeErrorResult('HealthyAccount', [10n ** 18n]) as Hex);
    await h.coordinator.tick();
    expect(h.sent).toHaveLength(1);
    const [items] = ENGINE.decodeFunctionData('liquidateBatch', (h.sent[0] as TxRequest).data);
    expect((items as { subaccount: bigint }[]).map((i) => i.subaccount)).toEqual([1n, 2n, 3n]);
    const hash = `0x${'1'.padStart(64, '0')}`;
    expect(await h.statusOf(1n)).toMatchObject({
      status: 'landed',
      txHash: hash,
      healthAfter: 2n * 10n ** 18n,
    });
    expect(await h.statusOf(3n)).toMatchObject({ status: 'landed', txHash: hash });
    // Another node was first on sub-account 2: the batch skipped it, and we lost that race.
    expect(await h.statusOf(2n)).toMatchObject({
      status: 'lost',
      txHash: hash,
      error: `skipped in its batch: HealthyAccount(${10n ** 18n})`,
    });
  });

  it('deferred plans: the batch simulation refuses a lost race before anything goes out', async () => {
    const h = batchHarness(true);
    h.outcome.set(2n, ENGINE.encodeErrorResult('HealthyAccount', [10n ** 18n]) as Hex);
    await h.coordinator.tick();
    expect(h.sent.map((tx) => subsOf(tx.data))).toEqual([[1n, 3n]]);
    expect(await h.statusOf(2n)).toMatchObject({ status: 'lost', error: `HealthyAccount(${10n ** 18n})` });
    expect((await h.statusOf(2n))?.txHash).toBeUndefined();
    expect(await h.statusOf(1n)).toMatchObject({ status: 'landed' });
  });

  it("a landed batch teaches its shape's gas: the next batch carries a limit instead of an estimate", async () => {
    const h = batchHarness();
    await h.coordinator.tick();
    expect(h.sent[0]?.gasLimit).toBeUndefined(); // nothing known yet: the queue estimates
    h.epoch.n++; // the sub-accounts fall unhealthy again, in new states
    await h.coordinator.tick();
    // 900k for 3 landed items: 300k each; each item's limit 1.5 × 300k, plus the batch's overheads.
    const limit = h.sent[1]?.gasLimit as bigint;
    expect(limit).toBeGreaterThanOrEqual(3n * 450_000n);
    expect(limit).toBeLessThan(3n * 450_000n + 200_000n);
  });

  it('an item skipped without revert data (out of gas inside the batch) is failed and sent again', async () => {
    const h = batchHarness();
    h.outcome.set(3n, '0x');
    await h.coordinator.tick();
    expect(await h.statusOf(3n)).toMatchObject({ status: 'failed', outOfGas: true });
    h.outcome.delete(3n);
    await h.coordinator.tick();
    // Only sub-account 3 goes out again (1 and 2 landed): a plain liquidate this time.
    expect(h.sent).toHaveLength(2);
    expect((h.sent[1] as TxRequest).data.slice(0, 10)).toBe(ENGINE.getFunction('liquidate')?.selector);
  });
});
