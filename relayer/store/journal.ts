// A keyed journal of records (one per attempt, keyed by its hex id): level-backed over one bucket,
// or in memory for tests and store-less runs. The liquidator and the rebalancer keep theirs here.

import type { Hex } from '../config/types.ts';
import type { BucketName } from './buckets.ts';
import { hexKey, jsonValue } from './codecs.ts';
import type { Store } from './controller.ts';
import { Repository } from './repository.ts';

export interface Journal<R extends { id: Hex }> {
  get(id: Hex): Promise<R | undefined>;
  put(record: R): Promise<void>;
  list(): Promise<R[]>;
}

/** Records (or their absence) a level journal remembers; the oldest is forgotten first. */
const CACHED_RECORDS = 10_000;

/**
 * Level-backed, with a write-through cache of recent records and of ids known to have none: a
 * liquidator asks "do I have a record for this state?" and reads the record again on every status
 * change, hundreds of times a second in a burst, and each LevelDB read was a thread-pool round trip
 * and a JSON parse. The journal is this process's only writer of its bucket, so the cache cannot go
 * stale; it is updated only after LevelDB took the write.
 */
export function levelRecords<R extends { id: Hex }>(store: Store, bucket: BucketName): Journal<R> {
  const repo = new Repository(store, bucket, hexKey, jsonValue<R>());
  const cache = new Map<string, R | null>();
  /** Puts so far: a read that raced a put does not cache what it read. */
  let writes = 0;
  const remember = (key: string, record: R | null): void => {
    cache.delete(key);
    if (cache.size >= CACHED_RECORDS) cache.delete(cache.keys().next().value as string);
    cache.set(key, record);
  };
  return {
    async get(id) {
      const key = id.toLowerCase();
      const hit = cache.get(key);
      if (hit !== undefined) return hit === null ? undefined : structuredClone(hit);
      const before = writes;
      const record = await repo.get(id);
      if (writes === before) remember(key, record === undefined ? null : structuredClone(record));
      return record;
    },
    async put(record) {
      const copy = structuredClone(record);
      writes++;
      try {
        await repo.put(record.id, record);
      } finally {
        writes++;
      }
      remember(record.id.toLowerCase(), copy);
    },
    list: () => repo.values(),
  };
}

export function memoryRecords<R extends { id: Hex }>(): Journal<R> {
  const records = new Map<string, R>();
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

/** The fields of a journal record that move it from status to status. */
export interface StatusRecord<S extends string> {
  id: Hex;
  status: S;
  error?: string;
  timestamps: Partial<Record<S, number>>;
  updatedAt: number;
}

/**
 * Moves the records among `ids` that are still `open` to `status`, saying `why` (an episode that ended
 * without our action); returns how many it moved.
 */
export async function closeOpen<S extends string, R extends StatusRecord<S>>(
  journal: Journal<R>,
  ids: Iterable<Hex>,
  open: S,
  status: S,
  why: string,
  now: number,
): Promise<number> {
  let closed = 0;
  for (const id of ids) {
    const r = await journal.get(id);
    if (r === undefined || r.status !== open) continue;
    closed++;
    await journal.put({
      ...r,
      status,
      error: why,
      timestamps: { ...r.timestamps, [status]: now },
      updatedAt: now,
    });
  }
  return closed;
}

/**
 * Runs read-modify-write passes over one record one after another. A journal's get and put are two
 * awaits: a gossip handler touching a record between a submitter's get and put would otherwise put
 * back the status it read and lose the submitter's.
 */
export function recordLocks(): <T>(id: Hex, pass: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (id, pass) => {
    const key = id.toLowerCase();
    const run = (tails.get(key) ?? Promise.resolve()).then(pass, pass);
    const tail = run.catch(() => {});
    tails.set(key, tail);
    // Forget the key once nothing is queued behind this pass.
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
