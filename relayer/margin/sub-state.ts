// One sub-account as the view knows it: what the vaults lock for it, what each engine credits it,
// its positions and settled balance per market chain. A node keeps one of these per sub-account it
// has seen, so their size is the view's size. A sub-account is split in two, as V8 splits an object
// into its hidden class and its fields:
//
// - its *layout*: which records it has and their keys, in order, as one flat array
//     [kind, eid, n, …n keys]   LOCKED   token keys `${vaultEid}:${token}`, eid unused (0)
//                               CREDIT   source keys `${srcEid}:${token}`, eid = engine
//                               POSITION market ids, eid = market chain
//                               SETTLED  no key (n = 1), eid = market chain
//   interned: sub-accounts that hold the same tokens from the same chains and trade the same
//   markets share one (a few hundred layouts for 100k sub-accounts in the bench population);
// - its *values*, in the layout's order: an amount per LOCKED or CREDIT entry, size, entry price
//   and borrow index at entry per POSITION, the balance of a SETTLED record; an array exactly as
//   long as needed.
//
// Six nested maps and three position objects took ~1,000 B of a sub-account's 1,559 B at 100k of
// them; the values array takes ~210 B (bench/margin.ts). A record with no entries stays (an engine
// whose credit went to zero is still listed for the account, as it was with a map per engine).
//
// Adding or removing an entry replaces both arrays; a value set for a present entry is written in
// place. So an iteration walks the sub-account as it was when it began: an entry added or removed
// meanwhile is not seen, a new value for a present one is.

import type { Address, Hex } from '../config/types.ts';

export interface PositionState {
  size: bigint;
  entryPrice: bigint;
  borrowIndexAtEntry: bigint;
}

export interface PositionEntry extends PositionState {
  marketId: number;
}

/** A LOCK the engine holds instead of crediting (CreditHeld). */
export interface HeldLock {
  engineEid: number;
  reason: number;
}

const LOCKED = 0;
const CREDIT = 1;
const POSITION = 2;
const SETTLED = 3;
type Kind = typeof LOCKED | typeof CREDIT | typeof POSITION | typeof SETTLED;
/** Key slots per entry in the layout, by kind. */
const KEYS = [1, 1, 1, 0] as const;
/** Value slots per entry, by kind. */
const VALUES = [1, 1, 3, 1] as const;
/** kind, eid, entry count. */
const HEADER = 3;
const EMPTY: readonly unknown[] = Object.freeze([]);

/** The records of a sub-account and their keys, without values; immutable and shared. */
class Layout {
  readonly slots: readonly unknown[];
  /** Per record in order: where it starts in `slots`, and where its values start. */
  readonly starts: readonly number[];
  /** Registered in `layouts` (shared by every sub-account with these records). */
  shared = false;
  /**
   * Shared layouts one change away, by change: a sub-account's next layout is found here without
   * building and hashing its JSON (14 changes build a bench sub-account: 2.8 s per 100k without).
   */
  #next: Map<string, Layout> | undefined;

  constructor(slots: readonly unknown[]) {
    this.slots = slots;
    const starts: number[] = [];
    let v = 0;
    for (let i = 0; i < slots.length; ) {
      const kind = slots[i] as Kind;
      const n = slots[i + 2] as number;
      starts.push(i, v);
      i += HEADER + n * KEYS[kind];
      v += n * VALUES[kind];
    }
    this.starts = starts;
  }

  /** The layout `change` leads to (`slots` makes it the first time): remembered when both are shared. */
  after(change: string, slots: () => unknown[]): Layout {
    let next = this.#next?.get(change);
    if (next !== undefined) return next;
    next = layoutOf(slots());
    if (this.shared && next.shared) {
      this.#next ??= new Map();
      this.#next.set(change, next);
    }
    return next;
  }

  /** Index into `starts` of the (kind, eid) record, or -1. */
  record(kind: Kind, eid: number): number {
    const { slots, starts } = this;
    for (let r = 0; r < starts.length; r += 2) {
      const at = starts[r] as number;
      if (slots[at] === kind && slots[at + 1] === eid) return r;
    }
    return -1;
  }
}

