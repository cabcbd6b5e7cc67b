// Counters of validation outcomes per topic and code, with every label present from the start (a
// Prometheus exporter can map them one to one, and a zero is distinguishable from "not counted").

import { GOSSIP_ERROR, type GossipErrorCode } from './errors.ts';
import { TOPICS, type TopicName } from './types.ts';

export type ValidationOutcome = 'ACCEPT' | GossipErrorCode;
export type ValidationStats = { [T in TopicName]: { [O in ValidationOutcome]: number } };

/** Optional sink for the same events (e.g. prom-client counters); never global. */
export interface GossipMetrics {
  onValidation(topic: TopicName, outcome: ValidationOutcome): void;
  onPublish?(topic: TopicName, bytes: number): void;
}

export function emptyStats(): ValidationStats {
  const outcomes = ['ACCEPT', ...Object.keys(GOSSIP_ERROR)] as ValidationOutcome[];
  const perTopic = () =>
    Object.fromEntries(outcomes.map((o) => [o, 0])) as { [O in ValidationOutcome]: number };
  return Object.fromEntries(
    (Object.keys(TOPICS) as TopicName[]).map((t) => [t, perTopic()]),
  ) as ValidationStats;
}
