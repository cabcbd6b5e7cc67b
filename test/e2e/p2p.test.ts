// Three real libp2p nodes over TCP on 127.0.0.1, bootstrapped to each other, with their three EVM
// keys as the attestor set. Node 3 starts without heartbeats, so it is unbound until it sends one;
// it then plays the misbehaving peer (raw gossipsub publishes), last, because it ends graylisted.

import { createServer } from 'node:net';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { Wallet } from 'ethers';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../../relayer/config/types.ts';
import {
  createGossipNetwork,
  type HeartbeatPayload,
  type Libp2pGossipNetwork,
  SCORE_THRESHOLDS,
  type SignedMessage,
  sealEnvelope,
  TOPICS,
  type TopicName,
} from '../../relayer/p2p/index.ts';

const log = pino({ level: process.env.XMARGIN_TEST_LOG ?? 'silent' });
const heartbeatPayload = (): HeartbeatPayload => ({
  version: '0.1.0',
  roles: ['attestor'],
  chains: [{ eid: 30101, head: 1234n, lag: 0 }],
});

/** Polls `condition` every 25 ms until it holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Gives in-flight gossip a moment to arrive before asserting that something did NOT arrive. */
async function settle(
  node: Libp2pGossipNetwork,
  topic: TopicName,
  outcomeCount: () => number,
): Promise<void> {
  await waitFor(`${topic} validation at ${node.peerId}`, () => outcomeCount() > 0);
}

const wallets = [0, 1, 2].map(() => new Wallet(Wallet.createRandom().privateKey));
const rogue = new Wallet(Wallet.createRandom().privateKey);
const allowed = new Set(wallets.map((w) => w.address as Address));
const nodes: Libp2pGossipNetwork[] = [];
/** Accepted dvnSignature messages per node index. */
const received: SignedMessage<Record<string, unknown>>[][] = [[], [], []];

function node(i: number): Libp2pGossipNetwork {
  const n = nodes[i];
  if (n === undefined) throw new Error(`node ${i} not started`);
  return n;
}

async function startNode(i: number, bootstrap: string[], heartbeats: boolean): Promise<Libp2pGossipNetwork> {
  const wallet = wallets[i];
  if (wallet === undefined) throw new Error('no wallet');
  const network = await createGossipNetwork({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap,
    privateKey: await generateKeyPair('Ed25519'),
    evmWallet: wallet,
    allowedSigners: () => allowed,
    log: log.child({ node: i + 1 }),
    gossipHeartbeatMs: 100,
    bootstrapRetryMs: 250,
    ...(heartbeats ? { heartbeat: { intervalMs: 300, payload: heartbeatPayload } } : {}),
  });
  nodes[i] = network;
  network.subscribe<Record<string, unknown>>('dvnSignature', (m) => {
    received[i]?.push(m);
  });
  return network;
}

const receivedIds = (i: number) => (received[i] ?? []).map((m) => m.id);

