// Backtest of the optimiser: seeded correlated price paths in three regimes against a seeded
// population of traders with collateral credited on several engines and perpetual positions on
// several engines, margined with MarginEngine's rules in floating point:
//
//   equity      = Σ credit × price × weight + settled + Σ size × (mark − entry)
//   maintenance = Σ |size| × mark × mm;  health = equity / maintenance
//   liquidation (health < 1): close fraction k of every position (all of it when health <
//   fullCloseHealth or equity ≤ 0 or the rest is dust, else 1 − equity / (maintenance × target)),
//   realise its PnL into settled, then the liquidator repays max(debt, bonus × closed notional)
//   into settled and takes collateral worth (1 + bonus) × that (stable collateral first); with no
//   collateral and no position left, a negative settled balance is bad debt.
//
// The optimiser (on): each step, for every engine C with positions, the breach probability over
// C's message latency (delta-normal, EWMA σ and ρ learnt online from the same path, relayer/risk
// var.ts) counting credit already in flight to C; above the threshold it moves surplus credit from
// the trader's other engine B with the most (equity above B's initial requirement × (1 + buffer),
// collateral only) to C, enough to bring C to a target health; the credit leaves B at once and
// arrives on C after C's latency (a MOVE).
//
// Collateral needed, per trader, for the same positions held to the end with no liquidation,
// D_e(t) = maintenance_e(t) − unrealised PnL_e(t) (USD of collateral after haircut):
//   isolated per-chain margin:  Σ_e max(IM_e(0), max_t D_e(t))
//   xmargin cross-chain margin: max(Σ_e IM_e(0), max_t Σ_e max_{s ∈ [t − L_e, t]} D_e(s))
// (a pooled buffer that must be on engine e one latency L_e before it is needed).
//
// Run: npm run backtest [-- --json] [-- --seed N --traders N]

import { EwmaModel } from './ewma.ts';
import { Rng } from './normal.ts';
import { type AssetSpec, type Regime, simulatePaths } from './paths.ts';
import { type Exposure, riskOf, type VolModel } from './var.ts';

// ------------------------------------------------------------------ the market

const ASSETS: AssetSpec[] = [
  { symbol: 'ETH', price: 3000, vol: 0.6, jumpBeta: 1 },
  { symbol: 'BTC', price: 60_000, vol: 0.5, jumpBeta: 0.8 },
  { symbol: 'SOL', price: 150, vol: 0.9, jumpBeta: 1.4 },
  { symbol: 'ARB', price: 1, vol: 1.1, jumpBeta: 1.6 },
];
const CORRELATION = [
  [1, 0.8, 0.75, 0.7],
  [0.8, 1, 0.65, 0.6],
  [0.75, 0.65, 1, 0.65],
  [0.7, 0.6, 0.65, 1],
];
const USDC = ASSETS.length; // collateral index of the stablecoin (price 1)
const N_COLL = ASSETS.length + 1;
/** Collateral weights (1 − haircut) by collateral index: ETH BTC SOL ARB USDC. */
const WEIGHT = [0.85, 0.85, 0.75, 0.65, 0.95];
/** Markets by asset index: initial and maintenance margin. */
const IM = [0.1, 0.1, 0.1, 0.15];
const MM = [0.05, 0.05, 0.05, 0.075];
const LIQ = { bonus: 0.05, targetHealth: 1.25, fullCloseHealth: 0.5, dustNotional: 10 };
/** Engines (chains hosting positions) and the latency of a MOVE to each, seconds. */
const ENGINES = [
  { name: 'arbitrum', latencySec: 60 },
  { name: 'base', latencySec: 120 },
  { name: 'optimism', latencySec: 300 },
];
const CHAINS = ['ethereum', 'arbitrum', 'base', 'optimism'];

