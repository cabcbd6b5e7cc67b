// The view's persistence: each applied block's events and the chain's cursor go in one atomic
// batch, so after a crash either both are there (the block is replayed from the store, not from
// the chain) or neither is (the follower fetches the block again). Nothing is applied twice.

import type { Hex } from '../config/types.ts';
import { jsonValue, tupleKey, u32Key, u32Part, u64Part } from '../store/codecs.ts';
import type { Store } from '../store/controller.ts';
import { Repository } from '../store/repository.ts';
import type { BlockRecord } from './types.ts';

export interface MarginCursor {
  number: number;
  hash: Hex;
  timestamp: number;
}

export interface MarginStore {
  cursor(eid: number): Promise<MarginCursor | undefined>;
  /** Stored blocks, by chain then block number. */
  blocks(): AsyncIterable<BlockRecord>;
  /** Writes the block (when it has events) and the cursor in one batch. */
  commit(record: BlockRecord): Promise<void>;
}

export function createMarginStore(store: Store): MarginStore {
  const blocks = new Repository(
    store,
    'marginBlocks',
    tupleKey<[number, bigint]>(u32Part, u64Part),
    jsonValue<BlockRecord>(),
  );
  const cursors = new Repository(store, 'marginCursors', u32Key, jsonValue<MarginCursor>());
  return {
    cursor: (eid) => cursors.get(eid),
    async *blocks() {
      for await (const [, record] of blocks.entries()) yield record;
    },
    async commit(record) {
      const ops = [
        cursors.putOp(record.eid, { number: record.number, hash: record.hash, timestamp: record.timestamp }),
      ];
      if (record.events.length > 0) ops.push(blocks.putOp([record.eid, BigInt(record.number)], record));
      await store.batch(ops);
    },
  };
}
