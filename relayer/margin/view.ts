// The unified cross-chain margin view: one block follower per served chain (vault, engine, market
// and the feeds behind the engine's adapters), each confirmed block decoded, completed by eth_call
// facts, committed to the store with its cursor in one batch, then applied; only the (engine,
// sub-account) entries that the block touched or that read a price it moved are recomputed.
//
// Confirmations: the view applies confirmed blocks only (a reorg above the cursor never reaches the
// state). On an automine devnet use 0 (every transaction is its own block and nothing reorgs); on
// 1-second devnets and public chains the chain's configured confirmations.

import {
  BlockFollower,
  type CursorStore,
  type FollowerEvent,
  type FollowerRpc,
  pollHead,
} from '../chain/follower.ts';
import type { Address, ChainConfig, DvnConfig, Hex } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/controller.ts';
import { applyBlock, borrowDep, type ChainContracts, emptyTouched, staleDep, type Touched } from './apply.ts';
import {
  computeEngine,
  computeHealthDeps,
  liquidationDistances,
  type PriceOverride,
  srcEidOf,
} from './compute.ts';
import { decodeLog, marginTopics, type Role } from './decode.ts';
import { ExposureIndex } from './exposure.ts';
import { checkQuorum, type MarginObservation, type ObservationSignature } from './observation.ts';
import { createMarginStore } from './persist.ts';
import { type CallRpc, readAdapterFeed, resolveBlock } from './resolve.ts';
import { EngineScreen, SCREEN_MIN_ENTRIES, type ScreenVerdict } from './screen.ts';
import { type CollateralKey, type Obligation, type ObligationSource, obligations } from './solvency.ts';
import { chainOf, emptyState, inFlightOf, type MarginState, type SubState, subKey } from './state.ts';
import { TipScreen } from './tip.ts';
import { accountTotal, assetNamer } from './total.ts';
import type {
  AccountMargin,
  BlockRecord,
  ChangedSubaccount,
  EngineMargin,
  HealthView,
  InFlight,
  MarginEvent,
  PriceKey,
} from './types.ts';
import { feedToWad, WAD } from './wad.ts';

export type MarginRpc = FollowerRpc & CallRpc & { blockNumber?(): Promise<number> };

/** When and at which block the view found a sub-account unhealthy (for latency traces). */
export interface UnhealthySince {
  block: number;
  /** ms since epoch: the block reached the view (the follower handed it over). */
  seenAt: number;
  /** ms since epoch: the view flagged the sub-account. */
  screenedAt: number;
  /** True when flagged from an unconfirmed block's prices (the tip screen, ./tip.ts). */
  tip: boolean;
}

export interface UnhealthyEntry {
  account: Address;
  subaccount: bigint;
  health: bigint;
  since?: UnhealthySince;
}

export interface MarginViewOptions {
  /** Chains this node serves (has an RPC for). */
  chains: ChainConfig[];
  store: Store;
  rpcFor: (chain: ChainConfig) => MarginRpc;
  log: Logger;
  /** Chains known only through attested observations (their contracts, no RPC). */
  observedChains?: ChainConfig[];
  /** The attestor set whose quorum makes an observation acceptable. */
  attestors?: DvnConfig;
  /** Override of every chain's confirmations (0 on an automine devnet). */
  confirmations?: number;
  /** First block to index when the store has no cursor (default 0: from the contracts' deployment). */
  startBlock?: number;
  pollIntervalMs?: number;
  /**
   * A price tick exposing at least this many entries of one engine goes through the packed screen
   * instead of a bigint recompute of each (default SCREEN_MIN_ENTRIES, 1000; 0: every tick, as the
   * e2e test runs it to check the screen against engine.health()).
   */
  screenMinEntries?: number;
  /**
   * Also poll eth_blockNumber this often and follow at once when it moves (0: off). A liquidator
   * sets it short so a new block reaches the tip screen within this, not within pollIntervalMs.
   */
  headPollMs?: number;
}

