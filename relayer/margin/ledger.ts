// What the view knows about each (engine, sub-account) entry's health, kept current block by block:
// the health of its last exact recompute, the dependencies that recompute read (the exposure
// index), which entries are under water and since when, and per engine the packed screen that a
// large price tick goes through (./screen.ts). `propagate` takes what a block touched and brings
// all of it up to date; the view (./view.ts) calls it after applying each block, and
// bench/margin.ts calls the same code to time a price tick as the node runs it.

import { borrowDep, staleDep, type Touched } from './apply.ts';
import { computeHealth, computeHealthDeps, type PriceOverride, srcEidOf } from './compute.ts';
import { ExposureIndex } from './exposure.ts';
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
  entry: string;
  sub: SubState;
  health: bigint;
  since: UnhealthySince | undefined;
}

/** The entry key of an engine's view of a sub-account. */
export const entryKey = (engineEid: number, key: string): string => `${engineEid}|${key}`;
const engineOfEntry = (entry: string): number => Number(entry.slice(0, entry.indexOf('|')));
const subKeyOfEntry = (entry: string): string => entry.slice(entry.indexOf('|') + 1);
/** The engine chain a dependency belongs to: `p:<eid>:…`, `b:<eid>:…`, `s:<eid>:…`. */
const engineOfDep = (dep: string): number => Number(dep.slice(2, dep.indexOf(':', 2)));

export class HealthLedger {
  readonly exposure = new ExposureIndex();
  /** The counters propagate keeps; the rest of LedgerStats is read off the screens and entries. */
  private readonly counts = { lastRecomputed: 0, totalRecomputed: 0, lastScreened: 0, totalScreened: 0 };
  private readonly state: MarginState;
  private readonly engines: ReadonlySet<number>;
  private readonly screenMinEntries: number;
  /**
   * Each entry's health as of its last exact recompute (undefined: a price is missing, health()
   * reverts). Entries the screen settled have none: rebuilt when asked for.
   */
  private readonly healths = new Map<string, HealthView | undefined>();
  private readonly unhealthyByEngine = new Map<number, Set<string>>();
  /** When each confirmed-unhealthy entry became so. */
  private readonly unhealthySince = new Map<string, UnhealthySince>();
  /** Per engine, the packed screen a large price tick goes through. */
  private readonly screens = new Map<number, EngineScreen>();
  /**
   * Entries per engine (their keys are the exposure index's: every recomputed entry is in it, and a
   * Set per engine beside it cost 26 B per sub-account, bench/margin.ts).
   */
  private readonly entryCounts = new Map<number, number>();
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
    for (const screen of this.screens.values()) screenPacks += screen.packs;
    let entries = 0;
    for (const n of this.entryCounts.values()) entries += n;
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
    for (const eid of t.engines) this.screens.get(eid)?.drop();
    for (const entry of t.subs) this.screens.get(engineOfEntry(entry))?.invalidate(entry);

    // Dependencies by engine; an engine where they expose enough entries goes through its screen.
    const byEngine = new Map<number, string[]>();
    for (const dep of deps) {
      const eid = engineOfDep(dep);
      const list = byEngine.get(eid);
      if (list === undefined) byEngine.set(eid, [dep]);
      else list.push(dep);
    }
    const todo = new Set<string>(t.subs);
    for (const eid of t.engines) for (const [e] of this.engineEntries(eid)) todo.add(e);
    // Every dependency names its engine's chain, so an engine goes through its screen for all of
    // its dependencies or for none: `todo` never holds an entry its screen settled in this block.
    let changed: ChangedSubaccount[] = [];
    let screened = 0;
    for (const [eid, list] of byEngine) {
      const exposed = this.exposedBy(list);
      // A parameter change sent every entry of the engine to `todo` already.
      const screen = t.engines.has(eid) ? undefined : this.screenFor(eid, exposed);
      if (screen === undefined) {
        for (const x of exposed) for (const e of x.entries) todo.add(e);
        continue;
      }
      const r = screen.tick(chainOf(this.state, eid), exposed, () => this.engineEntries(eid));
      for (const entry of r.toHealthy) this.settleHealthy(eid, entry);
      for (const entry of r.toUnhealthy) this.settleUnhealthy(eid, entry);
      for (const entry of r.exact) todo.add(entry);
      // A price moved under every settled entry: its health did too.
      if (changed.length === 0) changed = r.settled;
      else for (const c of r.settled) changed.push(c);
      screened += r.settled.length;
    }
    let n = 0;
    for (const entry of todo) {
      const engineEid = engineOfEntry(entry);
      const moved = this.recompute(entry);
      if (this.engines.has(engineEid)) n++;
      if (moved || t.subs.has(entry)) {
        const sub = this.state.subs.get(subKeyOfEntry(entry));
        if (sub !== undefined) changed.push({ engineEid, account: sub.account, subaccount: sub.subaccount });
      }
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
    const entry = entryKey(engineEid, key);
    if (this.healths.has(entry)) return this.healths.get(entry);
    const sub = this.state.subs.get(key);
    if (sub === undefined || !this.engines.has(engineEid)) return undefined;
    return computeHealth(chainOf(this.state, engineEid), sub);
  }

