// Dynamic haircuts on chain: the attestor side of the WeightGovernor. Every `intervalMs` each attestor
// computes, per governed asset of the engine chains it serves, the weight its volatility calls for
// (./propose.ts, within the governor's on-chain bounds, on a grid so honest nodes agree) and, when it
// differs from the engine's weight by at least the threshold and the governor's min interval has
// passed, signs the WeightUpdate (the governor's current nonce, a shared deadline) and gossips the
// signature. Signatures of the same digest are collected (./book.ts); once a quorum is held, the
// attestor ranked first by rendezvous hashing of the digest over the live attestors submits
// `updateWeight` — the attestor's scheme (attestor/attestor.ts): rank k waits k × `deadlineMs` after
// the quorum, and every step first asks the chain whether the nonce moved (then the round is stale
// and dropped). The governor enforces bounds, step, interval and quorum; this only proposes.

import type { Wallet } from 'ethers';
import { pickQuorum } from '../../attestor/dvn.ts';
import { rendezvousRank } from '../../attestor/rendezvous.ts';
import type { Address, DvnConfig, Hex } from '../config/types.ts';
import { describeRevert, type LiqRpc } from '../liquidation/rpc.ts';
import type { SendHooks, SendResult, TxRequest } from '../liquidation/sender.ts';
import { createTicker, type Ticker } from '../liquidation/ticker.ts';
import type { GossipNetwork, SignedMessage } from '../p2p/types.ts';
import { type WeightSignaturePayload, weightUpdateOf } from '../p2p/weight-payload.ts';
import { recordLocks } from '../store/journal.ts';
import { type Round, WeightSignatureBook } from './book.ts';
import {
  type AssetState,
  findLandedUpdate,
  GOVERNOR,
  type LandedUpdate,
  readAssetState,
  updateWeightCallData,
} from './chain.ts';
import {
  deadlineFor,
  recoverWeightSigner,
  signWeightUpdate,
  type WeightUpdate,
  weightDigest,
} from './eip712.ts';
import {
  WEIGHT_FINAL,
  type WeightFinal,
  type WeightJournal,
  type WeightRecord,
  type WeightStatus,
} from './journal.ts';
import { intervalPassed, type ProposalParams, proposeWeight, WAD } from './propose.ts';

/** An engine chain with a WeightGovernor that this node serves. */
export interface WeightChain {
  eid: number;
  name: string;
  chainId: number;
  engine: Address;
  governor: Address;
  rpc: Pick<LiqRpc, 'call' | 'blockNumber' | 'getLogs' | 'send'>;
  sender: { send(tx: TxRequest, hooks?: SendHooks): Promise<SendResult> };
  /** The engine's risk assets and the price key (relayer/risk series) that values each. */
  assets: { assetId: number; symbol: string; priceKey: string }[];
}

export interface WeightProposerOptions extends ProposalParams {
  /** How often weights are proposed. */
  intervalMs: number;
  /** Horizon of the volatility (the liquidation horizon), seconds. */
  horizonSec: number;
  /** Window of the shared signature deadline (./eip712.ts deadlineFor), seconds. */
  epochSec: number;
  /** How long rank k waits (k × this) after the quorum before it submits itself. */
  deadlineMs: number;
  /** Submissions, takeovers and re-gossip run this often. */
  tickMs: number;
}

export const DEFAULT_WEIGHT_PROPOSER: WeightProposerOptions = {
  intervalMs: 30_000,
  horizonSec: 120,
  epochSec: 60,
  deadlineMs: 15_000,
  tickMs: 1_000,
  k: 1,
  confidence: 0.99,
  gridWad: WAD / 100n,
  thresholdWad: WAD / 50n,
};

