// Who acts on a packet: rendezvous (highest-random-weight) hashing of (key, node) over the live
// nodes. Every node computes the same order from the same inputs without talking, and losing a
// node only moves the work it ranked first for. Rank k acts after k fallback delays.

import { concat, keccak256 } from 'ethers';
import type { Address, Hex } from '../relayer/config/types.ts';

/** Candidates ordered best first for `key`. */
export function rendezvousOrder(key: Hex, candidates: readonly Address[]): Address[] {
  const unique = [...new Set(candidates.map((c) => c.toLowerCase() as Address))];
  const score = (c: Address): bigint => BigInt(keccak256(concat([key, c])));
  return unique.sort((a, b) => {
    const sa = score(a);
    const sb = score(b);
    return sa === sb ? 0 : sa > sb ? -1 : 1;
  });
}

/** This node's rank for `key` (0 = acts first); `self` always counts as live. */
export function rendezvousRank(key: Hex, self: Address, live: readonly Address[]): number {
  return rendezvousOrder(key, [...live, self]).indexOf(self.toLowerCase() as Address);
}
