// Who acts on a packet: rendezvous (highest-random-weight) hashing of (key, node) over the live
// nodes. Every node computes the same order from the same inputs without talking, and losing a
// node only moves the work it ranked first for. Rank k acts after k fallback delays.
//
// A node ranks every unhealthy sub-account on every liquidator pass (hundreds in a burst), so the
// score is computed on bytes: key ‖ address hashed once per candidate, compared as fixed-width hex
// (lexicographic order of equal-length lowercase hex is numeric order), no bigint, no hex round trips.

import { getBytes, keccak256 } from 'ethers';
import type { Address, Hex } from '../relayer/config/types.ts';

/** Address bytes per lowercase address: the same few live nodes are scored again and again. */
const addressBytes = new Map<string, Uint8Array>();
const MAX_CACHED_ADDRESSES = 4096;

function bytesOf(address: string): Uint8Array {
  let b = addressBytes.get(address);
  if (b === undefined) {
    if (addressBytes.size >= MAX_CACHED_ADDRESSES) addressBytes.clear();
    b = getBytes(address);
    addressBytes.set(address, b);
  }
  return b;
}

/** Candidates ordered best first for `key`. */
export function rendezvousOrder(key: Hex, candidates: readonly Address[]): Address[] {
  const unique = [...new Set(candidates.map((c) => c.toLowerCase() as Address))];
  const k = getBytes(key);
  const buf = new Uint8Array(k.length + 20);
  buf.set(k, 0);
  // One hash per candidate, not two per comparison of the sort.
  const scored = unique.map((c) => {
    buf.set(bytesOf(c), k.length);
    return { c, score: keccak256(buf) };
  });
  scored.sort((a, b) => (a.score === b.score ? 0 : a.score > b.score ? -1 : 1));
  return scored.map((x) => x.c);
}

/** This node's rank for `key` (0 = acts first); `self` always counts as live. */
export function rendezvousRank(key: Hex, self: Address, live: readonly Address[]): number {
  return rendezvousOrder(key, [...live, self]).indexOf(self.toLowerCase() as Address);
}
