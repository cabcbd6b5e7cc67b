// What the view knows about each (engine, sub-account) entry's health, kept current block by block:
// the health of its last exact recompute, the dependencies that recompute read (the exposure
// index), which entries are under water and since when, and per engine the packed screen that a
// large price tick goes through (./screen.ts). `propagate` takes what a block touched and brings
// all of it up to date; the view (./view.ts) calls it after applying each block, and
// bench/margin.ts calls the same code to time a price tick as the node runs it.
//
// Outside, an entry is named by a string `${engineEid}|${subKey}` (what a block touched, the tip
// screen's flags). Inside, everything is kept per engine and keyed by the state's own sub-account
// key (`SubState.key`, one shared string): an entry string per sub-account cost 72 B at 100k of
// them (bench/margin.ts), so one is only made when handed out.

import { borrowDep, staleDep, type Touched } from './apply.ts';
import { computeHealth, computeHealthDeps, type PriceOverride, srcEidOf } from './compute.ts';
import { type ExposedEntries, ExposureIndex } from './exposure.ts';
import { EngineScreen, type ExposedDep, SCREEN_MIN_ENTRIES, type TipTriage } from './screen.ts';
import { chainOf, type MarginState, type SubState } from './state.ts';
import type { ChangedSubaccount, HealthView } from './types.ts';
import { floatToWad, WAD } from './wad.ts';

/** When and at which block the view found a sub-account unhealthy (for latency traces). */
export interface UnhealthySince {
  block: number;
  /** ms since epoch: the block reached the view (the follower handed it over). */
  seenAt: number;
  /** ms since epoch: the view flagged the sub-account. */
  screenedAt: number;
  /** True when flagged from an unconfirmed block's prices (the tip screen, ./tip.ts). */
  tip: boolean;
}

export interface LedgerStats {
  /** Entries (engine, sub-account) recomputed in bigint by the last applied change. */
  lastRecomputed: number;
  totalRecomputed: number;
  /** Entries the last applied change settled by the packed screen alone (./screen.ts). */
  lastScreened: number;
  totalScreened: number;
  /** Screen books packed so far (once per engine, again after a parameter change or many trades). */
  screenPacks: number;
  entries: number;
}

/** A confirmed unhealthy entry: its health (exact, or the screen's float figure) and since when. */
export interface ConfirmedUnhealthy {
  sub: SubState;
  health: bigint;
  since: UnhealthySince | undefined;
}

/** The entry key of an engine's view of a sub-account. */
export const entryKey = (engineEid: number, key: string): string => `${engineEid}|${key}`;
const engineOfEntry = (entry: string): number => Number(entry.slice(0, entry.indexOf('|')));
/** The sub-account key an entry name carries. */
export const subKeyOfEntry = (entry: string): string => entry.slice(entry.indexOf('|') + 1);
/** The engine chain a dependency belongs to: `p:<eid>:…`, `b:<eid>:…`, `s:<eid>:…`. */
const engineOfDep = (dep: string): number => Number(dep.slice(2, dep.indexOf(':', 2)));

/** What the tip screen and the bench read of the exposure: entries exposed to a dependency. */
export interface EntryExposure {
  exposed(dep: string): ExposedEntries;
}

/** Entries looked up by name (the confirmed-unhealthy ones of an engine, for the tip screen). */
export interface EntryLookup {
  has(entry: string): boolean;
  readonly size: number;
}

/** What the ledger keeps for one engine, keyed by the state's sub-account keys. */
interface EngineLedger {
  readonly eid: number;
  /** Dependency -> the sub-accounts whose last recompute read it (every one recomputed is in it). */
  readonly exposure: ExposureIndex;
  /**
   * Health as of the last exact recompute (undefined: a price is missing, health() reverts). Those
   * the screen settled have none: rebuilt when asked for.
   */
  readonly healths: Map<string, HealthView | undefined>;
  /** The confirmed-unhealthy ones, and since when. */
  readonly unhealthy: Map<string, UnhealthySince>;
  /** The packed screen a large price tick goes through (made on first use). */
  screen: EngineScreen | undefined;
}

