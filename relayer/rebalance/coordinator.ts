// Who moves what, and when. Each tick the rebalancer asks the margin view which sub-accounts have an
// engine entry wanting a rescue (./decide.ts), and plans a move from authorised credit on another of
// their engines. Then it coordinates exactly like the liquidator (relayer/liquidation): rendezvous
// rank over the live rebalancer nodes serving the source chain (key: destination eid, account,
// subaccount — rankKey), rank 0 simulates, gossips a claim and sends at once, rank k only k deadlines
// after it first saw the need, only if no heard claim is still live, and only after asking the chain
// whether a rebalance already landed. The Rebalancer contract enforces the limits; this only keeps
// nodes from racing and wasting gas. A destination with an attempt travelling (sent, or its MOVE on
// its way) is left alone until the credit lands: the journal record of an attempt is keyed by the
// margin state it was planned against, so one state is never sent twice.

import { toBeHex, zeroPadValue } from 'ethers';
import { rendezvousRank } from '../../attestor/rendezvous.ts';
import type { Address, Hex } from '../config/types.ts';
import { rankKey } from '../liquidation/coordinator.ts';
import { readHealth } from '../liquidation/planner.ts';
import type { LiqRpc } from '../liquidation/rpc.ts';
import type { SendHooks, SendResult, TxRequest } from '../liquidation/sender.ts';
import { ClaimBook, heardClaim, isMyTurn } from '../liquidation/turn.ts';
import type { AccountMargin, EngineMargin } from '../margin/types.ts';
import type { GossipNetwork, SignedMessage } from '../p2p/types.ts';
import { closeOpen } from '../store/journal.ts';
import { REBALANCER, TOPICS_RB } from './abi.ts';
import type { AuthIndex } from './authorisations.ts';
import { DEFAULT_REBALANCE, decideRescues, wantsRescue } from './decide.ts';
import { followMove } from './follow.ts';
import { type RebalanceJournal, rebalanceAttemptId } from './journal.ts';
import { type SourceChain, simulateRebalance } from './simulate.ts';
import {
  type LogFn,
  RB_STATUS,
  type RbStatus,
  type RebalanceClaim,
  type RebalancePolicy,
  type RebalanceRecord,
  type RescuePlan,
} from './types.ts';
import type { ValuationSource } from './valuation.ts';

/** A source engine chain this node can send rebalances on. */
export interface RebalanceChain extends SourceChain {
  rpc: LiqRpc;
  sender: { send(tx: TxRequest, hooks?: SendHooks): Promise<SendResult> };
}

export interface RebalanceCoordinatorOptions {
  /** How long a claimant has before the next-ranked node takes over; rank k waits k × this. Default 15 s. */
  deadlineMs?: number;
  policy?: Partial<RebalancePolicy>;
  /** Native kept aside for gas on top of the LayerZero fee. Default 0.01 ether. */
  gasReserveWei?: bigint;
  /** How long a landed move is followed to its credit. Default 300 s. */
  followTimeoutMs?: number;
  followPollMs?: number;
}

export interface RebalanceModules {
  self: Address;
  gossip: GossipNetwork;
  journal: RebalanceJournal;
  view: {
    accounts(): { account: Address; subaccount: bigint }[];
    account(account: Address, subaccount: bigint): AccountMargin | undefined;
  };
  /** Breach probability over the engine's message latency (relayer/risk); undefined without history. */
  risk?: (e: EngineMargin) => { breachProbability: number } | undefined;
  auth: Pick<AuthIndex, 'limits'>;
  valuations: ValuationSource;
  /** Source engine chains this node serves that have a Rebalancer. */
  sources: Map<number, RebalanceChain>;
  liveRebalancers: (engineEid: number) => Address[];
  vaultOf: (eid: number) => { vault: Address; rpc: LiqRpc } | undefined;
  engineOf: (eid: number) => { engine: Address; rpc: LiqRpc } | undefined;
  /** A rescue credited on its destination: seconds from first detection. */
  onRescued?: (seconds: number) => void;
  log?: LogFn;
  now?: () => number;
}

export interface RebalancerStats {
  ticks: number;
  claimsHeard: number;
  /** Destinations that wanted a rescue but got none, by reason (last tick). */
  blocked: { account: Address; subaccount: string; dstEngineEid: number; reason: string }[];
  /** Records that reached each status (transitions, not current counts). */
  byStatus: Record<RbStatus, number>;
}

/** One destination's need as this node sees it. */
interface Round {
  detectedAt: number;
  detectedBlock: number;
  records: Set<Hex>;
  /** The latest plan and its source chain: where to look for another node's move when it ends. */
  plan: RescuePlan;
  src: RebalanceChain;
}

const subKey = (eid: number, account: Address, sub: bigint): string =>
  `${eid}:${account.toLowerCase()}:${sub}`;

