// The takeover rule of coordinated actions (liquidations, rebalances): the node ranked k by rendezvous
// hashing acts k deadlines after it first saw the need, and only while no claim it heard is still
// within its deadline. Every node applies the same rule to the same inputs.

import type { Address, Hex } from '../config/types.ts';
import type { SignedMessage } from '../p2p/types.ts';

/** Whether a node of `rank` that first saw the need at `detectedAt` may act at `now`. */
export function isMyTurn(
  detectedAt: number,
  rank: number,
  deadlineMs: number,
  claimDeadline: number | undefined,
  now: number,
): boolean {
  const claimLive = claimDeadline !== undefined && claimDeadline > now;
  return now >= detectedAt + rank * deadlineMs && !claimLive;
}

/** What every claim on the `claim` gossip topic carries, whatever it claims. Bigints as decimal strings. */
export interface ClaimBase {
  kind: string;
  account: Address;
  subaccount: string;
  stateKey: Hex;
  claimant: Address;
  /** ms since epoch: after it, the next-ranked node may take over. */
  deadline: number;
}

/**
 * A claim heard on gossip, if it is one of `kind`, well-formed, signed by its claimant and not ours
 * (the topic's schema accepts any JSON object: the coordinators check what they rely on).
 */
export function heardClaim<C extends ClaimBase>(
  msg: SignedMessage<C>,
  kind: C['kind'],
  self: Address,
): C | undefined {
  const c = msg.payload;
  if (c?.kind !== kind || typeof c.account !== 'string' || typeof c.claimant !== 'string') return undefined;
  if (c.claimant.toLowerCase() !== msg.signer.toLowerCase()) return undefined;
  if (c.claimant.toLowerCase() === self.toLowerCase()) return undefined;
  if (typeof c.subaccount !== 'string' || !/^[0-9]{1,29}$/.test(c.subaccount)) return undefined;
  if (typeof c.deadline !== 'number') return undefined;
  return c;
}

/** The claims heard per action key; of two claims for one key, the later deadline counts. */
export class ClaimBook<C extends ClaimBase> extends Map<string, C> {
  note(key: string, claim: C): void {
    const known = this.get(key);
    if (known === undefined || known.deadline < claim.deadline) this.set(key, claim);
  }
}
