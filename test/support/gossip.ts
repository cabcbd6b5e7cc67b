// An in-memory GossipNetwork for tests: every joined node receives every message (its own too, as
// the real one does); a stopped node neither sends nor receives. The envelope "signature" is the
// joining wallet's address, which is what the real network recovers from its signed envelopes. A
// payload travels as the real network carries it: canonical JSON (bigints as decimal strings), then
// the topic's schema (which turns them back into bigints).

import { keccak256, toUtf8Bytes } from 'ethers';
import type { Address, Hex } from '../../relayer/config/types.ts';
import { canonicalJson } from '../../relayer/p2p/envelope.ts';
import { TOPIC_PAYLOADS } from '../../relayer/p2p/payloads.ts';
import type { GossipNetwork, SignedMessage, TopicName } from '../../relayer/p2p/types.ts';

type AnyHandler = (message: SignedMessage<unknown>) => void | Promise<void>;

export class MemoryGossipHub {
  private readonly nodes = new Set<MemoryGossip>();
  private counter = 0;

  join(signer: Address): MemoryGossip {
    const node = new MemoryGossip(this, signer, `peer-${this.counter++}`);
    this.nodes.add(node);
    return node;
  }

  leave(node: MemoryGossip): void {
    this.nodes.delete(node);
  }

  deliver(from: MemoryGossip, topic: TopicName, payload: unknown): void {
    const sentAt = Date.now();
    // A round trip as on the wire: catches payloads that would not survive serialisation or the schema.
    const parsed = TOPIC_PAYLOADS[topic].safeParse(JSON.parse(canonicalJson(payload)));
    if (!parsed.success) throw new Error(`payload for ${topic} does not match its schema`);
    const wire = parsed.data as unknown;
    const id = keccak256(
      toUtf8Bytes(`${from.peerId}:${sentAt}:${this.counter++}:${canonicalJson(wire)}`),
    ) as Hex;
    for (const node of this.nodes) {
      const message: SignedMessage<unknown> = {
        topic,
        signer: from.signer,
        fromPeer: from.peerId,
        sentAt,
        payload: wire,
        id,
      };
      // Asynchronous, like a network: the publisher does not run the handlers inline.
      setImmediate(() => node.receive(message));
    }
  }
}

export class MemoryGossip implements GossipNetwork {
  readonly signer: Address;
  readonly peerId: string;
  private readonly hub: MemoryGossipHub;
  private readonly handlers = new Map<TopicName, AnyHandler[]>();
  private stopped = false;

  constructor(hub: MemoryGossipHub, signer: Address, peerId: string) {
    this.hub = hub;
    this.signer = signer;
    this.peerId = peerId;
  }

  async publish<T>(topic: TopicName, payload: T): Promise<void> {
    if (this.stopped) throw new Error('gossip stopped');
    this.hub.deliver(this, topic, payload);
  }

  subscribe<T>(topic: TopicName, handler: (message: SignedMessage<T>) => void | Promise<void>): void {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler as AnyHandler]);
  }

  receive(message: SignedMessage<unknown>): void {
    if (this.stopped) return;
    for (const handler of this.handlers.get(message.topic) ?? []) {
      void Promise.resolve(handler(message)).catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.hub.leave(this);
  }
}
