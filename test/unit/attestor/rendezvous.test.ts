import { concat, getAddress, hexlify, keccak256, randomBytes } from 'ethers';
import { describe, expect, it } from 'vitest';
import { rendezvousOrder, rendezvousRank } from '../../../attestor/rendezvous.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';

/** The definition: score = keccak256(key ‖ address) as a number, highest first. */
function reference(key: Hex, candidates: Address[]): Address[] {
  const unique = [...new Set(candidates.map((c) => c.toLowerCase() as Address))];
  return unique
    .map((c) => ({ c, score: BigInt(keccak256(concat([key, c]))) }))
    .sort((a, b) => (a.score === b.score ? 0 : a.score > b.score ? -1 : 1))
    .map((x) => x.c);
}

describe('rendezvous order', () => {
  it('is the highest keccak256(key ‖ address) first, for random keys and node sets', () => {
    for (let i = 0; i < 200; i++) {
      const key = hexlify(randomBytes(32)) as Hex;
      const nodes = Array.from(
        { length: 1 + (i % 9) },
        () => getAddress(hexlify(randomBytes(20))) as Address,
      );
      expect(rendezvousOrder(key, nodes)).toEqual(reference(key, nodes));
    }
  });

  it('ignores case and duplicates, and ranks self among the live nodes', () => {
    const key = hexlify(randomBytes(32)) as Hex;
    const nodes = Array.from({ length: 5 }, () => getAddress(hexlify(randomBytes(20))) as Address);
    const mixed = [...nodes, ...nodes.map((n) => n.toLowerCase() as Address)];
    const order = rendezvousOrder(key, mixed);
    expect(order).toEqual(reference(key, nodes));
    expect(order).toHaveLength(5);
    for (const [rank, n] of order.entries()) {
      expect(
        rendezvousRank(
          key,
          n,
          nodes.filter((x) => x !== n),
        ),
      ).toBe(rank);
    }
  });
});