export interface WeightProposerModules {
  wallet: Wallet;
  gossip: GossipNetwork;
  dvn: DvnConfig;
  chains: WeightChain[];
  /** σ of a price series over `horizonSec`; undefined until the risk tracker has enough samples. */
  sigma: (priceKey: string, horizonSec: number) => number | undefined;
  /** EVM addresses of the attestors seen alive (this node included). */
  liveSigners: () => Address[];
  journal: WeightJournal;
  /** Each record that reaches a final status. */
  onOutcome?: (status: WeightFinal) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

/** The latest proposal per asset, for the status. */
export interface LatestProposal {
  eid: number;
  chain: string;
  assetId: number;
  symbol: string;
  current: bigint;
  /** Volatility weight before grid and step. */
  target?: number;
  /** Set when it differed enough to be signed. */
  proposed?: bigint;
  reason?: string;
  sigmaHorizon?: number;
  at: number;
}

export class WeightProposer {
  private readonly o: WeightProposerOptions;
  private readonly m: WeightProposerModules;
  private readonly book: WeightSignatureBook;
  /** Own signatures not yet landed or dropped: re-gossiped every tick (gossip keeps no history). */
  private readonly own = new Map<Hex, WeightSignaturePayload>();
  private readonly latest = new Map<string, LatestProposal>();
  private readonly busy = new Set<Hex>();
  /** Rounds whose transaction went out but was not followed to a receipt: they end in dropEnded. */
  private readonly unfollowed = new Set<Hex>();
  /** Read-modify-writes of one journal record run one at a time (gossip touches race the submitter). */
  private readonly locked = recordLocks();
  private readonly ticker: Ticker;
  private readonly now: () => number;
  private readonly log: NonNullable<WeightProposerModules['log']>;
  private lastProposal = 0;
  private stopped = true;
  /** The governor's nonce per `eid:assetId` as last read: a move past it is an update that landed. */
  private readonly seenNonce = new Map<string, bigint>();

  constructor(options: Partial<WeightProposerOptions>, modules: WeightProposerModules) {
    this.o = { ...DEFAULT_WEIGHT_PROPOSER, ...options };
    this.m = modules;
    this.now = modules.now ?? Date.now;
    this.log = modules.log ?? (() => {});
    this.book = new WeightSignatureBook(modules.dvn.signers, modules.dvn.quorum);
    // One pass at a time: a quorum heard during a pass runs one more right after it.
    this.ticker = createTicker(
      () => this.tick().catch((err: unknown) => this.log('weight tick failed', { err: String(err) })),
      this.o.tickMs,
    );
  }

  start(): void {
    this.stopped = false;
    this.m.gossip.subscribe<WeightSignaturePayload>('weightSignature', (msg) => this.onSignature(msg));
    this.ticker.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.ticker.stop();
  }

  /** The latest proposal of every governed asset, for the status. */
  proposals(): LatestProposal[] {
    return [...this.latest.values()];
  }

  /** The journal's rounds, for the status. */
  updates(): Promise<WeightRecord[]> {
    return this.m.journal.list();
  }

  /** Proposals when due, then re-gossip and the submissions whose turn it is. */
  async tick(): Promise<void> {
    if (this.now() - this.lastProposal >= this.o.intervalMs) {
      this.lastProposal = this.now();
      for (const chain of this.m.chains) {
        for (const asset of chain.assets) {
          await this.propose(chain, asset).catch((err: unknown) =>
            this.log('weight proposal failed', {
              chain: chain.name,
              assetId: asset.assetId,
              err: String(err),
            }),
          );
        }
      }
    }
    for (const payload of this.own.values()) {
      await this.m.gossip
        .publish('weightSignature', payload)
        .catch((err: unknown) => this.log('weight signature not gossiped', { err: String(err) }));
    }
    const turns: Promise<void>[] = [];
    for (const round of this.book.ready()) {
      const rank = rendezvousRank(round.digest, this.m.wallet.address as Address, this.m.liveSigners());
      if (this.now() < (round.quorumAt as number) + rank * this.o.deadlineMs) continue;
      if (this.busy.has(round.digest) || this.unfollowed.has(round.digest)) continue;
      this.busy.add(round.digest);
      turns.push(
        this.submit(round, rank)
          .catch((err: unknown) =>
            this.log('weight submit failed', { digest: round.digest, err: String(err) }),
          )
          .finally(() => this.busy.delete(round.digest)),
      );
    }
    await Promise.all(turns);
  }

