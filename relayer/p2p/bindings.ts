// Which EVM signer speaks for which libp2p peer. A heartbeat binds its author's peer id to the key
// that signed it; other topics are only accepted from peers whose binding we know and match. A
// binding lasts as long as heartbeats keep refreshing it, so memory is bounded by live peers and an
// operator who rotates the EVM key is accepted again once the old binding lapses. The binding also
// keeps the signer's public key (recovered from the heartbeat), so later messages from that peer are
// verified against it instead of recovered (./verifier.ts).

import type { Address, Hex } from '../config/types.ts';
import { GossipValidationError } from './errors.ts';

export class PeerBindings {
  readonly #ttlMs: number;
  readonly #maxPeers: number;
  readonly #now: () => number;
  readonly #bindings = new Map<string, { signer: Address; publicKey?: Hex; expiresAt: number }>();

  constructor(options: { ttlMs: number; maxPeers?: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxPeers = options.maxPeers ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** The signer bound to `peerId`, if its binding is still live. */
  signerOf(peerId: string): Address | undefined {
    return this.keyOf(peerId)?.signer;
  }

  /** The signer bound to `peerId` and its public key (when the binding came with one). */
  keyOf(peerId: string): { signer: Address; publicKey?: Hex } | undefined {
    const entry = this.#bindings.get(peerId);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#bindings.delete(peerId);
      return undefined;
    }
    return entry;
  }

  /** Throws BINDING_CONFLICT if `peerId` is bound to another signer (checked before `bind`). */
  checkBindable(peerId: string, signer: Address): void {
    const bound = this.signerOf(peerId);
    if (bound !== undefined && bound !== signer) {
      throw new GossipValidationError(
        'BINDING_CONFLICT',
        `peer ${peerId} is bound to ${bound}, heartbeat signed by ${signer}`,
      );
    }
  }

  /** Binds or refreshes; call only for accepted heartbeats. `publicKey` must be `signer`'s. */
  bind(peerId: string, signer: Address, publicKey?: Hex): void {
    this.#bindings.delete(peerId);
    // Map keeps insertion order: the first entry is the least recently refreshed.
    if (this.#bindings.size >= this.#maxPeers) {
      const oldest = this.#bindings.keys().next().value;
      if (oldest !== undefined) this.#bindings.delete(oldest);
    }
    const entry = { signer, expiresAt: this.#now() + this.#ttlMs };
    this.#bindings.set(peerId, publicKey === undefined ? entry : { ...entry, publicKey });
  }

  /** Throws UNBOUND_PEER or BINDING_CONFLICT unless `peerId` is bound to `signer`. */
  requireBound(peerId: string, signer: Address): void {
    const bound = this.signerOf(peerId);
    if (bound === undefined)
      throw new GossipValidationError('UNBOUND_PEER', `no heartbeat binding for ${peerId} yet`);
    if (bound !== signer) {
      throw new GossipValidationError(
        'BINDING_CONFLICT',
        `peer ${peerId} is bound to ${bound}, message signed by ${signer}`,
      );
    }
  }
}
