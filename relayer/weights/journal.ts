// The weight proposer's journal: one record per weight update this node signed or saw reach a
// quorum, keyed by the update's EIP-712 digest, in bucket 50 `weightJournal` (relayer/store/journal.ts),
// or in memory for tests and store-less runs.

import type { Address, Hex } from '../config/types.ts';
import type { Journal } from '../store/journal.ts';

export const WEIGHT_STATUS = [
  'signed',
  'quorum',
  'submitted',
  'applied',
  'stale',
  'expired',
  'failed',
] as const;
export type WeightStatus = (typeof WEIGHT_STATUS)[number];
/** The statuses a round ends in. */
export const WEIGHT_FINAL = [
  'applied',
  'stale',
  'expired',
  'failed',
] as const satisfies readonly WeightStatus[];
export type WeightFinal = (typeof WEIGHT_FINAL)[number];

export interface WeightRecord {
  /** The update's digest (WeightGovernor.hashWeightUpdate). */
  id: Hex;
  eid: number;
  assetId: number;
  symbol: string;
  /** WAD: the engine's weight when this node proposed the update (unknown when it only heard it), and the proposed one. */
  previousWeight?: bigint;
  weight: bigint;
  nonce: bigint;
  deadline: bigint;
  /** The volatility weight before grid and step (this node's, when it signed). */
  target?: number;
  /** Signers heard for this digest (this node included). */
  signers: Address[];
  /** This node's submitter rank when it held the quorum. */
  rank?: number;
  /** Whether this node sent the `updateWeight` that landed. */
  submittedByUs?: boolean;
  txHash?: Hex;
  status: WeightStatus;
  error?: string;
  timestamps: Partial<Record<WeightStatus, number>>;
  updatedAt: number;
}

export type WeightJournal = Journal<WeightRecord>;
