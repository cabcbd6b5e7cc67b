// In-flight tracking on decoded events: LOCKs sent and not yet credited/held, RELEASE/SEIZE/MOVE
// debited and not yet paid out/queued/moved, matched by message id whatever the order in which the
// chains' blocks are applied.

import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { applyBlock, type ChainContracts } from '../../../relayer/margin/apply.ts';
import { emptyState, inFlightOf, type MarginState, subKey } from '../../../relayer/margin/state.ts';
import type { MarginEvent } from '../../../relayer/margin/types.ts';
import { messageId } from '../../../relayer/protocol/messages.ts';

const a = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}` as Address;
const A: ChainContracts = { eid: 40_101, vault: a(0xa1) };
const Bc: ChainContracts = { eid: 40_102, vault: a(0xb1), engine: a(0xb2), market: a(0xb3) };
const Cc: ChainContracts = { eid: 40_103, vault: a(0xc1), engine: a(0xc2), market: a(0xc3) };
const T = a(0xbeef);
const WETH_A = a(0x1001);
const sub = { account: T, subaccount: 7n };
const KEY = subKey(T, 7n);
let n = 0;
const apply = (s: MarginState, c: ChainContracts, events: MarginEvent[]) =>
  applyBlock(s, c, { number: ++n, hash: '0x00', timestamp: n, events });

const lockId = (nonce: bigint): Hex => messageId(A.eid, A.vault, nonce);
const deposit = (amount: bigint): MarginEvent => ({
  type: 'Deposited',
  id: lockId(1n),
  ...sub,
  token: WETH_A,
  amount,
  engineEid: Bc.eid,
});
const credited = (id: Hex, amount: bigint): MarginEvent => ({
  type: 'Credited',
  id,
  ...sub,
  srcEid: A.eid,
  token: WETH_A,
  amount,
});

describe('in-flight messages', () => {
  it('a remote deposit is in flight until credited on the engine, in either order', () => {
    const s = emptyState();
    apply(s, A, [deposit(5n)]);
    expect(inFlightOf(s, KEY)).toMatchObject([
      { id: lockId(1n), kind: 'LOCK', srcEid: A.eid, dstEid: Bc.eid, amount: 5n },
    ]);
    expect(s.subs.get(KEY)?.locked(`${A.eid}:${WETH_A}`)).toBe(5n);
    apply(s, Bc, [credited(lockId(1n), 5n)]);
    expect(inFlightOf(s, KEY)).toEqual([]);
    expect(s.subs.get(KEY)?.credit(Bc.eid, `${A.eid}:${WETH_A}`)).toBe(5n);

    const r = emptyState(); // destination first
    apply(r, Bc, [credited(lockId(1n), 5n)]);
    apply(r, A, [deposit(5n)]);
    expect(inFlightOf(r, KEY)).toEqual([]);
    expect(r.arrived.size).toBe(0);
  });

  it('a held LOCK is no longer in flight; claiming it credits without a second arrival', () => {
    const s = emptyState();
    apply(s, A, [deposit(5n)]);
    apply(s, Bc, [{ type: 'CreditHeld', id: lockId(1n), ...sub, reason: 4 }]);
    expect(inFlightOf(s, KEY)).toEqual([]);
    expect([...(s.subs.get(KEY)?.held?.keys() ?? [])]).toEqual([lockId(1n)]);
    apply(s, Bc, [credited(lockId(1n), 5n), { type: 'HeldCreditClaimed', id: lockId(1n) }]);
    expect(s.subs.get(KEY)?.held).toBeUndefined();
    expect(s.arrived.size).toBe(0);
    expect(s.subs.get(KEY)?.credit(Bc.eid, `${A.eid}:${WETH_A}`)).toBe(5n);
  });

  it('a withdrawal is in flight from Debited to PaidOut; a queued payout resolves the account by id', () => {
    const s = emptyState();
    apply(s, A, [deposit(5n)]);
    apply(s, Bc, [credited(lockId(1n), 5n)]);
    const rel: Hex = `0x${'22'.repeat(32)}`;
    const seize: Hex = `0x${'33'.repeat(32)}`;
    const debit = (id: Hex, kind: number, amount: bigint): MarginEvent => ({
      type: 'Debited',
      id,
      kind,
      ...sub,
      srcEid: A.eid,
      token: WETH_A,
      amount,
      recipient: a(9),
      dstEngineEid: 0,
    });
    apply(s, Bc, [debit(rel, 2, 2n)]);
    expect(inFlightOf(s, KEY)).toMatchObject([{ id: rel, kind: 'RELEASE', srcEid: Bc.eid, dstEid: A.eid }]);
    expect(s.subs.get(KEY)?.credit(Bc.eid, `${A.eid}:${WETH_A}`)).toBe(3n);
    apply(s, A, [
      {
        type: 'PaidOut',
        id: rel,
        kind: 2,
        ...sub,
        token: WETH_A,
        amount: 2n,
        recipient: a(9),
        engineEid: Bc.eid,
      },
    ]);
    expect(inFlightOf(s, KEY)).toEqual([]);
    expect(s.subs.get(KEY)?.locked(`${A.eid}:${WETH_A}`)).toBe(3n);

    // The vault's PayoutQueued (no account in it) applied before the engine's Debited.
    apply(s, A, [{ type: 'PayoutQueued', id: seize, token: WETH_A, recipient: a(9), amount: 1n }]);
    expect(s.subs.get(KEY)?.locked(`${A.eid}:${WETH_A}`)).toBe(3n);
    apply(s, Bc, [debit(seize, 3, 1n)]);
    expect(inFlightOf(s, KEY)).toEqual([]);
    expect(s.subs.get(KEY)?.locked(`${A.eid}:${WETH_A}`)).toBe(2n);
    expect(s.queuedUnmatched.size + s.arrived.size + s.sent.size).toBe(0);
  });

  it('a MOVE is in flight to the vault, then its onward LOCK (id from the vault nonce) until credited on C', () => {
    const s = emptyState();
    apply(s, A, [deposit(5n)]);
    apply(s, Bc, [credited(lockId(1n), 5n)]);
    const mv: Hex = `0x${'44'.repeat(32)}`;
    apply(s, Bc, [
      {
        type: 'Debited',
        id: mv,
        kind: 4,
        ...sub,
        srcEid: A.eid,
        token: WETH_A,
        amount: 4n,
        recipient: a(0),
        dstEngineEid: Cc.eid,
      },
    ]);
    expect(inFlightOf(s, KEY)).toMatchObject([{ id: mv, kind: 'MOVE' }]);
    apply(s, A, [
      {
        type: 'CreditMoved',
        id: mv,
        ...sub,
        token: WETH_A,
        amount: 4n,
        fromEngineEid: Bc.eid,
        toEngineEid: Cc.eid,
      },
      { type: 'LockPending', id: lockId(2n), engineEid: Cc.eid },
    ]);
    expect(inFlightOf(s, KEY)).toMatchObject([
      { id: lockId(2n), kind: 'LOCK', srcEid: A.eid, dstEid: Cc.eid, amount: 4n, pending: true },
    ]);
    apply(s, A, [{ type: 'LockFlushed', id: lockId(2n), engineEid: Cc.eid }]);
    expect(inFlightOf(s, KEY)[0]?.pending).toBeUndefined();
    apply(s, Cc, [{ ...(credited(lockId(2n), 4n) as object), srcEid: A.eid } as MarginEvent]);
    expect(inFlightOf(s, KEY)).toEqual([]);
    expect(s.subs.get(KEY)?.credit(Cc.eid, `${A.eid}:${WETH_A}`)).toBe(4n);
    expect(s.subs.get(KEY)?.credit(Bc.eid, `${A.eid}:${WETH_A}`)).toBe(1n);
  });

  it('a held LOCK returned to its owner: the RELEASE moves no credit and is in flight to the vault', () => {
    const s = emptyState();
    apply(s, A, [deposit(5n)]);
    apply(s, Bc, [{ type: 'CreditHeld', id: lockId(1n), ...sub, reason: 2 }]);
    const rel: Hex = `0x${'55'.repeat(32)}`;
    apply(s, Bc, [
      { type: 'HeldCreditReturned', id: lockId(1n), releaseId: rel },
      {
        type: 'Debited',
        id: rel,
        kind: 2,
        ...sub,
        srcEid: A.eid,
        token: WETH_A,
        amount: 5n,
        recipient: T,
        dstEngineEid: 0,
      },
    ]);
    expect(s.subs.get(KEY)?.creditCount(Bc.eid) ?? 0).toBe(0);
    expect(inFlightOf(s, KEY)).toMatchObject([{ id: rel, kind: 'RELEASE' }]);
  });
});
