// The liquidation journal: every attempt and its outcome, keyed by the attempt id (which includes the
// sub-account's state key, so "have I already sent for this state?" is one lookup). A level-backed
// implementation over its own bucket, and an in-memory one for tests and store-less runs.

import { solidityPackedKeccak256 } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import type { Store } from '../store/controller.ts';
import { type Journal, levelRecords, memoryRecords } from '../store/journal.ts';
import type { LiquidationRecord } from './types.ts';

export type LiquidationJournal = Journal<LiquidationRecord>;

export function attemptId(engineEid: number, account: Address, subaccount: bigint, stateKey: Hex): Hex {
  return solidityPackedKeccak256(
    ['uint32', 'address', 'uint96', 'bytes32'],
    [engineEid, account, subaccount, stateKey],
  ) as Hex;
}

export function levelJournal(store: Store): LiquidationJournal {
  return levelRecords<LiquidationRecord>(store, 'liquidationJournal');
}

export function memoryJournal(): LiquidationJournal {
  return memoryRecords<LiquidationRecord>();
}
