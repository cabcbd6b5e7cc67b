// The 16 gossip nodes of bench/gossip.ts as a cluster of worker processes (./gossip-worker.ts), and
// one timed round of honest traffic over them. Shared by the gossip bench and the sybil-16 fault
// scenario (test/faults/sybil.test.ts), which run the same nodes and the same rounds.

import { fork } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { clock, N, nodeLabel, peerIdOf, sleep, waitFor } from './gossip-nodes.ts';
import type { FromWorker, ToWorker, WorkerStatus } from './gossip-worker.ts';
import { type Channel, channel } from './ipc.ts';
import { fmt, percentile } from './report.ts';

export type Worker = Channel<ToWorker, FromWorker>;

export interface RoundResult {
  sent: number;
  achievedRate: number;
  deliveries: number;
  expected: number;
  p50: number;
  p99: number;
  duplicatesPerUnique: number;
  /** CPU the worker processes spent per delivery (one node taking in one message), ms. */
  cpuPerDelivery: number;
  /**
   * Cores the nodes need to keep up with the rate: CPU per delivery × deliveries per second offered
   * (the rate × the N - 1 other nodes). At or above the machine's cores, queues grow whatever else
   * the code does, and the tail latency with them.
   */
  coresNeeded: number;
  /** Every delivery: when its message was published (shared clock) and its latency, ms. */
  samples: { publishedAt: number; ms: number }[];
  /** Messages some node never got by the end of the drain: published when (ms into the round), by whom, missed by whom. */
  lost: { publishedAt: number; from: number; missedBy: number[] }[];
}

export interface GossipCluster {
  workers: Worker[];
  /** Each node's TCP port on 127.0.0.1, by node index. */
  ports: number[];
  procs: number;
  stop(): Promise<void>;
}

/** `n` TCP ports free right now on 127.0.0.1 (the workers listen on them; identities are fixed). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((x) => (x.address() as { port: number }).port);
  await Promise.all(servers.map((x) => new Promise((r) => x.close(r))));
  return ports;
}

/** The dialable addresses (with /p2p/<peer id>) of the cluster's nodes `indexes`. */
export function nodeAddrs(cluster: GossipCluster, indexes: readonly number[]): Promise<string[]> {
  return Promise.all(
    indexes.map(async (i) => `/ip4/127.0.0.1/tcp/${cluster.ports[i]}/p2p/${await peerIdOf(nodeLabel(i))}`),
  );
}

export const statuses = (workers: Worker[]) =>
  Promise.all(workers.map(async (w) => (await w.ask({ type: 'status' })) as WorkerStatus));
export const total = (st: WorkerStatus[], f: (s: WorkerStatus) => number) => st.reduce((a, s) => a + f(s), 0);

export const loadNote = () => `load average ${fmt(loadavg()[0] ?? 0)} on ${availableParallelism()} cores`;

/**
 * Forks `procs` workers holding the N nodes between them and waits until every node is ready (bound
 * to every other by heartbeats, and a mesh; the baseline's nodes: a mesh). The workers are stopped
 * again if that fails.
 */
