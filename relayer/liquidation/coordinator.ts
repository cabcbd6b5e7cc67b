// Who liquidates what, and when. For each unhealthy sub-account on an engine chain this node serves,
// every liquidator node computes the same rendezvous order over the live liquidators of that chain
// (key: engine eid, account, subaccount). Rank 0 simulates, gossips a claim and sends at once; rank k
// acts only k × deadline after it first saw the sub-account unhealthy, only if no claim it heard is
// still within its deadline, and only after asking the chain whether a liquidation already landed.
// Exactly-once is the engine's guarantee (a second liquidation reverts HealthyAccount); this only
// keeps nodes from wasting gas on races. A node never sends twice for one sub-account state: the
// journal record of an attempt is keyed by that state.

import { type TransactionReceipt, toBeHex, zeroPadValue } from 'ethers';
import { rendezvousRank } from '../../attestor/rendezvous.ts';
import type { Address, Hex } from '../config/types.ts';
import type { GossipNetwork, SignedMessage } from '../p2p/types.ts';
import { closeOpen, recordLocks } from '../store/journal.ts';
import { TOPICS_LIQ } from './abi.ts';
import { type BatcherOptions, type BatchSendResult, LiquidationBatcher } from './batcher.ts';
import { ClaimOutbox, heardLiquidationClaims } from './claims.ts';
import { subaccountKeccak } from './fast-abi.ts';
import { badDebtOf, followSeizures, hasOpenSeizures, seizuresOf } from './follow-up.ts';
import { attemptId, type LiquidationJournal } from './journal.ts';
import { type Plan, PlanCache, type PlanRequest, planLiquidation } from './planner.ts';
import {
  describeSkip,
  liquidationCount,
  liquidationOf,
  type SubAccountRef,
  skipReasonOf,
} from './receipt.ts';
import { describeRevert, type LiqRpc } from './rpc.ts';
import type { SendHooks, SendResult, TxRequest } from './sender.ts';
import { ClaimBook, isMyTurn } from './turn.ts';
import {
  type Candidate,
  type CandidateSource,
  LIQ_STATUS,
  type LiqStatus,
  type LiquidationClaim,
  type LiquidationClaims,
  type LiquidationRecord,
  type LiquidationTrace,
  type LogFn,
  type SeizeFollowUp,
} from './types.ts';

/** One engine chain as the coordinator needs it. */
export interface EngineChain {
  eid: number;
  engine: Address;
  rpc: LiqRpc;
  sender: { send(tx: TxRequest, hooks?: SendHooks): Promise<SendResult> };
}

export interface CoordinatorOptions {
  /** How long a claimant has before the next-ranked node takes over; rank k waits k × this. Default 15 s. */
  deadlineMs?: number;
  /** LayerZero options for remote SEIZE orders ('0x': the engine's enforced options). */
  seizeOptions?: Hex;
  /** Native kept aside for gas on top of the LayerZero fees before sending. Default 0.01 ether. */
  gasReserveWei?: bigint;
  followUpTimeoutMs?: number;
  followUpPollMs?: number;
  /** How often a payout held in a vault's governor queue is looked at again. Default 15 s. */
  queuedPollMs?: number;
  /** Sub-accounts considered (planned, sent, awaited) at the same time per engine chain. Default 32. */
  concurrency?: number;
  /**
   * First sights of sub-accounts ranked to others start this long after the pass (default 1 s, about
   * a block): by then the first-ranked node's sends are out, and its simulations do not queue
   * behind ours at the shared RPC node.
   */
  firstSightDelayMs?: number;
  /** How this node's liquidations on one engine chain share transactions (maxItems 1: one each). */
  batch?: BatcherOptions;
}

export interface CoordinatorModules {
  self: Address;
  gossip: GossipNetwork;
  journal: LiquidationJournal;
  candidates: CandidateSource;
  liveLiquidators: (engineEid: number) => Address[];
  engines: Map<number, EngineChain>;
  /** Vault and RPC of a collateral chain, for following remote seizures. */
  vaultOf: (eid: number) => { vault: Address; rpc: LiqRpc } | undefined;
  plan?: (rpc: LiqRpc, req: PlanRequest) => Promise<Plan>;
  /**
   * A liquidation of ours landed: seconds from the moment this node first saw the sub-account
   * unhealthy to our receipt (see landingLatencyMs). Not called for landings found after a restart.
   */
  onLanded?: (seconds: number) => void;
  log?: LogFn;
  now?: () => number;
}

/** How long one read of our native balance serves the sends of a burst on that chain. */
const BALANCE_TTL_MS = 500;

/** Ranks remembered per engine chain before the table starts over (a few MB at most). */
const MAX_CACHED_RANKS = 100_000;

/** First-sight simulations (not ranked first) at the same time per engine chain. */
const FIRST_SIGHT_CONCURRENCY = 4;