export class HealthLedger {
  /** The exposure as entry names. */
  readonly exposure: EntryExposure = {
    exposed: (dep) => {
      const e = this.of(engineOfDep(dep));
      return new ExposedAsEntries(e.eid, e.exposure.exposed(dep));
    },
  };
  /** The counters propagate keeps; the rest of LedgerStats is read off the engines. */
  private readonly counts = { lastRecomputed: 0, totalRecomputed: 0, lastScreened: 0, totalScreened: 0 };
  private readonly state: MarginState;
  private readonly engines: ReadonlySet<number>;
  private readonly screenMinEntries: number;
  private readonly perEngine = new Map<number, EngineLedger>();
  /** While a block is propagated: when it reached the view (UnhealthySince.seenAt). */
  private seenAt = 0;

  /**
   * `engines`: the chains with an engine (others have no entries). `screenMinEntries`: a price
   * tick exposing at least this many entries of one engine goes through its packed screen.
   */
  constructor(state: MarginState, engines: ReadonlySet<number>, screenMinEntries = SCREEN_MIN_ENTRIES) {
    this.state = state;
    this.engines = engines;
    this.screenMinEntries = screenMinEntries;
  }

  get stats(): LedgerStats {
    let screenPacks = 0;
    let entries = 0;
    for (const e of this.perEngine.values()) {
      screenPacks += e.screen?.packs ?? 0;
      entries += e.exposure.size;
    }
    return { ...this.counts, screenPacks, entries };
  }

  /**
   * Brings every entry `t` touched up to date and returns those to report: the entries whose
   * holdings changed, and those whose health a price or the clock moved. `clocks` lists the chains
   * whose time moved (and from when): borrow fees and staleness-aware weights move with time.
   * `seenAt` is when the block reached the view (ms since epoch).
   */
  propagate(t: Touched, clocks: { eid: number; before: number }[], seenAt = Date.now()): ChangedSubaccount[] {
    this.seenAt = seenAt;
    const deps = new Set(t.deps);
    for (const { eid, before } of clocks) for (const dep of this.clockDeps(eid, before)) deps.add(dep);
    // Packed copies the screen holds: a parameter change outdates an engine's book, a changed
    // sub-account its own copy.
    for (const eid of t.engines) this.perEngine.get(eid)?.screen?.drop();
    for (const entry of t.subs) {
      const screen = this.perEngine.get(engineOfEntry(entry))?.screen;
      const sub = screen === undefined ? undefined : this.state.subs.get(subKeyOfEntry(entry));
      if (sub !== undefined) screen?.invalidate(sub.key);
    }

    // Dependencies by engine; an engine where they expose enough entries goes through its screen.
    const byEngine = new Map<number, string[]>();
    for (const dep of deps) {
      const eid = engineOfDep(dep);
      const list = byEngine.get(eid);
      if (list === undefined) byEngine.set(eid, [dep]);
      else list.push(dep);
    }
    const todo = new Set<string>(t.subs);
    for (const eid of t.engines) for (const [key] of this.engineEntries(eid)) todo.add(entryKey(eid, key));
    // Every dependency names its engine's chain, so an engine goes through its screen for all of
    // its dependencies or for none: `todo` never holds an entry its screen settled in this block.
    let changed: ChangedSubaccount[] = [];
    let screened = 0;
    for (const [eid, list] of byEngine) {
      const e = this.of(eid);
      const exposed = exposedBy(e, list);
      // A parameter change sent every entry of the engine to `todo` already.
      const screen = t.engines.has(eid) ? undefined : this.screenFor(e, exposed);
      if (screen === undefined) {
        for (const x of exposed) for (const key of x.entries) todo.add(entryKey(eid, key));
        continue;
      }
      // The screen's entries are the engine's sub-account keys.
      const r = screen.tick(chainOf(this.state, eid), exposed, () => this.engineEntries(eid));
      for (const key of r.toHealthy) {
        e.healths.delete(key); // rebuilt exactly when asked for
        this.unflag(e, key);
      }
      for (const key of r.toUnhealthy) {
        e.healths.delete(key); // its float health is in the screen
        this.flag(e, key);
      }
      for (const key of r.exact) todo.add(entryKey(eid, key));
      // A price moved under every settled entry: its health did too.
      if (changed.length === 0) changed = r.settled;
      else for (const c of r.settled) changed.push(c);
      screened += r.settled.length;
    }
    let n = 0;
    for (const entry of todo) {
      const engineEid = engineOfEntry(entry);
      const sub = this.state.subs.get(subKeyOfEntry(entry));
      let moved = false;
      if (this.engines.has(engineEid)) {
        n++;
        if (sub !== undefined) moved = this.recompute(this.of(engineEid), sub);
      }
      // What a block touched is reported even on an engine the view does not compute.
      if (sub !== undefined && (moved || t.subs.has(entry)))
        changed.push({ engineEid, account: sub.account, subaccount: sub.subaccount });
    }
    this.counts.lastRecomputed = n;
    this.counts.totalRecomputed += n;
    this.counts.lastScreened = screened;
    this.counts.totalScreened += screened;
    this.seenAt = 0;
    return changed;
  }

