// The signed heartbeat carries the last packet the node saw: taken from the followers' confirmed
// blocks (the last PacketSent among their logs), absent before any, valid under the gossip schema;
// and /status lists it for each peer whose heartbeat said it.

import { describe, expect, it } from 'vitest';
import { lastPacketIn } from '../../../attestor/service.ts';
import type { ChainConfig, Hex } from '../../../relayer/config/types.ts';
import { heartbeatPayload } from '../../../relayer/node/heartbeat-payload.ts';
import { createStatusProvider } from '../../../relayer/node/status.ts';
import { memoryNodeStores } from '../../../relayer/node/stores.ts';
import { TOPIC_PAYLOADS } from '../../../relayer/p2p/payloads.ts';
import { LZ_A, packetGuid, sendLogs } from '../../support/packet-logs.ts';

const chainA = { name: 'a', eid: 40101, layerZero: LZ_A } as unknown as ChainConfig;
const block = { number: 12, hash: `0x${'12'.repeat(32)}` as Hex };

describe('heartbeat: last packet seen', () => {
  it('is the last PacketSent of a confirmed block, and nothing for a block without one', () => {
    const logs = [...sendLogs(3n, block, 0), ...sendLogs(4n, block, 3)];
    expect(lastPacketIn(logs, chainA)).toBe(packetGuid(4n));
    // The fee logs alone are no packet.
    expect(lastPacketIn(logs.slice(0, 2), chainA)).toBeUndefined();
    expect(lastPacketIn([], chainA)).toBeUndefined();
  });

  it('goes into the signed heartbeat once the service saw a packet, and passes the gossip schema', () => {
    let seen: Hex | undefined;
    const service = {
      followers: [{ tip: { number: 20 }, latestHead: 23 }],
      lastPacketSeen: () => seen,
    };
    const config = { roles: ['attestor' as const] };
    const before = heartbeatPayload('0.1.0', config, [chainA], service);
    expect('lastPacketSeen' in before).toBe(false);
    seen = packetGuid(4n);
    const after = heartbeatPayload('0.1.0', config, [chainA], service);
    expect(after).toEqual({
      version: '0.1.0',
      roles: ['attestor'],
      chains: [{ eid: 40101, head: 20n, lag: 3 }],
      lastPacketSeen: packetGuid(4n),
    });
    // What a peer's validator parses back (bigints travel as strings on the wire).
    const wire = JSON.parse(JSON.stringify(after, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    expect(TOPIC_PAYLOADS.heartbeat.parse(wire).lastPacketSeen).toBe(packetGuid(4n));
  });

  it('/status shows each bound peer its heartbeat said it saw', async () => {
    const status = await createStatusProvider({
      version: '0.1.0',
      signer: '0xself',
      peerId: 'self',
      roles: ['attestor'],
      startedAt: 0,
      chains: [],
      followers: () => [],
      peers: () => [
        { peerId: 'p1', addrs: [] },
        { peerId: 'p2', addrs: [] },
      ],
      peerScore: () => 0,
      boundSigner: (p) => (p === 'p1' ? '0xaa' : undefined),
      peerLastPacket: (signer) => (signer === '0xaa' ? packetGuid(4n) : undefined),
      records: memoryNodeStores().records,
      journal: memoryNodeStores().journal,
      packetCounts: () => ({ verified: 0, delivered: 0 }),
    })();
    expect(status.peers).toEqual([
      { peerId: 'p1', signer: '0xaa', lastPacketSeen: packetGuid(4n), score: 0, addrs: [] },
      { peerId: 'p2', score: 0, addrs: [] },
    ]);
  });
});