/** A counting semaphore: at most `n` holders at a time, the others wait in order. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.free++;
    else next();
  }
}

/** A sub-account to consider in a pass, with our rank for it and when the pass picked it up. */
interface Todo {
  c: Candidate;
  key: string;
  rank: number;
  picked: number;
}

/** One sub-account's unhealthy episode as this node sees it. */
interface Round {
  detectedAt: number;
  detectedBlock: number;
  records: Set<Hex>;
}

export interface LiquidatorStats {
  ticks: number;
  claimsHeard: number;
  /** Records that reached each status (transitions, not current counts). */
  byStatus: Record<LiqStatus, number>;
  /** Fee-bump replacements sent. */
  bumps: number;
}

const subKey = (eid: number, account: Address, sub: bigint): string =>
  `${eid}:${account.toLowerCase()}:${sub}`;

/** What a liquidation's gas depends on most: the engine chain and its seize orders, local or remote. */
const gasShape = (eid: number, plan: Extract<Plan, { kind: 'liquidatable' }>): string =>
  `${eid}:${plan.params.seizes.map((o) => (o.srcEid === eid ? 'L' : 'R')).join('')}`;

/**
 * ms from the moment this node first saw the sub-account unhealthy to our landed receipt: from the
 * candidate source's `seen` (the block that made it unhealthy reached the margin view; for a price
 * drop, the price update's block) when it reports one, else from the coordinator's first sight of
 * the episode; to the receipt the transaction queue awaited with the chain's confirmations. So it
 * includes detection, simulation, the claim, the broadcast, mining and the confirmation wait — the
 * same span the journal's trace (seen) and `timestamps.landed` bracket.
 */
export function landingLatencyMs(
  trace: LiquidationTrace,
  round: { detectedAt: number },
  landedAt: number,
): number {
  return Math.max(0, landedAt - (trace.seen ?? round.detectedAt));
}

/** The rendezvous key of a sub-account on an engine chain (each candidate's score hashes its signer in). */
export function rankKey(engineEid: number, account: Address, subaccount: bigint): Hex {
  return subaccountKeccak(engineEid, account, subaccount);
}

export class Coordinator {
  private readonly o: Required<CoordinatorOptions>;
  private readonly m: CoordinatorModules;
  private readonly rounds = new Map<string, Round>();
  private readonly claims = new ClaimBook<LiquidationClaim>();
  private readonly claimOutbox = new ClaimOutbox(
    (payload) => this.m.gossip.publish('claim', payload),
    (err) => this.log('claim not gossiped', { err: String(err) }),
  );
  private readonly busy = new Set<string>();
  private readonly followUps = new Set<Promise<unknown>>();
  /** Read-modify-writes of one journal record run one at a time (the seizure follow-up runs beside the ticks). */
  private readonly locked = recordLocks();
  /** Work in the background: sends awaiting their outcome, first-sight simulations. */
  private readonly outcomes = new Set<Promise<unknown>>();
  private readonly planCache = new PlanCache();
  /** Bounds on sub-accounts considered at once, shared by passes that overlap. */
  private readonly slots: Slots;
  private readonly firstSightSlots = new Slots(FIRST_SIGHT_CONCURRENCY);
  /** Our rank per sub-account, per engine chain, for the live set it was computed over. */
  private readonly ranks = new Map<number, { live: string; bySub: Map<string, number> }>();
  /** Most gas a landed liquidation used, per gasShape. */
  private readonly gasUsed = new Map<string, bigint>();
  /** Per engine chain: coalesces our sends of a burst into liquidateBatch transactions. */
  private readonly batchers = new Map<number, LiquidationBatcher>();
  /** Our native balance per engine chain, read once per BALANCE_TTL_MS. */
  private readonly balances = new Map<number, { at: number; value: Promise<bigint> }>();
  /** Seize ids whose payout mismatch was logged. */
  private readonly mismatched = new Set<string>();
  private stopped = false;
  readonly counters = { ticks: 0, claimsHeard: 0 };
  readonly byStatus = Object.fromEntries(LIQ_STATUS.map((s) => [s, 0])) as Record<LiqStatus, number>;

  constructor(options: CoordinatorOptions, modules: CoordinatorModules) {
    this.o = {
      deadlineMs: 15_000,
      seizeOptions: '0x',
      gasReserveWei: 10n ** 16n,
      followUpTimeoutMs: 600_000,
      followUpPollMs: 1_000,
      queuedPollMs: 15_000,
      concurrency: 32,
      firstSightDelayMs: 1_000,
      batch: {},
      ...options,
    };
    this.m = modules;
    this.slots = new Slots(this.o.concurrency);
  }

  private now(): number {
    return this.m.now?.() ?? Date.now();
  }

  private log(msg: string, fields?: Record<string, unknown>): void {
    this.m.log?.(msg, fields);
  }

  subscribe(): void {
    this.m.gossip.subscribe<LiquidationClaim | LiquidationClaims>('claim', (msg) => this.onClaim(msg));
  }

