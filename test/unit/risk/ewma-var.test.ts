// EWMA estimates converge to the volatility and correlation of a seeded path; VaR and breach
// probability follow the documented delta-normal formulas.

import { describe, expect, it } from 'vitest';
import { EwmaModel } from '../../../relayer/risk/ewma.ts';
import { cholesky, normCdf, normInv, Rng } from '../../../relayer/risk/normal.ts';
import { breachProbability, portfolioSigma, riskOf, type VolModel } from '../../../relayer/risk/var.ts';

describe('normal tools', () => {
  it('Φ and Φ⁻¹ agree with tables and with each other', () => {
    expect(normCdf(0)).toBeCloseTo(0.5, 7);
    expect(normCdf(1.96)).toBeCloseTo(0.9750021, 6);
    expect(normInv(0.99)).toBeCloseTo(2.3263479, 6);
    for (const p of [0.001, 0.02, 0.3, 0.5, 0.77, 0.999]) expect(normCdf(normInv(p))).toBeCloseTo(p, 6);
  });
  it('Cholesky reproduces the matrix', () => {
    const m = [
      [1, 0.8, 0.3],
      [0.8, 1, 0.5],
      [0.3, 0.5, 1],
    ];
    const l = cholesky(m);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += (l[i]?.[k] ?? 0) * (l[j]?.[k] ?? 0);
        expect(s).toBeCloseTo(m[i]?.[j] ?? 0, 12);
      }
  });
});

describe('EwmaModel', () => {
  it('learns σ and ρ of a correlated pair on a fixed clock', () => {
    const model = new EwmaModel({ lambda: 0.99, sampleIntervalSec: 10, minSamples: 5 });
    const rng = new Rng(1);
    const sigma = 0.002; // per tick
    const rho = 0.7;
    let a = 100;
    let b = 50;
    for (let t = 0; t <= 5000; t++) {
      const z1 = rng.normal();
      const z2 = rho * z1 + Math.sqrt(1 - rho * rho) * rng.normal();
      if (t > 0) {
        a *= Math.exp(sigma * z1);
        b *= Math.exp(2 * sigma * z2);
      }
      model.sample(
        t * 10,
        new Map([
          ['a', a],
          ['b', b],
        ]),
      );
    }
    expect(model.ready('a')).toBe(true);
    expect(model.sigma('a', 10)).toBeGreaterThan(sigma * 0.8);
    expect(model.sigma('a', 10)).toBeLessThan(sigma * 1.2);
    expect(model.sigma('b', 40)).toBeCloseTo(2 * (model.sigma('b', 10) as number), 12);
    expect(model.correlation('a', 'b')).toBeGreaterThan(0.55);
    expect(model.correlation('a', 'b')).toBeLessThan(0.85);
  });

  it('survives a snapshot round trip and ignores a replayed tick', () => {
    const m1 = new EwmaModel({ minSamples: 1 });
    m1.sample(0, new Map([['x', 1]]));
    m1.sample(10, new Map([['x', 1.01]]));
    const m2 = new EwmaModel({ minSamples: 1 }, JSON.parse(JSON.stringify(m1.snapshot())));
    expect(m2.sigma('x', 60)).toBe(m1.sigma('x', 60));
    m2.sample(10, new Map([['x', 2]]));
    expect(m2.sigma('x', 60)).toBe(m1.sigma('x', 60));
    // A gap of 3 ticks spreads its return over them.
    m1.sample(40, new Map([['x', 1.01 * Math.exp(0.03)]]));
    expect(m1.series.get('x')?.samples).toBe(2);
  });
});

const fixed = (sigmas: Record<string, number>, rho: number): VolModel => ({
  ready: (k) => k in sigmas,
  sigma: (k, h) => (sigmas[k] === undefined ? undefined : (sigmas[k] as number) * Math.sqrt(h)),
  correlation: (a, b) => (a === b ? 1 : rho),
});

describe('delta-normal VaR', () => {
  it('is z·sqrt(eᵀΣe)', () => {
    const m = fixed({ eth: 0.001, btc: 0.002 }, 0.5);
    const s = portfolioSigma(
      [
        { key: 'eth', w: 1000 },
        { key: 'btc', w: -500 },
      ],
      m,
      100,
    ) as number;
    const se = 1000 * 0.01;
    const sb = -500 * 0.02;
    expect(s).toBeCloseTo(Math.sqrt(se * se + sb * sb + 2 * 0.5 * se * sb), 10);
    expect(portfolioSigma([{ key: 'sol', w: 1 }], m, 100)).toBeUndefined();
  });

  it('breach probability: 1 at or below maintenance, first passage above, 0 with no risk', () => {
    expect(breachProbability(0, 10)).toBe(1);
    expect(breachProbability(-5, 10)).toBe(1);
    expect(breachProbability(10, 0)).toBe(0);
    expect(breachProbability(23.263479, 10)).toBeCloseTo(0.02, 6);
    const m = fixed({ eth: 0.01 }, 0);
    // 10 ETH-equivalent long: equity delta 20k, maintenance delta 1k, 3k above maintenance.
    const r = riskOf([{ key: 'eth', equityDelta: 20_000, maintenanceDelta: 1_000 }], 5_000, 2_000, m, {
      horizonSec: 1,
      confidence: 0.99,
    });
    expect(r?.varUsd).toBeCloseTo(2.3263479 * 200, 3);
    expect(r?.breachProbability).toBeCloseTo(2 * normCdf(-3000 / 190), 10);
  });
});
