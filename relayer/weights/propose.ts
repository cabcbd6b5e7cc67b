// The weight an attestor proposes for one asset, in WAD, from the asset's volatility (relayer/risk:
// haircut.ts `volatilityWeight`) and the governor's on-chain bounds. Pure, so that every honest node
// that sees the same chain state and a near-identical volatility proposes the *same* value:
//
//   target = volatilityWeight(σ_h, k, confidence, min, max)           (float)
//   grid   = round(target / g) · g                                     (g: the grid, WAD)
//   w      = clamp(grid, max(min, w_now − maxStep), min(max, w_now + maxStep))
//
// The grid absorbs the small differences between nodes' EWMA estimates (they sample at slightly
// different moments); the step clamp uses only on-chain numbers, so a large move proposes exactly
// w_now − maxStep on every node. Nothing is proposed below `threshold` of change.

import { volatilityWeight } from '../risk/haircut.ts';

export const WAD = 10n ** 18n;

/** WeightGovernor.Bounds: WAD weights and step, minInterval in seconds. */
export interface GovernorBounds {
  minWeight: bigint;
  maxWeight: bigint;
  maxStep: bigint;
  minInterval: bigint;
}

export interface ProposalParams {
  /** Multiplier on the horizon move at `confidence` (haircut.ts VolWeightParams.k). */
  k: number;
  confidence: number;
  /** Proposals are multiples of this (WAD), e.g. 0.01. */
  gridWad: bigint;
  /** Smallest change worth an update (WAD), e.g. 0.02. */
  thresholdWad: bigint;
}

export type Proposal =
  | { kind: 'update'; weight: bigint; target: number }
  | { kind: 'none'; reason: string; target?: number };

const toFloat = (wad: bigint): number => Number(wad) / 1e18;
const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** `x` (a fraction) rounded to the nearest multiple of `gridWad`, in WAD. */
export function onGrid(x: number, gridWad: bigint): bigint {
  if (!(gridWad > 0n)) throw new RangeError('grid must be positive');
  return BigInt(Math.round(x / toFloat(gridWad))) * gridWad;
}

/** The weight to propose for an asset whose engine weight is `current` and horizon σ is `sigmaHorizon`. */
export function proposeWeight(
  input: { current: bigint; sigmaHorizon: number | undefined; bounds: GovernorBounds },
  p: ProposalParams,
): Proposal {
  const { current, sigmaHorizon, bounds } = input;
  if (bounds.maxStep === 0n) return { kind: 'none', reason: 'asset not governed' };
  if (sigmaHorizon === undefined) return { kind: 'none', reason: 'volatility not ready' };
  const target = volatilityWeight(sigmaHorizon, {
    k: p.k,
    confidence: p.confidence,
    min: toFloat(bounds.minWeight),
    max: toFloat(bounds.maxWeight),
  });
  const lo = maxBig(bounds.minWeight, current - bounds.maxStep);
  const hi = minBig(bounds.maxWeight, current + bounds.maxStep);
  if (lo > hi) return { kind: 'none', reason: 'no weight within one step lies within bounds', target };
  const weight = minBig(hi, maxBig(lo, onGrid(target, p.gridWad)));
  const change = weight > current ? weight - current : current - weight;
  if (change === 0n || change < p.thresholdWad) return { kind: 'none', reason: 'below threshold', target };
  return { kind: 'update', weight, target };
}

/** Whether the governor's min interval since the asset's last update has passed at `nowSec`. */
export function intervalPassed(lastUpdate: bigint, minInterval: bigint, nowSec: number): boolean {
  return lastUpdate === 0n || BigInt(nowSec) >= lastUpdate + minInterval;
}
