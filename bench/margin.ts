// The margin view off chain: full recompute rate, incremental recompute after one price tick,
// memory per sub-account and the liquidation sweep. The view's own code does the ticks (its
// HealthLedger, relayer/margin/ledger.ts, with the engine's packed screen and bigint near the line);
// beside it, the exact bigint path alone (computeHealthDeps) and the packed float screen alone
// (relayer/margin/fast.ts). Then how time and memory grow from 1k to 1M sub-accounts.
//
//   node --expose-gc --max-old-space-size=8192 bench/margin.ts [--json] [--sizes 1000,10000,100000,1000000]
//
// Deterministic (seeded population); each timing is the median of several runs (the CPU is shared).

import { emptyTouched } from '../relayer/margin/apply.ts';
import { computeHealth, computeHealthDeps } from '../relayer/margin/compute.ts';
import { pack } from '../relayer/margin/fast.ts';
import { entryKey, HealthLedger, subKeyOfEntry } from '../relayer/margin/ledger.ts';
import { chainOf, type SubState } from '../relayer/margin/state.ts';
import { TipScreen } from '../relayer/margin/tip.ts';
import { WAD } from '../relayer/margin/wad.ts';
import { ASSETS, answerOf, buildPopulation, ENGINE_EID, feedOf, setPrice } from './lib/population.ts';
import { type Figure, fmt, heapAfterGc, median, output, progress, timeRuns } from './lib/report.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const N = Number(arg('--n') ?? 100_000);
const SIZES = (arg('--sizes') ?? '1000,10000,100000,1000000').split(',').map(Number);
const figures: Figure[] = [];
const add = (f: Omit<Figure, 'bench'>, bench = 'margin') => figures.push({ bench, ...f });
const KIB = 1024;

/** The exact sweep: computeHealth (bigint) on every sub-account; returns the liquidatable indexes. */
function exactSweep(chain: ReturnType<typeof chainOf>, subs: readonly SubState[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < subs.length; i++) {
    const h = computeHealth(chain, subs[i] as SubState);
    if (h !== undefined && h.health < WAD) out.push(i);
  }
  return out;
}

