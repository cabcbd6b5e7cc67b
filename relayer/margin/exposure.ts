// The reverse index that makes recomputation incremental: dependency (a feed's price, a market's
// borrow clock) -> the entries whose last health computation read it. The view's ledger keeps one
// per engine, its entries being the state's sub-account keys (./ledger.ts). An entry's
// dependencies are replaced each time it is recomputed, so the index follows collateral and
// positions as they come and go.
//
// An entry reads a handful of dependencies (one per asset and market it holds), kept as a plain
// array: a Set per entry cost ~300 B more per sub-account at 100k of them (bench/margin.ts).
// Sub-accounts holding the same assets and markets read the same list, so one sorted copy of each
// distinct list is shared, and the entries that read it form one group: a dependency points at the
// groups whose list holds it, not at each entry, so an entry sits in one Set instead of one per
// dependency it reads (~8 in the bench population): what the view holds per sub-account went from
// 2,192 to 2,061 B (bench/margin.ts, 100k), and a recompute that moves an entry touches two Sets.

/** The entries exposed to one dependency: the groups that read it, walked in turn (disjoint). */
export interface ExposedEntries extends Iterable<string> {
  readonly size: number;
}

/** Entries sharing one dependency list (the list's shared copy is the group's key). */
type Group = Set<string>;

class ExposedView implements ExposedEntries {
  readonly #groups: ReadonlySet<Group>;

  constructor(groups: ReadonlySet<Group>) {
    this.#groups = groups;
  }

  get size(): number {
    let n = 0;
    for (const g of this.#groups) n += g.size;
    return n;
  }

  *[Symbol.iterator](): Iterator<string> {
    for (const g of this.#groups) yield* g;
  }
}

export class ExposureIndex {
  /** Per dependency, the groups whose list holds it (only groups with entries). */
  private readonly byDep = new Map<string, Set<Group>>();
  /** Per shared list, the entries that read exactly it. */
  private readonly groups = new Map<readonly string[], Group>();
  private readonly depsOf = new Map<string, readonly string[]>();
  /** Per dependency, a count of changes to its set: lets a reader keep what it derived from one. */
  private readonly versions = new Map<string, number>();
  /** The shared copy of each distinct dependency list, by its joined form. */
  private readonly lists = new Map<string, readonly string[]>();

  /** Replaces `entry`'s dependencies. */
  set(entry: string, deps: Iterable<string>): void {
    const next = this.shared(deps);
    const old = this.depsOf.get(entry);
    if (old === next) return;
    if (old !== undefined) {
      this.leave(entry, old);
      for (const d of old) if (!next.includes(d)) this.bump(d);
    }
    let group = this.groups.get(next);
    if (group === undefined) {
      group = new Set();
      this.groups.set(next, group);
      for (const d of next) {
        let holders = this.byDep.get(d);
        if (holders === undefined) {
          holders = new Set();
          this.byDep.set(d, holders);
        }
        holders.add(group);
      }
    }
    group.add(entry);
    for (const d of next) if (old === undefined || !old.includes(d)) this.bump(d);
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

  /** Entries exposed to `dep` (a live view: it follows later changes). */
  exposed(dep: string): ExposedEntries {
    return new ExposedView(this.byDep.get(dep) ?? NO_GROUPS);
  }

  dependencies(): IterableIterator<string> {
    return this.byDep.keys();
  }

  /** Every entry indexed so far, in the order first set. */
  entries(): IterableIterator<string> {
    return this.depsOf.keys();
  }

  /** How many entries are indexed. */
  get size(): number {
    return this.depsOf.size;
  }

  /** Takes `entry` out of the group of `list`; an emptied group is forgotten by its dependencies. */
  private leave(entry: string, list: readonly string[]): void {
    const group = this.groups.get(list);
    if (group === undefined || !group.delete(entry) || group.size > 0) return;
    this.groups.delete(list);
    for (const d of list) {
      const holders = this.byDep.get(d);
      holders?.delete(group);
      if (holders?.size === 0) this.byDep.delete(d);
    }
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
}

const NO_GROUPS: ReadonlySet<Group> = new Set();
/** Distinct dependency lists shared; more (never in practice: lists follow asset × market mixes) are kept unshared. */
const MAX_LISTS = 100_000;
