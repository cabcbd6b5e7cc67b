// Who acts on a packet: rendezvous (highest-random-weight) hashing of (key, node) over the live
// nodes. Every node computes the same order from the same inputs without talking, and losing a
// node only moves the work it ranked first for. Rank k acts after k fallback delays.

import { concat, keccak256 } from 'ethers';
import type { Address, Hex } from '../relayer/config/types.ts';

/** Candidates ordered best first for `key`. */
export function rendezvousOrder(key: Hex, candidates: readonly Address[]): Address[] {
  const unique = [...new Set(candidates.map((c) => c.toLowerCase() as Address))];
  // One hash per candidate, not two per comparison of the sort.
  const scored = unique.map((c) => ({ c, score: BigInt(keccak256(concat([key, c]))) }));
  scored.sort((a, b) => (a.score === b.score ? 0 : a.score > b.score ? -1 : 1));
  return scored.map((x) => x.c);
}

/** This node's rank for `key` (0 = acts first); `self` always counts as live. */
export function rendezvousRank(key: Hex, self: Address, live: readonly Address[]): number {
  return rendezvousOrder(key, [...live, self]).indexOf(self.toLowerCase() as Address);
}
