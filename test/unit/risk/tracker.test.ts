// The risk tracker keeps its EWMA estimates across a restart (buckets 30/31) and reports VaR and
// breach probability only once the price history is long enough.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../relayer/log.ts';
import type { EngineMargin } from '../../../relayer/margin/types.ts';
import { createRiskTracker } from '../../../relayer/risk/tracker.ts';
import { BUCKETS, openStore } from '../../../relayer/store/index.ts';

const E = 10n ** 18n;

describe('risk tracker', () => {
  it('uses buckets 30 and 31', () => {
    expect(BUCKETS.riskSeries).toBe(30);
    expect(BUCKETS.riskPairs).toBe(31);
  });

  it('persists the estimates and gives VaR once ready', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-risk-'));
    try {
      let t = 1_000_000_000;
      let price = 2000;
      const opts = {
        prices: () => [{ key: '1:0xfeed', price: BigInt(Math.round(price * 1e6)) * 10n ** 12n }],
        log: silentLogger(),
        ewma: { sampleIntervalSec: 10, minSamples: 5 },
        now: () => t,
      };
      const entry: EngineMargin = {
        engineEid: 1,
        credit: {},
        positions: [],
        settledBalance: 0n,
        health: {
          collateralValue: 1000n * E,
          equity: 1000n * E,
          maintenanceRequirement: 500n * E,
          initialRequirement: 800n * E,
          notional: 10_000n * E,
          health: 2n * E,
        },
        distances: [
          {
            engineEid: 1,
            priceKey: '1:0xfeed',
            assetIds: [],
            marketIds: [1],
            price: 2000n * E,
            move: -0.05,
            equityDelta: 10_000,
            maintenanceDelta: 500,
          },
        ],
      };
      let store = await openStore(dir);
      let tracker = createRiskTracker({ ...opts, store });
      await tracker.start();
      await tracker.stop();
      for (let i = 0; i < 3; i++) {
        t += 10_000;
        price *= i % 2 === 0 ? 1.01 : 0.99;
        await tracker.tick();
      }
      expect(tracker.engineRisk(entry)).toBeUndefined(); // 3 of 5 samples
      const before = tracker.model().series.get('1:0xfeed');
      await store.close();

      store = await openStore(dir);
      tracker = createRiskTracker({ ...opts, store });
      await tracker.start();
      await tracker.stop();
      // The start tick sees the same clock slot: nothing changes.
      expect(tracker.model().series.get('1:0xfeed')).toEqual(before);
      for (let i = 0; i < 3; i++) {
        t += 10_000;
        price *= i % 2 === 0 ? 1.01 : 0.99;
        await tracker.tick();
      }
      const r = tracker.engineRisk(entry);
      expect(r).toBeDefined();
      expect(r?.varUsd).toBeGreaterThan(0);
      expect(r?.breachProbability).toBeGreaterThanOrEqual(0);
      expect(r?.breachProbability).toBeLessThanOrEqual(1);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
