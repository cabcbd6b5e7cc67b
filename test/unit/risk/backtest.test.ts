// The backtest on a small population: deterministic for a seed, figures well formed, and the
// pooled (cross-chain) collateral never exceeds the isolated per-chain figure.

import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKTEST, jsonLines, runBacktest } from '../../../relayer/risk/backtest.ts';
import { simulatePaths } from '../../../relayer/risk/paths.ts';

const small = { ...DEFAULT_BACKTEST, traders: 40, hours: 2 };

describe('backtest', () => {
  it('is reproducible and consistent', () => {
    const a = runBacktest(small);
    const b = runBacktest(small);
    expect(jsonLines(a)).toEqual(jsonLines(b));
    expect(a.map((r) => r.regime)).toEqual(['calm', 'trending', 'crash']);
    for (const r of a) {
      expect(r.collateralXmargin).toBeLessThanOrEqual(r.collateralIsolated + 1e-6);
      for (const f of [r.static, r.optimiser]) {
        expect(f.badDebt).toBeGreaterThanOrEqual(0);
        expect(f.liquidatedAccounts).toBeLessThanOrEqual(f.liquidations);
      }
      expect(r.static.moves).toBe(0);
    }
    for (const line of jsonLines(a)) expect(typeof JSON.parse(line).value).toBe('number');
  });

  it('paths have the configured correlation', () => {
    const assets = [
      { symbol: 'A', price: 100, vol: 0.8, jumpBeta: 1 },
      { symbol: 'B', price: 10, vol: 0.8, jumpBeta: 1 },
    ];
    const p = simulatePaths(
      assets,
      [
        [1, 0.7],
        [0.7, 1],
      ],
      { name: 'x', volMultiplier: 1, drift: {} },
      20_000,
      60,
      3,
    );
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let t = 1; t < p.length; t++) {
      const ra = Math.log((p[t]?.[0] ?? 1) / (p[t - 1]?.[0] ?? 1));
      const rb = Math.log((p[t]?.[1] ?? 1) / (p[t - 1]?.[1] ?? 1));
      sab += ra * rb;
      saa += ra * ra;
      sbb += rb * rb;
    }
    expect(sab / Math.sqrt(saa * sbb)).toBeCloseTo(0.7, 1);
  });
});
