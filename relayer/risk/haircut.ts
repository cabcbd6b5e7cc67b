// Dynamic haircut proposals: a collateral weight (= 1 − haircut) per asset from its volatility,
// its size in one sub-account and the age of the attestation that carries its chain's state.
// Pure functions; the engine's weight is set by governance (setRiskAsset), these only propose.
//
//   volatility:  w_vol   = clamp(1 − k · z_c · σ_h, min, max)      σ_h = σ over the horizon,
//                                                                   z_c = Φ⁻¹(confidence)
//   step:        w_next  = clamp(w_vol, w_now − maxStep, w_now + maxStep)
//   size:        w_size  = w · min(1, sqrt(depth / size))          size, depth in USD
//   staleness:   w_stale = w                                 age ≤ grace
//                        = w · max(0, 1 − (age − grace) / decay) age > grace
//
// Size and staleness are what MarginEngine._health applies per holding (RiskAsset.depth,
// CollateralSource.staleGrace/staleDecay); relayer/margin/compute.ts mirrors it in exact bigint.
//
// Each is monotone: the weight never increases with σ, size or age; every result lies in
// [0, max] (volatility and step also respect min; size and staleness only lower a weight).

import { normInv } from './normal.ts';

export interface VolWeightParams {
  /** Multiplier on the horizon move at confidence (1: the haircut covers that move exactly). */
  k: number;
  confidence: number;
  min: number;
  max: number;
}

export const DEFAULT_VOL_WEIGHT: VolWeightParams = { k: 1, confidence: 0.99, min: 0.5, max: 0.95 };

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** w = clamp(1 − k · z · σ_h, min, max); σ_h is the log-return σ over the liquidation horizon. */
export function volatilityWeight(sigmaHorizon: number, p: VolWeightParams = DEFAULT_VOL_WEIGHT): number {
  if (!(p.min >= 0 && p.min <= p.max && p.max <= 1)) throw new RangeError('need 0 ≤ min ≤ max ≤ 1');
  if (!(sigmaHorizon >= 0)) throw new RangeError(`sigma must be ≥ 0, got ${sigmaHorizon}`);
  return clamp(1 - p.k * normInv(p.confidence) * sigmaHorizon, p.min, p.max);
}

/** Moves from `current` toward `proposed` by at most `maxStep`. */
export function stepLimited(current: number, proposed: number, maxStep: number): number {
  if (!(maxStep >= 0)) throw new RangeError('maxStep must be ≥ 0');
  return clamp(proposed, current - maxStep, current + maxStep);
}

/** w · min(1, sqrt(depth / size)): a holding past the market depth cannot be sold at the mark. */
export function sizeWeight(weight: number, sizeUsd: number, depthUsd: number): number {
  if (!(depthUsd > 0)) throw new RangeError('depth must be positive');
  if (!(sizeUsd > depthUsd)) return weight;
  return weight * Math.sqrt(depthUsd / sizeUsd);
}

/** Past the grace period, falling linearly to 0 over `decaySec`: collateral seen through an old attestation. */
export function stalenessWeight(weight: number, ageSec: number, graceSec: number, decaySec: number): number {
  if (!(decaySec > 0)) throw new RangeError('decay must be positive');
  if (!(ageSec > graceSec)) return weight;
  return weight * Math.max(0, 1 - (ageSec - graceSec) / decaySec);
}

export interface HaircutParams extends VolWeightParams {
  maxStep: number;
  depthUsd: number;
  graceSec: number;
  decaySec: number;
}

export const DEFAULT_HAIRCUT: HaircutParams = {
  ...DEFAULT_VOL_WEIGHT,
  maxStep: 0.05,
  depthUsd: 1_000_000,
  graceSec: 60,
  decaySec: 600,
};

/**
 * The asset weight to propose (the engine-wide part: volatility with a bounded step from the
 * current weight) and, for one holding, the weight it would count at (size and staleness).
 */
export function proposeWeight(
  input: { current: number; sigmaHorizon: number; sizeUsd?: number; attestationAgeSec?: number },
  p: HaircutParams = DEFAULT_HAIRCUT,
): { asset: number; holding: number } {
  const asset = clamp(
    stepLimited(input.current, volatilityWeight(input.sigmaHorizon, p), p.maxStep),
    p.min,
    p.max,
  );
  let holding = asset;
  if (input.sizeUsd !== undefined) holding = sizeWeight(holding, input.sizeUsd, p.depthUsd);
  if (input.attestationAgeSec !== undefined)
    holding = stalenessWeight(holding, input.attestationAgeSec, p.graceSec, p.decaySec);
  return { asset, holding };
}
