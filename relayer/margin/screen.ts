// The view's fast path for a price tick: one engine's entries packed into the float screen
// (./fast.ts), so a tick that exposes many sub-accounts classifies them in typed arrays instead of
// recomputing each one's health in bigint (bench/margin.ts, 100k exposed: ~1 s all in bigint, the
// screen itself ~4 ms).
//
// The screen's decisions are exact (it defers to the bigint health near the line), but its copy of
// each sub-account is a snapshot. So:
// - an entry whose holdings changed since packing is *stale* and never screened (the view recomputes
//   it exactly, as it did before);
// - a change of the engine's parameters (risk weights, sources, markets, adapters) drops the book;
// - the book is packed again when a tick needs it and it is missing or more than 1/8 stale.
// Prices, borrow indexes and the chain's clock are re-read from the chain state at every tick.
//
// A confirmed tick (`tick`) also remembers, by book index, what it settled each entry as: clearly
// healthy, clearly under water, or neither (the view holds its exact health). The view's maps are
// then touched only for the entries whose verdict changed, not for every entry a price moved:
// at 100k exposed, a Map write per entry cost more than the screen itself.

import type { Address } from '../config/types.ts';
import type { PriceOverride } from './compute.ts';
import type { ExposedEntries } from './exposure.ts';
import { type PackedBook, pack, STATUS } from './fast.ts';
import type { ChainState, SubState } from './state.ts';
import type { ChangedSubaccount } from './types.ts';

/** A tick exposing fewer entries than this is recomputed exactly: packing would cost more than it saves. */
export const SCREEN_MIN_ENTRIES = 1000;

/** Repack once this share of the book is stale (each repack of 100k costs ~0.2–0.4 s). */
const MAX_STALE_SHARE = 1 / 8;

/** What a confirmed tick settled an entry as (by book index). */
const SETTLED = {
  /** Not settled by the screen: the view holds the entry's exact health. */
  none: 0,
  /** Health >= 1 by the floats alone: the view holds no health for it (rebuilt when asked for). */
  healthy: 1,
  /** Health < 1 by the floats alone: unhealthy in the view, its float health kept here. */
  unhealthy: 2,
} as const;

/** The entries a moved dependency exposes, as the view's exposure index holds them. */
export interface ExposedDep {
  dep: string;
  entries: ExposedEntries;
  /** ExposureIndex.version(dep): while it is unchanged, so are `entries`. */
  version: number;
}

/** `entries` of one ExposedDep as book indexes, and those not in the book. */
interface ResolvedDep {
  version: number;
  indexes: Int32Array;
  strays: string[];
}

/** The outcome of a confirmed tick over the entries a set of dependencies exposes. */
export interface ScreenTick {
  /** The entries the screen settled (healthy or under water, exactly classified): their health moved. */
  settled: ChangedSubaccount[];
  /** Entries now settled healthy that were not before: the view drops their health and flag. */
  toHealthy: string[];
  /** Entries now settled under water that were not before: the view flags them. */
  toUnhealthy: string[];
  /** Entries the view must recompute exactly: stale, not in the book, near the line, not modelled. */
  exact: string[];
}

/** The tip screen's triage of the entries some dependencies expose, at unconfirmed prices. */
export interface TipTriage {
  /** Entries clearly under 1 at those prices, with their float health. */
  under: Map<string, number>;
  /** Entries only the exact health can decide (near the line, not modelled, stale, not in the book). */
  exact: string[];
}

export class EngineScreen {
  private book: PackedBook | undefined;
  /** Book index -> entry, and entry -> book index. */
  private names: string[] = [];
  private index = new Map<string, number>();
  /** 1 where the entry's holdings changed since packing. */
  private staleFlags = new Uint8Array(0);
  private staleCount = 0;
  /** Entries invalidated while not in the book (new since packing). */
  private readonly fresh = new Set<string>();
  /** SETTLED per book index, and the float health of those settled under water. */
  private settledAs = new Uint8Array(0);
  private settledHealth = new Float64Array(0);
  /** Per dependency, its exposed entries resolved to book indexes (a Map lookup per entry saved). */
  private resolved = new Map<string, ResolvedDep>();
  /** Per book index, the change reported for it (reused: a tick reports every entry it settles). */
  private reports: (ChangedSubaccount | undefined)[] = [];
  /** Books packed so far (for stats and tests). */
  packs = 0;