const NO_LAYOUT = new Layout(EMPTY);
NO_LAYOUT.shared = true;
/**
 * Interned layouts by their JSON. One with five holdings takes ~600 B with its key, so the registry
 * stays under ~6 MB; past MAX_LAYOUTS (sub-accounts holding that many different mixes, or the same
 * in that many orders) new layouts are not shared: still correct, ~470 B more per sub-account.
 */
const layouts = new Map<string, Layout>();
const MAX_LAYOUTS = 10_000;

function layoutOf(slots: readonly unknown[]): Layout {
  if (slots.length === 0) return NO_LAYOUT;
  const id = JSON.stringify(slots);
  let layout = layouts.get(id);
  if (layout === undefined) {
    layout = new Layout(slots);
    if (layouts.size < MAX_LAYOUTS) {
      layouts.set(id, layout);
      layout.shared = true;
    }
  }
  return layout;
}

/**
 * A value as kept: within ±2^30 as a number, which V8 keeps inside the array slot (a small integer
 * on every build, pointer-compressed or not), else the bigint (24–32 B of heap). Six- and
 * eight-decimal tokens (USDC, WBTC) and settled balances in quote units are often that small: 3.5
 * of the 12 values of a bench sub-account, ~85 B.
 */
const compact = (v: bigint): bigint | number => (v < SMALL && v > -SMALL ? Number(v) : v);
const expand = (x: unknown): bigint => (typeof x === 'number' ? BigInt(x) : (x as bigint));
const SMALL = 1n << 30n;

/** `list` with `insert` put in at `at` and `remove` slots taken out from there; exactly sized. */
function spliced(
  list: readonly unknown[],
  at: number,
  remove: number,
  insert: readonly unknown[],
): unknown[] {
  const out = new Array<unknown>(list.length - remove + insert.length);
  let k = 0;
  for (let j = 0; j < at; j++) out[k++] = list[j];
  for (const x of insert) out[k++] = x;
  for (let j = at + remove; j < list.length; j++) out[k++] = list[j];
  return out;
}

export class SubState {
  /** `${account lowercase}:${subaccount}` (./state.ts subKey): the key of MarginState.subs. */
  readonly key: string;
  readonly subaccount: bigint;
  /** LOCKs held by an engine instead of credited; undefined while there are none (the usual case). */
  held: Map<Hex, HeldLock> | undefined = undefined;
  #layout: Layout = NO_LAYOUT;
  #values: unknown[] = EMPTY as unknown[];

  constructor(key: string, subaccount: bigint) {
    this.key = key;
    this.subaccount = subaccount;
  }

  /** The account, lowercase: the key up to its last ':' (not kept twice). */
  get account(): Address {
    return this.key.slice(0, this.key.lastIndexOf(':')) as Address;
  }

  // ---------------------------------------------------------------- locked, by `${vaultEid}:${token}`

  /** Token units locked in that chain's vault; undefined if none. */
  locked(tokenKey: string): bigint | undefined {
    return this.#amount(LOCKED, 0, tokenKey);
  }

  /** Adds `delta` (may be negative) to a locked amount; an amount reaching zero is removed. */
  addLocked(tokenKey: string, delta: bigint): void {
    this.#add(LOCKED, 0, tokenKey, delta);
  }

  lockedEntries(): IterableIterator<[string, bigint]> {
    return this.#pairs(LOCKED, 0);
  }

  // ---------------------------------------------------------------- credit, by engine and `${srcEid}:${token}`

  /** What the engine credits from that source; undefined if nothing. */
  credit(engineEid: number, sourceKey: string): bigint | undefined {
    return this.#amount(CREDIT, engineEid, sourceKey);
  }

  /** Adds `delta` (may be negative) to a credit; a credit reaching zero is removed. */
  addCredit(engineEid: number, sourceKey: string, delta: bigint): void {
    this.#add(CREDIT, engineEid, sourceKey, delta);
  }

