// EngineScreen, the view's price-tick fast path: a 'healthy' verdict only where the exact bigint
// health is >= 1, a float health (a number) only where it is under 1 and within 1e-9 of it, a changed sub-account never
// screened from its old packed copy, and the book packed again after a parameter change or once
// too much of it is stale.

import { describe, expect, it } from 'vitest';
import { buildPopulation, ENGINE_EID, feedOf, setPrice } from '../../../bench/lib/population.ts';
import { priceDep } from '../../../relayer/margin/apply.ts';
import { computeHealth, computeHealthDeps } from '../../../relayer/margin/compute.ts';
import { ExposureIndex } from '../../../relayer/margin/exposure.ts';
import { EngineScreen } from '../../../relayer/margin/screen.ts';
import { chainOf, type SubState } from '../../../relayer/margin/state.ts';
import { TipScreen } from '../../../relayer/margin/tip.ts';
import { WAD } from '../../../relayer/margin/wad.ts';

const N = 2000;

/** How an entry came out of a screen: 'healthy', its float health when under 1, or 'recompute'. */
type Verdict = 'healthy' | 'recompute' | number;

function world() {
  const { state, subs } = buildPopulation(N, 11);
  const chain = chainOf(state, ENGINE_EID);
  const entries = subs.map((s) => `${ENGINE_EID}|${s.key}`);
  const all = () => entries.map((e, i) => [e, subs[i] as SubState] as [string, SubState]);
  // Every sub-account holds WETH: its feed exposes all of them.
  const exposure = new ExposureIndex();
  for (const e of entries) exposure.set(e, [WETH_DEP]);
  return { state, subs, chain, entries, all, exposure };
}

const WETH_DEP = priceDep(ENGINE_EID, feedOf(0));

/** The screen's triage of every entry WETH's feed exposes (at `override`'s prices), as a verdict per entry. */
function verdictsOf(
  screen: EngineScreen,
  w: ReturnType<typeof world>,
  override: ReadonlyMap<string, bigint> = new Map(),
): Map<string, Verdict> {
  const entries = w.exposure.exposed(WETH_DEP);
  const sorted = screen.triage(
    w.chain,
    [{ dep: WETH_DEP, entries, version: w.exposure.version(WETH_DEP) }],
    w.all,
    override,
  );
  const out = new Map<string, Verdict>();
  for (const e of entries) out.set(e, 'healthy');
  for (const [e, health] of sorted.under) out.set(e, health);
  for (const e of sorted.exact) out.set(e, 'recompute');
  return out;
}