  /**
   * `entry`'s holdings changed after packing: its packed copy must not be used any more. A new
   * entry (not in the book) counts too, so that enough of them bring a repack that takes them in.
   */
  invalidate(entry: string): void {
    if (this.book === undefined) return;
    const i = this.index.get(entry);
    if (i === undefined) this.fresh.add(entry);
    else if (this.staleFlags[i] === 0) {
      this.staleFlags[i] = 1;
      this.staleCount++;
    }
  }

  /** The engine's parameters changed: every packed copy is out of date. */
  drop(): void {
    this.book = undefined;
    this.names = [];
    this.index = new Map();
    this.fresh.clear();
    this.resolved.clear();
    this.reports = [];
  }

  /** The view recomputed `entry` exactly and holds its health: the screen no longer settles it. */
  unsettle(entry: string): void {
    const i = this.index.get(entry);
    if (i !== undefined) this.settledAs[i] = SETTLED.none;
  }

  /** The float health of an entry the last confirmed tick settled as under water (else undefined). */
  unhealthyHealth(entry: string): number | undefined {
    const i = this.index.get(entry);
    return i !== undefined && this.settledAs[i] === SETTLED.unhealthy ? this.settledHealth[i] : undefined;
  }

  /**
   * A confirmed tick of engine `engineEid`: screens every entry `exposed` lists (duplicates across
   * dependencies allowed) at the chain's current prices and clock. Entries the floats classify
   * alone are settled here; the rest come back in `exact`.
   */
  tick(
    chain: ChainState,
    exposed: readonly ExposedDep[],
    all: () => Iterable<[string, SubState]>,
  ): ScreenTick {
    const book = this.current(chain, all);
    const { names, settledAs, settledHealth } = this;
    const exact = new Set<string>();
    const indexes = this.gather(exposed, exact);
    const count = indexes.length;
    book.refreshPrices(chain);
    book.screenSome(chain, indexes);
    const { status, viaExact, health } = book;
    // Sized once: a tick settles up to every entry of the book, and growing a 100k-slot array push
    // by push cost more than the screen itself.
    const settled: ChangedSubaccount[] = new Array(count);
    let nSettled = 0;
    const toHealthy: string[] = [];
    const toUnhealthy: string[] = [];
    for (let k = 0; k < count; k++) {
      const i = indexes[k] as number;
      const s = viaExact[i] === 0 ? status[i] : STATUS.unknown;
      if (s === STATUS.healthy) {
        if (settledAs[i] !== SETTLED.healthy) {
          toHealthy.push(names[i] as string);
          settledAs[i] = SETTLED.healthy;
        }
      } else if (s === STATUS.liquidatable) {
        if (settledAs[i] !== SETTLED.unhealthy) {
          toUnhealthy.push(names[i] as string);
          settledAs[i] = SETTLED.unhealthy;
        }
        settledHealth[i] = health[i] as number;
      } else {
        settledAs[i] = SETTLED.none;
        exact.add(names[i] as string);
        continue;
      }
      settled[nSettled++] = this.report(book, i);
    }
    settled.length = nSettled;
    return { settled, toHealthy, toUnhealthy, exact: [...exact] };
  }

  /**
   * The tip screen's triage: screens every entry `exposed` lists at `override`'s prices (the
   * unconfirmed answers) without settling anything, and returns those it finds clearly under 1
   * and those only the exact health can decide; every other exposed entry is clearly healthy.
   * Entries `skip` names are left out of both (the ledger's: those already unhealthy).
   */
  triage(
    chain: ChainState,
    exposed: readonly ExposedDep[],
    all: () => Iterable<[string, SubState]>,
    override: PriceOverride,
    skip: (entry: string) => boolean = () => false,
  ): TipTriage {
    const book = this.current(chain, all);
    const exact = new Set<string>();
    const indexes = this.gather(exposed, exact);
    book.refreshPrices(chain, override);
    book.screenSome(chain, indexes);
    const { status, viaExact, health } = book;
    const under = new Map<string, number>();
    for (let k = 0; k < indexes.length; k++) {
      const i = indexes[k] as number;
      const s = viaExact[i] === 0 ? status[i] : STATUS.unknown;
      if (s === STATUS.healthy) continue;
      const entry = this.names[i] as string;
      if (s !== STATUS.liquidatable) exact.add(entry);
      else if (!skip(entry)) under.set(entry, health[i] as number);
    }
    // `exact` also holds the stale and the strays `gather` found: skipped here, all at once.
    const out: string[] = [];
    for (const entry of exact) if (!skip(entry)) out.push(entry);
    return { under, exact: out };
  }

