// The liquidator's vocabulary: what a candidate source reports, what the journal stores, what a claim
// says on gossip. Leaves only: nothing here knows about chains or the node.

import type { Address, Hex } from '../config/types.ts';
import type { ClaimBase } from './turn.ts';

/** An unhealthy sub-account as a margin view sees it. `health` is the engine's WAD ratio. */
export interface Candidate {
  account: Address;
  subaccount: bigint;
  health: bigint;
  /** When and at which block the source found it unhealthy (`tip`: from an unconfirmed block's prices). */
  since?: { block: number; seenAt: number; screenedAt: number; tip: boolean };
}

/**
 * Where unhealthy sub-accounts come from. The node's margin view implements it; `PollingCandidates`
 * (./candidates.ts) is a small stand-in that asks the engine about a fixed list of accounts.
 */
export interface CandidateSource {
  /** Sub-accounts the source currently believes to be below health 1 on the engine at `engineEid`. */
  unhealthy(engineEid: number): Candidate[];
  /** Called whenever the set may have changed (a price or position update). */
  onChange(cb: () => void): void;
}

export const LIQ_STATUS = ['detected', 'claimed', 'sent', 'landed', 'lost', 'failed', 'healthy'] as const;
/**
 * detected: simulated and liquidatable, not our turn (yet). claimed: we gossiped our claim.
 * sent: our transaction is out. landed: it was mined and liquidated. lost: someone else liquidated
 * first (their tx landed, or ours reverted with HealthyAccount). failed: simulation or tx failed for
 * another reason. healthy: the simulation said HealthyAccount before we did anything.
 */
export type LiqStatus = (typeof LIQ_STATUS)[number];

/**
 * Where one seizure's payout stands. pending: waiting for the vault chain. queued: the vault debited
 * it but its governor holds it (PayoutQueued to us, for the seized amount): not final, followed until
 * the queue pays it. paid: PaidOut to us for the seized amount, or the queued payout executed (after
 * the window or cleared early by the guardian). mismatch: the vault's PaidOut or PayoutQueued under
 * this id names another recipient or amount than our seizure (`error` says which): final, and an
 * error. unknown: this node has no RPC for the vault's chain.
 */
export const SEIZE_STATUS = ['pending', 'queued', 'paid', 'mismatch', 'unknown'] as const;
export type SeizeStatus = (typeof SEIZE_STATUS)[number];

/** What happened to one remote or local seizure of a landed liquidation. */
export interface SeizeFollowUp {
  id: Hex;
  srcEid: number;
  token: Address;
  amount: bigint;
  status: SeizeStatus;
  /** First vault-chain block searched for its payout (kept, so a restart searches from it again). */
  fromBlock?: number;
  /** The PayoutQueued (status queued, or paid after a queue). */
  queuedTx?: Hex;
  queuedBlock?: number;
  /** The transaction and vault-chain block that paid it (PaidOut, or QueuedPayoutExecuted). */
  payoutTx?: Hex;
  payoutBlock?: number;
  /** A queued payout the guardian cleared ahead of the window. */
  clearedByGuardian?: boolean;
  /** ms from our liquidation's receipt to when we saw it paid (or queued, while queued; or mismatched). */
  latencyMs?: number;
  /** status mismatch: what the vault paid, to whom, against what we seized. */
  error?: string;
}

/** A shortfall the engine settled: the insurance fund paid `coveredByInsurance`, the LP pool lost `writtenOff`. */
export interface BadDebt {
  coveredByInsurance: bigint;
  writtenOff: bigint;
}

/** One journal record: one attempt at one (engine, account, subaccount, state). */
export interface LiquidationRecord {
  /** keccak256(engineEid, account, subaccount, stateKey): the dedupe key. */
  id: Hex;
  engineEid: number;
  account: Address;
  subaccount: bigint;
  /** Identifies the sub-account's margin state this attempt was planned against. */
  stateKey: Hex;
  status: LiqStatus;
  /** Our rank for this sub-account when the record was made (0 = first). */
  rank: number;
  /** The block the episode was detected at: a landing of this attempt shows in Liquidated logs from it. */
  fromBlock?: number;
  healthBefore?: bigint;
  healthAfter?: bigint;
  txHash?: Hex;
  /** Every hash sent for the one nonce (fee bumps replace the transaction). */
  txHashes?: Hex[];
  seizeIds?: Hex[];
  seizures?: SeizeFollowUp[];
  /** The shortfall our liquidation settled (BadDebtSettled in its receipt), quote token units. */
  badDebt?: BadDebt;
  error?: string;
  /**
   * Our transaction ran out of gas at a limit taken from earlier liquidations of the same shape: it
   * reverted, the state is unchanged, and the next pass may send this state again with an estimate.
   */
  outOfGas?: boolean;
  /** ms since epoch, per status reached. */
  timestamps: Partial<Record<LiqStatus, number>>;
  /** Where the time went before our transaction was out (set when we sent). */
  trace?: LiquidationTrace;
  updatedAt: number;
}

/**
 * ms since epoch of each step from the block that made the sub-account unhealthy to our broadcast:
 * the candidate source saw the block and flagged the sub-account, the coordinator picked it up,
 * simulated it and journaled the claim, the transaction queue had gas and fees, our turn for a nonce,
 * and the node accepted the raw transaction.
 */
export interface LiquidationTrace {
  /** The block the candidate source flagged it at, and whether that block was unconfirmed. */
  block?: number;
  tip?: boolean;
  seen?: number;
  screened?: number;
  picked: number;
  /** Planned (its reads done; simulated too, unless the batcher simulates its batch). */
  simulated: number;
  claimed: number;
  /** Handed to the transaction queue: after the batch window and the batch's simulation. */
  queued?: number;
  prepared?: number;
  nonce?: number;
  broadcast?: number;
}

/** The `claim` gossip payload for a liquidation. Bigints travel as decimal strings. */
export interface LiquidationClaim extends ClaimBase {
  kind: 'liquidation';
  engineEid: number;
}

/**
 * Several liquidation claims of one claimant on one engine chain in one gossip message: what a
 * liquidateBatch sent. Every message costs each receiving node a signature recovery, a gossipsub
 * signature check and its decoding; a burst's claims one by one cost the other nodes CPU in the very
 * second they are sending their own liquidations.
 */
export interface LiquidationClaims {
  kind: 'liquidations';
  engineEid: number;
  claimant: Address;
  /** The earliest of the items' deadlines. */
  deadline: number;
  items: { account: Address; subaccount: string; stateKey: Hex }[];
}

export type LogFn = (msg: string, fields?: Record<string, unknown>) => void;
