// An in-memory GossipNetwork for tests: every joined node receives every message (its own too, as
// the real one does); a stopped node neither sends nor receives. The envelope "signature" is the
// joining wallet's address, which is what the real network recovers from its signed envelopes.

import { keccak256, toUtf8Bytes } from 'ethers';
import type { Address, Hex } from '../../relayer/config/types.ts';
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
    // A JSON round trip, as on the wire: catches payloads that would not survive serialisation.
    const wire = JSON.parse(JSON.stringify(payload)) as unknown;
    const id = keccak256(
      toUtf8Bytes(`${from.peerId}:${sentAt}:${this.counter++}:${JSON.stringify(wire)}`),
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