export interface MarginStats {
  /** Entries (engine, sub-account) recomputed in bigint by the last applied change. */
  lastRecomputed: number;
  totalRecomputed: number;
  /** Entries the last applied change settled as healthy by the packed screen alone (./screen.ts). */
  lastScreened: number;
  totalScreened: number;
  /** Screen books packed so far (once per engine, again after a parameter change or many trades). */
  screenPacks: number;
  blocksApplied: number;
  eventsApplied: number;
  entries: number;
  /** Per chain: the last applied block. */
  chains: Record<number, { block: number; timestamp: number }>;
  /** The last follower error per chain name, if any. */
  errors: Record<string, string>;
}

export type ChangeListener = (changed: ChangedSubaccount[]) => void;
/** Called after a block was committed and applied (served chains and observations alike). */
export type BlockListener = (eid: number, record: BlockRecord) => void;

export interface MarginView {
  start(): Promise<void>;
  stop(): Promise<void>;
  account(account: Address, subaccount: bigint): AccountMargin | undefined;
  accounts(): { account: Address; subaccount: bigint }[];
  engineHealth(engineEid: number, account: Address, subaccount: bigint): HealthView | undefined;
  /**
   * Credit and in-flight amounts per (vault chain, token) over every account: what account() would
   * give summed by margin/solvency.ts's obligations(), from the raw state without computing any margin
   * (the solvency watch runs it after every block).
   */
  obligations(): Map<CollateralKey, Obligation>;
  /**
   * Sub-accounts below health 1 on an engine: the confirmed state's, then those the prices of
   * unconfirmed blocks make unhealthy (the tip screen: nominations to simulate, not health figures).
   */
  unhealthy(engineEid: number): UnhealthyEntry[];
  /** Every price the view follows (WAD), keyed like LiquidationDistance.priceKey, as of its chain's block. */
  prices(): { key: PriceKey; price: bigint; timestamp: number }[];
  /** Per engine chain and source chain: the last heartbeat the engine recorded (SourceHeard), with the engine chain's time. */
  heard(): { engineEid: number; srcEid: number; lastHeardAt: number; engineTime: number }[];
  onChange(listener: ChangeListener): () => void;
  /** Every block applied from now on (not the store replay at start), in order per chain. */
  onBlockApplied(listener: BlockListener): () => void;
  /** The last applied block of a chain, -1 when none yet. */
  cursor(eid: number): number;
  /**
   * The chain's cursor as the store held it at start (-1: none), before anything was followed: the
   * blocks after it are the ones onBlockApplied reports (an observer started before the view needs it).
   */
  startCursor(eid: number): number;
  stats(): MarginStats;
  applyObservation(
    obs: MarginObservation,
    signatures: readonly ObservationSignature[],
  ): Promise<{ accepted: boolean; reason?: string }>;
  /** Processes every served chain up to its head now (tests and benchmarks; the followers also poll). */
  sync(): Promise<void>;
}

const entryKey = (engineEid: number, key: string): string => `${engineEid}|${key}`;

