// Fault scenario sybil-16 (issue #7, "16 honest nodes and sybils from one address"), on the p2p layer
// alone (no devnet): the gossip bench's 16 honest nodes (bench/lib/gossip-cluster.ts: real libp2p on
// 127.0.0.1, TCP, Noise, Yamux, gossipsub with StrictSign and v1.1 scoring, EVM-signed envelopes) in
// 2 worker processes, each bootstrapped to the 3 before it, allowed signers = their 16 EVM keys,
// heartbeats binding peer ids to keys. Then 4 sybil peers in this process: 4 libp2p identities, ONE
// EVM key outside the signer set, each dialling 3 honest nodes, each sending one kind of attack:
//   malformed   garbage bytes, a non-canonical envelope, 70 KB, a payload the schema refuses, an
//               envelope for another topic;
//   signatures  a tampered signature, a signature over other content, envelopes from fresh keys;
//   replays     honest heartbeats and observations it received sent again as its own (a replay, or
//               an attempt to take over an honest node's binding), and one envelope of its own sent
//               over and over;
//   flood       valid-looking observations signed by the sybil key at 200 msg/s.
// Honest traffic runs a round at 20 msg/s before the sybils join, then the same round during the
// attack. Checked: every sybil below the graylist threshold at every honest node it reached
// within 5 s of its first attack message (and still there at the end), no sybil message handed to an
// honest subscriber, every honest message delivered to all 15 other nodes once, every attack kind
// rejected by the validators, the honest nodes' CPU per delivery within 3x the baseline's; the honest
// p50/p99 during the attack against the baseline is printed.

import { type Signer, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GossipCluster,
  loadNote,
  nodeAddrs,
  paced,
  type RoundResult,
  round,
  startGossipCluster,
  statuses,
  total,
  type Worker,
} from '../../bench/lib/gossip-cluster.ts';
import {
  N,
  nodeLabel,
  observationShape,
  signedFlood,
  startNode,
  WIRE,
  waitFor,
  walletOf,
} from '../../bench/lib/gossip-nodes.ts';
import type { FromWorker } from '../../bench/lib/gossip-worker.ts';
import { fmt, percentile } from '../../bench/lib/report.ts';
import type { Address } from '../../relayer/config/types.ts';
import { type Libp2pGossipNetwork, SCORE_THRESHOLDS, sealEnvelope, TOPICS } from '../../relayer/p2p/index.ts';
import { result } from './harness.ts';

/** Honest traffic, msg/s (the issue's figure), and how long each round publishes. */
const RATE = 20;
const SECONDS = 10;
/** The flood, msg/s, and the rate of each other sybil's attack. */
const FLOOD_RATE = 200;
const KIND_RATE = 20;
/** The issue's target: graylisted within this of a sybil's first attack message. */
const GRAYLIST_TARGET_MS = 5000;
/** Whose EVM key every sybil signs with (outside the 16). */
const SYBIL_KEY = 'sybil';
/**
 * The honest processes' CPU per delivery during the attack, at most this × the baseline's. Latency is
 * printed but not asserted: on the shared 2-core machine it swings with other work (0.2x–19x seen),
 * and the sybils' own process takes 20–30 % of a core from the same two; CPU time is each process's
 * own (0.9x–1.5x seen).
 */
const CPU_RATIO_BOUND = 3;
/** Honest nodes each sybil dials: sybil k the nodes 4k, 4k+1, 4k+2 (both worker processes). */
const DIALS = 3;

type Sybils = Extract<FromWorker, { type: 'sybils' }>;

interface Attack {
  kind: string;
  rate: number;
  /** The k-th message: its bytes, published raw on `topic` (default: the observation topic). */
  next(k: number): { bytes: Uint8Array; topic?: string };
}

