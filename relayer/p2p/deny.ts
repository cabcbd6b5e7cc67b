// A runtime deny-list of peers: the operator's way to cut a node off from peers it must not talk to
// (a misbehaving or compromised operator, a maintenance window) without a restart, and the fault
// suite's way to partition a devnet of real node processes; beside it, the node's own timed bans of
// graylisted peers (./network.ts). It acts as libp2p's connection gater
// (no dial to, and no encrypted connection from or to, a denied peer id) and closes the connections
// already open when the list changes.

import type { ConnectionGater, PeerId } from '@libp2p/interface';

export class PeerDenyList {
  #denied: ReadonlySet<string> = new Set();
  /** Peers the node cut off itself for a while (graylisted, see ./network.ts): when each ban ends. */
  readonly #bans = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  has(peerId: string): boolean {
    return this.#denied.has(peerId) || this.banned(peerId);
  }

  /** Cuts `peerId` off until `untilMs`, beside (not in) the operator's list. */
  ban(peerId: string, untilMs: number): void {
    this.#bans.set(peerId, untilMs);
  }

  banned(peerId: string): boolean {
    const until = this.#bans.get(peerId);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#bans.delete(peerId);
    return false;
  }

  /** The bans in force, with when each ends. */
  bans(): { peerId: string; until: number }[] {
    return [...this.#bans]
      .filter(([peerId]) => this.banned(peerId))
      .map(([peerId, until]) => ({ peerId, until }));
  }

  list(): string[] {
    return [...this.#denied];
  }

  /** Replaces the list; returns the peers newly denied (their open connections must be closed). */
  set(peerIds: Iterable<string>): string[] {
    const next = new Set(peerIds);
    const added = [...next].filter((p) => !this.#denied.has(p));
    this.#denied = next;
    return added;
  }

  gater(): ConnectionGater {
    const denied = (peerId: PeerId) => this.has(peerId.toString());
    return {
      denyDialPeer: denied,
      denyInboundEncryptedConnection: denied,
      denyOutboundEncryptedConnection: denied,
    };
  }
}

/**
 * The deny-list file: one peer id per line; blank lines and `#` comments are skipped. Throws on a
 * line that is not a peer id (a typo must not silently leave a peer allowed).
 */
export function parseDenyList(text: string, isPeerId: (s: string) => boolean): string[] {
  const out: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = (raw.split('#')[0] ?? '').trim();
    if (line === '') continue;
    if (!isPeerId(line)) throw new Error(`line ${i + 1}: "${line}" is not a libp2p peer id`);
    out.push(line);
  }
  return out;
}