export class RebalanceCoordinator {
  private readonly o: Required<Omit<RebalanceCoordinatorOptions, 'policy'>> & { policy: RebalancePolicy };
  private readonly m: RebalanceModules;
  private readonly rounds = new Map<string, Round>();
  private readonly claims = new ClaimBook<RebalanceClaim>();
  /** Destinations with an attempt being planned, sent or followed to its credit. */
  private readonly busy = new Set<string>();
  private readonly followUps = new Set<Promise<unknown>>();
  private stopped = false;
  private readonly now: () => number;
  private readonly log: LogFn;
  readonly counters = { ticks: 0, claimsHeard: 0 };
  readonly byStatus = Object.fromEntries(RB_STATUS.map((s) => [s, 0])) as Record<RbStatus, number>;
  blocked: RebalancerStats['blocked'] = [];

  constructor(options: RebalanceCoordinatorOptions, modules: RebalanceModules) {
    this.o = {
      deadlineMs: 15_000,
      gasReserveWei: 10n ** 16n,
      followTimeoutMs: 300_000,
      followPollMs: 500,
      ...options,
      policy: { ...DEFAULT_REBALANCE, ...options.policy },
    };
    this.m = modules;
    this.now = modules.now ?? Date.now;
    this.log = modules.log ?? (() => {});
    modules.gossip.subscribe<RebalanceClaim>('claim', (msg) => this.onClaim(msg));
  }

  /** Stops acting; resolves once the moves being followed noticed. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.followUps]);
  }

  /** A claim heard on gossip: only rebalance claims signed by their claimant. */
  onClaim(msg: SignedMessage<RebalanceClaim>): void {
    const c = heardClaim(msg, 'rebalance', this.m.self);
    if (c === undefined || typeof c.dstEngineEid !== 'number') return;
    this.claims.note(subKey(c.dstEngineEid, c.account as Address, BigInt(c.subaccount)), c);
    this.counters.claimsHeard++;
  }

