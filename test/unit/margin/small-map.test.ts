import { describe, expect, it } from 'vitest';
import { SmallMap } from '../../../relayer/margin/small-map.ts';

/** Applies the same operations to a SmallMap and a Map and compares what they answer. */
function mirror<K, V>() {
  const small = new SmallMap<K, V>();
  const map = new Map<K, V>();
  const same = () => {
    expect(small.size).toBe(map.size);
    expect([...small]).toEqual([...map]);
    expect([...small.keys()]).toEqual([...map.keys()]);
    expect([...small.values()]).toEqual([...map.values()]);
    const seen: [K, V][] = [];
    small.forEach((v, k, m) => {
      expect(m).toBe(small);
      seen.push([k, v]);
    });
    expect(seen).toEqual([...map.entries()]);
  };
  return { small, map, same };
}

describe('SmallMap', () => {
  it('answers get/has/set/delete/clear/size and iterates in insertion order, as Map does', () => {
    const { small, map, same } = mirror<string, bigint>();
    const keys = ['1:0xa', '2:0xb', '3:0xc', '1:0xd', '2:0xe', '3:0xf'];
    for (const [i, k] of keys.entries()) {
      expect(small.set(k, BigInt(i))).toBe(small);
      map.set(k, BigInt(i));
      same();
    }
    // Overwrite keeps the entry's place.
    small.set('3:0xc', 99n);
    map.set('3:0xc', 99n);
    same();
    for (const k of [...keys, 'absent']) {
      expect(small.get(k)).toBe(map.get(k));
      expect(small.has(k)).toBe(map.has(k));
    }
    // Delete from the middle, the front, the back, twice, and an absent key.
    for (const k of ['3:0xc', '1:0xa', '3:0xf', '3:0xf', 'absent']) {
      expect(small.delete(k)).toBe(map.delete(k));
      same();
    }
    // A deleted key set again goes to the end.
    small.set('1:0xa', 7n);
    map.set('1:0xa', 7n);
    same();
    small.clear();
    map.clear();
    same();
    expect(small.get('2:0xb')).toBeUndefined();
  });

  it('takes number keys and initial entries, and emptying it leaves it usable', () => {
    const small = new SmallMap<number, string>([
      [1, 'a'],
      [2, 'b'],
      [1, 'c'],
    ]);
    expect([...small]).toEqual([
      [1, 'c'],
      [2, 'b'],
    ]);
    small.delete(1);
    small.delete(2);
    expect(small.size).toBe(0);
    small.set(3, 'd');
    expect([...small]).toEqual([[3, 'd']]);
  });

  it('iterates the entries present when the iteration began, so deleting while iterating is safe', () => {
    const small = new SmallMap<string, bigint>([
      ['a', 0n],
      ['b', 1n],
      ['c', 0n],
    ]);
    const visited: string[] = [];
    for (const [k, v] of small) {
      visited.push(k);
      if (v === 0n) small.delete(k);
    }
    expect(visited).toEqual(['a', 'b', 'c']);
    expect([...small]).toEqual([['b', 1n]]);
  });
});
