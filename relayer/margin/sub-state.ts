// One sub-account as the view knows it: what the vaults lock for it, what each engine credits it,
// its positions and settled balance per market chain. A node keeps one of these per sub-account it
// has seen, so their size is the view's size: they hold everything in one flat array of records,
//
//   [kind, eid, n, …n entries]   LOCKED   entries (token key, amount)        eid unused (0)
//                                CREDIT   entries (source key, amount)       eid = engine
//                                POSITION entries (market id, size, entry price, borrow index at entry)
//                                SETTLED  one entry (balance in quote units) eid = market chain
//
// exactly as long as needed. Six nested maps and three position objects took ~1,000 B of a
// sub-account's 1,559 B at 100k of them; this array takes ~400 B (bench/margin.ts). A record kind
// with no entries stays (an engine whose credit went to zero is still listed for the account, as it
// was with a map per engine).
//
// The array is replaced, never grown in place, when an entry is added or removed; a value set for a
// present entry is written in place. So an iteration walks the array as it was when it began: an
// entry added or removed meanwhile is not seen, a new value for a present one is.

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
/** Slots per entry, by kind. */
const WIDTH = [2, 2, 4, 1] as const;
/** kind, eid, entry count. */
const HEADER = 3;
const EMPTY: readonly unknown[] = Object.freeze([]);

export class SubState {
  /** `${account lowercase}:${subaccount}` (./state.ts subKey): the key of MarginState.subs. */
  readonly key: string;
  readonly subaccount: bigint;
  /** LOCKs held by an engine instead of credited; undefined while there are none (the usual case). */
  held: Map<Hex, HeldLock> | undefined = undefined;
  #records: unknown[] = EMPTY as unknown[];

  constructor(key: string, subaccount: bigint) {
    this.key = key;
    this.subaccount = subaccount;
  }

  /** The account, lowercase (the key's first 42 characters: not kept twice). */
  get account(): Address {
    return this.key.slice(0, 42) as Address;
  }

  // ---------------------------------------------------------------- locked, by `${vaultEid}:${token}`

  /** Token units locked in that chain's vault; undefined if none. */
  locked(tokenKey: string): bigint | undefined {
    return this.#value(LOCKED, 0, tokenKey);
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
    return this.#value(CREDIT, engineEid, sourceKey);
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
    return this.#positions(eid);
  }

  positionCount(eid: number): number {
    return this.#count(POSITION, eid);
  }

