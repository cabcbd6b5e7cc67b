// One process of the propagation bench: bench/gossip.ts forks `procs` of these so the 16 nodes use
// every core. This one runs the nodes i with i % procs === index on fixed ports (every process knows
// every address, identities being deterministic), publishes its nodes' share of each round on the
// shared schedule (message k comes from node k % N) and records every delivery with the shared clock.
//
//   node bench/lib/gossip-worker.ts --index k --procs p --ports 4001,4002,...

import type { Address } from '../../relayer/config/types.ts';
import { type Libp2pGossipNetwork, SCORE_THRESHOLDS, type TopicName } from '../../relayer/p2p/index.ts';
import {
  arg,
  type BenchObservation,
  clock,
  countRawReceives,
  N,
  nodeLabel,
  observationShape,
  peerIdOf,
  startNode,
  walletOf,
} from './gossip-nodes.ts';
import { cpuMs, WorkerRounds } from './worker-rounds.ts';

export type ToWorker =
  | { type: 'status' }
  /** From now on, note when each local node connects to, binds and graylists each of these peers. */
  | { type: 'watch'; sybils: string[] }
  /** Every (local node, watched peer) pair that has been connected, with its current score. */
  | { type: 'sybils' }
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
  /** (Local node, sybil) pairs that have been connected / where the node scored it below the graylist threshold. */
  sybilPeers: number;
  graylisted: number;
  /** Pairs where the node holds a heartbeat binding for the sybil. */
  sybilsBound: number;
  /** When the last of them went below the threshold (shared clock), 0 if none has. */
  lastGraylistAt: number;
  /** CPU time this process has used (user + system), ms. */
  cpuMs: number;
  /**
   * Messages handed to a local node's subscriber of an attested topic that no bench node sent (author
   * or signer outside the 16), or heartbeats with a bench node's key from another peer (a stolen
   * binding); and honest messages handed to the same node's subscriber twice.
   */
  foreign: number;
  duplicateDeliveries: number;
}

/** One local node's view of one watched peer (times on the shared clock, 0 if not yet). */
export interface SybilPair {
  node: number;
  sybil: string;
  connectedAt: number;
  boundAt: number;
  graylistedAt: number;
  score: number;
}

export type FromWorker =
  | { type: 'ready' }
  | WorkerStatus
  | { type: 'started' }
  | { type: 'watching' }
  | {
      type: 'sybils';
      pairs: SybilPair[];
      /** Validation outcomes at the local nodes, summed over nodes and topics (ACCEPT included). */
      outcomes: Record<string, number>;
    }
  | {
      type: 'collected';
      /** [seq, publish time] of this worker's publishes; [seq, delivery time, node] of every delivery. */
      published: [number, number][];
      delivered: [number, number, number][];
      rawCopies: number;
      accepted: number;
    };

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
const sum = (f: (x: { node: Libp2pGossipNetwork; raw: { count: number } }) => number) =>
  [...local.values()].reduce((a, x) => a + f(x), 0);
const rounds = new WorkerRounds({
  raw: () => sum((x) => x.raw.count),
  accepted: () => sum((x) => x.node.stats().observation.ACCEPT),
});
/** Watched (node, sybil) pairs by `${node} ${sybil}`, from the node's first connection to it. */
const pairs = new Map<string, SybilPair>();
let foreign = 0;
let duplicateDeliveries = 0;
const honestPeers = new Set(peerIds);

/** Checks every 25 ms in this process, so the times do not depend on how fast the parent polls. */
function watch(sybils: readonly string[]): ReturnType<typeof setInterval> {
  return setInterval(() => {
    const now = clock();
    for (const [i, { node }] of local) {
      const connected = new Set(node.libp2p.getPeers().map(String));
      for (const sybil of sybils) {
        const key = `${i} ${sybil}`;
        let pair = pairs.get(key);
        if (pair === undefined) {
          if (!connected.has(sybil)) continue;
          pair = { node: i, sybil, connectedAt: now, boundAt: 0, graylistedAt: 0, score: 0 };
          pairs.set(key, pair);
        }
        if (pair.boundAt === 0 && node.boundSigner(sybil) !== undefined) pair.boundAt = now;
        if (pair.graylistedAt === 0 && node.peerScore(sybil) < SCORE_THRESHOLDS.graylistThreshold) {
          pair.graylistedAt = now;
        }
      }
    }
  }, 25);
}

