// Gossip validation: ONE validator per topic (a table keyed by TOPICS), built from shared checks, and
// the one adapter that runs it, turns a thrown code into the gossipsub verdict and the sender's
// penalty (ERROR_OUTCOMES), counts the outcome and remembers accepted ids.
//
// Check order is cheapest first: size and form, topic, clock, payload schema, then the signature
// (the only costly step, made cheap for bound peers by ./verifier.ts; the message id needs the signer,
// so replays are caught after it), then who signed and which peer it came from.

import type { Address, Hex } from '../config/types.ts';
import type { PeerBindings } from './bindings.ts';
import { messageId, type OpenedEnvelope, parseEnvelope } from './envelope.ts';
import { ERROR_OUTCOMES, type GossipErrorCode, GossipValidationError } from './errors.ts';
import { TOPIC_PAYLOADS } from './payloads.ts';
import type { PeerPenalties } from './penalties.ts';
import type { SeenCache } from './seen-cache.ts';
import { emptyStats, type GossipMetrics, type ValidationOutcome, type ValidationStats } from './stats.ts';
import { type SignedMessage, TOPICS, type TopicName, VERDICT, type Verdict } from './types.ts';
import { SignatureVerifier } from './verifier.ts';
import { requireWeightSigner, type WeightSignaturePayload } from './weight-payload.ts';

export interface ValidationContext {
  /** The attestor set; read on every message because it may change at runtime. */
  allowedSigners: () => ReadonlySet<Address>;
  bindings: PeerBindings;
  seen: SeenCache;
  maxClockSkewMs: number;
  now: () => number;
  /** Attributes signatures; default: one over `bindings`, with tables for the attestor set. */
  verifier?: SignatureVerifier;
}

/** A message as gossipsub hands it over. `author` is the originating peer (signed under StrictSign). */
export interface InboundMessage {
  author: string;
  data: Uint8Array;
}

export type TopicValidator = (message: InboundMessage) => SignedMessage<unknown>;
export type TopicValidators = { readonly [T in TopicName]: TopicValidator };

/** An envelope that passed the common checks, with its signer's public key (heartbeats bind it). */
type CheckedEnvelope = OpenedEnvelope & { publicKey: Hex };

/** Form, topic, clock, replay and signature: what every topic checks. */
function openChecked(
  ctx: ValidationContext,
  verifier: SignatureVerifier,
  topic: TopicName,
  message: InboundMessage,
): CheckedEnvelope {
  const { signature, digest, ...body } = parseEnvelope(message.data);
  if (body.topic !== TOPICS[topic]) {
    throw new GossipValidationError(
      'WRONG_TOPIC',
      `envelope for ${body.topic} published on ${TOPICS[topic]}`,
    );
  }
  const age = ctx.now() - body.sentAt;
  if (age > ctx.maxClockSkewMs) throw new GossipValidationError('STALE', `sent ${age} ms ago`);
  if (-age > ctx.maxClockSkewMs) throw new GossipValidationError('FUTURE', `sent ${-age} ms in the future`);
  const payload = TOPIC_PAYLOADS[topic].safeParse(body.payload);
  if (!payload.success) {
    throw new GossipValidationError(
      'INVALID_PAYLOAD',
      payload.error.issues[0]?.message ?? 'payload rejected',
    );
  }
  const { signer, publicKey } = verifier.signerOf(message.author, digest, signature);
  const id = messageId(digest, signer);
  if (ctx.seen.has(id)) throw new GossipValidationError('REPLAY', `message ${id} already accepted`);
  return { ...body, payload: payload.data, signer, id, publicKey };
}

function isAllowedSigner(ctx: ValidationContext, signer: Address): boolean {
  // The set may come from config in any case; compare without checksumming each entry per message.
  const wanted = signer.toLowerCase();
  for (const allowed of ctx.allowedSigners()) {
    if (allowed.toLowerCase() === wanted) return true;
  }
  return false;
}

function requireAllowedSigner(ctx: ValidationContext, signer: Address): void {
  if (!isAllowedSigner(ctx, signer)) {
    throw new GossipValidationError('UNKNOWN_SIGNER', `${signer} is not in the attestor set`);
  }
}

function delivered(topic: TopicName, author: string, envelope: OpenedEnvelope): SignedMessage<unknown> {
  return {
    topic,
    signer: envelope.signer,
    fromPeer: author,
    sentAt: envelope.sentAt,
    payload: envelope.payload,
    id: envelope.id,
  };
}

