// What the attestor refused to sign, and why: counted per reason and the latest few kept, so an
// operator sees in /status and /metrics that a node stopped signing (a poisoned RPC disagreeing with
// the others is exactly the case where silence must be loud), not only in a debug log line.

import { RpcDisagreement, RpcError } from '../relayer/chain/rpc.ts';
import type { Hex } from '../relayer/config/types.ts';

/**
 * Bounded reasons (usable as metric labels):
 *   rpc_disagreement  the source chain's configured RPCs gave different answers about the block;
 *   not_confirmed     every RPC agreed, and the agreed logs do not hold the packet;
 *   rpc_error         the source chain could not be read;
 *   error             anything else.
 * Only the first two are refusals (isRefusal): on the others the attestor keeps the packet queued
 * and retries it, and records them only once the signature would have expired (it gives up).
 */
export const REFUSAL_REASONS = ['rpc_disagreement', 'not_confirmed', 'rpc_error', 'error'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Thrown by the attestor when the agreed logs do not show the packet it was asked to sign. */
export class NotConfirmedError extends Error {
  override name = 'NotConfirmedError';
}

export interface Refusal {
  guid: Hex;
  reason: RefusalReason;
  /** The error, one line, capped. */
  detail: string;
  /** ms since epoch. */
  at: number;
}

export interface RefusalsSnapshot {
  total: number;
  byReason: Record<RefusalReason, number>;
  /** Most recent first. */
  recent: Refusal[];
}

const KEEP = 10;
const MAX_DETAIL = 240;

/**
 * Whether `err` is a final answer about the packet (asking again cannot change it): the RPCs
 * disagree, or they agree and the packet is not there. Anything else (an RPC down, a timeout, a
 * store failure) is transient: the packet stays queued and is tried again.
 */
export function isRefusal(err: unknown): boolean {
  return err instanceof RpcDisagreement || err instanceof NotConfirmedError;
}

export function refusalReason(err: unknown): RefusalReason {
  if (err instanceof RpcDisagreement) return 'rpc_disagreement';
  if (err instanceof NotConfirmedError) return 'not_confirmed';
  if (err instanceof RpcError) return 'rpc_error';
  return 'error';
}

export class RefusalLog {
  readonly #counts = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  readonly #recent: Refusal[] = [];
  readonly #now: () => number;
  readonly #onRefusal: ((reason: RefusalReason) => void) | undefined;

  constructor(options: { now?: () => number; onRefusal?: (reason: RefusalReason) => void } = {}) {
    this.#now = options.now ?? Date.now;
    this.#onRefusal = options.onRefusal;
  }

  /** Records one refusal to sign `guid`; returns its reason. */
  record(guid: Hex, err: unknown): RefusalReason {
    const reason = refusalReason(err);
    this.#counts[reason] += 1;
    const text = err instanceof Error ? err.message : String(err);
    this.#recent.unshift({
      guid,
      reason,
      detail: text.replace(/\s+/g, ' ').slice(0, MAX_DETAIL),
      at: this.#now(),
    });
    if (this.#recent.length > KEEP) this.#recent.length = KEEP;
    this.#onRefusal?.(reason);
    return reason;
  }

  snapshot(): RefusalsSnapshot {
    const byReason = { ...this.#counts };
    return {
      total: Object.values(byReason).reduce((a, b) => a + b, 0),
      byReason,
      recent: this.#recent.map((r) => ({ ...r })),
    };
  }
}