export async function startGossipCluster(
  procs: number,
  onStarted?: () => void,
  /** The worker script in this folder: xmargin's nodes, or gossip-baseline-worker.ts (libp2p alone). */
  workerScript = 'gossip-worker.ts',
): Promise<GossipCluster> {
  const ports = await freePorts(N);
  const workers: Worker[] = Array.from({ length: procs }, (_, k) =>
    channel<ToWorker, FromWorker>(
      fork(
        path.join(import.meta.dirname, workerScript),
        ['--index', String(k), '--procs', String(procs), '--ports', ports.join(',')],
        // execArgv: [] so a test runner's own flags are not handed down to the workers;
        // XMARGIN_BENCH_WORKER_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles them.
        {
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
          execArgv: process.env.XMARGIN_BENCH_WORKER_ARGS?.split(' ').filter(Boolean) ?? [],
        },
      ),
    ),
  );
  const stop = async () => {
    await Promise.all(workers.map((w) => w.stop({ type: 'stop' })));
  };
  try {
    for (const w of workers) await w.next(); // 'ready': its nodes are started
    onStarted?.();
    await waitFor('bindings and meshes', async () => (await statuses(workers)).every((s) => s.ready), 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { workers, ports, procs, stop };
}

/**
 * Calls `send(k)` for k = 0 .. count-1 at `rate` per second from now on, catching up on what is due
 * at each wake-up (a starved event loop sends late, not less); stops early once `stopped()` is true.
 * Returns when the first was sent (its clock time) and how many were sent.
 */
export async function paced(
  count: number,
  rate: number,
  send: (k: number) => void,
  stopped: () => boolean = () => false,
): Promise<{ startedAt: number; sent: number }> {
  const startedAt = clock();
  let k = 0;
  while (k < count && !stopped()) {
    const due = Math.min(count, Math.floor(((clock() - startedAt) / 1000) * rate) + 1);
    for (; k < due; k++) send(k);
    await sleep(5);
  }
  return { startedAt, sent: k };
}

/**
 * One round: every worker publishes its share at `rate` for `seconds` from a common start, then
 * deliveries drain (until all arrived, nothing arrived for 3 s, or 15 s passed).
 */
export async function round(
  workers: Worker[],
  rate: number,
  seconds: number,
  seqBase: number,
): Promise<RoundResult> {
  const startAt = clock() + 500;
  const cpuBefore = total(await statuses(workers), (s) => s.cpuMs);
  await Promise.all(workers.map((w) => w.ask({ type: 'run', rate, seconds, startAt, seqBase })));
  let st = await statuses(workers);
  while (st.some((s) => s.publishing)) {
    await sleep(100);
    st = await statuses(workers);
  }
  const sent = total(st, (s) => s.published);
  const expected = sent * (N - 1);
  const drainStart = Date.now();
  let last = total(st, (s) => s.delivered);
  let lastChange = Date.now();
  while (last < expected && Date.now() - drainStart < 15_000 && Date.now() - lastChange < 3_000) {
    await sleep(100);
    const delivered = total(await statuses(workers), (s) => s.delivered);
    if (delivered !== last) {
      last = delivered;
      lastChange = Date.now();
    }
  }
  const cpuSpent = total(await statuses(workers), (s) => s.cpuMs) - cpuBefore;
  const collected = (await Promise.all(workers.map((w) => w.ask({ type: 'collect' })))) as Extract<
    FromWorker,
    { type: 'collected' }
  >[];
  const publishedAt = new Map<number, number>(collected.flatMap((c) => c.published));
  const samples: RoundResult['samples'] = [];
  const receivers = new Map<number, Set<number>>();
  for (const c of collected) {
    for (const [seq, at, node] of c.delivered) {
      const t0 = publishedAt.get(seq);
      if (t0 !== undefined) samples.push({ publishedAt: t0, ms: at - t0 });
      receivers.set(seq, (receivers.get(seq) ?? new Set()).add(node));
    }
  }
  // Message k of a round comes from node k % N (the workers' schedule).
  const lost: RoundResult['lost'] = [];
  for (const [seq, t0] of publishedAt) {
    const from = (seq - seqBase) % N;
    const got = receivers.get(seq) ?? new Set<number>();
    const missedBy = Array.from({ length: N }, (_, i) => i).filter((i) => i !== from && !got.has(i));
    if (missedBy.length > 0) lost.push({ publishedAt: t0 - startAt, from, missedBy });
  }
  const latencies = samples.map((x) => x.ms).sort((a, b) => a - b);
  // Lost deliveries count as infinitely late: a percentile that falls on them is Infinity.
  const withLost = [
    ...latencies,
    ...new Array<number>(Math.max(0, expected - latencies.length)).fill(Infinity),
  ];
  const achievedRate = sent / seconds;
  const cpuPerDelivery = cpuSpent / Math.max(1, latencies.length);
  const rawCopies = collected.reduce((a, c) => a + c.rawCopies, 0);
  const accepted = collected.reduce((a, c) => a + c.accepted, 0);
  return {
    sent,
    achievedRate,
    deliveries: latencies.length,
    expected,
    p50: percentile(withLost, 50),
    p99: percentile(withLost, 99),
    duplicatesPerUnique: accepted === 0 ? Number.NaN : (rawCopies - accepted) / accepted,
    cpuPerDelivery,
    coresNeeded: (cpuPerDelivery * achievedRate * (N - 1)) / 1000,
    samples,
    lost,
  };
}
