// What bench/gossip.ts and its worker processes share: deterministic identities (a node's libp2p and
// EVM keys follow from its label, so every process knows every peer id without asking), how a bench
// node is started, the ~1 KB observation payload, and the raw-copy counter behind the duplicate figure.

import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { getBytes, keccak256, toUtf8Bytes, Wallet } from 'ethers';
import pino from 'pino';
import type { Address } from '../../relayer/config/types.ts';
import { createGossipNetwork, type HeartbeatPayload, sealEnvelope, TOPICS } from '../../relayer/p2p/index.ts';

export const WIRE = TOPICS.observation;
export const ENVELOPE_BYTES = 1024;
/** Nodes in the propagation bench. */
export const N = 16;
export const nodeLabel = (i: number) => `node-${i}`;

const log = pino({ level: 'silent' });
const heartbeatPayload = (): HeartbeatPayload => ({ version: 'bench', roles: ['attestor'], chains: [] });
const seed = (label: string) => getBytes(keccak256(toUtf8Bytes(`xmargin-bench-gossip:${label}`)));
export const walletOf = (label: string) => new Wallet(keccak256(seed(label)));
export const p2pKeyOf = (label: string) => generateKeyPairFromSeed('Ed25519', seed(`p2p:${label}`));
export const peerIdOf = async (label: string) => peerIdFromPrivateKey(await p2pKeyOf(label)).toString();

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Milliseconds on a clock every process on this machine shares (latency spans processes). */
export const clock = () => performance.timeOrigin + performance.now();

export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gossip nodes: timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * A bench node: libp2p identity and (unless `signer` names another label's) EVM key from `label`.
 * Several sybil peers share one EVM key by naming the same `signer`.
 */
export async function startNode(
  label: string,
  options: { listen?: string; bootstrap: string[]; allowed: ReadonlySet<Address>; signer?: string },
) {
  return createGossipNetwork({
    listen: [options.listen ?? '/ip4/127.0.0.1/tcp/0'],
    bootstrap: options.bootstrap,
    privateKey: await p2pKeyOf(label),
    evmWallet: walletOf(options.signer ?? label),
    allowedSigners: () => options.allowed,
    log,
    // The node's defaults (relayer/node): a signed heartbeat every 3 s, gossipsub's heartbeat every 1 s.
    heartbeat: { intervalMs: 3000, payload: heartbeatPayload },
    gossipHeartbeatMs: 1000,
    bootstrapRetryMs: 500,
  });
}

/**
 * Counts full copies of observation messages that reach a gossipsub instance's handler (a node's
 * `libp2p.services.pubsub`), duplicates included.
 */
export function countRawReceives(gossipsub: unknown): { count: number } {
  const counter = { count: 0 };
  const pubsub = gossipsub as {
    handleReceivedMessage(from: unknown, msg: { topic: string }): Promise<void>;
  };
  const original = pubsub.handleReceivedMessage.bind(pubsub);
  pubsub.handleReceivedMessage = (from, msg) => {
    if (msg.topic === WIRE) counter.count++;
    return original(from, msg);
  };
  return counter;
}

/**
 * A valid observation payload (the topic's schema holds): `from` travels as the chain eid, `seq` as
 * the block number, and AnswerUpdated events pad it (the last answer takes up the bytes an event is
 * too big for).
 */
function observationOf(from: number, seq: number, events: number, lastAnswer: string) {
  const hash = `0x${(seq % 0xffff_ffff).toString(16).padStart(64, '0')}`;
  const feed = `0x${'fe'.repeat(20)}`;
  const list = Array.from({ length: events }, (_, i) => ({
    type: 'AnswerUpdated',
    feed,
    answer: i === events - 1 ? lastAnswer : '1',
  }));
  return {
    observation: {
      version: 1,
      eid: from,
      fromBlock: seq,
      block: { number: seq, hash, timestamp: seq },
      blocks: [{ number: seq, hash, timestamp: seq, events: list }],
    },
    signature: { signer: `0x${'5a'.repeat(20)}`, signature: `0x${'5b'.repeat(65)}` },
  };
}
export type BenchObservation = ReturnType<typeof observationOf>;

/** Payloads whose envelope from `wallet` is ENVELOPE_BYTES long (sized for the widest from/seq). */
export async function observationShape(
  wallet: Wallet,
): Promise<(from: number, seq: number) => BenchObservation> {
  const size = async (events: number, answer: string) =>
    (
      await sealEnvelope(wallet, {
        topic: WIRE,
        sentAt: Date.now(),
        payload: observationOf(99, 99_999_999, events, answer),
      })
    ).bytes.length;
  let events = 1;
  while ((await size(events + 1, '1')) <= ENVELOPE_BYTES) events++;
  const spare = ENVELOPE_BYTES - (await size(events, '1'));
  const answer = `1${'0'.repeat(Math.min(77, spare))}`;
  return (from, seq) => observationOf(from, seq, events, answer);
}

/**
 * `count` valid-looking observation envelopes (ENVELOPE_BYTES each) signed by `wallet`, pre-signed so
 * a flood is not paced by its signing: eid 99 (no bench node's) and block numbers from 90,000,000.
 */
export async function signedFlood(wallet: Wallet, count: number): Promise<Uint8Array[]> {
  const payloadOf = await observationShape(wallet);
  const flood: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const sealed = await sealEnvelope(wallet, {
      topic: WIRE,
      sentAt: Date.now(),
      payload: payloadOf(99, 90_000_000 + k),
    });
    flood.push(sealed.bytes);
  }
  return flood;
}