export const REGIMES: Regime[] = [
  { name: 'calm', volMultiplier: 1, drift: {} },
  { name: 'trending', volMultiplier: 1.5, drift: { ETH: -0.15, BTC: -0.1, SOL: -0.25, ARB: -0.3 } },
  {
    name: 'crash',
    volMultiplier: 3,
    drift: { ETH: -0.1, BTC: -0.05, SOL: -0.15, ARB: -0.2 },
    jumps: { count: 6, mean: -0.06, sd: 0.03 },
  },
];

export interface BacktestOptions {
  seed: number;
  traders: number;
  /** Path length and clock. */
  hours: number;
  dtSec: number;
  confidence: number;
  /** Breach probability above which the optimiser moves surplus. */
  threshold: number;
  /** Health the optimiser brings the endangered engine back to. */
  targetHealth: number;
  /** Source keeps equity ≥ initial requirement × (1 + buffer). */
  buffer: number;
  lambda: number;
}

export const DEFAULT_BACKTEST: BacktestOptions = {
  seed: 42,
  traders: 500,
  hours: 24,
  dtSec: 30,
  confidence: 0.99,
  threshold: 0.05,
  targetHealth: 1.6,
  buffer: 0.1,
  lambda: 0.94,
};

// ------------------------------------------------------------------ traders

interface Position {
  asset: number;
  size: number;
  entry: number;
}

interface EngineAccount {
  /** Credited amount per collateral index, and the chain its vault is on (display only). */
  credit: Float64Array;
  sources: string[];
  positions: Position[];
  settled: number;
  liquidated?: boolean;
}

interface Trader {
  engines: EngineAccount[];
}

function population(n: number, seed: number, prices: Float64Array): Trader[] {
  const rng = new Rng(seed);
  const px = (c: number) => (c === USDC ? 1 : (prices[c] as number));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)] as T;
  const fund = (acct: EngineAccount, usdAfterHaircut: number) => {
    const assets = rng.next() < 0.5 ? [USDC] : [USDC, pick([0, 1, 2, 3])];
    if (rng.next() < 0.3) assets.splice(0, 1, pick([0, 1]));
    for (const c of assets) {
      const share = usdAfterHaircut / assets.length;
      acct.credit[c] = (acct.credit[c] as number) + share / (px(c) * (WEIGHT[c] as number));
      acct.sources.push(`${pick(CHAINS)}:${c === USDC ? 'USDC' : (ASSETS[c] as AssetSpec).symbol}`);
    }
  };
  const out: Trader[] = [];
  for (let i = 0; i < n; i++) {
    const engines: EngineAccount[] = ENGINES.map(() => ({
      credit: new Float64Array(N_COLL),
      sources: [],
      positions: [],
      settled: 0,
    }));
    const active = ENGINES.map(() => rng.next() < 0.55);
    if (!active.some(Boolean)) active[Math.floor(rng.next() * ENGINES.length)] = true;
    for (let e = 0; e < ENGINES.length; e++) {
      const acct = engines[e] as EngineAccount;
      if (active[e]) {
        const markets = rng.next() < 0.5 ? 1 : 2;
        let im = 0;
        const used = new Set<number>();
        for (let m = 0; m < markets; m++) {
          const asset = pick([0, 0, 1, 1, 2, 3]);
          if (used.has(asset)) continue;
          used.add(asset);
          const notional = Math.min(500_000, Math.exp(Math.log(20_000) + 0.9 * rng.normal()));
          const side = rng.next() < 0.6 ? 1 : -1;
          const price = prices[asset] as number;
          acct.positions.push({ asset, size: (side * notional) / price, entry: price });
          im += notional * (IM[asset] as number);
        }
        fund(acct, im * rng.uniform(1.05, 2.2));
      } else if (rng.next() < 0.6) {
        // A reserve: idle credit on an engine the trader does not trade on (yet).
        fund(acct, rng.uniform(2_000, 40_000));
      }
    }
    out.push({ engines });
  }
  return out;
}

