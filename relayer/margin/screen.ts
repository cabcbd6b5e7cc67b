// The view's fast path for a price tick: one engine's entries packed into the float screen
// (./fast.ts), so a tick that exposes many sub-accounts classifies them in typed arrays instead of
// recomputing each one's health in bigint (bench/margin.ts, 100k exposed: 995 ms all in bigint, the
// screen itself ~4 ms, 288 ms as the view runs it with bigint for what the screen leaves).
//
// The screen's decisions are exact (it defers to the bigint health near the line), but its copy of
// each sub-account is a snapshot. So:
// - an entry whose holdings changed since packing is *stale* and never screened (the view recomputes
//   it exactly, as it did before);
// - a change of the engine's parameters (risk weights, sources, markets, adapters) drops the book;
// - the book is packed again when a tick needs it and it is missing or more than 1/8 stale.
// Prices, borrow indexes and the chain's clock are re-read from the chain state at every tick.

import type { PriceOverride } from './compute.ts';
import { type PackedBook, pack, STATUS } from './fast.ts';
import type { ChainState, SubState } from './state.ts';

/** A tick exposing fewer entries than this is recomputed exactly: packing would cost more than it saves. */
export const SCREEN_MIN_ENTRIES = 1000;

/** Repack once this share of the book is stale (each repack of 100k costs ~0.2–0.4 s). */
const MAX_STALE_SHARE = 1 / 8;

/** How an entry came out of a screen. */
export type ScreenVerdict = 'healthy' | 'recompute';

export class EngineScreen {
  private book: PackedBook | undefined;
  /** entry -> index in the book. */
  private index = new Map<string, number>();
  private readonly stale = new Set<string>();
  /** Books packed so far (for stats and tests). */
  packs = 0;

  /**
   * `entry`'s holdings changed after packing: its packed copy must not be used any more. A new
   * entry (not in the book) counts too, so that enough of them bring a repack that takes them in.
   */
  invalidate(entry: string): void {
    if (this.book !== undefined) this.stale.add(entry);
  }

  /** The engine's parameters changed: every packed copy is out of date. */
  drop(): void {
    this.book = undefined;
    this.index = new Map();
    this.stale.clear();
  }

  /**
   * Screens `entries` at the chain's current prices and clock. An entry comes back 'healthy' only
   * when the float screen alone classified it so (not near the line, every price known, nothing
   * the screen does not model): its health is >= 1 and its dependencies are unchanged, so the
   * view need not recompute it. Every other entry, including those not in the book or stale,
   * comes back 'recompute'.
   *
   * `all` lists every entry of the engine with its sub-account; it is read only to (re)pack.
   * `override` screens at other prices than the chain's (the tip screen's unconfirmed answers).
   * The verdicts go into `out` (a new map unless given) and it is returned.
   */
  screen(
    chain: ChainState,
    entries: Iterable<string>,
    all: () => Iterable<[string, SubState]>,
    override?: PriceOverride,
    out: Map<string, ScreenVerdict> = new Map(),
  ): Map<string, ScreenVerdict> {
    const book = this.current(chain, all);
    const names: string[] = [];
    const indexes: number[] = [];
    for (const entry of entries) {
      const i = this.index.get(entry);
      if (i === undefined || this.stale.has(entry)) out.set(entry, 'recompute');
      else {
        names.push(entry);
        indexes.push(i);
      }
    }
    book.refreshPrices(chain, override);
    book.screenSome(chain, indexes);
    for (let k = 0; k < names.length; k++) {
      const i = indexes[k] as number;
      const healthy = book.status[i] === STATUS.healthy && book.viaExact[i] === 0;
      out.set(names[k] as string, healthy ? 'healthy' : 'recompute');
    }
    return out;
  }

  private current(chain: ChainState, all: () => Iterable<[string, SubState]>): PackedBook {
    const book = this.book;
    if (book !== undefined && this.stale.size <= book.n * MAX_STALE_SHARE) return book;
    const names: string[] = [];
    const subs: SubState[] = [];
    for (const [entry, sub] of all()) {
      names.push(entry);
      subs.push(sub);
    }
    const packed = pack(chain, subs);
    this.book = packed;
    this.index = new Map(names.map((entry, i) => [entry, i]));
    this.stale.clear();
    this.packs++;
    return packed;
  }
}