  /** Stops acting; resolves when running follow-ups noticed. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.settled();
    this.claimOutbox.flush();
    await Promise.allSettled([...this.followUps]);
  }

  /** Claims heard on gossip: only liquidation claims signed by their claimant, for chains we serve. */
  onClaim(msg: SignedMessage<LiquidationClaim | LiquidationClaims>): void {
    for (const c of heardLiquidationClaims(msg, this.m.self)) {
      if (!this.m.engines.has(c.engineEid)) continue;
      this.claims.note(subKey(c.engineEid, c.account as Address, BigInt(c.subaccount)), c);
      this.counters.claimsHeard++;
    }
  }

  /** One pass over every engine chain's unhealthy sub-accounts, and the outcome of every send it made. */
  async tick(): Promise<void> {
    await this.pass();
    await this.settled();
  }

  /** Resolves once every send in flight has its outcome journaled and first sights are journaled. */
  async settled(): Promise<void> {
    while (this.outcomes.size > 0) await Promise.allSettled([...this.outcomes]);
  }

  /**
   * One pass: decides for every unhealthy sub-account and returns once each send is broadcast; the
   * receipts are awaited in the background (settled()), so the next pass is not held up by them.
   */
  async pass(): Promise<void> {
    if (this.stopped) return;
    this.counters.ticks++;
    for (const chain of this.m.engines.values()) {
      const current = this.m.candidates.unhealthy(chain.eid);
      const live = this.m.liveLiquidators(chain.eid);
      const liveKey = live
        .map((a) => a.toLowerCase())
        .sort()
        .join();
      const todo: Todo[] = [];
      for (const c of current) {
        const key = subKey(chain.eid, c.account, c.subaccount);
        if (this.busy.has(key) || this.stopped) continue;
        this.busy.add(key);
        const rank = this.rankOf(chain.eid, c, key, live, liveKey);
        todo.push({ c, key, rank, picked: this.now() });
      }
      // What we are ranked first for (and takeovers of episodes under way) goes out first; first sight
      // of the others only journals what we saw, so it runs after, in the background and slowly,
      // and neither holds up the next pass nor loads the node the first-ranked ones send through.
      const now: Todo[] = [];
      const later: Todo[] = [];
      for (const t of todo) (t.rank === 0 || this.rounds.has(t.key) ? now : later).push(t);
      await this.run(chain, now, this.slots);
      if (later.length > 0)
        this.track(
          new Promise((r) => setTimeout(r, this.o.firstSightDelayMs)).then(() =>
            this.run(chain, later, this.firstSightSlots),
          ),
        );
      // Sub-accounts that left the unhealthy set: close their episode and say why in the journal. The
      // set is read again: a pass that started later may have opened an episode meanwhile.
      const still = new Set(
        this.m.candidates.unhealthy(chain.eid).map((c) => subKey(chain.eid, c.account, c.subaccount)),
      );
      for (const [key, round] of this.rounds) {
        if (!key.startsWith(`${chain.eid}:`) || still.has(key) || this.busy.has(key)) continue;
        this.rounds.delete(key);
        this.claims.delete(key);
        const [, account, sub] = key.split(':') as [string, Address, string];
        const landed = await this.landedSince(chain, account, BigInt(sub), round.detectedBlock);
        await this.closeRecords(
          round,
          landed ? 'lost' : 'healthy',
          landed ? 'liquidated by another node' : 'recovered',
        );
      }
    }
  }

  /**
   * Our rendezvous rank for a sub-account. A burst puts hundreds in the unhealthy set and every pass
   * walks all of them, while the live set changes once in many passes: ranks are kept until it does.
   */
  private rankOf(eid: number, c: Candidate, key: string, live: readonly Address[], liveKey: string): number {
    let cached = this.ranks.get(eid);
    if (cached === undefined || cached.live !== liveKey || cached.bySub.size >= MAX_CACHED_RANKS) {
      cached = { live: liveKey, bySub: new Map() };
      this.ranks.set(eid, cached);
    }
    let rank = cached.bySub.get(key);
    if (rank === undefined) {
      rank = rendezvousRank(rankKey(eid, c.account, c.subaccount), this.m.self, live);
      cached.bySub.set(key, rank);
    }
    return rank;
  }

  /**
   * Considers sub-accounts concurrently (bounded): each one's reads, simulation and broadcast do not
   * wait for another's. A sub-account stays busy until its send's outcome is journaled.
   */
  private async run(chain: EngineChain, todo: Todo[], slots: Slots): Promise<void> {
    await Promise.all(
      todo.map(async (next) => {
        const { key } = next;
        let outcome: Promise<void> | undefined;
        await slots.take();
        try {
          if (!this.stopped) outcome = (await this.consider(chain, next))?.outcome;
        } catch (err) {
          this.log('liquidation step failed', { key, err: String(err) });
        } finally {
          slots.give();
        }
        if (outcome === undefined) {
          this.busy.delete(key);
          return;
        }
        this.track(
          outcome
            .catch((err: unknown) => this.log('liquidation step failed', { key, err: String(err) }))
            .finally(() => this.busy.delete(key)),
        );
      }),
    );
  }

