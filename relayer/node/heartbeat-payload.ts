// What this node says in its signed heartbeat: version, roles, each served chain's head and lag, the
// last packet it saw (so operators can compare nodes' progress), and whether it sends source-chain
// HEARTBEATs. Read from the attestor service's followers at every beat.

import type { ChainConfig, Hex, NodeConfig } from '../config/types.ts';
import type { HeartbeatPayload } from '../p2p/index.ts';

/** What the payload reads from the attestor service (structural, so tests pass a fake). */
export interface HeartbeatSource {
  readonly followers: readonly (
    | { readonly tip: { number: number } | undefined; readonly latestHead: number | undefined }
    | undefined
  )[];
  lastPacketSeen(): Hex | undefined;
}

/** Whether this node runs the source-chain heartbeat sender (relayer/heartbeats). */
export const sendsSourceHeartbeats = (config: Pick<NodeConfig, 'roles' | 'heartbeats'>): boolean =>
  config.roles.includes('attestor') && config.heartbeats !== undefined;

export function heartbeatPayload(
  version: string,
  config: Pick<NodeConfig, 'roles' | 'heartbeats'>,
  chains: readonly Pick<ChainConfig, 'eid'>[],
  service: HeartbeatSource | undefined,
): HeartbeatPayload {
  const lastPacketSeen = service?.lastPacketSeen();
  return {
    version,
    roles: config.roles,
    chains: chains.map((chain, i) => {
      const follower = service?.followers[i];
      const head = follower?.tip?.number ?? 0;
      const lag = follower?.latestHead === undefined ? 0 : Math.max(0, follower.latestHead - head);
      return { eid: chain.eid, head: BigInt(head), lag };
    }),
    ...(lastPacketSeen === undefined ? {} : { lastPacketSeen }),
    ...(sendsSourceHeartbeats(config) ? { sendsSourceHeartbeats: true } : {}),
  };
}
