// The reverse index that makes recomputation incremental: dependency (a feed's price, a market's
// borrow clock) -> the (engine, sub-account) entries whose last health computation read it. An
// entry's dependencies are replaced each time it is recomputed, so the index follows collateral
// and positions as they come and go.
//
// An entry reads a handful of dependencies (one per asset and market it holds), so they are kept as
// a plain array: a Set per entry cost ~300 B more per sub-account at 100k of them (bench/margin.ts).
// Sub-accounts holding the same assets and markets read the same list, so one sorted copy of each
// distinct list is shared (another ~80 B per sub-account); a repeated dependency is dropped.

export class ExposureIndex {
  private readonly byDep = new Map<string, Set<string>>();
  private readonly depsOf = new Map<string, readonly string[]>();
  /** Per dependency, a count of changes to its set: lets a reader keep what it derived from one. */
  private readonly versions = new Map<string, number>();
  /** The shared copy of each distinct dependency list, by its joined form. */
  private readonly lists = new Map<string, readonly string[]>();

  /** Replaces `entry`'s dependencies. */
  set(entry: string, deps: Iterable<string>): void {
    const next = this.shared(deps);
    const old = this.depsOf.get(entry);
    if (old !== undefined) {
      for (const d of old) {
        if (next.includes(d)) continue;
        const s = this.byDep.get(d);
        if (s?.delete(entry)) this.bump(d);
        if (s?.size === 0) this.byDep.delete(d);
      }
    }
    for (const d of next) {
      let s = this.byDep.get(d);
      if (s === undefined) {
        s = new Set();
        this.byDep.set(d, s);
      }
      if (!s.has(entry)) {
        s.add(entry);
        this.bump(d);
      }
    }
    this.depsOf.set(entry, next);
  }

  /** What `entry` read at its last recompute (sorted; shared with entries that read the same). */
  dependenciesOf(entry: string): readonly string[] | undefined {
    return this.depsOf.get(entry);
  }

  /** Changes so far to the entries exposed to `dep` (equal counts: the same entries). */
  version(dep: string): number {
    return this.versions.get(dep) ?? 0;
  }

  /** The sorted, de-duplicated form of `deps`, one array per distinct list (past MAX_LISTS: unshared). */
  private shared(deps: Iterable<string>): readonly string[] {
    const sorted = [...new Set(deps)].sort();
    const key = sorted.join(' ');
    const list = this.lists.get(key);
    if (list !== undefined) return list;
    if (this.lists.size < MAX_LISTS) this.lists.set(key, sorted);
    return sorted;
  }

  private bump(dep: string): void {
    this.versions.set(dep, (this.versions.get(dep) ?? 0) + 1);
  }

  /** Entries exposed to `dep`. */
  exposed(dep: string): ReadonlySet<string> {
    return this.byDep.get(dep) ?? EMPTY;
  }

  dependencies(): IterableIterator<string> {
    return this.byDep.keys();
  }
}

const EMPTY: ReadonlySet<string> = new Set();
/** Distinct dependency lists shared; more (never in practice: lists follow asset × market mixes) are kept unshared. */
const MAX_LISTS = 100_000;
