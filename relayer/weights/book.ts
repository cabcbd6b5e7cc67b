// Quorum collection of weight-update signatures: per digest (one (chain, governor, asset, weight,
// nonce, deadline)), the distinct attestor signers heard so far. In memory: a round lives for one
// nonce and a few minutes, and every attestor re-gossips its own signature until the round ends, so
// a restarted node gathers it again. Only signatures that recover to their claimed signer over the
// very update they name get in (the gossip validator checks that too; the book does not trust it).

import type { Address, Hex } from '../config/types.ts';
import { recoverWeightSigner, type WeightUpdate, weightDigest } from './eip712.ts';

export interface Round {
  digest: Hex;
  eid: number;
  update: WeightUpdate;
  /** By lower-case signer address. */
  signatures: Map<Address, Hex>;
  /** ms when this node first held a quorum: the submitters' deadlines count from it. */
  quorumAt?: number;
}

export class WeightSignatureBook {
  private readonly rounds = new Map<Hex, Round>();
  private readonly signers: Set<string>;
  private readonly quorum: number;

  constructor(signers: readonly Address[], quorum: number) {
    this.signers = new Set(signers.map((s) => s.toLowerCase()));
    this.quorum = quorum;
  }

  /**
   * Adds `signer`'s signature of `update` (on engine chain `eid`); returns the round when it is new
   * there, undefined for a duplicate, an outsider or a signature by someone else. Marks the round's
   * quorum time (`now`) the first time it reaches the quorum.
   */
  add(eid: number, update: WeightUpdate, signer: Address, signature: Hex, now: number): Round | undefined {
    const who = signer.toLowerCase() as Address;
    if (!this.signers.has(who)) return undefined;
    try {
      if (recoverWeightSigner(update, signature).toLowerCase() !== who) return undefined;
    } catch {
      return undefined;
    }
    const digest = weightDigest(update);
    let round = this.rounds.get(digest);
    if (round === undefined) {
      round = { digest, eid, update, signatures: new Map() };
      this.rounds.set(digest, round);
    }
    if (round.signatures.has(who)) return undefined;
    round.signatures.set(who, signature);
    if (round.quorumAt === undefined && round.signatures.size >= this.quorum) round.quorumAt = now;
    return round;
  }

  get(digest: Hex): Round | undefined {
    return this.rounds.get(digest);
  }

  /** Rounds holding a quorum. */
  ready(): Round[] {
    return [...this.rounds.values()].filter((r) => r.quorumAt !== undefined);
  }

  /**
   * Drops the rounds of (eid, assetId) that can no longer land: a nonce below `nonce` (the governor
   * moved on) or a deadline before `nowSec`. Returns them.
   */
  prune(eid: number, assetId: number, nonce: bigint, nowSec: number): Round[] {
    const dropped: Round[] = [];
    for (const [digest, r] of this.rounds) {
      if (r.eid !== eid || r.update.assetId !== assetId) continue;
      if (r.update.nonce < nonce || r.update.deadline < BigInt(nowSec)) {
        this.rounds.delete(digest);
        dropped.push(r);
      }
    }
    return dropped;
  }

  delete(digest: Hex): void {
    this.rounds.delete(digest);
  }
}
