// The packed float screen (relayer/margin/fast.ts) against the exact bigint health on a seeded
// population: same classification (health < 1) for every sub-account, before and after price
// shocks and ticks, including sub-accounts put within a few wei of the line on purpose (those must
// go to the exact path), and float health values within 1e-9 of the exact ones.

import { describe, expect, it } from 'vitest';
import { adapterOf, buildPopulation, ENGINE_EID, setPrice, tokenOf } from '../../bench/lib/population.ts';
import { computeEngine, computeHealth } from '../../relayer/margin/compute.ts';
import { pack, STATUS } from '../../relayer/margin/fast.ts';
import { type ChainState, chainOf, type SubState } from '../../relayer/margin/state.ts';
import { WAD } from '../../relayer/margin/wad.ts';

const N = 4000;
const NEAR = 40;

/** Moves sub-account `sub`'s WETH credit to the smallest amount (or one wei less) that keeps health >= 1. */
function putOnTheLine(chain: ChainState, sub: SubState, below: boolean): boolean {
  const key = [...sub.credits(ENGINE_EID)]
    .map(([k]) => k)
    .find((k) => k.endsWith(tokenOf(Number(k.split(':')[0]), 0))) as string;
  const healthy = (amount: bigint) => {
    sub.setCredit(ENGINE_EID, key, amount);
    return (computeHealth(chain, sub)?.health ?? 0n) >= WAD;
  };
  let lo = 0n;
  let hi = 10n ** 30n;
  if (healthy(lo) || !healthy(hi)) return false;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (healthy(mid)) hi = mid;
    else lo = mid;
  }
  sub.setCredit(ENGINE_EID, key, below ? lo : hi);
  return true;
}

function expectAgreement(chain: ChainState, subs: readonly SubState[], book: ReturnType<typeof pack>) {
  let liquidatable = 0;
  for (let i = 0; i < subs.length; i++) {
    const h = computeHealth(chain, subs[i] as SubState);
    const expected = h === undefined ? STATUS.unknown : h.health < WAD ? STATUS.liquidatable : STATUS.healthy;
    if (book.status[i] !== expected) throw new Error(`sub ${i}: screen ${book.status[i]}, exact ${expected}`);
    if (expected === STATUS.liquidatable) liquidatable++;
    if (h !== undefined && h.maintenanceRequirement > 0n && h.equity > 0n) {
      const exact = Number(h.health) / 1e18;
      const screened = book.health[i] as number;
      if (Math.abs(screened - exact) > 1e-9 * exact) throw new Error(`sub ${i}: ${screened} vs ${exact}`);
    }
  }
  return liquidatable;
}

describe('packed margin screen (fast path)', () => {
  const { state, subs } = buildPopulation(N, 11);
  const chain = chainOf(state, ENGINE_EID);
  let placed = 0;
  for (let i = 0; placed < NEAR && i < N; i++) {
    if (putOnTheLine(chain, subs[i] as SubState, placed % 2 === 0)) placed++;
  }

  it('computeHealth is computeEngine(...).health, term for term', () => {
    for (const sub of subs.slice(0, 500))
      expect(computeHealth(chain, sub)).toEqual(computeEngine(chain, sub).health);
  });

  it('classifies every sub-account as the exact health does, near-the-line ones in bigint', () => {
    expect(placed).toBe(NEAR);
    const book = pack(chain, subs);
    const r = book.screenAll(chain);
    expect(r.screened).toBe(N);
    // Every one put within a few wei of the line went to the exact path, and only a few others.
    expect(r.exact).toBeGreaterThanOrEqual(NEAR);
    expect(r.exact).toBeLessThan(NEAR + 20);
    const liquidatable = expectAgreement(chain, subs, book);
    expect(liquidatable).toBeGreaterThan(NEAR / 2);
    expect(book.liquidatable()).toHaveLength(liquidatable);
  });

  it('agrees after price shocks and after incremental ticks of one price', () => {
    const book = pack(chain, subs);
    book.screenAll(chain);
    for (const [asset, price] of [
      [0, 2_550],
      [1, 51_000],
      [4, 9],
      [2, 0.98],
    ] as const) {
      const dep = setPrice(state, asset, price);
      book.refreshPrices(chain);
      const r = book.screenExposed(chain, dep);
      expect(r.screened).toBe(book.exposed(dep).length);
      expectAgreement(chain, subs, book);
    }
    // A full screen after the ticks changes nothing the ticks did not already change.
    expect(book.screenAll(chain).changed).toEqual([]);
  });

  it('defers to the exact path when a price is missing (the engine would revert)', () => {
    const adapter = chain.adapters.get(adapterOf(3));
    const feed = adapter?.feed as `0x${string}`;
    const answer = chain.feeds.get(feed) as bigint;
    chain.feeds.delete(feed);
    try {
      const book = pack(chain, subs);
      const r = book.screenAll(chain);
      expect(r.exact).toBe(N);
      expect([...book.status].every((s) => s === STATUS.unknown)).toBe(true);
    } finally {
      chain.feeds.set(feed, answer);
    }
  });
});