  /** Work that outlives the pass that started it; settled() and stop() wait for it. */
  private track(p: Promise<unknown>): void {
    const tracked = p.finally(() => this.outcomes.delete(tracked));
    this.outcomes.add(tracked);
  }

  /** Decides for one sub-account; when it sends, returns (after the broadcast) its outcome's promise. */
  private async consider(chain: EngineChain, t: Todo): Promise<{ outcome: Promise<void> } | undefined> {
    const { c, key, rank } = t;
    let round = this.rounds.get(key);
    const fresh = round === undefined;
    if (round === undefined) {
      round = {
        detectedAt: this.now(),
        detectedBlock: c.since?.block ?? (await chain.rpc.blockNumber()),
        records: new Set(),
      };
    }
    const claim = this.claims.get(key);
    const myTurn = isMyTurn(round.detectedAt, rank, this.o.deadlineMs, claim?.deadline, this.now());

    if (!myTurn) {
      if (!fresh) return;
      // First sight: read the state once so the journal shows what we saw, then wait for our turn.
      // Not simulated: the first-ranked node is simulating and sending now, through the same node.
      const plan = await this.plan(chain, c, false);
      if (plan.kind === 'healthy') {
        // Either the candidate source was behind the chain, or the first-ranked node was quicker
        // than our first look: then the journal says so.
        if (await this.landedSince(chain, c.account, c.subaccount, round.detectedBlock))
          await this.record(round, chain, c, plan.stateKey, rank, 'lost', {
            error: 'liquidated by another node',
          });
        return;
      }
      this.rounds.set(key, round);
      await this.record(round, chain, c, plan.stateKey, rank, 'detected', {
        ...(plan.health === undefined ? {} : { healthBefore: plan.health.health }),
        ...(plan.kind === 'failed' ? { error: plan.reason } : {}),
      });
      return;
    }
    this.rounds.set(key, round);

    // Our turn. Ask the chain first: a liquidation may have landed without us hearing a claim.
    if (!fresh && (await this.landedSince(chain, c.account, c.subaccount, round.detectedBlock))) {
      await this.closeRecords(round, 'lost', 'liquidated by another node');
      this.rounds.delete(key);
      this.claims.delete(key);
      return;
    }
    // The simulation (eth_call at the latest block) decides; the balance is read alongside it.
    // With batching, the simulation is the batcher's: one eth_call for the whole batch.
    const [plan, balance] = await Promise.all([
      this.plan(chain, c, this.batching() ? 'deferred' : true),
      this.balanceOn(chain),
    ]);
    const simulated = this.now();
    const id = attemptId(chain.eid, c.account, c.subaccount, plan.stateKey);
    const existing = await this.m.journal.get(id);
    // This state was handled, unless all that happened is a simulation or send that failed before
    // anything went out (a transient revert, an RPC error): nothing was sent, so trying again is safe.
    // Likewise a transaction that ran out of gas at a cached limit: it reverted, so nothing changed.
    const retry =
      existing?.status === 'failed' && (existing.txHash === undefined || existing.outOfGas === true);
    if (existing !== undefined && existing.status !== 'detected' && !retry) return;
    if (plan.kind === 'healthy') {
      await this.record(round, chain, c, plan.stateKey, rank, 'healthy', { error: plan.reason });
      this.rounds.delete(key);
      return;
    }
    if (plan.kind === 'failed') {
      await this.record(round, chain, c, plan.stateKey, rank, 'failed', {
        error: plan.reason,
        ...(plan.health === undefined ? {} : { healthBefore: plan.health.health }),
      });
      return;
    }
    if (plan.kind !== 'liquidatable') return; // not simulated: only first sights ask for that

    if (balance < plan.value + this.o.gasReserveWei) {
      await this.record(round, chain, c, plan.stateKey, rank, 'failed', {
        error: `insufficient native: ${balance} < ${plan.value} fees + ${this.o.gasReserveWei} gas reserve`,
      });
      return;
    }

    const claimMsg: LiquidationClaim = {
      kind: 'liquidation',
      engineEid: chain.eid,
      account: c.account,
      subaccount: c.subaccount.toString(),
      stateKey: plan.stateKey,
      claimant: this.m.self,
      deadline: this.now() + this.o.deadlineMs,
    };
    // Journaled before anything goes out: this state is never sent for twice, even across a restart.
    await this.record(round, chain, c, plan.stateKey, rank, 'claimed', {
      healthBefore: plan.health.health,
      fromBlock: round.detectedBlock,
    });
    const trace: LiquidationTrace = {
      ...(c.since === undefined
        ? {}
        : {
            block: c.since.block,
            tip: c.since.tip,
            seen: c.since.seenAt,
            screened: c.since.screenedAt,
          }),
      picked: t.picked,
      simulated,
      claimed: this.now(),
    };

    let broadcast = (): void => {};
    const out = new Promise<void>((r) => {
      broadcast = r;
    });
    const outcome = this.send(chain, c, round, rank, plan, trace, broadcast).finally(broadcast);
    await out;
    // The claim only spares the next-ranked nodes a takeover: signing and gossiping it waits until
    // our transaction is out, so it costs the send nothing; the claims of one batch share a message.
    this.claimOutbox.add(claimMsg);
    return { outcome };
  }

