// A Map for the handful of entries a sub-account keeps per kind: its tokens locked per vault, its
// credit per source, its positions per market, its settled balance per chain. Keys and values sit
// in one flat array, exactly as long as needed, and a lookup walks it. A JS Map costs 184 B with up
// to 4 entries and 296 B with 5 to 8 (its hash table is sized for growth); this one 104 B with 1
// entry, 136 B with 3 and 168 B with 5. A sub-account keeps six such maps (credit and positions per
// engine, each a map of maps): what the view holds per sub-account went from 2,736 to 2,192 B
// (bench/margin.ts, 100k sub-accounts).
//
// Semantics are Map's for what xmargin does with them: insertion order, keys compared with ===
// (strings and numbers; the source keys are shared strings, ./state.ts `sourceKey`), `size`,
// get/set/has/delete/clear, and iteration. Iterating walks the array as it was when the iteration
// began: an entry added or deleted meanwhile is not seen (a value set for a present key is). Meant
// for a few entries: every lookup is linear, every insert or delete copies the array.

const EMPTY: readonly unknown[] = Object.freeze([]);

export class SmallMap<K, V> implements Map<K, V> {
  /** [key0, value0, key1, value1, …]; replaced, never grown in place, on insert and delete. */
  #items: unknown[];

  constructor(entries?: Iterable<readonly [K, V]>) {
    this.#items = EMPTY as unknown[];
    if (entries !== undefined) for (const [k, v] of entries) this.set(k, v);
  }

  get size(): number {
    return this.#items.length >> 1;
  }

  get(key: K): V | undefined {
    const i = this.#indexOf(key);
    return i < 0 ? undefined : (this.#items[i + 1] as V);
  }

  has(key: K): boolean {
    return this.#indexOf(key) >= 0;
  }

  set(key: K, value: V): this {
    const i = this.#indexOf(key);
    if (i >= 0) {
      this.#items[i + 1] = value;
      return this;
    }
    const items = this.#items;
    // An array sized to fit: push would reserve room for ~16 more slots.
    const next = new Array<unknown>(items.length + 2);
    for (let j = 0; j < items.length; j++) next[j] = items[j];
    next[items.length] = key;
    next[items.length + 1] = value;
    this.#items = next;
    return this;
  }

  delete(key: K): boolean {
    const i = this.#indexOf(key);
    if (i < 0) return false;
    const items = this.#items;
    if (items.length === 2) {
      this.#items = EMPTY as unknown[];
      return true;
    }
    const next = new Array<unknown>(items.length - 2);
    for (let j = 0, k = 0; j < items.length; j += 2) {
      if (j === i) continue;
      next[k++] = items[j];
      next[k++] = items[j + 1];
    }
    this.#items = next;
    return true;
  }

  clear(): void {
    this.#items = EMPTY as unknown[];
  }

  forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) callback.call(thisArg, items[i + 1] as V, items[i] as K, this);
  }

  *entries(): MapIterator<[K, V]> {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) yield [items[i] as K, items[i + 1] as V];
  }

  *keys(): MapIterator<K> {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) yield items[i] as K;
  }

  *values(): MapIterator<V> {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) yield items[i + 1] as V;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'SmallMap';
  }

  #indexOf(key: K): number {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) if (items[i] === key) return i;
    return -1;
  }
}
