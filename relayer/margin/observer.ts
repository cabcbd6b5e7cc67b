// The observation publisher (attestor nodes): every block the margin view applies on a chain this
// node serves is published on the gossip topic `observation` as an observation of exactly that one
// block (fromBlock = block.number), signed with the node's EVM key (signObservation: a signature over
// the observation digest, separate from the gossip envelope's, so a receiver can combine the
// signatures of different attestors over the same digest).
//
// One block per observation is what makes the digests agree: every honest attestor that applied
// block N signs the same bytes for N, whatever it did before. Blocks without xmargin events are
// published too (empty), so a receiver's cursor advances block by block. A block with more events
// than one message holds goes out in parts (./observation-parts.ts), under the same one signature.
// While the view backfills (after a start or a restart) it applies only blocks with events and then
// the head; the blocks in between have no events by construction, so they are filled in here from
// block headers (at most `maxGapFill` per gap; a longer gap is logged and left to the other attestors).
//
// A peer that was cut off (a network partition, a restart of its side of the link) missed what was
// published meanwhile, and one that connected late missed everything before; gossip replays neither.
// So the observer keeps the blocks it published in the last `replayWindow` (at most 256 a chain, the
// collector's window) and publishes again, when a peer subscribes after a connection loss, those
// since the loss, and when a peer subscribes for the first time, those of the last 15 s (a node's
// first sync publishes its history in a burst, usually before any peer has subscribed): a receiver missing a block gets the quorum it lacked; one
// that has it ignores the repeat (same digest, block already applied).

import type { Wallet } from 'ethers';
import type { ChainConfig, Hex } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { GossipNetwork } from '../p2p/types.ts';
import { buildObservation, signObservation } from './observation.ts';
import { observationMessages } from './observation-parts.ts';
import type { BlockRecord } from './types.ts';
import type { MarginView } from './view.ts';

export interface ObserverOptions {
  view: Pick<MarginView, 'onBlockApplied' | 'startCursor'>;
  /** The chains this node serves (their blocks are published; any other chain's are not). */
  chains: readonly ChainConfig[];
  gossip: Pick<GossipNetwork, 'publish'>;
  wallet: Wallet;
  /** A block header of a served chain (gap filling). */
  getBlock: (eid: number, n: number) => Promise<{ number: number; hash: Hex; timestamp: number } | null>;
  log: Logger;
  /** Most empty blocks filled in for one gap (default 2048). */
  maxGapFill?: number;
  /** Peer connections lost (libp2p peer:disconnect) and peers (re)subscribing (gossipsub). */
  peerEvents?: (listener: (event: 'subscribed' | 'disconnect', peerId: string) => void) => void;
  /** How far back a replay after a reconnect goes (default 10 min; at most 256 blocks a chain). */
  replayWindowMs?: number;
  /** Wait after a connection for the mesh to form before replaying (default 1 s). */
  replayDelayMs?: number;
  now?: () => number;
}

export interface ObserverStats {
  published: number;
  /** Observations published again after a reconnect. */
  replayed: number;
  failed: number;
  /** Per chain: the last block published. */
  last: Record<number, number>;
}

export interface MarginObserver {
  /** Call before the view's start(): every block it applies is then published, the first ones included. */
  start(): void;
  /** Stops listening and waits for what is being published. */
  stop(): Promise<void>;
  stats(): ObserverStats;
}

/** The collector buffers 256 blocks ahead of its cursor; replaying more would not help it. */
const REPLAY_MAX_BLOCKS = 256;
const REPLAY_MARGIN_MS = 10_000;
const NEWCOMER_WINDOW_MS = 15_000;