/** What the replaying sybil received from the honest nodes: the latest few of each topic. */
interface Captured {
  heartbeats: Uint8Array[];
  observations: Uint8Array[];
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const cycle = <T>(items: readonly T[], k: number): T => items[k % items.length] as T;

/**
 * Each sybil's attack, built before its round (signing is not what is measured). `captured` fills
 * with the honest envelopes the replaying sybil receives.
 */
async function buildAttacks(captured: Captured): Promise<Attack[]> {
  const wallet = walletOf(SYBIL_KEY);
  const payloadOf = await observationShape(wallet);
  let seq = 80_000_000;
  const seal = async (signer: Signer, payload: unknown, topic: string = WIRE) =>
    (await sealEnvelope(signer, { topic, sentAt: Date.now(), payload })).bytes;
  const valid = () => seal(wallet, payloadOf(99, seq++));

  const malformed = [
    utf8('{"not":"an envelope"'),
    // A valid envelope, but not in canonical form (one encoding per content).
    utf8(JSON.stringify(JSON.parse(text(await valid())), null, 1)),
    utf8(`{"pad":"${'x'.repeat(70_000)}"}`),
    await seal(wallet, { observation: 'none' }),
    await seal(wallet, payloadOf(99, seq++), TOPICS.dvnSignature),
  ];

  const signatures: Uint8Array[] = [];
  for (let i = 0; i < 10; i++) {
    const sealed = text(await valid());
    // The envelope's own signature (the payload carries one of its own too), just before the topic.
    const sig = /"signature":"(0x[0-9a-f]{130})","topic":/.exec(sealed)?.[1] as string;
    // The recovery byte changed: the signature does not recover.
    signatures.push(utf8(sealed.replace(sig, `${sig.slice(0, -2)}1d`)));
    // Another sentAt than the one signed: recovers to some other key.
    const sentAt = /"sentAt":(\d+)/.exec(sealed)?.[1] as string;
    signatures.push(utf8(sealed.replace(`"sentAt":${sentAt}`, `"sentAt":${Number(sentAt) + 1}`)));
    // Signed by a fresh key outside the set.
    signatures.push(await seal(Wallet.createRandom(), payloadOf(99, seq++)));
  }

  const duplicate = await valid();
  const flood = await signedFlood(wallet, FLOOD_RATE * (SECONDS + 1));
  const latest = (list: Uint8Array[], k: number) => list.at(-1 - (Math.floor(k / 3) % list.length));
  const replay = (k: number): { bytes: Uint8Array; topic?: string } => {
    const heartbeat = k % 3 === 0 ? latest(captured.heartbeats, k) : undefined;
    if (heartbeat !== undefined) return { bytes: heartbeat, topic: TOPICS.heartbeat };
    const observation = k % 3 === 1 ? latest(captured.observations, k) : undefined;
    return { bytes: observation ?? duplicate };
  };
  return [
    { kind: 'malformed', rate: KIND_RATE, next: (k) => ({ bytes: cycle(malformed, k) }) },
    { kind: 'signatures', rate: KIND_RATE, next: (k) => ({ bytes: cycle(signatures, k) }) },
    { kind: 'replays', rate: KIND_RATE, next: replay },
    { kind: 'flood', rate: FLOOD_RATE, next: (k) => ({ bytes: flood[k] as Uint8Array }) },
  ];
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));

async function sybilPairs(workers: Worker[]): Promise<Sybils> {
  const replies = (await Promise.all(workers.map((w) => w.ask({ type: 'sybils' })))) as Sybils[];
  const outcomes: Record<string, number> = {};
  for (const r of replies) {
    for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  }
  return { type: 'sybils', pairs: replies.flatMap((r) => r.pairs), outcomes };
}

const roundNote = (r: RoundResult) => {
  const lost = r.lost
    .slice(0, 5)
    .map((m) => `node ${m.from}'s at +${fmt(m.publishedAt / 1000)} s missed by ${m.missedBy.join(',')}`);
  return `p50 ${fmt(r.p50)} / p99 ${fmt(r.p99)} ms, ${fmt(r.deliveries)}/${fmt(r.expected)} deliveries${lost.length === 0 ? '' : ` (lost: ${lost.join('; ')}${r.lost.length > 5 ? ` and ${r.lost.length - 5} more` : ''})`}`;
};

