// The weight proposer with a faked engine chain (a governor that checks nonce, deadline, quorum and
// ascending signers like WeightGovernor.updateWeight) and attestors on the in-memory gossip, with a
// manual clock: the first-ranked attestor submits once the quorum is there and the others record the
// update as applied; when the first-ranked is gone the next takes over after the deadline; a round
// whose nonce the governor moved past is dropped as stale and never sent.

import { type TransactionReceipt, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { rendezvousOrder } from '../../../attestor/rendezvous.ts';
import type { ChainLog } from '../../../relayer/chain/rpc.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { ENGINE } from '../../../relayer/liquidation/abi.ts';
import type { SendHooks, SendResult, TxRequest } from '../../../relayer/liquidation/sender.ts';
import { type Journal, memoryRecords } from '../../../relayer/store/journal.ts';
import { GOVERNOR } from '../../../relayer/weights/chain.ts';
import { deadlineFor, recoverWeightSigner, weightDigest } from '../../../relayer/weights/eip712.ts';
import type { WeightRecord } from '../../../relayer/weights/journal.ts';
import { WAD } from '../../../relayer/weights/propose.ts';
import { WeightProposer } from '../../../relayer/weights/proposer.ts';
import { MemoryGossipHub } from '../../support/gossip.ts';

const EID = 40_103;
const ENGINE_C = '0x00000000000000000000000000000000000000cc' as Address;
const GOV = '0x00000000000000000000000000000000000000c9' as Address;
const WETH = 1;
const DEADLINE_MS = 5_000;
const T0 = 1_800_000_000_000;
const wallets = [1, 2, 3].map((i) => new Wallet(`0x${i.toString(16).padStart(64, '0')}`));
const signers = wallets.map((w) => w.address as Address);
const pct = (x: number): bigint => (BigInt(x) * WAD) / 100n;
/** Lets gossip deliveries, the quorum's kick and the sends run (timers and immediates). */
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 5));
};