function cloneTraders(ts: Trader[]): Trader[] {
  return ts.map((t) => ({
    engines: t.engines.map((e) => ({
      credit: Float64Array.from(e.credit),
      sources: [...e.sources],
      positions: e.positions.map((p) => ({ ...p })),
      settled: e.settled,
    })),
  }));
}

// ------------------------------------------------------------------ margin (MarginEngine in floats)

interface Margin {
  collateral: number;
  equity: number;
  maintenance: number;
  initial: number;
  notional: number;
}

const priceOf = (prices: Float64Array, c: number): number => (c === USDC ? 1 : (prices[c] as number));

function margin(a: EngineAccount, prices: Float64Array): Margin {
  let collateral = 0;
  for (let c = 0; c < N_COLL; c++) {
    const amt = a.credit[c] as number;
    if (amt > 0) collateral += amt * priceOf(prices, c) * (WEIGHT[c] as number);
  }
  let equity = collateral + a.settled;
  let maintenance = 0;
  let initial = 0;
  let notional = 0;
  for (const p of a.positions) {
    const mark = prices[p.asset] as number;
    const n = Math.abs(p.size) * mark;
    equity += p.size * (mark - p.entry);
    notional += n;
    maintenance += n * (MM[p.asset] as number);
    initial += n * (IM[p.asset] as number);
  }
  return { collateral, equity, maintenance, initial, notional };
}

interface Figures {
  liquidations: number;
  /** Distinct (trader, engine) entries liquidated at least once. */
  liquidatedAccounts: number;
  liquidatedNotional: number;
  badDebt: number;
  moves: number;
  movedUsd: number;
}

/** MarginEngine.liquidate in floats; returns the notional closed. */
function liquidate(a: EngineAccount, prices: Float64Array, f: Figures): void {
  if (!a.liquidated) {
    a.liquidated = true;
    f.liquidatedAccounts++;
  }
  const m = margin(a, prices);
  const health = m.equity / m.maintenance;
  let closed = 0;
  if (m.notional > 0) {
    let k: number;
    if (m.equity <= 0 || health < LIQ.fullCloseHealth) k = 1;
    else {
      const keep = m.equity / (m.maintenance * LIQ.targetHealth);
      k = keep >= 1 ? 0 : m.notional * keep < LIQ.dustNotional ? 1 : 1 - keep;
    }
    for (const p of a.positions) {
      const mark = prices[p.asset] as number;
      const closeSize = p.size * k;
      a.settled += closeSize * (mark - p.entry);
      p.size -= closeSize;
      closed += Math.abs(closeSize) * mark;
    }
    a.positions = a.positions.filter((p) => Math.abs(p.size) * (prices[p.asset] as number) > 1e-9);
  }
  let need = Math.max(a.settled < 0 ? -a.settled : 0, closed * LIQ.bonus);
  // The liquidator's seize orders: stable collateral first, then the others.
  for (const c of [USDC, 1, 0, 2, 3]) {
    if (need <= 0) break;
    const available = a.credit[c] as number;
    if (available <= 0) continue;
    const price = priceOf(prices, c);
    let repaid = need;
    let seized = (repaid * (1 + LIQ.bonus)) / price;
    if (seized > available) {
      seized = available;
      repaid = (available * price) / (1 + LIQ.bonus);
    }
    a.credit[c] = available - seized;
    if ((a.credit[c] as number) < 1e-12) a.credit[c] = 0;
    a.settled += repaid;
    need -= repaid;
  }
  if (a.positions.length === 0 && a.credit.every((x) => x === 0) && a.settled < 0) {
    f.badDebt += -a.settled;
    a.settled = 0;
  }
  f.liquidations++;
  f.liquidatedNotional += closed;
}

// ------------------------------------------------------------------ the optimiser

interface Move {
  trader: number;
  engine: number;
  c: number;
  amount: number;
  arrive: number;
}

