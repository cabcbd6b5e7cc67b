// Why a gossip message was not accepted: a bounded set of codes (usable as metric labels), each
// mapped in ONE table to the gossipsub verdict and to the penalty its sender earns. Validators only
// throw `GossipValidationError(code)`; the adapter in ./validation.ts turns that into the verdict.

import { VERDICT, type Verdict } from './types.ts';

/** How much a misbehaviour costs the peer that sent it to us (see ./penalties.ts for the amounts). */
export const PEER_ACTION = {
  /** Cannot come from an honest node: the peer drops below the graylist at once. */
  fatal: 'fatal',
  /** Honest nodes do this only through a bug: a few of these and the peer is graylisted. */
  lowTolerance: 'lowTolerance',
  /** May come from an honest node that is out of step (stale attestor set, clock drift). */
  midTolerance: 'midTolerance',
  /** Expected now and then from honest nodes. */
  highTolerance: 'highTolerance',
} as const;
export type PeerAction = (typeof PEER_ACTION)[keyof typeof PEER_ACTION];

export const GOSSIP_ERROR = {
  /** Not a well-formed envelope: bad JSON, wrong fields, not in canonical form. */
  MALFORMED: 'MALFORMED',
  /** Larger than MAX_ENVELOPE_BYTES. */
  TOO_LARGE: 'TOO_LARGE',
  /** The envelope names another topic than the one it was published on. */
  WRONG_TOPIC: 'WRONG_TOPIC',
  /** Well-formed envelope whose payload does not match the topic's schema. */
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** The EVM signature does not recover, or recovers to nothing usable. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** Signed by a key outside the attestor set on a topic that requires it. */
  UNKNOWN_SIGNER: 'UNKNOWN_SIGNER',
  /** An envelope already accepted once (same signed content). */
  REPLAY: 'REPLAY',
  /** Signed more than the allowed clock skew ago. */
  STALE: 'STALE',
  /** Signed more than the allowed clock skew in the future. */
  FUTURE: 'FUTURE',
  /** The originating peer has no heartbeat binding to an EVM signer yet: maybe we just joined. */
  UNBOUND_PEER: 'UNBOUND_PEER',
  /** The originating peer is bound to another EVM signer than the one that signed this envelope. */
  BINDING_CONFLICT: 'BINDING_CONFLICT',
} as const;
export type GossipErrorCode = keyof typeof GOSSIP_ERROR;

export interface ErrorOutcome {
  verdict: Verdict;
  /** Penalty for the propagation source, or null when the sender may be blameless. */
  action: PeerAction | null;
}

/**
 * The one place that decides what each failure means. Rejecting makes gossipsub count an invalid
 * delivery (P4) against the sender; ignoring drops the message without blame.
 */
export const ERROR_OUTCOMES: { readonly [C in GossipErrorCode]: ErrorOutcome } = {
  MALFORMED: { verdict: VERDICT.reject, action: PEER_ACTION.lowTolerance },
  TOO_LARGE: { verdict: VERDICT.reject, action: PEER_ACTION.lowTolerance },
  WRONG_TOPIC: { verdict: VERDICT.reject, action: PEER_ACTION.lowTolerance },
  INVALID_PAYLOAD: { verdict: VERDICT.reject, action: PEER_ACTION.lowTolerance },
  // A forged or tampered signature is never an accident: our nodes sign everything they publish.
  BAD_SIGNATURE: { verdict: VERDICT.reject, action: PEER_ACTION.fatal },
  // The attestor set changes at runtime; a peer a moment behind may still relay an old member.
  UNKNOWN_SIGNER: { verdict: VERDICT.reject, action: PEER_ACTION.midTolerance },
  REPLAY: { verdict: VERDICT.reject, action: PEER_ACTION.midTolerance },
  // Honest clocks drift; a minute of skew is already generous, so this is rare but not damning.
  STALE: { verdict: VERDICT.reject, action: PEER_ACTION.highTolerance },
  FUTURE: { verdict: VERDICT.reject, action: PEER_ACTION.highTolerance },
  // We may simply not have heard the author's heartbeat yet: drop, blame nobody.
  UNBOUND_PEER: { verdict: VERDICT.ignore, action: null },
  BINDING_CONFLICT: { verdict: VERDICT.reject, action: PEER_ACTION.lowTolerance },
};

export class GossipValidationError extends Error {
  readonly code: GossipErrorCode;

  constructor(code: GossipErrorCode, detail: string) {
    super(`${code}: ${detail}`);
    this.name = 'GossipValidationError';
    this.code = code;
  }
}
