// The reverse index (dependency -> entries) the view recomputes from, and the lean computation
// that feeds it: computeHealthDeps must give computeEngine's health and read the same dependencies,
// since the view keeps only its result between recomputes.

import { describe, expect, it } from 'vitest';
import { buildPopulation, ENGINE_EID, setPrice } from '../../../bench/lib/population.ts';
import { computeEngine, computeHealthDeps } from '../../../relayer/margin/compute.ts';
import { ExposureIndex } from '../../../relayer/margin/exposure.ts';
import { chainOf, sourceKey } from '../../../relayer/margin/state.ts';

describe('ExposureIndex', () => {
  it('replaces an entry’s dependencies: a dependency it no longer reads stops naming it', () => {
    const index = new ExposureIndex();
    index.set('e1', ['p:1:a', 'p:1:b']);
    index.set('e2', new Set(['p:1:b']));
    expect([...index.exposed('p:1:a')]).toEqual(['e1']);
    expect([...index.exposed('p:1:b')].sort()).toEqual(['e1', 'e2']);

    index.set('e1', ['p:1:b', 'p:1:c', 'p:1:c']);
    expect([...index.exposed('p:1:a')]).toEqual([]);
    expect([...index.dependencies()].sort()).toEqual(['p:1:b', 'p:1:c']);
    expect([...index.exposed('p:1:c')]).toEqual(['e1']);
    expect([...index.exposed('p:1:b')].sort()).toEqual(['e1', 'e2']);

    index.set('e2', []);
    expect([...index.exposed('p:1:b')]).toEqual(['e1']);
  });

  it('shares one copy of each distinct dependency list, whatever its order', () => {
    const index = new ExposureIndex();
    index.set('e1', ['p:1:b', 'p:1:a', 'p:1:b']);
    index.set('e2', new Set(['p:1:a', 'p:1:b']));
    index.set('e3', ['p:1:c']);
    expect(index.dependenciesOf('e1')).toEqual(['p:1:a', 'p:1:b']);
    expect(index.dependenciesOf('e1')).toBe(index.dependenciesOf('e2'));
    expect(index.dependenciesOf('e3')).toEqual(['p:1:c']);
    expect([...index.exposed('p:1:a')].sort()).toEqual(['e1', 'e2']);
  });

  it('groups entries by the list they read: a dependency exposes every group holding it, each entry once', () => {
    const index = new ExposureIndex();
    // Three groups: {a,b} (e1, e2), {b,c} (e3), {a} (e4).
    index.set('e1', ['p:1:a', 'p:1:b']);
    index.set('e2', ['p:1:b', 'p:1:a']);
    index.set('e3', ['p:1:c', 'p:1:b']);
    index.set('e4', ['p:1:a']);
    const b = index.exposed('p:1:b'); // a live view
    expect([...b].sort()).toEqual(['e1', 'e2', 'e3']);
    expect(b.size).toBe(3);
    expect(index.exposed('p:1:a').size).toBe(3);
    // e1 moves to {a}: still exposed to a (once), no longer to b.
    index.set('e1', ['p:1:a']);
    expect([...b].sort()).toEqual(['e2', 'e3']);
    expect(b.size).toBe(2);
    expect([...index.exposed('p:1:a')].sort()).toEqual(['e1', 'e2', 'e4']);
    // The {b,c} group empties: c is no longer a dependency of anything.
    index.set('e3', []);
    expect([...index.dependencies()].sort()).toEqual(['p:1:a', 'p:1:b']);
    expect(index.exposed('p:1:c').size).toBe(0);
    expect([...b]).toEqual(['e2']);
    // An entry with no dependency is exposed to nothing, and can come back.
    index.set('e3', ['p:1:c']);
    expect([...index.exposed('p:1:c')]).toEqual(['e3']);
  });

  it('counts changes per dependency: a recompute that reads the same ones changes no count', () => {
    const index = new ExposureIndex();
    expect(index.version('p:1:a')).toBe(0);
    index.set('e1', ['p:1:a', 'p:1:b']);
    const a = index.version('p:1:a');
    const b = index.version('p:1:b');
    expect(a).toBeGreaterThan(0);
    index.set('e1', ['p:1:b', 'p:1:a']); // same dependencies: readers may keep what they derived
    expect([index.version('p:1:a'), index.version('p:1:b')]).toEqual([a, b]);
    index.set('e1', ['p:1:b']); // e1 leaves p:1:a's set
    expect(index.version('p:1:a')).toBeGreaterThan(a);
    expect(index.version('p:1:b')).toBe(b);
    index.set('e1', ['p:1:a', 'p:1:b']); // and comes back, after the set had been emptied
    expect(index.version('p:1:a')).toBeGreaterThan(a + 1);
  });
});

describe('computeHealthDeps', () => {
  it('gives computeEngine’s health and dependencies, before and after a price move', () => {
    const { state, subs } = buildPopulation(300, 7);
    const chain = chainOf(state, ENGINE_EID);
    let unhealthy = 0;
    for (const round of [0, 1]) {
      if (round === 1) setPrice(state, 0, 3_000 * 0.7);
      for (const sub of subs) {
        const full = computeEngine(chain, sub);
        const lean = computeHealthDeps(chain, sub);
        expect(lean.health).toEqual(full.health);
        expect(lean.deps.slice().sort()).toEqual([...full.deps].sort());
        expect(new Set(lean.deps).size).toBe(lean.deps.length);
        if (round === 1 && (lean.health?.health ?? 0n) < 10n ** 18n) unhealthy++;
      }
    }
    // The move put some of the population under water: the comparison covered both sides of the line.
    expect(unhealthy).toBeGreaterThan(0);
    expect(unhealthy).toBeLessThan(300);
  });
});

describe('sourceKey', () => {
  it('is "<eid>:<token>", the key the credit and source maps have always used', () => {
    const token = '0x00000000000000000000000000000000000000aa' as const;
    expect(sourceKey(40_101, token)).toBe(`40101:${token}`);
    expect(sourceKey(40_101, token)).toBe(sourceKey(40_101, token));
  });
});