  private async propose(chain: WeightChain, asset: WeightChain['assets'][number]): Promise<void> {
    const state = await readAssetState(chain.rpc, chain.engine, chain.governor, asset.assetId);
    const nowSec = Math.floor(this.now() / 1000);
    await this.dropEnded(chain, asset.assetId, state, nowSec);
    const sigmaHorizon = this.m.sigma(asset.priceKey, this.o.horizonSec);
    const p = proposeWeight({ current: state.weight, sigmaHorizon, bounds: state.bounds }, this.o);
    const latest: LatestProposal = {
      eid: chain.eid,
      chain: chain.name,
      assetId: asset.assetId,
      symbol: asset.symbol,
      current: state.weight,
      at: this.now(),
      ...(sigmaHorizon === undefined ? {} : { sigmaHorizon }),
      ...(p.target === undefined ? {} : { target: p.target }),
    };
    this.latest.set(`${chain.eid}:${asset.assetId}`, latest);
    if (p.kind === 'none') {
      latest.reason = p.reason;
      return;
    }
    latest.proposed = p.weight;
    if (!intervalPassed(state.lastUpdate, state.bounds.minInterval, nowSec)) {
      latest.reason = 'governor min interval not passed';
      return;
    }
    const update: WeightUpdate = {
      chainId: chain.chainId,
      governor: chain.governor,
      assetId: asset.assetId,
      weight: p.weight,
      nonce: state.nonce,
      deadline: deadlineFor(nowSec, this.o.epochSec),
    };
    const digest = weightDigest(update);
    if (this.own.has(digest)) return;
    const signature = await signWeightUpdate(this.m.wallet, update);
    const payload: WeightSignaturePayload = { eid: chain.eid, ...update, signature };
    this.own.set(digest, payload);
    await this.record(digest, chain.eid, update, 'signed', {
      symbol: asset.symbol,
      previousWeight: state.weight,
      target: p.target,
    });
    this.book.add(chain.eid, update, this.m.wallet.address as Address, signature, this.now());
    this.log('weight update signed', {
      chain: chain.name,
      assetId: asset.assetId,
      from: state.weight.toString(),
      to: p.weight.toString(),
      nonce: state.nonce.toString(),
    });
    await this.m.gossip
      .publish('weightSignature', payload)
      .catch((err: unknown) => this.log('weight signature not gossiped', { err: String(err) }));
  }

  /** A signature from gossip (already validated: an attestor's, recovering to its envelope signer). */
  async onSignature(msg: SignedMessage<WeightSignaturePayload>): Promise<void> {
    const p = msg.payload;
    const chain = this.m.chains.find((c) => c.eid === p.eid);
    if (chain === undefined || chain.chainId !== p.chainId) return;
    if (chain.governor.toLowerCase() !== p.governor.toLowerCase()) return;
    const update = weightUpdateOf(p);
    const round = this.book.add(p.eid, update, msg.signer, p.signature, this.now());
    if (round === undefined) return;
    const signers = [...round.signatures.keys()];
    if (round.quorumAt === undefined) {
      if ((await this.m.journal.get(round.digest)) !== undefined) await this.touch(round.digest, { signers });
      return;
    }
    const existing = await this.m.journal.get(round.digest);
    if (existing === undefined || existing.status === 'signed') {
      const symbol = chain.assets.find((a) => a.assetId === p.assetId)?.symbol ?? String(p.assetId);
      await this.record(round.digest, p.eid, update, 'quorum', { symbol, signers });
      this.log('weight update quorum', {
        chain: chain.name,
        assetId: p.assetId,
        weight: p.weight.toString(),
      });
      // Rank 0 submits at once rather than on the next tick.
      if (!this.stopped) setImmediate(() => void this.ticker.wake());
    } else {
      await this.touch(round.digest, { signers });
    }
  }