  /** Sends a planned liquidation and journals its outcome; `broadcast` is called once it is out. */
  private async send(
    chain: EngineChain,
    c: Candidate,
    round: Round,
    rank: number,
    plan: Extract<Plan, { kind: 'liquidatable' }>,
    trace: LiquidationTrace,
    broadcast: () => void,
  ): Promise<void> {
    const key = subKey(chain.eid, c.account, c.subaccount);
    const id = attemptId(chain.eid, c.account, c.subaccount, plan.stateKey);
    let result: BatchSendResult;
    const gasLimit = this.gasLimitFor(chain, plan);
    try {
      result = await this.batcherFor(chain).send(
        {
          params: plan.params,
          calldata: plan.calldata,
          value: plan.value,
          ...(gasLimit === undefined ? {} : { gasLimit }),
          unsimulated: plan.expected === undefined,
        },
        {
          onBroadcast: async (hash, _nonce, _fees, timing) => {
            const r = (await this.m.journal.get(id)) as LiquidationRecord;
            await this.record(round, chain, c, plan.stateKey, rank, 'sent', {
              txHash: hash,
              outOfGas: false,
              txHashes: [...(r.txHashes ?? []), hash],
              trace: timing === undefined ? (r.trace ?? trace) : { ...trace, ...timing },
            });
            broadcast();
          },
        },
      );
    } catch (err) {
      // Out, but waiting for the receipt failed (an RPC error or timeout): the transaction's fate is on
      // chain, so follow its hashes as after a restart rather than calling the attempt failed.
      const out = await this.m.journal.get(id);
      if (out?.status === 'sent' && out.txHash !== undefined) {
        this.log('receipt wait failed; following the transaction', { tx: out.txHash, err: String(err) });
        this.track(this.closeSent(out, 'after the receipt wait failed'));
        return;
      }
      // Estimation reverted (someone landed between our simulation and our send) or the send failed.
      const why = describeRevert(err);
      const status: LiqStatus = why.name === 'HealthyAccount' ? 'lost' : 'failed';
      await this.record(round, chain, c, plan.stateKey, rank, status, { error: why.text });
      if (status === 'lost') this.rounds.delete(key);
      return;
    }

    if (result.receipt.status !== 1) {
      // Out of gas at a limit guessed from earlier liquidations of this shape: forget the guess (the
      // next send estimates) and leave the state open to a retry — the revert changed nothing.
      const limit = result.gasLimit;
      if (limit !== undefined && result.receipt.gasUsed * 32n >= limit * 31n) {
        this.gasUsed.delete(gasShape(chain.eid, plan));
        await this.record(round, chain, c, plan.stateKey, rank, 'failed', {
          txHash: result.hash,
          outOfGas: true,
          error: `out of gas at ${limit}; the next pass sends again with an estimate`,
        });
        return;
      }
      // Reverted on chain: ask the engine why now (HealthyAccount: we lost a race).
      const again = await this.plan(chain, c);
      const lost = again.kind === 'healthy';
      await this.record(round, chain, c, plan.stateKey, rank, lost ? 'lost' : 'failed', {
        txHash: result.hash,
        error: lost ? `reverted: ${again.reason}` : 'reverted',
      });
      if (lost) this.rounds.delete(key);
      return;
    }

    const sub: SubAccountRef = { account: c.account, subaccount: c.subaccount };
    const liq = liquidationOf(result.receipt, chain.engine, sub, this.m.self);
    if (liq === undefined) {
      // The batch went through but skipped our item: it would have reverted (a race lost, or out of
      // gas inside the batch, which reverts with no data: then the state stays open to a retry).
      const why = describeSkip(skipReasonOf(result.receipt, chain.engine, sub, this.m.self));
      // Out of gas inside the batch: the limit guessed for this shape was short; the next send estimates.
      if (why.outOfGas) this.gasUsed.delete(gasShape(chain.eid, plan));
      const lost = why.name === 'HealthyAccount';
      await this.record(round, chain, c, plan.stateKey, rank, lost ? 'lost' : 'failed', {
        txHash: result.hash,
        outOfGas: why.outOfGas,
        error: `skipped in its batch: ${why.text}`,
      });
      if (lost) this.rounds.delete(key);
      return;
    }
    // What this shape costs: a transaction of its own says it; a batch, its landed items' share of
    // the batch's gas (skipped items and other shapes blur it, which gasLimitFor's head-room absorbs;
    // a short guess shows up as an item skipped out of gas, and is forgotten above).
    const shape = gasShape(chain.eid, plan);
    const landedItems = Math.max(1, liquidationCount(result.receipt, chain.engine, this.m.self));
    const used = result.receipt.gasUsed / BigInt(landedItems);
    if ((this.gasUsed.get(shape) ?? 0n) < used) this.gasUsed.set(shape, used);
    await this.record(round, chain, c, plan.stateKey, rank, 'landed', {
      txHash: result.hash,
      ...this.landedFields(chain, result.receipt, sub, liq),
    });
    this.m.onLanded?.(landingLatencyMs(trace, round, this.now()) / 1000);
    this.rounds.delete(key);
    this.claims.delete(key);
    this.afterLanding(chain, id, c.account, c.subaccount, result.receipt);
  }

