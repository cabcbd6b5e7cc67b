// The liquidation journal: every attempt and its outcome, keyed by the attempt id (which includes the
// sub-account's state key, so "have I already sent for this state?" is one lookup). A level-backed
// implementation over its own bucket, and an in-memory one for tests and store-less runs.

import type { Address, Hex } from '../config/types.ts';
import type { Store } from '../store/controller.ts';
import { type Journal, levelRecords, memoryRecords } from '../store/journal.ts';
import { subaccountKeccak } from './fast-abi.ts';
import type { LiquidationRecord } from './types.ts';

export type LiquidationJournal = Journal<LiquidationRecord>;

/** keccak256(abi.encodePacked(uint32 engineEid, address account, uint96 subaccount, bytes32 stateKey)). */
export function attemptId(engineEid: number, account: Address, subaccount: bigint, stateKey: Hex): Hex {
  return subaccountKeccak(engineEid, account, subaccount, stateKey);
}

export function levelJournal(store: Store): LiquidationJournal {
  return levelRecords<LiquidationRecord>(store, 'liquidationJournal');
}

export function memoryJournal(): LiquidationJournal {
  return memoryRecords<LiquidationRecord>();
}
