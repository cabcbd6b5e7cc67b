// Haircut proposals: fixed values, and properties over seeded random inputs (monotone in
// volatility, size and age; bounds; bounded step).

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HAIRCUT,
  proposeWeight,
  sizeWeight,
  stalenessWeight,
  stepLimited,
  volatilityWeight,
} from '../../../relayer/risk/haircut.ts';
import { Rng } from '../../../relayer/risk/normal.ts';

const P = { k: 1, confidence: 0.99, min: 0.5, max: 0.95 };
const N = 2000;

describe('haircut formulas', () => {
  it('gives the documented values', () => {
    expect(volatilityWeight(0, P)).toBe(0.95);
    expect(volatilityWeight(0.05, P)).toBeCloseTo(1 - 2.326347874 * 0.05, 8);
    expect(volatilityWeight(1, P)).toBe(0.5);
    expect(stepLimited(0.8, 0.6, 0.05)).toBeCloseTo(0.75, 12);
    expect(stepLimited(0.8, 0.82, 0.05)).toBeCloseTo(0.82, 12);
    expect(sizeWeight(0.8, 4e6, 1e6)).toBeCloseTo(0.4, 12);
    expect(sizeWeight(0.8, 5e5, 1e6)).toBe(0.8);
    expect(stalenessWeight(0.8, 30, 60, 600)).toBe(0.8);
    expect(stalenessWeight(0.8, 210, 60, 600)).toBeCloseTo(0.6, 12);
    expect(stalenessWeight(0.8, 660, 60, 600)).toBe(0);
  });

  it('rejects impossible parameters', () => {
    expect(() => volatilityWeight(0.1, { ...P, min: 0.9, max: 0.8 })).toThrow(RangeError);
    expect(() => volatilityWeight(-1, P)).toThrow(RangeError);
    expect(() => sizeWeight(0.8, 1, 0)).toThrow(RangeError);
    expect(() => stalenessWeight(0.8, 1, 0, 0)).toThrow(RangeError);
  });
});

describe('haircut properties (seeded)', () => {
  const rng = new Rng(7);
  it('weight never increases with volatility, and stays within [min, max]', () => {
    for (let i = 0; i < N; i++) {
      const a = rng.uniform(0, 0.5);
      const b = a + rng.uniform(0, 0.5);
      const wa = volatilityWeight(a, P);
      const wb = volatilityWeight(b, P);
      expect(wb).toBeLessThanOrEqual(wa);
      for (const w of [wa, wb]) {
        expect(w).toBeGreaterThanOrEqual(P.min);
        expect(w).toBeLessThanOrEqual(P.max);
      }
    }
  });

  it('weight never increases with size or age and never goes negative', () => {
    for (let i = 0; i < N; i++) {
      const w = rng.uniform(0, 1);
      const depth = rng.uniform(1, 1e7);
      const s1 = rng.uniform(0, 1e8);
      const s2 = s1 + rng.uniform(0, 1e8);
      expect(sizeWeight(w, s2, depth)).toBeLessThanOrEqual(sizeWeight(w, s1, depth));
      expect(sizeWeight(w, s2, depth)).toBeGreaterThanOrEqual(0);
      expect(sizeWeight(w, s1, depth)).toBeLessThanOrEqual(w);
      const grace = rng.uniform(0, 600);
      const tau = rng.uniform(1, 3600);
      const a1 = rng.uniform(0, 7200);
      const a2 = a1 + rng.uniform(0, 7200);
      expect(stalenessWeight(w, a2, grace, tau)).toBeLessThanOrEqual(stalenessWeight(w, a1, grace, tau));
      expect(stalenessWeight(w, a2, grace, tau)).toBeGreaterThanOrEqual(0);
      expect(stalenessWeight(w, a1, grace, tau)).toBeLessThanOrEqual(w);
    }
  });

  it('a step moves by at most maxStep, and the proposal is monotone and bounded', () => {
    for (let i = 0; i < N; i++) {
      const current = rng.uniform(0.5, 0.95);
      const s1 = rng.uniform(0, 0.3);
      const s2 = s1 + rng.uniform(0, 0.3);
      const size1 = rng.uniform(0, 5e6);
      const size2 = size1 + rng.uniform(0, 5e6);
      const age1 = rng.uniform(0, 3600);
      const age2 = age1 + rng.uniform(0, 3600);
      const x = proposeWeight({ current, sigmaHorizon: s1, sizeUsd: size1, attestationAgeSec: age1 });
      const y = proposeWeight({ current, sigmaHorizon: s2, sizeUsd: size2, attestationAgeSec: age2 });
      expect(Math.abs(x.asset - current)).toBeLessThanOrEqual(DEFAULT_HAIRCUT.maxStep + 1e-12);
      expect(y.asset).toBeLessThanOrEqual(x.asset);
      expect(y.holding).toBeLessThanOrEqual(x.holding);
      expect(x.asset).toBeGreaterThanOrEqual(DEFAULT_HAIRCUT.min);
      expect(x.asset).toBeLessThanOrEqual(DEFAULT_HAIRCUT.max);
      expect(x.holding).toBeLessThanOrEqual(x.asset);
      expect(x.holding).toBeGreaterThanOrEqual(0);
    }
  });
});
