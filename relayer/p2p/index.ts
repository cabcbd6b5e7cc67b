// Entry of the p2p subsystem: the gossip contract, the libp2p implementation and its pieces that
// others may need (envelope codec for tools, payload schemas, error codes for metrics).
export * from './envelope.ts';
export * from './errors.ts';
export type { Logger } from './log.ts';
export { createGossipNetwork, type GossipNetworkOptions, type Libp2pGossipNetwork } from './network.ts';
export * from './observation-payload.ts';
export * from './payloads.ts';
export { SCORE_THRESHOLDS } from './scoring.ts';
export * from './stats.ts';
export * from './types.ts';
export * from './weight-payload.ts';