/** σ and ρ of the EWMA model as arrays for one step (the VolModel riskOf reads). */
function snapshotModel(model: EwmaModel): VolModel {
  const sig = new Map<string, number>();
  const rho = new Map<string, number>();
  for (const a of ASSETS) sig.set(a.symbol, model.sigma(a.symbol, 1) ?? 0);
  for (const a of ASSETS)
    for (const b of ASSETS) rho.set(`${a.symbol}|${b.symbol}`, model.correlation(a.symbol, b.symbol));
  return {
    ready: (k) => model.ready(k),
    sigma: (k, h) => (sig.get(k) ?? 0) * Math.sqrt(h),
    correlation: (a, b) => rho.get(`${a}|${b}`) ?? 0,
  };
}

function exposures(a: EngineAccount, incoming: Float64Array, prices: Float64Array): Exposure[] {
  const out: Exposure[] = [];
  for (let i = 0; i < ASSETS.length; i++) {
    const p = prices[i] as number;
    let e = ((a.credit[i] as number) + (incoming[i] as number)) * p * (WEIGHT[i] as number);
    let m = 0;
    for (const pos of a.positions) {
      if (pos.asset !== i) continue;
      e += pos.size * p;
      m += Math.abs(pos.size) * p * (MM[i] as number);
    }
    if (e !== 0 || m !== 0)
      out.push({ key: (ASSETS[i] as AssetSpec).symbol, equityDelta: e, maintenanceDelta: m });
  }
  return out;
}

function optimise(
  traders: Trader[],
  inFlight: Move[],
  prices: Float64Array,
  model: VolModel,
  step: number,
  o: BacktestOptions,
  f: Figures,
): void {
  const incomingBy = new Map<string, Float64Array>();
  for (const mv of inFlight) {
    const k = `${mv.trader}:${mv.engine}`;
    let v = incomingBy.get(k);
    if (v === undefined) {
      v = new Float64Array(N_COLL);
      incomingBy.set(k, v);
    }
    v[mv.c] = (v[mv.c] as number) + mv.amount;
  }
  const none = new Float64Array(N_COLL);
  for (let t = 0; t < traders.length; t++) {
    const tr = traders[t] as Trader;
    for (let e = 0; e < ENGINES.length; e++) {
      const a = tr.engines[e] as EngineAccount;
      if (a.positions.length === 0) continue;
      const incoming = incomingBy.get(`${t}:${e}`) ?? none;
      const m = margin(a, prices);
      let pending = 0;
      for (let c = 0; c < N_COLL; c++)
        pending += (incoming[c] as number) * priceOf(prices, c) * (WEIGHT[c] as number);
      const equity = m.equity + pending;
      const risk = riskOf(exposures(a, incoming, prices), equity, m.maintenance, model, {
        horizonSec: (ENGINES[e] as { latencySec: number }).latencySec,
        confidence: o.confidence,
      });
      if (risk === undefined || risk.breachProbability <= o.threshold) continue;
      let want = o.targetHealth * m.maintenance - equity;
      // Sources: the trader's other engines, the largest surplus first.
      const sources = tr.engines
        .map((b, i) => {
          if (i === e) return { i, surplus: 0 };
          const mb = margin(b, prices);
          return { i, surplus: Math.min(mb.collateral, mb.equity - mb.initial * (1 + o.buffer)) };
        })
        .filter((s) => s.surplus > 0)
        .sort((x, y) => y.surplus - x.surplus);
      for (const s of sources) {
        if (want <= 0) break;
        const b = tr.engines[s.i] as EngineAccount;
        let usd = Math.min(want, s.surplus);
        const arrive = step + Math.ceil((ENGINES[e] as { latencySec: number }).latencySec / o.dtSec);
        for (const c of [USDC, 1, 0, 2, 3]) {
          if (usd <= 0) break;
          const per = priceOf(prices, c) * (WEIGHT[c] as number);
          const amount = Math.min(b.credit[c] as number, usd / per);
          if (amount <= 0) continue;
          b.credit[c] = (b.credit[c] as number) - amount;
          inFlight.push({ trader: t, engine: e, c, amount, arrive });
          usd -= amount * per;
          want -= amount * per;
          f.moves++;
          f.movedUsd += amount * per;
        }
      }
    }
  }
}

