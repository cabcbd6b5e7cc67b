// Applies one MarginEvent of one chain's block to the state and says what it touched, so the view
// recomputes only that: sub-accounts on an engine (`${engineEid}|${subKey}`), prices (dependency
// keys, see ./compute.ts) or a whole engine (a risk parameter changed).
//
// In-flight matching is order-free on purpose: each chain is indexed on its own, so the arrival of
// a message (Credited on the destination) may be applied before its send (Deposited on the source).
// A send is in flight until its id is seen arriving, whichever comes first.

import type { Address, Hex } from '../config/types.ts';
import { messageId, messageNonce } from '../protocol/messages.ts';
import { chainOf, type MarginState, sourceKey, subKey, subOf } from './state.ts';
import { type InFlight, type MarginEvent, MSG_KIND } from './types.ts';

export interface Touched {
  subs: Set<string>;
  deps: Set<string>;
  engines: Set<number>;
}

export const emptyTouched = (): Touched => ({ subs: new Set(), deps: new Set(), engines: new Set() });

export const priceDep = (eid: number, address: Address): string => `p:${eid}:${address.toLowerCase()}`;
export const borrowDep = (eid: number, marketId: number): string => `b:${eid}:${marketId}`;
/** The staleness clock of credit from `srcEid` on the engine of `eid` (staleness-aware weights). */
export const staleDep = (eid: number, srcEid: number): string => `s:${eid}:${srcEid}`;

/** Addresses of a chain's contracts, as the apply step needs them. */
export interface ChainContracts {
  eid: number;
  vault: Address;
  engine?: Address | undefined;
  market?: Address | undefined;
}

const KIND_NAME: Record<number, InFlight['kind']> = {
  [MSG_KIND.RELEASE]: 'RELEASE',
  [MSG_KIND.SEIZE]: 'SEIZE',
  [MSG_KIND.MOVE]: 'MOVE',
};

function send(state: MarginState, msg: InFlight): void {
  if (state.arrived.delete(msg.id)) return; // its arrival was applied first
  state.sent.set(msg.id, msg);
}

/** Marks `id` arrived; returns the send it matched, if that was seen. */
function arrive(state: MarginState, id: Hex): InFlight | undefined {
  const msg = state.sent.get(id);
  if (msg === undefined) state.arrived.add(id);
  else state.sent.delete(id);
  return msg;
}

/**
 * The next id the vault generates (XmarginOApp._nextMessageId). The nonce is counted from the vault's
 * own events; when the view did not start at the vault's deployment (or a count drifted), it is read
 * again from the id that a Deposited carries (an id is its sender and nonce, packed).
 */
function nextVaultId(state: MarginState, c: ChainContracts, seen?: Hex): Hex {
  const chain = chainOf(state, c.eid);
  const expect = messageId(c.eid, c.vault, chain.vaultNonce + 1n);
  if (seen === undefined || seen === expect) {
    chain.vaultNonce += 1n;
    return expect;
  }
  const nonce = messageNonce(seen);
  if (messageId(c.eid, c.vault, nonce) === seen.toLowerCase()) chain.vaultNonce = nonce;
  return seen; // not this vault's id: leave the count alone
}

