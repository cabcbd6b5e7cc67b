// The `heartbeats` section of /status: what this node's heartbeat sender did, and, per engine chain
// the margin view follows, the age of the last heartbeat from each source chain as the engine's
// staleness-aware weights see it (the engine chain's block time minus the heartbeat's source time).

import type { HeartbeatsStatus } from '../api/types.ts';
import type { ChainConfig } from '../config/types.ts';
import type { HeartbeatStats } from '../heartbeats/sender.ts';

export function heartbeatsStatus(
  heard: { engineEid: number; srcEid: number; lastHeardAt: number; engineTime: number }[],
  chains: readonly ChainConfig[],
  sender: HeartbeatStats | undefined,
): HeartbeatsStatus | undefined {
  if (sender === undefined && heard.length === 0) return undefined;
  const name = (eid: number): string => chains.find((c) => c.eid === eid)?.name ?? String(eid);
  return {
    ...(sender === undefined
      ? {}
      : { sent: sender.sent, failed: sender.failed, lastSentAt: sender.lastSentAt }),
    heard: heard
      .map((h) => ({
        engine: name(h.engineEid),
        engineEid: h.engineEid,
        source: name(h.srcEid),
        srcEid: h.srcEid,
        lastHeardAt: h.lastHeardAt,
        ageSec: Math.max(0, h.engineTime - h.lastHeardAt),
      }))
      .sort((a, b) => a.engineEid - b.engineEid || a.srcEid - b.srcEid),
  };
}