// ------------------------------------------------------------------ the run

export interface RegimeResult {
  regime: string;
  static: Figures;
  optimiser: Figures;
  collateralIsolated: number;
  collateralXmargin: number;
}

function simulate(
  base: Trader[],
  paths: Float64Array[],
  o: BacktestOptions,
  withOptimiser: boolean,
): Figures {
  const traders = cloneTraders(base);
  const f: Figures = {
    liquidations: 0,
    liquidatedAccounts: 0,
    liquidatedNotional: 0,
    badDebt: 0,
    moves: 0,
    movedUsd: 0,
  };
  const model = new EwmaModel({ lambda: o.lambda, sampleIntervalSec: o.dtSec, minSamples: 10 });
  let inFlight: Move[] = [];
  const sample = (step: number) =>
    model.sample(
      step * o.dtSec,
      new Map(ASSETS.map((a, i) => [a.symbol, (paths[step] as Float64Array)[i] as number])),
    );
  sample(0);
  for (let step = 1; step < paths.length; step++) {
    const prices = paths[step] as Float64Array;
    sample(step);
    // Credit in flight that arrives now.
    const still: Move[] = [];
    for (const mv of inFlight) {
      if (mv.arrive > step) still.push(mv);
      else {
        const a = (traders[mv.trader] as Trader).engines[mv.engine] as EngineAccount;
        a.credit[mv.c] = (a.credit[mv.c] as number) + mv.amount;
      }
    }
    inFlight = still;
    // Liquidators act on every unhealthy engine entry.
    for (const tr of traders) {
      for (const a of tr.engines) {
        if (a.positions.length === 0) continue;
        const m = margin(a, prices);
        if (m.equity < m.maintenance) liquidate(a, prices, f);
      }
    }
    if (withOptimiser) optimise(traders, inFlight, prices, snapshotModel(model), step, o, f);
  }
  return f;
}

function collateralNeeded(traders: Trader[], paths: Float64Array[], o: BacktestOptions): [number, number] {
  let isolated = 0;
  let pooled = 0;
  const lags = ENGINES.map((e) => Math.ceil(e.latencySec / o.dtSec));
  for (const tr of traders) {
    const d = tr.engines.map(() => new Float64Array(paths.length));
    let im0 = 0;
    tr.engines.forEach((a, e) => {
      const row = d[e] as Float64Array;
      for (let t = 0; t < paths.length; t++) {
        const prices = paths[t] as Float64Array;
        let need = 0;
        for (const p of a.positions) {
          const mark = prices[p.asset] as number;
          need += Math.abs(p.size) * mark * (MM[p.asset] as number) - p.size * (mark - p.entry);
          if (t === 0) im0 += Math.abs(p.size) * mark * (IM[p.asset] as number);
        }
        row[t] = need;
      }
      let im = 0;
      for (const p of a.positions) im += Math.abs(p.size) * p.entry * (IM[p.asset] as number);
      isolated += Math.max(im, ...row);
    });
    let worst = 0;
    for (let t = 0; t < paths.length; t++) {
      let sum = 0;
      for (let e = 0; e < d.length; e++) {
        const row = d[e] as Float64Array;
        let mx = -Infinity;
        for (let s = Math.max(0, t - (lags[e] as number)); s <= t; s++) mx = Math.max(mx, row[s] as number);
        sum += mx;
      }
      worst = Math.max(worst, sum);
    }
    pooled += Math.max(im0, worst);
  }
  return [isolated, pooled];
}

