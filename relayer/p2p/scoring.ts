// Gossipsub v1.1 peer-scoring parameters for xmargin's topics. The topics carry little traffic
// (heartbeats every few seconds, a signature per packet), so the mesh-delivery terms (P3, P3b) that
// punish quiet mesh peers are off: with so few messages they would punish honest peers. What matters
// is P4 (invalid deliveries, squared, slow decay) and P5 (our own penalties, ./penalties.ts).

import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score';
import { TOPICS, type TopicName } from './types.ts';

/** Score decays are applied once per this interval (gossipsub's default). */
const DECAY_INTERVAL_MS = 1000;

/** The per-interval factor that shrinks a counter to 1% over `ms`. */
export function decayOver(ms: number): number {
  return 0.01 ** (DECAY_INTERVAL_MS / ms);
}

/** Below gossipThreshold no gossip to/from the peer, below publish none of our publishes, below graylist all its RPCs are dropped. */
export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -40,
  publishThreshold: -80,
  graylistThreshold: -160,
  acceptPXThreshold: 20,
  opportunisticGraftThreshold: 5,
};

/** Relative weight of each topic: signatures and claims decide money, heartbeats only liveness. */
const TOPIC_WEIGHTS: { readonly [T in TopicName]: number } = {
  heartbeat: 0.5,
  dvnSignature: 1,
  claim: 1,
  observation: 1,
  weightSignature: 1,
};

function topicParams(weight: number): TopicScoreParams {
  return {
    topicWeight: weight,
    // P1: a little credit for staying in the mesh, capped at +1 (one hour).
    timeInMeshWeight: 1 / 3600,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 3600,
    // P2: credit for being first to deliver a valid message, capped so it cannot hide invalid ones.
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: decayOver(10 * 60_000),
    firstMessageDeliveriesCap: 20,
    // P3/P3b off (weight 0): too little traffic for a delivery-rate expectation.
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 1,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 60_000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    // P4: -2 × count², decaying over an hour: 9 invalid messages reach the graylist on a weight-1 topic.
    invalidMessageDeliveriesWeight: -2,
    invalidMessageDeliveriesDecay: decayOver(60 * 60_000),
  };
}

export function scoreParams(appSpecificScore: (peerId: string) => number): Partial<PeerScoreParams> {
  const topics: Record<string, TopicScoreParams> = {};
  for (const name of Object.keys(TOPICS) as TopicName[]) {
    topics[TOPICS[name]] = topicParams(TOPIC_WEIGHTS[name]);
  }
  return {
    topics,
    // Positive topic score is capped so good behaviour on one topic cannot buy room for abuse.
    topicScoreCap: 10,
    appSpecificScore,
    appSpecificWeight: 1,
    // P6: many peer ids behind one IP is a sybil smell; devnets run all nodes on 127.0.0.1, so the
    // threshold is generous and loopback is exempt.
    IPColocationFactorWeight: -5,
    IPColocationFactorThreshold: 10,
    IPColocationFactorWhitelist: new Set(['127.0.0.1', '::1']),
    // P7: protocol misbehaviour (broken promises, graft during backoff).
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 0,
    behaviourPenaltyDecay: decayOver(10 * 60_000),
    decayInterval: DECAY_INTERVAL_MS,
    decayToZero: 0.01,
    retainScore: 60 * 60_000,
  };
}
