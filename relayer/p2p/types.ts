// The gossip contract between the node's subsystems and the p2p layer. Subsystems (attestor,
// executor, margin view, liquidation coordinator) publish and receive *signed, validated* payloads
// by topic; they never see libp2p itself. The real implementation is ./network.ts (js-libp2p +
// gossipsub); unit tests may use an in-memory one.

import type { Address, Hex } from '../config/types.ts';

/** Every gossip topic, one closed set: a topic cannot half-exist. */
export const TOPICS = {
  /** Signed liveness and identity: binds a libp2p peer id to an operator's EVM key. */
  heartbeat: 'xmargin/heartbeat/1',
  /** An attestor's DVN signature for one packet verification. */
  dvnSignature: 'xmargin/dvn-signature/1',
  /** A node's claim that it is submitting a DVN quorum or a liquidation. */
  claim: 'xmargin/claim/1',
  /** Signed observations of chains that other nodes do not serve. */
  observation: 'xmargin/observation/1',
  /** An attestor's signature of a WeightGovernor update (relayer/weights). */
  weightSignature: 'xmargin/weight-signature/1',
} as const;
export type TopicName = keyof typeof TOPICS;

/** What a validator decides, as gossipsub understands it. */
export const VERDICT = { accept: 'accept', reject: 'reject', ignore: 'ignore' } as const;
export type Verdict = (typeof VERDICT)[keyof typeof VERDICT];

/** A payload as delivered to a subscriber: already signature-checked and validated. */
export interface SignedMessage<T> {
  topic: TopicName;
  /** EVM address that signed the envelope (recovered, not claimed). */
  signer: Address;
  /** libp2p peer id of the message's author (signed by its libp2p key; relays are not named here). */
  fromPeer: string;
  /** Milliseconds since epoch, as signed by the sender. */
  sentAt: number;
  payload: T;
  /** keccak256(signed digest ‖ signer): unique per message, used for de-duplication. */
  id: Hex;
}

export interface GossipNetwork {
  /** Signs `payload` with the node's EVM key and publishes it on `topic`. */
  publish<T>(topic: TopicName, payload: T): Promise<void>;
  /** Receives every accepted message of `topic` (including, for convenience, the node's own). */
  subscribe<T>(topic: TopicName, handler: (message: SignedMessage<T>) => void | Promise<void>): void;
  /** This node's EVM signer address. */
  readonly signer: Address;
  /** This node's libp2p peer id. */
  readonly peerId: string;
  stop(): Promise<void>;
}
