// HealthLedger, what the view knows of each entry's health, against the exact bigint health of every
// sub-account after each step: price ticks large enough to go through the packed screen, small ones
// recomputed exactly, a clock move (borrow fees), changed holdings, new sub-accounts and a parameter
// change. The screen settles entries by book index and touches the view's maps only when a verdict
// changes, so a missed reset would leave a stale health or a wrong unhealthy flag: these tests
// compare both with computeEngine for every entry at every step.

import { describe, expect, it } from 'vitest';
import {
  buildPopulation,
  ENGINE_EID,
  SOURCE_EIDS,
  setPrice,
  tokenOf,
} from '../../../bench/lib/population.ts';
import { emptyTouched, type Touched } from '../../../relayer/margin/apply.ts';
import { computeEngine } from '../../../relayer/margin/compute.ts';
import { entryKey, HealthLedger } from '../../../relayer/margin/ledger.ts';
import { chainOf, type MarginState, type SubState, sourceKey, subOf } from '../../../relayer/margin/state.ts';
import { WAD } from '../../../relayer/margin/wad.ts';

const N = 2000;

function world(screenMinEntries?: number) {
  const { state, subs } = buildPopulation(N, 5);
  const ledger = new HealthLedger(state, new Set([ENGINE_EID]), screenMinEntries);
  const boot = emptyTouched();
  for (const s of subs) boot.subs.add(entryKey(ENGINE_EID, s.key));
  ledger.propagate(boot, []);
  return { state, subs, ledger, chain: chainOf(state, ENGINE_EID) };
}

const priceTick = (dep: string): Touched => {
  const t = emptyTouched();
  t.deps.add(dep);
  return t;
};

/** Every entry's health and unhealthy flag as the ledger gives them, against computeEngine. */
function expectExact(state: MarginState, ledger: HealthLedger): void {
  const chain = chainOf(state, ENGINE_EID);
  const flagged = new Map(ledger.unhealthy(ENGINE_EID).map((u) => [u.sub.key, u.health]));
  let under = 0;
  for (const sub of state.subs.values()) {
    const exact = computeEngine(chain, sub).health;
    expect(ledger.health(ENGINE_EID, sub.key), sub.key).toEqual(exact);
    const isUnder = exact !== undefined && exact.health < WAD;
    expect(flagged.has(sub.key), sub.key).toBe(isUnder);
    if (exact === undefined || !isUnder) continue;
    under++;
    // The screen's float figure for a settled entry, the exact one otherwise: within 1e-9.
    const reported = flagged.get(sub.key) as bigint;
    const diff = reported > exact.health ? reported - exact.health : exact.health - reported;
    expect(diff <= WAD / 1_000_000_000n, `${sub.key}: ${reported} vs ${exact.health}`).toBe(true);
  }
  expect(flagged.size).toBe(under);
}

