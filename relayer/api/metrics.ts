// The node's Prometheus metrics: one prom-client Registry per node, never the global one, so two
// nodes in one process (tests, the devnet) keep separate numbers. Subsystems do not touch
// prom-client; they call the small NodeMetrics methods (metrics.gossip('claim', 'in')), and values
// the node already holds (chain heads, peers, store size) are read at scrape time through sources
// bound once the node has built them.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { REFUSAL_REASONS, type RefusalReason } from '../../attestor/refusals.ts';
import { ERROR_OUTCOMES, GOSSIP_ERROR, type GossipErrorCode } from '../p2p/errors.ts';
import type { GossipMetrics, ValidationOutcome } from '../p2p/stats.ts';
import { TOPICS, type TopicName, VERDICT } from '../p2p/types.ts';
import { WEIGHT_FINAL, type WeightFinal } from '../weights/journal.ts';

export const METRIC_PREFIX = 'xmargin_';

/** in: accepted from a peer; out: published by us; rejected / ignored: the validator's verdicts. */
export const GOSSIP_DIRECTIONS = ['in', 'out', 'rejected', 'ignored'] as const;
export type GossipDirection = (typeof GOSSIP_DIRECTIONS)[number];

/** Every documented metric name (tests check that /metrics exposes each of them). */
export const METRIC_NAMES = {
  gossipMessages: 'xmargin_gossip_messages_total',
  gossipRejections: 'xmargin_gossip_rejections_total',
  attestorRefusals: 'xmargin_attestor_refusals_total',
  packetVerification: 'xmargin_packet_verification_seconds',
  packetDelivery: 'xmargin_packet_delivery_seconds',
  liquidation: 'xmargin_liquidation_seconds',
  rebalance: 'xmargin_rebalance_seconds',
  weightUpdates: 'xmargin_weight_updates_total',
  heartbeats: 'xmargin_heartbeats_total',
  chainLag: 'xmargin_chain_lag_blocks',
  chainHead: 'xmargin_chain_head',
  storeSize: 'xmargin_store_size_bytes',
  peers: 'xmargin_peers',
} as const;

export interface ChainSample {
  chain: string;
  head: number | null;
  lag: number | null;
}

/** Where the scrape-time gauges read from; each is optional (a gauge without a source stays 0). */
export interface MetricSources {
  chains?: () => ChainSample[];
  peers?: () => number;
  storeSizeBytes?: () => Promise<number> | number;
}

export interface NodeMetrics {
  readonly registry: Registry;
  gossip(topic: TopicName, direction: GossipDirection): void;
  /** PacketSent seen -> verification committed on the destination. */
  packetVerified(seconds: number): void;
  /** PacketSent seen -> lzReceive delivered. */
  packetDelivered(seconds: number): void;
  /**
   * A liquidation of ours landed: unhealthy sub-account first seen by this node (the block that made
   * it unhealthy reached the margin view) -> our receipt, confirmations included (landingLatencyMs).
   */
  liquidation(seconds: number): void;
  /** Rescue wanted -> the moved credit credited on the engine that needed it. */
  rebalance(seconds: number): void;
  /** The attestor refused to sign a packet (attestor/refusals.ts). */
  attestorRefusal(reason: RefusalReason): void;
  /** A weight update (relayer/weights) this node signed or saw at quorum ended: applied, stale, expired, failed. */
  weightUpdate(outcome: WeightFinal): void;
  /** A source-chain HEARTBEAT this node sent (relayer/heartbeats): mined, or failed (reverted or not sent). */
  heartbeat(outcome: 'sent' | 'failed'): void;
  /** The sink the gossip network reports validation outcomes and publishes to. */
  readonly gossipSink: GossipMetrics;
  bindSources(sources: MetricSources): void;
}

// Packets cross chains with block times of 1-12 s and confirmations: seconds to minutes.
const PACKET_BUCKETS = [0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 300, 600];
const LIQUIDATION_BUCKETS = [0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120];