export function applyEvent(
  state: MarginState,
  c: ChainContracts,
  block: { number: number; timestamp: number },
  e: MarginEvent,
  t: Touched,
): void {
  const eid = c.eid;
  const chain = chainOf(state, eid);
  const touch = (engineEid: number, account: Address, subaccount: bigint) =>
    t.subs.add(`${engineEid}|${subKey(account, subaccount)}`);

  switch (e.type) {
    // ---------------------------------------------------------------- vault
    case 'Deposited': {
      const sub = subOf(state, e.account, e.subaccount);
      sub.addLocked(sourceKey(eid, e.token), e.amount);
      nextVaultId(state, c, e.id);
      // Local deposits too: their Credited comes in the same transaction, so they never stay in
      // flight, and every arrival has a send to match (nothing accumulates in `arrived`).
      send(state, {
        id: e.id,
        kind: 'LOCK',
        srcEid: eid,
        dstEid: e.engineEid,
        account: sub.account,
        subaccount: e.subaccount,
        token: e.token,
        tokenEid: eid,
        amount: e.amount,
      });
      touch(e.engineEid, e.account, e.subaccount);
      return;
    }
    case 'CreditMoved': {
      arrive(state, e.id); // the MOVE reached the vault
      const lockId = nextVaultId(state, c);
      send(state, {
        id: lockId,
        kind: 'LOCK',
        srcEid: eid,
        dstEid: e.toEngineEid,
        account: e.account.toLowerCase() as Address,
        subaccount: e.subaccount,
        token: e.token,
        tokenEid: eid,
        amount: e.amount,
      });
      touch(e.fromEngineEid, e.account, e.subaccount);
      touch(e.toEngineEid, e.account, e.subaccount);
      return;
    }
    case 'LockPending':
    case 'LockFlushed': {
      const msg = state.sent.get(e.id);
      if (msg !== undefined) {
        if (e.type === 'LockPending') msg.pending = true;
        else delete msg.pending;
        touch(msg.dstEid, msg.account, msg.subaccount);
      }
      return;
    }
    case 'PaidOut': {
      const sub = subOf(state, e.account, e.subaccount);
      sub.addLocked(sourceKey(eid, e.token), -e.amount);
      arrive(state, e.id);
      touch(e.engineEid, e.account, e.subaccount);
      return;
    }
    case 'PayoutQueued': {
      // Debited from the books already (locked went down); the tokens leave later.
      const msg = arrive(state, e.id);
      if (msg === undefined) {
        state.queuedUnmatched.set(e.id, { vaultEid: eid, token: e.token, amount: e.amount });
        return;
      }
      subOf(state, msg.account, msg.subaccount).addLocked(sourceKey(eid, e.token), -e.amount);
      touch(msg.srcEid, msg.account, msg.subaccount);
      return;
    }
    // ---------------------------------------------------------------- engine
    case 'Credited': {
      const sub = subOf(state, e.account, e.subaccount);
      sub.addCredit(eid, sourceKey(e.srcEid, e.token), e.amount);
      // A claim of held credit emits Credited for a LOCK whose arrival was already counted (CreditHeld).
      if (sub.held?.has(e.id) !== true) arrive(state, e.id);
      touch(eid, e.account, e.subaccount);
      return;
    }
    case 'CreditHeld': {
      const sub = subOf(state, e.account, e.subaccount);
      sub.held ??= new Map();
      sub.held.set(e.id, { engineEid: eid, reason: e.reason });
      state.heldIndex.set(e.id, sub.key);
      arrive(state, e.id);
      touch(eid, e.account, e.subaccount);
      return;
    }
    case 'HeldCreditClaimed':
    case 'HeldCreditReturned': {
      const key = state.heldIndex.get(e.id);
      state.heldIndex.delete(e.id);
      const sub = key === undefined ? undefined : state.subs.get(key);
      if (sub?.held !== undefined) {
        sub.held.delete(e.id);
        if (sub.held.size === 0) sub.held = undefined;
      }
      if (e.type === 'HeldCreditReturned') state.heldReturns.add(e.releaseId);
      if (sub !== undefined) touch(eid, sub.account, sub.subaccount);
      return;
    }
    case 'Debited': {
      const sub = subOf(state, e.account, e.subaccount);
      if (!state.heldReturns.delete(e.id)) sub.addCredit(eid, sourceKey(e.srcEid, e.token), -e.amount);
      const kind = KIND_NAME[e.kind] ?? 'RELEASE';
      send(state, {
        id: e.id,
        kind,
        srcEid: eid,
        dstEid: e.srcEid,
        account: sub.account,
        subaccount: e.subaccount,
        token: e.token,
        tokenEid: e.srcEid,
        amount: e.amount,
      });
      const queued = state.queuedUnmatched.get(e.id);
      if (queued !== undefined) {
        state.queuedUnmatched.delete(e.id);
        sub.addLocked(sourceKey(queued.vaultEid, queued.token), -queued.amount);
      }
      touch(eid, e.account, e.subaccount);
      if (kind === 'MOVE') touch(e.dstEngineEid, e.account, e.subaccount);
      return;
    }
    case 'Liquidated':
    case 'BadDebtSettled':
      // Their state changes arrive as Debited / PositionChanged / SettledChanged; listeners hear of them.
      touch(eid, e.account, e.subaccount);
      return;
    case 'RiskAssetSet':
      chain.riskAssets.set(e.assetId, {
        oracle: e.oracle,
        weight: e.weight,
        enabled: e.enabled,
        depth: e.depth,
      });
      t.engines.add(eid);
      return;
    case 'CollateralSourceSet':
      chain.sources.set(sourceKey(e.srcEid, e.token), {
        assetId: e.assetId,
        decimals: e.decimals,
        enabled: e.enabled,
        staleGrace: e.staleGrace,
        staleDecay: e.staleDecay,
      });
      t.engines.add(eid);
      return;
    case 'SourceHeard':
      // MarginEngine._recordHeartbeat only ever moves it forward.
      chain.lastHeard.set(e.srcEid, e.sentAt);
      t.deps.add(staleDep(eid, e.srcEid));
      return;
    case 'MarketRiskSet':
      chain.marketRisk.set(e.marketId, {
        initialMargin: e.initialMargin,
        maintenanceMargin: e.maintenanceMargin,
        enabled: e.enabled,
      });
      t.engines.add(eid);
      return;
    case 'VenueSet':
      chain.venue = e.venue;
      t.engines.add(eid);
      return;
    case 'LiquidationConfigSet':
      return; // not an input of health
    // ---------------------------------------------------------------- market
    case 'MarketAdded':
      chain.markets.set(e.marketId, {
        oracle: e.oracle,
        borrowRatePerSecond: e.borrowRatePerSecond,
        borrowIndex: 0n,
        lastAccrual: block.timestamp,
      });
      t.engines.add(eid);
      return;
    case 'MarketParamsSet': {
      const m = chain.markets.get(e.marketId);
      if (m === undefined) return;
      // setMarketParams accrues at the old rate first, which moves lastAccrual to now even when the
      // index did not change (no BorrowAccrued then).
      m.lastAccrual = block.timestamp;
      m.oracle = e.oracle;
      m.borrowRatePerSecond = e.borrowRatePerSecond;
      t.engines.add(eid);
      return;
    }
    case 'BorrowAccrued': {
      const m = chain.markets.get(e.marketId);
      if (m !== undefined) {
        m.borrowIndex = e.borrowIndex;
        m.lastAccrual = e.timestamp;
      }
      return; // the index as of now is unchanged by an accrual: nothing to recompute
    }
    case 'PositionChanged': {
      const sub = subOf(state, e.account, e.subaccount);
      const m = chain.markets.get(e.marketId);
      // Every trade accrues first (BorrowAccrued precedes this in the same transaction when the index
      // moved), so the position's index at entry is the market's index now.
      if (m !== undefined) m.lastAccrual = block.timestamp;
      sub.setPosition(
        eid,
        e.marketId,
        e.sizeAfter === 0n
          ? undefined
          : { size: e.sizeAfter, entryPrice: e.entryPrice, borrowIndexAtEntry: m?.borrowIndex ?? 0n },
      );
      sub.setSettled(eid, e.settledAfter);
      touch(eid, e.account, e.subaccount);
      return;
    }
    case 'SettledChanged': {
      subOf(state, e.account, e.subaccount).setSettled(eid, e.settledAfter);
      touch(eid, e.account, e.subaccount);
      return;
    }
    // ---------------------------------------------------------------- prices
    case 'AnswerUpdated':
    case 'FeedSeeded':
      chain.feeds.set(e.feed, e.answer);
      t.deps.add(priceDep(eid, e.feed));
      return;
    case 'AdapterResolved':
      chain.adapters.set(e.adapter, { feed: e.feed, feedDecimals: e.feedDecimals });
      t.engines.add(eid);
      return;
    case 'AdapterPriced': {
      const a = chain.adapters.get(e.adapter);
      if (a !== undefined) a.price = e.price;
      t.deps.add(priceDep(eid, e.adapter));
      return;
    }
    case 'QuoteResolved':
      chain.quoteDecimals.set(e.venue, e.decimals);
      t.engines.add(eid);
      return;
  }
}

/** Applies one block of one chain: its events in log order, then the chain's clock. */
export function applyBlock(
  state: MarginState,
  c: ChainContracts,
  block: { number: number; hash: Hex; timestamp: number; events: readonly MarginEvent[] },
  t: Touched = emptyTouched(),
): Touched {
  for (const e of block.events) applyEvent(state, c, block, e, t);
  const chain = chainOf(state, c.eid);
  chain.block = block.number;
  chain.hash = block.hash;
  chain.timestamp = block.timestamp;
  return t;
}