  /**
   * The book indexes of the entries `exposed` lists, each once; stale entries and those not in the
   * book go to `exact`. Its two book-sized arrays are made per call (~0.1 ms at 100k): kept between
   * calls they cost 8 B per sub-account.
   */
  private gather(exposed: readonly ExposedDep[], exact: Set<string>): Int32Array {
    const { staleFlags, names } = this;
    const n = this.book?.n ?? 0;
    const seen = new Uint8Array(n);
    const out = new Int32Array(n);
    let count = 0;
    for (const x of exposed) {
      let r = this.resolved.get(x.dep);
      if (r === undefined || r.version !== x.version) {
        r = this.resolve(x);
        this.resolved.set(x.dep, r);
      }
      for (const entry of r.strays) exact.add(entry);
      const indexes = r.indexes;
      for (let k = 0; k < indexes.length; k++) {
        const i = indexes[k] as number;
        if (staleFlags[i] === 1) exact.add(names[i] as string);
        else if (seen[i] === 0) {
          seen[i] = 1;
          out[count++] = i;
        }
      }
    }
    return out.subarray(0, count);
  }

  private resolve(x: ExposedDep): ResolvedDep {
    const indexes = new Int32Array(x.entries.size);
    const strays: string[] = [];
    let n = 0;
    for (const entry of x.entries) {
      const i = this.index.get(entry);
      if (i === undefined) strays.push(entry);
      else indexes[n++] = i;
    }
    return { version: x.version, indexes: indexes.subarray(0, n), strays };
  }

  private report(book: PackedBook, i: number): ChangedSubaccount {
    let r = this.reports[i];
    if (r === undefined) {
      const sub = book.subs[i] as SubState;
      r = new SettledReport(book.engineEid, sub);
      this.reports[i] = r;
    }
    return r;
  }

  private current(chain: ChainState, all: () => Iterable<[string, SubState]>): PackedBook {
    const book = this.book;
    if (book !== undefined && this.staleCount + this.fresh.size <= book.n * MAX_STALE_SHARE) return book;
    const names: string[] = [];
    const subs: SubState[] = [];
    for (const [entry, sub] of all()) {
      names.push(entry);
      subs.push(sub);
    }
    const packed = pack(chain, subs);
    const index = new Map(names.map((entry, i) => [entry, i]));
    // What the view was told stays true across a repack: carry the settled verdicts over by name
    // (a changed entry's, too: the view recomputes it after this tick, and unsettles it then).
    const settledAs = new Uint8Array(packed.n);
    const settledHealth = new Float64Array(packed.n);
    if (book !== undefined) {
      for (let i = 0; i < this.names.length; i++) {
        if (this.settledAs[i] === SETTLED.none) continue;
        const j = index.get(this.names[i] as string);
        if (j === undefined) continue;
        settledAs[j] = this.settledAs[i] as number;
        settledHealth[j] = this.settledHealth[i] as number;
      }
    }
    this.book = packed;
    this.names = names;
    this.index = index;
    this.staleFlags = new Uint8Array(packed.n);
    this.staleCount = 0;
    this.fresh.clear();
    this.settledAs = settledAs;
    this.settledHealth = settledHealth;
    this.resolved.clear();
    this.reports = [];
    this.packs++;
    return packed;
  }
}

/**
 * The change reported for a settled entry, one per book slot, reused at every tick. It reads the
 * account and subaccount off the sub-account instead of keeping them: 40 B a slot, where a frozen
 * object with its own account string took 80 B (bench/margin.ts). Its fields are getters, so an
 * object spread of it copies `engineEid` alone; the view's listeners read it field by field.
 */
class SettledReport implements ChangedSubaccount {
  readonly engineEid: number;
  readonly #sub: SubState;

  constructor(engineEid: number, sub: SubState) {
    this.engineEid = engineEid;
    this.#sub = sub;
  }

  get account(): Address {
    return this.#sub.account;
  }

  get subaccount(): bigint {
    return this.#sub.subaccount;
  }
}
