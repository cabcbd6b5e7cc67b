// Application-level peer penalties: each PEER_ACTION costs a fixed amount that decays over time. The
// total is fed into gossipsub as the application-specific score (P5), so the same numbers that
// graylist a peer for invalid deliveries also count what our validators hold against it.

import { PEER_ACTION, type PeerAction } from './errors.ts';

/** Score cost of each action. Fatal alone goes below the graylist threshold (see ./scoring.ts). */
export const ACTION_COST: { readonly [A in PeerAction]: number } = {
  [PEER_ACTION.fatal]: -1000,
  [PEER_ACTION.lowTolerance]: -10,
  [PEER_ACTION.midTolerance]: -5,
  [PEER_ACTION.highTolerance]: -1,
};

/** A penalty halves every ten minutes: an honest node recovers from a blip, a flood does not. */
const DEFAULT_HALF_LIFE_MS = 10 * 60_000;
/** Peers whose penalty decayed below this are forgotten. */
const NEGLIGIBLE = 0.01;

export class PeerPenalties {
  readonly #halfLifeMs: number;
  readonly #now: () => number;
  readonly #scores = new Map<string, { value: number; at: number }>();

  constructor(options: { halfLifeMs?: number; now?: () => number } = {}) {
    this.#halfLifeMs = options.halfLifeMs ?? DEFAULT_HALF_LIFE_MS;
    this.#now = options.now ?? Date.now;
  }

  apply(peerId: string, action: PeerAction): void {
    this.#scores.set(peerId, { value: this.score(peerId) + ACTION_COST[action], at: this.#now() });
  }

  /** Current (decayed) penalty of a peer: 0 or negative. */
  score(peerId: string): number {
    const entry = this.#scores.get(peerId);
    if (entry === undefined) return 0;
    const value = entry.value * 0.5 ** ((this.#now() - entry.at) / this.#halfLifeMs);
    if (Math.abs(value) < NEGLIGIBLE) {
      this.#scores.delete(peerId);
      return 0;
    }
    return value;
  }
}
