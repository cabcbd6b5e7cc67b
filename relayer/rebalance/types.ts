// The rebalancer's vocabulary: the limits a trader grants (IRebalancer.Limits), what the decision
// proposes, what the journal stores and what a claim says on gossip. Leaves only: nothing here knows
// about chains or the node.

import type { Address, Hex } from '../config/types.ts';
import type { ClaimBase } from '../liquidation/turn.ts';

/** IRebalancer.Limits as authorised on a SOURCE engine chain for one sub-account. */
export interface Limits {
  /** Destination engine eids a move may go to. */
  engines: number[];
  /** WAD USD: amount × the source engine's oracle price of one move, at most this. */
  maxPerMoveUsd: bigint;
  /** WAD: the source sub-account's health after the move must be at least this. */
  minSourceHealth: bigint;
  /** Unix seconds: void from then on. */
  expiry: number;
}

/** How the rebalancer decides; every field has a default (DEFAULT_REBALANCE in ./decide.ts). */
export interface RebalancePolicy {
  /** A rescue is wanted when the destination's health is below this (WAD) … */
  triggerHealth: bigint;
  /** … or when its breach probability over the engine's message latency is at least this. */
  maxBreachProbability: number;
  /** The rescue is sized to bring the destination back to this health (WAD). */
  targetHealth: bigint;
  /** Head-room kept above the source's minSourceHealth and initial requirement, basis points. */
  sourceMarginBps: bigint;
  /** Fraction of maxPerMoveUsd used at most, basis points (the price may tick before the move lands). */
  maxPerMoveUseBps: bigint;
  /** Moves worth less than this (WAD USD at the source's price) are not worth the message fee. */
  minMoveUsd: bigint;
  /** An authorisation expiring within this many seconds is not used (the move must land first). */
  expiryMarginSec: number;
}

/** A collateral's price and weight as one engine values it (its collateralSource, riskAsset, oracle). */
export interface Valuation {
  /** WAD USD per whole token. */
  price: bigint;
  /** WAD collateral weight (1 − haircut). */
  weight: bigint;
  decimals: number;
  /** The engine credits this (srcEid, token) at all (else a LOCK to it would be held, not credited). */
  enabled: boolean;
}

/** One proposed MOVE: from (srcEngine, srcEid, token) credit to the destination engine. */
export interface RescuePlan {
  account: Address;
  subaccount: bigint;
  dstEngineEid: number;
  srcEngineEid: number;
  /** The collateral: its vault chain and token. */
  srcEid: number;
  token: Address;
  amount: bigint;
  /** WAD USD at the source engine's price. */
  valueUsd: bigint;
  /** Health (WAD) now and expected after the credit lands, on the destination and the source. */
  dstHealthBefore: bigint;
  dstHealthAfter: bigint;
  srcHealthAfter: bigint;
  /** Whether the move is smaller than the need (a limit capped it). */
  partial: boolean;
  /** Why the destination needs it, for the journal. */
  reason: string;
  /** Identifies the margin state this plan was made from (destination equity, source credit). */
  stateKey: Hex;
}

/** The decision for one destination engine entry that wanted a rescue. */
export type RescueDecision =
  | { kind: 'move'; plan: RescuePlan }
  | {
      kind: 'none';
      account: Address;
      subaccount: bigint;
      dstEngineEid: number;
      dstHealth: bigint;
      reason: string;
    };

export const RB_STATUS = [
  'detected',
  'claimed',
  'sent',
  'landed',
  'credited',
  'held',
  'lost',
  'failed',
  'recovered',
  'superseded',
] as const;
/**
 * detected: a rescue was planned, not our turn (yet). claimed: we gossiped our claim. sent: our
 * rebalance transaction is out. landed: mined, the MOVE left the source engine. credited: the LOCK
 * that followed it was credited on the destination engine. held: the destination held it instead.
 * lost: another node's move landed first. failed: the simulation or the transaction failed.
 * recovered: the destination no longer needed a rescue before we acted. superseded: the need was
 * acted on from a newer margin state (prices move between first sight and our turn).
 */
export type RbStatus = (typeof RB_STATUS)[number];

/** One journal record: one attempt at one (destination, account, subaccount, state), from its plan. */
export interface RebalanceRecord
  extends Pick<
    RescuePlan,
    | 'account'
    | 'subaccount'
    | 'dstEngineEid'
    | 'srcEngineEid'
    | 'srcEid'
    | 'token'
    | 'amount'
    | 'valueUsd'
    | 'stateKey'
    | 'dstHealthBefore'
    | 'reason'
  > {
  /** keccak256('rebalance', dstEngineEid, account, subaccount, stateKey). */
  id: Hex;
  status: RbStatus;
  rank: number;
  /** Expected by the plan until credited; then read from the destination engine. */
  dstHealthAfter?: bigint;
  txHash?: Hex;
  /** The engine's MOVE message id (the Rebalanced / Debited id). */
  moveId?: Hex;
  /** ms from first detection to the credit on the destination. */
  latencyMs?: number;
  error?: string;
  timestamps: Partial<Record<RbStatus, number>>;
  updatedAt: number;
}

/** The `claim` gossip payload of a rebalance (the liquidator's claim shape, another kind). */
export interface RebalanceClaim extends ClaimBase {
  kind: 'rebalance';
  dstEngineEid: number;
  srcEngineEid: number;
}

export type LogFn = (msg: string, fields?: Record<string, unknown>) => void;
