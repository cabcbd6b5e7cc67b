// Fault scenarios on a 3-chain devnet (1 s blocks) with three real `xmargin node` processes
// (attestor + executor; DVN quorum 2 of 3), trader deposits A -> engine B:
//   node-crash         kill -9 of a node that holds its signature of an open packet (the other two
//                      stopped, so no quorum), a deposit while all three are down, restart: both
//                      packets land once, every store closes them, the killed node is back in the
//                      mesh and caught up within 10 s;
//   submitter-stopped  the attestor ranked first for the packet (rendezvous order) is frozen with
//                      SIGSTOP as the deposit is mined: a backup submits DVN.execute within its
//                      deadline (15 s after quorum), and once resumed the first submits nothing twice;
//   crash-quorum       the first-ranked attestor hangs (an in-process stand-in with its keys that
//                      heartbeats and does nothing else), the rank-1 node is killed with SIGKILL as
//                      soon as /status shows it holds a quorum of the packet's signatures: the backup
//                      verifies once within its deadline, the restarted node closes its record from
//                      the chain and sends nothing, and a deposit after the restart lands once;
//   byzantine          an in-process sybil libp2p peer (key outside the attestor set) floods garbage,
//                      oversized, outsider-signed, replayed and tampered messages: every honest node
//                      graylists it (within 5 s) while deposits keep landing, their deposit -> credit
//                      p99 within 2x the same figure timed just before the flood; then node 3 turns
//                      malicious (its own keys, in process) and gossips a signature over a forged
//                      payload hash crediting itself: nothing lands (one signature < quorum 2);
//   key-below-quorum   with one attestor key (quorum - 1) an attacker signs a forged LOCK crediting
//                      itself and submits DVN.execute itself: VerifySignaturesFailed, nothing verified.
// Every scenario ends with the DESIGN.md invariants checked on chain.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { Contract, concat, keccak256, toUtf8Bytes, Wallet, zeroPadValue } from 'ethers';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT, RECEIVE_ULN, TOPIC } from '../../attestor/abi.ts';
import { rendezvousOrder } from '../../attestor/rendezvous.ts';
import { percentile } from '../../bench/lib/report.ts';
import type { OpenPacket } from '../../relayer/api/types.ts';
import type { Address, ChainConfig, Hex } from '../../relayer/config/types.ts';
import { loadP2pKey } from '../../relayer/keys/index.ts';
import {
  createGossipNetwork,
  type Libp2pGossipNetwork,
  SCORE_THRESHOLDS,
  sealEnvelope,
  TOPICS,
} from '../../relayer/p2p/index.ts';
import {
  forgedLock,
  packetRoute,
  signedBy,
  submitForged,
  verifiedOnB,
  verifyHash,
  wethCreditOnB,
} from './forge.ts';
import {
  bootNet,
  caughtUp as caughtUpOf,
  checkInvariants,
  Depositor,
  heads as headsOf,
  keyOf,
  type Net,
  result,
  sleep,
  waitFor,
} from './harness.ts';

/** The attestors' fallback delay (attestor/attestor.ts default): rank k acts k × this after quorum. */
const FALLBACK_DELAY_MS = 15_000;
/** EndpointV2's inbound nonces: the highest verified without a gap, and the highest delivered. */
const INBOUND = [
  'function inboundNonce(address, uint32, bytes32) view returns (uint64)',
  'function lazyInboundNonce(address, uint32, bytes32) view returns (uint64)',
];
/** Honest deposits timed before the byzantine flood and again during it. */
const LATENCY_SAMPLES = 5;
/** The sybil's sustained flood rate once its first burst is out (the gossip bench's default). */
const FLOOD_RATE = 200;

let net: Net | undefined;
let A: ChainConfig;
let B: ChainConfig;
let trader: Depositor;

const toUtf8 = (text: string): Uint8Array => toUtf8Bytes(text);

function n(): Net {
  if (net === undefined) throw new Error('no devnet');
  return net;
}

const caughtUp = (i: number, at: number[]): Promise<boolean> => caughtUpOf(n(), i, at);
const heads = (): Promise<number[]> => headsOf(n());

/**
 * Deposit -> credit latency of `count` sequential honest deposits: ms from the deposit's receipt on A
 * to the credit seen on B (polled every 100 ms; the receipt itself is polled every 250 ms, the same
 * offset for every sample), and the B blocks mined in between (B runs 1 s blocks, so the figure is
 * block-bound: the credit lands in a block after the source confirmation, two signatures,
 * DVN.execute, commitVerification and lzReceive).
 */