  /** Our turn for a round at quorum: check the nonce and deadline on chain, then send updateWeight. */
  private async submit(round: Round, rank: number): Promise<void> {
    const chain = this.m.chains.find((c) => c.eid === round.eid) as WeightChain;
    const u = round.update;
    const state = await readAssetState(chain.rpc, chain.engine, chain.governor, u.assetId);
    const nowSec = Math.floor(this.now() / 1000);
    if (state.nonce !== u.nonce || u.deadline < BigInt(nowSec)) {
      await this.dropEnded(chain, u.assetId, state, nowSec);
      return;
    }
    const signatures = pickQuorum(
      [...round.signatures.values()],
      this.m.dvn.quorum,
      this.m.dvn.signers,
      (s) => recoverWeightSigner(u, s),
    );
    await this.setStatus(round.digest, 'submitted', { rank });
    let result: SendResult;
    let broadcast = false;
    try {
      result = await chain.sender.send(
        { to: chain.governor, data: updateWeightCallData(u.assetId, u.weight, u.deadline, signatures) },
        {
          onBroadcast: (hash) => {
            broadcast = true;
            return this.touch(round.digest, { txHash: hash });
          },
        },
      );
    } catch (err) {
      if (broadcast) {
        // Sent, but the wait for its receipt failed (timeout, RPC errors): it may still land. The
        // round is not sent again; it ends when the nonce moves or the deadline passes (dropEnded),
        // which reads the landed transaction to say whether it was ours.
        this.unfollowed.add(round.digest);
        this.log('weight update sent, receipt not seen', { digest: round.digest, err: String(err) });
        return;
      }
      // A revert at estimation: most often another node's update landed first (the nonce moved).
      const after = await readAssetState(chain.rpc, chain.engine, chain.governor, u.assetId);
      if (after.nonce !== u.nonce) {
        await this.dropEnded(chain, u.assetId, after, nowSec);
        return;
      }
      this.book.delete(round.digest);
      await this.setStatus(round.digest, 'failed', { error: describeRevert(err, [GOVERNOR]).text });
      return;
    }
    if (result.receipt.status !== 1) {
      const after = await readAssetState(chain.rpc, chain.engine, chain.governor, u.assetId);
      await this.dropEnded(chain, u.assetId, after, nowSec);
      if (after.nonce === u.nonce) {
        this.book.delete(round.digest);
        await this.setStatus(round.digest, 'failed', { txHash: result.hash, error: 'reverted' });
      }
      return;
    }
    this.book.delete(round.digest);
    this.own.delete(round.digest);
    await this.setStatus(round.digest, 'applied', { txHash: result.hash, submittedByUs: true });
    this.log('weight updated', {
      chain: chain.name,
      assetId: u.assetId,
      weight: u.weight.toString(),
      nonce: u.nonce.toString(),
      tx: result.hash,
    });
  }

  /**
   * Rounds of the asset that can no longer land (nonce moved on, or deadline passed): dropped from
   * the book and from re-gossip; their records say whether the update they carried was applied.
   */
  private async dropEnded(
    chain: WeightChain,
    assetId: number,
    state: AssetState,
    nowSec: number,
  ): Promise<void> {
    const ended = this.book.prune(chain.eid, assetId, state.nonce, nowSec);
    for (const [digest, p] of this.own) {
      if (
        p.eid === chain.eid &&
        p.assetId === assetId &&
        (p.nonce < state.nonce || p.deadline < BigInt(nowSec))
      ) {
        this.own.delete(digest);
        if (!ended.some((r) => r.digest === digest))
          ended.push({ digest, eid: p.eid, update: weightUpdateOf(p), signatures: new Map() });
      }
    }
    // Rounds that carry exactly what the chain now holds (the nonce moved by one, the engine has the
    // weight). Several can (signed in different deadline windows): the landed calldata says which.
    const sameAsChain = ended.filter(
      (r) => state.nonce === r.update.nonce + 1n && state.weight === r.update.weight,
    );
    const landed =
      sameAsChain.length === 0
        ? undefined
        : await findLandedUpdate(chain.rpc, chain.governor, assetId, state.nonce - 1n).catch(() => undefined);
    for (const r of ended) {
      const u = r.update;
      const applied = sameAsChain.includes(r) && (landed === undefined || landed.deadline === u.deadline);
      const status: WeightStatus = applied ? 'applied' : u.nonce < state.nonce ? 'stale' : 'expired';
      this.unfollowed.delete(r.digest);
      const current = await this.m.journal.get(r.digest);
      if (current === undefined || current.status === 'applied' || current.status === 'failed') continue;
      if (!applied) {
        const why = sameAsChain.includes(r)
          ? `the same weight landed under another deadline (${landed?.txHash})`
          : `nonce now ${state.nonce}`;
        await this.setStatus(r.digest, status, { error: why });
        continue;
      }
      // Not found (RPC trouble, beyond the lookback): applied, by whom unknown.
      const ours = landed?.submitter.toLowerCase() === this.m.wallet.address.toLowerCase();
      await this.setStatus(
        r.digest,
        status,
        landed === undefined ? {} : { txHash: landed.txHash, submittedByUs: ours },
      );
    }
    await this.recordMissedLanding(chain, assetId, state);
  }