  /** What a landed liquidation (`liq`, its decoded event) tells the journal: seizures, health after, bad debt. */
  private landedFields(
    chain: EngineChain,
    receipt: TransactionReceipt,
    sub: SubAccountRef,
    liq: { healthAfter: bigint },
  ): Partial<LiquidationRecord> {
    const seizures = seizuresOf(receipt, chain.engine, this.m.self, sub);
    const badDebt = badDebtOf(receipt, chain.engine, sub);
    return {
      seizeIds: seizures.map((s) => s.id),
      seizures,
      healthAfter: liq.healthAfter,
      ...(badDebt === undefined ? {} : { badDebt }),
    };
  }

  /** Logs a landed liquidation and follows its remote seizures to their payout. */
  private afterLanding(
    chain: EngineChain,
    id: Hex,
    account: Address,
    subaccount: bigint,
    receipt: TransactionReceipt,
  ): void {
    const landedAt = this.now();
    const sub: SubAccountRef = { account, subaccount };
    const seizures = seizuresOf(receipt, chain.engine, this.m.self, sub);
    const badDebt = badDebtOf(receipt, chain.engine, sub);
    this.log('liquidated', {
      engineEid: chain.eid,
      account,
      subaccount: String(subaccount),
      tx: receipt.hash,
      // An operator wants to see a shortfall the insurance fund or the LP pool had to absorb.
      ...(badDebt === undefined
        ? {}
        : {
            badDebtCoveredByInsurance: badDebt.coveredByInsurance.toString(),
            badDebtWrittenOff: badDebt.writtenOff.toString(),
          }),
    });
    this.reportMismatches(id, seizures);
    if (hasOpenSeizures(seizures)) this.followUp(id, seizures, landedAt);
  }

  /** Seizures whose payout named another recipient or amount: logged once each, as errors. */
  private reportMismatches(id: Hex, seizures: readonly SeizeFollowUp[]): void {
    for (const s of seizures) {
      if (s.status !== 'mismatch' || this.mismatched.has(s.id)) continue;
      this.mismatched.add(s.id);
      this.log('seizure payout mismatch', { id, seizeId: s.id, srcEid: s.srcEid, error: s.error });
    }
  }

  /**
   * Follows a landed liquidation's open seizures (pending: to their payout; queued: until the
   * governor's queue pays them), journaling each change. Runs in the background; stop() waits for it.
   */
  private followUp(id: Hex, seizures: SeizeFollowUp[], landedAt: number): void {
    const update = async (list: SeizeFollowUp[]) => {
      this.reportMismatches(id, list);
      await this.locked(id, async () => {
        const r = await this.m.journal.get(id);
        if (r !== undefined) await this.m.journal.put({ ...r, seizures: list, updatedAt: this.now() });
      });
    };
    const p = followSeizures(seizures, {
      vaultOf: this.m.vaultOf,
      recipient: this.m.self,
      landedAt,
      timeoutMs: this.o.followUpTimeoutMs,
      pollMs: this.o.followUpPollMs,
      queuedPollMs: this.o.queuedPollMs,
      now: () => this.now(),
      onUpdate: update,
      stopped: () => this.stopped,
    })
      .then(update)
      .catch((err: unknown) => this.log('seizure follow-up failed', { id, err: String(err) }));
    this.followUps.add(p);
    void p.finally(() => this.followUps.delete(p));
  }

