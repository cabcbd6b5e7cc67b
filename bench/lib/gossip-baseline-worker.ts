// One process of the propagation bench's baseline (`bench/gossip.ts --only baseline`): the same 16
// nodes, ports, bootstrap graph, libp2p stack and gossipsub options as ./gossip-worker.ts
// (relayer/p2p/network.ts: `gossipStack`), but nothing of xmargin's on top: no envelope, no
// EVM signature, no validator, no scoring, no heartbeats. What is left is what libp2p and gossipsub
// cost by themselves on this machine, so the bench can say how much of a delivery is xmargin's.
// It speaks ./gossip-worker.ts's protocol (status, run, collect, stop), so ./gossip-cluster.ts's
// rounds drive it unchanged.
//
//   node bench/lib/gossip-baseline-worker.ts --index k --procs p --ports 4001,4002,...

import { gossipsub } from '@libp2p/gossipsub';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { gossipStack } from '../../relayer/p2p/network.ts';
import {
  arg,
  countRawReceives,
  ENVELOPE_BYTES,
  N,
  nodeLabel,
  p2pKeyOf,
  peerIdOf,
  WIRE,
} from './gossip-nodes.ts';
import type { FromWorker, ToWorker, WorkerStatus } from './gossip-worker.ts';
import { cpuMs, WorkerRounds } from './worker-rounds.ts';

type Pubsub = ReturnType<ReturnType<typeof gossipsub>>;

const index = Number(arg('--index'));
const procs = Number(arg('--procs'));
const ports = (arg('--ports') ?? '').split(',').map(Number);
const send = (m: FromWorker) => process.send?.(m);

const peerIds = await Promise.all(Array.from({ length: N }, (_, i) => peerIdOf(nodeLabel(i))));
const local = new Map<number, Libp2p<{ pubsub: Pubsub }>>();
/** Full copies of a bench message that reached gossipsub's handler, duplicates included / first copies. */
const counters: { count: number }[] = [];
let accepted = 0;
const rounds = new WorkerRounds({
  raw: () => counters.reduce((a, c) => a + c.count, 0),
  accepted: () => accepted,
});

for (let i = index; i < N; i += procs) {
  const stack = gossipStack();
  const node = await createLibp2p({
    privateKey: await p2pKeyOf(nodeLabel(i)),
    addresses: { listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`] },
    ...stack.transport,
    services: { ...stack.services, pubsub: gossipsub({ ...stack.gossipsub, heartbeatInterval: 1000 }) },
  });
  counters.push(countRawReceives(node.services.pubsub));
  node.services.pubsub.subscribe(WIRE);
  node.services.pubsub.addEventListener('message', (event) => {
    const data = event.detail.data;
    // Bytes 0-7: the message's sequence number (messageOf).
    const seq = Number(new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0));
    accepted++;
    rounds.deliver(seq, i);
  });
  // Each node dials the 3 before it, as the xmargin nodes' bootstrap lists do.
  for (let j = 1; j <= Math.min(3, i); j++) {
    await node.dial(multiaddr(`/ip4/127.0.0.1/tcp/${ports[i - j]}/p2p/${peerIds[i - j]}`)).catch(() => {});
  }
  local.set(i, node);
}

function status(): WorkerStatus {
  return {
    type: 'status',
    ready: [...local.values()].every(
      (node) =>
        (node.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(WIRE)
          .length >= 2,
    ),
    publishing: rounds.publishing,
    published: rounds.published,
    delivered: rounds.delivered,
    sybilPeers: 0,
    graylisted: 0,
    sybilsBound: 0,
    lastGraylistAt: 0,
    cpuMs: cpuMs(),
    foreign: 0,
    duplicateDeliveries: 0,
  };
}

/** 1 KB of plain bytes, message `seq` in its first 8. */
function messageOf(seq: number): Uint8Array {
  const data = new Uint8Array(ENVELOPE_BYTES);
  new DataView(data.buffer).setBigUint64(0, BigInt(seq));
  return data;
}

async function stop(): Promise<never> {
  await Promise.all([...local.values()].map((node) => node.stop()));
  process.exit(0);
}

const publish = (from: number, seq: number) => local.get(from)?.services.pubsub.publish(WIRE, messageOf(seq));

process.on('message', async (m: ToWorker) => {
  if (await rounds.serve(m, publish, send)) return;
  if (m.type === 'status') send(status());
  else if (m.type === 'stop') await stop();
});
process.on('disconnect', () => void stop());
send({ type: 'ready' });
