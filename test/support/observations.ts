// What the observation collector's tests share: an attestor set (three keys, quorum 2, and an
// outsider), one-block observations of a chain, and a stand-in for MarginView's observation side
// that applies exactly as it does (the attestor quorum, then the block must follow the cursor),
// minus the state.

import { Wallet } from 'ethers';
import type { Address, Hex } from '../../relayer/config/types.ts';
import { buildObservation, checkQuorum, type MarginObservation } from '../../relayer/margin/observation.ts';
import type { MarginEvent } from '../../relayer/margin/types.ts';

export const EID = 40_101;
const keys = [1, 2, 3, 4].map((i) => new Wallet(`0x${i.toString(16).padStart(64, '0')}`));
/** Three attestors and a key outside the set. */
export const [w1, w2, w3, outsider] = keys as [Wallet, Wallet, Wallet, Wallet];
export const attestors = { signers: [w1, w2, w3].map((w) => w.address as Address), quorum: 2 };
export const a = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}` as Address;
export const h = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}` as Hex;

/** Block `n` of chain EID with `events`, as an attestor observes it. */
export function block(n: number, events: MarginEvent[] = []): MarginObservation {
  return buildObservation(EID, n, [
    { eid: EID, number: n, hash: h(1000 + n), timestamp: 1_700_000_000 + n, events },
  ]);
}

export function fakeObservationView(attestors: { signers: readonly Address[]; quorum: number }) {
  const cursors = new Map<number, number>();
  const applied: MarginObservation[] = [];
  return {
    applied,
    cursor: (eid: number) => cursors.get(eid) ?? -1,
    async applyObservation(obs: MarginObservation, sigs: readonly { signer: Address; signature: Hex }[]) {
      const v = checkQuorum(obs, sigs, attestors);
      if (!v.ok) return { accepted: false, reason: v.reason };
      const cur = cursors.get(obs.eid) ?? -1;
      if (cur >= 0 && obs.fromBlock !== cur + 1) return { accepted: false, reason: 'not contiguous' };
      cursors.set(obs.eid, obs.block.number);
      applied.push(obs);
      return { accepted: true };
    },
  };
}