export function createNodeMetrics(options: { defaultMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry();
  // Process metrics (CPU, memory, event loop lag) under our prefix, so they never collide with another
  // exporter's in the same Prometheus.
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  let sources: MetricSources = {};
  const registers = [registry];

  // Every label combination a counter has exists from the start, at zero: a zero is distinguishable
  // from "never counted".
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    zeros: Record<L, string>[],
  ): Counter<L> => {
    const c = new Counter<L>({ name, help, labelNames, registers });
    for (const labels of zeros) c.inc(labels, 0);
    return c;
  };
  const topics = Object.keys(TOPICS) as TopicName[];
  const gossipMessages = counter(
    METRIC_NAMES.gossipMessages,
    'Gossip messages per topic: in (accepted), out (published), rejected, ignored',
    ['topic', 'direction'],
    topics.flatMap((topic) => GOSSIP_DIRECTIONS.map((direction) => ({ topic, direction }))),
  );
  const gossipRejections = counter(
    METRIC_NAMES.gossipRejections,
    'Gossip messages that failed validation, per topic and code (e.g. UNKNOWN_SIGNER: a key outside the attestor set)',
    ['topic', 'code'],
    topics.flatMap((topic) =>
      (Object.keys(GOSSIP_ERROR) as GossipErrorCode[]).map((code) => ({ topic, code })),
    ),
  );
  const attestorRefusals = counter(
    METRIC_NAMES.attestorRefusals,
    'Packets the attestor refused to sign, by reason (rpc_disagreement: its RPCs of the source chain disagreed)',
    ['reason'],
    REFUSAL_REASONS.map((reason) => ({ reason })),
  );
  const packetVerification = new Histogram({
    name: METRIC_NAMES.packetVerification,
    help: 'Seconds from PacketSent seen by this node to the verification committed on the destination',
    buckets: PACKET_BUCKETS,
    registers,
  });
  const packetDelivery = new Histogram({
    name: METRIC_NAMES.packetDelivery,
    help: 'Seconds from PacketSent seen by this node to lzReceive delivered',
    buckets: PACKET_BUCKETS,
    registers,
  });
  const liquidation = new Histogram({
    name: METRIC_NAMES.liquidation,
    help: 'Seconds from an unhealthy sub-account first seen by this node (its block reached the margin view) to the receipt of our liquidation of it',
    buckets: LIQUIDATION_BUCKETS,
    registers,
  });
  const rebalance = new Histogram({
    name: METRIC_NAMES.rebalance,
    help: 'Seconds from a rescue first wanted to the moved credit credited on the engine that needed it',
    buckets: PACKET_BUCKETS,
    registers,
  });
  const weightUpdates = counter(
    METRIC_NAMES.weightUpdates,
    'WeightGovernor update rounds this node signed or saw at quorum, by how they ended',
    ['outcome'],
    WEIGHT_FINAL.map((outcome) => ({ outcome })),
  );
  const heartbeats = counter(
    METRIC_NAMES.heartbeats,
    'Source-chain HEARTBEATs this node sent for staleness-aware weights, by outcome',
    ['outcome'],
    [{ outcome: 'sent' }, { outcome: 'failed' }],
  );
  new Gauge({
    name: METRIC_NAMES.chainHead,
    help: 'Highest block the node holds per chain',
    labelNames: ['chain'] as const,
    registers,
    collect() {
      for (const c of sources.chains?.() ?? []) if (c.head !== null) this.set({ chain: c.chain }, c.head);
    },
  });
  new Gauge({
    name: METRIC_NAMES.chainLag,
    help: "Blocks between a chain's latest head and what the node holds",
    labelNames: ['chain'] as const,
    registers,
    collect() {
      for (const c of sources.chains?.() ?? []) if (c.lag !== null) this.set({ chain: c.chain }, c.lag);
    },
  });
  new Gauge({
    name: METRIC_NAMES.storeSize,
    help: "Bytes on disk of the node's level store",
    registers,
    async collect() {
      if (sources.storeSizeBytes !== undefined) this.set(await sources.storeSizeBytes());
    },
  });
  new Gauge({
    name: METRIC_NAMES.peers,
    help: 'Connected libp2p peers',
    registers,
    collect() {
      if (sources.peers !== undefined) this.set(sources.peers());
    },
  });

  const gossip = (topic: TopicName, direction: GossipDirection): void =>
    gossipMessages.inc({ topic, direction });
  return {
    registry,
    gossip,
    packetVerified: (s) => packetVerification.observe(s),
    packetDelivered: (s) => packetDelivery.observe(s),
    liquidation: (s) => liquidation.observe(s),
    rebalance: (s) => rebalance.observe(s),
    weightUpdate: (outcome) => weightUpdates.inc({ outcome }),
    heartbeat: (outcome) => heartbeats.inc({ outcome }),
    attestorRefusal: (reason) => attestorRefusals.inc({ reason }),
    gossipSink: {
      onValidation: (topic, outcome) => {
        gossip(topic, validationDirection(outcome));
        if (outcome !== 'ACCEPT') gossipRejections.inc({ topic, code: outcome });
      },
      onPublish: (topic) => gossip(topic, 'out'),
    },
    bindSources(next) {
      sources = { ...sources, ...next };
    },
  };
}

/** The validator's outcome as a direction label: the error table decides reject vs ignore. */
export function validationDirection(outcome: ValidationOutcome): GossipDirection {
  if (outcome === 'ACCEPT') return 'in';
  return ERROR_OUTCOMES[outcome].verdict === VERDICT.ignore ? 'ignored' : 'rejected';
}