describe('faults: 16 honest gossip nodes and sybils from one address', () => {
  let cluster: GossipCluster | undefined;
  const sybils: Libp2pGossipNetwork[] = [];

  beforeAll(async () => {
    cluster = await startGossipCluster(2);
    // A short round first, not measured: the first messages pay for JIT warm-up and each process's
    // precomputed key tables, which would otherwise inflate the baseline.
    await round(cluster.workers, RATE, 3, 0);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(sybils.map((s) => s.stop()));
    await cluster?.stop();
  }, 60_000);

  it('sybil-16: every sybil graylisted within 5 s, nothing of theirs delivered, honest traffic complete', async () => {
    const c = cluster as GossipCluster;
    const { workers } = c;
    const honest = new Set(Array.from({ length: N }, (_, i) => walletOf(nodeLabel(i)).address as Address));
    const sybilKey = walletOf(SYBIL_KEY).address as Address;
    expect(honest.has(sybilKey)).toBe(false);

    // Baseline: the 16 honest nodes alone.
    const baseline = await round(workers, RATE, SECONDS, 1_000_000);

    // The sybils accept the honest nodes' messages (else they would score them below their publish
    // threshold and send them nothing); one of them keeps what it receives to replay it.
    const captured: Captured = { heartbeats: [], observations: [] };
    const labels = Array.from({ length: 4 }, (_, k) => `sybil-${k}`);
    for (const [k, label] of labels.entries()) {
      const dials = Array.from({ length: DIALS }, (_, j) => 4 * k + j);
      sybils.push(
        await startNode(label, { bootstrap: await nodeAddrs(c, dials), allowed: honest, signer: SYBIL_KEY }),
      );
    }
    (sybils[2] as Libp2pGossipNetwork).libp2p.services.pubsub.addEventListener('message', (e) => {
      const list =
        e.detail.topic === WIRE
          ? captured.observations
          : e.detail.topic === TOPICS.heartbeat
            ? captured.heartbeats
            : undefined;
      list?.push(e.detail.data);
      if (list !== undefined && list.length > 50) list.shift();
    });
    const ids = sybils.map((s) => s.peerId);
    await Promise.all(workers.map((w) => w.ask({ type: 'watch', sybils: ids })));
    await waitFor(
      'every sybil connected to and bound at the nodes it dialled',
      async () => {
        const st = await statuses(workers);
        const pairs = total(st, (s) => s.sybilPeers);
        return (
          pairs >= ids.length * DIALS &&
          total(st, (s) => s.sybilsBound) === pairs &&
          sybils.every((s) => s.subscribers('observation').length >= DIALS)
        );
      },
      30_000,
    );
    const attacks = await buildAttacks(captured);
    const before = await sybilPairs(workers);

    // The attack: every sybil starts its kind as the honest round is called (its publishes begin
    // 0.5 s later) and keeps on until the round has drained.
    const cpuBefore = process.cpuUsage();
    const attackStart = Date.now();
    let over = false;
    const sent = attacks.map(() => 0);
    const running = attacks.map((a, s) =>
      paced(
        a.rate * (SECONDS + 1),
        a.rate,
        (k) => {
          sent[s] = (sent[s] ?? 0) + 1;
          const pubsub = (sybils[s] as Libp2pGossipNetwork).libp2p.services.pubsub;
          const { bytes, topic } = a.next(k);
          void pubsub.publish(topic ?? WIRE, bytes).catch(() => undefined);
        },
        () => over,
      ),
    );
    const during = await round(workers, RATE, SECONDS, 2_000_000);
    over = true;
    const firstAttackAt = (await Promise.all(running)).map((r) => r.startedAt);
    // This process (the 4 sybils) shares the 2 cores with the honest nodes' processes.
    const cpu = process.cpuUsage(cpuBefore);
    const sybilCpu = (cpu.user + cpu.system) / 1000 / (Date.now() - attackStart);
    const after = await sybilPairs(workers);
    const st = await statuses(workers);
    const foreign = total(st, (s) => s.foreign);
    const duplicates = total(st, (s) => s.duplicateDeliveries);
    const rejected = diff(after.outcomes, before.outcomes);

    // Per sybil: the honest nodes it reached, the time from its first attack message until the last
    // of them graylisted it (Infinity if one never did), and the highest score it holds at the end.
    const per = ids.map((id, s) => {
      const pairs = after.pairs.filter((p) => p.sybil === id);
      const times = pairs.map((p) =>
        p.graylistedAt > 0 ? p.graylistedAt - (firstAttackAt[s] as number) : Number.POSITIVE_INFINITY,
      );
      return {
        kind: (attacks[s] as Attack).kind,
        reached: pairs.length,
        graylistMs: Math.max(...times),
        maxScore: Math.max(...pairs.map((p) => p.score)),
        sent: sent[s] as number,
      };
    });
    const worstMs = Math.max(...per.map((p) => p.graylistMs));
    // The honest messages published once every sybil was graylisted everywhere: what the flood costs
    // after that (the sybils keep sending; gossipsub drops their RPCs before any validation).
    const allGraylistedAt = Math.max(...after.pairs.map((p) => p.graylistedAt));
    const later = during.samples
      .filter((x) => x.publishedAt > allGraylistedAt)
      .map((x) => x.ms)
      .sort((a, b) => a - b);
    const ratio = during.p99 / baseline.p99;
    const cpuRatio = during.cpuPerDelivery / baseline.cpuPerDelivery;
    const kinds = [
      'MALFORMED',
      'TOO_LARGE',
      'INVALID_PAYLOAD',
      'WRONG_TOPIC',
      'BAD_SIGNATURE',
      'UNKNOWN_SIGNER',
    ];
    const replayed = (rejected.REPLAY ?? 0) + (rejected.BINDING_CONFLICT ?? 0);
    const ok =
      per.every((p) => p.reached >= DIALS && p.graylistMs <= GRAYLIST_TARGET_MS) &&
      per.every((p) => p.maxScore < SCORE_THRESHOLDS.graylistThreshold) &&
      foreign === 0 &&
      duplicates === 0 &&
      baseline.deliveries === baseline.expected &&
      during.deliveries === during.expected &&
      cpuRatio <= CPU_RATIO_BOUND &&
      kinds.every((k) => (rejected[k] ?? 0) > 0) &&
      replayed > 0;
    const perNote = per
      .map(
        (p) =>
          `${p.kind} (${fmt(p.sent)} sent) graylisted by ${p.reached}/${p.reached} nodes in ${fmt(p.graylistMs / 1000)} s, score at most ${fmt(p.maxScore)}`,
      )
      .join('; ');
    const rejectedNote = [...kinds, 'REPLAY', 'BINDING_CONFLICT']
      .map((k) => `${k} ${rejected[k] ?? 0}`)
      .join(', ');
    result(
      'sybil-16',
      ok,
      `4 sybil peer ids, one EVM key, each dialling 3 of 16 honest nodes (2 processes): every sybil graylisted by every node it reached within ${fmt(worstMs / 1000)} s of its first attack message (target 5 s; threshold ${SCORE_THRESHOLDS.graylistThreshold}): ${perNote}; rejected at the honest nodes: ${rejectedNote}; sybil messages delivered to honest subscribers ${foreign}, duplicate deliveries ${duplicates}; honest ${RATE} msg/s during the attack ${roundNote(during)} vs baseline ${roundNote(baseline)}: p99 ratio ${fmt(ratio)}x (target 2x), p50 ratio ${fmt(during.p50 / baseline.p50)}x; the ${fmt(later.length)} deliveries of messages published after the last graylisting p50 ${fmt(percentile(later, 50))} / p99 ${fmt(percentile(later, 99))} ms (${fmt(percentile(later, 99) / baseline.p99)}x); honest nodes' CPU per delivery ${fmt(during.cpuPerDelivery)} ms vs ${fmt(baseline.cpuPerDelivery)} ms (${fmt(cpuRatio)}x, bound ${CPU_RATIO_BOUND}x), the sybils' process ${fmt(100 * sybilCpu)} % of a core meanwhile; ${loadNote()}`,
    );
    for (const p of per) {
      expect(p.reached, `${p.kind}: honest nodes reached`).toBeGreaterThanOrEqual(DIALS);
      expect(p.graylistMs, `${p.kind}: ms until graylisted everywhere`).toBeLessThanOrEqual(
        GRAYLIST_TARGET_MS,
      );
      expect(p.maxScore, `${p.kind}: highest score at the end`).toBeLessThan(
        SCORE_THRESHOLDS.graylistThreshold,
      );
    }
    expect(foreign).toBe(0);
    expect(duplicates).toBe(0);
    expect(baseline.deliveries).toBe(baseline.expected);
    expect(during.deliveries).toBe(during.expected);
    expect(cpuRatio).toBeLessThanOrEqual(CPU_RATIO_BOUND);
    for (const k of kinds) expect(rejected[k] ?? 0, `${k} rejections`).toBeGreaterThan(0);
    expect(replayed).toBeGreaterThan(0);
    expect(ok).toBe(true);
  }, 150_000);
});