  /** One pass over every sub-account of the view that has an engine entry wanting a rescue. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    this.counters.ticks++;
    const policy = this.o.policy;
    const wanting: AccountMargin[] = [];
    for (const { account, subaccount } of this.m.view.accounts()) {
      const m = this.m.view.account(account, subaccount);
      if (m?.engines.some((e) => wantsRescue(e, this.m.risk, policy))) wanting.push(m);
    }
    // Every engine's view of every collateral these sub-accounts hold: as a source and a destination.
    const keys = wanting.flatMap((m) =>
      m.engines.flatMap((e) =>
        m.engines.flatMap((s) =>
          Object.keys(s.credit).map((k) => {
            const [srcEid, token] = k.split(':') as [string, Address];
            return { engineEid: e.engineEid, srcEid: Number(srcEid), token };
          }),
        ),
      ),
    );
    await this.m.valuations.prefetch(keys);

    const seen = new Set<string>();
    const blocked: RebalancerStats['blocked'] = [];
    const nowSec = Math.floor(this.now() / 1000);
    for (const m of wanting) {
      const decisions = decideRescues({
        account: m,
        ...(this.m.risk === undefined ? {} : { risk: this.m.risk }),
        limits: (eid) => this.m.auth.limits(eid, m.account, m.subaccount),
        valuation: (e, s, t) => this.m.valuations.get(e, s, t),
        canSendFrom: (eid) => this.m.sources.has(eid),
        nowSec,
        policy,
      });
      for (const d of decisions) {
        if (d.kind === 'none') {
          blocked.push({
            account: d.account,
            subaccount: d.subaccount.toString(),
            dstEngineEid: d.dstEngineEid,
            reason: d.reason,
          });
          continue;
        }
        const key = subKey(d.plan.dstEngineEid, d.plan.account, d.plan.subaccount);
        seen.add(key);
        if (this.busy.has(key) || this.stopped) continue;
        this.busy.add(key);
        let keep = false;
        try {
          keep = await this.consider(d.plan, key);
        } catch (err) {
          this.log('rebalance step failed', { key, err: String(err) });
        } finally {
          if (!keep) this.busy.delete(key);
        }
      }
    }
    this.blocked = blocked;
    // Destinations that no longer want a rescue: close their episode and say why in the journal.
    for (const [key, round] of this.rounds) {
      if (seen.has(key) || this.busy.has(key)) continue;
      this.rounds.delete(key);
      this.claims.delete(key);
      const moved = await this.movedSince(round.src, round.plan, round.detectedBlock).catch(() => false);
      await this.closeRecords(
        round,
        moved ? 'lost' : 'recovered',
        moved ? 'rebalanced by another node' : 'no rescue needed any more',
      );
    }
  }

  /** Plans, coordinates and sends one rescue; true while its move is still being followed. */
  private async consider(plan: RescuePlan, key: string): Promise<boolean> {
    const src = this.m.sources.get(plan.srcEngineEid) as RebalanceChain;
    let round = this.rounds.get(key);
    const fresh = round === undefined;
    if (round === undefined) {
      const detectedBlock = await src.rpc.blockNumber();
      round = { detectedAt: this.now(), detectedBlock, records: new Set(), plan, src };
    }
    round.plan = plan;
    round.src = src;
    this.rounds.set(key, round);
    const rank = rendezvousRank(
      rankKey(plan.dstEngineEid, plan.account, plan.subaccount),
      this.m.self,
      this.m.liveRebalancers(src.eid),
    );
    const id = rebalanceAttemptId(plan.dstEngineEid, plan.account, plan.subaccount, plan.stateKey);
    const existing = await this.m.journal.get(id);
    if (existing !== undefined && existing.status !== 'detected') return false; // this state was handled
    const myTurn = isMyTurn(
      round.detectedAt,
      rank,
      this.o.deadlineMs,
      this.claims.get(key)?.deadline,
      this.now(),
    );
    if (!myTurn) {
      if (fresh) await this.record(round, plan, rank, 'detected', {});
      return false;
    }

    // Our turn. Ask the chain first: another node's rebalance may have landed without us hearing it.
    if (!fresh && (await this.movedSince(src, plan, round.detectedBlock))) {
      await this.closeRecords(round, 'lost', 'rebalanced by another node');
      this.rounds.delete(key);
      this.claims.delete(key);
      return false;
    }
    const sim = await simulateRebalance(src, this.m.vaultOf, plan, this.m.self);
    if (!sim.ok) {
      await this.record(round, plan, rank, 'failed', { error: sim.error });
      return false;
    }
    const balance = BigInt(await src.rpc.send<string>('eth_getBalance', [this.m.self, 'latest']));
    if (balance < sim.value + this.o.gasReserveWei) {
      await this.record(round, plan, rank, 'failed', {
        error: `insufficient native: ${balance} < ${sim.value} fee + ${this.o.gasReserveWei} gas reserve`,
      });
      return false;
    }
    const claim: RebalanceClaim = {
      kind: 'rebalance',
      dstEngineEid: plan.dstEngineEid,
      srcEngineEid: plan.srcEngineEid,
      account: plan.account,
      subaccount: plan.subaccount.toString(),
      stateKey: plan.stateKey,
      claimant: this.m.self,
      deadline: this.now() + this.o.deadlineMs,
    };
    await this.record(round, plan, rank, 'claimed', {});
    await this.closeRecords(round, 'superseded', 'planned again from a newer margin state', id);
    await this.m.gossip
      .publish('claim', claim)
      .catch((err: unknown) => this.log('claim not gossiped', { err: String(err) }));

    const dst = this.m.engineOf(plan.dstEngineEid);
    const dstFromBlock = dst === undefined ? 0 : await dst.rpc.blockNumber();
    let result: SendResult;
    try {
      result = await src.sender.send(
        { to: src.rebalancer, data: sim.calldata, value: sim.value },
        { onBroadcast: (hash) => this.record(round, plan, rank, 'sent', { txHash: hash }) },
      );
    } catch (err) {
      await this.record(round, plan, rank, 'failed', { error: String((err as Error)?.message ?? err) });
      return false;
    }
    if (result.receipt.status !== 1) {
      const lost = await this.movedSince(src, plan, round.detectedBlock);
      await this.record(round, plan, rank, lost ? 'lost' : 'failed', {
        txHash: result.hash,
        error: lost ? 'reverted: rebalanced by another node' : 'reverted',
      });
      return false;
    }
    const ev = result.receipt.logs
      .filter((l) => l.topics[0] === TOPICS_RB.Rebalanced)
      .map((l) => REBALANCER.parseLog({ topics: [...l.topics], data: l.data }))[0];
    const moveId = (ev?.args.id as Hex | undefined) ?? sim.moveId;
    await this.record(round, plan, rank, 'landed', { txHash: result.hash, moveId });
    this.rounds.delete(key);
    this.claims.delete(key);
    this.log('rebalanced', {
      account: plan.account,
      subaccount: String(plan.subaccount),
      from: plan.srcEngineEid,
      to: plan.dstEngineEid,
      amount: String(plan.amount),
      tx: result.hash,
    });

    const landed = (await this.m.journal.get(id)) as RebalanceRecord;
    this.follow(landed, key, dstFromBlock, round.detectedAt);
    return true;
  }

  /**
   * Follows the moves a previous run of this node landed but did not see credited (a restart while
   * the LOCK travelled). Their credit is searched from the destination's first block.
   */
  async resume(): Promise<void> {
    for (const r of await this.m.journal.list()) {
      if (r.status !== 'landed' || r.moveId === undefined) continue;
      const key = subKey(r.dstEngineEid, r.account, r.subaccount);
      this.busy.add(key);
      this.follow(r, key, 0, r.timestamps.detected ?? r.timestamps.claimed ?? r.updatedAt, 0);
    }
  }