  /** Sets a credit outright (0n removes it). */
  setCredit(engineEid: number, sourceKey: string, amount: bigint): void {
    this.#add(CREDIT, engineEid, sourceKey, amount - (this.credit(engineEid, sourceKey) ?? 0n));
  }

  credits(engineEid: number): IterableIterator<[string, bigint]> {
    return this.#pairs(CREDIT, engineEid);
  }

  creditCount(engineEid: number): number {
    return this.#count(CREDIT, engineEid);
  }

  /** Engines that credited this sub-account at some time (in the order first seen). */
  creditEngines(): number[] {
    return this.#eids(CREDIT);
  }

  // ---------------------------------------------------------------- positions, by market chain and market id

  positions(eid: number): IterableIterator<PositionEntry> {
    return this.#walk(POSITION, eid, (key, values, v) => ({
      marketId: key as number,
      size: expand(values[v]),
      entryPrice: expand(values[v + 1]),
      borrowIndexAtEntry: expand(values[v + 2]),
    }));
  }

  positionCount(eid: number): number {
    return this.#count(POSITION, eid);
  }

  position(eid: number, marketId: number): PositionEntry | undefined {
    for (const p of this.positions(eid)) if (p.marketId === marketId) return p;
    return undefined;
  }

  /** Opens, changes or (with undefined) closes a position. */
  setPosition(eid: number, marketId: number, pos: PositionState | undefined): void {
    const j = this.#entry(POSITION, eid, marketId);
    if (pos === undefined) {
      if (j >= 0) this.#remove(POSITION, eid, j);
      else this.#insert(POSITION, eid, undefined, EMPTY);
      return;
    }
    if (j >= 0) {
      const at = this.#valueAt(POSITION, eid, j);
      this.#values[at] = compact(pos.size);
      this.#values[at + 1] = compact(pos.entryPrice);
      this.#values[at + 2] = compact(pos.borrowIndexAtEntry);
    } else {
      const values = [compact(pos.size), compact(pos.entryPrice), compact(pos.borrowIndexAtEntry)];
      this.#insert(POSITION, eid, marketId, values);
    }
  }

  /** Market chains this sub-account traded on. */
  positionChains(): number[] {
    return this.#eids(POSITION);
  }

  // ---------------------------------------------------------------- settled balance, by market chain

  /** Settled balance in quote units on that market chain; undefined if never set. */
  settled(eid: number): bigint | undefined {
    const r = this.#layout.record(SETTLED, eid);
    return r < 0 ? undefined : expand(this.#values[this.#layout.starts[r + 1] as number]);
  }

  setSettled(eid: number, balance: bigint): void {
    const r = this.#layout.record(SETTLED, eid);
    if (r >= 0) this.#values[this.#layout.starts[r + 1] as number] = compact(balance);
    else this.#insert(SETTLED, eid, undefined, [compact(balance)]);
  }

  settledChains(): number[] {
    return this.#eids(SETTLED);
  }

  // ---------------------------------------------------------------- layout and values

  /** Position of the entry keyed `key` in the (kind, eid) record (0 for the first), or -1. */
  #entry(kind: Kind, eid: number, key: unknown): number {
    const layout = this.#layout;
    const r = layout.record(kind, eid);
    if (r < 0) return -1;
    const slots = layout.slots;
    const at = layout.starts[r] as number;
    const n = slots[at + 2] as number;
    for (let j = 0; j < n; j++) if (slots[at + HEADER + j] === key) return j;
    return -1;
  }

  /** Index in the values of the `j`th entry of the (kind, eid) record (which exists). */
  #valueAt(kind: Kind, eid: number, j: number): number {
    const layout = this.#layout;
    return (layout.starts[layout.record(kind, eid) + 1] as number) + j * VALUES[kind];
  }

  #count(kind: Kind, eid: number): number {
    const layout = this.#layout;
    const r = layout.record(kind, eid);
    return r < 0 ? 0 : (layout.slots[(layout.starts[r] as number) + 2] as number);
  }

  #amount(kind: Kind, eid: number, key: string): bigint | undefined {
    const j = this.#entry(kind, eid, key);
    return j < 0 ? undefined : expand(this.#values[this.#valueAt(kind, eid, j)]);
  }

  #add(kind: Kind, eid: number, key: string, delta: bigint): void {
    const j = this.#entry(kind, eid, key);
    if (j < 0) {
      // A record with no entries is still made: the engine is then listed, as before its first credit.
      if (delta === 0n) this.#insert(kind, eid, undefined, EMPTY);
      else this.#insert(kind, eid, key, [compact(delta)]);
      return;
    }
    const at = this.#valueAt(kind, eid, j);
    const next = expand(this.#values[at]) + delta;
    if (next === 0n) this.#remove(kind, eid, j);
    else this.#values[at] = compact(next);
  }

  /**
   * Appends an entry (`values` empty: none, only the record) to the (kind, eid) record, making the
   * record if there is none. `key` is the entry's key (none for SETTLED).
   */
  #insert(kind: Kind, eid: number, key: unknown, values: readonly unknown[]): void {
    const layout = this.#layout;
    const r = layout.record(kind, eid);
    const entry = values.length === 0 ? EMPTY : KEYS[kind] === 0 ? EMPTY : [key];
    if (r < 0) {
      const n = values.length === 0 ? 0 : 1;
      this.#layout = layout.after(`${n}${kind}|${eid}|${entry.length === 0 ? '' : String(key)}`, () =>
        spliced(layout.slots, layout.slots.length, 0, [kind, eid, n, ...entry]),
      );
      this.#values =
        values.length === 0 ? this.#values : spliced(this.#values, this.#values.length, 0, values);
      return;
    }
    if (values.length === 0) return;
    const at = layout.starts[r] as number;
    const n = layout.slots[at + 2] as number;
    this.#layout = layout.after(`+${kind}|${eid}|${String(key)}`, () => {
      const slots = spliced(layout.slots, at + HEADER + n * KEYS[kind], 0, entry);
      slots[at + 2] = n + 1;
      return slots;
    });
    this.#values = spliced(this.#values, (layout.starts[r + 1] as number) + n * VALUES[kind], 0, values);
  }

  /** Removes the `j`th entry of the (kind, eid) record; the record stays. */
  #remove(kind: Kind, eid: number, j: number): void {
    const layout = this.#layout;
    const r = layout.record(kind, eid);
    const at = layout.starts[r] as number;
    this.#layout = layout.after(`-${kind}|${eid}|${j}`, () => {
      const slots = spliced(layout.slots, at + HEADER + j * KEYS[kind], KEYS[kind], EMPTY);
      slots[at + 2] = (layout.slots[at + 2] as number) - 1;
      return slots;
    });
    const values = spliced(
      this.#values,
      (layout.starts[r + 1] as number) + j * VALUES[kind],
      VALUES[kind],
      EMPTY,
    );
    this.#values = values.length === 0 ? (EMPTY as unknown[]) : values;
  }

  #eids(kind: Kind): number[] {
    const { slots, starts } = this.#layout;
    const out: number[] = [];
    for (let r = 0; r < starts.length; r += 2) {
      const at = starts[r] as number;
      if (slots[at] === kind) out.push(slots[at + 1] as number);
    }
    return out;
  }

  /** The (kind, eid) record's entries, each made by `entry` from its key and where its values start. */
  *#walk<T>(
    kind: Kind,
    eid: number,
    entry: (key: unknown, values: readonly unknown[], v: number) => T,
  ): IterableIterator<T> {
    const layout = this.#layout;
    const values = this.#values;
    const r = layout.record(kind, eid);
    if (r < 0) return;
    const at = layout.starts[r] as number;
    const v = layout.starts[r + 1] as number;
    const n = layout.slots[at + 2] as number;
    for (let j = 0; j < n; j++) yield entry(layout.slots[at + HEADER + j], values, v + j * VALUES[kind]);
  }

  #pairs(kind: Kind, eid: number): IterableIterator<[string, bigint]> {
    return this.#walk(kind, eid, (key, values, v) => [key as string, expand(values[v])]);
  }
}
