// Rounding and agreement of weight proposals: nodes whose volatility estimates differ a little
// propose the same weight; a large move proposes exactly one step; the governor's bounds, the
// threshold and the min interval hold; every node in one epoch signs the same deadline.

import { describe, expect, it } from 'vitest';
import { deadlineFor } from '../../../relayer/weights/eip712.ts';
import {
  type GovernorBounds,
  intervalPassed,
  onGrid,
  type ProposalParams,
  proposeWeight,
  WAD,
} from '../../../relayer/weights/propose.ts';

const pct = (x: number): bigint => (BigInt(x) * WAD) / 100n;
const BOUNDS: GovernorBounds = { minWeight: pct(50), maxWeight: pct(95), maxStep: pct(5), minInterval: 60n };
const P: ProposalParams = { k: 1, confidence: 0.99, gridWad: pct(1), thresholdWad: pct(2) };
const propose = (current: bigint, sigma: number | undefined, bounds = BOUNDS) =>
  proposeWeight({ current, sigmaHorizon: sigma, bounds }, P);

describe('weight proposals', () => {
  it('rounds to the grid, so slightly different volatility estimates agree', () => {
    // σ_h ≈ 0.0645 → 1 − 2.326·σ ≈ 0.85; nodes sampled a moment apart see ±1 % of σ.
    const weights = [0.0638, 0.0641, 0.0645, 0.0649, 0.0652].map((s) => propose(pct(88), s));
    expect(new Set(weights.map((w) => (w.kind === 'update' ? w.weight : undefined))).size).toBe(1);
    expect(weights[0]).toMatchObject({ kind: 'update', weight: pct(85) });
    expect(onGrid(0.8549, pct(1))).toBe(pct(85));
    expect(onGrid(0.8551, pct(1))).toBe(pct(86));
  });

  it('moves a large volatility jump by exactly one max step, the same on every node', () => {
    for (const sigma of [0.2, 0.5, 3])
      expect(propose(pct(80), sigma)).toMatchObject({ kind: 'update', weight: pct(75) });
    // An off-grid current weight still steps by exactly maxStep (the step uses on-chain numbers only).
    const current = 801_234_000_000_000_000n;
    expect(propose(current, 1)).toMatchObject({ weight: current - pct(5) });
  });

  it('never proposes below the min or above the max, nor more than one step', () => {
    expect(propose(pct(52), 5)).toMatchObject({ kind: 'update', weight: pct(50) });
    expect(propose(pct(50), 5)).toMatchObject({ kind: 'none', reason: 'below threshold' });
    expect(propose(pct(93), 0)).toMatchObject({ kind: 'update', weight: pct(95) });
    expect(propose(pct(100), 0)).toMatchObject({ kind: 'update', weight: pct(95) });
    expect(propose(pct(40), 5)).toMatchObject({
      kind: 'none',
      reason: 'no weight within one step lies within bounds',
    });
    for (let c = 50; c <= 95; c += 3) {
      for (const s of [0, 0.01, 0.05, 0.1, 0.3]) {
        const p = propose(pct(c), s);
        if (p.kind !== 'update') continue;
        expect(p.weight).toBeGreaterThanOrEqual(BOUNDS.minWeight);
        expect(p.weight).toBeLessThanOrEqual(BOUNDS.maxWeight);
        const step = p.weight > pct(c) ? p.weight - pct(c) : pct(c) - p.weight;
        expect(step).toBeLessThanOrEqual(BOUNDS.maxStep);
        expect(step).toBeGreaterThanOrEqual(P.thresholdWad);
      }
    }
  });

  it('proposes nothing under the threshold, without volatility, or for an ungoverned asset', () => {
    // 1 − 2.326·0.0301 ≈ 0.93: 1 % from 0.94, under the 2 % threshold.
    expect(propose(pct(94), 0.0301)).toMatchObject({ kind: 'none', reason: 'below threshold' });
    expect(propose(pct(80), undefined)).toMatchObject({ kind: 'none', reason: 'volatility not ready' });
    expect(propose(pct(80), 1, { ...BOUNDS, maxStep: 0n })).toMatchObject({
      kind: 'none',
      reason: 'asset not governed',
    });
  });

  it('waits for the governor min interval, except before the first update', () => {
    expect(intervalPassed(0n, 60n, 1_000)).toBe(true);
    expect(intervalPassed(1_000n, 60n, 1_059)).toBe(false);
    expect(intervalPassed(1_000n, 60n, 1_060)).toBe(true);
  });

  it('gives every node in one epoch the same deadline, one to two epochs ahead', () => {
    expect(deadlineFor(1_000_000_020, 60)).toBe(deadlineFor(1_000_000_079, 60));
    expect(deadlineFor(1_000_000_080, 60)).toBe(deadlineFor(1_000_000_020, 60) + 60n);
    for (const now of [1_000_000_020, 1_000_000_079]) {
      const ahead = Number(deadlineFor(now, 60)) - now;
      expect(ahead).toBeGreaterThan(60);
      expect(ahead).toBeLessThanOrEqual(120);
    }
  });
});
