// The tip screen: price answers of blocks that are mined but not yet confirmed, screened against the
// view's confirmed state, so a liquidator can act in the block after a price moved instead of waiting
// for that block's confirmations. It only nominates sub-accounts: each liquidation is simulated with
// eth_call at the chain's latest block before it is sent and reverts harmlessly if the state is gone
// (a reorg, a price moved back). Nothing here enters the view's state, store or reported health.
//
// Only prices are screened (a price tick is what makes many sub-accounts liquidatable at once); a
// position or credit change in an unconfirmed block reaches the view once confirmed, as before.

import type { Address } from '../config/types.ts';
import { priceDep } from './apply.ts';
import { computeHealth } from './compute.ts';
import type { EntryExposure, EntryLookup } from './ledger.ts';
import { chainOf, type MarginState } from './state.ts';
import { feedToWad, floatToWad, WAD } from './wad.ts';

/** Why an entry is on the tip list: its health under the unconfirmed prices, and when that was seen. */
export interface TipFlag {
  /** WAD, at the unconfirmed prices: exact, or the packed screen's float figure for one clearly under 1. */
  health: bigint;
  /** The newest unconfirmed block whose prices were screened. */
  block: number;
  /** ms since epoch: when the follower handed over that block. */
  seenAt: number;
  /** ms since epoch: when the screen flagged the entry. */
  screenedAt: number;
}

interface TipBlock {
  seenAt: number;
  /** Raw feed answers (feed decimals) the block's AnswerUpdated events set, last one per feed. */
  feeds: Map<Address, bigint>;
}

/**
 * Sorts the entries the moved prices `deps` expose before their exact check (the view's packed
 * screen, ./screen.ts, when there are many): those clearly under 1 come with their float health
 * (flagged without a bigint check), `exact` lists those to check exactly, and every other exposed
 * entry is clearly healthy. Undefined: check every exposed entry exactly.
 */
export type Triage = (
  deps: readonly string[],
  override: ReadonlyMap<string, bigint>,
) => { under: ReadonlyMap<string, number>; exact: Iterable<string> } | undefined;

export class TipScreen {
  /** eid -> unconfirmed block number -> its price answers. */
  private readonly blocks = new Map<number, Map<number, TipBlock>>();
  /** engine eid -> entry (`${engineEid}|${subKey}`) -> flag. */
  private readonly flags = new Map<number, Map<string, TipFlag>>();

  /** Records the price answers of an unconfirmed block (blocks without any are not kept). */
  addBlock(eid: number, block: number, feeds: Map<Address, bigint>, seenAt: number): boolean {
    if (feeds.size === 0) return false;
    let m = this.blocks.get(eid);
    if (m === undefined) {
      m = new Map();
      this.blocks.set(eid, m);
    }
    m.set(block, { seenAt, feeds });
    return true;
  }

  /** Forgets blocks numbered >= fromBlock (a reorg dropped them). */
  dropFrom(eid: number, fromBlock: number): boolean {
    return this.drop(eid, (n) => n >= fromBlock);
  }

  /** Forgets blocks numbered <= block (the confirmed state now holds them). */
  confirmedUpTo(eid: number, block: number): boolean {
    return this.drop(eid, (n) => n <= block);
  }

  private drop(eid: number, which: (n: number) => boolean): boolean {
    const m = this.blocks.get(eid);
    let dropped = false;
    for (const n of [...(m?.keys() ?? [])]) {
      if (!which(n)) continue;
      m?.delete(n);
      dropped = true;
    }
    return dropped;
  }

  /** Whether unconfirmed prices of chain `eid` are held. */
  holds(eid: number): boolean {
    return (this.blocks.get(eid)?.size ?? 0) > 0;
  }

  /**
   * Re-screens the entries exposed to chain `eid`'s unconfirmed prices (or only `only`, entries whose
   * confirmed state just changed, keeping the other flags); returns the entries flagged now that were
   * not before. Entries already unhealthy in the confirmed state are skipped.
   */
  screen(
    eid: number,
    state: MarginState,
    exposure: EntryExposure,
    confirmedUnhealthy: EntryLookup,
    now: number,
    only?: Iterable<string>,
    triage?: Triage,
  ): string[] {
    const chain = chainOf(state, eid);
    const pending = [...(this.blocks.get(eid) ?? [])]
      .filter(([n]) => n > chain.block)
      .sort((a, b) => a[0] - b[0]);
    const override = new Map<string, bigint>();
    let newest: { block: number; seenAt: number } | undefined;
    for (const [block, b] of pending) {
      newest = { block, seenAt: b.seenAt };
      for (const [feed, answer] of b.feeds) {
        const decimals = feedDecimals(state, eid, feed);
        const price = decimals === undefined ? null : feedToWad(answer, decimals);
        if (price !== null) override.set(priceDep(eid, feed), price);
      }
    }
    const before = this.flags.get(eid) ?? new Map<string, TipFlag>();
    const next = only === undefined || newest === undefined ? new Map<string, TipFlag>() : new Map(before);
    const added: string[] = [];
    const prefix = `${eid}|`;
    /** Flags `entry` if it is under 1 at the unconfirmed prices (`float`: the screen's figure for it). */
    const check = (entry: string, at: { block: number; seenAt: number }, float?: number): void => {
      if (!entry.startsWith(prefix)) return;
      next.delete(entry);
      if (confirmedUnhealthy.has(entry)) return;
      let health: bigint;
      if (float !== undefined) health = floatToWad(float);
      else {
        const sub = state.subs.get(entry.slice(prefix.length));
        const h = sub === undefined ? undefined : computeHealth(chain, sub, override);
        if (h === undefined || h.health >= WAD) return;
        health = h.health;
      }
      const prev = before.get(entry);
      next.set(entry, {
        health,
        block: at.block,
        seenAt: prev?.seenAt ?? at.seenAt,
        screenedAt: prev?.screenedAt ?? now,
      });
      if (prev === undefined) added.push(entry);
    };
    if (newest !== undefined) {
      const sorted = only === undefined ? triage?.([...override.keys()], override) : undefined;
      if (sorted !== undefined) {
        // `next` starts empty here: the clearly healthy need no visit.
        for (const [entry, float] of sorted.under) check(entry, newest, float);
        for (const entry of sorted.exact) check(entry, newest);
      } else if (only !== undefined) for (const entry of only) check(entry, newest);
      else {
        const seen = new Set<string>();
        for (const dep of override.keys()) {
          for (const entry of exposure.exposed(dep)) {
            if (seen.has(entry)) continue;
            seen.add(entry);
            check(entry, newest);
          }
        }
      }
    }
    if (next.size === 0) this.flags.delete(eid);
    else this.flags.set(eid, next);
    return added;
  }

  /** The flagged entries of an engine chain. */
  flagged(engineEid: number): ReadonlyMap<string, TipFlag> {
    return this.flags.get(engineEid) ?? EMPTY;
  }
}

const EMPTY: ReadonlyMap<string, TipFlag> = new Map();

/** The decimals of a feed, from the adapters that read it (undefined: no adapter of the chain does). */
function feedDecimals(state: MarginState, eid: number, feed: Address): number | undefined {
  for (const a of chainOf(state, eid).adapters.values()) if (a.feed === feed) return a.feedDecimals;
  return undefined;
}