/** A governor + engine for one asset, checking what WeightGovernor checks. */
function fakeChain(now: () => number) {
  const s = {
    weight: pct(80),
    nonce: 0n,
    lastUpdate: 0n,
    sends: [] as { by: Address; hash: Hex; data: Hex; nonce: bigint; weight: bigint; previous: bigint }[],
    /** The next send lands but its receipt wait fails (an RPC timeout after the broadcast). */
    loseNextReceipt: false,
  };
  const bounds = [pct(50), pct(95), pct(5), 60n];
  const rpc = {
    async call(tx: { to: Address; data: Hex }): Promise<Hex> {
      if (tx.to === ENGINE_C)
        return ENGINE.encodeFunctionResult('riskAsset', [[ENGINE_C, s.weight, true]]) as Hex;
      const f = GOVERNOR.parseTransaction({ data: tx.data });
      if (f?.name === 'bounds') return GOVERNOR.encodeFunctionResult('bounds', [bounds]) as Hex;
      if (f?.name === 'nonces') return GOVERNOR.encodeFunctionResult('nonces', [s.nonce]) as Hex;
      return GOVERNOR.encodeFunctionResult('lastUpdate', [s.lastUpdate]) as Hex;
    },
    async getReceipt(hash: Hex): Promise<TransactionReceipt | null> {
      return s.sends.some((x) => x.hash === hash) ? ({ status: 1 } as TransactionReceipt) : null;
    },
    async blockNumber(): Promise<number> {
      return 100 + s.sends.length;
    },
    /** WeightUpdated logs of the landed sends (the assetId topic is WETH's in these tests). */
    async getLogs(): Promise<ChainLog[]> {
      return s.sends.map((x, i) => {
        const log = GOVERNOR.encodeEventLog('WeightUpdated', [WETH, x.previous, x.weight, x.nonce, x.by]);
        return {
          address: GOV,
          topics: log.topics as Hex[],
          data: log.data as Hex,
          blockNumber: 100 + i,
          blockHash: x.hash,
          transactionHash: x.hash,
          transactionIndex: 0,
          logIndex: 0,
        };
      });
    },
    async send<T>(method: string, params: unknown[]): Promise<T> {
      const x = s.sends.find((y) => y.hash === params[0]);
      if (method !== 'eth_getTransactionByHash') throw new Error(`unexpected ${method}`);
      return (x === undefined ? null : { input: x.data, from: x.by }) as T;
    },
  };
  const senderOf = (by: Address) => ({
    async send(tx: TxRequest, hooks?: SendHooks): Promise<SendResult> {
      const [assetId, weight, deadline, sigs] = GOVERNOR.decodeFunctionData(
        'updateWeight',
        tx.data,
      ) as unknown as [bigint, bigint, bigint, Hex[]];
      const update = {
        chainId: EID,
        governor: GOV,
        assetId: Number(assetId),
        weight,
        nonce: s.nonce,
        deadline,
      };
      if (deadline < BigInt(Math.floor(now() / 1000))) throw new Error('DeadlinePassed');
      if (sigs.length < 2) throw new Error('QuorumNotMet');
      let previous = 0n;
      for (const sig of sigs) {
        const signer = BigInt(recoverWeightSigner(update, sig)); // over the *current* nonce
        if (!signers.some((a) => BigInt(a) === signer)) throw new Error('UnknownSigner');
        if (signer <= previous) throw new Error('SignersNotAscending');
        previous = signer;
      }
      const previousWeight = s.weight;
      s.weight = weight;
      s.nonce++;
      s.lastUpdate = BigInt(Math.floor(now() / 1000));
      const hash = `0x${String(s.sends.length + 1).padStart(64, '0')}` as Hex;
      s.sends.push({ by, hash, data: tx.data, nonce: s.nonce - 1n, weight, previous: previousWeight });
      await hooks?.onBroadcast?.(hash, 0, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
      if (s.loseNextReceipt) {
        s.loseNextReceipt = false;
        throw new Error('no receipt after 60000 ms');
      }
      return { receipt: { status: 1 } as TransactionReceipt, hash, hashes: [hash], nonce: 0, bumps: 0 };
    },
  });
  return { state: s, rpc, senderOf };
}

/** A journal whose reads take a few milliseconds, like a store under load. */
function slowRecords(): Journal<WeightRecord> {
  const inner = memoryRecords<WeightRecord>();
  return {
    get: async (id) => {
      const r = await inner.get(id);
      await new Promise((resolve) => setTimeout(resolve, 3));
      return r;
    },
    put: (r) => inner.put(r),
    list: () => inner.list(),
  };
}

function network(
  running: number[],
  journalOf: () => Journal<WeightRecord> = memoryRecords,
  /** A node that measures no volatility: it never proposes, so it signs nothing. */
  quiet?: number,
) {
  let clock = T0;
  const now = () => clock;
  const chain = fakeChain(now);
  const hub = new MemoryGossipHub();
  const nodes = running.map((i) => {
    const wallet = wallets[i] as Wallet;
    const journal = journalOf();
    const proposer = new WeightProposer(
      { intervalMs: 2_000, tickMs: 3_600_000, deadlineMs: DEADLINE_MS, epochSec: 60 },
      {
        wallet,
        gossip: hub.join(wallet.address as Address),
        dvn: { signers, quorum: 2 },
        chains: [
          {
            eid: EID,
            name: 'devnet-c',
            chainId: EID,
            engine: ENGINE_C,
            governor: GOV,
            rpc: chain.rpc,
            sender: chain.senderOf(wallet.address as Address),
            assets: [{ assetId: WETH, symbol: 'WETH', priceKey: 'weth' }],
          },
        ],
        // A volatility jump: every node proposes one step down.
        sigma: () => (i === quiet ? undefined : 0.5),
        // All three count as live (heartbeats), whether they run or not.
        liveSigners: () => signers,
        journal,
        now,
      },
    );
    return { index: i, signer: wallet.address.toLowerCase(), proposer, journal };
  });
  return {
    chain,
    nodes,
    advance: (ms: number) => {
      clock += ms;
    },
    /** The update every node signs first, and its submitters' order. */
    firstOrder: () => {
      const deadline = deadlineFor(Math.floor(T0 / 1000), 60);
      const digest = weightDigest({
        chainId: EID,
        governor: GOV,
        assetId: WETH,
        weight: pct(75),
        nonce: 0n,
        deadline,
      });
      return { digest, order: rendezvousOrder(digest, signers) };
    },
    async tickAll() {
      for (const n of nodes) await n.proposer.tick();
      await flush();
    },
    async stop() {
      for (const n of nodes) await n.proposer.stop();
    },
  };
}

describe('weight proposer', () => {
  it('the first-ranked attestor submits the quorum once; the others record it applied', async () => {
    const net = network([0, 1, 2]);
    for (const n of net.nodes) n.proposer.start();
    await flush();
    const { digest, order } = net.firstOrder();
    expect(net.chain.state.sends.map((s) => s.by.toLowerCase())).toEqual([order[0]]);
    expect(net.chain.state).toMatchObject({ weight: pct(75), nonce: 1n });
    // The next proposal round: every node sees the nonce moved with its weight.
    net.advance(2_000);
    await net.tickAll();
    for (const n of net.nodes) {
      const r = await n.journal.get(digest);
      expect(r?.status).toBe('applied');
      expect(r?.submittedByUs === true).toBe(n.signer === order[0]);
    }
    // Within the governor's min interval nothing more is signed.
    expect(net.chain.state.sends).toHaveLength(1);
    expect(net.nodes[0]?.proposer.proposals()[0]).toMatchObject({
      current: pct(75),
      proposed: pct(70),
      reason: 'governor min interval not passed',
    });
    await net.stop();
  });

  it('the next-ranked attestor takes over after the deadline when the first is gone', async () => {
    const order = network([]).firstOrder().order;
    const missing = signers.findIndex((s) => s.toLowerCase() === order[0]);
    const net = network([0, 1, 2].filter((i) => i !== missing));
    for (const n of net.nodes) n.proposer.start();
    await flush();
    expect(net.chain.state.sends).toEqual([]); // rank 1 waits one deadline
    net.advance(DEADLINE_MS - 1);
    await net.tickAll();
    expect(net.chain.state.sends).toEqual([]);
    net.advance(1);
    await net.tickAll();
    expect(net.chain.state.sends.map((s) => s.by.toLowerCase())).toEqual([order[1]]);
    expect(net.chain.state.weight).toBe(pct(75));
    await net.stop();
  });

  it('a node that heard none of the signatures records the update that landed from the chain', async () => {
    const { digest, order } = network([]).firstOrder();
    const deaf = signers.findIndex((s) => s.toLowerCase() === order[2]);
    const net = network([0, 1, 2], memoryRecords, deaf);
    const late = net.nodes.find((n) => n.index === deaf);
    // It reads the governor before the update (a node that has been running), then hears nothing:
    // not started, so not subscribed to the gossiped signatures.
    await late?.proposer.tick();
    for (const n of net.nodes) if (n !== late) n.proposer.start();
    await flush();
    expect(net.chain.state).toMatchObject({ weight: pct(75), nonce: 1n });
    expect(await late?.journal.get(digest)).toBeUndefined();
    net.advance(2_000);
    await late?.proposer.tick();
    const r = await late?.journal.get(digest);
    expect(r).toMatchObject({
      status: 'applied',
      weight: pct(75),
      previousWeight: pct(80),
      nonce: 0n,
      txHash: net.chain.state.sends[0]?.hash,
      submittedByUs: false,
    });
    expect(new Set(r?.signers)).toEqual(new Set([order[0], order[1]]));
    // Once: the next read of the same nonce adds nothing.
    net.advance(2_000);
    await late?.proposer.tick();
    expect((await late?.journal.list())?.length).toBe(1);
    await net.stop();
  });

  it('drops a round whose nonce the governor moved past, and sends nothing', async () => {
    const net0 = network([]);
    const { digest, order } = net0.firstOrder();
    const missing = signers.findIndex((s) => s.toLowerCase() === order[0]);
    const net = network([0, 1, 2].filter((i) => i !== missing));
    for (const n of net.nodes) n.proposer.start();
    await flush();
    // The owner sets the weight while rank 1 waits for its turn.
    net.chain.state.nonce = 1n;
    net.chain.state.weight = pct(70);
    net.advance(DEADLINE_MS);
    for (const n of net.nodes) await n.proposer.tick();
    await flush();
    expect(net.chain.state.sends).toEqual([]);
    for (const n of net.nodes) expect((await n.journal.get(digest))?.status).toBe('stale');
    await net.stop();
  });

  it('signatures gossiped while the submitter records its transaction do not undo the record', async () => {
    const net = network([0, 1, 2], slowRecords);
    for (const n of net.nodes) n.proposer.start();
    const { digest, order } = net.firstOrder();
    // Every node re-gossips its own signature each tick, so the submitter hears them while it writes.
    for (let i = 0; i < 20 && net.chain.state.sends.length === 0; i++) await net.tickAll();
    for (let i = 0; i < 3; i++) await net.tickAll();
    await flush();
    const submitter = net.nodes.find((n) => n.signer === order[0]);
    const r = await submitter?.journal.get(digest);
    expect(r).toMatchObject({
      status: 'applied',
      submittedByUs: true,
      txHash: net.chain.state.sends[0]?.hash,
    });
    await net.stop();
  });

  it('a sent update whose receipt wait failed is not sent again, and ends applied as ours', async () => {
    const net = network([0, 1, 2]);
    net.chain.state.loseNextReceipt = true;
    for (const n of net.nodes) n.proposer.start();
    await flush();
    const { digest, order } = net.firstOrder();
    expect(net.chain.state.sends.map((s) => s.by.toLowerCase())).toEqual([order[0]]);
    const submitter = net.nodes.find((n) => n.signer === order[0]);
    expect((await submitter?.journal.get(digest))?.status).toBe('submitted');
    // Ticks before the next proposal round: the round is neither re-sent nor taken over by rank 1.
    net.advance(DEADLINE_MS);
    await net.tickAll();
    expect(net.chain.state.sends).toHaveLength(1);
    // The next proposal round sees the nonce moved and finds our transaction's receipt.
    net.advance(2_000);
    await net.tickAll();
    expect(await submitter?.journal.get(digest)).toMatchObject({
      status: 'applied',
      submittedByUs: true,
      txHash: net.chain.state.sends[0]?.hash,
    });
    for (const n of net.nodes.filter((x) => x !== submitter))
      expect(await n.journal.get(digest)).toMatchObject({ status: 'applied' });
    expect(net.chain.state.sends).toHaveLength(1);
    await net.stop();
  });

  it('of two rounds with the same weight and nonce, only the one whose deadline landed is applied', async () => {
    const net = network([0, 1, 2]);
    const [early, ...rest] = net.nodes as [(typeof net.nodes)[0], ...typeof net.nodes];
    // One node signs alone in the first deadline window: no quorum.
    early.proposer.start();
    await flush();
    const [first] = await early.journal.list();
    expect(first?.status).toBe('signed');
    // A window later everyone signs the same weight under the next deadline, which reaches a quorum.
    net.advance(60_000);
    for (const n of rest) n.proposer.start();
    await net.tickAll();
    expect(net.chain.state.sends).toHaveLength(1);
    net.advance(2_000);
    await net.tickAll();
    const records = await early.journal.list();
    expect(records).toHaveLength(2);
    const landed = records.find((r) => r.deadline !== first?.deadline);
    expect(landed).toMatchObject({ status: 'applied', txHash: net.chain.state.sends[0]?.hash });
    expect(landed?.weight).toBe(first?.weight);
    expect(records.find((r) => r.id === first?.id)).toMatchObject({
      status: 'stale',
      error: expect.stringContaining('another deadline'),
    });
    await net.stop();
  });
});
