// Delta-normal value-at-risk and breach probability of one (engine, sub-account).
//
// Exposures come from the margin view: for every price the engine's health depends on,
// LiquidationDistance carries equityDelta = dEquity/d ln p (Σ collateral amount × price × weight
// of the assets it prices, plus Σ size × mark of the markets it marks) and maintenanceDelta =
// dMaintenance/d ln p (Σ |size| × mark × maintenance margin). Both are exact where equity and
// requirement are linear in each price; past an asset's depth (size-aware weight, sqrt value) the
// view gives the local slope at the current price instead.
//
// With per-price horizon volatilities σ_i (EWMA, scaled to the horizon) and correlations ρ_ij:
//
//   σ_E²   = Σ_ij e_i σ_i ρ_ij σ_j e_j              e_i = equityDelta_i
//   VaR_c  = z_c · σ_E                               z_c = Φ⁻¹(c), e.g. 2.326 at 99 %
//   d      = equity − maintenance requirement        distance to maintenance, USD
//   σ_D²   = same quadratic form with e_i − m_i      m_i = maintenanceDelta_i (the requirement
//                                                    moves with the marks too)
//   P      = min(1, 2 Φ(−d / σ_D))                    probability that equity touches maintenance
//                                                    within the horizon (driftless Brownian
//                                                    first passage, reflection principle); 1 when
//                                                    d ≤ 0, 0 when σ_D = 0 and d > 0.
//
// The horizon is the cross-chain message latency of the engine: the time a MOVE of surplus from
// another engine needs to arrive, hence the window in which only what is already there counts.

import type { EngineMargin, PriceKey } from '../margin/types.ts';
import { normCdf, normInv } from './normal.ts';

/** What the figures need from a volatility model (EwmaModel satisfies it). */
export interface VolModel {
  ready(key: string): boolean;
  sigma(key: string, horizonSec: number): number | undefined;
  correlation(a: string, b: string): number;
}

export interface Exposure {
  key: string;
  equityDelta: number;
  maintenanceDelta: number;
}

export interface RiskConfig {
  horizonSec: number;
  /** e.g. 0.99 */
  confidence: number;
}

export interface EngineRisk {
  /** Loss of equity not exceeded with probability `confidence` over the horizon, USD. */
  varUsd: number;
  /** Probability of reaching maintenance margin within the horizon. */
  breachProbability: number;
  /** σ of equity and of (equity − maintenance) over the horizon, USD. */
  sigmaEquity: number;
  sigmaDistance: number;
  distanceUsd: number;
}

/** The exposures of one engine entry of the view; undefined when a sensitivity is missing. */
export function exposuresOf(e: EngineMargin): Exposure[] | undefined {
  const out: Exposure[] = [];
  for (const d of e.distances) {
    if (d.equityDelta === undefined || d.maintenanceDelta === undefined) return undefined;
    out.push({
      key: d.priceKey as PriceKey,
      equityDelta: d.equityDelta,
      maintenanceDelta: d.maintenanceDelta,
    });
  }
  return out;
}

/** sqrt(vᵀ Σ v) with Σ_ij = σ_i ρ_ij σ_j; undefined when a series is unknown or not ready. */
export function portfolioSigma(
  weights: readonly { key: string; w: number }[],
  model: VolModel,
  horizonSec: number,
): number | undefined {
  const s: number[] = [];
  for (const { key } of weights) {
    if (!model.ready(key)) return undefined;
    const sigma = model.sigma(key, horizonSec);
    if (sigma === undefined) return undefined;
    s.push(sigma);
  }
  let variance = 0;
  for (let i = 0; i < weights.length; i++) {
    const wi = (weights[i] as { key: string; w: number }).w * (s[i] as number);
    if (wi === 0) continue;
    for (let j = 0; j < weights.length; j++) {
      const wj = (weights[j] as { key: string; w: number }).w * (s[j] as number);
      const rho =
        i === j
          ? 1
          : model.correlation((weights[i] as { key: string }).key, (weights[j] as { key: string }).key);
      variance += wi * rho * wj;
    }
  }
  return Math.sqrt(Math.max(0, variance));
}

/** Probability of touching the barrier `distance` (USD above maintenance) within the horizon. */
export function breachProbability(distance: number, sigma: number): number {
  if (distance <= 0) return 1;
  if (!(sigma > 0)) return 0;
  return Math.min(1, 2 * normCdf(-distance / sigma));
}

/** VaR and breach probability from exposures and the current equity / maintenance (USD floats). */
export function riskOf(
  exposures: readonly Exposure[],
  equity: number,
  maintenance: number,
  model: VolModel,
  config: RiskConfig,
): EngineRisk | undefined {
  if (!(config.confidence > 0.5 && config.confidence < 1))
    throw new RangeError('confidence must lie in (0.5, 1)');
  const sigmaEquity = portfolioSigma(
    exposures.map((x) => ({ key: x.key, w: x.equityDelta })),
    model,
    config.horizonSec,
  );
  const sigmaDistance = portfolioSigma(
    exposures.map((x) => ({ key: x.key, w: x.equityDelta - x.maintenanceDelta })),
    model,
    config.horizonSec,
  );
  if (sigmaEquity === undefined || sigmaDistance === undefined) return undefined;
  const distanceUsd = equity - maintenance;
  return {
    varUsd: normInv(config.confidence) * sigmaEquity,
    breachProbability: maintenance === 0 && equity >= 0 ? 0 : breachProbability(distanceUsd, sigmaDistance),
    sigmaEquity,
    sigmaDistance,
    distanceUsd,
  };
}

/** The figures of one engine entry of the margin view; undefined without health or price history. */
export function engineRisk(e: EngineMargin, model: VolModel, config: RiskConfig): EngineRisk | undefined {
  if (e.health === undefined) return undefined;
  const exposures = exposuresOf(e);
  if (exposures === undefined) return undefined;
  const equity = Number(e.health.equity) / 1e18;
  const maintenance = Number(e.health.maintenanceRequirement) / 1e18;
  return riskOf(exposures, equity, maintenance, model, config);
}