export function createTopicValidators(ctx: ValidationContext): TopicValidators {
  const verifier =
    ctx.verifier ?? new SignatureVerifier({ boundKey: (peerId) => ctx.bindings.keyOf(peerId) });
  /** Topics whose messages count only when an attestor signed them and its peer binding matches. */
  const attested =
    (topic: TopicName): TopicValidator =>
    (message) => {
      const envelope = openChecked(ctx, verifier, topic, message);
      requireAllowedSigner(ctx, envelope.signer);
      ctx.bindings.requireBound(message.author, envelope.signer);
      return delivered(topic, message.author, envelope);
    };

  return {
    // Any operator may heartbeat (watchers and liquidators are not attestors); the heartbeat is what
    // binds its author's peer id to its signer, and a peer may not switch signers.
    heartbeat: (message) => {
      const envelope = openChecked(ctx, verifier, 'heartbeat', message);
      ctx.bindings.checkBindable(message.author, envelope.signer);
      ctx.bindings.bind(message.author, envelope.signer, envelope.publicKey);
      return delivered('heartbeat', message.author, envelope);
    },
    dvnSignature: attested('dvnSignature'),
    claim: attested('claim'),
    observation: attested('observation'),
    // Attested, and the update's own EIP-712 signature must be the envelope signer's.
    weightSignature: (message) => {
      const accepted = attested('weightSignature')(message);
      requireWeightSigner(accepted.payload as WeightSignaturePayload, accepted.signer);
      return accepted;
    },
  };
}

export interface ValidationResult {
  verdict: Verdict;
  /** Set when accepted. */
  message?: SignedMessage<unknown>;
  outcome: ValidationOutcome;
  /** Why it was not accepted, for debug logs (never includes payload contents). */
  detail?: string;
}

/** Failed validations of what one peer sent us, per code (codes never seen are absent). */
export type PeerRejections = Partial<Record<GossipErrorCode, number>>;

/** Peers whose rejections are remembered; beyond it the one first counted is forgotten. */
const MAX_PEERS_COUNTED = 1024;

/** Runs validators and applies their consequences; the only place verdicts are decided. */
export class GossipValidator {
  readonly #validators: TopicValidators;
  readonly #ctx: ValidationContext;
  readonly #penalties: PeerPenalties;
  readonly #metrics: GossipMetrics | undefined;
  readonly #stats = emptyStats();
  readonly #byPeer = new Map<string, PeerRejections>();

  constructor(ctx: ValidationContext, penalties: PeerPenalties, metrics?: GossipMetrics) {
    this.#ctx = ctx;
    this.#validators = createTopicValidators(ctx);
    this.#penalties = penalties;
    this.#metrics = metrics;
  }

  /** `propagationSource` is the peer that sent it to us: the one penalised if it is invalid. */
  validate(topic: TopicName, propagationSource: string, message: InboundMessage): ValidationResult {
    try {
      const accepted = this.#validators[topic](message);
      this.#ctx.seen.add(accepted.id);
      this.#count(topic, 'ACCEPT');
      return { verdict: VERDICT.accept, message: accepted, outcome: 'ACCEPT' };
    } catch (err) {
      // Anything that is not our typed error is a validator bug or garbage that broke a parser:
      // treat it as malformed rather than letting it escape into gossipsub.
      const code = err instanceof GossipValidationError ? err.code : 'MALFORMED';
      const { verdict, action } = ERROR_OUTCOMES[code];
      if (action !== null) this.#penalties.apply(propagationSource, action);
      this.#count(topic, code);
      this.#countPeer(propagationSource, code);
      return { verdict, outcome: code, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  stats(): ValidationStats {
    return structuredClone(this.#stats);
  }

  /**
   * What we refused from `peerId` (as the peer that sent it to us), per code: an operator sees which
   * peer sends, say, UNKNOWN_SIGNER messages (a key removed from the attestor set still in use).
   */
  rejectionsOf(peerId: string): PeerRejections {
    return { ...this.#byPeer.get(peerId) };
  }

  #countPeer(peerId: string, code: GossipErrorCode): void {
    let counts = this.#byPeer.get(peerId);
    if (counts === undefined) {
      if (this.#byPeer.size >= MAX_PEERS_COUNTED) {
        const oldest = this.#byPeer.keys().next().value;
        if (oldest !== undefined) this.#byPeer.delete(oldest);
      }
      counts = {};
      this.#byPeer.set(peerId, counts);
    }
    counts[code] = (counts[code] ?? 0) + 1;
  }

  #count(topic: TopicName, outcome: ValidationOutcome): void {
    this.#stats[topic][outcome] += 1;
    this.#metrics?.onValidation(topic, outcome);
  }
}
