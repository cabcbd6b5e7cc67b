// Seeded synthetic price paths for correlated assets: geometric Brownian motion with correlated
// shocks (Cholesky factor of the correlation matrix), a per-regime drift and volatility multiplier,
// and optional common jumps (compound Poisson, scaled per asset by a beta).

import { SECONDS_PER_YEAR } from './ewma.ts';
import { cholesky, Rng } from './normal.ts';

export interface AssetSpec {
  symbol: string;
  price: number;
  /** Annualised volatility. */
  vol: number;
  /** Sensitivity to the common jump. */
  jumpBeta: number;
}

export interface Regime {
  name: string;
  volMultiplier: number;
  /** Log drift over the whole path per asset (e.g. −0.15 for a 14 % fall); missing = 0. */
  drift: Record<string, number>;
  /** Expected number of common jumps over the path, their mean and sd of log size. */
  jumps?: { count: number; mean: number; sd: number };
}

/** prices[step][asset], step 0 = the start prices; `steps` steps of `dtSec`. */
export function simulatePaths(
  assets: readonly AssetSpec[],
  correlation: readonly (readonly number[])[],
  regime: Regime,
  steps: number,
  dtSec: number,
  seed: number,
): Float64Array[] {
  const rng = new Rng(seed);
  const l = cholesky(correlation);
  const n = assets.length;
  const years = dtSec / SECONDS_PER_YEAR;
  const jumpRate = (regime.jumps?.count ?? 0) / steps;
  const out: Float64Array[] = [Float64Array.from(assets.map((a) => a.price))];
  const z = new Float64Array(n);
  for (let t = 1; t <= steps; t++) {
    const prev = out[t - 1] as Float64Array;
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) z[i] = rng.normal();
    let jump = 0;
    if (regime.jumps !== undefined && rng.next() < jumpRate)
      jump = regime.jumps.mean + regime.jumps.sd * rng.normal();
    for (let i = 0; i < n; i++) {
      const a = assets[i] as AssetSpec;
      const li = l[i] as number[];
      let shock = 0;
      for (let k = 0; k <= i; k++) shock += (li[k] as number) * (z[k] as number);
      const sigma = a.vol * regime.volMultiplier * Math.sqrt(years);
      const mu = (regime.drift[a.symbol] ?? 0) / steps;
      next[i] = (prev[i] as number) * Math.exp(mu + sigma * shock + a.jumpBeta * jump);
    }
    out.push(next);
  }
  return out;
}