  /** An engine's health of a sub-account: the last exact one, or rebuilt from the state. */
  health(engineEid: number, key: string): HealthView | undefined {
    const healths = this.perEngine.get(engineEid)?.healths;
    if (healths?.has(key)) return healths.get(key);
    const sub = this.state.subs.get(key);
    if (sub === undefined || !this.engines.has(engineEid)) return undefined;
    return computeHealth(chainOf(this.state, engineEid), sub);
  }

  /** Entries of the engine below health 1 in the confirmed state (those the screen settled under water carry its float health). */
  unhealthy(engineEid: number): ConfirmedUnhealthy[] {
    const e = this.perEngine.get(engineEid);
    if (e === undefined) return [];
    const out: ConfirmedUnhealthy[] = [];
    for (const [key, since] of e.unhealthy) {
      const sub = this.state.subs.get(key);
      if (sub === undefined) continue;
      let health: bigint | undefined;
      if (e.healths.has(key)) health = e.healths.get(key)?.health;
      else {
        const h = e.screen?.unhealthyHealth(key);
        // A display figure: the classification is exact, the value within ~1e-12 of the engine's.
        health = h === undefined ? computeHealth(chainOf(this.state, engineEid), sub)?.health : floatToWad(h);
      }
      if (health === undefined) continue;
      out.push({ sub, health, since });
    }
    return out;
  }

  /** The confirmed unhealthy entries of an engine (the tip screen leaves them alone). */
  unhealthySet(engineEid: number): EntryLookup {
    return new KeyedEntries(engineEid, this.perEngine.get(engineEid)?.unhealthy ?? NONE);
  }

  /**
   * The tip screen's triage (./tip.ts) of what the moved prices `deps` of engine `eid` expose, at
   * `override`'s prices, when they expose enough entries to use the screen; nothing is settled.
   * Entries already unhealthy in the confirmed state are left out (the tip screen skips them).
   */
  triage(eid: number, deps: readonly string[], override: PriceOverride): TipTriage | undefined {
    const e = this.of(eid);
    const exposed = exposedBy(e, deps);
    const r = this.screenFor(e, exposed)?.triage(
      chainOf(this.state, eid),
      exposed,
      () => this.engineEntries(eid),
      override,
      (key) => e.unhealthy.has(key),
    );
    if (r === undefined) return undefined;
    const under = new Map<string, number>();
    for (const [key, health] of r.under) under.set(entryKey(eid, key), health);
    return { under, exact: r.exact.map((key) => entryKey(eid, key)) };
  }

  private of(eid: number): EngineLedger {
    let e = this.perEngine.get(eid);
    if (e === undefined) {
      e = {
        eid,
        exposure: new ExposureIndex(),
        healths: new Map(),
        unhealthy: new Map(),
        screen: undefined,
      };
      this.perEngine.set(eid, e);
    }
    return e;
  }

  /** The engine's screen when `exposed` lists enough entries to use it (created on first use). */
  private screenFor(e: EngineLedger, exposed: readonly ExposedDep[]): EngineScreen | undefined {
    let size = 0;
    for (const x of exposed) size += x.entries.size;
    if (!this.engines.has(e.eid) || size === 0 || size < this.screenMinEntries) return undefined;
    e.screen ??= new EngineScreen();
    return e.screen;
  }