  /**
   * An update can land that this node neither signed nor saw reach its quorum (it joined while the
   * round was open, or missed a signature that was gossiped once: the submitter stops re-gossiping
   * when it lands). Seen as the governor's nonce moving past the last one read, it is recorded from
   * the chain as applied, so every node's status shows the weights in force.
   */
  private async recordMissedLanding(chain: WeightChain, assetId: number, state: AssetState): Promise<void> {
    const key = `${chain.eid}:${assetId}`;
    const seen = this.seenNonce.get(key);
    const nonce = state.nonce - 1n;
    if (seen !== undefined && state.nonce > seen && !(await this.knownApplied(chain.eid, assetId, nonce))) {
      let landed: LandedUpdate | undefined;
      try {
        landed = await findLandedUpdate(chain.rpc, chain.governor, assetId, nonce);
      } catch {
        return; // RPC trouble: the next read tries again
      }
      if (landed !== undefined) {
        const u: WeightUpdate = {
          chainId: chain.chainId,
          governor: chain.governor,
          assetId,
          weight: landed.weight,
          nonce,
          deadline: landed.deadline,
        };
        await this.recordLanded(chain, u, landed);
      }
    }
    this.seenNonce.set(key, state.nonce);
  }

  private async knownApplied(eid: number, assetId: number, nonce: bigint): Promise<boolean> {
    return (await this.m.journal.list()).some(
      (r) => r.eid === eid && r.assetId === assetId && r.nonce === nonce && r.status === 'applied',
    );
  }

  /** A landed update's record: applied, with the signers its calldata carried. */
  private async recordLanded(chain: WeightChain, u: WeightUpdate, landed: LandedUpdate): Promise<void> {
    const digest = weightDigest(u);
    const signers = landed.signatures.flatMap((sig) => {
      try {
        return [recoverWeightSigner(u, sig).toLowerCase() as Address];
      } catch {
        return [];
      }
    });
    const symbol = chain.assets.find((a) => a.assetId === u.assetId)?.symbol ?? String(u.assetId);
    await this.record(digest, chain.eid, u, 'applied', {
      symbol,
      previousWeight: landed.previousWeight,
      signers,
    });
    await this.touch(digest, {
      txHash: landed.txHash,
      submittedByUs: landed.submitter.toLowerCase() === this.m.wallet.address.toLowerCase(),
    });
  }

  /** Creates the record of `digest` if needed and moves it to `status`. */
  private async record(
    digest: Hex,
    eid: number,
    u: WeightUpdate,
    status: WeightStatus,
    fields: { symbol: string; previousWeight?: bigint; target?: number; signers?: Address[] },
  ): Promise<void> {
    await this.locked(digest, async () => {
      if ((await this.m.journal.get(digest)) !== undefined) return;
      await this.m.journal.put({
        id: digest,
        eid,
        assetId: u.assetId,
        symbol: fields.symbol,
        ...(fields.previousWeight === undefined ? {} : { previousWeight: fields.previousWeight }),
        weight: u.weight,
        nonce: u.nonce,
        deadline: u.deadline,
        ...(fields.target === undefined ? {} : { target: fields.target }),
        signers: fields.signers ?? [this.m.wallet.address.toLowerCase() as Address],
        status,
        timestamps: {},
        updatedAt: this.now(),
      });
    });
    await this.setStatus(digest, status, fields.signers === undefined ? {} : { signers: fields.signers });
  }

  private async setStatus(digest: Hex, status: WeightStatus, fields: Partial<WeightRecord>): Promise<void> {
    const prev = await this.locked(digest, async () => {
      const prev = await this.m.journal.get(digest);
      if (prev === undefined) return undefined;
      const now = this.now();
      // A late quorum heard from gossip never moves a round back from submitted or an outcome.
      const next = status === 'quorum' && prev.status !== 'signed' ? prev.status : status;
      await this.m.journal.put({
        ...prev,
        ...fields,
        status: next,
        timestamps: { ...prev.timestamps, [next]: prev.timestamps[next] ?? now },
        updatedAt: now,
      });
      return prev;
    });
    const final = WEIGHT_FINAL.find((f) => f === status);
    if (prev !== undefined && prev.status !== status && final !== undefined) this.m.onOutcome?.(final);
  }

  private async touch(digest: Hex, fields: Partial<WeightRecord>): Promise<void> {
    await this.locked(digest, async () => {
      const prev = await this.m.journal.get(digest);
      if (prev !== undefined) await this.m.journal.put({ ...prev, ...fields, updatedAt: this.now() });
    });
  }
}
