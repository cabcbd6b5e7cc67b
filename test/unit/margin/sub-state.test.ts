import { describe, expect, it } from 'vitest';
import { rng } from '../../../bench/lib/population.ts';
import { type PositionState, SubState } from '../../../relayer/margin/sub-state.ts';

/** What a SubState should answer, kept in plain maps (as the view kept it before the flat records). */
interface Model {
  locked: Map<string, bigint>;
  credit: Map<number, Map<string, bigint>>;
  positions: Map<number, Map<number, PositionState>>;
  settled: Map<number, bigint>;
}

function same(sub: SubState, m: Model): void {
  expect([...sub.lockedEntries()]).toEqual([...m.locked]);
  expect(sub.creditEngines()).toEqual([...m.credit.keys()]);
  for (const [eid, credits] of m.credit) {
    expect([...sub.credits(eid)]).toEqual([...credits]);
    expect(sub.creditCount(eid)).toBe(credits.size);
    for (const [k, v] of credits) expect(sub.credit(eid, k)).toBe(v);
  }
  expect(sub.positionChains()).toEqual([...m.positions.keys()]);
  for (const [eid, book] of m.positions) {
    expect([...sub.positions(eid)]).toEqual([...book].map(([marketId, p]) => ({ marketId, ...p })));
    expect(sub.positionCount(eid)).toBe(book.size);
    for (const [id, p] of book) expect(sub.position(eid, id)).toEqual({ marketId: id, ...p });
  }
  expect(sub.settledChains()).toEqual([...m.settled.keys()]);
  for (const [eid, v] of m.settled) expect(sub.settled(eid)).toBe(v);
}

const addTo = (map: Map<string, bigint>, key: string, delta: bigint) => {
  const next = (map.get(key) ?? 0n) + delta;
  if (next === 0n) map.delete(key);
  else map.set(key, next);
};

describe('SubState', () => {
  it('answers as nested maps would through a random mix of every change, kinds interleaved', () => {
    const random = rng(7);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const sub = new SubState('0x00000000000000000000000000000000000000aa:3', 3n);
    const m: Model = { locked: new Map(), credit: new Map(), positions: new Map(), settled: new Map() };
    const keys = ['40101:0xa', '40102:0xb', '40103:0xc', '40101:0xd'];
    const eids = [40_101, 40_102, 40_103];
    for (let step = 0; step < 2_000; step++) {
      const eid = pick(eids);
      const key = pick(keys);
      // Small amounts, so that entries often come back to zero and leave.
      const delta = BigInt(Math.floor(random() * 5) - 2);
      switch (Math.floor(random() * 5)) {
        case 0:
          sub.addLocked(key, delta);
          addTo(m.locked, key, delta);
          break;
        case 1: {
          sub.addCredit(eid, key, delta);
          let c = m.credit.get(eid);
          if (c === undefined) {
            c = new Map();
            m.credit.set(eid, c);
          }
          addTo(c, key, delta);
          break;
        }
        case 2: {
          const amount = BigInt(Math.floor(random() * 3));
          sub.setCredit(eid, key, amount);
          let c = m.credit.get(eid);
          if (c === undefined) {
            c = new Map();
            m.credit.set(eid, c);
          }
          if (amount === 0n) c.delete(key);
          else c.set(key, amount);
          break;
        }
        case 3: {
          const marketId = 1 + Math.floor(random() * 3);
          const close = random() < 0.3;
          const pos = { size: delta * 10n ** 18n, entryPrice: BigInt(step), borrowIndexAtEntry: 7n };
          sub.setPosition(eid, marketId, close ? undefined : pos);
          let book = m.positions.get(eid);
          if (book === undefined) {
            book = new Map();
            m.positions.set(eid, book);
          }
          if (close) book.delete(marketId);
          else book.set(marketId, pos);
          break;
        }
        default:
          sub.setSettled(eid, delta);
          m.settled.set(eid, delta);
      }
      same(sub, m);
    }
    // Absent entries read as undefined, an engine with no record as empty.
    expect(sub.credit(1, '40101:0xa')).toBeUndefined();
    expect(sub.locked('absent')).toBeUndefined();
    expect(sub.settled(1)).toBeUndefined();
    expect([...sub.credits(1)]).toEqual([]);
    expect(sub.positionCount(1)).toBe(0);
  });

  it('keeps amounts exact across the small-integer bound (±2^30) and far beyond it', () => {
    const sub = new SubState('0x00000000000000000000000000000000000000aa:0', 0n);
    const bound = 1n << 30n;
    for (const v of [bound - 1n, bound, -bound + 1n, -bound, 10n ** 40n, -(10n ** 40n)]) {
      sub.setCredit(1, 'k', v);
      expect(sub.credit(1, 'k')).toBe(v);
      sub.addCredit(1, 'k', 1n);
      expect(sub.credit(1, 'k')).toBe(v + 1n);
      sub.setSettled(1, v);
      expect(sub.settled(1)).toBe(v);
      sub.setPosition(1, 7, { size: v, entryPrice: -v, borrowIndexAtEntry: v + 1n });
      expect(sub.position(1, 7)).toEqual({
        marketId: 7,
        size: v,
        entryPrice: -v,
        borrowIndexAtEntry: v + 1n,
      });
    }
    for (const [, amount] of sub.credits(1)) expect(typeof amount).toBe('bigint');
  });

  it('keeps an engine whose credit went to zero, and derives the account from its key', () => {
    const sub = new SubState('0x00000000000000000000000000000000000000aa:0', 0n);
    sub.addCredit(40_102, '40101:0xa', 5n);
    sub.addCredit(40_102, '40101:0xa', -5n);
    expect(sub.creditEngines()).toEqual([40_102]);
    expect(sub.creditCount(40_102)).toBe(0);
    expect(sub.account).toBe('0x00000000000000000000000000000000000000aa');
    expect(new SubState('0xab:12', 12n).account).toBe('0xab');
  });

  it('iterates what it held when the iteration began: entries added or removed meanwhile are not seen', () => {
    const sub = new SubState('0x00000000000000000000000000000000000000aa:0', 0n);
    sub.setCredit(1, 'a', 1n);
    sub.setCredit(1, 'b', 2n);
    const seen: [string, bigint][] = [];
    for (const [k, v] of sub.credits(1)) {
      seen.push([k, v]);
      sub.setCredit(1, k, 0n); // removes it
      sub.setCredit(1, `${k}2`, 9n); // adds one
    }
    expect(seen).toEqual([
      ['a', 1n],
      ['b', 2n],
    ]);
    expect([...sub.credits(1)]).toEqual([
      ['a2', 9n],
      ['b2', 9n],
    ]);
  });
});
