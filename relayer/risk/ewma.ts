// RiskMetrics-style EWMA volatility and correlation of the prices the node follows.
//
// Prices are sampled on a fixed clock (every `sampleIntervalSec`), not per feed update: a feed
// that updates on deviation would otherwise bias the estimate (no update ≠ no move is not known).
// On each tick, for every series with a previous sample:
//
//   r      = ln(p_t / p_{t−1}) / sqrt(k)            k = ticks elapsed (≥ 1; a missed tick, e.g.
//                                                    a restart, spreads its return over k ticks)
//   σ²_t   = λ σ²_{t−1} + (1 − λ) r²                per-tick variance of series i
//   c_t    = λ c_{t−1} + (1 − λ) r_i r_j             per-tick covariance of a pair that both moved
//   ρ_ij   = c_ij / sqrt(σ²_i σ²_j), clamped to [−1, 1]
//
// A series starts from a prior variance (configurable, per second) and a pair from a prior
// correlation (default 0), so a figure exists at once but is only reported as `ready` after
// `minSamples` ticks. Horizon scaling is the square-root-of-time rule: σ_h = σ_tick · sqrt(h / Δ).

export interface EwmaConfig {
  /** Decay per tick, e.g. 0.94. */
  lambda: number;
  /** Clock of the samples, seconds. */
  sampleIntervalSec: number;
  /** Variance per second a new series starts from (e.g. (0.8)² / year for 80 % annualised). */
  priorVariancePerSecond: number;
  /** Correlation a new pair starts from. */
  priorCorrelation: number;
  /** Ticks before a series counts as ready. */
  minSamples: number;
}

export const SECONDS_PER_YEAR = 365 * 86_400;

export const DEFAULT_EWMA: EwmaConfig = {
  lambda: 0.94,
  sampleIntervalSec: 10,
  priorVariancePerSecond: 0.8 ** 2 / SECONDS_PER_YEAR,
  priorCorrelation: 0,
  minSamples: 10,
};

/** One price series, as persisted. */
export interface SeriesState {
  key: string;
  /** Last sampled price (float, USD) and the tick time it was sampled at (seconds). */
  lastPrice: number;
  lastAt: number;
  /** Per-tick variance of log returns. */
  variance: number;
  samples: number;
}

/** One pair of series (a < b), as persisted. */
export interface PairState {
  a: string;
  b: string;
  /** Per-tick covariance of log returns. */
  covariance: number;
  samples: number;
}

export const pairKey = (x: string, y: string): string => (x < y ? `${x}|${y}` : `${y}|${x}`);

export class EwmaModel {
  readonly config: EwmaConfig;
  readonly series = new Map<string, SeriesState>();
  readonly pairs = new Map<string, PairState>();

  constructor(config: Partial<EwmaConfig> = {}, state?: { series: SeriesState[]; pairs: PairState[] }) {
    this.config = { ...DEFAULT_EWMA, ...config };
    const { lambda, sampleIntervalSec } = this.config;
    if (!(lambda > 0 && lambda < 1)) throw new RangeError(`lambda must lie in (0, 1), got ${lambda}`);
    if (!(sampleIntervalSec > 0)) throw new RangeError('sampleIntervalSec must be positive');
    for (const s of state?.series ?? []) this.series.set(s.key, { ...s });
    for (const p of state?.pairs ?? []) this.pairs.set(pairKey(p.a, p.b), { ...p });
  }

  /**
   * One tick of the clock at time `at` (seconds) with the current price of each series. Returns
   * the series and pairs it changed (what to persist).
   */
  sample(at: number, prices: ReadonlyMap<string, number>): { series: SeriesState[]; pairs: PairState[] } {
    const { lambda, sampleIntervalSec: dt, priorVariancePerSecond } = this.config;
    const returns = new Map<string, number>();
    const changed: SeriesState[] = [];
    for (const [key, price] of prices) {
      if (!(price > 0) || !Number.isFinite(price)) continue;
      const s = this.series.get(key);
      if (s === undefined) {
        const fresh = {
          key,
          lastPrice: price,
          lastAt: at,
          variance: priorVariancePerSecond * dt,
          samples: 0,
        };
        this.series.set(key, fresh);
        changed.push(fresh);
        continue;
      }
      if (at <= s.lastAt) continue; // the clock did not advance (a replayed tick)
      const k = Math.max(1, Math.round((at - s.lastAt) / dt));
      const r = Math.log(price / s.lastPrice) / Math.sqrt(k);
      s.variance = lambda * s.variance + (1 - lambda) * r * r;
      s.lastPrice = price;
      s.lastAt = at;
      s.samples++;
      returns.set(key, r);
      changed.push(s);
    }
    const pairs: PairState[] = [];
    const keys = [...returns.keys()].sort();
    for (let i = 0; i < keys.length; i++) {
      for (let j = i + 1; j < keys.length; j++) {
        const a = keys[i] as string;
        const b = keys[j] as string;
        const id = pairKey(a, b);
        let p = this.pairs.get(id);
        if (p === undefined) {
          // Prior covariance from the prior correlation and the variances before this tick's update.
          const va = (this.series.get(a) as SeriesState).variance;
          const vb = (this.series.get(b) as SeriesState).variance;
          p = { a, b, covariance: this.config.priorCorrelation * Math.sqrt(va * vb), samples: 0 };
          this.pairs.set(id, p);
        }
        p.covariance =
          lambda * p.covariance + (1 - lambda) * (returns.get(a) as number) * (returns.get(b) as number);
        p.samples++;
        pairs.push(p);
      }
    }
    return { series: changed, pairs };
  }

  ready(key: string): boolean {
    const s = this.series.get(key);
    return s !== undefined && s.samples >= this.config.minSamples;
  }

  /** σ of the log return over `horizonSec`, square-root-of-time scaled; undefined for an unknown series. */
  sigma(key: string, horizonSec: number): number | undefined {
    const s = this.series.get(key);
    if (s === undefined) return undefined;
    return Math.sqrt((s.variance * horizonSec) / this.config.sampleIntervalSec);
  }

  /** Annualised volatility (display). */
  annualised(key: string): number | undefined {
    return this.sigma(key, SECONDS_PER_YEAR);
  }

  /** ρ between two series (1 with itself; the prior when the pair never moved together). */
  correlation(x: string, y: string): number {
    if (x === y) return 1;
    const p = this.pairs.get(pairKey(x, y));
    if (p === undefined) return this.config.priorCorrelation;
    const vx = this.series.get(x)?.variance ?? 0;
    const vy = this.series.get(y)?.variance ?? 0;
    if (vx <= 0 || vy <= 0) return 0;
    return Math.max(-1, Math.min(1, p.covariance / Math.sqrt(vx * vy)));
  }

  snapshot(): { series: SeriesState[]; pairs: PairState[] } {
    return {
      series: [...this.series.values()].map((s) => ({ ...s })),
      pairs: [...this.pairs.values()].map((p) => ({ ...p })),
    };
  }
}
