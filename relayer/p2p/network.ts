// The real GossipNetwork: js-libp2p over TCP (Noise, Yamux, identify, ping) with gossipsub v1.1 and
// peer scoring. Wiring only: envelopes are ./envelope.ts, verdicts ./validation.ts, penalties
// ./penalties.ts, scoring ./scoring.ts, bootstrap dials ./bootstrap.ts.
//
// Gossipsub runs with StrictSign: each message carries its author's libp2p signature and peer id,
// so the peer id our heartbeat bindings talk about is the author's even when a third node relays
// it, and gossipsub's message id (author + seqno) lets a replayed envelope reach our validator (which
// then rejects it by its EVM-signed digest) instead of vanishing as a transport-level duplicate.
// A byte-identical copy (the same message over another mesh link), though, is dropped by its fast id
// before gossipsub checks its libp2p signature again or our validator sees it.

import { createHash } from 'node:crypto';
import {
  type GossipSub,
  type GossipsubMessage,
  type GossipsubOpts,
  gossipsub,
  StrictSign,
  TopicValidatorResult,
} from '@libp2p/gossipsub';
import { type Identify, identify } from '@libp2p/identify';
import type { Libp2p, PrivateKey } from '@libp2p/interface';
import { noise } from '@libp2p/noise';
import { type Ping, ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import type { Wallet } from 'ethers';
import { createLibp2p } from 'libp2p';
import type { Address } from '../config/types.ts';
import { installFastKeccak } from '../keys/fast-keccak.ts';
import { PeerBindings } from './bindings.ts';
import { startBootstrapDialer } from './bootstrap.ts';
import { PeerDenyList } from './deny.ts';
import { parseEnvelope, sealEnvelope } from './envelope.ts';
import type { Logger } from './log.ts';
import { type HeartbeatPayload, TOPIC_PAYLOADS } from './payloads.ts';
import { PeerPenalties } from './penalties.ts';
import { SCORE_THRESHOLDS, scoreParams } from './scoring.ts';
import { SeenCache } from './seen-cache.ts';
import type { GossipMetrics, ValidationStats } from './stats.ts';
import {
  type GossipNetwork,
  type SignedMessage,
  TOPICS,
  type TopicName,
  VERDICT,
  type Verdict,
} from './types.ts';
import { GossipValidator, type PeerRejections } from './validation.ts';

export interface GossipNetworkOptions {
  /** Listen multiaddrs, e.g. /ip4/127.0.0.1/tcp/0. */
  listen: string[];
  /** Multiaddrs with /p2p/<peer id>, dialled at start and retried. */
  bootstrap: string[];
  /** libp2p identity (keys/loadOrCreateP2pKey). */
  privateKey: PrivateKey;
  /** The operator's EVM key: signs every envelope we publish. */
  evmWallet: Wallet;
  /** The attestor set, read per message (it may change at runtime). */
  allowedSigners: () => ReadonlySet<Address>;
  log: Logger;
  metrics?: GossipMetrics;
  /** Signed heartbeats: every `intervalMs`, the payload from `payload()`. Omit to publish none. */
  heartbeat?: { intervalMs: number; payload: () => HeartbeatPayload | Promise<HeartbeatPayload> };
  /** Gossipsub heartbeat (mesh maintenance, score refresh). Default 1000 ms; tests use less. */
  gossipHeartbeatMs?: number;
  /**
   * How long a peer whose score fell below the graylist threshold is cut off (connections closed,
   * its redials refused). Default 10 minutes; 0 keeps graylisted peers connected (gossipsub then
   * only drops their messages).
   */
  graylistBanMs?: number;
  /** How often bootstrap peers we are not connected to are dialled again. Default 10 s. */
  bootstrapRetryMs?: number;
  /** Clock skew tolerated either way on `sentAt`. Default 60 s. */
  maxClockSkewMs?: number;
  now?: () => number;
}

/** What the real network offers beyond the subsystem contract: introspection for ops and tests. */
export interface Libp2pGossipNetwork extends GossipNetwork {
  /** This node's gossipsub score of a peer (includes our penalties as the app-specific term). */
  peerScore(peerId: string): number;
  /** Validation outcomes per topic and code. */
  stats(): ValidationStats;
  /** Messages from a peer (the one that sent them to us) we rejected or ignored, per code. */
  peerRejections(peerId: string): PeerRejections;
  /** EVM signer bound to a peer by its heartbeats, if any. */
  boundSigner(peerId: string): Address | undefined;
  /** Peers known to be subscribed to a topic / in our mesh for it. */
  subscribers(topic: TopicName): string[];
  meshPeers(topic: TopicName): string[];
  /** Addresses we listen on, with /p2p/<our id> (what other nodes put in their bootstrap list). */
  multiaddrs(): string[];
  /** Dials missing bootstrap peers now (also done on a timer). */
  dialBootstrap(): Promise<void>;
  /**
   * Replaces the deny-list (./deny.ts): no connection to or from these peer ids from now on, and
   * those open are closed. An empty list lets every peer back (the bootstrap timer redials).
   */
  setDeniedPeers(peerIds: readonly string[]): Promise<void>;
  deniedPeers(): string[];
  /** Peers this node hung up on because their score fell below the graylist threshold, and until when. */
  bannedPeers(): { peerId: string; until: number }[];
  /** The underlying node; for tests that need to speak raw gossipsub. */
  readonly libp2p: Libp2p<{ identify: Identify; ping: Ping; pubsub: GossipSub }>;
}

/** Gossipsub's class has these; its exported interface does not list them. */
interface GossipSubInternals {
  getScore(peerId: string): number;
  getMeshPeers(topic: string): string[];
}

const WIRE_TO_TOPIC = new Map(
  Object.entries(TOPICS).map(([name, wire]) => [wire as string, name as TopicName]),
);
const GOSSIPSUB_RESULT: { readonly [V in Verdict]: TopicValidatorResult } = {
  [VERDICT.accept]: TopicValidatorResult.Accept,
  [VERDICT.reject]: TopicValidatorResult.Reject,
  [VERDICT.ignore]: TopicValidatorResult.Ignore,
};

type Handler = (message: SignedMessage<unknown>) => void | Promise<void>;

/** Gossipsub's local de-duplication key: a hash of every field, so only exact copies share one. */
function fastMessageId(msg: {
  topic: string;
  from?: Uint8Array;
  seqno?: Uint8Array;
  signature?: Uint8Array;
  data?: Uint8Array;
}): string {
  const parts = [Buffer.from(msg.topic), msg.from, msg.seqno, msg.signature, msg.data];
  // Every field's length first, so field boundaries cannot shift between two messages.
  const lengths = Buffer.allocUnsafe(4 * parts.length);
  for (const [i, part] of parts.entries()) lengths.writeUInt32BE(part?.length ?? 0, 4 * i);
  const hash = createHash('sha256').update(lengths);
  for (const part of parts) if (part !== undefined) hash.update(part);
  return hash.digest('base64');
}

/**
 * The libp2p stack every node runs (TCP, Noise, Yamux, identify, ping) and gossipsub's options but
 * for scoring and its heartbeat. Also what the gossip bench's baseline runs with nothing of xmargin
 * on top (bench/lib/gossip-baseline-worker.ts), so the two measure the same transport.
 */
export function gossipStack() {
  return {
    transport: { transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] },
    services: { identify: identify(), ping: ping() },
    gossipsub: {
      globalSignaturePolicy: StrictSign,
      // Every node runs gossipsub with scoring; a floodsub peer would sidestep the mesh rules.
      fallbackToFloodsub: false,
      // Our own messages go to every subscribed peer above the publish threshold, not just the mesh.
      floodPublish: true,
      // A lone node (first of a devnet) must not fail its publishes.
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      fastMsgIdFn: fastMessageId,
      // IDONTWANT (gossipsub v1.2) is for large messages: at the default 512 B every ~1 KB envelope
      // made each node send a control frame to every mesh peer, ~6 per node per message, while
      // every node had its copy from the publisher already (floodPublish) and duplicates stayed at
      // ~2.9x. Kept for large observations only: bench/gossip.ts, five runs each way, CPU per
      // delivery -10 % at 100 msg/s and -15 % at 20 msg/s, p99 at 100 msg/s 44-86 ms vs 128-173 ms.
      idontwantMinDataSize: 16 * 1024,
      allowedTopics: Object.values(TOPICS),
    } satisfies Partial<GossipsubOpts>,
  };
}