function main(): void {
  if (Number.isNaN(heapAfterGc())) progress('note: run with --expose-gc for memory figures');
  // ------------------------------------------------------------------ population (100k)
  const heap0 = heapAfterGc();
  const { state, subs } = buildPopulation(N, 1);
  const heapState = heapAfterGc();
  const chain = chainOf(state, ENGINE_EID);
  progress(`population: ${fmt(N)} sub-accounts`);

  // ------------------------------------------------------------------ exact bigint path
  // The view at boot: its HealthLedger recomputes every entry in bigint, keeping each one's health
  // and dependencies (the exposure index).
  const ledger = new HealthLedger(state, new Set([ENGINE_EID]));
  const boot = emptyTouched();
  for (const s of subs) boot.subs.add(entryKey(ENGINE_EID, s.key));
  const tFirst = performance.now();
  ledger.propagate(boot, []);
  const firstMs = performance.now() - tFirst;
  // What a block touched is the view's to drop once applied: not counted as what it holds.
  boot.subs.clear();
  const heapBoot = heapAfterGc();
  const exactRuns = timeRuns(3, () => {
    for (const s of subs) computeHealthDeps(chain, s);
  });
  const exactRate = N / (median(exactRuns) / 1000);
  const leanRuns = timeRuns(3, () => {
    for (const s of subs) computeHealth(chain, s);
  });
  const leanRate = N / (median(leanRuns) / 1000);
  progress(
    `exact full recompute: ${fmt(median(exactRuns))} ms (the view's boot, with its index: ${fmt(firstMs)} ms)`,
  );

  // ------------------------------------------------------------------ the view's price tick
  // As the node runs it: HealthLedger.propagate for a block whose only event moved the WETH feed.
  // The first such tick packs the engine's screen and settles every entry it classifies alone.
  const tickOf = (dep: string) => {
    const t = emptyTouched();
    t.deps.add(dep);
    return ledger.propagate(t, []);
  };
  let price = 3_000;
  const wethDep = setPrice(state, 0, price);
  const touched = ledger.exposure.exposed(wethDep).size;
  const tPackTick = performance.now();
  tickOf(wethDep);
  const firstTickMs = performance.now() - tPackTick;
  // Every other price ticks once too, as on a live node: the screen keeps each price's exposed
  // entries as book indexes (4 B each), so what the view holds is measured with all of them.
  for (let a = 1; a < ASSETS.length; a++) tickOf(setPrice(state, a, ASSETS[a]?.price as number));
  const heapView = heapAfterGc();
  const tickView: number[] = [];
  let viewExact = 0;
  let viewScreened = 0;
  for (let r = 0; r < 15; r++) {
    price *= r % 2 === 0 ? 1.005 : 0.995;
    const dep = setPrice(state, 0, price);
    const t = performance.now();
    tickOf(dep);
    tickView.push(performance.now() - t);
    viewExact = Math.max(viewExact, ledger.stats.lastRecomputed);
    viewScreened = ledger.stats.lastScreened;
  }
  if (ledger.stats.screenPacks !== 1)
    throw new Error(`the ticks packed ${ledger.stats.screenPacks} books, not 1`);
  progress(`view tick: ${fmt(median(tickView))} ms (the first, packing: ${fmt(firstTickMs)} ms)`);
  add({
    name: "incremental recompute after one price tick (WETH), as the node's view runs it (HealthLedger: EngineScreen, bigint near the line)",
    value: median(tickView),
    unit: 'ms',
    target: 20,
    cmp: '<=',
    note: `${fmt(touched)} of ${fmt(N)} touched: ${fmt(viewScreened)} settled by the screen, at most ${fmt(viewExact)} in bigint`,
  });
  add({
    name: "full recompute as the node's view runs a tick exposing every entry (the row above as a rate)",
    value: touched / (median(tickView) / 1000),
    unit: 'subaccounts/s',
    target: 10_000_000,
    cmp: '>=',
  });
  // The tip screen (relayer/margin/tip.ts): a mined, unconfirmed block moves WETH; what it makes
  // unhealthy is nominated to the liquidator before the block is confirmed (the view's screenTip).
  const chainNow = chainOf(state, ENGINE_EID);
  const tipRuns: number[] = [];
  let tipFlagged = 0;
  for (let r = 0; r < 15; r++) {
    const tip = new TipScreen();
    const answer = answerOf(price * (0.96 - r * 0.001));
    tip.addBlock(ENGINE_EID, chainNow.block + 1, new Map([[feedOf(0), answer]]), Date.now());
    const bad = ledger.unhealthySet(ENGINE_EID);
    const t = performance.now();
    tipFlagged = tip.screen(
      ENGINE_EID,
      state,
      ledger.exposure,
      bad,
      Date.now(),
      undefined,
      (deps, override) => ledger.triage(ENGINE_EID, deps, override),
    ).length;
    tipRuns.push(performance.now() - t);
  }
  add({
    name: "tip screen: an unconfirmed block moves WETH −4 %, 100k exposed (the liquidator's nominations, as the node's view runs it)",
    value: median(tipRuns),
    unit: 'ms',
    note: `${fmt(tipFlagged)} newly under water nominated, beside ${fmt(ledger.unhealthySet(ENGINE_EID).size)} already unhealthy`,
  });
  add({
    name: 'full recompute, exact bigint (computeHealthDeps: the view at boot, and near the line)',
    value: exactRate,
    unit: 'subaccounts/s',
  });
  add({
    name: 'full recompute, exact bigint (computeHealth, nothing collected)',
    value: leanRate,
    unit: 'subaccounts/s',
  });

  // ------------------------------------------------------------------ packed screen alone
  const tPack = performance.now();
  const book = pack(chain, subs);
  const packMs = performance.now() - tPack;
  const heapBook = heapAfterGc();
  book.screenAll(chain); // first classification
  const fastRuns = timeRuns(15, () => book.screenAll(chain));
  const fastRate = N / (median(fastRuns) / 1000);
  const lastFull = book.screenAll(chain);
  progress(`screen full recompute: ${fmt(median(fastRuns))} ms, pack ${fmt(packMs)} ms`);
  add({
    name: 'full recompute, packed screen + exact near the line',
    value: fastRate,
    unit: 'subaccounts/s',
    target: 10_000_000,
    cmp: '>=',
    note: `${lastFull.exact} of ${fmt(N)} recomputed in bigint`,
  });

  // ------------------------------------------------------------------ one price tick, other ways
  const tickExact: number[] = [];
  const tickFast: number[] = [];
  let fastExact = 0;
  for (let r = 0; r < 15; r++) {
    price *= r % 2 === 0 ? 1.005 : 0.995;
    const dep = setPrice(state, 0, price);
    let t = performance.now();
    book.refreshPrices(chain);
    const res = book.screenExposed(chain, dep);
    tickFast.push(performance.now() - t);
    fastExact = Math.max(fastExact, res.exact);
    if (res.screened !== touched) throw new Error(`exposure differs: ${res.screened} vs ${touched}`);
    // The bigint path is slow: 3 ticks of it.
    if (r >= 3) continue;
    t = performance.now();
    for (const e of ledger.exposure.exposed(dep)) {
      const sub = state.subs.get(subKeyOfEntry(e)) as SubState;
      computeHealthDeps(chain, sub);
    }
    tickExact.push(performance.now() - t);
  }
  add({
    name: 'incremental recompute after one price tick (WETH), bigint for every exposed entry (the view under 1,000 exposed)',
    value: median(tickExact),
    unit: 'ms',
    note: `${fmt(touched)} of ${fmt(N)} touched`,
  });
  add({
    name: 'incremental recompute after one price tick (WETH), packed screen alone',
    value: median(tickFast),
    unit: 'ms',
    target: 20,
    cmp: '<=',
    note: `${fmt(touched)} of ${fmt(N)} touched, ${fastExact} exact`,
  });
  add({ name: 'sub-accounts touched by one price tick', value: touched, unit: 'subaccounts' });

  // ------------------------------------------------------------------ memory
  add({
    name: 'memory: margin state (sub-account records)',
    value: (heapState - heap0) / N,
    unit: 'B/subaccount',
    target: KIB,
    cmp: '<=',
  });
  add({
    name: 'memory: what the view holds once every price ticked (state, healths, exposure index, screen)',
    value: (heapView - heap0) / N,
    unit: 'B/subaccount',
    target: KIB,
    cmp: '<=',
    note: `at boot, every health exact and no screen: ${fmt((heapBoot - heap0) / N)} B`,
  });
  add({
    name: 'memory: packed screen (typed arrays)',
    value: (heapBook - heapView) / N,
    unit: 'B/subaccount',
    target: KIB,
    cmp: '<=',
  });

  // ------------------------------------------------------------------ liquidation sweep after a shock
  setPrice(state, 0, 3_000 * 0.85);
  setPrice(state, 1, 60_000 * 0.85);
  let exactList: number[] = [];
  const sweepExact = timeRuns(3, () => {
    exactList = exactSweep(chain, subs);
  });
  let fastList: number[] = [];
  let sweepExactCount = 0;
  const sweepFast = timeRuns(15, () => {
    book.refreshPrices(chain);
    sweepExactCount = book.screenAll(chain).exact;
    fastList = book.liquidatable();
  });
  const agree = exactList.length === fastList.length && exactList.every((x, i) => fastList[i] === x);
  if (!agree) throw new Error(`sweep disagreement: exact ${exactList.length}, screen ${fastList.length}`);
  add({
    name: 'liquidation sweep after WETH/WBTC −15 %, exact bigint',
    value: median(sweepExact),
    unit: 'ms',
    note: `${fmt(exactList.length)} liquidatable`,
  });
  add({
    name: 'liquidation sweep after WETH/WBTC −15 %, packed screen',
    value: median(sweepFast),
    unit: 'ms',
    note: `${fmt(fastList.length)} liquidatable, same set as exact; ${sweepExactCount} exact`,
  });

  // ------------------------------------------------------------------ growth
  for (const n of SIZES) growth(n);
  output(figures);
}

