// Ids of envelopes already accepted, kept for as long as an envelope could still pass the clock
// check (twice the allowed skew: one for "old", one for "future"). Anything older is STALE anyway,
// so the cache never needs to remember further back, and its size stays bounded.

export class SeenCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** id -> expiry; insertion order is expiry order because the TTL is constant. */
  readonly #entries = new Map<string, number>();

  constructor(options: { ttlMs: number; maxEntries?: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 200_000;
    this.#now = options.now ?? Date.now;
  }

  has(id: string): boolean {
    this.#prune();
    return this.#entries.has(id);
  }

  add(id: string): void {
    this.#prune();
    // Re-inserting keeps the map in expiry order.
    this.#entries.delete(id);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(id, this.#now() + this.#ttlMs);
  }

  get size(): number {
    return this.#entries.size;
  }

  #prune(): void {
    const now = this.#now();
    for (const [id, expiresAt] of this.#entries) {
      if (expiresAt > now) break;
      this.#entries.delete(id);
    }
  }
}