  /**
   * After a restart: records a crash left open are closed from the chain, and nothing is sent again
   * for their state (consider() skips a state whose record is past 'detected'). 'sent' (the process
   * died between the broadcast and the receipt): its transactions are looked up by hash until one is
   * mined. 'claimed' (it died between the claim and journaling the broadcast, so a transaction may be
   * out): once none of ours is pending, a Liquidated event of ours closes it landed; otherwise nothing
   * went out and it is closed failed without a hash, which leaves the state open to a new attempt.
   * 'landed' with seizures still pending or queued: their follow-up resumes. Returns how many
   * records it reopened or resumed. Runs in the background; settled() and stop() wait for it.
   */
  async recover(): Promise<number> {
    const records = await this.m.journal.list();
    const open = records.filter(
      (r) => (r.status === 'sent' || r.status === 'claimed') && this.m.engines.has(r.engineEid),
    );
    for (const r of open) this.track(r.status === 'sent' ? this.closeSent(r) : this.closeClaimed(r));
    // Landed before the restart with seizures not paid yet: their follow-up resumes where it was
    // (each seizure keeps the vault-chain block its search started at).
    const following = records.filter((r) => r.status === 'landed' && hasOpenSeizures(r.seizures));
    for (const r of following)
      this.followUp(r.id, r.seizures as SeizeFollowUp[], r.timestamps.landed ?? r.updatedAt);
    return open.length + following.length;
  }

  /** Closes a recovered record from its landed or reverted receipt. */
  private async closeFromReceipt(
    r: LiquidationRecord,
    receipt: TransactionReceipt,
    when = 'after a restart',
  ): Promise<void> {
    const chain = this.m.engines.get(r.engineEid) as EngineChain;
    const round: Round = { detectedAt: this.now(), detectedBlock: r.fromBlock ?? 0, records: new Set() };
    const c: Candidate = { account: r.account, subaccount: BigInt(r.subaccount), health: 0n };
    const hash = receipt.hash as Hex;
    const sub: SubAccountRef = { account: c.account, subaccount: c.subaccount };
    const liq = liquidationOf(receipt, chain.engine, sub, this.m.self);
    if (liq !== undefined) {
      await this.record(round, chain, c, r.stateKey, r.rank, 'landed', {
        txHash: hash,
        error: `receipt found ${when}`,
        ...this.landedFields(chain, receipt, sub, liq),
      });
      this.afterLanding(chain, r.id, c.account, c.subaccount, receipt);
      return;
    }
    if (receipt.status === 1) {
      // Our batch went through without this item: it would have reverted then; not retried.
      const why = describeSkip(skipReasonOf(receipt, chain.engine, sub, this.m.self));
      await this.record(round, chain, c, r.stateKey, r.rank, 'failed', {
        txHash: hash,
        error: `skipped in its batch: ${why.text} (receipt found ${when})`,
      });
      return;
    }
    // Reverted: the state is unchanged, or someone else was first; either way not retried.
    await this.record(round, chain, c, r.stateKey, r.rank, 'failed', {
      txHash: hash,
      error: `reverted (receipt found ${when})`,
    });
  }

  /** Closes a recovered record as failed with `why` (no hash unless it has one). */
  private async closeFailed(r: LiquidationRecord, why: string): Promise<void> {
    const chain = this.m.engines.get(r.engineEid) as EngineChain;
    const round: Round = { detectedAt: this.now(), detectedBlock: r.fromBlock ?? 0, records: new Set() };
    const c: Candidate = { account: r.account, subaccount: BigInt(r.subaccount), health: 0n };
    await this.record(round, chain, c, r.stateKey, r.rank, 'failed', { error: why });
  }

  /** Polls `check` until it settles the record, the coordinator stops or the follow-up timeout passes. */
  private async untilClosed(
    r: LiquidationRecord,
    what: string,
    check: () => Promise<boolean>,
  ): Promise<void> {
    const started = this.now();
    while (!this.stopped) {
      if (await check().catch(() => false)) return;
      if (this.now() - started >= this.o.followUpTimeoutMs) {
        await this.closeFailed(r, `${what} within ${this.o.followUpTimeoutMs} ms`);
        return;
      }
      await new Promise((res) => setTimeout(res, this.o.followUpPollMs));
    }
  }

  private closeSent(r: LiquidationRecord, when = 'after a restart'): Promise<void> {
    const chain = this.m.engines.get(r.engineEid) as EngineChain;
    const hashes = r.txHashes ?? (r.txHash === undefined ? [] : [r.txHash]);
    return this.untilClosed(r, `no receipt for ${hashes.join(', ')}`, async () => {
      for (const hash of hashes) {
        const receipt = await chain.rpc.getReceipt(hash);
        if (receipt === null) continue;
        await this.closeFromReceipt(r, receipt, when);
        return true;
      }
      return false;
    });
  }

  private closeClaimed(r: LiquidationRecord): Promise<void> {
    const chain = this.m.engines.get(r.engineEid) as EngineChain;
    const count = (tag: string) =>
      chain.rpc.send<string>('eth_getTransactionCount', [this.m.self, tag]).then(Number);
    return this.untilClosed(r, 'our transactions still pending', async () => {
      // A transaction of ours the crash left in the mempool may be this liquidation: wait for it.
      if ((await count('pending')) > (await count('latest'))) return false;
      const logs = await chain.rpc.getLogs({
        address: chain.engine,
        topics: [
          TOPICS_LIQ.Liquidated,
          zeroPadValue(r.account, 32) as Hex,
          toBeHex(BigInt(r.subaccount), 32) as Hex,
          zeroPadValue(this.m.self, 32) as Hex,
        ],
        fromBlock: r.fromBlock ?? 0,
      });
      const receipt = logs.length === 0 ? null : await chain.rpc.getReceipt(logs[0]?.transactionHash as Hex);
      if (receipt !== null) await this.closeFromReceipt(r, receipt);
      else await this.closeFailed(r, 'interrupted before its broadcast (restart): nothing of ours landed');
      return true;
    });
  }