export function runBacktest(o: BacktestOptions = DEFAULT_BACKTEST): RegimeResult[] {
  const steps = Math.round((o.hours * 3600) / o.dtSec);
  return REGIMES.map((regime, r) => {
    const paths = simulatePaths(ASSETS, CORRELATION, regime, steps, o.dtSec, o.seed * 1000 + r);
    const traders = population(o.traders, o.seed, paths[0] as Float64Array);
    const [collateralIsolated, collateralXmargin] = collateralNeeded(traders, paths, o);
    return {
      regime: regime.name,
      static: simulate(traders, paths, o, false),
      optimiser: simulate(traders, paths, o, true),
      collateralIsolated,
      collateralXmargin,
    };
  });
}

// ------------------------------------------------------------------ CLI

const usd = (x: number): string => `$${Math.round(x).toLocaleString('en-US')}`;

export function formatTable(results: RegimeResult[], o: BacktestOptions): string {
  const lines: string[] = [];
  lines.push(
    `xmargin backtest — seed ${o.seed}, ${o.traders} traders, ${o.hours} h at ${o.dtSec} s, engines ${ENGINES.map((e) => `${e.name} (${e.latencySec} s)`).join(', ')}`,
  );
  lines.push(
    `optimiser: breach probability > ${o.threshold} over the engine's latency at ${o.confidence * 100} % (EWMA λ ${o.lambda}) → MOVE surplus to health ${o.targetHealth}`,
  );
  lines.push('');
  const row = (cells: string[], widths: number[]) =>
    cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  const w1 = [9, 9, 12, 8, 20, 12, 7, 13];
  lines.push(
    row(
      [
        'regime',
        'optimiser',
        'liquidations',
        'accounts',
        'liquidated notional',
        'bad debt',
        'MOVEs',
        'moved',
      ],
      w1,
    ),
  );
  for (const r of results) {
    for (const [mode, f] of [
      ['off', r.static],
      ['on', r.optimiser],
    ] as const) {
      lines.push(
        row(
          [
            r.regime,
            mode,
            String(f.liquidations),
            String(f.liquidatedAccounts),
            usd(f.liquidatedNotional),
            usd(f.badDebt),
            String(f.moves),
            usd(f.movedUsd),
          ],
          w1,
        ),
      );
    }
  }
  lines.push('');
  const w2 = [9, 26, 26, 8];
  lines.push(row(['regime', 'collateral isolated/chain', 'collateral xmargin', 'saving'], w2));
  for (const r of results) {
    const saving = 1 - r.collateralXmargin / r.collateralIsolated;
    lines.push(
      row(
        [r.regime, usd(r.collateralIsolated), usd(r.collateralXmargin), `${(saving * 100).toFixed(1)} %`],
        w2,
      ),
    );
  }
  return lines.join('\n');
}

export function jsonLines(results: RegimeResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    for (const [mode, f] of [
      ['off', r.static],
      ['on', r.optimiser],
    ] as const) {
      for (const [figure, value] of Object.entries(f))
        out.push(JSON.stringify({ regime: r.regime, optimiser: mode, figure, value }));
    }
    out.push(JSON.stringify({ regime: r.regime, figure: 'collateralIsolated', value: r.collateralIsolated }));
    out.push(JSON.stringify({ regime: r.regime, figure: 'collateralXmargin', value: r.collateralXmargin }));
  }
  return out;
}

function parseArgs(argv: string[]): { o: BacktestOptions; json: boolean } {
  const o = { ...DEFAULT_BACKTEST };
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
      return v;
    };
    if (a === '--json') json = true;
    else if (a === '--seed') o.seed = num();
    else if (a === '--traders') o.traders = num();
    else if (a === '--hours') o.hours = num();
    else if (a === '--threshold') o.threshold = num();
    else throw new Error(`unknown argument ${a} (--json, --seed N, --traders N, --hours N, --threshold P)`);
  }
  return { o, json };
}

if (import.meta.main) {
  const { o, json } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const results = runBacktest(o);
  if (json) for (const line of jsonLines(results)) console.log(line);
  else {
    console.log(formatTable(results, o));
    console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
}
