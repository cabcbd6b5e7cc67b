// A typed view of one bucket: keys and values go through codecs, so callers handle domain values and
// never bytes. Writes that belong together are built with putOp/delOp and committed in one
// `store.batch([...])`, which is how a logical change spanning several buckets stays atomic.

import type { BucketName } from './buckets.ts';
import type { KeyCodec, ValueCodec } from './codecs.ts';
import type { BatchOp, Store } from './controller.ts';

export interface Range<K> {
  gte?: K;
  lt?: K;
  limit?: number;
  reverse?: boolean;
}

export class Repository<K, V> {
  readonly bucket: BucketName;
  readonly #store: Store;
  readonly #keys: KeyCodec<K>;
  readonly #values: ValueCodec<V>;

  constructor(store: Store, bucket: BucketName, keys: KeyCodec<K>, values: ValueCodec<V>) {
    this.#store = store;
    this.bucket = bucket;
    this.#keys = keys;
    this.#values = values;
  }

  async get(key: K): Promise<V | undefined> {
    const raw = await this.#store.getRaw(this.bucket, this.#keys.encode(key));
    return raw === undefined ? undefined : this.#values.decode(raw);
  }

  async has(key: K): Promise<boolean> {
    return (await this.#store.getRaw(this.bucket, this.#keys.encode(key))) !== undefined;
  }

  /** Encodes a put for a batch; throws here (before anything is written) if the value cannot be encoded. */
  putOp(key: K, value: V): BatchOp {
    return {
      type: 'put',
      key: this.#store.keyOf(this.bucket, this.#keys.encode(key)),
      value: this.#values.encode(value),
    };
  }

  delOp(key: K): BatchOp {
    return { type: 'del', key: this.#store.keyOf(this.bucket, this.#keys.encode(key)) };
  }

  /** A single write; for anything that must land with other writes, use putOp in a batch. */
  async put(key: K, value: V): Promise<void> {
    await this.#store.batch([this.putOp(key, value)]);
  }

  async del(key: K): Promise<void> {
    await this.#store.batch([this.delOp(key)]);
  }

  async *entries(range: Range<K> = {}): AsyncIterable<[K, V]> {
    const raw = this.#store.entriesRaw(this.bucket, {
      ...(range.gte === undefined ? {} : { gte: this.#keys.encode(range.gte) }),
      ...(range.lt === undefined ? {} : { lt: this.#keys.encode(range.lt) }),
      ...(range.limit === undefined ? {} : { limit: range.limit }),
      ...(range.reverse === undefined ? {} : { reverse: range.reverse }),
    });
    for await (const [key, value] of raw) {
      yield [this.#keys.decode(key), this.#values.decode(value)];
    }
  }

  async values(range: Range<K> = {}): Promise<V[]> {
    const out: V[] = [];
    for await (const [, value] of this.entries(range)) out.push(value);
    return out;
  }
}