  /** Our native balance on the chain; a burst's sends share one read (a failed read is not kept). */
  private balanceOn(chain: EngineChain): Promise<bigint> {
    const now = this.now();
    const hit = this.balances.get(chain.eid);
    if (hit !== undefined && now - hit.at < BALANCE_TTL_MS) return hit.value;
    const value = chain.rpc.send<string>('eth_getBalance', [this.m.self, 'latest']).then(BigInt);
    this.balances.set(chain.eid, { at: now, value });
    value.catch(() => {
      if (this.balances.get(chain.eid)?.value === value) this.balances.delete(chain.eid);
    });
    return value;
  }

  private batcherFor(chain: EngineChain): LiquidationBatcher {
    let b = this.batchers.get(chain.eid);
    if (b === undefined) {
      b = new LiquidationBatcher(chain.engine, chain.sender, this.o.batch, {
        from: this.m.self,
        call: (tx) => chain.rpc.call(tx),
      });
      this.batchers.set(chain.eid, b);
    }
    return b;
  }

  /** Whether our liquidations on a chain share transactions (batch.maxItems above 1, the default). */
  private batching(): boolean {
    return (this.o.batch.maxItems ?? 2) > 1;
  }

  private plan(chain: EngineChain, c: Candidate, simulate: boolean | 'deferred' = true): Promise<Plan> {
    return (this.m.plan ?? planLiquidation)(chain.rpc, {
      simulate,
      engineEid: chain.eid,
      engine: chain.engine,
      account: c.account,
      subaccount: c.subaccount,
      signer: this.m.self,
      seizeOptions: this.o.seizeOptions,
      cache: this.planCache,
    });
  }

  /**
   * The gas limit for a liquidation of this shape (local / remote seize orders): 1.5 × the most gas
   * one of that shape used (+150k at least), so a burst does not pay an eth_estimateGas each (a
   * binary search of executions on the node). Unknown shape: undefined, the queue estimates.
   */
  private gasLimitFor(chain: EngineChain, plan: Extract<Plan, { kind: 'liquidatable' }>): bigint | undefined {
    const used = this.gasUsed.get(gasShape(chain.eid, plan));
    if (used === undefined) return undefined;
    const scaled = (used * 3n) / 2n;
    return scaled > used + 150_000n ? scaled : used + 150_000n;
  }

  /** Whether any Liquidated event for the sub-account was emitted since `fromBlock`. */
  private async landedSince(
    chain: EngineChain,
    account: Address,
    sub: bigint,
    fromBlock: number,
  ): Promise<boolean> {
    const logs = await chain.rpc.getLogs({
      address: chain.engine,
      topics: [TOPICS_LIQ.Liquidated, zeroPadValue(account, 32) as Hex, toBeHex(sub, 32) as Hex],
      fromBlock,
    });
    return logs.length > 0;
  }

  /** Writes the attempt's record in `status` (creating it if needed), merging `fields`. */
  private async record(
    round: Round,
    chain: EngineChain,
    c: Candidate,
    stateKey: Hex,
    rank: number,
    status: LiqStatus,
    fields: Partial<LiquidationRecord>,
  ): Promise<void> {
    const id = attemptId(chain.eid, c.account, c.subaccount, stateKey);
    const now = this.now();
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const prev = await this.locked(id, async () => {
      const prev = await this.m.journal.get(id);
      const next: LiquidationRecord = {
        id,
        engineEid: chain.eid,
        account: c.account,
        subaccount: c.subaccount,
        stateKey,
        rank,
        timestamps: {},
        ...prev,
        ...clean,
        status,
        updatedAt: now,
      };
      next.timestamps = { ...next.timestamps, [status]: next.timestamps[status] ?? now };
      await this.m.journal.put(next);
      return prev;
    });
    round.records.add(id);
    if (prev?.status !== status) this.byStatus[status]++;
    if (prev?.status !== status)
      this.log(`liquidation ${status}`, {
        id,
        engineEid: chain.eid,
        account: c.account,
        subaccount: String(c.subaccount),
        ...(fields.error === undefined ? {} : { error: fields.error }),
        ...(status === 'sent' && fields.trace !== undefined ? { trace: fields.trace } : {}),
      });
  }

  private async closeRecords(round: Round, status: LiqStatus, why: string): Promise<void> {
    this.byStatus[status] += await closeOpen(
      this.m.journal,
      round.records,
      'detected',
      status,
      why,
      this.now(),
    );
  }
}