describe('EngineScreen', () => {
  it('says healthy only where the exact health is >= 1, across price moves', () => {
    const w = world();
    const { state, subs, chain, entries } = w;
    const screen = new EngineScreen();
    let healthy = 0;
    let under = 0;
    for (const [i, price] of [3_000, 2_600, 2_200, 3_400].entries()) {
      if (i > 0) setPrice(state, 0, price);
      const verdicts = verdictsOf(screen, w);
      expect(verdicts.size).toBe(N);
      subs.forEach((sub, k) => {
        const exact = computeHealth(chain, sub);
        const verdict = verdicts.get(entries[k] as string);
        if (verdict === 'healthy') {
          healthy++;
          expect(exact !== undefined && exact.health >= WAD, entries[k]).toBe(true);
        } else if (typeof verdict === 'number') {
          under++;
          expect(exact !== undefined && exact.health < WAD, entries[k]).toBe(true);
          expect(Math.abs(verdict - Number(exact?.health) / 1e18)).toBeLessThan(1e-9);
        }
        if (exact === undefined) expect(verdict).toBe('recompute');
      });
    }
    // Both verdicts occurred, and one book served every tick.
    expect(healthy).toBeGreaterThan(N);
    expect(under).toBeGreaterThan(0);
    expect(screen.packs).toBe(1);
  });

  it('never screens a sub-account changed since packing from its old copy', () => {
    const w = world();
    const { subs, chain, entries } = w;
    const screen = new EngineScreen();
    verdictsOf(screen, w);
    // Empty a healthy sub-account's credit: the packed copy still shows it rich.
    const k = subs.findIndex((s) => (computeHealth(chain, s)?.health ?? 0n) > 3n * WAD);
    const sub = subs[k] as SubState;
    for (const [key] of sub.credits(ENGINE_EID)) sub.setCredit(ENGINE_EID, key, 0n);
    expect((computeHealth(chain, sub)?.health ?? 0n) < WAD).toBe(true);
    screen.invalidate(entries[k] as string);
    expect(verdictsOf(screen, w).get(entries[k] as string)).toBe('recompute');
    expect(screen.packs).toBe(1);
  });

  it('sends to recompute what it does not model alone: a size-aware weight, a missing price', () => {
    const w = world();
    const { chain } = w;
    // WETH (asset 1) gets a market depth: its holders' equity is no longer linear in its price.
    const weth = chain.riskAssets.get(1);
    if (weth === undefined) throw new Error('population without WETH');
    weth.depth = 1_000;
    const screen = new EngineScreen();
    let verdicts = verdictsOf(screen, w);
    expect([...verdicts.values()].every((v) => v === 'recompute')).toBe(true); // every sub-account holds WETH
    weth.depth = 0;
    screen.drop(); // as the view does on RiskAssetSet
    verdicts = verdictsOf(screen, w);
    expect([...verdicts.values()].some((v) => v === 'healthy')).toBe(true);
    // WBTC's feed has no answer any more: health() would revert for every holder of WBTC.
    chain.feeds.delete(feedOf(1));
    verdicts = verdictsOf(screen, w);
    expect([...verdicts.values()].every((v) => v === 'recompute')).toBe(true);
  });

  it('packs again after a parameter change, and once more than 1/8 of the book is stale', () => {
    const w = world();
    const { entries } = w;
    const screen = new EngineScreen();
    verdictsOf(screen, w);
    screen.drop();
    verdictsOf(screen, w);
    expect(screen.packs).toBe(2);
    for (const e of entries.slice(0, N / 8)) screen.invalidate(e);
    verdictsOf(screen, w);
    expect(screen.packs).toBe(2); // exactly 1/8 stale: still served
    screen.invalidate(entries[N - 1] as string);
    const verdicts = verdictsOf(screen, w);
    expect(screen.packs).toBe(3);
    // The fresh book holds every entry's current copy again: none is stale.
    expect([...verdicts.values()].some((v) => v === 'healthy')).toBe(true);
    // Entries the book does not hold (new sub-accounts) count towards a repack that takes them in.
    const fresh = Array.from({ length: N / 8 + 1 }, (_, k) => `${ENGINE_EID}|new-${k}`);
    for (const e of fresh) {
      screen.invalidate(e);
      w.exposure.set(e, [WETH_DEP]);
    }
    expect(verdictsOf(screen, w).get(fresh[0] as string)).toBe('recompute');
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
      (deps, override) => {
        const sorted = screen.triage(
          chain,
          deps.map((dep) => ({ dep, entries: exposure.exposed(dep), version: exposure.version(dep) })),
          all,
          override,
        );
        exactChecks += sorted.exact.length;
        return sorted;
      },
    );
    expect(flaggedExactly.length).toBeGreaterThan(0);
    expect(flaggedTriaged.sort()).toEqual(flaggedExactly.sort());
    // The same flags, their health exact or the screen's float figure (within 1e-9).
    const exactFlags = plain.flagged(ENGINE_EID);
    const triagedFlags = triaged.flagged(ENGINE_EID);
    expect([...triagedFlags.keys()].sort()).toEqual([...exactFlags.keys()].sort());
    for (const [entry, flag] of triagedFlags) {
      const exact = exactFlags.get(entry)?.health as bigint;
      const diff = flag.health > exact ? flag.health - exact : exact - flag.health;
      expect(diff <= WAD / 1_000_000_000n, entry).toBe(true);
      expect({ ...flag, health: 0n }).toEqual({ ...exactFlags.get(entry), health: 0n });
    }
    // Only the near-the-line went to bigint: those clearly under water carry the float health.
    expect(exactChecks).toBeLessThan(flaggedExactly.length);
    // The confirmed price is untouched, and the next confirmed screen reads it again.
    expect(chain.feeds.get(feedOf(0))).toBe(3_000n * 10n ** 8n);
  });
});