export async function createGossipNetwork(options: GossipNetworkOptions): Promise<Libp2pGossipNetwork> {
  // Every message id and EIP-191 digest is a keccak256: the WebAssembly one (idempotent).
  await installFastKeccak();
  const { log, evmWallet } = options;
  const now = options.now ?? Date.now;
  const maxClockSkewMs = options.maxClockSkewMs ?? 60_000;
  const heartbeatMs = options.heartbeat?.intervalMs ?? 5000;
  const signer = evmWallet.address as Address;

  const penalties = new PeerPenalties();
  // A binding outlives a few missed heartbeats, not a departed node.
  const bindings = new PeerBindings({ ttlMs: Math.max(60_000, 6 * heartbeatMs), now });
  // An envelope can pass the clock check for 2 × skew; after that it is STALE anyway.
  const seen = new SeenCache({ ttlMs: 2 * maxClockSkewMs + 1000, now });
  const validator = new GossipValidator(
    { allowedSigners: options.allowedSigners, bindings, seen, maxClockSkewMs, now },
    penalties,
    options.metrics,
  );

  const denyList = new PeerDenyList(now);
  const stack = gossipStack();
  const libp2p = await createLibp2p({
    privateKey: options.privateKey,
    connectionGater: denyList.gater(),
    addresses: { listen: options.listen },
    ...stack.transport,
    services: {
      ...stack.services,
      pubsub: gossipsub({
        ...stack.gossipsub,
        heartbeatInterval: options.gossipHeartbeatMs ?? 1000,
        scoreParams: scoreParams((peerId) => penalties.score(peerId)),
        scoreThresholds: SCORE_THRESHOLDS,
      }),
    },
  });
  const pubsub = libp2p.services.pubsub;
  const internals = pubsub as unknown as GossipSubInternals;

  // Shutdown registry: everything started is stopped in reverse order.
  const stoppers: Array<() => void | Promise<void>> = [() => libp2p.stop()];

  const handlers = new Map<TopicName, Set<Handler>>();
  // The validator's decoded message, found again when gossipsub emits the same message object.
  const accepted = new WeakMap<object, SignedMessage<unknown>>();

  function dispatch(message: SignedMessage<unknown>): void {
    for (const handler of handlers.get(message.topic) ?? []) {
      // A subscriber's failure is its own: log it, never let it reach gossipsub.
      Promise.resolve()
        .then(() => handler(message))
        .catch((err: unknown) =>
          log.error({ topic: message.topic, id: message.id, err: String(err) }, 'gossip handler failed'),
        );
    }
  }

  for (const [wire, topic] of WIRE_TO_TOPIC) {
    pubsub.topicValidators.set(wire, (propagationSource, msg) => {
      if (msg.type !== 'signed') {
        // Cannot happen under StrictSign (gossipsub drops unsigned messages first); be explicit anyway.
        return TopicValidatorResult.Reject;
      }
      const source = propagationSource.toString();
      const result = validator.validate(topic, source, { author: msg.from.toString(), data: msg.data });
      if (result.message !== undefined) {
        accepted.set(msg, result.message);
      } else {
        log.debug(
          { topic, from: source, outcome: result.outcome, detail: result.detail },
          'gossip message not accepted',
        );
      }
      return GOSSIPSUB_RESULT[result.verdict];
    });
    pubsub.subscribe(wire);
  }

  pubsub.addEventListener('gossipsub:message', (event: CustomEvent<GossipsubMessage>) => {
    const message = accepted.get(event.detail.msg);
    if (message !== undefined) dispatch(message);
  });

  async function publish<T>(topic: TopicName, payload: T): Promise<void> {
    const sentAt = now();
    const sealed = await sealEnvelope(evmWallet, { topic: TOPICS[topic], sentAt, payload });
    // Our own subscribers get what peers will get: the payload after the wire round trip and the
    // topic's schema. A payload that fails the schema is refused here, not penalised over there.
    const parsed = TOPIC_PAYLOADS[topic].safeParse(parseEnvelope(sealed.bytes).payload);
    if (!parsed.success) {
      throw new Error(`payload for ${topic} does not match its schema: ${parsed.error.issues[0]?.message}`);
    }
    seen.add(sealed.id);
    const result = await pubsub.publish(TOPICS[topic], sealed.bytes);
    options.metrics?.onPublish?.(topic, sealed.bytes.length);
    log.debug({ topic, id: sealed.id, recipients: result.recipients.length }, 'gossip published');
    dispatch({
      topic,
      signer,
      fromPeer: libp2p.peerId.toString(),
      sentAt,
      payload: parsed.data,
      id: sealed.id,
    });
  }

  const heartbeat = options.heartbeat;
  if (heartbeat !== undefined) {
    const beat = async () => {
      try {
        await publish('heartbeat', await heartbeat.payload());
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'heartbeat not published');
      }
    };
    const timer = setInterval(() => void beat(), heartbeat.intervalMs);
    timer.unref();
    stoppers.push(() => clearInterval(timer));
    void beat();
  }

  // Gossipsub drops a graylisted peer's messages but keeps its connection, so a flood still costs
  // the decryption and decoding of every byte. Hang up on it and refuse it for a while instead; its
  // score is retained (scoreParams.retainScore), so coming back early would change nothing.
  const graylistBanMs = options.graylistBanMs ?? 10 * 60_000;
  if (graylistBanMs > 0) {
    const hangUp = setInterval(() => {
      for (const peer of libp2p.getPeers()) {
        const peerId = peer.toString();
        const score = internals.getScore(peerId);
        if (score >= SCORE_THRESHOLDS.graylistThreshold || denyList.banned(peerId)) continue;
        denyList.ban(peerId, now() + graylistBanMs);
        log.warn({ peerId, score, banMs: graylistBanMs }, 'graylisted peer disconnected');
        void libp2p.hangUp(peer).catch(() => undefined);
      }
    }, options.gossipHeartbeatMs ?? 1000);
    hangUp.unref();
    stoppers.push(() => clearInterval(hangUp));
  }

  const dialer = startBootstrapDialer({
    libp2p,
    addrs: options.bootstrap,
    retryMs: options.bootstrapRetryMs ?? 10_000,
    log,
  });
  stoppers.push(() => dialer.stop());

  log.info(
    { peerId: libp2p.peerId.toString(), signer, addrs: libp2p.getMultiaddrs().map(String) },
    'p2p started',
  );

  let stopping: Promise<void> | undefined;
  return {
    signer,
    peerId: libp2p.peerId.toString(),
    libp2p,
    publish,
    subscribe<T>(topic: TopicName, handler: (message: SignedMessage<T>) => void | Promise<void>) {
      const set = handlers.get(topic) ?? new Set<Handler>();
      set.add(handler as Handler);
      handlers.set(topic, set);
    },
    peerScore: (peerId) => internals.getScore(peerId),
    stats: () => validator.stats(),
    peerRejections: (peerId) => validator.rejectionsOf(peerId),
    boundSigner: (peerId) => bindings.signerOf(peerId),
    subscribers: (topic) => pubsub.getSubscribers(TOPICS[topic]).map(String),
    meshPeers: (topic) => internals.getMeshPeers(TOPICS[topic]),
    multiaddrs: () => libp2p.getMultiaddrs().map(String),
    dialBootstrap: () => dialer.dialMissing(),
    async setDeniedPeers(peerIds) {
      const added = denyList.set(peerIds);
      const open = new Set(libp2p.getConnections().map((c) => c.remotePeer.toString()));
      await Promise.all(
        libp2p
          .getConnections()
          .filter((c) => added.includes(c.remotePeer.toString()))
          .map((c) => c.close().catch(() => c.abort(new Error('peer denied')))),
      );
      log.info({ denied: denyList.list(), closed: added.filter((p) => open.has(p)) }, 'peer deny-list set');
      // A peer let back in is dialled now rather than at the next bootstrap round (denied ones are
      // refused by the gater before any packet leaves).
      void dialer.dialMissing();
    },
    deniedPeers: () => denyList.list(),
    bannedPeers: () => denyList.bans(),
    stop() {
      stopping ??= (async () => {
        for (const stop of stoppers.reverse()) {
          try {
            await stop();
          } catch (err) {
            log.warn({ err: String(err) }, 'p2p shutdown step failed');
          }
        }
        log.info({}, 'p2p stopped');
      })();
      return stopping;
    },
  };
}
