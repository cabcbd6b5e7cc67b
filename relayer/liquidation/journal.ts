// The liquidation journal: every attempt and its outcome, keyed by the attempt id (which includes the
// sub-account's state key, so "have I already sent for this state?" is one lookup). A level-backed
// implementation over its own bucket, and an in-memory one for tests and store-less runs.

import { solidityPackedKeccak256 } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { hexKey, jsonValue } from '../store/codecs.ts';
import type { Store } from '../store/controller.ts';
import { Repository } from '../store/repository.ts';
import type { LiquidationRecord } from './types.ts';

export interface LiquidationJournal {
  get(id: Hex): Promise<LiquidationRecord | undefined>;
  put(record: LiquidationRecord): Promise<void>;
  list(): Promise<LiquidationRecord[]>;
}

export function attemptId(engineEid: number, account: Address, subaccount: bigint, stateKey: Hex): Hex {
  return solidityPackedKeccak256(
    ['uint32', 'address', 'uint96', 'bytes32'],
    [engineEid, account, subaccount, stateKey],
  ) as Hex;
}

export function levelJournal(store: Store): LiquidationJournal {
  const repo = new Repository(store, 'liquidationJournal', hexKey, jsonValue<LiquidationRecord>());
  return {
    get: (id) => repo.get(id),
    put: (record) => repo.put(record.id, record),
    list: () => repo.values(),
  };
}

export function memoryJournal(): LiquidationJournal {
  const records = new Map<string, LiquidationRecord>();
  // Copies in and out (structuredClone keeps bigints), like a store would.
  return {
    async get(id) {
      const r = records.get(id.toLowerCase());
      return r === undefined ? undefined : structuredClone(r);
    },
    async put(record) {
      records.set(record.id.toLowerCase(), structuredClone(record));
    },
    async list() {
      return [...records.values()].map((r) => structuredClone(r));
    },
  };
}