describe('gossip network over TCP', () => {
  beforeAll(async () => {
    const n1 = await startNode(0, [], true);
    const n2 = await startNode(1, n1.multiaddrs(), true);
    await startNode(2, [...n1.multiaddrs(), ...n2.multiaddrs()], false);
    const topics = Object.keys(TOPICS) as TopicName[];
    await waitFor('every node to see two subscribers on every topic', () =>
      nodes.every((n) => topics.every((t) => n.subscribers(t).length === 2)),
    );
    await waitFor('heartbeat bindings of nodes 1 and 2', () =>
      [0, 1, 2].every((i) =>
        [0, 1].every((j) => i === j || node(i).boundSigner(node(j).peerId) === wallets[j]?.address),
      ),
    );
  }, 30_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('delivers a signed dvnSignature from node 1 to nodes 2 and 3 with the recovered signer', async () => {
    const payload = { guid: `0x${'11'.repeat(32)}`, nonce: 7n };
    await node(0).publish('dvnSignature', payload);
    await waitFor('delivery at nodes 2 and 3', () => received[1]?.length === 1 && received[2]?.length === 1);
    for (const i of [1, 2]) {
      const message = received[i]?.[0];
      expect(message?.signer).toBe(wallets[0]?.address);
      expect(message?.fromPeer).toBe(node(0).peerId);
      expect(message?.topic).toBe('dvnSignature');
      // Bigints travel as decimal strings; the topic schema decides what to turn back into bigints.
      expect(message?.payload).toEqual({ guid: payload.guid, nonce: '7' });
    }
    // The publisher's own subscribers see it too.
    expect(receivedIds(0)).toEqual(receivedIds(1));
  });

  it('ignores messages from a peer without a heartbeat binding, accepts them once it is bound', async () => {
    await node(2).publish('dvnSignature', { seq: 1 });
    await settle(node(1), 'dvnSignature', () => node(1).stats().dvnSignature.UNBOUND_PEER);
    expect(received[1]?.some((m) => m.signer === wallets[2]?.address)).toBe(false);
    // Ignored, not rejected: no penalty for a peer we simply had not heard from.
    expect(node(1).stats().dvnSignature.UNBOUND_PEER).toBeGreaterThanOrEqual(1);

    await node(2).publish('heartbeat', heartbeatPayload());
    await waitFor('node 3 bound at nodes 1 and 2', () =>
      [0, 1].every((i) => node(i).boundSigner(node(2).peerId) === wallets[2]?.address),
    );
    await node(2).publish('dvnSignature', { seq: 2 });
    await waitFor('node 3 message delivered at node 2', () =>
      (received[1] ?? []).some((m) => m.signer === wallets[2]?.address),
    );
  });

  it('does not deliver a replayed envelope twice', async () => {
    // Node 1 publishes an envelope raw, then node 3 re-publishes the very same bytes.
    const wallet = wallets[0];
    if (wallet === undefined) throw new Error('no wallet');
    const { bytes, id } = await sealEnvelope(wallet, {
      topic: TOPICS.dvnSignature,
      sentAt: Date.now(),
      payload: { replayed: true },
    });
    await node(0).libp2p.services.pubsub.publish(TOPICS.dvnSignature, bytes);
    await waitFor('first copy delivered at node 2', () => receivedIds(1).includes(id));
    const before = node(1).stats().dvnSignature.REPLAY;
    await node(2).libp2p.services.pubsub.publish(TOPICS.dvnSignature, bytes);
    await settle(node(1), 'dvnSignature', () => node(1).stats().dvnSignature.REPLAY - before);
    expect(receivedIds(1).filter((x) => x === id)).toHaveLength(1);
    expect(receivedIds(2).filter((x) => x === id)).toHaveLength(1);
  });

  it('rejects a key outside the attestor set and tampered signatures, and the sender score falls', async () => {
    const sender = node(2).peerId;
    const scoreBefore = node(1).peerScore(sender);
    const raw = (bytes: Uint8Array) => node(2).libp2p.services.pubsub.publish(TOPICS.dvnSignature, bytes);
    const countBefore = received[1]?.length ?? 0;

    // 1. Well-formed, validly signed, but by a key that is not an attestor.
    const outsider = await sealEnvelope(rogue, {
      topic: TOPICS.dvnSignature,
      sentAt: Date.now(),
      payload: { n: 1 },
    });
    await raw(outsider.bytes);
    await settle(node(1), 'dvnSignature', () => node(1).stats().dvnSignature.UNKNOWN_SIGNER);

    // 2. Node 3's own valid envelope with the recovery byte of its signature changed: cannot recover.
    const wallet = wallets[2];
    if (wallet === undefined) throw new Error('no wallet');
    const genuine = await sealEnvelope(wallet, {
      topic: TOPICS.dvnSignature,
      sentAt: Date.now(),
      payload: { n: 2 },
    });
    const text = new TextDecoder().decode(genuine.bytes);
    const signature = /"signature":"(0x[0-9a-f]{130})"/.exec(text)?.[1];
    if (signature === undefined) throw new Error('no signature in envelope');
    const tampered = text.replace(signature, `${signature.slice(0, -2)}1d`);
    await raw(new TextEncoder().encode(tampered));
    await settle(node(1), 'dvnSignature', () => node(1).stats().dvnSignature.BAD_SIGNATURE);

    expect(received[1]?.length).toBe(countBefore);
    expect(receivedIds(1)).not.toContain(outsider.id);
    expect(receivedIds(1)).not.toContain(genuine.id);
    // Scores are cached for one gossipsub heartbeat (100 ms here), so poll. A bad signature is a fatal
    // action: the sender ends below the graylist threshold (its RPCs are then dropped).
    await waitFor(
      'sender to be graylisted',
      () => node(1).peerScore(sender) < SCORE_THRESHOLDS.graylistThreshold,
      3000,
    );
    expect(node(1).peerScore(sender)).toBeLessThan(Math.min(0, scoreBefore));
    // The reject verdict itself reached gossipsub's scoring (P4), not only our app-specific penalty.
    const scoreStats = (
      node(1).libp2p.services.pubsub as unknown as {
        dumpPeerScoreStats(): Record<
          string,
          { topics: Record<string, { invalidMessageDeliveries: number }> }
        >;
      }
    ).dumpPeerScoreStats();
    expect(scoreStats[sender]?.topics[TOPICS.dvnSignature]?.invalidMessageDeliveries).toBeGreaterThan(0);
    // Node 1 got the same raw messages directly and judged them the same way.
    expect(node(0).stats().dvnSignature.UNKNOWN_SIGNER).toBeGreaterThanOrEqual(1);
    await waitFor('sender score at node 1 to fall below zero', () => node(0).peerScore(sender) < 0, 3000);
  });
});

describe('bootstrap dialing', () => {
  it('keeps dialling a bootstrap peer that is not up yet and connects once it starts', async () => {
    // A free port for the late peer, known before it starts.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const lateKey = await generateKeyPair('Ed25519');
    const lateAddr = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey(lateKey).toString()}`;
    const started: Libp2pGossipNetwork[] = [];
    try {
      const early = await createGossipNetwork({
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: [lateAddr],
        privateKey: await generateKeyPair('Ed25519'),
        evmWallet: rogue,
        allowedSigners: () => allowed,
        log,
        gossipHeartbeatMs: 100,
        bootstrapRetryMs: 200,
      });
      started.push(early);
      // Let the first dials fail while nothing listens there.
      await early.dialBootstrap();
      expect(early.libp2p.getConnections()).toHaveLength(0);
      const late = await createGossipNetwork({
        listen: [`/ip4/127.0.0.1/tcp/${port}`],
        bootstrap: [],
        privateKey: lateKey,
        evmWallet: rogue,
        allowedSigners: () => allowed,
        log,
        gossipHeartbeatMs: 100,
      });
      started.push(late);
      await waitFor('the retry timer to connect', () =>
        early.libp2p.getConnections().some((c) => c.remotePeer.toString() === late.peerId),
      );
    } finally {
      await Promise.all(started.map((n) => n.stop()));
    }
  });
});