  /** The engine's sub-accounts by key (every one recomputed is in its exposure index). */
  private *engineEntries(eid: number): Generator<[string, SubState]> {
    for (const key of this.perEngine.get(eid)?.exposure.entries() ?? []) {
      const sub = this.state.subs.get(key);
      if (sub !== undefined) yield [key, sub];
    }
  }

  /**
   * Dependencies the clock moved on chain `eid` since `before`: borrow fees grow with time alone,
   * and a staleness-aware weight moves while its source's heartbeat age is inside its decay window
   * (grace, grace + decay].
   */
  private clockDeps(eid: number, before: number): string[] {
    const chain = chainOf(this.state, eid);
    const out: string[] = [];
    for (const [marketId, m] of chain.markets)
      if (m.borrowRatePerSecond !== 0n) out.push(borrowDep(eid, marketId));
    for (const [key, source] of chain.sources) {
      if (source.staleDecay === 0) continue;
      const srcEid = srcEidOf(key);
      if (srcEid === eid) continue;
      const heard = chain.lastHeard.get(srcEid) ?? 0;
      if (
        chain.timestamp - heard > source.staleGrace &&
        before - heard < source.staleGrace + source.staleDecay
      ) {
        out.push(staleDep(eid, srcEid));
      }
    }
    return out;
  }

  /**
   * Recomputes one sub-account on engine `e` in bigint; returns whether its health or equity moved.
   * Kept under `sub.key`, the state's own string: a slice of an entry name would keep the whole
   * name alive with it.
   */
  private recompute(e: EngineLedger, sub: SubState): boolean {
    const key = sub.key;
    const before = e.healths.get(key);
    const r = computeHealthDeps(chainOf(this.state, e.eid), sub);
    e.healths.set(key, r.health);
    e.screen?.unsettle(key);
    e.exposure.set(key, r.deps);
    if (r.health !== undefined && r.health.health < WAD) this.flag(e, key);
    else this.unflag(e, key);
    return before?.health !== r.health?.health || before?.equity !== r.health?.equity;
  }

  private flag(e: EngineLedger, key: string): void {
    if (e.unhealthy.has(key)) return;
    const at = Date.now();
    e.unhealthy.set(key, {
      block: chainOf(this.state, e.eid).block,
      seenAt: this.seenAt || at,
      screenedAt: at,
      tip: false,
    });
  }

  private unflag(e: EngineLedger, key: string): void {
    e.unhealthy.delete(key);
  }
}

/** Engine `e`'s sub-account keys exposed to each of `deps` (all of that engine). */
function exposedBy(e: EngineLedger, deps: readonly string[]): ExposedDep[] {
  return deps.map((dep) => ({ dep, entries: e.exposure.exposed(dep), version: e.exposure.version(dep) }));
}

const NONE: ReadonlyMap<string, unknown> = new Map();

/** An engine's exposed sub-account keys, read as entry names (made on the way). */
class ExposedAsEntries implements ExposedEntries {
  readonly #eid: number;
  readonly #keys: ExposedEntries;

  constructor(eid: number, keys: ExposedEntries) {
    this.#eid = eid;
    this.#keys = keys;
  }

  get size(): number {
    return this.#keys.size;
  }

  *[Symbol.iterator](): Iterator<string> {
    for (const key of this.#keys) yield entryKey(this.#eid, key);
  }
}

/** An engine's sub-account keys, looked up by entry name. */
class KeyedEntries implements EntryLookup {
  readonly #prefix: string;
  readonly #keys: ReadonlyMap<string, unknown>;

  constructor(eid: number, keys: ReadonlyMap<string, unknown>) {
    this.#prefix = entryKey(eid, '');
    this.#keys = keys;
  }

  get size(): number {
    return this.#keys.size;
  }

  has(entry: string): boolean {
    return entry.startsWith(this.#prefix) && this.#keys.has(entry.slice(this.#prefix.length));
  }
}
