// One process of the propagation bench: bench/gossip.ts forks `procs` of these so the 16 nodes use
// every core. This one runs the nodes i with i % procs === index on fixed ports (every process knows
// every address, identities being deterministic), publishes its nodes' share of each round on the
// shared schedule (message k comes from node k % N) and records every delivery with the shared clock.
//
//   node bench/lib/gossip-worker.ts --index k --procs p --ports 4001,4002,...

import type { Address } from '../../relayer/config/types.ts';
import { type Libp2pGossipNetwork, SCORE_THRESHOLDS } from '../../relayer/p2p/index.ts';
import {
  arg,
  type BenchObservation,
  clock,
  countRawReceives,
  N,
  nodeLabel,
  observationShape,
  peerIdOf,
  sleep,
  startNode,
  walletOf,
} from './gossip-nodes.ts';

export type ToWorker =
  | { type: 'status' }
  /** From now on, note when each local node connects to / graylists this peer. */
  | { type: 'watch'; sybil: string }
  | { type: 'run'; rate: number; seconds: number; startAt: number; seqBase: number }
  | { type: 'collect' }
  | { type: 'stop' };

export interface WorkerStatus {
  type: 'status';
  /** Every local node has a heartbeat binding for every other node, and a mesh of >= 2. */
  ready: boolean;
  publishing: boolean;
  published: number;
  delivered: number;
  /** Local nodes that have been connected to the sybil / score it below the graylist threshold. */
  sybilPeers: number;
  graylisted: number;
  /** When the last of them went below the threshold (shared clock), 0 if none has. */
  lastGraylistAt: number;
  /** CPU time this process has used (user + system), ms. */
  cpuMs: number;
}

export type FromWorker =
  | { type: 'ready' }
  | WorkerStatus
  | { type: 'started' }
  | { type: 'watching' }
  | {
      type: 'collected';
      /** [seq, publish time] of this worker's publishes; [seq, delivery time] of every delivery. */
      published: [number, number][];
      delivered: [number, number][];
      rawCopies: number;
      accepted: number;
    };

interface Round {
  seqBase: number;
  publishing: boolean;
  published: [number, number][];
  delivered: [number, number][];
  rawBefore: number;
  acceptedBefore: number;
}

const index = Number(arg('--index'));
const procs = Number(arg('--procs'));
const ports = (arg('--ports') ?? '').split(',').map(Number);
const send = (m: FromWorker) => process.send?.(m);

const peerIds = await Promise.all(Array.from({ length: N }, (_, i) => peerIdOf(nodeLabel(i))));
const addrOf = (i: number) => `/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${peerIds[i]}`;
const allowed = new Set<Address>(
  Array.from({ length: N }, (_, i) => walletOf(nodeLabel(i)).address as Address),
);
const local = new Map<number, { node: Libp2pGossipNetwork; raw: { count: number } }>();
let round: Round | undefined;
const sawSybil = new Set<number>();
const graylistedAt = new Map<number, number>();

/** Checks every 25 ms in this process, so the time does not depend on how fast the parent polls. */
function watch(sybil: string): ReturnType<typeof setInterval> {
  return setInterval(() => {
    for (const [i, { node }] of local) {
      if (node.libp2p.getPeers().some((p) => p.toString() === sybil)) sawSybil.add(i);
      if (
        sawSybil.has(i) &&
        !graylistedAt.has(i) &&
        node.peerScore(sybil) < SCORE_THRESHOLDS.graylistThreshold
      ) {
        graylistedAt.set(i, clock());
      }
    }
  }, 25);
}
let watching: ReturnType<typeof setInterval> | undefined;

for (let i = index; i < N; i += procs) {
  const node = await startNode(nodeLabel(i), {
    listen: `/ip4/127.0.0.1/tcp/${ports[i]}`,
    // Each node dials the 3 before it (a connected graph, as in a devnet's bootstrap lists).
    bootstrap: Array.from({ length: Math.min(3, i) }, (_, j) => addrOf(i - 1 - j)),
    allowed,
  });
  node.subscribe<BenchObservation>('observation', (m) => {
    const seq = m.payload.observation.block.number;
    if (m.payload.observation.eid === i || round === undefined) return; // own publishes are local
    if (seq >= round.seqBase && seq < round.seqBase + 1_000_000) round.delivered.push([seq, clock()]);
  });
  local.set(i, { node, raw: countRawReceives(node) });
}
const payloadOf = await observationShape(walletOf(nodeLabel(0)));

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const sum = (f: (x: { node: Libp2pGossipNetwork; raw: { count: number } }) => number) =>
  [...local.values()].reduce((a, x) => a + f(x), 0);

function status(): WorkerStatus {
  const ready = [...local.values()].every(
    ({ node }) =>
      peerIds.every((p) => p === node.peerId || node.boundSigner(p) !== undefined) &&
      node.meshPeers('observation').length >= 2,
  );
  return {
    type: 'status',
    ready,
    publishing: round?.publishing ?? false,
    published: round?.published.length ?? 0,
    delivered: round?.delivered.length ?? 0,
    sybilPeers: sawSybil.size,
    graylisted: graylistedAt.size,
    lastGraylistAt: Math.max(0, ...graylistedAt.values()),
    cpuMs: cpuMs(),
  };
}

/** Publishes this worker's share of messages k = 0, 1, ... due at `rate` from `startAt` on. */
async function publishRound(r: Round, rate: number, seconds: number, startAt: number): Promise<void> {
  while (clock() < startAt) await sleep(Math.min(10, startAt - clock()));
  const publishes: Promise<void>[] = [];
  let k = 0;
  while (clock() - startAt < seconds * 1000) {
    // Catch up on what is due at each wake-up: a starved event loop publishes late, not less.
    const due = Math.floor(((clock() - startAt) / 1000) * rate) + 1;
    for (; k < due; k++) {
      const from = k % N;
      const entry = local.get(from);
      if (entry === undefined) continue;
      const seq = r.seqBase + k;
      r.published.push([seq, clock()]);
      publishes.push(entry.node.publish('observation', payloadOf(from, seq)).catch(() => undefined));
    }
    await sleep(2);
  }
  await Promise.all(publishes);
  r.publishing = false;
}

process.on('message', async (m: ToWorker) => {
  if (m.type === 'status') send(status());
  else if (m.type === 'watch') {
    watching ??= watch(m.sybil);
    send({ type: 'watching' });
  } else if (m.type === 'run') {
    const r: Round = {
      seqBase: m.seqBase,
      publishing: true,
      published: [],
      delivered: [],
      rawBefore: sum((x) => x.raw.count),
      acceptedBefore: sum((x) => x.node.stats().observation.ACCEPT),
    };
    round = r;
    send({ type: 'started' });
    await publishRound(r, m.rate, m.seconds, m.startAt);
  } else if (m.type === 'collect') {
    const r = round as Round;
    round = undefined;
    send({
      type: 'collected',
      published: r.published,
      delivered: r.delivered,
      rawCopies: sum((x) => x.raw.count) - r.rawBefore,
      accepted: sum((x) => x.node.stats().observation.ACCEPT) - r.acceptedBefore,
    });
  } else if (m.type === 'stop') {
    clearInterval(watching);
    await Promise.all([...local.values()].map(({ node }) => node.stop()));
    process.exit(0);
  }
});
send({ type: 'ready' });
