// The node's risk tracker: samples every price the margin view follows on a fixed clock, keeps
// the EWMA estimates (persisted), and gives VaR and breach probability per engine entry with the
// engine's own horizon (its cross-chain message latency).

import type { Logger } from '../log.ts';
import type { EngineMargin } from '../margin/types.ts';
import type { Store } from '../store/controller.ts';
import { type EwmaConfig, EwmaModel } from './ewma.ts';
import { createRiskStore } from './persist.ts';
import { type EngineRisk, engineRisk } from './var.ts';

export interface RiskTrackerOptions {
  /** The view's followed prices (MarginView.prices). */
  prices: () => { key: string; price: bigint }[];
  store: Store;
  log: Logger;
  ewma?: Partial<EwmaConfig>;
  /** VaR confidence, default 0.99. */
  confidence?: number;
  /** Horizon per engine eid (its message latency), seconds; default `defaultHorizonSec`. */
  horizonSec?: Record<number, number>;
  /** Default 120 s. */
  defaultHorizonSec?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
}

export interface RiskTracker {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One tick now (tests; the timer also ticks). */
  tick(): Promise<void>;
  engineRisk(e: EngineMargin): EngineRisk | undefined;
  model(): EwmaModel;
}

export function createRiskTracker(options: RiskTrackerOptions): RiskTracker {
  const log = options.log.child({ module: 'risk' });
  const persisted = createRiskStore(options.store);
  const now = options.now ?? Date.now;
  let model = new EwmaModel(options.ewma);
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();

  async function sampleOnce(): Promise<void> {
    const dt = model.config.sampleIntervalSec;
    // Ticks sit on multiples of the interval, so a restart resumes on the same grid.
    const at = Math.floor(now() / 1000 / dt) * dt;
    const prices = new Map(options.prices().map((p) => [p.key, Number(p.price) / 1e18]));
    const changed = model.sample(at, prices);
    await persisted.save(changed);
  }

  const tracker: RiskTracker = {
    async start() {
      model = new EwmaModel(options.ewma, await persisted.load());
      const ms = model.config.sampleIntervalSec * 1000;
      const loop = () => {
        ticking = tracker.tick().finally(() => {
          if (timer !== undefined) timer = setTimeout(loop, ms);
        });
      };
      timer = setTimeout(loop, 0);
      log.info({ series: model.series.size, pairs: model.pairs.size }, 'risk tracker started');
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await ticking;
    },
    async tick() {
      try {
        await sampleOnce();
      } catch (err) {
        log.warn({ err: String(err) }, 'risk tick failed');
      }
    },
    engineRisk(e) {
      const horizonSec = options.horizonSec?.[e.engineEid] ?? options.defaultHorizonSec ?? 120;
      return engineRisk(e, model, { horizonSec, confidence: options.confidence ?? 0.99 });
    },
    model: () => model,
  };
  return tracker;
}