describe('HealthLedger', () => {
  it('keeps every health and flag exact through large ticks, small ticks and a clock move', () => {
    const { state, subs, ledger, chain } = world();
    expectExact(state, ledger);
    const weth = setPrice(state, 0, 3_000);
    // Large: every sub-account holds WETH, so the screen settles the tick.
    for (const price of [2_700, 2_300, 3_300, 2_000]) {
      const changed = ledger.propagate(priceTick(setPrice(state, 0, price)), []);
      expect(ledger.stats.lastScreened).toBeGreaterThan(N / 2);
      expect(changed.length).toBe(N); // every entry's health moved
      expectExact(state, ledger);
    }
    expect(ledger.stats.screenPacks).toBe(1);
    // Small: with a higher threshold the same kind of tick is recomputed in bigint, then screened again.
    const strict = new HealthLedger(state, new Set([ENGINE_EID]), N + 1);
    const boot = emptyTouched();
    for (const s of subs) boot.subs.add(entryKey(ENGINE_EID, s.key));
    strict.propagate(boot, []);
    strict.propagate(priceTick(setPrice(state, 0, 2_600)), []);
    expect(strict.stats.lastScreened).toBe(0);
    expectExact(state, strict);
    // The clock: borrow fees of market 1 grow, read through its borrow dependency.
    const before = chain.timestamp;
    chain.timestamp += 200 * 86_400;
    ledger.propagate(emptyTouched(), [{ eid: ENGINE_EID, before }]);
    expect(ledger.stats.lastScreened).toBeGreaterThan(0);
    expectExact(state, ledger);
    expect(weth).toMatch(/^p:/);
  });

  it('recomputes an entry settled by the screen once a small tick or a trade reaches it', () => {
    const { state, subs, ledger, chain } = world();
    // USDC is held by the first 100 sub-accounts only: its price ticks are small (exact).
    const usdcOf = (s: SubState) =>
      [...s.credits(ENGINE_EID)].map(([k]) => k).find((k) => chain.sources.get(k)?.assetId === 3);
    const dropUsdc = emptyTouched();
    for (const s of subs.slice(100)) {
      const key = usdcOf(s);
      if (key !== undefined) s.setCredit(ENGINE_EID, key, 0n);
      dropUsdc.subs.add(entryKey(ENGINE_EID, s.key));
    }
    ledger.propagate(dropUsdc, []);
    ledger.propagate(priceTick(setPrice(state, 0, 2_400)), []); // packs, settles most entries
    expectExact(state, ledger);
    // A small tick: the ledger recomputes what it exposes exactly and must stop trusting the
    // screen's settlement of those entries, or the next large tick would leave their health as the
    // small tick found it.
    ledger.propagate(priceTick(setPrice(state, 2, 0.5)), []);
    expect(ledger.stats.lastScreened).toBe(0);
    expect(ledger.stats.lastRecomputed).toBe(100);
    ledger.propagate(priceTick(setPrice(state, 0, 2_600)), []);
    expect(ledger.stats.lastScreened).toBeGreaterThan(N / 2);
    expectExact(state, ledger);
    const someSubs = subs.slice(0, 50);
    const small = emptyTouched();
    for (const s of someSubs) small.subs.add(entryKey(ENGINE_EID, s.key));
    // The trades: half of them lose all their credit, the rest double it.
    someSubs.forEach((s, k) => {
      for (const [key, amount] of s.credits(ENGINE_EID))
        s.setCredit(ENGINE_EID, key, k % 2 === 0 ? 0n : amount * 2n);
    });
    ledger.propagate(small, []);
    expect(ledger.stats.lastRecomputed).toBe(50);
    expectExact(state, ledger);
    // The next large ticks move them again; the changed ones are stale in the book: exact.
    for (const price of [2_500, 2_100, 3_000]) {
      ledger.propagate(priceTick(setPrice(state, 0, price)), []);
      expect(ledger.stats.lastRecomputed).toBeGreaterThanOrEqual(50);
      expectExact(state, ledger);
    }
    // A new sub-account joins after packing: never screened from a book that does not hold it.
    const fresh = subOf(state, '0x00000000000000000000000000000000000000ff', 0n);
    const src = SOURCE_EIDS[0];
    fresh.setCredit(ENGINE_EID, sourceKey(src, tokenOf(src, 0)), 10n ** 18n);
    const join = emptyTouched();
    join.subs.add(entryKey(ENGINE_EID, fresh.key));
    ledger.propagate(join, []);
    ledger.propagate(priceTick(setPrice(state, 0, 2_900)), []);
    expectExact(state, ledger);
    expect(chain.block).toBeGreaterThan(0);
  });

  it('keeps what it settled across a repack and a parameter change', () => {
    const { state, subs, ledger, chain } = world();
    ledger.propagate(priceTick(setPrice(state, 0, 2_200)), []);
    const under = ledger.unhealthy(ENGINE_EID).length;
    expect(under).toBeGreaterThan(0);
    // More than 1/8 of the book changes (a settled balance each): the next large tick repacks.
    const trades = emptyTouched();
    for (const s of subs.slice(0, N / 4)) {
      s.setSettled(ENGINE_EID, (s.settled(ENGINE_EID) ?? 0n) + 1_000_000n);
      trades.subs.add(entryKey(ENGINE_EID, s.key));
    }
    ledger.propagate(trades, []);
    expectExact(state, ledger);
    ledger.propagate(priceTick(setPrice(state, 0, 2_150)), []);
    expect(ledger.stats.screenPacks).toBe(2);
    expectExact(state, ledger);
    // A risk weight changes: the book is dropped and every entry recomputed exactly.
    const asset = chain.riskAssets.get(1);
    if (asset === undefined) throw new Error('population without WETH');
    asset.weight = (asset.weight * 9n) / 10n;
    const params = emptyTouched();
    params.engines.add(ENGINE_EID);
    ledger.propagate(params, []);
    expect(ledger.stats.lastRecomputed).toBe(N);
    expect(ledger.stats.lastScreened).toBe(0);
    expectExact(state, ledger);
    ledger.propagate(priceTick(setPrice(state, 0, 2_300)), []);
    expect(ledger.stats.screenPacks).toBe(3);
    expectExact(state, ledger);
  });

  it('reports the screen’s float health only for entries it settled under water', () => {
    const { state, ledger } = world();
    ledger.propagate(priceTick(setPrice(state, 0, 2_000)), []);
    const list = ledger.unhealthy(ENGINE_EID);
    expect(list.length).toBeGreaterThan(N / 20);
    for (const u of list) {
      const exact = computeEngine(chainOf(state, ENGINE_EID), u.sub as SubState).health;
      expect(exact !== undefined && exact.health < WAD).toBe(true);
      expect(u.since?.tip).toBe(false);
    }
  });
});