  position(eid: number, marketId: number): PositionEntry | undefined {
    for (const p of this.#positions(eid)) if (p.marketId === marketId) return p;
    return undefined;
  }

  /** Opens, changes or (with undefined) closes a position. */
  setPosition(eid: number, marketId: number, pos: PositionState | undefined): void {
    const at = this.#slot(POSITION, eid, marketId);
    if (pos === undefined) {
      if (at >= 0) this.#remove(POSITION, eid, at);
      else if (this.#section(POSITION, eid) < 0) this.#insert(POSITION, eid, []);
      return;
    }
    if (at >= 0) {
      const r = this.#records;
      r[at + 1] = pos.size;
      r[at + 2] = pos.entryPrice;
      r[at + 3] = pos.borrowIndexAtEntry;
    } else this.#insert(POSITION, eid, [marketId, pos.size, pos.entryPrice, pos.borrowIndexAtEntry]);
  }

  /** Market chains this sub-account traded on. */
  positionChains(): number[] {
    return this.#eids(POSITION);
  }

  // ---------------------------------------------------------------- settled balance, by market chain

  /** Settled balance in quote units on that market chain; undefined if never set. */
  settled(eid: number): bigint | undefined {
    const s = this.#section(SETTLED, eid);
    return s < 0 ? undefined : (this.#records[s + HEADER] as bigint);
  }

  setSettled(eid: number, balance: bigint): void {
    const s = this.#section(SETTLED, eid);
    if (s >= 0) this.#records[s + HEADER] = balance;
    else this.#insert(SETTLED, eid, [balance]);
  }

  settledChains(): number[] {
    return this.#eids(SETTLED);
  }

  // ---------------------------------------------------------------- the records

  /** Index of the (kind, eid) record, or -1. */
  #section(kind: Kind, eid: number): number {
    const r = this.#records;
    for (let i = 0; i < r.length; i += HEADER + (r[i + 2] as number) * WIDTH[r[i] as Kind]) {
      if (r[i] === kind && r[i + 1] === eid) return i;
    }
    return -1;
  }

  /** Index of the entry keyed `key` in the (kind, eid) record, or -1. */
  #slot(kind: Kind, eid: number, key: unknown): number {
    const s = this.#section(kind, eid);
    if (s < 0) return -1;
    const r = this.#records;
    const w = WIDTH[kind];
    const end = s + HEADER + (r[s + 2] as number) * w;
    for (let i = s + HEADER; i < end; i += w) if (r[i] === key) return i;
    return -1;
  }

  #count(kind: Kind, eid: number): number {
    const s = this.#section(kind, eid);
    return s < 0 ? 0 : (this.#records[s + 2] as number);
  }

  #value(kind: Kind, eid: number, key: string): bigint | undefined {
    const at = this.#slot(kind, eid, key);
    return at < 0 ? undefined : (this.#records[at + 1] as bigint);
  }

  #add(kind: Kind, eid: number, key: string, delta: bigint): void {
    const at = this.#slot(kind, eid, key);
    if (at < 0) {
      // A record with no entries is still made: the engine is then listed, as before its first credit.
      this.#insert(kind, eid, delta === 0n ? [] : [key, delta]);
      return;
    }
    const next = (this.#records[at + 1] as bigint) + delta;
    if (next === 0n) this.#remove(kind, eid, at);
    else this.#records[at + 1] = next;
  }

  /** Appends `entry` (may be empty) to the (kind, eid) record, making the record if there is none. */
  #insert(kind: Kind, eid: number, entry: readonly unknown[]): void {
    const r = this.#records;
    const s = this.#section(kind, eid);
    if (s < 0) {
      const next = new Array<unknown>(r.length + HEADER + entry.length);
      let k = 0;
      for (let j = 0; j < r.length; j++) next[k++] = r[j];
      next[k++] = kind;
      next[k++] = eid;
      next[k++] = entry.length === 0 ? 0 : 1;
      for (const v of entry) next[k++] = v;
      this.#records = next;
      return;
    }
    if (entry.length === 0) return;
    const at = s + HEADER + (r[s + 2] as number) * WIDTH[kind];
    // Sized to fit: push would reserve room for ~16 more slots.
    const next = new Array<unknown>(r.length + entry.length);
    let k = 0;
    for (let j = 0; j < at; j++) next[k++] = r[j];
    for (const v of entry) next[k++] = v;
    for (let j = at; j < r.length; j++) next[k++] = r[j];
    next[s + 2] = (r[s + 2] as number) + 1;
    this.#records = next;
  }

  /** Removes the entry at slot `at` of the (kind, eid) record; the record stays. */
  #remove(kind: Kind, eid: number, at: number): void {
    const r = this.#records;
    const s = this.#section(kind, eid);
    const w = WIDTH[kind];
    const next = new Array<unknown>(r.length - w);
    let k = 0;
    for (let j = 0; j < r.length; j++) if (j < at || j >= at + w) next[k++] = r[j];
    next[s + 2] = (r[s + 2] as number) - 1;
    this.#records = next;
  }

  #eids(kind: Kind): number[] {
    const r = this.#records;
    const out: number[] = [];
    for (let i = 0; i < r.length; i += HEADER + (r[i + 2] as number) * WIDTH[r[i] as Kind]) {
      if (r[i] === kind) out.push(r[i + 1] as number);
    }
    return out;
  }

  *#pairs(kind: Kind, eid: number): IterableIterator<[string, bigint]> {
    const r = this.#records;
    const s = this.#section(kind, eid);
    if (s < 0) return;
    const end = s + HEADER + (r[s + 2] as number) * 2;
    for (let i = s + HEADER; i < end; i += 2) yield [r[i] as string, r[i + 1] as bigint];
  }

  *#positions(eid: number): IterableIterator<PositionEntry> {
    const r = this.#records;
    const s = this.#section(POSITION, eid);
    if (s < 0) return;
    const end = s + HEADER + (r[s + 2] as number) * 4;
    for (let i = s + HEADER; i < end; i += 4) {
      yield {
        marketId: r[i] as number,
        size: r[i + 1] as bigint,
        entryPrice: r[i + 2] as bigint,
        borrowIndexAtEntry: r[i + 3] as bigint,
      };
    }
  }
}