  /** In the background: the landed move `r` to its credit (or hold) on the destination; frees `key`. */
  private follow(
    r: RebalanceRecord,
    key: string,
    dstFromBlock: number,
    detectedAt: number,
    vaultFromBlock?: number,
  ): void {
    const dst = this.m.engineOf(r.dstEngineEid);
    const follow = followMove(
      { ...r, moveId: r.moveId as Hex },
      {
        vaultOf: this.m.vaultOf,
        engineOf: this.m.engineOf,
        dstFromBlock,
        ...(vaultFromBlock === undefined ? {} : { vaultFromBlock }),
        timeoutMs: this.o.followTimeoutMs,
        pollMs: this.o.followPollMs,
        stopped: () => this.stopped,
        now: () => this.now(),
      },
    )
      .then(async (out) => {
        if (out.status !== 'credited' && out.status !== 'held') {
          this.log('move not followed to its credit', { id: r.id, status: out.status });
          return;
        }
        const latencyMs = out.at - detectedAt;
        const after =
          dst === undefined
            ? undefined
            : (await readHealth(dst.rpc, dst.engine, r.account, r.subaccount)).health;
        await this.update(r.id, out.status, {
          latencyMs,
          ...(after === undefined ? {} : { dstHealthAfter: after }),
        });
        if (out.status === 'credited') this.m.onRescued?.(latencyMs / 1000);
      })
      .catch((err: unknown) => this.log('move follow-up failed', { id: r.id, err: String(err) }))
      .finally(() => this.busy.delete(key));
    this.followUps.add(follow);
    void follow.finally(() => this.followUps.delete(follow));
  }

  /** Whether a Rebalanced event for the sub-account was emitted on the source since `fromBlock`. */
  private async movedSince(src: RebalanceChain, plan: RescuePlan, fromBlock: number): Promise<boolean> {
    const logs = await src.rpc.getLogs({
      address: src.rebalancer,
      topics: [
        TOPICS_RB.Rebalanced,
        null,
        zeroPadValue(plan.account, 32) as Hex,
        toBeHex(plan.subaccount, 32) as Hex,
      ],
      fromBlock,
    });
    return logs.length > 0;
  }

  /** Writes the attempt's record in `status` (creating it from the plan if needed), merging `fields`. */
  private async record(
    round: Round,
    plan: RescuePlan,
    rank: number,
    status: RbStatus,
    fields: Partial<RebalanceRecord>,
  ): Promise<void> {
    const id = rebalanceAttemptId(plan.dstEngineEid, plan.account, plan.subaccount, plan.stateKey);
    round.records.add(id);
    if ((await this.m.journal.get(id)) === undefined) {
      await this.m.journal.put({
        id,
        account: plan.account,
        subaccount: plan.subaccount,
        dstEngineEid: plan.dstEngineEid,
        srcEngineEid: plan.srcEngineEid,
        srcEid: plan.srcEid,
        token: plan.token,
        amount: plan.amount,
        valueUsd: plan.valueUsd,
        stateKey: plan.stateKey,
        rank,
        dstHealthBefore: plan.dstHealthBefore,
        dstHealthAfter: plan.dstHealthAfter,
        reason: plan.reason,
        status,
        timestamps: {},
        updatedAt: this.now(),
      });
    }
    await this.update(id, status, { rank, ...fields });
  }

  /** Moves an existing record to `status`, merging `fields`; counts and logs the transition. */
  private async update(id: Hex, status: RbStatus, fields: Partial<RebalanceRecord>): Promise<void> {
    const prev = await this.m.journal.get(id);
    if (prev === undefined) return;
    const now = this.now();
    const next: RebalanceRecord = {
      ...prev,
      ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
      status,
      updatedAt: now,
    };
    next.timestamps = { ...prev.timestamps, [status]: prev.timestamps[status] ?? now };
    await this.m.journal.put(next);
    if (prev.status === status && prev.timestamps[status] !== undefined) return;
    this.byStatus[status]++;
    this.log(`rebalance ${status}`, {
      id,
      account: prev.account,
      subaccount: String(prev.subaccount),
      from: prev.srcEngineEid,
      to: prev.dstEngineEid,
      ...(fields.error === undefined ? {} : { error: fields.error }),
    });
  }

  /** The round's records still 'detected' (but `except`) move to `status`. */
  private async closeRecords(round: Round, status: RbStatus, why: string, except?: Hex): Promise<void> {
    const ids = [...round.records].filter((id) => id !== except);
    this.byStatus[status] += await closeOpen(this.m.journal, ids, 'detected', status, why, this.now());
  }
}
