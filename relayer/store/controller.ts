// A thin controller over `level`: raw byte keys with a one-byte bucket prefix, utf8 (JSON) values,
// and one atomic batch for every logical change. Repositories (./repository.ts) add the types; the
// controller is the only place that talks to level, so a fake or another backend fits here alone.

import { Level } from 'level';
import { BUCKETS, type BucketId, type BucketName } from './buckets.ts';

/** One write of a batch, already encoded (so a batch cannot fail half-way through encoding). */
export type BatchOp = { type: 'put'; key: Uint8Array; value: string } | { type: 'del'; key: Uint8Array };

export interface RangeOptions {
  /** Encoded key bounds inside the bucket (the bucket prefix is added by the controller). */
  gte?: Uint8Array;
  lt?: Uint8Array;
  limit?: number;
  reverse?: boolean;
}

export interface Store {
  getRaw(bucket: BucketName, key: Uint8Array): Promise<string | undefined>;
  /** Writes every op or none: one level batch. */
  batch(ops: readonly BatchOp[]): Promise<void>;
  entriesRaw(bucket: BucketName, range?: RangeOptions): AsyncIterable<[Uint8Array, string]>;
  /** Prefixes a key with its bucket byte (used by repositories to build batch ops). */
  keyOf(bucket: BucketName, key: Uint8Array): Uint8Array;
  close(): Promise<void>;
}

type Db = Level<Uint8Array, string>;

/** Opens (creating if needed) the store in `dir`. */
export async function openStore(dir: string): Promise<Store> {
  const db: Db = new Level<Uint8Array, string>(dir, { keyEncoding: 'view', valueEncoding: 'utf8' });
  try {
    await db.open();
  } catch (err) {
    // LEVEL_DATABASE_NOT_OPEN wraps the real cause (often a LOCK held by another running node).
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new Error(
      `${dir}: cannot open the node's store (${cause}); is another node running on this data dir?`,
    );
  }
  return createController(db);
}

function prefixed(bucket: BucketId, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out[0] = bucket;
  out.set(key, 1);
  return out;
}

function createController(db: Db): Store {
  const keyOf = (bucket: BucketName, key: Uint8Array) => prefixed(BUCKETS[bucket], key);
  return {
    keyOf,
    async getRaw(bucket, key) {
      return db.get(keyOf(bucket, key));
    },
    async batch(ops) {
      if (ops.length === 0) return;
      await db.batch(ops.map((op) => ({ ...op })));
    },
    async *entriesRaw(bucket, range = {}) {
      const id = BUCKETS[bucket];
      // Bucket bounds: [id] inclusive to [id + 1] exclusive covers exactly this bucket's keys.
      const options = {
        gte: range.gte ? prefixed(id, range.gte) : Uint8Array.of(id),
        lt: range.lt ? prefixed(id, range.lt) : Uint8Array.of(id + 1),
        reverse: range.reverse ?? false,
        ...(range.limit === undefined ? {} : { limit: range.limit }),
      };
      for await (const [key, value] of db.iterator(options)) {
        yield [key.subarray(1), value];
      }
    },
    async close() {
      await db.close();
    },
  };
}
