// The EWMA state in the level store (buckets 30 riskSeries and 31 riskPairs): every tick's changes
// go in one batch, so a restart resumes the estimates where they were (a gap in the clock is
// spread over the missed ticks, see ewma.ts).

import { jsonValue, utf8Key } from '../store/codecs.ts';
import type { Store } from '../store/controller.ts';
import { Repository } from '../store/repository.ts';
import { type PairState, pairKey, type SeriesState } from './ewma.ts';

export interface RiskStore {
  load(): Promise<{ series: SeriesState[]; pairs: PairState[] }>;
  save(changed: { series: SeriesState[]; pairs: PairState[] }): Promise<void>;
}

export function createRiskStore(store: Store): RiskStore {
  const series = new Repository(store, 'riskSeries', utf8Key, jsonValue<SeriesState>());
  const pairs = new Repository(store, 'riskPairs', utf8Key, jsonValue<PairState>());
  return {
    async load() {
      const out = { series: [] as SeriesState[], pairs: [] as PairState[] };
      for await (const [, s] of series.entries()) out.series.push(s);
      for await (const [, p] of pairs.entries()) out.pairs.push(p);
      return out;
    },
    async save(changed) {
      const ops = [
        ...changed.series.map((s) => series.putOp(s.key, s)),
        ...changed.pairs.map((p) => pairs.putOp(pairKey(p.a, p.b), p)),
      ];
      if (ops.length > 0) await store.batch(ops);
    },
  };
}