function growth(n: number): void {
  const h0 = heapAfterGc();
  const { state, subs } = buildPopulation(n, 7);
  const h1 = heapAfterGc();
  const chain = chainOf(state, ENGINE_EID);
  // Bigint passes cost ~10 s at 1M: fewer repeats there. The exact full recompute is the exact sweep
  // (computeHealth on every sub-account, keeping the liquidatable ones): measured once as both.
  const reps = n >= 1_000_000 ? 1 : n >= 100_000 ? 3 : 7;
  const book = pack(chain, subs);
  book.screenAll(chain);
  const fast = median(timeRuns(reps + 4, () => book.screenAll(chain)));
  setPrice(state, 0, 3_000 * 0.85);
  setPrice(state, 1, 60_000 * 0.85);
  let liq = 0;
  const sweepExact = median(
    timeRuns(reps, () => {
      liq = exactSweep(chain, subs).length;
    }),
  );
  const exactLiq = liq;
  const sweepFast = median(
    timeRuns(reps + 4, () => {
      book.refreshPrices(chain);
      book.screenAll(chain);
      liq = book.liquidatable().length;
    }),
  );
  if (liq !== exactLiq) throw new Error(`growth ${n}: screen ${liq} liquidatable, exact ${exactLiq}`);
  const label = n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`;
  const b = 'growth';
  add(
    { name: `${label}: full recompute = liquidation sweep, exact bigint`, value: sweepExact, unit: 'ms' },
    b,
  );
  add({ name: `${label}: full recompute, packed screen`, value: fast, unit: 'ms' }, b);
  add(
    {
      name: `${label}: liquidation sweep, packed screen`,
      value: sweepFast,
      unit: 'ms',
      note: `${fmt(liq)} liquidatable`,
    },
    b,
  );
  add({ name: `${label}: memory, margin state`, value: (h1 - h0) / n, unit: 'B/subaccount' }, b);
  add(
    { name: `${label}: memory, packed screen (typed arrays)`, value: book.bytes() / n, unit: 'B/subaccount' },
    b,
  );
  progress(`growth ${label}: exact ${fmt(sweepExact)} ms, screen ${fmt(fast)} ms`);
}

main();