const sybilPairs = (): SybilPair[] =>
  [...pairs.values()].map((p) => ({
    ...p,
    score: local.get(p.node)?.node.peerScore(p.sybil) ?? Number.NaN,
  }));

function outcomes(): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const { node } of local.values()) {
    for (const perTopic of Object.values(node.stats())) {
      for (const [outcome, n] of Object.entries(perTopic)) sums[outcome] = (sums[outcome] ?? 0) + n;
    }
  }
  return sums;
}

/** Topics whose messages only attestors may author: nothing from outside the 16 may reach these. */
const ATTESTED: TopicName[] = ['observation', 'dvnSignature', 'claim', 'weightSignature'];
let watching: ReturnType<typeof setInterval> | undefined;

for (let i = index; i < N; i += procs) {
  const node = await startNode(nodeLabel(i), {
    listen: `/ip4/127.0.0.1/tcp/${ports[i]}`,
    // Each node dials the 3 before it (a connected graph, as in a devnet's bootstrap lists).
    bootstrap: Array.from({ length: Math.min(3, i) }, (_, j) => addrOf(i - 1 - j)),
    allowed,
  });
  const seen = new Set<number>();
  for (const topic of ATTESTED) {
    node.subscribe(topic, (m) => {
      if (!honestPeers.has(m.fromPeer) || !allowed.has(m.signer)) foreign++;
    });
  }
  // Anyone may heartbeat (it binds the author to its own key), but never under one of the 16 keys.
  node.subscribe('heartbeat', (m) => {
    if (allowed.has(m.signer) && !honestPeers.has(m.fromPeer)) foreign++;
  });
  node.subscribe<BenchObservation>('observation', (m) => {
    const seq = m.payload.observation.block.number;
    if (m.payload.observation.eid === i || !rounds.inRound(seq)) return; // own publishes are local
    if (seen.has(seq)) duplicateDeliveries++;
    else {
      seen.add(seq);
      rounds.deliver(seq, i);
    }
  });
  local.set(i, { node, raw: countRawReceives(node.libp2p.services.pubsub) });
}
const payloadOf = await observationShape(walletOf(nodeLabel(0)));

function status(): WorkerStatus {
  const ready = [...local.values()].every(
    ({ node }) =>
      peerIds.every((p) => p === node.peerId || node.boundSigner(p) !== undefined) &&
      node.meshPeers('observation').length >= 2,
  );
  return {
    type: 'status',
    ready,
    publishing: rounds.publishing,
    published: rounds.published,
    delivered: rounds.delivered,
    sybilPeers: pairs.size,
    graylisted: [...pairs.values()].filter((p) => p.graylistedAt > 0).length,
    sybilsBound: [...pairs.values()].filter((p) => p.boundAt > 0).length,
    lastGraylistAt: Math.max(0, ...[...pairs.values()].map((p) => p.graylistedAt)),
    cpuMs: cpuMs(),
    foreign,
    duplicateDeliveries,
  };
}

async function stop(): Promise<never> {
  clearInterval(watching);
  await Promise.all([...local.values()].map(({ node }) => node.stop()));
  process.exit(0);
}

const publish = (from: number, seq: number) =>
  local.get(from)?.node.publish('observation', payloadOf(from, seq));

process.on('message', async (m: ToWorker) => {
  if (await rounds.serve(m, publish, send)) return;
  if (m.type === 'status') send(status());
  else if (m.type === 'watch') {
    watching ??= watch(m.sybils);
    send({ type: 'watching' });
  } else if (m.type === 'sybils') {
    send({ type: 'sybils', pairs: sybilPairs(), outcomes: outcomes() });
  } else if (m.type === 'stop') await stop();
});
// A parent that dies without sending 'stop' (a killed test run) takes its workers with it.
process.on('disconnect', () => void stop());
send({ type: 'ready' });
