// The in-memory state the view rebuilds from events: per chain what its contracts hold (risk
// parameters, adapters, feed answers, market borrow indexes) and per (account, subaccount) what
// the vaults lock, the engines credit, the market holds as positions and settled balance, plus the
// messages in flight between chains. Plain maps, and a SubState per sub-account (./sub-state.ts: a
// shared layout and its values). The state is a pure function of the events.

import type { Address, Hex } from '../config/types.ts';
import { SubState } from './sub-state.ts';
import type { InFlight } from './types.ts';

export { type HeldLock, type PositionEntry, type PositionState, SubState } from './sub-state.ts';

export interface RiskAssetState {
  oracle: Address;
  weight: bigint;
  enabled: boolean;
  /** Size-aware weight: market depth in thousands of USD (0: none). */
  depth: number;
}

export interface SourceState {
  assetId: number;
  decimals: number;
  enabled: boolean;
  /** Staleness-aware weight: seconds of grace, then of linear decay to 0 (decay 0: off). */
  staleGrace: number;
  staleDecay: number;
}

export interface MarketRiskState {
  initialMargin: bigint;
  maintenanceMargin: bigint;
  enabled: boolean;
}

export interface MarketState {
  oracle: Address;
  borrowRatePerSecond: bigint;
  borrowIndex: bigint;
  lastAccrual: number;
}

/** An oracle adapter: a Chainlink adapter reads `feed`; a derived one (ERC-4626) has its own price. */
export interface AdapterState {
  feed: Address | null;
  feedDecimals: number;
  /** Derived adapters only: the last price() read (null: it reverted). */
  price?: bigint | null;
}

export interface ChainState {
  eid: number;
  /** Last applied block (the view's "as of" for this chain). */
  block: number;
  hash: Hex;
  timestamp: number;
  /** The vault's outbound message nonce, counted from its events (MOVE's onward LOCK ids are not emitted). */
  vaultNonce: bigint;
  adapters: Map<Address, AdapterState>;
  /** Raw feed answers (feed decimals). */
  feeds: Map<Address, bigint>;
  riskAssets: Map<number, RiskAssetState>;
  /** By `${srcEid}:${token}`. */
  sources: Map<string, SourceState>;
  marketRisk: Map<number, MarketRiskState>;
  /** Source-chain time of the latest heartbeat the engine recorded, by source eid (SourceHeard). */
  lastHeard: Map<number, number>;
  venue: Address | undefined;
  /** Quote decimals by venue address. */
  quoteDecimals: Map<Address, number>;
  markets: Map<number, MarketState>;
}

export interface MarginState {
  chains: Map<number, ChainState>;
  subs: Map<string, SubState>;
  /** Messages sent and not yet seen arriving, by id. */
  sent: Map<Hex, InFlight>;
  /** Arrivals seen before their send (chains are indexed independently, in any order). */
  arrived: Set<Hex>;
  /** A vault's PayoutQueued carries no account: held here until the engine's Debited names it. */
  queuedUnmatched: Map<Hex, { vaultEid: number; token: Address; amount: bigint }>;
  /** releaseIds of returnHeldCredit: their Debited moves no credit (the LOCK was never credited). */
  heldReturns: Set<Hex>;
  /** id -> sub key of held LOCKs. */
  heldIndex: Map<Hex, string>;
}

/**
 * `${account lowercase}:${subaccount}`, as one flat string: a template literal makes a cons string
 * that V8 later flattens into a second copy, keeping both (~80 B more per sub-account).
 */
export const subKey = (account: Address, subaccount: bigint): string =>
  [account.toLowerCase(), subaccount].join(':');

/**
 * The `${eid}:${token}` key of a (chain, token) pair, one shared string per pair. Every sub-account
 * holding a token keys its credit and locked balances by it: a string per holding cost ~1.5 KB per
 * sub-account at 100k of them with five holdings each (bench/margin.ts). There are as many pairs as
 * the engines' collateral sources and the vaults' tokens; past MAX_SHARED_KEYS (never in practice)
 * keys are still correct, just not shared.
 */
export function sourceKey(eid: number, token: Address): string {
  const key = `${eid}:${token}`;
  const shared = sharedKeys.get(key);
  if (shared !== undefined) return shared;
  if (sharedKeys.size < MAX_SHARED_KEYS) sharedKeys.set(key, key);
  return key;
}
const sharedKeys = new Map<string, string>();
const MAX_SHARED_KEYS = 100_000;

export function emptyState(): MarginState {
  return {
    chains: new Map(),
    subs: new Map(),
    sent: new Map(),
    arrived: new Set(),
    queuedUnmatched: new Map(),
    heldReturns: new Set(),
    heldIndex: new Map(),
  };
}

export function chainOf(state: MarginState, eid: number): ChainState {
  let c = state.chains.get(eid);
  if (c === undefined) {
    c = {
      eid,
      block: -1,
      hash: '0x',
      timestamp: 0,
      vaultNonce: 0n,
      adapters: new Map(),
      feeds: new Map(),
      riskAssets: new Map(),
      sources: new Map(),
      lastHeard: new Map(),
      marketRisk: new Map(),
      venue: undefined,
      quoteDecimals: new Map(),
      markets: new Map(),
    };
    state.chains.set(eid, c);
  }
  return c;
}

export function subOf(state: MarginState, account: Address, subaccount: bigint): SubState {
  const key = subKey(account, subaccount);
  let s = state.subs.get(key);
  if (s === undefined) {
    s = new SubState(key, shared(subaccount));
    state.subs.set(key, s);
  }
  return s;
}

/** Sub-account numbers are mostly 0, 1, 2…: one shared bigint each (a bigint is 24 B). */
const SMALL_SUBACCOUNTS: readonly bigint[] = Array.from({ length: 256 }, (_, i) => BigInt(i));
const shared = (n: bigint): bigint => (n >= 0n && n < 256n ? (SMALL_SUBACCOUNTS[Number(n)] as bigint) : n);

/** In-flight messages of one sub-account (sent, not yet seen arriving). */
export function inFlightOf(state: MarginState, key: string): InFlight[] {
  const out: InFlight[] = [];
  for (const m of state.sent.values()) if (subKey(m.account, m.subaccount) === key) out.push(m);
  return out;
}