async function honestLatencies(count: number, amount: bigint): Promise<{ ms: number[]; blocks: number[] }> {
  const ms: number[] = [];
  const blocks: number[] = [];
  for (let i = 0; i < count; i++) {
    const expected = (await trader.credit()) + amount;
    await trader.deposit(amount);
    const minedAt = Date.now();
    const headB = await n().rpc(B).getBlockNumber();
    const creditedAt = await waitFor(
      'an honest deposit credited',
      async () => ((await trader.credit()) === expected ? Date.now() : undefined),
      60_000,
      100,
    );
    ms.push(creditedAt - minedAt);
    blocks.push((await n().rpc(B).getBlockNumber()) - headB);
  }
  return { ms, blocks };
}

/** p50 / p99 (nearest rank; with a few samples p99 is the maximum). */
function quantiles(xs: readonly number[]): { p50: number; p99: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** The next packet A -> B from vault A to engine B: its nonce, guid (its rendezvous key) and header. */
async function nextPacket(): Promise<{ nonce: bigint; guid: Hex; header: Hex }> {
  const endpoint = new Contract(
    A.layerZero.endpointV2,
    ['function outboundNonce(address, uint32, bytes32) view returns (uint64)'],
    n().rpc(A),
  );
  const receiver = zeroPadValue(B.xmargin.engine as string, 32);
  const nonce =
    ((await endpoint.getFunction('outboundNonce')(A.xmargin.vault, B.eid, receiver)) as bigint) + 1n;
  const { guid, header } = packetRoute(A, B, nonce);
  return { nonce, guid, header };
}

/** Cluster node indexes in the rendezvous order of `guid` over all three attestors. */
function rankedNodes(guid: Hex): number[] {
  const nodes = n().cluster.nodes;
  return rendezvousOrder(
    guid,
    nodes.map((x) => x.signer as Address),
  ).map((s) => nodes.findIndex((x) => x.signer.toLowerCase() === s));
}

/** Every verification of `header` by our DVN on B (ReceiveUln302 PayloadVerified): who sent it. */
async function verificationsOf(header: Hex): Promise<{ from: string; tx: string }[]> {
  const uln = new Contract(B.layerZero.receiveUln302, RECEIVE_ULN, n().rpc(B));
  const logs = await n()
    .rpc(B)
    .getLogs({ address: B.layerZero.receiveUln302, topics: [TOPIC.PayloadVerified], fromBlock: 0 });
  const out: { from: string; tx: string }[] = [];
  for (const l of logs) {
    const ev = uln.interface.parseLog(l);
    if (ev?.args[1] !== header || (ev.args[0] as string).toLowerCase() !== B.layerZero.dvn.toLowerCase())
      continue;
    const tx = await n().rpc(B).getTransaction(l.transactionHash);
    out.push({ from: (tx?.from ?? '').toLowerCase(), tx: l.transactionHash });
  }
  return out;
}

/**
 * Runs `start` (which restarts node `i`) and times, from then, node `i` back in the mesh (bound to
 * both other nodes) and caught up with every chain's head as it was at the restart.
 */
async function restart(
  i: number,
  start: () => Promise<void>,
): Promise<{ restartedAt: number; meshMs: number; caughtUpMs: number }> {
  const headsAtRestart = await heads();
  const restartedAt = Date.now();
  await start();
  const meshMs = await waitFor(
    `node ${i + 1} back in the mesh`,
    async () => {
      const s = await n().status(i);
      return s.peers.filter((p) => p.signer !== undefined).length >= 2 ? Date.now() - restartedAt : undefined;
    },
    30_000,
    100,
  );
  const caughtUpMs = await waitFor(
    `node ${i + 1} caught up`,
    async () => ((await caughtUp(i, headsAtRestart)) ? Date.now() - restartedAt : undefined),
    30_000,
    100,
  );
  return { restartedAt, meshMs, caughtUpMs };
}

/** Waits for the first verification of `header` on B: who sent it, and when it was seen. */
async function firstVerification(what: string, header: Hex): Promise<{ from: string; at: number }> {
  return waitFor(
    what,
    async () => {
      const [v] = await verificationsOf(header);
      return v === undefined ? undefined : { from: v.from, at: Date.now() };
    },
    60_000,
  );
}

/** The nodes' libp2p listen addresses, by cluster index. */
function bootstrapAddrs(): string[] {
  return n().cluster.nodes.map(
    (x) =>
      `${(JSON.parse(readFileSync(x.configFile, 'utf8')) as { listen: string[] }).listen[0]}/p2p/${x.peerId}`,
  );
}

/**
 * Node `i` stopped and replaced by an in-process libp2p peer with its p2p identity and EVM key that
 * heartbeats as an attestor and does nothing else: the other attestors count it live and rank it,
 * but it signs and submits only what the test makes it.
 */
async function standIn(i: number): Promise<Libp2pGossipNetwork> {
  const { cluster, manifest } = n();
  const node = cluster.nodes[i];
  if (node === undefined) throw new Error(`no node ${i + 1}`);
  await cluster.stop(i);
  return createGossipNetwork({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: bootstrapAddrs().filter((_, k) => k !== i),
    privateKey: await loadP2pKey(path.join(node.dir, 'p2p.key')),
    evmWallet: new Wallet(keyOf(manifest, 'attestor', i).privateKey),
    allowedSigners: () => new Set(manifest.dvn.signers as Address[]),
    log: pino({ level: 'silent' }),
    gossipHeartbeatMs: 200,
    bootstrapRetryMs: 250,
    heartbeat: { intervalMs: 500, payload: () => ({ version: '0.1.0', roles: ['attestor'], chains: [] }) },
  });
}

/** Engine B's inbound nonces from vault A on B's endpoint: verified in order, and delivered. */
async function inboundNonces(): Promise<{ verified: bigint; delivered: bigint }> {
  const endpoint = new Contract(B.layerZero.endpointV2, INBOUND, n().rpc(B));
  const args = [B.xmargin.engine, A.eid, zeroPadValue(A.xmargin.vault, 32)];
  const [verified, delivered] = (await Promise.all([
    endpoint.getFunction('inboundNonce')(...args),
    endpoint.getFunction('lazyInboundNonce')(...args),
  ])) as [bigint, bigint];
  return { verified, delivered };
}

/** Node `i`'s open record of `guid` as /status lists it. */
async function openRecord(i: number, guid: Hex): Promise<OpenPacket | undefined> {
  return ((await n().status(i)).packets.open ?? []).find((p) => p.guid === guid);
}

async function allStoresClosed(): Promise<true | undefined> {
  for (let i = 0; i < n().cluster.nodes.length; i++) {
    if ((await n().status(i)).packets.inFlight !== 0) return undefined;
  }
  return true;
}

describe('faults: node crashes, a stopped submitter, keys below quorum', () => {
  beforeAll(async () => {
    net = await bootNet({ attestors: 3, quorum: 2 });
    [A, B] = net.chains as [ChainConfig, ChainConfig];
    trader = new Depositor(net, keyOf(net.manifest, 'trader'));
    // One packet through the healthy network first (also funds and approves the trader).
    await trader.deposit(10n ** 18n);
    await waitFor('the first deposit credited', async () =>
      (await trader.credit()) === 10n ** 18n ? true : undefined,
    );
  }, 240_000);

  afterAll(async () => {
    await net?.stop();
  }, 60_000);

  it('node-crash: kill -9 while holding a signature, restart, nothing lost or verified twice', async () => {
    const { cluster } = n();
    const before = await trader.credit();
    // Nodes 2 and 3 down: node 1 signs alone and holds its signature without a quorum.
    await cluster.stop(1);
    await cluster.stop(2);
    await trader.deposit(2n * 10n ** 17n);
    await waitFor('node 1 to hold its signature of the open packet', async () => {
      const open = (await n().status(0)).packets.open ?? [];
      return open.some((p) => p.srcEid === A.eid && p.stage === 'collecting') ? true : undefined;
    });
    await cluster.stop(0, { kill: true });
    // A second deposit while every node is down.
    await trader.deposit(3n * 10n ** 17n);
    await sleep(1_500);
    expect(await trader.credit()).toBe(before);

    const { restartedAt, meshMs, caughtUpMs } = await restart(0, async () => {
      await Promise.all([cluster.start(0), cluster.start(1), cluster.start(2)]);
    });
    const landedMs = await waitFor(
      'both deposits credited on B',
      async () =>
        (await trader.credit()) === before + 5n * 10n ** 17n ? Date.now() - restartedAt : undefined,
      60_000,
    );
    await waitFor('every store to close the packets', allStoresClosed, 30_000, 500);
    const inv = await checkInvariants(n(), [trader.address]);
    const back = Math.max(meshMs, caughtUpMs);
    const ok = inv.failed.length === 0 && back <= 10_000;
    result(
      'node-crash',
      ok,
      `killed node back in mesh ${meshMs} ms, caught up ${caughtUpMs} ms after restart (target 10 s); both packets credited once ${landedMs} ms after restart; ${inv.summary}`,
    );
    expect(inv.failed).toEqual([]);
    expect(back).toBeLessThanOrEqual(10_000);
  }, 180_000);

  it('submitter-stopped: the first-ranked attestor frozen, a backup verifies within its deadline', async () => {
    const { cluster } = n();
    const before = await trader.credit();
    const { guid, header } = await nextPacket();
    const signers = cluster.nodes.map((x) => x.signer as Address);
    const order = rendezvousOrder(guid, signers);
    const first = rankedNodes(guid)[0] as number;
    cluster.nodes[first]?.process?.kill('SIGSTOP');
    const sentBlock = await trader.deposit(10n ** 17n);
    const sentAt = Date.now();
    // The verification on B: who submitted it, and when.
    const verified = await firstVerification('a backup to verify the packet on B', header);
    const verifyMs = verified.at - sentAt;
    await waitFor('the deposit credited on B', async () =>
      (await trader.credit()) === before + 10n ** 17n ? true : undefined,
    );
    const rank = order.indexOf(verified.from as Address);
    // Resume the frozen node: it must find the packet done and submit nothing.
    cluster.nodes[first]?.process?.kill('SIGCONT');
    await sleep(6_000);
    await waitFor('every store to close the packets', allStoresClosed, 30_000, 500);
    const inv = await checkInvariants(n(), [trader.address]);
    // Deadline: the backup (rank 1) acts FALLBACK_DELAY_MS after quorum; quorum itself needs the
    // source confirmations and two signatures (a few seconds on 1 s blocks).
    const ok = inv.failed.length === 0 && rank >= 1 && verifyMs <= FALLBACK_DELAY_MS + 10_000;
    result(
      'submitter-stopped',
      ok,
      `first-ranked node ${first + 1} frozen; rank-${rank} backup verified ${verifyMs} ms after the deposit (block ${sentBlock}; deadline ${FALLBACK_DELAY_MS / 1000} s after quorum); resumed node submitted nothing twice; ${inv.summary}`,
    );
    expect(rank).toBeGreaterThanOrEqual(1);
    expect(verifyMs).toBeLessThanOrEqual(FALLBACK_DELAY_MS + 10_000);
    expect(inv.failed).toEqual([]);
  }, 180_000);

  it('crash-quorum: kill -9 of a node holding a quorum, the backup verifies once, the restarted node sends nothing', async () => {
    const { cluster } = n();
    const amount = 4n * 10n ** 17n;
    const later = 3n * 10n ** 17n;
    const before = await trader.credit();
    const { guid, header } = await nextPacket();
    const [first, holder, backup] = rankedNodes(guid) as [number, number, number];
    const signerOf = (i: number): string => (cluster.nodes[i]?.signer ?? '').toLowerCase();
    const nonceOnB = (i: number): Promise<number> => n().rpc(B).getTransactionCount(signerOf(i), 'latest');
    // The first-ranked attestor hangs: alive (it heartbeats, so the others keep ranking it first) but
    // it never signs or submits. (Frozen with SIGSTOP it would leave the live set after 6 s of
    // silence, relayer/node/liveness.ts, and the rank-1 node would submit then.) So the rank-1 node,
    // once it holds a quorum, waits one whole fallback deadline for it: the window in which it is
    // killed.
    const hung = await standIn(first);
    try {
      await waitFor('the hung first-ranked node bound as live at the other two', async () => {
        for (const i of [holder, backup]) {
          const p = (await n().status(i)).peers.find((x) => x.peerId === hung.peerId);
          if (p?.signer?.toLowerCase() !== signerOf(first)) return undefined;
        }
        return true;
      });
      const inboundBefore = await inboundNonces();
      const holderNonce = await nonceOnB(holder);
      await trader.deposit(amount);
      const quorumAt = await waitFor(
        'the rank-1 node to hold a quorum of signatures',
        async () => (await openRecord(holder, guid))?.quorumAt,
        60_000,
        100,
      );
      const verifiedAtKill = (await verificationsOf(header)).length;
      await cluster.stop(holder, { kill: true });
      const killedAt = Date.now();
      // The backup (rank 2; rank 1 once the killed node is silent for 6 s) takes over one fallback
      // deadline after its own quorum.
      const verified = await firstVerification('the backup to verify the packet on B', header);
      await waitFor('the deposit credited on B', async () =>
        (await trader.credit()) === before + amount ? true : undefined,
      );

      // Restart the killed node: its store still holds the record with the quorum.
      const { restartedAt, meshMs, caughtUpMs } = await restart(holder, () => cluster.start(holder));
      const closedMs = await waitFor(
        'the restarted node to close its record from the chain',
        async () => ((await openRecord(holder, guid)) === undefined ? Date.now() - restartedAt : undefined),
        30_000,
        100,
      );
      // A few ticks more: a restarted node that re-submits would do it on its first ones.
      await sleep(3_000);
      const resent = (await nonceOnB(holder)) - holderNonce;
      const verifies = (await verificationsOf(header)).length;
      const inboundAfter = await inboundNonces();

      // The hung node back as itself; one more packet goes through the whole network.
      await hung.stop();
      await cluster.start(first);
      await waitFor('all three nodes in the mesh', async () => {
        for (let i = 0; i < 3; i++)
          if ((await n().status(i)).peers.filter((p) => p.signer !== undefined).length < 2) return undefined;
        return true;
      });
      const next = await nextPacket();
      await trader.deposit(later);
      await waitFor('the deposit after the restart credited on B', async () =>
        (await trader.credit()) === before + amount + later ? true : undefined,
      );
      await waitFor('every store to close the packets', allStoresClosed, 30_000, 500);
      const nextVerifies = (await verificationsOf(next.header)).length;
      const inboundEnd = await inboundNonces();
      const credit = (await trader.credit()) - before;
      const inv = await checkInvariants(n(), [trader.address]);

      const verifyAfterQuorumMs = verified.at - quorumAt;
      const back = Math.max(meshMs, caughtUpMs);
      const ok =
        verifiedAtKill === 0 &&
        verified.from === signerOf(backup) &&
        verifyAfterQuorumMs <= FALLBACK_DELAY_MS + 5_000 &&
        verifies === 1 &&
        resent === 0 &&
        inboundAfter.verified - inboundBefore.verified === 1n &&
        inboundAfter.delivered - inboundBefore.delivered === 1n &&
        nextVerifies === 1 &&
        inboundEnd.delivered - inboundBefore.delivered === 2n &&
        credit === amount + later &&
        back <= 10_000 &&
        inv.failed.length === 0;
      result(
        'crash-quorum',
        ok,
        `node ${first + 1} (first-ranked) hung but live; node ${holder + 1} (rank 1) killed ${killedAt - quorumAt} ms after it held a quorum, packet unverified (${verifiedAtKill} verifications); node ${backup + 1} (backup) verified ${verified.at - killedAt} ms after the kill, ${verifyAfterQuorumMs} ms after quorum (deadline ${FALLBACK_DELAY_MS / 1000} s); restarted node back in mesh ${meshMs} ms, caught up ${caughtUpMs} ms, closed its record ${closedMs} ms after restart, sent ${resent} transactions on B; ${verifies} DVN verify tx, inbound nonce +${inboundAfter.verified - inboundBefore.verified}; a deposit after the restart credited once (${nextVerifies} verify); ${inv.summary}`,
      );
      expect(verifiedAtKill).toBe(0);
      expect(verified.from).toBe(signerOf(backup));
      expect(verifyAfterQuorumMs).toBeLessThanOrEqual(FALLBACK_DELAY_MS + 5_000);
      expect(verifies).toBe(1);
      expect(resent).toBe(0);
      expect(inboundAfter.verified - inboundBefore.verified).toBe(1n);
      expect(inboundAfter.delivered - inboundBefore.delivered).toBe(1n);
      expect(nextVerifies).toBe(1);
      expect(inboundEnd.delivered - inboundBefore.delivered).toBe(2n);
      expect(credit).toBe(amount + later);
      expect(back).toBeLessThanOrEqual(10_000);
      expect(inv.failed).toEqual([]);
    } finally {
      await hung.stop().catch(() => undefined);
      await Promise.all([cluster.start(first), cluster.start(holder)]);
    }
  }, 240_000);

  it('byzantine: a sybil spammer is graylisted, a malicious attestor cannot verify a forged packet', async () => {
    const { cluster, manifest } = n();
    const bootstrap = bootstrapAddrs();
    const allowed = new Set(manifest.dvn.signers as Address[]);
    const quiet = pino({ level: 'silent' });
    const started: Libp2pGossipNetwork[] = [];
    let flooding = false;
    try {
      // 1. The sybil: a fresh libp2p identity and an EVM key outside the attestor set.
      const sybilKey = new Wallet(Wallet.createRandom().privateKey);
      const sybil = await createGossipNetwork({
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap,
        privateKey: await generateKeyPair('Ed25519'),
        evmWallet: sybilKey,
        allowedSigners: () => allowed,
        log: quiet,
        gossipHeartbeatMs: 200,
        bootstrapRetryMs: 250,
        heartbeat: { intervalMs: 500, payload: () => ({ version: '0.1.0', roles: ['watcher'], chains: [] }) },
      });
      started.push(sybil);
      await waitFor('every honest node to bind the sybil', async () => {
        for (let i = 0; i < 3; i++) {
          const p = (await n().status(i)).peers.find((x) => x.peerId === sybil.peerId);
          if (p?.signer === undefined) return undefined;
        }
        return sybil.subscribers('dvnSignature').length >= 3 ? true : undefined;
      });
      // Baseline: honest deposits with the sybil connected and bound but silent.
      const baseline = await honestLatencies(LATENCY_SAMPLES, 10n ** 17n);
      const raw = async (bytes: Uint8Array): Promise<boolean> =>
        sybil.libp2p.services.pubsub.publish(TOPICS.dvnSignature, bytes).then(
          () => true,
          () => false,
        );
      const fakeSig = (i: number) => ({
        srcEid: A.eid,
        dstEid: B.eid,
        nonce: String(1000 + i),
        guid: keccak256(toUtf8(`guid${i}`)),
        header: `0x${'00'.repeat(81)}`,
        payloadHash: keccak256(toUtf8(`p${i}`)),
        confirmations: '1',
        expiration: '9999999999',
        signature: `0x${'11'.repeat(65)}`,
      });
      const attackAt = Date.now();
      let sent = 0;
      const kinds: Record<string, number> = {};
      const count = (k: string, ok: boolean) => {
        if (ok) {
          sent++;
          kinds[k] = (kinds[k] ?? 0) + 1;
        }
      };
      // Malformed and oversized.
      for (let i = 0; i < 3; i++) count('malformed', await raw(toUtf8(`{"not":"an envelope",${i}`)));
      count('oversized', await raw(toUtf8(`{"pad":"${'x'.repeat(70_000)}"}`)));
      // Signed by a key outside the attestor set; then the same bytes replayed.
      const outsider = await sealEnvelope(sybilKey, {
        topic: TOPICS.dvnSignature,
        sentAt: Date.now(),
        payload: fakeSig(0),
      });
      count('outsider', await raw(outsider.bytes));
      for (let i = 0; i < 3; i++) count('replay', await raw(outsider.bytes));
      // A tampered signature (recovery byte changed).
      const genuine = await sealEnvelope(sybilKey, {
        topic: TOPICS.dvnSignature,
        sentAt: Date.now(),
        payload: fakeSig(1),
      });
      const text = new TextDecoder().decode(genuine.bytes);
      const sig = /"signature":"(0x[0-9a-f]{130})"/.exec(text)?.[1] as string;
      count('tampered', await raw(toUtf8(text.replace(sig, `${sig.slice(0, -2)}1d`))));
      // A flood of valid-looking signatures.
      for (let i = 0; i < 200; i++) {
        const env = await sealEnvelope(sybilKey, {
          topic: TOPICS.dvnSignature,
          sentAt: Date.now(),
          payload: fakeSig(10 + i),
        });
        count('flood', await raw(env.bytes));
      }
      // Then a sustained flood of fresh valid-looking signatures at FLOOD_RATE until the honest
      // deposits below are timed: before graylisting every one costs each node a signature check.
      flooding = true;
      let sustained = 0;
      const floodStart = Date.now();
      const flood = (async () => {
        while (flooding) {
          const due = Math.floor(((Date.now() - floodStart) / 1000) * FLOOD_RATE) + 1;
          while (sustained < due && flooding) {
            const env = await sealEnvelope(sybilKey, {
              topic: TOPICS.dvnSignature,
              sentAt: Date.now(),
              payload: fakeSig(10_000 + sustained),
            });
            void raw(env.bytes);
            sustained++;
          }
          await sleep(5);
        }
      })();
      // Honest traffic during the flood, timed while the honest nodes graylist the sybil.
      const [graylistMs, during] = await Promise.all([
        waitFor(
          'every honest node to graylist the sybil',
          async () => {
            for (let i = 0; i < 3; i++) {
              const p = (await n().status(i)).peers.find((x) => x.peerId === sybil.peerId);
              if (p !== undefined && p.score >= SCORE_THRESHOLDS.graylistThreshold) return undefined;
            }
            return Date.now() - attackAt;
          },
          20_000,
          100,
        ),
        honestLatencies(LATENCY_SAMPLES, 10n ** 17n),
      ]);
      flooding = false;
      await flood;
      const floodRate = Math.round(sustained / ((Date.now() - floodStart) / 1000));
      const scores = await Promise.all(
        [0, 1, 2].map(async (i) => (await n().status(i)).peers.find((x) => x.peerId === sybil.peerId)?.score),
      );
      const calm = { ms: quantiles(baseline.ms), blocks: quantiles(baseline.blocks) };
      const flooded = { ms: quantiles(during.ms), blocks: quantiles(during.blocks) };
      const latencyNote = `honest deposit -> credit over ${LATENCY_SAMPLES} deposits each: baseline p50 ${calm.ms.p50} / p99 ${calm.ms.p99} ms (${calm.blocks.p50} / ${calm.blocks.p99} B blocks), during the flood p50 ${flooded.ms.p50} / p99 ${flooded.ms.p99} ms (${flooded.blocks.p50} / ${flooded.blocks.p99} B blocks), p99 ratio ${(flooded.ms.p99 / calm.ms.p99).toFixed(2)}x (target 2x); samples ${baseline.ms.join('/')} vs ${during.ms.join('/')} ms`;
      console.log(`  byzantine: ${latencyNote}`);

      // 2. Node 3 turns malicious: stopped, its keys run in process, signing a forged payload hash.
      const evil = keyOf(manifest, 'attestor', 2);
      const evilWallet = new Wallet(evil.privateKey);
      const traitor = await standIn(2);
      started.push(traitor);
      const { nonce } = await nextPacket();
      const {
        guid,
        header,
        payloadHash: forgedHash,
      } = forgedLock(A, B, nonce, evil.address, 1000n * 10n ** 18n);
      const { expiration, hash } = await verifyHash(
        n(),
        B,
        { header, payloadHash: forgedHash },
        Math.floor(Date.now() / 1000),
      );
      const dvnSig = await signedBy(evilWallet)(hash);
      await waitFor('the traitor bound at nodes 1 and 2', async () => {
        for (let i = 0; i < 2; i++) {
          const p = (await n().status(i)).peers.find((x) => x.peerId === traitor.peerId);
          if (p?.signer?.toLowerCase() !== evil.address.toLowerCase()) return undefined;
        }
        return traitor.subscribers('dvnSignature').length >= 2 ? true : undefined;
      });
      const payload = {
        srcEid: A.eid,
        dstEid: B.eid,
        nonce: nonce.toString(),
        guid,
        header,
        payloadHash: forgedHash,
        confirmations: '1',
        expiration: expiration.toString(),
        signature: dvnSig,
      };
      // The forged signature goes out before, with and after the real packet of that nonce.
      const before = await trader.credit();
      await traitor.publish('dvnSignature', payload);
      await trader.deposit(10n ** 17n);
      for (let i = 0; i < 6; i++) {
        await sleep(1_000);
        await traitor.publish('dvnSignature', payload);
      }
      await waitFor('the real packet credited', async () =>
        (await trader.credit()) === before + 10n ** 17n ? true : undefined,
      );
      const forgedSubmitted = await verifiedOnB(n(), B, header, forgedHash);
      const evilCredit = await wethCreditOnB(n(), A, B, evil.address);
      await traitor.stop();
      await cluster.start(2);
      await waitFor('node 3 back in the mesh', async () => {
        const s = await n().status(2);
        return s.peers.filter((p) => p.signer !== undefined && allowed.has(p.signer as Address)).length >= 2
          ? true
          : undefined;
      });
      const inv = await checkInvariants(n(), [trader.address, evil.address]);
      const latencyOk = flooded.ms.p99 <= 2 * calm.ms.p99 && flooded.blocks.p99 <= 2 * calm.blocks.p99;
      const ok =
        graylistMs <= 5_000 && latencyOk && !forgedSubmitted && evilCredit === 0n && inv.failed.length === 0;
      result(
        'byzantine',
        ok,
        `sybil published ${sent} bad messages (${Object.entries(kinds)
          .map(([k, v]) => `${v} ${k}`)
          .join(
            ', ',
          )}): then ${sustained} more at ${floodRate} msg/s: graylisted by all 3 nodes in ${graylistMs} ms (scores ${scores.map((x) => Math.round(x ?? 0)).join('/')}, threshold ${SCORE_THRESHOLDS.graylistThreshold}); ${latencyNote}; malicious attestor's forged payload hash: verified=${forgedSubmitted}, its credit ${evilCredit}; ${inv.summary}`,
      );
      expect(graylistMs).toBeLessThanOrEqual(5_000);
      // Issue #7: honest p99 within 2x its baseline, in ms and in blocks (the figure is block-bound).
      expect(flooded.ms.p99).toBeLessThanOrEqual(2 * calm.ms.p99);
      expect(flooded.blocks.p99).toBeLessThanOrEqual(2 * calm.blocks.p99);
      expect(forgedSubmitted).toBe(false);
      expect(evilCredit).toBe(0n);
      expect(inv.failed).toEqual([]);
    } finally {
      flooding = false;
      await Promise.all(started.map((x) => x.stop().catch(() => undefined)));
      await cluster.start(2);
    }
  }, 300_000);

  it('key-below-quorum: one compromised attestor key verifies nothing', async () => {
    const { manifest } = n();
    const attacker = keyOf(manifest, 'attestor', 0);
    const wallet = new Wallet(attacker.privateKey, n().rpc(B));
    // A forged LOCK from vault A crediting the attacker 1,000 WETH on engine B, at a future nonce.
    const ep = new Contract(B.layerZero.endpointV2, ENDPOINT, n().rpc(B));
    const nonce =
      ((await ep.getFunction('lazyInboundNonce')(
        B.xmargin.engine,
        A.eid,
        zeroPadValue(A.xmargin.vault, 32),
      )) as bigint) + 100n;
    const packet = forgedLock(A, B, nonce, attacker.address, 1000n * 10n ** 18n);
    const own = signedBy(new Wallet(attacker.privateKey));
    const outsider = signedBy(new Wallet(Wallet.createRandom().privateKey));
    const attempts: { label: string; signatures: (hash: Hex) => Promise<Hex> }[] = [
      { label: 'one signature', signatures: own },
      {
        label: 'the same signature twice',
        signatures: async (h) => concat([await own(h), await own(h)]) as Hex,
      },
      {
        label: 'one real + one from an outside key',
        signatures: async (h) => concat([await own(h), await outsider(h)]) as Hex,
      },
    ];
    let failures = 0;
    for (const a of attempts) {
      if ((await submitForged(n(), B, wallet, packet, a.signatures)) === 'refused') failures++;
      else console.log(`  key-below-quorum: ${a.label} was not refused`);
    }
    const submitted = await verifiedOnB(n(), B, packet.header, packet.payloadHash);
    const credited = await wethCreditOnB(n(), A, B, attacker.address);
    const inv = await checkInvariants(n(), [trader.address, attacker.address]);
    const ok = failures === attempts.length && !submitted && credited === 0n && inv.failed.length === 0;
    result(
      'key-below-quorum',
      ok,
      `${failures}/${attempts.length} forged DVN.execute with quorum-1 keys refused (VerifySignaturesFailed), nothing verified, attacker credit ${credited}; ${inv.summary}`,
    );
    expect(failures).toBe(attempts.length);
    expect(submitted).toBe(false);
    expect(credited).toBe(0n);
    expect(inv.failed).toEqual([]);
  }, 120_000);
});
