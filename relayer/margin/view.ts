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
import { applyBlock, type ChainContracts, emptyTouched } from './apply.ts';
import { computeEngine, liquidationDistances } from './compute.ts';
import { decodeLog, marginTopics, type Role } from './decode.ts';
import { entryKey, HealthLedger, type LedgerStats, subKeyOfEntry, type UnhealthySince } from './ledger.ts';
import { checkQuorum, type MarginObservation, type ObservationSignature } from './observation.ts';
import { createMarginStore } from './persist.ts';
import { type CallRpc, readAdapterFeed, resolveBlock } from './resolve.ts';
import { type CollateralKey, type Obligation, type ObligationSource, obligations } from './solvency.ts';
import { chainOf, emptyState, inFlightOf, type MarginState, subKey } from './state.ts';
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
import { feedToWad } from './wad.ts';

export type { UnhealthySince } from './ledger.ts';

export type MarginRpc = FollowerRpc & CallRpc & { blockNumber?(): Promise<number> };

export interface UnhealthyEntry {
  account: Address;
  subaccount: bigint;
  /**
   * WAD. Exact for an entry recomputed in bigint; for one the packed screen found clearly under
   * water, its float figure (within ~1e-12 of the engine's; that it is under 1 is exact). A
   * liquidator ranks by it and checks the engine itself before sending.
   */
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

export interface MarginStats extends LedgerStats {
  blocksApplied: number;
  eventsApplied: number;
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

export function createMarginView(options: MarginViewOptions): MarginView {
  const log = options.log.child({ module: 'margin' });
  const mstore = createMarginStore(options.store);
  const state: MarginState = emptyState();
  const tip = new TipScreen();
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
  const ledger = new HealthLedger(state, engines, options.screenMinEntries);
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
  const stats: Omit<MarginStats, keyof LedgerStats> = {
    blocksApplied: 0,
    eventsApplied: 0,
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

  // ------------------------------------------------------------------ tip

  /** Re-screens chain `eid`'s unconfirmed prices; returns the newly flagged entries as changes. */
  function screenTip(eid: number, only?: Iterable<string>): ChangedSubaccount[] {
    if (!engines.has(eid)) return [];
    const bad = ledger.unhealthySet(eid);
    const added = tip.screen(eid, state, ledger.exposure, bad, Date.now(), only, (deps, override) =>
      ledger.triage(eid, deps, override),
    );
    return added.flatMap((entry) => {
      const sub = state.subs.get(subKeyOfEntry(entry));
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
    const t = applyBlock(state, c, record, emptyTouched());
    stats.blocksApplied++;
    stats.eventsApplied += record.events.length;
    stats.chains[record.eid] = { block: record.number, timestamp: record.timestamp };
    const changed = ledger.propagate(
      t,
      record.timestamp !== before ? [{ eid: record.eid, before }] : [],
      seenAt,
    );
    // The confirmed state now holds this block's prices: the tip screen re-screens what is newer,
    // and when newer prices are held, the sub-accounts this block changed (a new position) too.
    if (tip.confirmedUpTo(record.eid, record.number)) appendAll(changed, screenTip(record.eid));
    else if (tip.holds(record.eid)) appendAll(changed, screenTip(record.eid, t.subs));
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
      credit: Object.fromEntries(sub.credits(engineEid)),
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
      ledger.propagate(t, []);
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
      const ids = new Set<number>([...sub.creditEngines(), ...sub.positionChains(), ...sub.settledChains()]);
      const list = [...ids]
        .filter((e) => engines.has(e))
        .sort((a, b) => a - b)
        .flatMap((e) => engineMargin(e, key) ?? []);
      return {
        account: sub.account,
        subaccount: sub.subaccount,
        locked: Object.fromEntries(sub.lockedEntries()),
        engines: list,
        inFlight: inFlightOf(state, key),
        held: [...(sub.held ?? [])].map(([id, h]) => ({
          id: id as Hex,
          engineEid: h.engineEid,
          reason: h.reason,
        })),
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
        sources.push({
          engines: sub
            .creditEngines()
            .filter((e) => engines.has(e))
            .map((e) => ({ credit: Object.fromEntries(sub.credits(e)) })),
          inFlight: inFlight.get(key) ?? [],
        });
      }
      return obligations(sources);
    },
    engineHealth(engineEid, account, subaccount) {
      return ledger.health(engineEid, subKey(account, subaccount));
    },
    unhealthy(engineEid) {
      const out: UnhealthyEntry[] = [];
      const confirmed = ledger.unhealthySet(engineEid);
      for (const { sub, health, since } of ledger.unhealthy(engineEid)) {
        out.push({
          account: sub.account,
          subaccount: sub.subaccount,
          health,
          ...(since === undefined ? {} : { since }),
        });
      }
      for (const [entry, f] of tip.flagged(engineEid)) {
        const sub = state.subs.get(subKeyOfEntry(entry));
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
      return { ...ledger.stats, ...stats, chains: { ...stats.chains }, errors };
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
          appendAll(changed, applyRecord(record));
        }
        notify(changed);
        return { accepted: true };
      });
    },
  };
  return view;
}

/**
 * `target.push(...items)` without the spread: a tick reports up to every sub-account of an engine,
 * and spreading ~120k or more arguments overflows the stack (RangeError).
 */
function appendAll<T>(target: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) target.push(items[i] as T);
}

function lower(a: string): Address {
  return a.toLowerCase() as Address;
}
