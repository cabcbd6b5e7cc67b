// The store in memory: the same Store interface as the level controller (bucket-prefixed byte keys in
// byte order, one batch applied all at once), for tests and store-less runs. A batch is applied
// synchronously, so it is as atomic here as level's.

import { BUCKETS } from './buckets.ts';
import type { BatchOp, RangeOptions, Store } from './controller.ts';

const hex = (key: Uint8Array): string => Buffer.from(key).toString('hex');

function compare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export function memoryStore(): Store {
  const rows = new Map<string, { key: Uint8Array; value: string }>();
  const keyOf: Store['keyOf'] = (bucket, key) => {
    const out = new Uint8Array(key.length + 1);
    out[0] = BUCKETS[bucket];
    out.set(key, 1);
    return out;
  };
  return {
    keyOf,
    async getRaw(bucket, key) {
      return rows.get(hex(keyOf(bucket, key)))?.value;
    },
    async batch(ops: readonly BatchOp[]) {
      for (const op of ops) {
        if (op.type === 'put') rows.set(hex(op.key), { key: Uint8Array.from(op.key), value: op.value });
        else rows.delete(hex(op.key));
      }
    },
    async *entriesRaw(bucket, range: RangeOptions = {}) {
      const id = BUCKETS[bucket];
      const gte = range.gte === undefined ? undefined : keyOf(bucket, range.gte);
      const lt = range.lt === undefined ? undefined : keyOf(bucket, range.lt);
      const selected = [...rows.values()]
        .filter(
          (r) =>
            r.key[0] === id &&
            (gte === undefined || compare(r.key, gte) >= 0) &&
            (lt === undefined || compare(r.key, lt) < 0),
        )
        .sort((a, b) => compare(a.key, b.key));
      if (range.reverse === true) selected.reverse();
      const limited = range.limit === undefined ? selected : selected.slice(0, range.limit);
      for (const r of limited) yield [r.key.subarray(1), r.value];
    },
    async close() {},
  };
}
