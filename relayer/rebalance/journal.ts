// The rebalancer's journal: every attempt and its outcome, keyed by the attempt id (destination,
// sub-account and the margin state the plan was made from), in bucket 41 `rebalanceJournal`, or in
// memory for tests and store-less runs.

import { solidityPackedKeccak256 } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import type { Journal } from '../store/journal.ts';
import type { RebalanceRecord } from './types.ts';

export type RebalanceJournal = Journal<RebalanceRecord>;

export function rebalanceAttemptId(
  dstEngineEid: number,
  account: Address,
  subaccount: bigint,
  stateKey: Hex,
): Hex {
  return solidityPackedKeccak256(
    ['string', 'uint32', 'address', 'uint96', 'bytes32'],
    ['rebalance', dstEngineEid, account, subaccount, stateKey],
  ) as Hex;
}
