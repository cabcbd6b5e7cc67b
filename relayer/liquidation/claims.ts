// Liquidation claims on the `claim` gossip topic, coalesced: the claims that become ready together
// (the items of one liquidateBatch are broadcast at once) go out as one `liquidations` message, and a
// receiver expands it back into the single claims its ClaimBook keeps. A lone claim still travels as
// a `liquidation` message, the form every node understands.

import type { Address, Hex } from '../config/types.ts';
import type { SignedMessage } from '../p2p/types.ts';
import { heardClaim } from './turn.ts';
import type { LiquidationClaim, LiquidationClaims } from './types.ts';

/** Items per `liquidations` message: ~200 bytes each, well inside the 64 KiB envelope. */
export const MAX_CLAIMS_PER_MESSAGE = 100;

/** How long a claim waits for others to share its message. */
export const CLAIM_COALESCE_MS = 10;

type Publish = (payload: LiquidationClaim | LiquidationClaims) => Promise<void>;

/** Collects claims for CLAIM_COALESCE_MS and publishes them per engine chain, as few messages as fit. */
export class ClaimOutbox {
  private readonly publish: Publish;
  private readonly onError: (err: unknown) => void;
  private readonly delayMs: number;
  private pending: LiquidationClaim[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(publish: Publish, onError: (err: unknown) => void, delayMs = CLAIM_COALESCE_MS) {
    this.publish = publish;
    this.onError = onError;
    this.delayMs = delayMs;
  }

  add(claim: LiquidationClaim): void {
    this.pending.push(claim);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Publishes what is pending now (also on stop, so no claim is dropped). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const all = this.pending;
    this.pending = [];
    for (const group of groupClaims(all)) this.publish(group).catch(this.onError);
  }
}

/** Claims as messages: per (engine chain, claimant), up to MAX_CLAIMS_PER_MESSAGE each; singles stay singles. */
export function groupClaims(claims: readonly LiquidationClaim[]): (LiquidationClaim | LiquidationClaims)[] {
  const by = new Map<string, LiquidationClaim[]>();
  for (const c of claims) {
    const key = `${c.engineEid}:${c.claimant.toLowerCase()}`;
    const list = by.get(key);
    if (list === undefined) by.set(key, [c]);
    else list.push(c);
  }
  const out: (LiquidationClaim | LiquidationClaims)[] = [];
  for (const list of by.values()) {
    for (let i = 0; i < list.length; i += MAX_CLAIMS_PER_MESSAGE) {
      const chunk = list.slice(i, i + MAX_CLAIMS_PER_MESSAGE);
      const first = chunk[0] as LiquidationClaim;
      if (chunk.length === 1) {
        out.push(first);
        continue;
      }
      out.push({
        kind: 'liquidations',
        engineEid: first.engineEid,
        claimant: first.claimant,
        deadline: Math.min(...chunk.map((c) => c.deadline)),
        items: chunk.map((c) => ({ account: c.account, subaccount: c.subaccount, stateKey: c.stateKey })),
      });
    }
  }
  return out;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * The liquidation claims a gossip message carries, in either form, when it is well-formed, signed by
 * its claimant and not ours (the topic's schema accepts any JSON object: this checks what we rely on).
 * A malformed `liquidations` message yields nothing rather than its good part.
 */
export function heardLiquidationClaims(
  msg: SignedMessage<LiquidationClaim | LiquidationClaims>,
  self: Address,
): LiquidationClaim[] {
  const p = msg.payload as Partial<LiquidationClaims> | undefined;
  if (p?.kind !== 'liquidations') {
    const single = heardClaim(msg as SignedMessage<LiquidationClaim>, 'liquidation', self);
    return single === undefined ? [] : [single];
  }
  if (!Array.isArray(p.items) || p.items.length === 0 || p.items.length > MAX_CLAIMS_PER_MESSAGE) return [];
  if (typeof p.engineEid !== 'number' || typeof p.deadline !== 'number' || !isString(p.claimant)) return [];
  const claims: LiquidationClaim[] = [];
  for (const item of p.items as unknown[]) {
    const it = item as Partial<LiquidationClaims['items'][number]> | null;
    if (it === null || !isString(it.account) || !isString(it.subaccount) || !isString(it.stateKey)) return [];
    const single: SignedMessage<LiquidationClaim> = {
      ...msg,
      payload: {
        kind: 'liquidation',
        engineEid: p.engineEid,
        account: it.account as Address,
        subaccount: it.subaccount,
        stateKey: it.stateKey as Hex,
        claimant: p.claimant as Address,
        deadline: p.deadline,
      },
    };
    const c = heardClaim(single, 'liquidation', self);
    if (c === undefined) return [];
    claims.push(c);
  }
  return claims;
}
