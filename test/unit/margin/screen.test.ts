// EngineScreen, the view's price-tick fast path: a 'healthy' verdict only where the exact bigint
// health is >= 1, every sub-account under 1 sent to 'recompute', a changed sub-account never
// screened from its old packed copy, and the book packed again after a parameter change or once
// too much of it is stale.

import { describe, expect, it } from 'vitest';
import { buildPopulation, ENGINE_EID, feedOf, setPrice } from '../../../bench/lib/population.ts';
import { computeHealth, computeHealthDeps } from '../../../relayer/margin/compute.ts';
import { ExposureIndex } from '../../../relayer/margin/exposure.ts';
import { EngineScreen } from '../../../relayer/margin/screen.ts';
import { chainOf, type SubState } from '../../../relayer/margin/state.ts';
import { TipScreen } from '../../../relayer/margin/tip.ts';
import { WAD } from '../../../relayer/margin/wad.ts';

const N = 2000;

function world() {
  const { state, subs } = buildPopulation(N, 11);
  const chain = chainOf(state, ENGINE_EID);
  const entries = subs.map((s) => `${ENGINE_EID}|${s.key}`);
  const all = () => entries.map((e, i) => [e, subs[i] as SubState] as [string, SubState]);
  return { state, subs, chain, entries, all };
}

describe('EngineScreen', () => {
  it('says healthy only where the exact health is >= 1, across price moves', () => {
    const { state, subs, chain, entries, all } = world();
    const screen = new EngineScreen();
    let healthy = 0;
    let recompute = 0;
    for (const [i, price] of [3_000, 2_600, 2_200, 3_400].entries()) {
      if (i > 0) setPrice(state, 0, price);
      const verdicts = screen.screen(chain, entries, all);
      expect(verdicts.size).toBe(N);
      subs.forEach((sub, k) => {
        const exact = computeHealth(chain, sub);
        const verdict = verdicts.get(entries[k] as string);
        if (verdict === 'healthy') {
          healthy++;
          expect(exact !== undefined && exact.health >= WAD, entries[k]).toBe(true);
        } else recompute++;
        if (exact === undefined || exact.health < WAD) expect(verdict).toBe('recompute');
      });
    }
    // Both verdicts occurred, and one book served every tick.
    expect(healthy).toBeGreaterThan(N);
    expect(recompute).toBeGreaterThan(0);
    expect(screen.packs).toBe(1);
  });

  it('never screens a sub-account changed since packing from its old copy', () => {
    const { subs, chain, entries, all } = world();
    const screen = new EngineScreen();
    screen.screen(chain, entries, all);
    // Empty a healthy sub-account's credit: the packed copy still shows it rich.
    const k = subs.findIndex((s) => (computeHealth(chain, s)?.health ?? 0n) > 3n * WAD);
    const sub = subs[k] as SubState;
    sub.credit.get(ENGINE_EID)?.clear();
    expect((computeHealth(chain, sub)?.health ?? 0n) < WAD).toBe(true);
    screen.invalidate(entries[k] as string);
    expect(screen.screen(chain, [entries[k] as string], all).get(entries[k] as string)).toBe('recompute');
    expect(screen.packs).toBe(1);
  });

  it('sends to recompute what it does not model alone: a size-aware weight, a missing price', () => {
    const { chain, entries, all } = world();
    // WETH (asset 1) gets a market depth: its holders' equity is no longer linear in its price.
    const weth = chain.riskAssets.get(1);
    if (weth === undefined) throw new Error('population without WETH');
    weth.depth = 1_000;
    const screen = new EngineScreen();
    let verdicts = screen.screen(chain, entries, all);
    expect([...verdicts.values()].every((v) => v === 'recompute')).toBe(true); // every sub-account holds WETH
    weth.depth = 0;
    screen.drop(); // as the view does on RiskAssetSet
    verdicts = screen.screen(chain, entries, all);
    expect([...verdicts.values()].some((v) => v === 'healthy')).toBe(true);
    // WBTC's feed has no answer any more: health() would revert for every holder of WBTC.
    chain.feeds.delete(feedOf(1));
    verdicts = screen.screen(chain, entries, all);
    expect([...verdicts.values()].every((v) => v === 'recompute')).toBe(true);
  });

  it('packs again after a parameter change, and once more than 1/8 of the book is stale', () => {
    const { chain, entries, all } = world();
    const screen = new EngineScreen();
    screen.screen(chain, entries, all);
    screen.drop();
    screen.screen(chain, entries.slice(0, 10), all);
    expect(screen.packs).toBe(2);
    for (const e of entries.slice(0, N / 8)) screen.invalidate(e);
    screen.screen(chain, entries.slice(0, 10), all);
    expect(screen.packs).toBe(2); // exactly 1/8 stale: still served
    screen.invalidate(entries[N - 1] as string);
    const verdicts = screen.screen(chain, entries.slice(0, 10), all);
    expect(screen.packs).toBe(3);
    // The fresh book holds every entry's current copy again: none is stale.
    expect([...verdicts.values()].some((v) => v === 'healthy')).toBe(true);
    // Entries the book does not hold (new sub-accounts) count towards a repack that takes them in.
    const fresh = Array.from({ length: N / 8 + 1 }, (_, k) => `${ENGINE_EID}|new-${k}`);
    for (const e of fresh) screen.invalidate(e);
    expect(screen.screen(chain, fresh.slice(0, 1), all).get(fresh[0] as string)).toBe('recompute');
    expect(screen.packs).toBe(4);
  });

  it('triages the tip screen: the same flags at unconfirmed prices, exact checks only for the rest', () => {
    const { state, subs, chain, entries, all } = world();
    const exposure = new ExposureIndex();
    subs.forEach((sub, k) => {
      exposure.set(entries[k] as string, computeHealthDeps(chain, sub).deps);
    });
    chain.block = 10;
    // An unconfirmed block drops WETH 20 % (feed answers have 8 decimals).
    const feeds = new Map([[feedOf(0), 2_400n * 10n ** 8n]]);
    const plain = new TipScreen();
    plain.addBlock(ENGINE_EID, 11, feeds, 1);
    const flaggedExactly = plain.screen(ENGINE_EID, state, exposure, new Set(), 2);

    const screen = new EngineScreen();
    let exactChecks = 0;
    const triaged = new TipScreen();
    triaged.addBlock(ENGINE_EID, 11, feeds, 1);
    const flaggedTriaged = triaged.screen(
      ENGINE_EID,
      state,
      exposure,
      new Set(),
      2,
      undefined,
      (c, override) => {
        const verdicts = screen.screen(chain, c, all, override);
        for (const v of verdicts.values()) if (v === 'recompute') exactChecks++;
        return verdicts;
      },
    );
    expect(flaggedExactly.length).toBeGreaterThan(0);
    expect(flaggedTriaged.sort()).toEqual(flaggedExactly.sort());
    expect([...triaged.flagged(ENGINE_EID)]).toEqual([...plain.flagged(ENGINE_EID)]);
    // Only the flagged and the near-the-line went to bigint.
    expect(exactChecks).toBeLessThan(N / 2);
    expect(exactChecks).toBeGreaterThanOrEqual(flaggedExactly.length);
    // The confirmed price is untouched, and the next confirmed screen reads it again.
    expect(chain.feeds.get(feedOf(0))).toBe(3_000n * 10n ** 8n);
  });
});