export function createObserver(options: ObserverOptions): MarginObserver {
  const log = options.log.child({ module: 'observer' });
  const served = new Set(options.chains.map((c) => c.eid));
  const maxGapFill = options.maxGapFill ?? 2048;
  const last = new Map<number, number>();
  const stats = { published: 0, replayed: 0, failed: 0 };
  const now = options.now ?? Date.now;
  const replayWindowMs = options.replayWindowMs ?? 600_000;
  /** Per chain, the last blocks published, oldest first (what a replay sends). */
  const recent = new Map<number, { record: BlockRecord; at: number }[]>();
  /** The first connection loss not yet followed by a replay. */
  let lostAt: number | undefined;
  let replayTimer: NodeJS.Timeout | undefined;
  let newcomers = false;
  let queue: Promise<void> = Promise.resolve();
  let unsubscribe: (() => void) | undefined;
  let running = false;

  /** Signs the observation of one block and publishes it (in parts if it is too large for one message). */
  async function publishBlock(record: BlockRecord): Promise<void> {
    const obs = buildObservation(record.eid, record.number, [record]);
    const signature = await signObservation(obs, options.wallet);
    for (const message of observationMessages(obs, signature)) {
      await options.gossip.publish('observation', message);
    }
  }

  async function publishOne(record: BlockRecord): Promise<void> {
    try {
      await publishBlock(record);
      stats.published++;
      const list = recent.get(record.eid) ?? [];
      if ((list.at(-1)?.record.number ?? -1) < record.number) list.push({ record, at: now() });
      const cutoff = now() - replayWindowMs;
      while (list.length > REPLAY_MAX_BLOCKS || (list[0]?.at ?? Infinity) < cutoff) list.shift();
      recent.set(record.eid, list);
    } catch (err) {
      stats.failed++;
      log.error(
        { eid: record.eid, block: record.number, err: err instanceof Error ? err.message : String(err) },
        'observation not published',
      );
    }
  }

  async function handle(record: BlockRecord): Promise<void> {
    // The first block after a start follows the store's cursor: blocks up to it were published
    // before the restart (or, on a fresh store, there are none).
    const prev = last.get(record.eid) ?? options.view.startCursor(record.eid);
    if (record.number <= prev) return;
    let from = prev + 1;
    if (record.number - from > maxGapFill) {
      log.warn(
        { eid: record.eid, from, to: record.number - 1 },
        'observation gap too long to fill from headers; receivers need other attestors for it',
      );
      from = record.number - maxGapFill;
    }
    for (let n = from; n < record.number && running; n++) {
      const header = await options.getBlock(record.eid, n).catch(() => null);
      if (header === null) {
        log.warn({ eid: record.eid, block: n }, 'no header for an empty block; observation skipped');
        continue;
      }
      await publishOne({
        eid: record.eid,
        number: n,
        hash: header.hash,
        timestamp: header.timestamp,
        events: [],
      });
    }
    await publishOne(record);
    last.set(record.eid, record.number);
  }

  async function replay(since: number): Promise<void> {
    for (const list of recent.values()) {
      const records = list.filter((r) => r.at >= since).map((r) => r.record);
      for (const record of records) {
        if (!running) return;
        try {
          await publishBlock(record);
          stats.replayed++;
        } catch (err) {
          stats.failed++;
          log.warn({ eid: record.eid, block: record.number, err: String(err) }, 'observation not replayed');
        }
      }
      if (records.length > 0)
        log.info({ eid: records[0]?.eid, blocks: records.length }, 'observations replayed after a reconnect');
    }
  }

  /** Peers that subscribed since the start: a known one coming back only needs a replay after a loss. */
  const known = new Set<string>();
  options.peerEvents?.((event, peerId) => {
    if (!running) return;
    if (event === 'disconnect') {
      lostAt ??= now();
      return;
    }
    const newcomer = !known.has(peerId);
    known.add(peerId);
    // A peer back from a loss, or one that joined late (it missed everything before).
    if (!newcomer && lostAt === undefined) return;
    newcomers ||= newcomer;
    // A few peers usually come together: one replay once they have settled.
    clearTimeout(replayTimer);
    replayTimer = setTimeout(() => {
      // From a little before the loss (what was published just before it may not have got through);
      // for a newcomer, the last few seconds: a node's first sync publishes its whole history at once,
      // typically before its peers' subscriptions arrived, while a peer joining a running network
      // (or a sybil subscribing to make every node republish) gets only a short replay.
      const since =
        newcomers || lostAt === undefined ? now() - NEWCOMER_WINDOW_MS : lostAt - REPLAY_MARGIN_MS;
      lostAt = undefined;
      newcomers = false;
      queue = queue.then(() => replay(since)).catch(() => undefined);
    }, options.replayDelayMs ?? 1_000);
    replayTimer.unref();
  });

  return {
    start() {
      if (running) return;
      running = true;
      unsubscribe = options.view.onBlockApplied((eid, record) => {
        if (!served.has(eid) || !running) return;
        queue = queue.then(() => handle(record)).catch(() => undefined);
      });
      log.info({ chains: options.chains.map((c) => c.name) }, 'observation publisher started');
    },
    async stop() {
      running = false;
      clearTimeout(replayTimer);
      unsubscribe?.();
      await queue;
    },
    stats() {
      return { ...stats, last: Object.fromEntries(last) };
    },
  };
}