  /** Entries of the engine below health 1 in the confirmed state (those the screen settled under water carry its float health). */
  unhealthy(engineEid: number): ConfirmedUnhealthy[] {
    const out: ConfirmedUnhealthy[] = [];
    for (const entry of this.unhealthyByEngine.get(engineEid) ?? []) {
      const sub = this.state.subs.get(subKeyOfEntry(entry));
      if (sub === undefined) continue;
      let health: bigint | undefined;
      if (this.healths.has(entry)) health = this.healths.get(entry)?.health;
      else {
        const h = this.screens.get(engineEid)?.unhealthyHealth(entry);
        // A display figure: the classification is exact, the value within ~1e-12 of the engine's.
        health = h === undefined ? computeHealth(chainOf(this.state, engineEid), sub)?.health : floatToWad(h);
      }
      if (health === undefined) continue;
      out.push({ entry, sub, health, since: this.unhealthySince.get(entry) });
    }
    return out;
  }

  /** The confirmed unhealthy entries of an engine (the tip screen leaves them alone). */
  unhealthySet(engineEid: number): ReadonlySet<string> {
    return this.unhealthyByEngine.get(engineEid) ?? EMPTY;
  }

  /**
   * The tip screen's triage (./tip.ts) of what the moved prices `deps` of engine `eid` expose, at
   * `override`'s prices, when they expose enough entries to use the screen; nothing is settled.
   */
  triage(eid: number, deps: readonly string[], override: PriceOverride): TipTriage | undefined {
    const exposed = this.exposedBy(deps);
    const screen = this.screenFor(eid, exposed);
    return screen?.triage(chainOf(this.state, eid), exposed, () => this.engineEntries(eid), override);
  }

  private exposedBy(deps: readonly string[]): ExposedDep[] {
    return deps.map((dep) => ({
      dep,
      entries: this.exposure.exposed(dep),
      version: this.exposure.version(dep),
    }));
  }

  /** The engine's screen when `exposed` lists enough entries to use it (created on first use). */
  private screenFor(eid: number, exposed: readonly ExposedDep[]): EngineScreen | undefined {
    let size = 0;
    for (const x of exposed) size += x.entries.size;
    if (!this.engines.has(eid) || size === 0 || size < this.screenMinEntries) return undefined;
    let screen = this.screens.get(eid);
    if (screen === undefined) {
      screen = new EngineScreen();
      this.screens.set(eid, screen);
    }
    return screen;
  }

  /** The engine's entries (a walk over all entries: for a repack or a parameter change, both rare). */
  private *engineEntries(eid: number): Generator<[string, SubState]> {
    const prefix = entryKey(eid, '');
    for (const entry of this.exposure.entries()) {
      if (!entry.startsWith(prefix)) continue;
      const sub = this.state.subs.get(subKeyOfEntry(entry));
      if (sub !== undefined) yield [entry, sub];
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

  /** Recomputes one entry in bigint; returns whether its health or equity moved. */
  private recompute(entry: string): boolean {
    const engineEid = engineOfEntry(entry);
    const sub = this.state.subs.get(subKeyOfEntry(entry));
    if (sub === undefined || !this.engines.has(engineEid)) return false;
    const before = this.healths.get(entry);
    const r = computeHealthDeps(chainOf(this.state, engineEid), sub);
    this.healths.set(entry, r.health);
    this.screens.get(engineEid)?.unsettle(entry);
    if (this.exposure.dependenciesOf(entry) === undefined)
      this.entryCounts.set(engineEid, (this.entryCounts.get(engineEid) ?? 0) + 1);
    this.exposure.set(entry, r.deps);
    if (r.health !== undefined && r.health.health < WAD) this.flagUnhealthy(engineEid, entry);
    else this.unflag(engineEid, entry);
    return before?.health !== r.health?.health || before?.equity !== r.health?.equity;
  }

  /**
   * An entry the packed screen found healthy at the new prices: no longer unhealthy, and its exact
   * health is rebuilt when asked for. Its dependencies did not change (a price tick does not change
   * what an entry holds), so the exposure index stays as it is.
   */
  private settleHealthy(engineEid: number, entry: string): void {
    this.healths.delete(entry);
    this.unflag(engineEid, entry);
  }

  /** An entry the packed screen found clearly under water: flagged, its float health in the screen. */
  private settleUnhealthy(engineEid: number, entry: string): void {
    this.healths.delete(entry);
    this.flagUnhealthy(engineEid, entry);
  }

  private flagUnhealthy(engineEid: number, entry: string): void {
    let bad = this.unhealthyByEngine.get(engineEid);
    if (bad === undefined) {
      bad = new Set();
      this.unhealthyByEngine.set(engineEid, bad);
    }
    if (bad.has(entry)) return;
    const at = Date.now();
    this.unhealthySince.set(entry, {
      block: chainOf(this.state, engineEid).block,
      seenAt: this.seenAt || at,
      screenedAt: at,
      tip: false,
    });
    bad.add(entry);
  }

  private unflag(engineEid: number, entry: string): void {
    this.unhealthyByEngine.get(engineEid)?.delete(entry);
    this.unhealthySince.delete(entry);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