export function createMarginView(options: MarginViewOptions): MarginView {
  const log = options.log.child({ module: 'margin' });
  const mstore = createMarginStore(options.store);
  const state: MarginState = emptyState();
  const exposure = new ExposureIndex();
  /** Each entry's health as of its last recompute (undefined: a price is missing, health() reverts). */
  const healths = new Map<string, HealthView | undefined>();
  const unhealthyByEngine = new Map<number, Set<string>>();
  /** When each confirmed-unhealthy entry became so. */
  const unhealthySince = new Map<string, UnhealthySince>();
  const tip = new TipScreen();
  /** Per engine, the packed screen a large price tick goes through. */
  const screens = new Map<number, EngineScreen>();
  const screenMinEntries = options.screenMinEntries ?? SCREEN_MIN_ENTRIES;
  /** Entries per engine, for a parameter change that concerns all of them. */
  const entriesByEngine = new Map<number, Set<string>>();
  const listeners = new Set<ChangeListener>();
  const blockListeners = new Set<BlockListener>();
  const startCursors = new Map<number, number>();
  const served = new Set(options.chains.map((c) => c.eid));
  const all = [...options.chains, ...(options.observedChains ?? [])];
  const contracts = new Map<number, ChainContracts>(
    all.map((c) => [
      c.eid,
      {
        eid: c.eid,
        vault: lower(c.xmargin.vault),
        engine: c.xmargin.engine && lower(c.xmargin.engine),
        market: c.xmargin.market && lower(c.xmargin.market),
      },
    ]),
  );
  const engines = new Set(all.filter((c) => c.xmargin.engine !== undefined).map((c) => c.eid));
  const assetOf = assetNamer(all);
  const followers: {
    chain: ChainConfig;
    follower: BlockFollower;
    /** The tick in progress: ticks of one follower never overlap (its block list is not reentrant). */
    ticking: Promise<void>;
    timer?: NodeJS.Timeout;
    headPoll?: { stop(): void };
    /** A poll tick is in flight (the head watcher does not start a second one). */
    polling?: boolean;
    lastError?: unknown;
  }[] = [];
  let running = false;
  /** While a block is applied: when it reached the view (UnhealthySince.seenAt). */
  let appliedAt = 0;
  const stats: MarginStats = {
    lastRecomputed: 0,
    totalRecomputed: 0,
    lastScreened: 0,
    totalScreened: 0,
    screenPacks: 0,
    blocksApplied: 0,
    eventsApplied: 0,
    entries: 0,
    chains: {},
    errors: {},
  };
  /** Serialises commits + applies across chains (each block is one atomic step of the view). */
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  // ------------------------------------------------------------------ recompute

  function recompute(entry: string): boolean {
    const bar = entry.indexOf('|');
    const engineEid = Number(entry.slice(0, bar));
    const key = entry.slice(bar + 1);
    const sub = state.subs.get(key);
    if (sub === undefined || !engines.has(engineEid)) return false;
    const before = healths.get(entry);
    const r = computeHealthDeps(chainOf(state, engineEid), sub);
    healths.set(entry, r.health);
    exposure.set(entry, r.deps);
    let set = entriesByEngine.get(engineEid);
    if (set === undefined) {
      set = new Set();
      entriesByEngine.set(engineEid, set);
    }
    set.add(entry);
    let bad = unhealthyByEngine.get(engineEid);
    if (bad === undefined) {
      bad = new Set();
      unhealthyByEngine.set(engineEid, bad);
    }
    if (r.health !== undefined && r.health.health < WAD) {
      if (!bad.has(entry)) {
        const at = Date.now();
        const chain = chainOf(state, engineEid);
        unhealthySince.set(entry, {
          block: chain.block,
          seenAt: appliedAt || at,
          screenedAt: at,
          tip: false,
        });
      }
      bad.add(entry);
    } else {
      bad.delete(entry);
      unhealthySince.delete(entry);
    }
    return before?.health !== r.health?.health || before?.equity !== r.health?.equity;
  }

  /**
   * An entry the packed screen found healthy at the new prices: no longer unhealthy, and its exact
   * health is rebuilt when asked for (engineHealth). Its dependencies did not change (a price tick
   * does not change what an entry holds), so the exposure index stays as it is.
   */
  function settleHealthy(engineEid: number, entry: string): void {
    healths.delete(entry);
    unhealthyByEngine.get(engineEid)?.delete(entry);
    unhealthySince.delete(entry);
  }

  /**
   * The screen's verdicts for the entries of `todo` that only a price or the clock touched, on
   * engines where at least screenMinEntries of them were; undefined entries are recomputed exactly.
   */
  function screenTick(todo: ReadonlySet<string>, t: Touched): Map<string, ScreenVerdict> {
    const verdicts = new Map<string, ScreenVerdict>();
    const byEngine = new Map<number, string[]>();
    for (const entry of todo) {
      if (t.subs.has(entry)) continue; // its holdings changed: the exact path, and a stale packed copy
      const eid = Number(entry.slice(0, entry.indexOf('|')));
      if (t.engines.has(eid) || !engines.has(eid)) continue;
      let list = byEngine.get(eid);
      if (list === undefined) {
        list = [];
        byEngine.set(eid, list);
      }
      list.push(entry);
    }
    for (const [eid, list] of byEngine) screenEntries(eid, list, undefined, verdicts);
    return verdicts;
  }

  /**
   * The screen's verdicts on `entries` of engine `eid` (into `out` when given), if there are enough
   * of them to use it.
   */
  function screenEntries(
    eid: number,
    entries: readonly string[],
    override?: PriceOverride,
    out?: Map<string, ScreenVerdict>,
  ): Map<string, ScreenVerdict> | undefined {
    if (entries.length < screenMinEntries || !engines.has(eid)) return undefined;
    let screen = screens.get(eid);
    if (screen === undefined) {
      screen = new EngineScreen();
      screens.set(eid, screen);
    }
    const packsBefore = screen.packs;
    const verdicts = screen.screen(
      chainOf(state, eid),
      entries,
      function* () {
        for (const entry of entriesByEngine.get(eid) ?? []) {
          const sub = state.subs.get(entry.slice(entry.indexOf('|') + 1));
          if (sub !== undefined) yield [entry, sub] as [string, SubState];
        }
      },
      override,
      out,
    );
    stats.screenPacks += screen.packs - packsBefore;
    return verdicts;
  }

  /** Recomputes what `t` touched; returns the entries to report. */
  function propagate(t: Touched, clocks: { eid: number; before: number }[]): ChangedSubaccount[] {
    const todo = new Set<string>(t.subs);
    for (const dep of t.deps) for (const e of exposure.exposed(dep)) todo.add(e);
    for (const eid of t.engines) for (const e of entriesByEngine.get(eid) ?? []) todo.add(e);
    // Borrow fees grow with time alone: a new block time re-marks the positions in markets that charge.
    for (const { eid, before } of clocks) {
      const chain = chainOf(state, eid);
      for (const [marketId, m] of chain.markets) {
        if (m.borrowRatePerSecond === 0n) continue;
        for (const e of exposure.exposed(borrowDep(eid, marketId))) todo.add(e);
      }
      // Staleness-aware weights move with time while a source's heartbeat age is inside its decay
      // window (grace, grace + decay]: re-value what that source's credit backs when the clock crossed it.
      for (const [key, source] of chain.sources) {
        if (source.staleDecay === 0) continue;
        const srcEid = srcEidOf(key);
        if (srcEid === eid) continue;
        const heard = chain.lastHeard.get(srcEid) ?? 0;
        if (
          chain.timestamp - heard > source.staleGrace &&
          before - heard < source.staleGrace + source.staleDecay
        ) {
          for (const e of exposure.exposed(staleDep(eid, srcEid))) todo.add(e);
        }
      }
    }
    // Packed copies the screen holds: a parameter change outdates an engine's book, a changed
    // sub-account its own copy.
    for (const eid of t.engines) screens.get(eid)?.drop();
    for (const entry of t.subs) screens.get(Number(entry.slice(0, entry.indexOf('|'))))?.invalidate(entry);
    const verdicts = screenTick(todo, t);
    const changed: ChangedSubaccount[] = [];
    let n = 0;
    let screened = 0;
    for (const entry of todo) {
      const bar = entry.indexOf('|');
      const engineEid = Number(entry.slice(0, bar));
      let moved = true; // a price moved under a screened entry: its health did too
      if (verdicts.get(entry) === 'healthy') {
        settleHealthy(engineEid, entry);
        screened++;
      } else {
        moved = recompute(entry);
        if (engines.has(engineEid)) n++;
      }
      if (moved || t.subs.has(entry)) {
        const sub = state.subs.get(entry.slice(bar + 1));
        if (sub !== undefined) {
          changed.push({
            engineEid,
            account: sub.account,
            subaccount: sub.subaccount,
          });
        }
      }
    }
    stats.lastRecomputed = n;
    stats.totalRecomputed += n;
    stats.lastScreened = screened;
    stats.totalScreened += screened;
    stats.entries = 0;
    for (const set of entriesByEngine.values()) stats.entries += set.size;
    return changed;
  }

  /** Re-screens chain `eid`'s unconfirmed prices; returns the newly flagged entries as changes. */
  function screenTip(eid: number, only?: Iterable<string>): ChangedSubaccount[] {
    if (!engines.has(eid)) return [];
    const bad = unhealthyByEngine.get(eid) ?? new Set<string>();
    const prefix = `${eid}|`;
    const added = tip.screen(eid, state, exposure, bad, Date.now(), only, (entries, override) =>
      screenEntries(
        eid,
        [...entries].filter((e) => e.startsWith(prefix) && !bad.has(e)),
        override,
      ),
    );
    return added.flatMap((entry) => {
      const sub = state.subs.get(entry.slice(entry.indexOf('|') + 1));
      return sub === undefined ? [] : [{ engineEid: eid, account: sub.account, subaccount: sub.subaccount }];
    });
  }

  /** An unconfirmed block: its price answers go to the tip screen (served chains with confirmations). */
  function handleTip(
    chain: ChainConfig,
    roles: Map<string, Role>,
    ev: Extract<FollowerEvent, { type: 'block' | 'reorg' }>,
  ): void {
    if (!engines.has(chain.eid)) return;
    if (ev.type === 'reorg') {
      if (tip.dropFrom(chain.eid, ev.fromBlock)) screenTip(chain.eid);
      return;
    }
    if (ev.block.number <= chainOf(state, chain.eid).block) return;
    const feeds = new Map<Address, bigint>();
    for (const l of [...ev.logs].sort((a, b) => a.logIndex - b.logIndex)) {
      if (roles.get(l.address.toLowerCase()) !== 'feed') continue;
      const e = decodeLog('feed', l);
      if (e?.type === 'AnswerUpdated') feeds.set(e.feed, e.answer);
    }
    if (tip.addBlock(chain.eid, ev.block.number, feeds, Date.now())) notify(screenTip(chain.eid));
  }

  function notify(changed: ChangedSubaccount[]): void {
    if (changed.length === 0) return;
    for (const l of listeners) {
      try {
        l(changed);
      } catch (err) {
        log.warn({ err }, 'margin view listener threw');
      }
    }
  }

  /** Applies a block already committed (or being replayed) and recomputes what it touched. */
  function applyRecord(record: BlockRecord, seenAt = Date.now()): ChangedSubaccount[] {
    const c = contracts.get(record.eid);
    if (c === undefined) return [];
    const before = chainOf(state, record.eid).timestamp;
    appliedAt = seenAt;
    const t = applyBlock(state, c, record, emptyTouched());
    stats.blocksApplied++;
    stats.eventsApplied += record.events.length;
    stats.chains[record.eid] = { block: record.number, timestamp: record.timestamp };
    const changed = propagate(t, record.timestamp !== before ? [{ eid: record.eid, before }] : []);
    appliedAt = 0;
    // The confirmed state now holds this block's prices: the tip screen re-screens what is newer,
    // and when newer prices are held, the sub-accounts this block changed (a new position) too.
    if (tip.confirmedUpTo(record.eid, record.number)) changed.push(...screenTip(record.eid));
    else if (tip.holds(record.eid)) changed.push(...screenTip(record.eid, t.subs));
    for (const l of blockListeners) {
      try {
        l(record.eid, record);
      } catch (err) {
        log.warn({ err }, 'margin view block listener threw');
      }
    }
    return changed;
  }

  // ------------------------------------------------------------------ following

  async function handleConfirmed(
    chain: ChainConfig,
    roles: Map<string, Role>,
    filterAddresses: Address[],
    rpc: MarginRpc,
    ev: Extract<FollowerEvent, { type: 'confirmed' }>,
  ): Promise<void> {
    const seenAt = Date.now();
    const cur = chainOf(state, chain.eid);
    if (ev.block.number <= cur.block) return; // already applied (replayed from the store)
    const events: MarginEvent[] = [];
    const logs = [...ev.logs].sort((a, b) => a.logIndex - b.logIndex);
    for (const l of logs) {
      const role = roles.get(l.address.toLowerCase());
      if (role === undefined) continue;
      const e = decodeLog(role, l);
      if (e !== undefined) events.push(e);
    }
    const extra = await resolveBlock(rpc, cur, ev.block.number, events, (feed) => {
      if (!roles.has(feed)) {
        roles.set(feed, 'feed');
        filterAddresses.push(feed); // the follower reads the same array: next blocks include it
      }
    });
    const record: BlockRecord = {
      eid: chain.eid,
      number: ev.block.number,
      hash: ev.block.hash,
      timestamp: ev.block.timestamp,
      events: [...events, ...extra],
    };
    await serial(async () => {
      if (record.number <= chainOf(state, chain.eid).block) return; // applied meanwhile (observation)
      await mstore.commit(record);
      notify(applyRecord(record, seenAt));
    });
  }

  async function discoverFeeds(chain: ChainConfig, rpc: MarginRpc): Promise<Address[]> {
    const feeds = new Set<Address>();
    for (const t of chain.tokens) if (t.feed !== undefined) feeds.add(lower(t.feed));
    const head = await rpc.getBlock('latest');
    if (head !== null) {
      const adapters = new Set(chain.tokens.flatMap((t) => (t.priceAdapter ? [lower(t.priceAdapter)] : [])));
      for (const a of adapters) {
        const feed = await readAdapterFeed(rpc, a, head.number);
        if (feed !== null) feeds.add(feed);
      }
    }
    return [...feeds];
  }

  async function startFollower(chain: ChainConfig): Promise<void> {
    const rpc = options.rpcFor(chain);
    const c = contracts.get(chain.eid) as ChainContracts;
    const roles = new Map<string, Role>([[c.vault, 'vault']]);
    if (c.engine) roles.set(c.engine, 'engine');
    if (c.market) roles.set(c.market, 'market');
    for (const f of await discoverFeeds(chain, rpc)) if (!roles.has(f)) roles.set(f, 'feed');
    const addresses = [...roles.keys()] as Address[];
    const cursors: CursorStore = {
      get: async () => {
        const cur = await mstore.cursor(chain.eid);
        return cur === undefined ? undefined : { number: cur.number, hash: cur.hash };
      },
      // The cursor is written with the block's events (handleConfirmed); the follower's own write,
      // after the handler, would be a second non-atomic one.
      set: async () => {},
    };
    const follower = new BlockFollower(
      {
        chain: chain.name,
        confirmations: options.confirmations ?? chain.confirmations,
        filter: { address: addresses, topics: [marginTopics()] },
        startBlock: options.startBlock ?? 0,
        pollIntervalMs: options.pollIntervalMs ?? 500,
      },
      {
        rpc,
        cursors,
        onEvent: async (ev) => {
          if (ev.type === 'confirmed') await handleConfirmed(chain, roles, addresses, rpc, ev);
          else if (follower.options.confirmations > 0) handleTip(chain, roles, ev);
        },
      },
    );
    followers.push({ chain, follower, ticking: Promise.resolve() });
  }

  /** One tick of one follower, after the previous one; errors are kept for stats() and rethrown. */
  function tick(f: (typeof followers)[number]): Promise<void> {
    const run = f.ticking.then(async () => {
      await f.follower.tick();
      await advanceClock(f);
    });
    f.ticking = run.then(
      () => {
        delete f.lastError;
      },
      (err: unknown) => {
        f.lastError = err;
        log.warn({ chain: f.chain.name, err: String(err) }, 'margin view: chain tick failed');
      },
    );
    return run;
  }

  /**
   * The follower hands over only blocks with logs while it backfills, so after a catch-up the last
   * applied block can lie behind the confirmed head. The state is the same at the head, but its
   * clock is not (borrow fees accrue with time), so the cursor moves to the head with no events.
   */
  async function advanceClock(f: (typeof followers)[number]): Promise<void> {
    const tip = f.follower.tip;
    if (tip === undefined) return;
    const confirmed = tip.number - f.follower.options.confirmations;
    if (confirmed <= chainOf(state, f.chain.eid).block) return;
    const header = confirmed === tip.number ? tip : await options.rpcFor(f.chain).getBlock(confirmed);
    if (header === null) return;
    const record: BlockRecord = {
      eid: f.chain.eid,
      number: header.number,
      hash: header.hash,
      timestamp: header.timestamp,
      events: [],
    };
    await serial(async () => {
      if (record.number <= chainOf(state, f.chain.eid).block) return;
      await mstore.commit(record);
      notify(applyRecord(record));
    });
  }

  function poll(f: (typeof followers)[number]): void {
    if (!running) return;
    clearTimeout(f.timer);
    f.polling = true;
    void tick(f)
      .catch(() => undefined)
      .finally(() => {
        f.polling = false;
        if (running) f.timer = setTimeout(() => poll(f), options.pollIntervalMs ?? 500);
      });
  }

  /** The short head poll (headPollMs): a moved eth_blockNumber starts the follower's tick at once. */
  function watchHead(f: (typeof followers)[number]): void {
    const every = options.headPollMs ?? 0;
    if (every <= 0 || !engines.has(f.chain.eid)) return;
    f.headPoll = pollHead(
      options.rpcFor(f.chain),
      every,
      () => f.follower.latestHead,
      () => {
        if (running && !f.polling) poll(f);
      },
    );
  }

  // ------------------------------------------------------------------ queries

  function engineMargin(engineEid: number, key: string): EngineMargin | undefined {
    const sub = state.subs.get(key);
    if (sub === undefined || !engines.has(engineEid)) return undefined;
    const chain = chainOf(state, engineEid);
    // Marks and price notes are not kept between recomputes: rebuilt here, from the same state.
    const r = computeEngine(chain, sub);
    return {
      engineEid,
      credit: Object.fromEntries(sub.credit.get(engineEid) ?? []),
      positions: r.positions.map((p) => ({
        marketId: p.marketId,
        size: p.size,
        entryPrice: p.entryPrice,
        markPrice: p.markPrice,
        unrealizedPnl: p.unrealizedPnl,
      })),
      settledBalance: r.settledBalance,
      health: r.health,
      distances: liquidationDistances(chain, sub, r),
    };
  }

  const view: MarginView = {
    async start() {
      // 1. Replay what the store holds: state exactly as of each chain's cursor, no RPC needed.
      for await (const record of mstore.blocks())
        applyBlock(
          state,
          contracts.get(record.eid) ?? {
            eid: record.eid,
            vault: '0x0000000000000000000000000000000000000000',
          },
          record,
        );
      for (const eid of contracts.keys()) {
        const cur = await mstore.cursor(eid);
        startCursors.set(eid, cur?.number ?? -1);
        if (cur === undefined) continue;
        const chain = chainOf(state, eid);
        chain.block = cur.number;
        chain.hash = cur.hash;
        chain.timestamp = cur.timestamp;
        stats.chains[eid] = { block: cur.number, timestamp: cur.timestamp };
      }
      const t = emptyTouched();
      for (const key of state.subs.keys()) for (const eid of engines) t.subs.add(entryKey(eid, key));
      propagate(t, []);
      // 2. Follow the served chains from their cursors.
      for (const chain of options.chains) await startFollower(chain);
      running = true;
      for (const f of followers) {
        poll(f);
        watchHead(f);
      }
      log.info(
        { chains: options.chains.map((c) => c.name), subaccounts: state.subs.size },
        'margin view started',
      );
    },
    async stop() {
      running = false;
      for (const f of followers) {
        clearTimeout(f.timer);
        f.headPoll?.stop();
      }
      await Promise.all(followers.map((f) => f.ticking));
      await queue;
      followers.length = 0;
    },
    async sync() {
      for (const f of followers) await tick(f);
      await queue;
    },
    account(account, subaccount) {
      const key = subKey(account, subaccount);
      const sub = state.subs.get(key);
      if (sub === undefined) return undefined;
      const ids = new Set<number>([...sub.credit.keys(), ...sub.positions.keys(), ...sub.settled.keys()]);
      const list = [...ids]
        .filter((e) => engines.has(e))
        .sort((a, b) => a - b)
        .flatMap((e) => engineMargin(e, key) ?? []);
      return {
        account: sub.account,
        subaccount: sub.subaccount,
        locked: Object.fromEntries(sub.locked),
        engines: list,
        inFlight: inFlightOf(state, key),
        held: [...sub.held].map(([id, h]) => ({ id: id as Hex, engineEid: h.engineEid, reason: h.reason })),
        total: accountTotal(list, assetOf),
      };
    },
    accounts() {
      return [...state.subs.values()].map((s) => ({ account: s.account, subaccount: s.subaccount }));
    },
    obligations() {
      const inFlight = new Map<string, InFlight[]>();
      for (const m of state.sent.values()) {
        const key = subKey(m.account, m.subaccount);
        const list = inFlight.get(key);
        if (list === undefined) inFlight.set(key, [m]);
        else list.push(m);
      }
      const sources: ObligationSource[] = [];
      for (const [key, sub] of state.subs) {
        const credits = [...sub.credit].filter(([e]) => engines.has(e));
        sources.push({
          engines: credits.map(([, c]) => ({ credit: Object.fromEntries(c) })),
          inFlight: inFlight.get(key) ?? [],
        });
      }
      return obligations(sources);
    },
    engineHealth(engineEid, account, subaccount) {
      const key = subKey(account, subaccount);
      const entry = entryKey(engineEid, key);
      if (healths.has(entry)) return healths.get(entry);
      const sub = state.subs.get(key);
      if (sub === undefined || !engines.has(engineEid)) return undefined;
      return computeEngine(chainOf(state, engineEid), sub).health;
    },
    unhealthy(engineEid) {
      const out: UnhealthyEntry[] = [];
      const confirmed = unhealthyByEngine.get(engineEid) ?? new Set<string>();
      for (const entry of confirmed) {
        const h = healths.get(entry);
        const sub = state.subs.get(entry.slice(entry.indexOf('|') + 1));
        if (h !== undefined && sub !== undefined) {
          const since = unhealthySince.get(entry);
          out.push({
            account: sub.account,
            subaccount: sub.subaccount,
            health: h.health,
            ...(since === undefined ? {} : { since }),
          });
        }
      }
      for (const [entry, f] of tip.flagged(engineEid)) {
        const sub = state.subs.get(entry.slice(entry.indexOf('|') + 1));
        if (confirmed.has(entry) || sub === undefined) continue;
        const since = { block: f.block, seenAt: f.seenAt, screenedAt: f.screenedAt, tip: true };
        out.push({ account: sub.account, subaccount: sub.subaccount, health: f.health, since });
      }
      return out.sort((a, b) => (a.health < b.health ? -1 : a.health > b.health ? 1 : 0));
    },
    prices() {
      const out = new Map<PriceKey, { key: PriceKey; price: bigint; timestamp: number }>();
      for (const chain of state.chains.values()) {
        for (const [adapter, a] of chain.adapters) {
          const address = a.feed ?? adapter;
          const raw = a.feed === null ? a.price : chain.feeds.get(a.feed);
          const price =
            raw === undefined || raw === null ? null : a.feed === null ? raw : feedToWad(raw, a.feedDecimals);
          if (price === null || price <= 0n) continue;
          const key = `${chain.eid}:${address.toLowerCase()}` as PriceKey;
          out.set(key, { key, price, timestamp: chain.timestamp });
        }
      }
      return [...out.values()];
    },
    heard() {
      const out: { engineEid: number; srcEid: number; lastHeardAt: number; engineTime: number }[] = [];
      for (const chain of state.chains.values()) {
        for (const [srcEid, at] of chain.lastHeard) {
          out.push({ engineEid: chain.eid, srcEid, lastHeardAt: at, engineTime: chain.timestamp });
        }
      }
      return out;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onBlockApplied(listener) {
      blockListeners.add(listener);
      return () => blockListeners.delete(listener);
    },
    cursor(eid) {
      return state.chains.get(eid)?.block ?? -1;
    },
    startCursor(eid) {
      return startCursors.get(eid) ?? -1;
    },
    stats() {
      const errors: Record<string, string> = {};
      for (const f of followers) if (f.lastError !== undefined) errors[f.chain.name] = String(f.lastError);
      return { ...stats, chains: { ...stats.chains }, errors };
    },
    async applyObservation(obs, signatures) {
      if (served.has(obs.eid)) return { accepted: false, reason: 'this node follows that chain itself' };
      if (!contracts.has(obs.eid)) return { accepted: false, reason: `unknown chain eid ${obs.eid}` };
      if (options.attestors === undefined) return { accepted: false, reason: 'no attestor set configured' };
      const verdict = checkQuorum(obs, signatures, options.attestors);
      if (!verdict.ok) return { accepted: false, reason: verdict.reason };
      return serial(async () => {
        const cur = chainOf(state, obs.eid).block;
        if (cur >= 0 && obs.fromBlock !== cur + 1) {
          return { accepted: false, reason: `observation starts at ${obs.fromBlock}, cursor is ${cur}` };
        }
        const blocks = [...obs.blocks].sort((a, b) => a.number - b.number);
        if (blocks.some((b) => b.number < obs.fromBlock || b.number > obs.block.number)) {
          return { accepted: false, reason: 'a block lies outside the observed range' };
        }
        const changed: ChangedSubaccount[] = [];
        for (const b of [...blocks, { ...obs.block, events: [] }]) {
          if (b.number <= chainOf(state, obs.eid).block) continue;
          const record: BlockRecord = { eid: obs.eid, ...b };
          await mstore.commit(record);
          changed.push(...applyRecord(record));
        }
        notify(changed);
        return { accepted: true };
      });
    },
  };
  return view;
}

function lower(a: string): Address {
  return a.toLowerCase() as Address;
}
